/*
 * fuzz_config.c - configuration values (src/config.c): every setting's
 * setter and the checks after them, through cd_config_load as flags.
 * Input: lines "NAME=value", each passed as --NAME=value (names are also
 * fuzzed: case and dashes, unknown flags). CREDITD_CATALOG names a file:
 * its value here is the catalog's JSON text, written to a temp file whose
 * path is passed instead, so the fuzzer never opens paths of its choosing.
 * Properties: a loaded configuration's strings are NUL-terminated inside
 * their fields, its catalog and origin counts within bounds; a refused one
 * names the setting in a NUL-terminated message.
 */
#include <ctype.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define MAX_FLAGS 64

static char catalog_path[256];

static void cleanup(void)
{
    unlink(catalog_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int fd;

    (void)argc;
    (void)argv;
    snprintf(catalog_path, sizeof(catalog_path), "%s/cd_fuzz_cat_XXXXXX",
             tmp);
    fd = mkstemp(catalog_path);
    FUZZ_CHECK(fd >= 0);
    close(fd);
    atexit(cleanup);
    /* Only the fuzzed flags count: no setting from the environment (the
     * rest of it, PATH for the symbolizer, stays). */
    for (size_t i = 0; environ[i];) {
        static const char *const pre[] = {"CREDITD_", "STRIPE_", "SANDBOX_",
                                          "PRICE_", "CURRENCY="};
        char name[256];
        int drop = 0;

        for (size_t k = 0; k < sizeof(pre) / sizeof(pre[0]); k++)
            drop |= strncmp(environ[i], pre[k], strlen(pre[k])) == 0;
        if (!drop || strcspn(environ[i], "=") >= sizeof(name)) {
            i++;
            continue;
        }
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(environ[i], "="),
                 environ[i]);
        unsetenv(name); /* environ shifts down: look at i again */
    }
    return 0;
}

/* Whether the flag's name (up to '=', any case, '-' for '_') is
 * CREDITD_CATALOG. */
static int is_catalog(const char *line)
{
    static const char name[] = "CREDITD_CATALOG";
    size_t k;

    for (k = 0; name[k]; k++) {
        char x = line[k] == '-' ? '_' : (char)toupper((unsigned char)line[k]);
        if (x != name[k])
            return 0;
    }
    return line[k] == '=';
}

static void write_catalog(const char *json)
{
    FILE *f = fopen(catalog_path, "w");

    FUZZ_CHECK(f != NULL);
    fputs(json, f);
    fclose(f);
}

static void check_loaded(const struct cd_config *c)
{
    FUZZ_CHECK(memchr(c->listen, 0, sizeof(c->listen)));
    FUZZ_CHECK(memchr(c->db, 0, sizeof(c->db)));
    FUZZ_CHECK(memchr(c->web_dir, 0, sizeof(c->web_dir)));
    FUZZ_CHECK(memchr(c->stripe_api_base, 0, sizeof(c->stripe_api_base)));
    FUZZ_CHECK(memchr(c->billing.base_url, 0, sizeof(c->billing.base_url)));
    FUZZ_CHECK(c->billing.npackages <= CD_CATALOG_MAX);
    FUZZ_CHECK(c->billing.nplans <= CD_CATALOG_MAX);
    FUZZ_CHECK(c->billing.nredirect_origins >= 1 &&
               c->billing.nredirect_origins <= 16);
    FUZZ_CHECK(c->billing.redirect_origins[0][0] != '\0');
    FUZZ_CHECK(c->billing.webhook_tolerance >= 1 &&
               c->billing.webhook_tolerance <= 86400);
    FUZZ_CHECK(c->write_batch >= 1 && c->write_batch <= 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *line = s, *next;
    char *argv[MAX_FLAGS + 1];
    char *owned[MAX_FLAGS];
    int argc = 1, nowned = 0;
    static struct cd_config c;
    char msg[512];

    argv[0] = "creditd";
    for (; *line && argc < MAX_FLAGS; line = next) {
        char *flag;
        size_t n;

        next = fuzz_split(line);
        if (is_catalog(line)) {
            write_catalog(line + strlen("CREDITD_CATALOG="));
            n = strlen(catalog_path) + 32;
            flag = malloc(n);
            snprintf(flag, n, "--CREDITD_CATALOG=%s", catalog_path);
        } else {
            n = strlen(line) + 3;
            flag = malloc(n);
            snprintf(flag, n, "--%s", line);
        }
        owned[nowned++] = flag;
        argv[argc++] = flag;
    }
    argv[argc] = NULL;
    msg[0] = '\0';
    if (cd_config_load(&c, argc, argv, msg, sizeof(msg)) == 0)
        check_loaded(&c);
    else
        FUZZ_CHECK(msg[0] != '\0' && memchr(msg, 0, sizeof(msg)));
    for (int i = 0; i < nowned; i++)
        free(owned[i]);
    free(s);
    return 0;
}
