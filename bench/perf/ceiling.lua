-- wrk script: GET / on nginx's fixed 200 (the machine's HTTP ceiling).
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
function request()
  n = n + 1
  return wrk.format("GET", "/")
end
