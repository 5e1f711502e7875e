-- wrk script: idempotent debits over the accounts, ~10 % overdrawing.
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
dofile(os.getenv("PERF_LUA_DIR") .. "/accounts.lua")
function request()
  local g = n * nthreads + tid
  n = n + 1
  return debit("db", g, g % 10 == 9)
end
