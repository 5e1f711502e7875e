-- wrk script: hold and capture. Each thread alternates: a hold of 5
-- credits (POST /v1/holds, key "<run>-hc-<g>") on account g, and, once a
-- hold's 201 came back, its capture of 3 (POST /v1/holds/{id}/capture, key
-- "<run>-hcc-<id>"), so about half the requests are each. Captures wait in
-- a per-thread queue filled by response(); the hold's description names
-- its account ("perf hold acct_..."), which the capture must name too.
-- wn counts captures issued.
dofile(os.getenv("PERF_LUA_DIR") .. "/common.lua")
dofile(os.getenv("PERF_LUA_DIR") .. "/accounts.lua")
local key = os.getenv("PERF_KEY")
local run = os.getenv("PERF_RUN")
local queue, owner, head, tail = {}, {}, 1, 0
wn = 0

local counted = response
function response(status, headers, body)
  counted(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"(hold_[%w]+)"')
    local acct = body:match('"perf hold (acct_[%w]+)"')
    if id and acct then
      tail = tail + 1
      queue[tail] = id
      owner[id] = acct
    end
  end
end

function request()
  if head <= tail then
    local id = queue[head]
    local acct = owner[id]
    queue[head] = nil
    owner[id] = nil
    head = head + 1
    wn = wn + 1
    return wrk.format("POST", "/v1/holds/" .. id .. "/capture", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
      ["Creditd-Account"] = acct,
      ["Idempotency-Key"] = run .. "-hcc-" .. id,
    }, '{"amount":3}')
  end
  local g = n * nthreads + tid
  n = n + 1
  local a = accts[g % #accts + 1]
  return wrk.format("POST", "/v1/holds", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Creditd-Account"] = a,
    ["Idempotency-Key"] = run .. "-hc-" .. g,
  }, '{"amount":5,"expires_in":3600,"description":"perf hold ' .. a .. '"}')
end
