-- wrk script: GET /v1/balance with the server key for random accounts
-- acct_<24-digit n>, n in 1..PERF_ACCOUNT_COUNT (the bulk-made accounts of
-- bench/rss.mjs).
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
local key = os.getenv("PERF_KEY")
local count = tonumber(os.getenv("PERF_ACCOUNT_COUNT"))
function init(args)
  math.randomseed(os.time() + tid)
end
function request()
  n = n + 1
  return wrk.format("GET", "/v1/balance", {
    ["Authorization"] = "Bearer " .. key,
    ["Creditd-Account"] = string.format("acct_%024d", math.random(count)),
  })
end
