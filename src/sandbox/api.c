/*
 * api.c - the sandbox's /v1 route table. Each handler lives in its
 * noun's file (customers.c, checkout.c, payments.c, cards.c, refunds.c,
 * disputes.c, subscriptions.c, events.c, account.c,
 * webhook_endpoints.c); auth and Idempotency-Key are handled by the
 * dispatch function in sandbox.c, which also holds s->mu around each
 * handler, and unknown parameters are refused before one runs
 * (params.c).
 */
#include "sandbox/internal.h"

#include "util/util.h"

#define AUTH CD_SANDBOX_F_AUTH
#define IDEM (CD_SANDBOX_F_AUTH | CD_SANDBOX_F_IDEM)

const struct cd_route cd_sandbox_api_routes[] = {
    {"POST", "/v1/customers", cd_sandbox_h_customer_create, IDEM, 0},
    {"GET", "/v1/customers", cd_sandbox_h_customer_list, AUTH, 0},
    {"GET", "/v1/customers/{}", cd_sandbox_h_customer_get, AUTH, 0},
    {"POST", "/v1/customers/{}", cd_sandbox_h_customer_update, IDEM, 0},
    {"GET", "/v1/customers/{}/payment_methods", cd_sandbox_h_customer_pm_list,
     AUTH, 0},
    {"POST", "/v1/checkout/sessions", cd_sandbox_h_session_create, IDEM, 0},
    {"GET", "/v1/checkout/sessions", cd_sandbox_h_session_list, AUTH, 0},
    {"GET", "/v1/checkout/sessions/{}", cd_sandbox_h_session_get, AUTH, 0},
    {"GET", "/v1/checkout/sessions/{}/line_items",
     cd_sandbox_h_session_line_items, AUTH, 0},
    {"POST", "/v1/checkout/sessions/{}/expire", cd_sandbox_h_session_expire,
     IDEM, 0},
    {"POST", "/v1/payment_intents", cd_sandbox_h_intent_create, IDEM, 0},
    {"POST", "/v1/payment_intents/{}/confirm", cd_sandbox_h_intent_confirm,
     IDEM, 0},
    {"GET", "/v1/payment_intents", cd_sandbox_h_intent_list, AUTH, 0},
    {"GET", "/v1/payment_intents/{}", cd_sandbox_h_intent_get, AUTH, 0},
    {"GET", "/v1/charges", cd_sandbox_h_charge_list, AUTH, 0},
    {"GET", "/v1/charges/{}", cd_sandbox_h_charge_get, AUTH, 0},
    {"GET", "/v1/payment_methods", cd_sandbox_h_pm_list, AUTH, 0},
    {"GET", "/v1/payment_methods/{}", cd_sandbox_h_pm_get, AUTH, 0},
    {"POST", "/v1/refunds", cd_sandbox_h_refund_create, IDEM, 0},
    {"GET", "/v1/refunds/{}", cd_sandbox_h_refund_get, AUTH, 0},
    {"GET", "/v1/disputes", cd_sandbox_h_dispute_list, AUTH, 0},
    {"GET", "/v1/disputes/{}", cd_sandbox_h_dispute_get, AUTH, 0},
    {"GET", "/v1/subscriptions", cd_sandbox_h_sub_list, AUTH, 0},
    {"GET", "/v1/subscriptions/{}", cd_sandbox_h_sub_get, AUTH, 0},
    {"POST", "/v1/subscriptions/{}", cd_sandbox_h_sub_update, IDEM, 0},
    {"DELETE", "/v1/subscriptions/{}", cd_sandbox_h_sub_cancel, AUTH, 0},
    {"GET", "/v1/invoices", cd_sandbox_h_invoice_list, AUTH, 0},
    {"GET", "/v1/invoices/{}", cd_sandbox_h_invoice_get, AUTH, 0},
    {"GET", "/v1/invoice_payments", cd_sandbox_h_invoice_payment_list, AUTH,
     0},
    {"GET", "/v1/invoice_payments/{}", cd_sandbox_h_invoice_payment_get, AUTH,
     0},
    {"GET", "/v1/events", cd_sandbox_h_event_list, AUTH, 0},
    {"GET", "/v1/account", cd_sandbox_h_account_get, AUTH, 0},
    {"GET", "/v1/webhook_endpoints", cd_sandbox_h_webhook_endpoints_list,
     AUTH, 0},
    {"GET", "/v1/events/{}", cd_sandbox_h_event_get, AUTH, 0},
};
const size_t cd_sandbox_api_nroutes = CD_ARRAY_LEN(cd_sandbox_api_routes);
