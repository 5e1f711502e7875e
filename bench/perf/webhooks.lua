-- wrk script: signed checkout.session.completed events from PERF_EVENTS,
-- each line sent once; a thread whose share runs out stops.
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
dofile(os.getenv("PERF_LUA_DIR") .. "/accounts.lua")
wn = 0
function request()
  local r = webhook(wn * nthreads + tid + 1)
  if not r then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  wn = wn + 1
  n = n + 1
  return r
end
