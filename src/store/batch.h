/*
 * batch.h - one batch of write jobs in one transaction (batch.c), for the
 * executor's writer threads.
 */
#ifndef CD_STORE_BATCH_H
#define CD_STORE_BATCH_H

#include "store/store_int.h"

/* Runs jobs[0..n) in one transaction on c, each under its own SAVEPOINT;
 * sets every job's rc. Returns the number of COMMITs that succeeded. When
 * c->retry is set on return (serialization failure, deadlock, lock
 * timeout) nothing committed and the transaction is rolled back: the
 * caller may run the batch again. */
int cd_store_batch_run(struct cd_db *c, struct cd_store_async **jobs, int n);

#endif
