/*
 * core.h - the handlers of the core route table (core.c): health and
 * config, auth, account and credits, discounts, admin. Internal to api/.
 */
#ifndef CD_API_CORE_H
#define CD_API_CORE_H

#include <jansson.h>

#include "api/api.h"

/* health.c */
void cd_api_healthz(struct cd_req *req);
void cd_api_readyz(struct cd_req *req);
void cd_api_config(struct cd_req *req);

/* auth.c */
void cd_api_signup(struct cd_req *req);
void cd_api_login(struct cd_req *req);
void cd_api_logout(struct cd_req *req);
void cd_api_password_reset(struct cd_req *req);
void cd_api_password_reset_confirm(struct cd_req *req);
void cd_api_email_verification(struct cd_req *req);
void cd_api_email_verification_confirm(struct cd_req *req);

/* accounts.c */
void cd_api_accounts_create(struct cd_req *req);
void cd_api_accounts_find(struct cd_req *req);

/* credits.c */
void cd_api_account_get(struct cd_req *req);
void cd_api_balance(struct cd_req *req);
void cd_api_transactions(struct cd_req *req);
void cd_api_debit(struct cd_req *req);
void cd_api_grant(struct cd_req *req);
void cd_api_discount_validate(struct cd_req *req);

/* admin.c */
void cd_api_admin_pricing_get(struct cd_req *req);
void cd_api_admin_pricing_put(struct cd_req *req);
void cd_api_admin_discount_create(struct cd_req *req);
void cd_api_admin_discount_list(struct cd_req *req);
void cd_api_admin_discount_deactivate(struct cd_req *req);
void cd_api_admin_accounts(struct cd_req *req);
void cd_api_admin_account(struct cd_req *req);
void cd_api_admin_ledger_verify(struct cd_req *req);

/* Shapes shared by handlers (new references). */
json_t *cd_api_txn_json(const struct cd_ledger_entry *e);
json_t *cd_api_discount_json(const struct cd_discount *d);
json_t *cd_api_pricing_json(const struct cd_pricing *p);

#endif
