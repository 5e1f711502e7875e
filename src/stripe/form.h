/*
 * form.h - Stripe's form encoding of nested parameters, both ways.
 *
 * Encoding follows stripe-node's stringifyRequestData: an object becomes
 * key[sub]=v, an array key[i]=v (indexed), recursively; strings are
 * percent-encoded like encodeURIComponent with the brackets of keys left
 * raw (in values too, as stripe-node does, which also escapes !'()*);
 * integers in decimal, reals as JavaScript prints them; true/false as
 * "true"/"false"; JSON null as "key=" (which unsets); empty objects and
 * arrays produce nothing. Key order is the object's insertion order.
 */
#ifndef CD_STRIPE_FORM_H
#define CD_STRIPE_FORM_H

#include <jansson.h>

#include "util/buf.h"

/* Appends the encoding of params (a JSON object) to out. 0, or -1. */
int cd_form_encode(const json_t *params, struct cd_buf *out);

/*
 * Decodes an application/x-www-form-urlencoded body with bracketed keys
 * into a new JSON object (new reference): "a[b]=1&c[0]=x&c[1]=y&d[]=z"
 * -> {"a":{"b":"1"},"c":["x","y"],"d":["z"]}. Every leaf is a string.
 * Returns NULL on malformed input (bad escapes, %00, invalid UTF-8,
 * conflicting shapes, repeated keys, nesting deeper than 8, more than 1000
 * pairs, keys longer than 256 decoded bytes). Indices must come in order
 * 0, 1, 2...; inside an object that already exists a numeric segment is an
 * ordinary key ("metadata[a]=1&metadata[7]=2").
 */
json_t *cd_form_decode(const char *body, size_t len);

/* Percent-encodes s like encodeURIComponent into out. 0, or -1. */
int cd_form_escape(const char *s, struct cd_buf *out);

#endif
