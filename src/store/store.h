/*
 * store.h - the database, behind one narrow interface.
 *
 * billing/ talks to the database only through this header: no SQL and no
 * dialect leave store/. The engine is a backend behind backend.h (SQLite:
 * backend_sqlite.c); another is added inside store/ behind the same
 * functions.
 *
 * Writes. Every write is a job: a function run inside a transaction.
 * cd_store_write() queues the job for a writer thread (one with SQLite, a
 * few with PostgreSQL, each with its own connection), which takes every
 * job of its queue, runs each under its own SAVEPOINT (a job that fails
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
 *
 * The records and their functions are declared in a header per store noun
 * (store_accounts.h, store_ledger.h, store_orders.h, ...; the shared codes,
 * sizes and list conventions in store_base.h), all included here, so
 * callers include this header only.
 */
#ifndef CD_STORE_STORE_H
#define CD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_base.h"
#include "util/error.h"

struct cd_store;
struct cd_tx;

struct cd_store_config {
    const char *path; /* SQLite file path, or a postgres:// URL */
    int read_conns;   /* read connection pool size; 0: 4 */
    int max_batch;    /* most jobs in one commit; 0: 512 */
    int writers;      /* writer connections and threads (PostgreSQL);
                         0: 1; always 1 with SQLite */
};

struct cd_store_stats {
    uint64_t commits;     /* batches committed */
    uint64_t jobs;        /* jobs run */
    uint64_t failed_jobs; /* jobs whose savepoint was rolled back */
    uint64_t max_batch;   /* largest batch so far */
    uint64_t retries;     /* transactions run again after a
                              serialization failure, deadlock or lock
                              timeout */
    uint64_t statements;  /* statements the writer connections ran on the
                              engine (round trips, with PostgreSQL) */
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
/* How many writer threads (and connections) s runs. */
int cd_store_writers(const struct cd_store *s);
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
 * cd_store_write on the writer that key (e.g. an account id; NULL or "":
 * none) is given to: the jobs of one key run in the order they were
 * queued, on one connection, never two at once; jobs of different keys
 * (and jobs without one) may run in parallel transactions on several
 * writers (PostgreSQL).
 */
int cd_store_write_keyed(struct cd_store *s, const char *key,
                         cd_store_job_fn fn, void *arg);

/*
 * The same job without waiting: cd_store_submit() queues it and returns;
 * the writer runs it in its next batch exactly as a cd_store_write job
 * (its own savepoint, the same retries, stats and log ids) and, once the
 * batch is committed, calls done(done_arg, rc) - rc as cd_store_write
 * would return it - exactly once, on the writer thread that ran it, outside the
 * store's lock. done must be quick and must not wait on the store (no
 * cd_store_write, no read): it hands the result to another thread.
 * The job lives in the caller's memory, untouched by it from submit until
 * done is called. Returns 0, or -1 (store closing, or no fn/done: done
 * is then never called). cd_store_close() runs the jobs already queued,
 * with their completions, before it returns.
 */
typedef void (*cd_store_done_fn)(void *done_arg, int rc);

#define CD_STORE_LOG_ID_SZ 64

struct cd_store_async {
    cd_store_job_fn fn;
    void *arg;
    cd_store_done_fn done;
    void *done_arg;
    const char *key; /* NULL, or as cd_store_write_keyed's (read by
                        cd_store_submit only) */
    /* private: the executor's */
    const char *request_id, *job_id;
    char ids_[2][CD_STORE_LOG_ID_SZ];
    int rc;
    struct cd_store_async *next;
};

int cd_store_submit(struct cd_store *s, struct cd_store_async *job);

/*
 * Test hook: fault injection at the seam. The writer connection fails the
 * (after + 1)-th next BEGIN, SAVEPOINT, RELEASE, COMMIT or statement
 * (prepared for a job) as if the engine had - once; a failed COMMIT is
 * rolled back. CD_FAULT_LOST fails a statement as a serialization
 * failure would: the transaction is lost and its batch run again. Armed from the next batch the writer takes on (a batch
 * already running is not touched); CD_FAULT_NONE disarms.
 */
enum cd_store_fault {
    CD_FAULT_NONE,
    CD_FAULT_BEGIN,
    CD_FAULT_SAVEPOINT,
    CD_FAULT_RELEASE,
    CD_FAULT_COMMIT,
    CD_FAULT_STATEMENT,
    CD_FAULT_LOST
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

/* ---- records, a header per noun ---------------------------------------- */
#include "store/store_accounts.h"
#include "store/store_admin_pages.h"
#include "store/store_card_enrich.h"
#include "store/store_discounts.h"
#include "store/store_idempotency.h"
#include "store/store_invoice_payments.h"
#include "store/store_jobs.h"
#include "store/store_ledger.h"
#include "store/store_links.h"
#include "store/store_mail.h"
#include "store/store_orders.h"
#include "store/store_payments.h"
#include "store/store_rate_limits.h"
#include "store/store_refunds.h"
#include "store/store_subscriptions.h"

#endif
