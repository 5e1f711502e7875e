/*
 * backend_pg.c - the PostgreSQL backend (see backend.h), on libpq.
 *
 * Target: a postgres:// or postgresql:// URL, handed to PQconnectdb as it
 * is (sslmode and the other libpq parameters pass through).
 *
 * Statements. The shared SQL's ?N placeholders become $N. A statement is
 * prepared on its connection (PQprepare, named "cd<id>") the first time
 * it runs, with the parameter types of that first binding (int8, text,
 * bytea; NULL leaves the type to the server), and reused after. Text and
 * bytea are sent in binary form (their bytes), integers as decimal text;
 * results come back as text, bytea columns unescaped.
 *
 * Errors. PostgreSQL aborts the whole transaction on a failed statement,
 * where SQLite fails only the statement; jobs rely on the latter (a unique
 * key refusing a row is CD_STORE_DUPLICATE and the job goes on). So every
 * INSERT, UPDATE and DELETE inside a transaction runs under its own
 * savepoint, rolled back to when it fails. The savepoint, the statement
 * and its release go as one libpq pipeline: one round trip, not three. SQLSTATE 23505 is a unique
 * violation; 40001 (serialization failure), 40P01 (deadlock) and 55P03
 * (lock not available) mark the connection's transaction for a retry
 * (cd_db.retry), which the executor honours by running the batch again;
 * until then every further statement of the lost transaction fails at
 * once with that error, without a round trip (tx_lost).
 *
 * Isolation. Write transactions run at SERIALIZABLE, so every job that
 * reads and then writes stays right with several nodes writing; reads at
 * REPEATABLE READ READ ONLY (one snapshot, like SQLite's WAL readers).
 */
#include "store/store_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define PG_MAX_PARAMS 32
#define OID_INT8 20
#define OID_TEXT 25
#define OID_BYTEA 17

struct pg_stmt {
    struct cd_stmt h;
    int id;
    int cached, prepared, is_write;
    char name[16];
    char *sql; /* with $N */
    int nparams;
    Oid types[PG_MAX_PARAMS];
    const char *vals[PG_MAX_PARAMS];
    int lens[PG_MAX_PARAMS];
    int fmts[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
    PGresult *res;
    int ran, row, nrows;
    unsigned char *blob; /* the last unescaped bytea column */
};

struct pg_db {
    struct cd_db h;
    PGconn *conn;
    struct pg_stmt *stmts[SQ__COUNT];
    int64_t changes;
    /* The job savepoint "j" is sent with the job's first statement, and
     * its release with the next statement or the COMMIT (pg_savepoint). */
    int sp_pending, release_pending;
    char sqlstate[6];
    char msg[256];
};

#define PG(d) ((struct pg_db *)(d))
#define PS(s) ((struct pg_stmt *)(s))

/* ---- errors --------------------------------------------------------- */

static void set_error(struct pg_db *c, const PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c->conn);
    size_t n;

    cd_strlcpy(c->sqlstate, st ? st : "", sizeof(c->sqlstate));
    cd_strlcpy(c->msg, m && *m ? m : PQerrorMessage(c->conn), sizeof(c->msg));
    n = strlen(c->msg);
    while (n > 0 && (c->msg[n - 1] == '\n' || c->msg[n - 1] == ' '))
        c->msg[--n] = '\0';
    if (strcmp(c->sqlstate, "40001") == 0 ||
        strcmp(c->sqlstate, "40P01") == 0 ||
        strcmp(c->sqlstate, "55P03") == 0)
        c->h.retry = 1;
}

static enum cd_db_errclass pg_error_class(struct cd_db *d)
{
    const char *s = PG(d)->sqlstate;

    if (!s[0])
        return CD_DBE_NONE;
    if (strcmp(s, "23505") == 0)
        return CD_DBE_UNIQUE;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
        strcmp(s, "55P03") == 0)
        return CD_DBE_RETRY;
    return CD_DBE_OTHER;
}

static const char *pg_errmsg(struct cd_db *d)
{
    return PG(d)->msg;
}

/* Runs a command without parameters; 0 or -1 (error recorded). */
static int run(struct pg_db *c, const char *sql)
{
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

    if (!ok)
        set_error(c, r);
    PQclear(r);
    return ok ? 0 : -1;
}

/* ---- transactions --------------------------------------------------- */

static int pg_in_tx(struct cd_db *d)
{
    PGTransactionStatusType t = PQtransactionStatus(PG(d)->conn);

    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
           t == PQTRANS_ACTIVE;
}

/* 1 when the open transaction is lost (c->h.retry: a serialization
 * failure, deadlock or lock timeout since BEGIN): its statements are then
 * answered at once with that error, until the rollback, rather than sent
 * for the server to refuse (25P02) or run in vain - one round trip each
 * on every lost batch. */
static int tx_lost(struct pg_db *c)
{
    if (!c->h.retry || !pg_in_tx(&c->h))
        return 0;
    if (pg_error_class(&c->h) != CD_DBE_RETRY) { /* e.g. cd_store_fault */
        cd_strlcpy(c->sqlstate, "40001", sizeof(c->sqlstate));
        cd_strlcpy(c->msg, "the transaction was lost before this statement",
                   sizeof(c->msg));
    }
    return 1;
}

static int pg_begin(struct cd_db *d, int write)
{
    d->retry = 0;
    PG(d)->sp_pending = PG(d)->release_pending = 0;
    return run(PG(d), write ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                            : "BEGIN ISOLATION LEVEL REPEATABLE READ "
                              "READ ONLY");
}

static int pg_commit(struct cd_db *d)
{
    struct pg_db *c = PG(d);
    PGresult *r;
    int ok;

    if (tx_lost(c))
        return -1;
    if (PQtransactionStatus(c->conn) == PQTRANS_INERROR) {
        cd_strlcpy(c->msg, "commit of a failed transaction", sizeof(c->msg));
        return -1;
    }
    /* A simple query of two commands: the second is skipped if the first
     * fails. */
    r = PQexec(c->conn,
               c->release_pending ? "RELEASE SAVEPOINT j; COMMIT" : "COMMIT");
    c->sp_pending = c->release_pending = 0;
    /* COMMIT of an aborted transaction answers ROLLBACK. */
    ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
         strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok)
        set_error(c, r);
    PQclear(r);
    return ok ? 0 : -1;
}

static int pg_rollback(struct cd_db *d)
{
    PG(d)->sp_pending = PG(d)->release_pending = 0;
    return run(PG(d), "ROLLBACK");
}

/*
 * The job savepoint costs no round trip of its own: SAVEPOINT j is sent in
 * the pipeline of the job's first statement (a job that runs none needs
 * none), and RELEASE SAVEPOINT j in the pipeline of the next statement of
 * the batch or with its COMMIT. A release in a failed transaction runs at
 * once, so it still fails where the job is known.
 */
static int pg_savepoint(struct cd_db *d)
{
    PG(d)->sp_pending = 1;
    return 0;
}

static int pg_release(struct cd_db *d)
{
    struct pg_db *c = PG(d);

    if (c->sp_pending) { /* no statement ran: there is no savepoint */
        c->sp_pending = 0;
        return 0;
    }
    if (PQtransactionStatus(c->conn) == PQTRANS_INERROR)
        return run(c, "RELEASE SAVEPOINT j");
    c->release_pending = 1;
    return 0;
}

static int pg_rollback_to(struct cd_db *d)
{
    struct pg_db *c = PG(d);

    if (c->sp_pending) /* no statement ran: nothing to undo */
        return 0;
    return run(c, "ROLLBACK TO SAVEPOINT j");
}

/* A session advisory lock of creditd's own ("cd" in ASCII). */
static int pg_migrate_lock(struct cd_db *d, int lock)
{
    return run(PG(d), lock ? "SELECT pg_advisory_lock(25444)"
                           : "SELECT pg_advisory_unlock(25444)");
}

static int pg_exec_script(struct cd_db *d, const char *sql)
{
    if (run(PG(d), sql) == 0)
        return 0;
    cd_error("store", "script: %s", PG(d)->msg);
    return -1;
}

/* ---- statements ----------------------------------------------------- */

/* sql with each ?N as $N; *nparams the highest N. NULL on no memory. */
static char *translate(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1), *o = out;
    int quoted = 0, hi = 0;

    if (!out)
        return NULL;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (*p == '?' && !quoted && isdigit((unsigned char)p[1])) {
            int v = (int)strtol(p + 1, NULL, 10);

            if (v > hi)
                hi = v;
            *o++ = '$';
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    *nparams = hi;
    return out;
}

static int is_write_sql(const char *sql)
{
    return strncmp(sql, "INSERT", 6) == 0 || strncmp(sql, "UPDATE", 6) == 0 ||
           strncmp(sql, "DELETE", 6) == 0;
}

static void stmt_clear(struct pg_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    PQfreemem(s->blob);
    s->blob = NULL;
    s->ran = 0;
    s->row = -1;
    s->nrows = 0;
    for (int i = 0; i < PG_MAX_PARAMS; i++) {
        s->vals[i] = NULL;
        s->lens[i] = 0;
        s->fmts[i] = 0;
    }
}

static void stmt_free(struct pg_stmt *s)
{
    if (!s)
        return;
    stmt_clear(s);
    free(s->sql);
    free(s);
}

static struct cd_stmt *pg_prepare(struct cd_db *d, int id, const char *sql)
{
    struct pg_db *c = PG(d);
    struct pg_stmt *cached, *s;

    if (id < 0 || id >= SQ__COUNT)
        return NULL;
    cached = c->stmts[id];
    if (cached && !cached->ran)
        return &cached->h;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->sql = translate(sql, &s->nparams)) ||
        s->nparams > PG_MAX_PARAMS) {
        cd_error("store",
                 "prepare statement %d: no memory or too many "
                 "parameters",
                 id);
        stmt_free(s);
        return NULL;
    }
    s->h.be = &cd_backend_pg;
    s->h.db = d;
    s->id = id;
    s->row = -1;
    s->is_write = is_write_sql(sql);
    /* A second copy (a list callback running the same statement) runs
     * unprepared. */
    s->cached = !cached;
    snprintf(s->name, sizeof(s->name), "cd%d", id);
    if (!cached)
        c->stmts[id] = s;
    return &s->h;
}

static void pg_finish(struct cd_stmt *h)
{
    struct pg_stmt *s = PS(h);

    if (s->cached)
        stmt_clear(s);
    else
        stmt_free(s);
}

static int param(struct pg_stmt *s, int i)
{
    return i >= 1 && i <= s->nparams ? i - 1 : -1;
}

static int pg_bind_null(struct cd_stmt *h, int i)
{
    struct pg_stmt *s = PS(h);
    int k = param(s, i);

    if (k < 0)
        return -1;
    s->vals[k] = NULL;
    if (!s->prepared)
        s->types[k] = 0;
    return 0;
}

static int pg_bind_i64(struct cd_stmt *h, int i, int64_t v)
{
    struct pg_stmt *s = PS(h);
    int k = param(s, i);

    if (k < 0)
        return -1;
    snprintf(s->num[k], sizeof(s->num[k]), "%" PRId64, v);
    s->vals[k] = s->num[k];
    s->fmts[k] = 0;
    if (!s->prepared)
        s->types[k] = OID_INT8;
    return 0;
}

static int bind_bytes(struct pg_stmt *s, int i, const void *p, size_t n,
                      Oid type)
{
    int k = param(s, i);

    if (k < 0 || n > INT32_MAX)
        return -1;
    s->vals[k] = p ? p : "";
    s->lens[k] = (int)n;
    s->fmts[k] = 1; /* binary: the bytes themselves */
    if (!s->prepared)
        s->types[k] = type;
    return 0;
}

static int pg_bind_text(struct cd_stmt *h, int i, const char *t, size_t n)
{
    return bind_bytes(PS(h), i, t, n, OID_TEXT);
}

static int pg_bind_blob(struct cd_stmt *h, int i, const void *p, size_t n)
{
    return bind_bytes(PS(h), i, p, n, OID_BYTEA);
}

/* Prepares s on its connection once; 0 or -1. */
static int ensure_prepared(struct pg_db *c, struct pg_stmt *s)
{
    PGresult *r;
    int ok;

    if (s->prepared || !s->cached)
        return 0;
    r = PQprepare(c->conn, s->name, s->sql, s->nparams, s->types);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        set_error(c, r);
    PQclear(r);
    s->prepared = ok;
    return ok ? 0 : -1;
}

static PGresult *execute(struct pg_db *c, struct pg_stmt *s)
{
    if (s->cached)
        return PQexecPrepared(c->conn, s->name, s->nparams, s->vals, s->lens,
                              s->fmts, 0);
    return PQexecParams(c->conn, s->sql, s->nparams, s->types, s->vals,
                        s->lens, s->fmts, 0);
}

/* Sends s (prepared or not) without waiting; 1 or 0. */
static int send_stmt(struct pg_db *c, struct pg_stmt *s)
{
    if (s->cached)
        return PQsendQueryPrepared(c->conn, s->name, s->nparams, s->vals,
                                   s->lens, s->fmts, 0);
    return PQsendQueryParams(c->conn, s->sql, s->nparams, s->types, s->vals,
                             s->lens, s->fmts, 0);
}

static int send_cmd(struct pg_db *c, const char *sql)
{
    return PQsendQueryParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
}

/* The result of the next query of a pipeline (NULL when the connection
 * failed), having read up to its terminating NULL. */
static PGresult *next_result(struct pg_db *c)
{
    PGresult *r = PQgetResult(c->conn), *more;

    while (r && (more = PQgetResult(c->conn)) != NULL)
        PQclear(more);
    return r;
}

/* The results of n commands sent before a statement (or after it), all
 * expected to be COMMAND_OK; -1 when one is not (its error recorded,
 * unless one is recorded already). */
static int take_cmds(struct pg_db *c, int n, int *failed)
{
    for (int i = 0; i < n; i++) {
        PGresult *r = next_result(c);

        if (PQresultStatus(r) != PGRES_COMMAND_OK && !*failed) {
            set_error(c, r);
            *failed = 1;
        }
        PQclear(r);
    }
    return *failed ? -1 : 0;
}

/* s inside a transaction, in one round trip: the pending job savepoint
 * commands (pg_savepoint), then for a write SAVEPOINT cd_s, the statement
 * and RELEASE SAVEPOINT cd_s, sent as one libpq pipeline. On success
 * s->res holds the statement's result and 0 is returned. When a command
 * fails the server skips the rest of the pipeline; a write is then rolled
 * back to cd_s (two more round trips, only on that path) and -1 is
 * returned with the first error recorded. */
static int run_pipelined(struct pg_db *c, struct pg_stmt *s, int guard)
{
    int pre = 0, failed = 0, sent;
    PGresult *sync;
    ExecStatusType st;

    if (!PQenterPipelineMode(c->conn)) {
        set_error(c, NULL);
        return -1;
    }
    sent = (!c->release_pending ||
            (pre++, send_cmd(c, "RELEASE SAVEPOINT j"))) &&
           (!c->sp_pending || (pre++, send_cmd(c, "SAVEPOINT j"))) &&
           (!guard || (pre++, send_cmd(c, "SAVEPOINT cd_s"))) &&
           send_stmt(c, s) &&
           (!guard || send_cmd(c, "RELEASE SAVEPOINT cd_s")) &&
           PQpipelineSync(c->conn);
    c->release_pending = c->sp_pending = 0;
    if (!sent) {
        set_error(c, NULL);
        failed = 1;
    }
    take_cmds(c, sent ? pre : 0, &failed);
    s->res = sent ? next_result(c) : NULL;
    st = PQresultStatus(s->res);
    if (sent && !failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_error(c, s->res);
        failed = 1;
    }
    take_cmds(c, sent && guard ? 1 : 0, &failed);
    sync = sent ? PQgetResult(c->conn) : NULL;
    if (sent && PQresultStatus(sync) != PGRES_PIPELINE_SYNC && !failed) {
        set_error(c, sync);
        failed = 1;
    }
    PQclear(sync);
    if (!PQexitPipelineMode(c->conn) && !failed) {
        set_error(c, NULL);
        failed = 1;
    }
    if (!failed)
        return 0;
    PQclear(s->res);
    s->res = NULL;
    if (guard && PQtransactionStatus(c->conn) == PQTRANS_INERROR) {
        char keep[6], msg[256];

        /* Keep the statement's error, not the rollback's. */
        memcpy(keep, c->sqlstate, sizeof(keep));
        memcpy(msg, c->msg, sizeof(msg));
        run(c, "ROLLBACK TO SAVEPOINT cd_s");
        run(c, "RELEASE SAVEPOINT cd_s");
        memcpy(c->sqlstate, keep, sizeof(keep));
        memcpy(c->msg, msg, sizeof(msg));
    }
    return -1;
}

/* Runs s once: under its own savepoint when it writes inside a
 * transaction. 0 or -1 (error recorded, the transaction still usable). */
static int run_stmt(struct pg_db *c, struct pg_stmt *s)
{
    ExecStatusType st;

    if (tx_lost(c) || ensure_prepared(c, s) != 0)
        return -1;
    c->h.statements++;
    if (pg_in_tx(&c->h) &&
        (s->is_write || c->sp_pending || c->release_pending)) {
        if (run_pipelined(c, s, s->is_write) != 0)
            return -1;
    } else {
        s->res = execute(c, s);
        st = PQresultStatus(s->res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            set_error(c, s->res);
            PQclear(s->res);
            s->res = NULL;
            return -1;
        }
    }
    st = PQresultStatus(s->res);
    c->sqlstate[0] = '\0';
    c->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
    s->nrows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
    return 0;
}

static int pg_step(struct cd_stmt *h)
{
    struct pg_stmt *s = PS(h);

    if (!s->ran) {
        s->ran = 1;
        if (run_stmt(PG(h->db), s) != 0)
            return CD_STEP_ERROR;
    }
    PQfreemem(s->blob);
    s->blob = NULL;
    if (++s->row < s->nrows)
        return CD_STEP_ROW;
    return CD_STEP_DONE;
}

static int pg_column_is_null(struct cd_stmt *h, int i)
{
    struct pg_stmt *s = PS(h);

    return !s->res || PQgetisnull(s->res, s->row, i);
}

static int64_t pg_column_i64(struct cd_stmt *h, int i)
{
    struct pg_stmt *s = PS(h);

    if (pg_column_is_null(h, i))
        return 0;
    return strtoll(PQgetvalue(s->res, s->row, i), NULL, 10);
}

static const char *pg_column_text(struct cd_stmt *h, int i, size_t *len)
{
    struct pg_stmt *s = PS(h);

    *len = 0;
    if (pg_column_is_null(h, i))
        return NULL;
    *len = (size_t)PQgetlength(s->res, s->row, i);
    return PQgetvalue(s->res, s->row, i);
}

static const void *pg_column_blob(struct cd_stmt *h, int i, size_t *len)
{
    struct pg_stmt *s = PS(h);
    size_t n = 0;

    *len = 0;
    if (pg_column_is_null(h, i))
        return NULL;
    if (PQftype(s->res, i) != OID_BYTEA)
        return pg_column_text(h, i, len);
    PQfreemem(s->blob);
    s->blob = PQunescapeBytea(
        (const unsigned char *)PQgetvalue(s->res, s->row, i), &n);
    *len = n;
    return s->blob ? (const void *)s->blob : (const void *)"";
}

static int64_t pg_changes(struct cd_db *d)
{
    return PG(d)->changes;
}

/* ---- connections ---------------------------------------------------- */

static void pg_close(struct cd_db *d)
{
    struct pg_db *c = PG(d);

    if (!c)
        return;
    for (int i = 0; i < SQ__COUNT; i++)
        stmt_free(c->stmts[i]);
    if (c->conn)
        PQfinish(c->conn);
    free(c);
}

static int pg_open(const char *url, int writable, struct cd_db **out,
                   struct cd_error *err)
{
    struct pg_db *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (!c)
        return cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                            "no memory");
    c->h.be = &cd_backend_pg;
    c->h.writable = writable;
    c->conn = PQconnectdb(url);
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "cannot connect to PostgreSQL: %s",
                     c->conn ? PQerrorMessage(c->conn) : "no memory");
        pg_close(&c->h);
        return -1;
    }
    if (run(c, "SET client_min_messages = warning") != 0) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "cannot set up the connection: %s", c->msg);
        pg_close(&c->h);
        return -1;
    }
    *out = &c->h;
    return 0;
}

static const struct cd_migration *pg_migrations(int *count)
{
    *count = cd_migrations_pg_count;
    return cd_migrations_pg;
}

const struct cd_backend cd_backend_pg = {
    .version = CD_BACKEND_VERSION,
    .name = "postgresql",
    .migrations = pg_migrations,
    .open = pg_open,
    .close = pg_close,
    .migrate_lock = pg_migrate_lock,
    .exec_script = pg_exec_script,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .in_tx = pg_in_tx,
    .prepare = pg_prepare,
    .finish = pg_finish,
    .bind_null = pg_bind_null,
    .bind_i64 = pg_bind_i64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .column_is_null = pg_column_is_null,
    .column_i64 = pg_column_i64,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .changes = pg_changes,
    .error_class = pg_error_class,
    .errmsg = pg_errmsg,
};
