-- wrk script: GET /v1/balance with each account's own token.
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
dofile(os.getenv("PERF_LUA_DIR") .. "/accounts.lua")
function request()
  local g = n * nthreads + tid
  n = n + 1
  return balance(g)
end
