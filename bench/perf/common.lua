-- Shared by the bench/perf wrk scripts (loaded with dofile). Each thread
-- counts what it issued (n) and the replies by class; done() prints one
-- "wrk-json {...}" line that perf.mjs parses. Environment: PERF_THREADS.
local threads = {}
local next_tid = 0
nthreads = tonumber(os.getenv("PERF_THREADS") or "2")

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

n, c2xx, c402, cother = 0, 0, 0, 0

function response(status, headers, body)
  if status >= 200 and status < 300 then c2xx = c2xx + 1
  elseif status == 402 then c402 = c402 + 1
  else
    cother = cother + 1
    -- PERF_OTHER_LOG=<file>: the first few such replies, to see why.
    local log = cother <= 5 and os.getenv("PERF_OTHER_LOG")
    if log then
      local f = io.open(log, "a")
      if f then f:write(status, " ", string.sub(body or "", 1, 300), "\n"); f:close() end
    end
  end
end

-- Lines of a file as a table (the request data perf.mjs prepared).
function read_lines(path)
  local t = {}
  if not path then return t end
  for line in io.lines(path) do t[#t + 1] = line end
  return t
end

function split_tab(line)
  local i = line:find("\t", 1, true)
  return line:sub(1, i - 1), line:sub(i + 1)
end

function done(summary, latency, requests)
  local ts = {}
  for _, t in ipairs(threads) do
    ts[#ts + 1] = string.format('{"tid":%d,"n":%d,"c2xx":%d,"c402":%d,"cother":%d,"wn":%d}',
      t:get("tid"), t:get("n"), t:get("c2xx"), t:get("c402"), t:get("cother"), t:get("wn") or 0)
  end
  local e = summary.errors
  io.write(string.format('wrk-json {"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,' ..
    '"socket_errors":%d,"non2xx3xx":%d,"threads":[%s]}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, table.concat(ts, ",")))
end
