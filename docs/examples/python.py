#!/usr/bin/env python3
"""creditd from Python (standard library only: urllib): create an account,
start a checkout, wait for the credits, debit with an Idempotency-Key (and
retry it), read the balance. docs/API.md is the contract;
tests/e2e/examples.test.mjs runs this file against a server and the Stripe
sandbox.

  CREDITD_URL=http://127.0.0.1:8080 CREDITD_SERVER_KEY=... python3 docs/examples/python.py
  CREDITD_SANDBOX (optional): the sandbox's URL; the script then pays with
  test card 4242 itself. Without it, open the printed URL and pay.
"""
import json
import os
import time
import urllib.error
import urllib.request
import uuid

API = os.environ["CREDITD_URL"]
KEY = os.environ["CREDITD_SERVER_KEY"]


class CreditdError(Exception):
    def __init__(self, status, body):
        err = (body or {}).get("error", {})
        super().__init__(f"{status} {err.get('code')}: {err.get('message')}")
        self.status = status
        self.code = err.get("code")


def creditd(method, path, account=None, body=None, idempotency_key=None, auth=True):
    """One call as your backend: the server key, and the account it acts for.
    Returns (data, replayed)."""
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {KEY}"
    if account:
        headers["Creditd-Account"] = account
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            text = res.read()
            replayed = res.headers.get("Idempotent-Replayed") == "true"
            return (json.loads(text) if text else None), replayed
    except urllib.error.HTTPError as e:
        try:
            err_body = json.loads(e.read())
        except ValueError:
            err_body = None
        raise CreditdError(e.code, err_body) from None


def debit(account, amount, description, idempotency_key):
    """A debit that is safe to retry: the same Idempotency-Key on every
    attempt, so a timeout, a 5xx or a 409 idempotency_in_progress is retried
    without ever debiting twice. 402 insufficient_balance and other 4xx are
    final."""
    for attempt in range(1, 6):
        try:
            return creditd("POST", "/v1/debits", account=account, idempotency_key=idempotency_key,
                           body={"amount": amount, "description": description})
        except CreditdError as e:
            final = e.status < 500 and e.status != 429 and e.code != "idempotency_in_progress"
            if final or attempt == 5:
                raise
        except OSError:  # timeout, connection reset: the same key again
            if attempt == 5:
                raise
        time.sleep(0.2 * 2 ** attempt)


# 1. Create an account (email + password signup today).
email = f"buyer-{int(time.time())}-{uuid.uuid4().hex[:8]}@example.com"
signup, _ = creditd("POST", "/v1/auth/signup", auth=False,
                    body={"email": email, "password": "correct horse battery"})
account = signup["account"]["id"]
print(f"account {account}", flush=True)

# 2. Start a checkout for a $10 top-up and send the buyer to checkout_url.
checkout, _ = creditd("POST", "/v1/checkout", account=account, body={"kind": "topup", "amount_cents": 1000})
print(f"checkout {checkout['checkout_url']}", flush=True)
sandbox = os.environ.get("CREDITD_SANDBOX")
if sandbox:
    req = urllib.request.Request(f"{sandbox}/_sandbox/checkout/{checkout['session_id']}/complete",
                                 data=json.dumps({"card": "4242424242424242"}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()
# Credits arrive with Stripe's webhook, not with the redirect: wait for it.
for i in range(301):
    session, _ = creditd("GET", f"/v1/checkout/{checkout['session_id']}", account=account)
    if session["fulfilled"]:
        break
    if i == 300:
        raise SystemExit("the payment did not arrive")
    time.sleep(0.2)

# 3. Debit 250 credits; the retry with the same key is the same debit.
key = str(uuid.uuid4())
first, _ = debit(account, 250, "report #42", key)
again, replayed = debit(account, 250, "report #42", key)
print(f"debit {first['transaction_id']} retry {again['transaction_id']} replayed {str(replayed).lower()}")
if again["transaction_id"] != first["transaction_id"]:
    raise SystemExit("the retry debited twice")

# 4. Read the balance.
balance, _ = creditd("GET", "/v1/balance", account=account)
print(f"balance {balance['balance']}")
