/*
 * fake_stripe.h - what the billing tests that answer as Stripe over HTTP
 * share (test_billing_reconcile, test_billing_topup_lookup): a
 * libmicrohttpd daemon on a free loopback port with the test's handler
 * (fs_start), a JSON reply (fs_reply), and a Stripe client pointed at it
 * that never retries by itself (fs_client). Stripe is not our code: the
 * fake answers with Stripe's wire shapes (/work/shared/stripe/), the
 * client and the billing code under test are the real ones.
 */
#ifndef CD_TEST_FAKE_STRIPE_H
#define CD_TEST_FAKE_STRIPE_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "stripe/client.h"

/* body (its reference taken) as the compact JSON reply with status. */
static inline enum MHD_Result fs_reply(struct MHD_Connection *c,
                                       unsigned status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    struct MHD_Response *r;
    enum MHD_Result ret;

    json_decref(body);
    r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The daemon with handler h (done, if not NULL, called when a request
 * ends) on 127.0.0.1 and a free port; its base URL in url. */
static inline struct MHD_Daemon *fs_start(MHD_AccessHandlerCallback h,
                                          MHD_RequestCompletedCallback done,
                                          char *url, size_t urlsz)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, h, NULL, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (!d)
        return NULL;
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, urlsz, "http://127.0.0.1:%u", (unsigned)info->port);
    return d;
}

/* A client of the fake at url with secret key; no retries of its own. */
static inline struct cd_stripe_client *fs_client(const char *url,
                                                 const char *key)
{
    struct cd_stripe_config stc;

    memset(&stc, 0, sizeof(stc));
    stc.api_base = url;
    stc.secret_key = key;
    stc.connect_timeout_ms = 1000;
    stc.timeout_ms = 5000;
    stc.max_retries = -1;
    return cd_stripe_client_new(&stc);
}

#endif
