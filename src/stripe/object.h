/*
 * object.h - reading Stripe objects: bounded copies of string members
 * (and of expandable fields, which are either an id or the expanded
 * object), and the check that an id can go into a Stripe URL path.
 */
#ifndef CD_STRIPE_OBJECT_H
#define CD_STRIPE_OBJECT_H

#include <jansson.h>
#include <stddef.h>

/* Copies a string member (or the "id" of an object member: expandable
 * fields) into out. Absent, null or too long: out "" and -1. */
int cd_stripe_str_or_id(const json_t *o, const char *key, char *out,
                        size_t outsz);

/* 1 when s is usable in a Stripe URL path (letters, digits, '_'; 1 to
 * 199 characters). */
int cd_stripe_safe_id(const char *s);

#endif
