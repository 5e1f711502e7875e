-- Shared: the accounts (acct<TAB>token per line, PERF_ACCOUNTS), the server
-- key (PERF_KEY) and the request builders for debits and balance reads.
-- Request number g (global across threads) picks account g % #accounts;
-- debit g is 1 credit with key "<run>-<prefix>-<g>", or 10^12 credits
-- (more than any balance: refused 402) when `over`.
local key = os.getenv("PERF_KEY")
local run = os.getenv("PERF_RUN")
accts, tokens = {}, {}
for _, line in ipairs(read_lines(os.getenv("PERF_ACCOUNTS"))) do
  local a, t = split_tab(line)
  accts[#accts + 1] = a
  tokens[#tokens + 1] = t
end

function debit(prefix, g, over)
  local amount = over and "1000000000000" or "1"
  return wrk.format("POST", "/v1/debits", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Creditd-Account"] = accts[g % #accts + 1],
    ["Idempotency-Key"] = run .. "-" .. prefix .. "-" .. g,
  }, '{"amount":' .. amount .. ',"description":"perf debit"}')
end

function balance(g)
  return wrk.format("GET", "/v1/balance",
    { ["Authorization"] = "Bearer " .. tokens[g % #tokens + 1] })
end

-- Webhook line i of PERF_EVENTS (signature<TAB>body), or nil past the end.
events = read_lines(os.getenv("PERF_EVENTS"))
function webhook(i)
  local line = events[i]
  if not line then return nil end
  local sig, body = split_tab(line)
  return wrk.format("POST", "/v1/webhooks/stripe",
    { ["Content-Type"] = "application/json", ["Stripe-Signature"] = sig }, body)
end
