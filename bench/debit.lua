-- wrk script: POST /v1/debits of 1 credit with the server key.
-- Environment: BENCH_KEY (server key), BENCH_ACCOUNT (acct_...),
-- BENCH_IDEM=1 for a fresh Idempotency-Key per request.
local key = os.getenv("BENCH_KEY")
local acct = os.getenv("BENCH_ACCOUNT")
wrk.method = "POST"
wrk.body = '{"amount":1,"description":"bench debit"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Creditd-Account"] = acct

-- BENCH_IDEM=1: every request carries its own Idempotency-Key (the
-- production shape of a debit): "bench-<thread>-<n>".
if os.getenv("BENCH_IDEM") == "1" then
  local nthreads = 0
  function setup(thread)
    nthreads = nthreads + 1
    thread:set("tid", nthreads)
  end
  local n = 0
  function request()
    n = n + 1
    wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d", tid, n)
    return wrk.format()
  end
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write("wrk-json ")
  io.write(string.format('{"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end
