/*
 * static.c - serves the web UI from app->web_dir for requests no route
 * matches: GET and HEAD only, "/" is index.html, "/name" without an
 * extension is name.html when it exists, anything else by exact file name.
 * Paths with "..", a hidden segment ("/."), a backslash, a control
 * character or over 256 bytes are refused; files
 * are read whole up to CD_STATIC_MAX. Every answer carries a strict
 * Content-Security-Policy; HTML is not cached, other files for 5 minutes
 * (a 404 is Cache-Control: no-store, like every error of http/).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "util/util.h"

#define CD_STATIC_MAX (2 * 1024 * 1024)
#define CD_STATIC_PATH_MAX 256

#define CSP_HEAD "default-src 'self'; script-src 'self'; style-src 'self'; "
#define CSP_IMG "img-src 'self' data:"
#define CSP_TAIL                                                             \
    "; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "        \
    "form-action 'self'"

/* The CSP, whose img-src also allows the origin of an https brand logo
 * (CREDITD_BRAND_LOGO_URL; config_brand.c allows only host characters in
 * it). */
static void csp(const struct cd_brand *br, char *out, size_t outsz)
{
    const char *u = br->logo_url;
    size_t n;

    if (strncmp(u, "https://", 8) != 0) {
        snprintf(out, outsz, "%s%s%s", CSP_HEAD, CSP_IMG, CSP_TAIL);
        return;
    }
    n = 8 + strcspn(u + 8, "/?#");
    snprintf(out, outsz, "%s%s %.*s%s", CSP_HEAD, CSP_IMG, (int)n, u,
             CSP_TAIL);
}

#define TYPE_HTML "text/html; charset=utf-8"

static const struct {
    const char *ext;
    const char *type;
} TYPES[] = {
    {".html", TYPE_HTML},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".png", "image/png"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');

    if (!dot || (slash && dot < slash))
        return NULL;
    for (size_t i = 0; i < CD_ARRAY_LEN(TYPES); i++)
        if (strcmp(dot, TYPES[i].ext) == 0)
            return TYPES[i].type;
    return NULL;
}

static void not_found(struct cd_req *req)
{
    cd_reply_errorf(req, CD_EK_NOT_FOUND, "not_found", NULL,
                    "no such resource");
}

/* Reads a regular file of at most CD_STATIC_MAX bytes. 0, -1 absent (or
 * not a regular file), -2 too large or unreadable. */
static int read_file(const char *path, char **out, size_t *len)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    if (st.st_size > CD_STATIC_MAX) {
        close(fd);
        return -2;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return -2;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}

static int safe_path(const char *p)
{
    size_t n = strlen(p);

    if (n == 0 || n > CD_STATIC_PATH_MAX || p[0] != '/')
        return 0;
    /* No parent directories, no hidden files, no backslashes. */
    if (strstr(p, "..") || strstr(p, "/.") || strchr(p, '\\') ||
        strstr(p, "//"))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    return 1;
}

void cd_api_static(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    char file[1400], policy[1024];
    const char *path = req->path;
    const char *type;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "not_found", NULL,
                        "no such resource");
        return;
    }
    /* The path as the server hands it is already decoded, and http/
     * refused any with a control byte (a decoded NUL included) before. */
    if (!app || !app->web_dir[0] || !path || !safe_path(path) ||
        strncmp(path, "/v1/", 4) == 0) {
        not_found(req);
        return;
    }
    if (strcmp(path, "/") == 0)
        path = "/index.html";

    type = content_type(path);
    if (!type) {
        const char *base = strrchr(path, '/');
        if (strchr(base, '.')) { /* an extension we do not serve */
            not_found(req);
            return;
        }
        /* "/name" -> name.html */
        if (snprintf(file, sizeof(file), "%s%s.html", app->web_dir, path) >=
            (int)sizeof(file)) {
            not_found(req);
            return;
        }
        type = TYPE_HTML;
    } else if (snprintf(file, sizeof(file), "%s%s", app->web_dir, path) >=
               (int)sizeof(file)) {
        not_found(req);
        return;
    }

    rc = read_file(file, &data, &len);
    if (rc == -1) {
        not_found(req);
        return;
    }
    if (rc != 0) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "cannot serve this file");
        return;
    }
    /* For HEAD the body stays: libmicrohttpd sends its length, not it. */
    cd_reply(req, 200, type, data, len);
    free(data);
    cd_reply_header(req, "Cache-Control",
                    strncmp(type, "text/html", 9) == 0
                        ? "no-cache"
                        : "public, max-age=300");
    csp(&app->billing->cfg.brand, policy, sizeof(policy));
    cd_reply_header(req, "Content-Security-Policy", policy);
    cd_reply_header(req, "Referrer-Policy", "no-referrer");
}
