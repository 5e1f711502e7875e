/*
 * rows.c - each record described once (column, type, struct offset and
 * size) and the generic code that binds a struct to a statement's
 * parameters and reads a row back into a struct, on any backend.
 *
 * A descriptor's columns are in the order of the record's *_COLS list
 * (records.h), which statements.c uses for SELECT lists and for the
 * ?1..?N of INSERT and UPDATE; cd_rec_check() (unit-tested) keeps the two
 * in step.
 */
#include "store/records.h"

#include <string.h>

#define S(T, f)                                                              \
    {                                                                        \
#f, CD_COL_STR, offsetof(T, f), sizeof(((T *)0)->f)                  \
    }
#define I(T, f)                                                              \
    {                                                                        \
#f, CD_COL_I64, offsetof(T, f), sizeof(int64_t)                      \
    }
#define N(T, f)                                                              \
    {                                                                        \
#f, CD_COL_INT, offsetof(T, f), sizeof(int)                          \
    }
#define F(T, f)                                                              \
    {                                                                        \
#f, CD_COL_FLAG, offsetof(T, f), sizeof(int)                         \
    }
#define REC(var, T, cols_sql, arr)                                           \
    const struct cd_rec var = {#T, cols_sql, sizeof(T),                      \
                               (int)(sizeof(arr) / sizeof((arr)[0])), arr}

#define T struct cd_account
static const struct cd_col account_cols[] = {S(T, id),
                                             S(T, email),
                                             S(T, password_hash),
                                             S(T, stripe_customer_id),
                                             F(T, has_saved_payment_method),
                                             I(T, balance),
                                             I(T, created_at),
                                             S(T, external_id)};
REC(cd_rec_account, T, ACCOUNT_COLS, account_cols);
#undef T

#define T struct cd_ledger_entry
static const struct cd_col ledger_cols[] = {
    S(T, id),         S(T, account_id),  I(T, amount),   I(T, balance_after),
    S(T, kind),       S(T, ref),         S(T, order_id), S(T, description),
    I(T, created_at), I(T, effective_at)};
REC(cd_rec_ledger, T, LEDGER_COLS, ledger_cols);
#undef T

#define T struct cd_order
static const struct cd_col order_cols[] = {S(T, id),
                                           S(T, account_id),
                                           S(T, kind),
                                           S(T, status),
                                           I(T, amount_cents),
                                           I(T, discount_cents),
                                           S(T, discount_code),
                                           I(T, credits),
                                           S(T, currency),
                                           S(T, item_id),
                                           S(T, description),
                                           S(T, stripe_session_id),
                                           S(T, stripe_payment_intent_id),
                                           S(T, failure_reason),
                                           I(T, created_at),
                                           I(T, completed_at),
                                           I(T, updated_at),
                                           I(T, clawback_credits),
                                           I(T, clawback_seq),
                                           I(T, refund_level_cents),
                                           S(T, stripe_invoice_id),
                                           S(T, stripe_customer_id)};
REC(cd_rec_order, T, ORDER_COLS, order_cols);
#undef T

#define T struct cd_payment
static const struct cd_col payment_cols[] = {S(T, id),
                                             S(T, order_id),
                                             S(T, account_id),
                                             S(T, status),
                                             I(T, amount_cents),
                                             I(T, amount_refunded_cents),
                                             S(T, currency),
                                             S(T, description),
                                             S(T, last4),
                                             S(T, failure_reason),
                                             S(T, stripe_payment_intent_id),
                                             S(T, stripe_charge_id),
                                             I(T, created_at),
                                             I(T, paid_at),
                                             I(T, refunded_at)};
REC(cd_rec_payment, T, PAYMENT_COLS, payment_cols);
#undef T

#define T struct cd_refund
static const struct cd_col refund_cols[] = {
    S(T, id),     S(T, order_id), S(T, stripe_refund_id), I(T, amount_cents),
    S(T, status), S(T, reason),   I(T, created_at),       I(T, updated_at)};
REC(cd_rec_refund, T, REFUND_COLS, refund_cols);
#undef T

#define T struct cd_dispute
static const struct cd_col dispute_cols[] = {
    S(T, id),     S(T, order_id),   I(T, amount_cents),
    S(T, status), I(T, created_at), I(T, updated_at)};
REC(cd_rec_dispute, T, DISPUTE_COLS, dispute_cols);
#undef T

#define T struct cd_problem
static const struct cd_col problem_cols[] = {
    S(T, id),       S(T, kind),   S(T, order_id),  S(T, account_id),
    S(T, event_id), S(T, detail), I(T, created_at)};
REC(cd_rec_problem, T, PROBLEM_COLS, problem_cols);
#undef T

#define T struct cd_discount
static const struct cd_col discount_cols[] = {
    S(T, code),     I(T, percent_off), I(T, amount_off_cents),
    I(T, max_uses), I(T, times_used),  I(T, expires_at),
    F(T, active),   I(T, created_at)};
REC(cd_rec_discount, T, DISCOUNT_COLS, discount_cols);
#undef T

#define T struct cd_subscription
static const struct cd_col sub_cols[] = {S(T, stripe_subscription_id),
                                         S(T, account_id),
                                         S(T, plan_id),
                                         S(T, status),
                                         I(T, current_period_end),
                                         F(T, cancel_at_period_end),
                                         I(T, synced_at),
                                         I(T, created_at),
                                         I(T, updated_at)};
REC(cd_rec_subscription, T, SUB_COLS, sub_cols);
#undef T

#define T struct cd_mail
static const struct cd_col mail_cols[] = {
    S(T, id),         S(T, dedupe_key), S(T, account_id),
    S(T, to_address), S(T, subject),    S(T, body_text),
    S(T, status),     I(T, attempts),   I(T, next_attempt_at),
    S(T, last_error), I(T, created_at), I(T, sent_at)};
REC(cd_rec_mail, T, MAIL_COLS, mail_cols);
/* The outcome of an attempt (SQ_MAIL_UPDATE). */
static const struct cd_col mail_update_cols[] = {
    S(T, id),         S(T, status), I(T, attempts), I(T, next_attempt_at),
    S(T, last_error), I(T, sent_at)};
REC(cd_rec_mail_update, T, MAIL_UPDATE_COLS, mail_update_cols);
#undef T

#define T struct cd_login_fail
static const struct cd_col login_fail_cols[] = {
    S(T, email), S(T, address), I(T, failures), I(T, first_at),
    I(T, last_at)};
REC(cd_rec_login_fail, T, LOGIN_FAIL_COLS, login_fail_cols);
#undef T

#define T struct cd_pricing
static const struct cd_col pricing_cols[] = {
    S(T, mode), I(T, launch_cents), I(T, rrp_cents), I(T, sale_cents),
    I(T, updated_at)};
REC(cd_rec_pricing, T, PRICING_COLS, pricing_cols);
#undef T

const struct cd_rec *const cd_recs[] = {
    &cd_rec_account, &cd_rec_ledger,      &cd_rec_order,
    &cd_rec_payment, &cd_rec_refund,      &cd_rec_dispute,
    &cd_rec_problem, &cd_rec_discount,    &cd_rec_subscription,
    &cd_rec_mail,    &cd_rec_mail_update, &cd_rec_login_fail,
    &cd_rec_pricing};
const int cd_recs_count = (int)(sizeof(cd_recs) / sizeof(cd_recs[0]));

/* ---- generic binding and reading ------------------------------------ */

int cd_bind_str(struct cd_stmt *st, int i, const char *s, size_t sz)
{
    size_t n;

    if (!s || !s[0])
        return cd_bind_null(st, i);
    n = strnlen(s, sz);
    if (n >= sz)
        return -1;
    return st->be->bind_text(st, i, s, n);
}

int cd_col_str(struct cd_stmt *st, int i, char *out, size_t sz)
{
    size_t n = 0;
    const char *t = st->be->column_text(st, i, &n);

    if (!t) {
        out[0] = '\0';
        return st->be->column_is_null(st, i) ? 0 : -1;
    }
    if (n >= sz) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

int cd_rec_bind(struct cd_stmt *st, const struct cd_rec *r, const void *obj,
                int first)
{
    const char *base = obj;
    int bad = 0;

    for (int k = 0; k < r->ncols; k++) {
        const struct cd_col *c = &r->cols[k];
        const void *p = base + c->off;
        int i = first + k;

        switch (c->type) {
        case CD_COL_STR:
            bad |= cd_bind_str(st, i, p, c->size);
            break;
        case CD_COL_I64:
            bad |= cd_bind_i64(st, i, *(const int64_t *)p);
            break;
        case CD_COL_INT:
            bad |= cd_bind_i64(st, i, *(const int *)p);
            break;
        case CD_COL_FLAG:
            bad |= cd_bind_i64(st, i, *(const int *)p ? 1 : 0);
            break;
        }
    }
    return bad;
}

int cd_rec_read(struct cd_stmt *st, const struct cd_rec *r, void *obj)
{
    char *base = obj;
    int bad = 0;

    memset(obj, 0, r->size);
    for (int i = 0; i < r->ncols; i++) {
        const struct cd_col *c = &r->cols[i];
        void *p = base + c->off;

        switch (c->type) {
        case CD_COL_STR:
            bad |= cd_col_str(st, i, p, c->size);
            break;
        case CD_COL_I64:
            *(int64_t *)p = cd_col_i64(st, i);
            break;
        case CD_COL_INT:
            *(int *)p = (int)cd_col_i64(st, i);
            break;
        case CD_COL_FLAG:
            *(int *)p = cd_col_i64(st, i) != 0;
            break;
        }
    }
    return bad;
}

int cd_rec_check(const struct cd_rec *r)
{
    const char *s = r->cols_sql;

    for (int i = 0; i < r->ncols; i++) {
        size_t n = strlen(r->cols[i].name);

        if (i > 0) {
            if (strncmp(s, ", ", 2) != 0)
                return -1;
            s += 2;
        }
        if (strncmp(s, r->cols[i].name, n) != 0)
            return -1;
        s += n;
    }
    return *s ? -1 : 0;
}
