/*
 * faults.c - the sandbox's injected Stripe failures, for tests of what a
 * client does when Stripe fails: a 500 before the request runs (nothing
 * happened, and Stripe saves nothing under its Idempotency-Key), or after
 * it ran (the charge or refund happened, the answer is lost: Stripe saves
 * the 500 and replays it for the same key). See internal.h. Every
 * function runs with s->mu held (the sandbox's dispatch holds it).
 */
#include <string.h>

#include "sandbox/internal.h"
#include "util/util.h"

static void reply_500(struct cd_req *r)
{
    cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                            "An unknown error occurred (injected by the "
                            "sandbox's fail_next switch).");
}

int cd_sandbox_fault_before(struct cd_sandbox *s, struct cd_req *r,
                            int *after)
{
    *after = 0;
    if (s->fail_count <= 0 || strcmp(r->method, s->fail_method) != 0 ||
        strncmp(r->path, s->fail_path, strlen(s->fail_path)) != 0)
        return 0;
    s->fail_count--;
    if (s->fail_after && strcmp(r->method, "POST") == 0) {
        *after = 1;
        return 0;
    }
    reply_500(r);
    return 1;
}

void cd_sandbox_fault_after(struct cd_req *r)
{
    reply_500(r);
}

int cd_sandbox_fault_configure(struct cd_sandbox *s, struct cd_req *r,
                               const json_t *v)
{
    const json_t *path = json_object_get(v, "path");
    const json_t *count = json_object_get(v, "count");
    const json_t *after = json_object_get(v, "after");
    const json_t *method = json_object_get(v, "method");
    const char *m = method ? json_string_value(method) : "POST";

    if (!json_is_object(v) || !json_is_string(path) ||
        strncmp(json_string_value(path), "/v1/", 4) != 0 ||
        json_string_length(path) >= sizeof(s->fail_path) ||
        !json_is_integer(count) || json_integer_value(count) < 0 ||
        json_integer_value(count) > 100 ||
        (after && !json_is_boolean(after)) || !m ||
        (strcmp(m, "POST") != 0 && strcmp(m, "GET") != 0)) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error", NULL,
                                "fail_next",
                                "fail_next is {\"path\": \"/v1/...\", "
                                "\"count\": 0..100, \"after\": bool, "
                                "\"method\": \"POST\"|\"GET\"}");
        return -1;
    }
    memcpy(s->fail_path, json_string_value(path),
           json_string_length(path) + 1);
    s->fail_count = (int)json_integer_value(count);
    s->fail_after = json_is_true(after);
    cd_strlcpy(s->fail_method, m, sizeof(s->fail_method));
    return 0;
}

json_t *cd_sandbox_fault_json(struct cd_sandbox *s)
{
    return json_pack("{s:s, s:s, s:i, s:b}", "method", s->fail_method, "path",
                     s->fail_path, "count", s->fail_count, "after",
                     s->fail_after);
}
