/*
 * store_base.h - what store.h and every noun header of the store share:
 * the return codes, the field sizes of the records, the list and page
 * conventions. Included through store/store.h.
 */
#ifndef CD_STORE_STORE_BASE_H
#define CD_STORE_STORE_BASE_H

#include <stddef.h>
#include <stdint.h>

#define CD_STORE_OK 0
#define CD_STORE_NOT_FOUND 1
#define CD_STORE_DUPLICATE 2
#define CD_STORE_GUARD                                                       \
    3 /* a guarded write's condition was false; nothing
                            written */
#define CD_STORE_ERROR (-1)

#define CD_ID_SZ 64 /* our ids: "acct_" + 24 chars, ... */
#define CD_EMAIL_SZ 256
#define CD_EXTID_SZ 136 /* accounts.external_id: 1..128 bytes + NUL */
#define CD_HASH_SZ 160  /* argon2id encoded hash */
#define CD_SID_SZ 256   /* Stripe ids */
#define CD_KIND_SZ 24
#define CD_STATUS_SZ 24
#define CD_REF_SZ 384 /* ledger business keys */
/* Whether a business key of the fixed text `lit` (every "%s" and "%"
 * PRId64 taken out) and fields of `fields` bytes fits CD_REF_SZ with its
 * NUL. A field of a buffer of size N is at most N - 1 bytes, an int64 at
 * most CD_I64_CHARS. Each key's format has a _Static_assert of this. */
#define CD_REF_FITS(lit, fields) (sizeof(lit) + (fields) <= CD_REF_SZ)
#define CD_I64_CHARS 20 /* "-9223372036854775808" */
#define CD_DESC_SZ 512
#define CD_CODE_SZ 64 /* discount codes */
#define CD_CUR_SZ 8
#define CD_IDEM_SCOPE_SZ 96
#define CD_IDEM_KEY_SZ 256

struct cd_tx;

/* Row callbacks for lists: return 0 to go on, nonzero to stop. */

/* Lists are newest first (created_at, then insertion order), limit/offset
 * paged; *total (may be NULL) receives the count of all matching rows.
 * limit < 0: no limit (exports); limit 0: no rows, only *total.
 * account_id NULL or "": every account's rows.
 * A callback may call other store functions on the same tx. */

#define CD_PAGE_MAX 1000 /* the most rows in one page */

/* A page of the operator's lists and exports. Every filter is optional
 * (NULL or "", 0): account, status (orders only), kind, and created_at
 * in [from, to). Rows come newest first (created_at, then insertion
 * order), starting after the row whose id is starting_after (NULL or "":
 * from the newest). limit: 1..CD_PAGE_MAX. */
struct cd_page_query {
    const char *account_id;
    const char *status;
    const char *kind;
    int64_t from, to;
    const char *starting_after;
    int64_t limit;
};

#endif
