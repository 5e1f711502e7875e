/*
 * idempotency.h - the Idempotency-Key protocol: one request per key, its
 * reply kept for 24 hours, and every attempt of it naming the same
 * effects.
 *
 * A request with a key first claims (scope, key) in a write job:
 *  - no row (or one older than CD_IDEM_TTL_S): the claim is inserted, in
 *    progress (status 0), holding this request's token under a lease;
 *  - the same key with another request fingerprint: REUSED (409);
 *  - a stored reply: REPLAY (status and body as first sent);
 *  - in progress under a lease that has not ended: IN_PROGRESS (409) -
 *    the first request is still running somewhere, on this node or
 *    another, and its process renews the lease while it runs;
 *  - in progress with the lease ended (its process died, or a 5xx reply
 *    released it): the claim is taken over and the request runs again.
 * The request then runs and cd_idem_end() stores its reply, or on a 5xx
 * (unknown outcome) or a 429 (not run) releases the claim without
 * deleting it: a claim is never deleted while its key is live, because
 * Stripe may have been called under it.
 *
 * Effects are found again, not redone: cd_idem_effect_id() derives the id
 * of the order or refund a request creates from its scope and key, so a
 * run after a crash, a 5xx or a takeover names the same order - and so
 * sends Stripe the same Idempotency-Key - as the first run did.
 *
 * The keeper is the process's heartbeat: a thread renewing the lease of
 * every claim this process holds, every lease/3. Without a keeper (unit
 * tests) claims still work; their lease is simply never renewed.
 */
#ifndef CD_BILLING_IDEMPOTENCY_H
#define CD_BILLING_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"

#define CD_IDEM_TTL_S (24 * 3600) /* a key is remembered this long */
#define CD_IDEM_LEASE_MS_DEFAULT 30000
#define CD_IDEM_LEASE_MS_MIN 1000
#define CD_IDEM_LEASE_MS_MAX 600000
#define CD_IDEM_TOKEN_SZ 64

enum cd_idem_outcome {
    CD_IDEM_CLAIMED,     /* run the request, then cd_idem_end() */
    CD_IDEM_REPLAY,      /* send status/body, Idempotent-Replayed */
    CD_IDEM_IN_PROGRESS, /* 409 idempotency_in_progress */
    CD_IDEM_REUSED,      /* 409 idempotency_key_reused */
};

struct cd_idem_claim {
    /* in: filled by the caller */
    char scope[CD_IDEM_SCOPE_SZ];
    char key[CD_IDEM_KEY_SZ];
    char request_hash[65]; /* the request's fingerprint */
    /* The fingerprint the same request had before fingerprints were on
     * meaning (bytes hashed), or "": a row stored with it still matches
     * (see cd_idem_fingerprint). */
    char legacy_hash[65];
    /* The store writer key of cd_idem_once's job (cd_store_write_keyed:
     * the account it changes), or NULL. */
    const char *writer_key;
    /* out */
    enum cd_idem_outcome outcome;
    int done;       /* cd_idem_once() ran: outcome is final */
    int taken_over; /* CLAIMED: an earlier attempt of this request ran */
    int status;     /* REPLAY */
    char *body;     /* REPLAY: malloc'd; cd_idem_claim_free() */
    size_t body_len;
    /* private */
    char token[CD_IDEM_TOKEN_SZ];
    struct cd_idem_keeper *keeper;
    struct cd_idem_claim *prev, *next;
};

/*
 * The request's fingerprint, on its meaning: sha256 hex of
 * "json " + method + " " + path + "\n" + the body re-serialised by jansson
 * with sorted keys and no blanks, when the body is JSON - so other
 * whitespace or key order is the same request, any other value is not.
 * A body that is not JSON (or is empty) keeps the bytes fingerprint:
 * sha256 hex of method + " " + path + "\n" + body. legacy gets that bytes
 * fingerprint in every case: rows stored before this rule (keys live
 * 24 h) match on it. The "json " prefix keeps the two kinds apart.
 * 0, or -1 out of memory.
 */
int cd_idem_fingerprint(const char *method, const char *path,
                        const char *body, size_t body_len, char out[65],
                        char legacy[65]);

/* Starts the heartbeat for claims of this process; lease_ms is clamped to
 * CD_IDEM_LEASE_MS_MIN..MAX. NULL when the thread cannot start. */
struct cd_idem_keeper *cd_idem_keeper_start(struct cd_store *s,
                                            int64_t lease_ms);
/* Stops the thread (claims still held are left to expire). NULL is
 * fine. */
void cd_idem_keeper_stop(struct cd_idem_keeper *k);

/*
 * Claims c->scope / c->key for this request (b->idem is the keeper, may be
 * NULL). 0 with c->outcome set, or -1 when the store failed (500).
 */
int cd_idem_begin(struct cd_billing *b, struct cd_idem_claim *c);

/*
 * After the request ran (outcome CLAIMED): stores status and body as the
 * key's reply, or for status >= 500 or 429 releases the claim for the
 * next try.
 * Returns 0; 1 when the claim was no longer ours (taken over after its
 * lease ended: nothing stored); -1 when the store failed (the claim then
 * expires with its lease).
 */
int cd_idem_end(struct cd_billing *b, struct cd_idem_claim *c, int status,
                const char *body, size_t body_len);

void cd_idem_claim_free(struct cd_idem_claim *c);

/*
 * One job for a request whose effect is a pure database write (debits,
 * grants): the claim, the effect and the stored reply share one write
 * job, one transaction, one commit. Nobody ever sees the claim in
 * progress, so no lease or heartbeat is needed; the rules are those of
 * cd_idem_begin/cd_idem_end, decided in the same order.
 *
 * The effect runs inside the job, on the writer thread, only when the
 * claim is CLAIMED; it must not block on anything but the database. It
 * fills *reply (its status and body, which the job stores as the key's
 * reply; the body must stay valid until cd_idem_once returns) and
 * returns 0; nonzero (a store failure), or a reply of 5xx or 429, rolls
 * back the whole job - claim and effect - so the next try runs afresh.
 */
struct cd_idem_reply {
    int status;
    const char *body;
    size_t body_len;
};
typedef int (*cd_idem_effect_fn)(struct cd_tx *tx, void *arg,
                                 struct cd_idem_reply *reply);

/* 0 with c->outcome set and c->done 1 (CLAIMED: the effect ran and its
 * reply is stored; REPLAY: c->status/body as in cd_idem_begin), or -1
 * when the store failed or the effect rolled back (the caller answers
 * with its own 5xx; nothing is kept). */
int cd_idem_once(struct cd_billing *b, struct cd_idem_claim *c,
                 cd_idem_effect_fn effect, void *arg);

/*
 * cd_idem_once without waiting (store.h cd_store_submit): the job lives
 * in *j, in the caller's memory with c, untouched until done(done_arg)
 * is called - once, on the store's writer thread, after the commit; done
 * only hands j on. The thread it hands j to then calls
 * cd_idem_once_result(j): 0 or -1 as cd_idem_once would have returned,
 * c filled the same way. cd_idem_once_submit returns 0, or -1 when the
 * store is closing (done is then never called; the result is -1).
 */
struct cd_idem_claim_job { /* private to idempotency.c */
    struct cd_idem_claim *c;
    int64_t now, now_ms, lease_ms;
};
struct cd_idem_once_job {
    /* private to idempotency.c */
    struct cd_idem_claim_job claim;
    cd_idem_effect_fn effect;
    void *arg;
    void (*done)(void *done_arg);
    void *done_arg;
    int rc;
    struct cd_store_async job;
};
int cd_idem_once_submit(struct cd_billing *b, struct cd_idem_claim *c,
                        cd_idem_effect_fn effect, void *arg,
                        struct cd_idem_once_job *j,
                        void (*done)(void *done_arg), void *done_arg);
int cd_idem_once_result(struct cd_idem_once_job *j);

/*
 * A keyed write without waiting, the shape debits, grants and holds
 * share: with a claim (a key whose reply the effect renders), the claim,
 * the effect and the reply are one job (cd_idem_once_submit); without
 * one, fn(fn_arg) is a plain write job (cd_store_submit). Either way
 * done(done_arg) is called once, on the writer thread - or at once when
 * the store is closing. Then cd_idem_keyed_result(k): with a claim
 * cd_idem_once_result's 0 or -1; without one the job's store code
 * (CD_STORE_ERROR when it never ran).
 */
struct cd_idem_keyed {
    struct cd_idem_claim *claim; /* NULL: the plain write */
    cd_idem_effect_fn effect;
    void *effect_arg;
    cd_store_job_fn fn;
    void *fn_arg;
    const char *writer_key; /* the account: the writer it goes to */
    void (*done)(void *done_arg);
    void *done_arg;
    /* private to idempotency.c */
    struct cd_idem_once_job once;
    struct cd_store_async job;
    int write_rc;
};
void cd_idem_keyed_submit(struct cd_billing *b, struct cd_idem_keyed *k);
int cd_idem_keyed_result(struct cd_idem_keyed *k);

/*
 * The id of the effect (order, refund) a request with this scope and key
 * creates: prefix + 24 base62 characters of SHA-256(scope "\n" key), the
 * same for every attempt of the request. out holds >= 64 bytes.
 */
void cd_idem_effect_id(const char *scope, const char *key, const char *prefix,
                       char *out, size_t outsz);

#endif
