/*
 * card_enrich.h - the card of a paid payment whose charge event never
 * came. The webhook never asks Stripe: a payment's last4 and charge id
 * come with charge.succeeded / charge.updated (charges.h), and
 * reconciliation does not list charge.* events (Stripe's 20-type limit).
 * When that event is lost - the endpoint not subscribed to charge.*, its
 * delivery failed for 3 days - this run, after each background
 * reconciliation under the same "reconcile" lease (jobs.c), asks Stripe:
 *
 *   the payments paid at least CD_CARD_ENRICH_AGE seconds and less than
 *   CD_CARD_ENRICH_WINDOW ago (cd_now())
 *   that name a PaymentIntent but lack last4 or the charge id, oldest
 *   paid first, at most `limit` a run, each with GET
 *   /v1/payment_intents/{pi}?expand[]=latest_charge (outside any
 *   transaction). A succeeded charge with a card is recorded exactly as
 *   its charge.succeeded would be (cd_charge_on_charge: the same write
 *   job). Each look-up is recorded (031, card_enrich): a payment still
 *   without its card - none there (another payment method, no charge
 *   yet), Stripe answered 4xx, or the card went to another row - is asked
 *   again after CD_CARD_ENRICH_BACKOFF seconds, doubling, and never after
 *   CD_CARD_ENRICH_MAX_ATTEMPTS look-ups. Stripe unreachable, 429 or 5xx
 *   ends the run's look-ups (logged; the next run asks again); nothing is
 *   recorded for them.
 *
 * The counter creditd_card_enrich_total{result} counts the look-ups:
 * filled, no_card, error.
 */
#ifndef CD_BILLING_CARD_ENRICH_H
#define CD_BILLING_CARD_ENRICH_H

#include <stdint.h>

#include "billing/billing.h"

#define CD_CARD_ENRICH_AGE 600      /* paid this long ago before a look-up */
#define CD_CARD_ENRICH_LIMIT 20     /* look-ups a run */
#define CD_CARD_ENRICH_BACKOFF 3600 /* after the first look-up without card */
#define CD_CARD_ENRICH_MAX_ATTEMPTS 5
/* Only payments paid this recently: the look-ups of one end within a day
 * (1 + 2 + 4 + 8 h of backoff), and those that never find a card (another
 * payment method) stay in the partial index; the window keeps the range a
 * run reads from growing with them. */
#define CD_CARD_ENRICH_WINDOW (7 * 86400)

struct cd_card_enrich_result {
    int64_t looked;  /* payments asked of Stripe */
    int64_t filled;  /* of those, the ones whose card was recorded */
    int64_t no_card; /* recorded as looked at, to ask later or never */
    int64_t errors;  /* Stripe failed: asked again next run */
};

/*
 * One run: at most limit look-ups, checking stop(arg) (may be NULL)
 * between them. Fills *out; 0, or -1 when the store failed (logged).
 * Nothing to do without a Stripe client.
 */
int cd_card_enrich_run(struct cd_billing *b, int64_t limit,
                       int (*stop)(void *arg), void *arg,
                       struct cd_card_enrich_result *out);

#endif
