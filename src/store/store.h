/*
 * store.h - the database, behind one narrow interface.
 *
 * billing/ talks to the database only through this header: no SQL and no
 * dialect leave store/. The engine is a backend behind backend.h (SQLite:
 * backend_sqlite.c); another is added inside store/ behind the same
 * functions.
 *
 * Writes. Every write is a job: a function run inside a transaction.
 * cd_store_write() queues the job for the single writer thread, which takes
 * every queued job, runs each under its own SAVEPOINT (a job that fails
 * rolls back alone), COMMITs the batch once - one fsync for all of them -
 * and only then wakes the callers (group commit). So when cd_store_write()
 * returns 0 the job's effects are durable.
 *
 * Reads. cd_store_read() runs a function on one of a pool of read
 * connections inside one read transaction (a consistent WAL snapshot); it
 * never waits for the writer.
 *
 * Records are plain structs with fixed-size strings, so nothing a store
 * function hands back needs freeing (except cd_idem.body). Strings that do
 * not fit their field are refused by the writer functions (CD_STORE_ERROR),
 * so callers bound their input first. An empty string "" stands for NULL.
 *
 * Return codes of every function below: CD_STORE_OK, CD_STORE_NOT_FOUND,
 * CD_STORE_DUPLICATE (a unique key already exists; nothing written),
 * CD_STORE_GUARD (only the guarded writes: their condition was false;
 * nothing written) or CD_STORE_ERROR (logged by the store).
 */
#ifndef CD_STORE_STORE_H
#define CD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CD_STORE_OK 0
#define CD_STORE_NOT_FOUND 1
#define CD_STORE_DUPLICATE 2
#define CD_STORE_GUARD 3 /* a guarded write's condition was false; nothing
                            written */
#define CD_STORE_ERROR (-1)

#define CD_ID_SZ 64          /* our ids: "acct_" + 24 chars, ... */
#define CD_EMAIL_SZ 256
#define CD_EXTID_SZ 136      /* accounts.external_id: 1..128 bytes + NUL */
#define CD_HASH_SZ 160       /* argon2id encoded hash */
#define CD_SID_SZ 256        /* Stripe ids */
#define CD_KIND_SZ 24
#define CD_STATUS_SZ 24
#define CD_REF_SZ 384        /* ledger business keys */
/* Whether a business key of the fixed text `lit` (every "%s" and "%"
 * PRId64 taken out) and fields of `fields` bytes fits CD_REF_SZ with its
 * NUL. A field of a buffer of size N is at most N - 1 bytes, an int64 at
 * most CD_I64_CHARS. Each key's format has a _Static_assert of this. */
#define CD_REF_FITS(lit, fields) (sizeof(lit) + (fields) <= CD_REF_SZ)
#define CD_I64_CHARS 20 /* "-9223372036854775808" */
#define CD_DESC_SZ 512
#define CD_CODE_SZ 64        /* discount codes */
#define CD_CUR_SZ 8
#define CD_IDEM_SCOPE_SZ 96
#define CD_IDEM_KEY_SZ 256

struct cd_store;
struct cd_tx;

struct cd_store_config {
    const char *path;  /* SQLite file path, or a postgres:// URL */
    int read_conns;    /* read connection pool size; 0: 4 */
    int max_batch;     /* most jobs in one commit; 0: 512 */
};

struct cd_store_stats {
    uint64_t commits;      /* batches committed */
    uint64_t jobs;         /* jobs run */
    uint64_t failed_jobs;  /* jobs whose savepoint was rolled back */
    uint64_t max_batch;    /* largest batch so far */
    uint64_t retries;      /* transactions run again after a
                              serialization failure, deadlock or lock
                              timeout */
    /* batch size histogram: [0]=1, [1]=2-3, [2]=4-7, ... [9]=512+ */
    uint64_t batch_hist[10];
};

/* Whether a CREDITD_DB target names PostgreSQL (a postgres:// or
 * postgresql:// URL) rather than a SQLite file. */
int cd_store_is_postgres(const char *target);

/* Opens (creating if needed) and migrates the database, starts the writer
 * thread. NULL with err filled on failure. */
struct cd_store *cd_store_open(const struct cd_store_config *c,
                               struct cd_error *err);
/* The configured target as it may be shown in a log or a message: a
 * URL's password (user:password@, password=...) written as "***". */
void cd_store_target_display(const char *target, char *out, size_t outsz);
/* Stops the writer (after draining queued jobs) and closes. Callers
 * already waiting in cd_store_write() get their results; new writes are
 * refused meanwhile. No cd_store_read() may be running or start. */
void cd_store_close(struct cd_store *s);
/* The schema version now in the database (the highest applied migration),
 * or -1. */
int cd_store_schema_version(struct cd_store *s);
/* 0 when the database answers a trivial query on a read connection. */
int cd_store_ping(struct cd_store *s);
void cd_store_get_stats(struct cd_store *s, struct cd_store_stats *out);
/* Jobs waiting for the writer right now (not counting the running batch):
 * for metrics, health checks and tests. */
int cd_store_queue_depth(struct cd_store *s);

/*
 * A job. Return 0 to keep its writes; any other value rolls back its
 * savepoint (only its own writes) and is handed back to the caller.
 */
typedef int (*cd_store_job_fn)(struct cd_tx *tx, void *arg);

/*
 * Runs fn(tx, arg) in the next write batch and waits until the batch is
 * durably committed. Returns 0 when fn returned 0 and the commit succeeded;
 * fn's nonzero value when fn failed; CD_STORE_ERROR when the commit itself
 * failed (then fn's writes are lost; the caller answers 500).
 * fn must not block on anything but the database (never Stripe).
 */
int cd_store_write(struct cd_store *s, cd_store_job_fn fn, void *arg);

/*
 * Test hook: fault injection at the seam. The writer connection fails the
 * (after + 1)-th next BEGIN, SAVEPOINT, RELEASE, COMMIT or statement
 * (prepared for a job) as if the engine had - once; a failed COMMIT is
 * rolled back. Armed from the next batch the writer takes on (a batch
 * already running is not touched); CD_FAULT_NONE disarms.
 */
enum cd_store_fault {
    CD_FAULT_NONE,
    CD_FAULT_BEGIN,
    CD_FAULT_SAVEPOINT,
    CD_FAULT_RELEASE,
    CD_FAULT_COMMIT,
    CD_FAULT_STATEMENT
};
void cd_store_fault(struct cd_store *s, enum cd_store_fault op, int after);

/* Runs fn(tx, arg) in a read-only transaction on a read connection and
 * returns its value (or CD_STORE_ERROR if no connection could be used). */
int cd_store_read(struct cd_store *s, cd_store_job_fn fn, void *arg);
/* cd_store_read for a job of ONE statement (stepped to its end or reset):
 * no BEGIN/COMMIT around it, the statement being its own snapshot (SQLite
 * autocommit; PostgreSQL's implicit transaction: one round trip, not
 * three). The hot reads use it: authentication, GET /v1/balance. */
int cd_store_read_one(struct cd_store *s, cd_store_job_fn fn, void *arg);

/* ---- records ---------------------------------------------------------- */

struct cd_account {
    char id[CD_ID_SZ];
    char email[CD_EMAIL_SZ]; /* stored lower-case; unique; "" for none */
    char password_hash[CD_HASH_SZ]; /* "": no password, cannot log in */
    char stripe_customer_id[CD_SID_SZ];
    int has_saved_payment_method;
    int64_t balance;
    int64_t created_at;
    /* 011: the application's own user id; unique when set, "" for none */
    char external_id[CD_EXTID_SZ];
    /* Read only (never written): the access order that grants the account
     * access, "" for none, and when it was paid (billing/clawback.h). */
    char access_order_id[CD_ID_SZ];
    int64_t access_since;
    /* 012: when the email was verified (email_verify.h); 0: never */
    int64_t email_verified_at;
};

struct cd_ledger_entry {
    char id[CD_ID_SZ]; /* "txn_..." */
    char account_id[CD_ID_SZ];
    int64_t amount;        /* signed credits */
    int64_t balance_after;
    char kind[CD_KIND_SZ]; /* purchase|topup|package|subscription|grant|usage|refund|dispute|adjustment|expiry */
    char ref[CD_REF_SZ];   /* unique business key */
    char order_id[CD_ID_SZ];
    char description[CD_DESC_SZ];
    int64_t created_at;   /* when written (pages are ordered by it) */
    int64_t effective_at; /* 025: when it took effect (an expiry: its
                             lot's expires_at); 0 = created_at */
};

struct cd_order {
    char id[CD_ID_SZ]; /* "ord_..." */
    char account_id[CD_ID_SZ];
    char kind[CD_KIND_SZ];     /* access|topup|package|subscription|payment_intent */
    char status[CD_STATUS_SZ]; /* pending|completed|failed|expired|refunded|partially_refunded|disputed */
    int64_t amount_cents;
    int64_t discount_cents;
    char discount_code[CD_CODE_SZ];
    int64_t credits;
    char currency[CD_CUR_SZ];
    char item_id[CD_ID_SZ]; /* package or plan id */
    char description[CD_DESC_SZ];
    char stripe_session_id[CD_SID_SZ];        /* unique when set */
    char stripe_payment_intent_id[CD_SID_SZ];
    char failure_reason[CD_DESC_SZ];
    int64_t created_at;
    int64_t completed_at; /* 0: not yet */
    int64_t updated_at;
    /* 007: the clawback (billing/clawback.c) */
    int64_t clawback_credits;   /* taken back so far by refunds, disputes */
    int64_t clawback_seq;       /* adjustments made so far */
    int64_t refund_level_cents; /* highest charge.amount_refunded seen */
    char stripe_invoice_id[CD_SID_SZ]; /* a subscription period's invoice */
    /* 010: the customer its Stripe request names ("": none), fixed when
     * the order is written, so a retry sends the same parameters */
    char stripe_customer_id[CD_SID_SZ];
};

struct cd_payment {
    char id[CD_ID_SZ]; /* "pay_..." */
    char order_id[CD_ID_SZ]; /* unique: one payment row per order */
    char account_id[CD_ID_SZ];
    char status[CD_STATUS_SZ]; /* succeeded|pending|failed|refunded|partially_refunded|disputed */
    int64_t amount_cents;
    int64_t amount_refunded_cents;
    char currency[CD_CUR_SZ];
    char description[CD_DESC_SZ];
    char last4[8];
    char failure_reason[CD_DESC_SZ];
    char stripe_payment_intent_id[CD_SID_SZ];
    char stripe_charge_id[CD_SID_SZ];
    int64_t created_at;
    int64_t paid_at;     /* 0: not paid */
    int64_t refunded_at; /* 0: none */
};

struct cd_discount {
    char code[CD_CODE_SZ]; /* stored upper-case; unique */
    int64_t percent_off;      /* 1..100, or 0 when amount_off_cents is used */
    int64_t amount_off_cents; /* > 0, or 0 when percent_off is used */
    int64_t max_uses;         /* 0: unlimited */
    int64_t times_used;
    int64_t expires_at;       /* 0: never */
    int active;
    int64_t created_at;
};

struct cd_pricing {
    char mode[16]; /* launch|rrp|sale */
    int64_t launch_cents;
    int64_t rrp_cents;
    int64_t sale_cents;
    int64_t updated_at;
};

struct cd_idem {
    char scope[CD_IDEM_SCOPE_SZ]; /* "acct_..." or "server" (+ route) */
    char key[CD_IDEM_KEY_SZ];
    char request_hash[65];  /* sha256 hex of method, path and body */
    int status;             /* 0: in progress; else the HTTP status */
    /* status 0: the claim token of the request holding the key (NULL once
     * released); else the stored reply. malloc'd by cd_store_idem_get;
     * free() it. */
    char *body;
    size_t body_len;
    int64_t created_at;
    int64_t lease_until; /* status 0: the claim's lease end, ms; 0: free */
};

/* Row callbacks for lists: return 0 to go on, nonzero to stop. */
typedef int (*cd_account_cb)(const struct cd_account *a, void *arg);
typedef int (*cd_ledger_cb)(const struct cd_ledger_entry *e, void *arg);
typedef int (*cd_order_cb)(const struct cd_order *o, void *arg);
typedef int (*cd_payment_cb)(const struct cd_payment *p, void *arg);
typedef int (*cd_discount_cb)(const struct cd_discount *d, void *arg);
/* Ledger check: an account whose cached balance differs from its entries. */
typedef int (*cd_mismatch_cb)(const char *account_id, int64_t balance,
                              int64_t sum_entries, void *arg);

/* Lists are newest first (created_at, then insertion order), limit/offset
 * paged; *total (may be NULL) receives the count of all matching rows.
 * limit < 0: no limit (exports); limit 0: no rows, only *total.
 * account_id NULL or "": every account's rows.
 * A callback may call other store functions on the same tx. */

/* ---- accounts and tokens ---------------------------------------------- */
int cd_store_account_insert(struct cd_tx *tx, const struct cd_account *a);
int cd_store_account_get(struct cd_tx *tx, const char *id,
                         struct cd_account *out);
int cd_store_account_by_email(struct cd_tx *tx, const char *email,
                              struct cd_account *out);
/* The account with this external_id (never an email-less placeholder). */
int cd_store_account_by_external(struct cd_tx *tx, const char *external_id,
                                 struct cd_account *out);
int cd_store_account_by_customer(struct cd_tx *tx, const char *customer_id,
                                 struct cd_account *out);
int cd_store_account_set_customer(struct cd_tx *tx, const char *id,
                                  const char *customer_id,
                                  int has_saved_payment_method);
int cd_store_account_set_balance(struct cd_tx *tx, const char *id,
                                 int64_t balance);
int cd_store_account_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_account_cb cb, void *arg, int64_t *total);

/* token_hash: sha256 hex of the token; the token itself is never stored. */
int cd_store_token_insert(struct cd_tx *tx, const char *token_hash,
                          const char *account_id, int64_t created_at,
                          int64_t expires_at);
/* NOT_FOUND when the account is gone; password_hash must not be "". */
int cd_store_account_set_password(struct cd_tx *tx, const char *id,
                                  const char *password_hash);
/* Deletes every token of the account (ends all its sessions). */
int cd_store_token_delete_account(struct cd_tx *tx, const char *account_id);
/* The account of a token that exists and has not expired at now. */
int cd_store_token_account(struct cd_tx *tx, const char *token_hash,
                           int64_t now, struct cd_account *out);
int cd_store_token_delete(struct cd_tx *tx, const char *token_hash);
/* A portal link (migration 011): token_hash as for tokens; return_url may
 * be NULL or "". */
int cd_store_portal_insert(struct cd_tx *tx, const char *token_hash,
                           const char *account_id, const char *return_url,
                           int64_t created_at, int64_t expires_at);
/* Marks the unused, unexpired link with this hash used at now and reads
 * its account id (CD_ID_SZ) and return URL ("" when none). NOT_FOUND for
 * an unknown, expired or already used link. */
int cd_store_portal_consume(struct cd_tx *tx, const char *token_hash,
                            int64_t now, char *account_id, char *return_url,
                            size_t return_url_sz);

/* ---- ledger ------------------------------------------------------------ */
/* DUPLICATE when e->ref exists. Does not touch accounts.balance: the
 * caller (billing/ledger.c) sets it in the same job. */
int cd_store_ledger_insert(struct cd_tx *tx, const struct cd_ledger_entry *e);
/*
 * A balance change and its ledger row, atomic on every backend without a
 * prior read: one guarded statement adds e->amount to the account's
 * balance only when the result stays within [lo, hi] and returns the new
 * balance (UPDATE ... WHERE balance + amount BETWEEN lo AND hi RETURNING
 * balance); then e is inserted with that balance_after. OK with *out the
 * entry written; CD_STORE_GUARD when the result would leave [lo, hi];
 * NOT_FOUND when there is no such account; DUPLICATE when e->ref exists
 * (the balance change is undone in the same job). Nothing is written
 * unless OK. |e->amount| must be at most CD_AMOUNT_MAX.
 */
int cd_store_ledger_post(struct cd_tx *tx, const struct cd_ledger_entry *e,
                         int64_t lo, int64_t hi, struct cd_ledger_entry *out);
int cd_store_ledger_by_ref(struct cd_tx *tx, const char *ref,
                           struct cd_ledger_entry *out);
int cd_store_ledger_list(struct cd_tx *tx, const char *account_id,
                         int64_t limit, int64_t offset, cd_ledger_cb cb,
                         void *arg, int64_t *total);
/* Walks every account: sums of cached balances and of entries, and calls
 * cb for each account whose balance != sum of its entries. */
int cd_store_ledger_verify(struct cd_tx *tx, int64_t *accounts,
                           int64_t *sum_balances, int64_t *sum_entries,
                           cd_mismatch_cb cb, void *arg);

/* ---- orders and payments ---------------------------------------------- */
int cd_store_order_insert(struct cd_tx *tx, const struct cd_order *o);
/*
 * Inserts o, whose discount_code is set, only while that code can be
 * reserved at o->created_at - one guarded INSERT ... SELECT, so the check
 * and the insert are not split by another writer: the code exists, is
 * active, has not expired, and (max_uses 0, or) its times_used plus the
 * pending orders of other accounts naming it created at or after
 * hold_since stay below max_uses. OK; CD_STORE_GUARD when the code
 * refuses (nothing written); DUPLICATE when o->id exists.
 */
int cd_store_order_insert_reserving(struct cd_tx *tx,
                                    const struct cd_order *o,
                                    int64_t hold_since);
/* Rewrites the row o->id (all but its account, which never changes;
 * NOT_FOUND when o->account_id is not the order's). */
int cd_store_order_update(struct cd_tx *tx, const struct cd_order *o);
int cd_store_order_get(struct cd_tx *tx, const char *id, struct cd_order *out);
int cd_store_order_by_session(struct cd_tx *tx, const char *session_id,
                              struct cd_order *out);
int cd_store_order_by_payment_intent(struct cd_tx *tx, const char *pi,
                                     struct cd_order *out);
/* The order of a paid subscription invoice (stripe_invoice_id). */
int cd_store_order_by_invoice(struct cd_tx *tx, const char *invoice_id,
                              struct cd_order *out);
int cd_store_order_list(struct cd_tx *tx, const char *account_id,
                        int64_t limit, int64_t offset, cd_order_cb cb,
                        void *arg, int64_t *total);
/* How many of the account's orders created at or after `since` are still
 * pending (the cap on open checkouts). */
int cd_store_order_count_pending(struct cd_tx *tx, const char *account_id,
                                 int64_t since, int64_t *out);
/* Pending orders created before `before`, oldest first (reconciliation). */
int cd_store_order_list_pending(struct cd_tx *tx, int64_t before,
                                int64_t limit, cd_order_cb cb, void *arg);

/* DUPLICATE when a payment for p->order_id exists. */
int cd_store_payment_insert(struct cd_tx *tx, const struct cd_payment *p);
/* Rewrites the row p->id (all but its order and account). */
int cd_store_payment_update(struct cd_tx *tx, const struct cd_payment *p);
int cd_store_payment_by_order(struct cd_tx *tx, const char *order_id,
                              struct cd_payment *out);
/* By our payment id, by Stripe charge id, by Stripe payment intent id (the
 * newest such payment for the last two). */
int cd_store_payment_get(struct cd_tx *tx, const char *id,
                         struct cd_payment *out);
int cd_store_payment_by_charge(struct cd_tx *tx, const char *charge_id,
                               struct cd_payment *out);
int cd_store_payment_by_payment_intent(struct cd_tx *tx, const char *pi,
                                       struct cd_payment *out);
int cd_store_payment_list(struct cd_tx *tx, const char *account_id,
                          int64_t limit, int64_t offset, cd_payment_cb cb,
                          void *arg, int64_t *total);

/* ---- refunds and disputes (007_clawback) ------------------------------- */

/* A refund of an order: asked for by creditd (id "rfd_...", status
 * "requested" until Stripe answers) or reported by Stripe. */
struct cd_refund {
    char id[CD_ID_SZ];
    char order_id[CD_ID_SZ];
    char stripe_refund_id[CD_SID_SZ]; /* "re_..."; unique; "" until known */
    int64_t amount_cents;
    char status[CD_STATUS_SZ]; /* requested|pending|requires_action|
                                  succeeded|failed|canceled */
    char reason[CD_DESC_SZ];   /* why it failed, or "" */
    int64_t created_at;
    int64_t updated_at;
};

/* The order's refunds summed by state: live (Stripe has them: pending,
 * requires_action, succeeded), failed (failed, canceled) and reserved
 * (every one not failed or canceled, "requested" included). */
struct cd_refund_sums {
    int64_t live, failed, reserved;
};

/* DUPLICATE when r->id or r->stripe_refund_id exists. */
int cd_store_refund_insert(struct cd_tx *tx, const struct cd_refund *r);
/* Rewrites the row r->id (stripe_refund_id, amount, status, reason,
 * updated_at). */
int cd_store_refund_update(struct cd_tx *tx, const struct cd_refund *r);
int cd_store_refund_get(struct cd_tx *tx, const char *id,
                        struct cd_refund *out);
int cd_store_refund_by_stripe(struct cd_tx *tx, const char *stripe_id,
                              struct cd_refund *out);
int cd_store_refund_sums(struct cd_tx *tx, const char *order_id,
                         struct cd_refund_sums *out);

/* A dispute of an order's charge, as Stripe last reported it. */
struct cd_dispute {
    char id[CD_SID_SZ]; /* "dp_..."; unique */
    char order_id[CD_ID_SZ];
    int64_t amount_cents;
    char status[CD_STATUS_SZ]; /* Stripe's */
    int64_t created_at;
    int64_t updated_at;
};

/* DUPLICATE when d->id exists. */
int cd_store_dispute_insert(struct cd_tx *tx, const struct cd_dispute *d);
/* Rewrites amount, status and updated_at of the row d->id. */
int cd_store_dispute_update(struct cd_tx *tx, const struct cd_dispute *d);
int cd_store_dispute_get(struct cd_tx *tx, const char *id,
                         struct cd_dispute *out);
/* The amounts of the order's disputes that hold money back: every status
 * but won, warning_closed and prevented. */
int cd_store_dispute_held(struct cd_tx *tx, const char *order_id,
                          int64_t *out);

/* ---- problems for the operator (009_problems) -------------------------- */

struct cd_problem {
    char id[CD_ID_SZ];          /* "prb_..." */
    char kind[CD_KIND_SZ];      /* credit_refused|amount_mismatch|... */
    char order_id[CD_ID_SZ];
    char account_id[CD_ID_SZ];  /* "" when unknown */
    char event_id[CD_SID_SZ];   /* the Stripe event that met it, or "" */
    char detail[CD_DESC_SZ];
    int64_t created_at;
};

typedef int (*cd_problem_cb)(const struct cd_problem *p, void *arg);

/* DUPLICATE when (kind, order_id) is recorded already. */
int cd_store_problem_insert(struct cd_tx *tx, const struct cd_problem *p);
/* Newest first, limit/offset paged, *total all of them. */
int cd_store_problem_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_problem_cb cb, void *arg, int64_t *total);

/* ---- pricing and discounts -------------------------------------------- */
int cd_store_pricing_get(struct cd_tx *tx, struct cd_pricing *out);
int cd_store_pricing_put(struct cd_tx *tx, const struct cd_pricing *p);

int cd_store_discount_insert(struct cd_tx *tx, const struct cd_discount *d);
int cd_store_discount_get(struct cd_tx *tx, const char *code,
                          struct cd_discount *out);
int cd_store_discount_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                           cd_discount_cb cb, void *arg, int64_t *total);
int cd_store_discount_set_active(struct cd_tx *tx, const char *code,
                                 int active);
/* Counts one use of code by order_id: DUPLICATE if that order's use was
 * already counted (then times_used is unchanged). */
int cd_store_discount_use(struct cd_tx *tx, const char *code,
                          const char *order_id, int64_t now);

/* ---- Stripe events (exactly-once) ------------------------------------- */
/* DUPLICATE when the event id was already recorded. */
int cd_store_event_insert(struct cd_tx *tx, const char *event_id,
                          const char *type, int64_t received_at);

/* ---- card details from charge events (014) ----------------------------- */
/* What a charge.succeeded / charge.updated said of a PaymentIntent's card,
 * for a payment row that does not exist yet. "" fields are unknown. */
struct cd_charge_card {
    char payment_intent[CD_SID_SZ];
    char charge[CD_SID_SZ];
    char last4[8];
    int64_t created_at;
};
/* Inserts, or updates charge and (when known) last4 of the row. */
int cd_store_charge_card_put(struct cd_tx *tx, const struct cd_charge_card *c);
int cd_store_charge_card_get(struct cd_tx *tx, const char *payment_intent,
                             struct cd_charge_card *out);
/* Deletes rows created before `before` (their payment rows have long had
 * the card, or will never come). */
int cd_store_charge_card_purge(struct cd_tx *tx, int64_t before);

/* ---- idempotency keys -------------------------------------------------- */
/* out->body is malloc'd (or NULL when status is 0); free() it. */
int cd_store_idem_get(struct cd_tx *tx, const char *scope, const char *key,
                      struct cd_idem *out);
/* DUPLICATE when (scope, key) exists. */
int cd_store_idem_insert(struct cd_tx *tx, const struct cd_idem *i);

/*
 * The claim of a request in progress (status 0): its body is the
 * claimer's token (claim, claim_len bytes) and lease_until (ms) says how
 * long it stays the claimer's (billing/idempotency.c renews it while the
 * request runs). Each function touches the row only while it is in
 * progress and, for the owner's three, still holds that token; else
 * NOT_FOUND (the claim was taken over, completed or purged).
 *  - complete: stores status (> 0) and the reply body;
 *  - release: keeps the row in progress but frees it (token NULL, lease
 *    0) for the next request with the key (a 5xx reply);
 *  - renew: sets lease_until (the heartbeat);
 *  - takeover: any request: puts claim in and sets lease_until, only when
 *    the lease has ended (lease_until <= now_ms).
 */
int cd_store_idem_complete_claim(struct cd_tx *tx, const char *scope,
                                 const char *key, const char *claim,
                                 size_t claim_len, int status,
                                 const char *body, size_t body_len);
int cd_store_idem_release_claim(struct cd_tx *tx, const char *scope,
                                const char *key, const char *claim,
                                size_t claim_len);
int cd_store_idem_renew_claim(struct cd_tx *tx, const char *scope,
                              const char *key, const char *claim,
                              size_t claim_len, int64_t lease_until);
int cd_store_idem_takeover(struct cd_tx *tx, const char *scope,
                           const char *key, const char *claim,
                           size_t claim_len, int64_t now_ms,
                           int64_t lease_until);
int cd_store_idem_complete(struct cd_tx *tx, const char *scope,
                           const char *key, int status, const char *body,
                           size_t body_len);
int cd_store_idem_delete(struct cd_tx *tx, const char *scope, const char *key);
/* Deletes keys created before `before`. */
int cd_store_idem_purge(struct cd_tx *tx, int64_t before);

/* ---- background jobs (002_jobs) ---------------------------------------- */
#define CD_KV_KEY_SZ 128
#define CD_KV_VALUE_SZ 1024
#define CD_LEASE_NAME_SZ 64
#define CD_LEASE_HOLDER_SZ 128

/* Deletes tokens and portal links that expired at or before now. */
int cd_store_token_purge(struct cd_tx *tx, int64_t now);

/* Key/value settings shared by every node (e.g. the reconciliation's
 * Stripe event cursor). get copies the value into out (outsz bytes);
 * NOT_FOUND when the key is absent. put inserts or replaces. */
int cd_store_kv_get(struct cd_tx *tx, const char *key, char *out,
                    size_t outsz);
int cd_store_kv_put(struct cd_tx *tx, const char *key, const char *value,
                    int64_t now);

/*
 * A named lease, so one node at a time runs a background job. acquire:
 * CD_STORE_OK when the lease was free, expired (expires_at <= now) or
 * already held by holder - it then runs until now + ttl;
 * CD_STORE_DUPLICATE when another holder's lease is still running.
 * release: gives the lease up if holder holds it (else NOT_FOUND).
 */
int cd_store_lease_acquire(struct cd_tx *tx, const char *name,
                           const char *holder, int64_t now, int64_t ttl);
int cd_store_lease_release(struct cd_tx *tx, const char *name,
                           const char *holder);

/*
 * Shared request-rate buckets (table rate_limits, migration 021; the GCRA
 * of src/api/ratelimit.h kept in the database). take: takes one request
 * from bucket (scope, key) at now_ms, where interval_ms is window / limit
 * and tolerance_ms is (limit - 1) x interval_ms, in one guarded upsert:
 * CD_STORE_OK when it may go (counted), CD_STORE_GUARD when it must wait
 * (*wait_ms >= 1; nothing written). purge: deletes the buckets that are
 * full again at now_ms. Both write.
 */
#define CD_RATE_SCOPE_SZ 32
#define CD_RATE_KEY_SZ 160
int cd_store_rate_take(struct cd_tx *tx, const char *scope, const char *key,
                       int64_t now_ms, int64_t interval_ms,
                       int64_t tolerance_ms, int64_t *wait_ms);
int cd_store_rate_purge(struct cd_tx *tx, int64_t now_ms);

/* ---- appended ----------------------------------------------------------- */

/*
 * How many orders naming discount `code` are still pending and were
 * created at or after `since`, not counting those of account `except`
 * (NULL or "": all) - the uses that may still come (discounts.c).
 */
int cd_store_discount_pending_count(struct cd_tx *tx, const char *code,
                                    int64_t since, const char *except,
                                    int64_t *out);
/* The account's orders naming `code` still pending, created at or after
 * `since` (its open discount holds). */
int cd_store_discount_holds(struct cd_tx *tx, const char *account_id,
                            const char *code, int64_t since, cd_order_cb cb,
                            void *arg);

/* ---- subscriptions (004_subscriptions) --------------------------------- */

/* A Stripe subscription as creditd last read it from Stripe. */
struct cd_subscription {
    char stripe_subscription_id[CD_SID_SZ]; /* "sub_..."; unique */
    char account_id[CD_ID_SZ];
    char plan_id[CD_ID_SZ];                 /* catalog plan, or "" */
    char status[CD_STATUS_SZ];  /* Stripe's: active|past_due|canceled|... */
    int64_t current_period_end; /* unix seconds; 0: unknown */
    int cancel_at_period_end;
    int64_t synced_at;          /* when read from Stripe, microseconds */
    int64_t created_at;
    int64_t updated_at;
};

/*
 * Inserts the subscription, or updates the row with its
 * stripe_subscription_id when s->synced_at is not older than the stored
 * synced_at (plan_id, status, current_period_end, cancel_at_period_end,
 * synced_at, updated_at; account_id and created_at stay as first written).
 * OK when written; DUPLICATE when the stored copy was read later (nothing
 * written).
 */
int cd_store_subscription_upsert(struct cd_tx *tx,
                                 const struct cd_subscription *s);
int cd_store_subscription_get(struct cd_tx *tx, const char *stripe_id,
                              struct cd_subscription *out);
/* The account's most recent subscription (created_at, then insertion). */
int cd_store_subscription_latest(struct cd_tx *tx, const char *account_id,
                                 struct cd_subscription *out);

/* ---- mail outbox (005_mail_outbox) ------------------------------------- */
#define CD_MAIL_SUBJECT_SZ 256
#define CD_MAIL_BODY_SZ 4096
#define CD_MAIL_ERROR_SZ 256

/* One mail to send (or sent). Times: next_attempt_at in milliseconds since
 * the epoch, created_at and sent_at in seconds. */
struct cd_mail {
    char id[CD_ID_SZ];          /* "mail_..." */
    char dedupe_key[CD_REF_SZ]; /* unique, e.g. "order:<id>:receipt" */
    char account_id[CD_ID_SZ];  /* "" when none */
    char to_address[CD_EMAIL_SZ];
    char subject[CD_MAIL_SUBJECT_SZ];
    char body_text[CD_MAIL_BODY_SZ];
    char status[CD_STATUS_SZ];  /* queued|sent|failed|skipped */
    int64_t attempts;
    int64_t next_attempt_at;    /* ms */
    char last_error[CD_MAIL_ERROR_SZ];
    int64_t created_at;
    int64_t sent_at;            /* 0: not sent */
};

typedef int (*cd_mail_cb)(const struct cd_mail *m, void *arg);

/* Replaces the body of mail id (a sent reset link: the token goes). */
int cd_store_mail_redact(struct cd_tx *tx, const char *id, const char *body);

/* ---- links mailed (013): password reset, email verification ----------- */

struct cd_reset {
    char token_hash[65]; /* sha256 hex of the token */
    char purpose[16];    /* reset|verify */
    char account_id[CD_ID_SZ];
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at; /* 0: not used */
};

int cd_store_reset_insert(struct cd_tx *tx, const struct cd_reset *r);
/* Links of this purpose the account got at or after `since`. */
int cd_store_reset_count_since(struct cd_tx *tx, const char *account_id,
                               const char *purpose, int64_t since,
                               int64_t *out);
int cd_store_reset_get(struct cd_tx *tx, const char *token_hash,
                       struct cd_reset *out);
/* Marks every unused link of the account and purpose used at now. */
int cd_store_reset_use_all(struct cd_tx *tx, const char *account_id,
                           const char *purpose, int64_t now);
/* Deletes the links that expired and are over an hour old. */
int cd_store_link_purge(struct cd_tx *tx, int64_t now);
/* Sets email_verified_at once (a verified account stays as it was). */
int cd_store_account_set_verified(struct cd_tx *tx, const char *id,
                                  int64_t now);
/* How many of the account's orders were ever paid (completed_at set). */
int cd_store_order_count_paid(struct cd_tx *tx, const char *account_id,
                              int64_t *out);

/* DUPLICATE when m->dedupe_key (or m->id) exists; nothing written. */
int cd_store_mail_insert(struct cd_tx *tx, const struct cd_mail *m);
int cd_store_mail_get_by_key(struct cd_tx *tx, const char *dedupe_key,
                             struct cd_mail *out);
/* Queued mail with next_attempt_at <= now_ms, the most overdue first, at
 * most limit rows. */
int cd_store_mail_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                      cd_mail_cb cb, void *arg);
/* Writes the outcome of an attempt (status, attempts, next_attempt_at,
 * last_error, sent_at) to the row m->id while it is still queued:
 * NOT_FOUND when it is not (already finished). */
int cd_store_mail_update(struct cd_tx *tx, const struct cd_mail *m);

/* ---- login throttle (008_login_throttle) -------------------------------- */
#define CD_ADDR_SZ 64               /* a client address as text */
#define CD_LOGIN_ANY_ADDRESS "*"    /* the row counting every address */

/* Failed logins of one email from one client address (or, with address
 * CD_LOGIN_ANY_ADDRESS, from all of them). Times in ms since the epoch. */
struct cd_login_fail {
    char email[CD_EMAIL_SZ];  /* normalised (lower-case) */
    char address[CD_ADDR_SZ];
    int64_t failures;
    int64_t first_at;         /* when this count began */
    int64_t last_at;          /* the latest failure */
};

/* The row of (email, address); NOT_FOUND when there is none. */
int cd_store_login_fail_get(struct cd_tx *tx, const char *email,
                            const char *address, struct cd_login_fail *out);
/* Inserts the row of (f->email, f->address), or replaces it. */
int cd_store_login_fail_put(struct cd_tx *tx, const struct cd_login_fail *f);
/* Deletes the row of (email, address); NOT_FOUND when there is none. */
int cd_store_login_fail_delete(struct cd_tx *tx, const char *email,
                               const char *address);
/* Deletes every row whose last failure is before `before_ms`. */
int cd_store_login_fail_purge(struct cd_tx *tx, int64_t before_ms);

/* ---- keyset pages of every account's orders and ledger (010) ----------- */
#define CD_PAGE_MAX 1000 /* the most rows in one page */

/* A page of the operator's lists and exports. Every filter is optional
 * (NULL or "", 0): account, status (orders only), kind, and created_at
 * in [from, to). Rows come newest first (created_at, then insertion
 * order), starting after the row whose id is starting_after (NULL or "":
 * from the newest). limit: 1..CD_PAGE_MAX. */
struct cd_page_query {
    const char *account_id;
    const char *status;
    const char *kind;
    int64_t from, to;
    const char *starting_after;
    int64_t limit;
};

/* Calls cb for each row of the page and sets *has_more when rows follow
 * it. NOT_FOUND when starting_after names no row of that table. */
int cd_store_order_page(struct cd_tx *tx, const struct cd_page_query *q,
                        cd_order_cb cb, void *arg, int *has_more);
int cd_store_ledger_page(struct cd_tx *tx, const struct cd_page_query *q,
                         cd_ledger_cb cb, void *arg, int *has_more);
/* One account's ledger, newest first, the page after its entry
 * starting_after (NULL: the first page), up to limit (1..CD_PAGE_MAX)
 * rows; *total the account's number of entries (ledger_pages.c).
 * NOT_FOUND when starting_after names no entry of this account. */
int cd_store_txn_page(struct cd_tx *tx, const char *account_id,
                      const char *starting_after, int64_t limit,
                      cd_ledger_cb cb, void *arg, int *has_more,
                      int64_t *total);

/* One account's orders / payments, newest first, the page after its
 * row starting_after (NULL: the first page), up to limit
 * (1..CD_PAGE_MAX) rows; *total the account's number of them (026,
 * order_pages.c). NOT_FOUND when starting_after names no order /
 * payment of this account. */
int cd_store_account_order_page(struct cd_tx *tx, const char *account_id,
                                const char *starting_after, int64_t limit,
                                cd_order_cb cb, void *arg, int *has_more,
                                int64_t *total);
int cd_store_account_payment_page(struct cd_tx *tx, const char *account_id,
                                  const char *starting_after, int64_t limit,
                                  cd_payment_cb cb, void *arg, int *has_more,
                                  int64_t *total);

/* ---- keyset pages of every account's payments and subscriptions (022,
 * admin_pages.c): the same query; kind is not a filter, status is the
 * payment's or Stripe's subscription status; a subscription page starts
 * after a stripe_subscription_id. */
typedef int (*cd_subscription_cb)(const struct cd_subscription *s,
                                  void *arg);
int cd_store_payment_page(struct cd_tx *tx, const struct cd_page_query *q,
                          cd_payment_cb cb, void *arg, int *has_more);
int cd_store_subscription_page(struct cd_tx *tx,
                               const struct cd_page_query *q,
                               cd_subscription_cb cb, void *arg,
                               int *has_more);

/* The dashboard's sums over created_at in [from, to) (admin_pages.c):
 * paid payments per currency (count, amounts, amounts refunded), and
 * orders per status; cb once per row. OK or ERROR. */
struct cd_revenue {
    char currency[CD_CUR_SZ];
    int64_t payments, gross_cents, refunded_cents;
};
int cd_store_revenue(struct cd_tx *tx, int64_t from, int64_t to,
                     int (*cb)(const struct cd_revenue *r, void *arg),
                     void *arg);
int cd_store_order_status_counts(struct cd_tx *tx, int64_t from, int64_t to,
                                 int (*cb)(const char *status, int64_t n,
                                           void *arg),
                                 void *arg);

#endif
