#!/usr/bin/env bash
# creditd from the shell (curl + jq): create an account, start a checkout,
# wait for the credits, debit with an Idempotency-Key (and retry it), read
# the balance. docs/API.md is the contract; tests/e2e/examples.test.mjs runs
# this file against a server and the Stripe sandbox.
#
#   CREDITD_URL          the server, e.g. http://127.0.0.1:8080
#   CREDITD_SERVER_KEY   its CREDITD_ADMIN_KEY (your backend's secret)
#   CREDITD_SANDBOX      optional: the sandbox's URL; the script then pays
#                        with test card 4242 itself. Without it, open the
#                        printed checkout URL and pay in a browser.
set -euo pipefail
API=${CREDITD_URL:?set CREDITD_URL}
KEY=${CREDITD_SERVER_KEY:?set CREDITD_SERVER_KEY}

# One call: prints the body, fails on a non-2xx status. Extra args go to curl.
call() {
  local method=$1 path=$2; shift 2
  curl -sS --fail-with-body -X "$method" "$API$path" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"
}

# 1. Create an account (email + password signup today).
EMAIL="buyer-$(date +%s)-$RANDOM@example.com"
ACCOUNT=$(curl -sS --fail-with-body "$API/v1/auth/signup" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg e "$EMAIL" '{email: $e, password: "correct horse battery"}')" | jq -r .account.id)
echo "account $ACCOUNT"

# 2. Start a checkout for a $10 top-up, as your backend (server key +
#    Creditd-Account), and send the buyer to checkout_url.
CHECKOUT=$(call POST /v1/checkout -H "Creditd-Account: $ACCOUNT" -d '{"kind":"topup","amount_cents":1000}')
SESSION=$(echo "$CHECKOUT" | jq -r .session_id)
echo "checkout $(echo "$CHECKOUT" | jq -r .checkout_url)"
if [ -n "${CREDITD_SANDBOX:-}" ]; then
  curl -sS --fail-with-body -X POST "$CREDITD_SANDBOX/_sandbox/checkout/$SESSION/complete" \
    -H 'Content-Type: application/json' -d '{"card":"4242424242424242"}' >/dev/null
fi

# Credits arrive with Stripe's webhook, not with the redirect: wait for it.
for _ in $(seq 300); do
  call GET "/v1/checkout/$SESSION" -H "Creditd-Account: $ACCOUNT" | jq -e .fulfilled >/dev/null && break
  sleep 0.2
done
call GET "/v1/checkout/$SESSION" -H "Creditd-Account: $ACCOUNT" | jq -e .fulfilled >/dev/null

# 3. Debit 250 credits with an Idempotency-Key. A retry with the same key
#    (after a timeout, a 5xx, a 409 idempotency_in_progress) never debits twice:
#    it answers the first reply again, with "Idempotent-Replayed: true".
IDEM="report-42-$ACCOUNT"
debit() {
  local try
  for try in 1 2 3 4 5; do
    if call POST /v1/debits -H "Creditd-Account: $ACCOUNT" -H "Idempotency-Key: $IDEM" \
         --max-time 10 -d '{"amount":250,"description":"report #42"}'; then
      return 0
    fi
    sleep "$try"   # network error, 5xx or 409 in progress: same key, try again
  done
  return 1
}
FIRST=$(debit | jq -r .transaction_id)
AGAIN=$(debit | jq -r .transaction_id)   # the retry: the same transaction
echo "debit $FIRST retry $AGAIN"
[ "$FIRST" = "$AGAIN" ]

# 4. Read the balance.
echo "balance $(call GET /v1/balance -H "Creditd-Account: $ACCOUNT" | jq -r .balance)"
