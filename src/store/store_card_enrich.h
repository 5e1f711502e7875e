/*
 * store_card_enrich.h - the store's look-ups of the card of a paid payment
 * whose charge event never came (card_enrich.c, migration 031): the
 * payments due a look-up, and what a look-up that found no card left.
 * Return codes and field sizes in store_base.h; callers include
 * store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_CARD_ENRICH_H
#define CD_STORE_STORE_CARD_ENRICH_H

#include <stdint.h>

#include "store/store_base.h"
#include "store/store_payments.h"

/* A payment looked at without a card found. */
struct cd_card_enrich {
    char payment_id[CD_ID_SZ];
    int64_t attempts;    /* look-ups that found no card */
    int64_t next_try_at; /* not asked again before */
    int64_t tried_at;    /* the last one */
};

/*
 * The payments paid after paid_after and at or before paid_before (and
 * not failed) that name a
 * PaymentIntent but lack last4 or the charge id, leaving out those looked
 * at max_attempts times or not due again before now; oldest paid first,
 * at most limit, each passed to cb (nonzero from cb stops).
 */
int cd_store_card_enrich_due(struct cd_tx *tx, int64_t paid_after,
                             int64_t paid_before, int64_t now,
                             int64_t max_attempts, int64_t limit,
                             cd_payment_cb cb, void *arg);
int cd_store_card_enrich_get(struct cd_tx *tx, const char *payment_id,
                             struct cd_card_enrich *out);
/* Inserts or replaces the row of e->payment_id. */
int cd_store_card_enrich_put(struct cd_tx *tx,
                             const struct cd_card_enrich *e);

#endif
