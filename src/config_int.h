/*
 * config_int.h - internal to config.c and its setter files
 * (config_catalog.c, config_secrets.c, config_brand.c, config_sandbox.c):
 * the helpers they share (config_value.c: why_set, copy, url, int_in) and
 * the setters the settings table names; and the table's names for
 * config_names.c. Calls go config.c -> setters -> config_value.c, and
 * config_names.c -> config.c, never back.
 */
#ifndef CD_CONFIG_INT_H
#define CD_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The name of the settings table's i-th row (config.c); NULL past the
 * last. */
const char *cd_cfg_setting_name(size_t i);
int cd_cfg_why_set(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cd_cfg_copy(char *dst, size_t dstsz, const char *v, char *why,
                size_t whysz);
int cd_cfg_url(char *dst, size_t dstsz, const char *v, char *why,
               size_t whysz);
int cd_cfg_set_stripe_key(struct cd_config *c, const char *v, char *why,
                          size_t whysz);
int cd_cfg_set_publishable(struct cd_config *c, const char *v, char *why,
                           size_t whysz);
int cd_cfg_set_webhook_secret(struct cd_config *c, const char *v, char *why,
                              size_t whysz);
int cd_cfg_set_webhook_secret_file(struct cd_config *c, const char *v,
                                   char *why, size_t whysz);
int cd_cfg_int_in(const char *v, int64_t lo, int64_t hi, int64_t *out,
                  char *why, size_t whysz);
int cd_cfg_set_smtp_password_file(struct cd_config *c, const char *v,
                                  char *why, size_t whysz);
int cd_cfg_set_brand_name(struct cd_config *c, const char *v, char *why,
                          size_t whysz);
int cd_cfg_set_brand_logo(struct cd_config *c, const char *v, char *why,
                          size_t whysz);
int cd_cfg_set_support_email(struct cd_config *c, const char *v, char *why,
                             size_t whysz);
int cd_cfg_set_brand_color(struct cd_config *c, const char *v, char *why,
                           size_t whysz);
int cd_cfg_set_web_dir(struct cd_config *c, const char *v, char *why,
                       size_t whysz);
int cd_cfg_set_catalog(struct cd_config *c, const char *v, char *why,
                       size_t whysz);
int cd_cfg_set_sb_listen(struct cd_config *c, const char *v, char *why,
                         size_t whysz);
int cd_cfg_set_sb_webhook_url(struct cd_config *c, const char *v, char *why,
                              size_t whysz);
int cd_cfg_set_sb_secret(struct cd_config *c, const char *v, char *why,
                         size_t whysz);
int cd_cfg_set_sb_public(struct cd_config *c, const char *v, char *why,
                         size_t whysz);
int cd_cfg_set_sb_delay(struct cd_config *c, const char *v, char *why,
                        size_t whysz);
int cd_cfg_set_sb_allow_public(struct cd_config *c, const char *v, char *why,
                               size_t whysz);
int cd_cfg_set_sb_account(struct cd_config *c, const char *v, char *why,
                          size_t whysz);
void cd_cfg_default_catalog(struct cd_billing_config *b);
int cd_cfg_check_live_key(const struct cd_config *c, char *msg, size_t msgsz);
int cd_cfg_load_secret_file(struct cd_config *c, char *msg, size_t msgsz);
int cd_cfg_load_smtp_password(struct cd_config *c, char *msg, size_t msgsz);

#endif
