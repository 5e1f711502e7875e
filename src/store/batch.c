/*
 * batch.c - one batch of write jobs in one transaction on a writer
 * connection: a SAVEPOINT per job (released when the job returns 0,
 * rolled back to when it does not), one COMMIT. The writer threads and
 * their queues, retries and completions are executor.c's.
 */
#include "store/batch.h"

#include "util/log.h"

/* Marks jobs [from, to) that had succeeded as failed: their transaction
 * is gone. */
static void fail_succeeded(struct cd_store_async **jobs, int from, int to)
{
    for (int i = from; i < to; i++)
        if (jobs[i]->rc == 0)
            jobs[i]->rc = CD_STORE_ERROR;
}

/* Runs j in the writer's open transaction under a SAVEPOINT, with its
 * caller's request and job ids on the writer's log lines: j's rc. *ran is
 * 0 (and nothing ran) when the savepoint could not be taken. */
static int run_job(struct cd_db *c, struct cd_tx *tx,
                   struct cd_store_async *j, int *ran)
{
    int rc;

    *ran = 0;
    if (cd_db_txo(c, CD_FAULT_SAVEPOINT, c->be->savepoint,
                  "batch: savepoint") != 0)
        return CD_STORE_ERROR;
    *ran = 1;
    cd_log_set_request_id(j->request_id);
    cd_log_set_job_id(j->job_id);
    rc = j->fn(tx, j->arg);
    cd_log_set_request_id(NULL);
    cd_log_set_job_id(NULL);
    return rc;
}

/* A job that ran (the transaction still open): its savepoint released
 * when rc is 0, else rolled back to and released. Returns the job's final
 * rc; *isolated is 0 when the rollback to its savepoint failed, so its
 * writes cannot be told from the batch's. */
static int end_job(struct cd_db *c, int rc, int *isolated)
{
    const struct cd_backend *be = c->be;

    *isolated = 1;
    if (rc == 0 &&
        cd_db_txo(c, CD_FAULT_RELEASE, be->release, "batch: release") != 0)
        rc = CD_STORE_ERROR;
    if (rc != 0 &&
        (cd_db_txc(c, be->rollback_to, "batch: rollback to") != 0 ||
         cd_db_txc(c, be->release, "batch: release") != 0))
        *isolated = 0;
    return rc;
}

int cd_store_batch_run(struct cd_db *c, struct cd_store_async **jobs, int n)
{
    const struct cd_backend *be = c->be;
    struct cd_tx tx = {.db = c, .writable = 1};
    int first = 0; /* first job of the open transaction */
    int commits = 0;

    for (int i = 0; i < n; i++)
        jobs[i]->rc = CD_STORE_ERROR;
    if (cd_db_tx_begin(c, 1, "batch: begin") != 0)
        return 0;
    for (int i = 0; i < n; i++) {
        struct cd_store_async *j = jobs[i];
        int rc, ran, isolated;

        rc = run_job(c, &tx, j, &ran);
        if (!ran) {
            j->rc = CD_STORE_ERROR;
            continue;
        }
        if (c->retry) {
            /* The transaction is lost (serialization failure, deadlock):
             * nothing of it commits; run_batch_retrying runs it again. */
            for (int k = 0; k < n; k++)
                jobs[k]->rc = CD_STORE_ERROR;
            cd_db_rollback_open(c, "batch: rollback");
            return 0;
        }
        if (!be->in_tx(c)) {
            /* The engine rolled the whole transaction back (I/O error,
             * out of memory...): every job since BEGIN lost its writes. */
            cd_error("store", "batch: transaction rolled back by %s",
                     be->name);
            fail_succeeded(jobs, first, i);
            j->rc = rc != 0 ? rc : CD_STORE_ERROR;
            first = i + 1;
            if (i + 1 < n && cd_db_tx_begin(c, 1, "batch: begin") != 0) {
                for (int k = i + 1; k < n; k++)
                    jobs[k]->rc = CD_STORE_ERROR;
                return commits;
            }
            continue;
        }
        rc = end_job(c, rc, &isolated);
        j->rc = rc;
        if (!isolated) {
            /* Cannot isolate this job: give up the whole batch. */
            fail_succeeded(jobs, first, i);
            for (int k = i + 1; k < n; k++)
                jobs[k]->rc = CD_STORE_ERROR;
            cd_db_rollback_open(c, "batch: rollback");
            return commits;
        }
    }
    if (first >= n)
        return commits;
    if (cd_db_txo(c, CD_FAULT_COMMIT, be->commit, "batch: commit") != 0) {
        cd_db_rollback_open(c, "batch: rollback");
        fail_succeeded(jobs, first, n);
        return commits;
    }
    return commits + 1;
}
