/*
 * demo.c - creditd demo (a data folder, generated keys, the Stripe sandbox
 * and the server pointed at each other) and creditd sandbox (the sandbox
 * alone).
 */
#include "main_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "sandbox/sandbox.h"
#include "util/log.h"
#include "util/util.h"

static struct cd_sandbox *sandbox_start(const struct cd_config *c)
{
    struct cd_sandbox_config sc;
    struct cd_error err;
    struct cd_sandbox *sb;

    memset(&sc, 0, sizeof(sc));
    memset(&err, 0, sizeof(err));
    sc.listen = c->sandbox_listen;
    sc.webhook_url = c->sandbox_webhook_url[0] ? c->sandbox_webhook_url
                                               : NULL;
    sc.webhook_secret = c->sandbox_webhook_secret;
    sc.public_url = c->sandbox_public_url[0] ? c->sandbox_public_url : NULL;
    sc.delivery_delay_ms = c->sandbox_delay_ms;
    sc.account_name = c->sandbox_account_name;
    sc.allow_non_loopback = c->sandbox_allow_non_loopback;
    sb = cd_sandbox_start(&sc, &err);
    if (!sb)
        fprintf(stderr, "creditd: SANDBOX_LISTEN %s: %s\n", c->sandbox_listen,
                err.message);
    return sb;
}

int cd_cmd_sandbox(const struct cd_config *c)
{
    struct cd_sandbox *sb;
    sigset_t set;

    cd_signals_block(&set);
    sb = sandbox_start(c);
    if (!sb)
        return 1;
    cd_info("main", "Stripe sandbox listening on %s (webhooks to %s)",
            c->sandbox_listen,
            c->sandbox_webhook_url[0] ? c->sandbox_webhook_url : "nowhere");
    cd_signals_wait(&set, NULL, NULL);
    cd_sandbox_stop(sb);
    return 0;
}

/*
 * demo: a data folder (CREDITD_DEMO_DIR or a new temp one), generated keys,
 * the sandbox on SANDBOX_LISTEN delivering to the server's webhook, and the
 * server on CREDITD_LISTEN using the sandbox as its Stripe.
 */
/* The demo's data folder into dir: CREDITD_DEMO_DIR or a new temp one. */
static int demo_dir(char *dir, size_t dirsz)
{
    const char *d = getenv("CREDITD_DEMO_DIR");

    if (d && *d) {
        if (mkdir(d, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "creditd: CREDITD_DEMO_DIR %s: %s\n", d,
                    strerror(errno));
            return -1;
        }
        cd_strlcpy(dir, d, dirsz);
    } else {
        cd_strlcpy(dir, "/tmp/creditd-demo-XXXXXX", dirsz);
        if (!mkdtemp(dir)) {
            fprintf(stderr, "creditd: cannot create a temp folder: %s\n",
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The demo's database in dir, generated keys, and the sandbox and the
 * server pointed at each other. */
static void demo_settings(struct cd_config *c, const char *dir)
{
    char key[40], rnd[16], hex[33];

    if (strcmp(c->db, "./creditd.db") == 0)
        snprintf(c->db, sizeof(c->db), "%s/creditd.db", dir);
    if (!c->admin_key[0]) {
        cd_random_bytes(rnd, sizeof(rnd));
        cd_hex(rnd, sizeof(rnd), hex);
        snprintf(c->admin_key, sizeof(c->admin_key), "demo_admin_%s", hex);
    }
    cd_random_bytes(rnd, sizeof(rnd));
    cd_hex(rnd, sizeof(rnd), hex);
    snprintf(c->sandbox_webhook_secret, sizeof(c->sandbox_webhook_secret),
             "whsec_demo_%s", hex);
    cd_strlcpy(c->billing.webhook_secrets, c->sandbox_webhook_secret,
               sizeof(c->billing.webhook_secrets));
    cd_random_bytes(rnd, 8);
    cd_hex(rnd, 8, key);
    snprintf(c->stripe_secret_key, sizeof(c->stripe_secret_key),
             "sk_test_demo%s", key);
    snprintf(c->billing.publishable_key, sizeof(c->billing.publishable_key),
             "pk_test_demo%s", key);
    snprintf(c->stripe_api_base, sizeof(c->stripe_api_base), "http://%s",
             c->sandbox_listen);
    snprintf(c->sandbox_webhook_url, sizeof(c->sandbox_webhook_url),
             "http://%s/v1/webhooks/stripe", c->listen);
    if (!c->sandbox_public_url[0])
        snprintf(c->sandbox_public_url, sizeof(c->sandbox_public_url),
                 "http://%s", c->sandbox_listen);
    /* The checkout page names the business, as Stripe names the account. */
    if (!c->sandbox_account_name[0])
        cd_strlcpy(c->sandbox_account_name, c->billing.brand.name,
                   sizeof(c->sandbox_account_name));
}

/*
 * demo: a data folder (CREDITD_DEMO_DIR or a new temp one), generated keys,
 * the sandbox on SANDBOX_LISTEN delivering to the server's webhook, and the
 * server on CREDITD_LISTEN using the sandbox as its Stripe.
 */
int cd_cmd_demo(struct cd_config *c)
{
    struct cd_server s;
    struct cd_sandbox *sb;
    sigset_t set;
    char dir[512];
    int rc = 1;

    memset(&s, 0, sizeof(s));
    if (demo_dir(dir, sizeof(dir)) != 0)
        return 1;
    demo_settings(c, dir);

    cd_signals_block(&set);
    sb = sandbox_start(c);
    if (!sb)
        return 1;
    if (cd_server_start(&s, c) == 0) {
        printf(
            "\n"
            "creditd demo is running - no Stripe account, no network.\n"
            "\n"
            "  Open:         %s/\n"
            "  Data folder:  %s\n"
            "  Server key:   %s   (for /v1/admin/*, debits, grants)\n"
            "  Sandbox:      http://%s  (Stripe emulator)\n"
            "\n"
            "Sign up, buy credits, and pay on the sandbox's checkout page\n"
            "with card 4242 4242 4242 4242 (any future expiry, any CVC).\n"
            "4000 0000 0000 0002 is declined. README.md shows the same\n"
            "flow with curl. Ctrl-C stops everything.\n\n",
            c->billing.base_url, dir, c->admin_key, c->sandbox_listen);
        fflush(stdout);
        cd_signals_wait(&set, NULL, NULL);
        rc = 0;
    }
    cd_server_stop(&s);
    cd_sandbox_stop(sb);
    return rc;
}
