/*
 * error.h - the one error value that travels from billing up to the HTTP
 * reply. Layers below http never know a status code: they say what kind
 * of failure it was, and api/ maps the kind to the status and the
 * "type" of API.md's error shape (see cd_error_kind_status()).
 */
#ifndef CD_UTIL_ERROR_H
#define CD_UTIL_ERROR_H

/* X(name, http status, API.md error type) - append only. */
#define CD_ERROR_KINDS(X)                                                    \
    X(NONE, 200, "none")                                                     \
    X(INVALID, 400, "invalid_request_error")                                 \
    X(AUTH, 401, "authentication_error")                                     \
    X(PAYMENT, 402, "payment_required")                                      \
    X(FORBIDDEN, 403, "permission_error")                                    \
    X(NOT_FOUND, 404, "not_found")                                           \
    X(CONFLICT, 409, "conflict")                                             \
    X(TOO_LARGE, 413, "invalid_request_error")                               \
    X(UNSUPPORTED_MEDIA, 415, "invalid_request_error")                       \
    X(HEADERS_TOO_LARGE, 431, "invalid_request_error")                       \
    X(RATE, 429, "rate_limit_error")                                         \
    X(INTERNAL, 500, "api_error")                                            \
    X(UPSTREAM, 502, "api_error")                                            \
    X(UNAVAILABLE, 503, "api_error")                                         \
    X(METHOD, 405, "invalid_request_error")                                  \
    X(NOT_IMPLEMENTED, 501, "invalid_request_error")

enum cd_error_kind {
#define X(name, status, type) CD_EK_##name,
    CD_ERROR_KINDS(X)
#undef X
};

struct cd_error {
    enum cd_error_kind kind;
    char code[64];     /* machine readable, e.g. "insufficient_balance" */
    char param[64];    /* the offending field, or "" */
    char message[256]; /* for a person; never holds a secret */
    int retry_after;   /* seconds, for Retry-After (429, 503); 0: none */
};

/* Fills *e (which may be NULL: then nothing happens). Returns -1 so that a
 * function can `return cd_error_set(err, ...);`. */
int cd_error_set(struct cd_error *e, enum cd_error_kind kind,
                 const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void cd_error_clear(struct cd_error *e);
int cd_error_kind_status(enum cd_error_kind kind);
const char *cd_error_kind_type(enum cd_error_kind kind);
/* The kind of a code of error_codes.h's table, or `kind` for a code the
 * table does not hold. */
enum cd_error_kind cd_error_code_kind(const char *code,
                                      enum cd_error_kind kind);

#endif
