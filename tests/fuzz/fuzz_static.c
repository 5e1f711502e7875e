/*
 * fuzz_static.c - the static file route (api/static.c): the request path
 * decides which file under web_dir is read. Input: a path as the server
 * hands it (decoded). A temp web_dir holds index.html, app.js, page.html
 * and sub/x.css, and a secret file sits beside it (../secret.txt).
 * Properties: a 200 serves one of those files' bytes, never the secret; a
 * path with "..", "/.", "//", a backslash or a control byte is a 404.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "fuzz.h"

static char root[256];
static struct cd_app app;
/* The static route reads only the brand of billing's settings (its CSP's
 * logo origin): an https logo, as a deployment may set. */
static struct cd_billing billing;

static void put(const char *rel, const char *text)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    f = fopen(p, "w");
    FUZZ_CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void cleanup(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_static: could not remove %s\n", root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char p[512];

    (void)argc;
    (void)argv;
    snprintf(root, sizeof(root), "%s/cd_fuzz_static_XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(root) != NULL);
    put("secret.txt", "SECRET");
    snprintf(p, sizeof(p), "%s/web", root);
    FUZZ_CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/web/sub", root);
    FUZZ_CHECK(mkdir(p, 0700) == 0);
    put("web/index.html", "<p>index</p>");
    put("web/page.html", "<p>page</p>");
    put("web/app.js", "app();");
    put("web/sub/x.css", "p{}");
    put("web/.hidden.txt", "SECRET");
    snprintf(app.web_dir, sizeof(app.web_dir), "%s/web", root);
    snprintf(billing.cfg.brand.logo_url, sizeof(billing.cfg.brand.logo_url),
             "https://cdn.example.com/logo.svg");
    app.billing = &billing;
    atexit(cleanup);
    return 0;
}

static int bad_path(const char *p)
{
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return 1;
    return strstr(p, "..") || strstr(p, "/.") || strstr(p, "//") ||
           strchr(p, '\\');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    struct cd_req r;

    memset(&r, 0, sizeof(r));
    strcpy(r.id, "req_fuzz");
    r.method = size % 2 ? "GET" : "HEAD";
    r.path = s;
    r.app = &app;
    cd_api_static(&r);
    FUZZ_CHECK(r.status == 200 || r.status == 404);
    if (r.status == 200) {
        FUZZ_CHECK(!bad_path(s));
        FUZZ_CHECK(r.resp_len > 0 && r.resp_body != NULL);
        FUZZ_CHECK(!memmem(r.resp_body, r.resp_len, "SECRET", 6));
    }
    free(r.resp_body);
    free(s);
    return 0;
}
