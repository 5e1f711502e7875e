/*
 * object.c - reading Stripe objects; see object.h.
 */
#include "stripe/object.h"

#include "util/util.h"

int cd_stripe_str_or_id(const json_t *o, const char *key, char *out,
                        size_t outsz)
{
    const json_t *v = json_object_get(o, key);

    out[0] = '\0';
    if (json_is_object(v))
        v = json_object_get(v, "id");
    if (!json_is_string(v))
        return -1;
    if (cd_strlcpy(out, json_string_value(v), outsz) != 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Stripe ids go into URL paths: letters, digits and '_' only. */
int cd_stripe_safe_id(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return n > 0 && n < 200;
}
