-- wrk script: 70 % balance reads, 25 % idempotent debits, 5 % webhooks
-- (a balance read instead once this thread's events run out).
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
dofile(os.getenv("PERF_LUA_DIR") .. "/accounts.lua")
wn = 0
function request()
  local g = n * nthreads + tid
  n = n + 1
  local k = g % 20
  if k == 0 then
    local r = webhook(wn * nthreads + tid + 1)
    if r then wn = wn + 1; return r end
  elseif k <= 5 then
    return debit("mx", g, math.floor(g / 20) % 10 == 9)
  end
  return balance(g)
end
