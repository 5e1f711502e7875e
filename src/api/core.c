/*
 * core.c - the core route table: health, config, auth, account, credits,
 * discounts and admin (its lists and CSV exports included). Checkout
 * (checkout.c), orders and payments (orders.c), the subscription
 * (subscription.c) and the Stripe webhook (webhook.c) have their own
 * tables; routes.c joins them all.
 */
#include "api/core.h"
#include "util/util.h"

#define R(m, p, h, f)                                                        \
    {                                                                        \
        m, p, h, f, 0                                                        \
    }

const struct cd_route cd_api_routes_core[] = {
    R("GET", "/healthz", cd_api_healthz, CD_ROUTE_PUBLIC),
    R("GET", "/readyz", cd_api_readyz, CD_ROUTE_PUBLIC),
    R("GET", "/v1/config", cd_api_config, CD_ROUTE_PUBLIC),

    /* Signup and login are not replayed: their reply holds a bearer token,
     * and tokens are stored only as hashes. A retried signup gets 409
     * email_taken and the client logs in. */
    R("POST", "/v1/auth/signup", cd_api_signup, CD_ROUTE_PUBLIC),
    R("POST", "/v1/auth/login", cd_api_login, CD_ROUTE_PUBLIC),
    R("POST", "/v1/auth/logout", cd_api_logout, CD_ROUTE_TOKEN),
    R("POST", "/v1/auth/portal", cd_api_portal_redeem, CD_ROUTE_PUBLIC),
    R("POST", "/v1/portal_sessions", cd_api_portal_create,
      CD_ROUTE_SERVER_ACCOUNT),
    /* Password reset: always 202 (no account enumeration); the link's
     * token is mailed, never replied, so neither is replayed. */
    R("POST", "/v1/password_reset", cd_api_password_reset, CD_ROUTE_PUBLIC),
    R("POST", "/v1/password_reset/confirm", cd_api_password_reset_confirm,
      CD_ROUTE_PUBLIC),
    /* Email verification: a new link for the account; the link's token. */
    R("POST", "/v1/email_verification", cd_api_email_verification,
      CD_ROUTE_ACCOUNT),
    R("POST", "/v1/email_verification/confirm",
      cd_api_email_verification_confirm, CD_ROUTE_PUBLIC),

    /* Accounts owned by the application (server key). A retried create
     * with the same Idempotency-Key replays its 201; without one, a taken
     * external_id is 409 external_id_taken naming the account. */
    R("POST", "/v1/accounts", cd_api_accounts_create,
      CD_ROUTE_ADMIN | CD_ROUTE_IDEMPOTENT),
    R("GET", "/v1/accounts", cd_api_accounts_find, CD_ROUTE_ADMIN),

    R("GET", "/v1/account", cd_api_account_get, CD_ROUTE_ACCOUNT),
    R("GET", "/v1/balance", cd_api_balance, CD_ROUTE_ACCOUNT),
    R("GET", "/v1/transactions", cd_api_transactions, CD_ROUTE_ACCOUNT),
    R("POST", "/v1/debits", cd_api_debit,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB |
          CD_ROUTE_DEFERS),
    R("POST", "/v1/grants", cd_api_grant,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB |
          CD_ROUTE_DEFERS),
    R("POST", "/v1/discounts/validate", cd_api_discount_validate,
      CD_ROUTE_ACCOUNT),

    R("GET", "/v1/admin/pricing", cd_api_admin_pricing_get, CD_ROUTE_ADMIN),
    R("PUT", "/v1/admin/pricing", cd_api_admin_pricing_put, CD_ROUTE_ADMIN),
    R("POST", "/v1/admin/discount_codes", cd_api_admin_discount_create,
      CD_ROUTE_ADMIN | CD_ROUTE_IDEMPOTENT),
    R("GET", "/v1/admin/discount_codes", cd_api_admin_discount_list,
      CD_ROUTE_ADMIN),
    R("POST", "/v1/admin/discount_codes/{}/deactivate",
      cd_api_admin_discount_deactivate, CD_ROUTE_ADMIN | CD_ROUTE_IDEMPOTENT),
    R("GET", "/v1/admin/accounts", cd_api_admin_accounts, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/accounts/{}", cd_api_admin_account, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/ledger/verify", cd_api_admin_ledger_verify,
      CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/orders", cd_api_admin_orders, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/ledger", cd_api_admin_ledger, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/payments", cd_api_admin_payments, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/subscriptions", cd_api_admin_subscriptions,
      CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/summary", cd_api_admin_summary, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/export/orders.csv", cd_api_admin_export_orders,
      CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/export/ledger.csv", cd_api_admin_export_ledger,
      CD_ROUTE_ADMIN),
};

const size_t cd_api_routes_core_count = CD_ARRAY_LEN(cd_api_routes_core);
