/*
 * http.c - the CLI's requests to the server (libcurl): the bearer key,
 * JSON bodies, error replies turned into messages and exit codes, and
 * streamed CSV exports.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "util/util.h"

#define CLI_MAX_REPLY (16u << 20) /* a JSON reply; exports stream */
#define CLI_TIMEOUT_S 120L

static size_t to_buf(char *data, size_t size, size_t n, void *arg)
{
    struct cd_buf *b = arg;

    return cd_buf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* A handle with the URL, the key and the common limits set. */
static CURL *open_handle(const struct cli *c, const char *path,
                         struct curl_slist **hdrs, const char *account,
                         const char *idem)
{
    char url[2048], line[700];
    CURL *h;

    if (snprintf(url, sizeof(url), "%s%s", c->url, path) >= (int)sizeof(url))
        return NULL;
    h = curl_easy_init();
    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, CLI_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    snprintf(line, sizeof(line), "Authorization: Bearer %s", c->key);
    *hdrs = curl_slist_append(*hdrs, line);
    *hdrs = curl_slist_append(*hdrs, "User-Agent: creditd-admin");
    if (account) {
        snprintf(line, sizeof(line), "Creditd-Account: %s", account);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    if (idem) {
        snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    explicit_bzero(line, sizeof(line));
    return h;
}

static int unreachable(const struct cli *c, CURLcode rc)
{
    fprintf(stderr,
            "creditd admin: cannot reach the server at %s: %s "
            "(is it running? set --url or CREDITD_URL)\n",
            c->url, curl_easy_strerror(rc));
    return CLI_SERVER;
}

/* Prints an error reply ("404 account_not_found: no such account") and
 * returns its exit code. */
static int api_error(long status, const json_t *j, const char *text)
{
    const json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *param = json_string_value(json_object_get(e, "param"));
    const char *rid = json_string_value(json_object_get(e, "request_id"));

    if (code)
        fprintf(stderr, "creditd admin: %ld %s: %s%s%s%s%s%s\n", status, code,
                msg ? msg : "", param ? " (param " : "", param ? param : "",
                param ? ")" : "", rid ? " request " : "", rid ? rid : "");
    else
        fprintf(stderr, "creditd admin: the server answered %ld: %.200s\n",
                status, text ? text : "");
    return status >= 400 && status < 500 ? CLI_API : CLI_SERVER;
}

static void print_body(const struct cd_buf *b)
{
    if (b->len == 0)
        return;
    fwrite(b->data, 1, b->len, stdout);
    if (b->data[b->len - 1] != '\n')
        fputc('\n', stdout);
}

int cd_cli_call(struct cli *c, const char *method, const char *path,
                json_t *body, const char *account, const char *idem,
                struct cli_reply *r)
{
    struct curl_slist *hdrs = NULL;
    char *text = NULL;
    CURLcode cc;
    CURL *h;

    memset(r, 0, sizeof(*r));
    cd_buf_init(&r->body, CLI_MAX_REPLY);
    h = open_handle(c, path, &hdrs, account, idem);
    if (!h) {
        curl_slist_free_all(hdrs);
        fprintf(stderr, "creditd admin: the request URL is too long\n");
        return CLI_USAGE;
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body || strcmp(method, "GET") != 0) {
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs); /* the key's line is freed, not wiped */
    free(text);
    if (cc != CURLE_OK) {
        cd_cli_reply_free(r);
        return unreachable(c, cc);
    }
    r->json = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0,
                         NULL);
    if (c->json)
        print_body(&r->body);
    if (r->status < 200 || r->status > 299) {
        int rc = api_error(r->status, r->json, r->body.data);

        cd_cli_reply_free(r);
        return rc;
    }
    if (!r->json && r->body.len > 0) {
        cd_cli_reply_free(r);
        fprintf(stderr, "creditd admin: the server's reply is not JSON\n");
        return CLI_SERVER;
    }
    return CLI_OK;
}

void cd_cli_reply_free(struct cli_reply *r)
{
    json_decref(r->json);
    r->json = NULL;
    cd_buf_free(&r->body);
}

struct stream {
    CURL *h;
    FILE *out;
    struct cd_buf err; /* a non-2xx body */
    int failed;        /* a write to out failed */
};

/* 2xx bodies go to the output as they come, others to err. */
static size_t to_stream(char *data, size_t size, size_t n, void *arg)
{
    struct stream *s = arg;
    long status = 0;

    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return cd_buf_append(&s->err, data, size * n) == 0 ? size * n : 0;
    if (fwrite(data, 1, size * n, s->out) != size * n) {
        s->failed = 1;
        return 0;
    }
    return size * n;
}

/* Runs the stream into s->out; returns the exit code. */
static int stream_run(struct cli *c, const char *path, struct stream *s)
{
    struct curl_slist *hdrs = NULL;
    long status = 0;
    CURLcode cc;
    int rc = CLI_OK;

    s->h = open_handle(c, path, &hdrs, NULL, NULL);
    if (!s->h) {
        curl_slist_free_all(hdrs);
        fprintf(stderr, "creditd admin: the request URL is too long\n");
        return CLI_USAGE;
    }
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, to_stream);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 0L); /* big exports take time */
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_TIME, 60L);
    cc = curl_easy_perform(s->h);
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (s->failed) {
        fprintf(stderr, "creditd admin: writing the export failed: %s\n",
                strerror(errno));
        rc = CLI_USAGE;
    } else if (cc != CURLE_OK && status >= 200 && status <= 299) {
        fprintf(stderr,
                "creditd admin: the export was cut off (%s); the "
                "output is incomplete\n",
                curl_easy_strerror(cc));
        rc = CLI_SERVER;
    } else if (cc != CURLE_OK) {
        rc = unreachable(c, cc);
    } else if (status < 200 || status > 299) {
        json_t *j = json_loadb(s->err.data ? s->err.data : "", s->err.len, 0,
                               NULL);

        rc = api_error(status, j, s->err.data);
        json_decref(j);
    }
    curl_easy_cleanup(s->h);
    curl_slist_free_all(hdrs);
    return rc;
}

int cd_cli_stream(struct cli *c, const char *path)
{
    struct stream s;
    char part[1100];
    int rc;

    memset(&s, 0, sizeof(s));
    cd_buf_init(&s.err, 64 * 1024);
    s.out = stdout;
    if (c->output) {
        if (snprintf(part, sizeof(part), "%s.part", c->output) >=
            (int)sizeof(part))
            return cd_cli_usage_error(c,
                                      "--output: the file name is too long");
        s.out = fopen(part, "w");
        if (!s.out) {
            fprintf(stderr, "creditd admin: --output %s: %s\n", part,
                    strerror(errno));
            cd_buf_free(&s.err);
            return CLI_USAGE;
        }
    }
    rc = stream_run(c, path, &s);
    cd_buf_free(&s.err);
    if (fflush(s.out) != 0 && rc == CLI_OK) {
        fprintf(stderr, "creditd admin: writing the export failed: %s\n",
                strerror(errno));
        rc = CLI_USAGE;
    }
    if (!c->output)
        return rc;
    if (fclose(s.out) != 0 && rc == CLI_OK)
        rc = CLI_USAGE;
    if (rc == CLI_OK && rename(part, c->output) != 0) {
        fprintf(stderr, "creditd admin: --output %s: %s\n", c->output,
                strerror(errno));
        rc = CLI_USAGE;
    }
    if (rc != CLI_OK)
        unlink(part);
    else
        fprintf(stderr, "export written to %s\n", c->output);
    return rc;
}

int cd_cli_escape(const char *s, char *out, size_t outsz)
{
    char *e = curl_easy_escape(NULL, s, 0);
    int rc;

    if (!e)
        return -1;
    rc = cd_strlcpy(out, e, outsz);
    curl_free(e);
    return rc;
}

int cd_cli_query(char *path, size_t pathsz, const char *name,
                 const char *value)
{
    char enc[1024];
    size_t n = strlen(path);

    if (!value)
        return 0;
    if (cd_cli_escape(value, enc, sizeof(enc)) != 0)
        return -1;
    if (snprintf(path + n, pathsz - n, "%c%s=%s",
                 strchr(path, '?') ? '&' : '?', name,
                 enc) >= (int)(pathsz - n)) {
        path[n] = '\0'; /* as it was */
        return -1;
    }
    return 0;
}

int cd_cli_filters_path(struct cli *c, char *path, size_t pathsz,
                        const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (cd_cli_query(path, pathsz, names[i], cd_cli_opt(c, names[i])) !=
            0)
            return cd_cli_usage_error(c, "--%s is too long", names[i]);
    return CLI_OK;
}
