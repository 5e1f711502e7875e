/*
 * shapes.c - objects as the pinned API version returns them: every
 * property that version always returns is there, null (or the skeleton's
 * value) where the sandbox does not model it. The skeletons are generated
 * from the stripe npm package's type definitions (shapes_gen.c, by
 * scripts/gen_sandbox_shapes.mjs) and parsed once.
 */
#include "sandbox/internal.h"

#include <pthread.h>
#include <string.h>

#include "util/log.h"

#define MOD "sandbox"
#define SHAPE_DEPTH 8

static pthread_once_t once = PTHREAD_ONCE_INIT;
static json_t *skeletons; /* "object" value -> skeleton */

static void parse_all(void)
{
    json_error_t e;

    skeletons = json_object();
    for (size_t i = 0; skeletons && i < cd_sandbox_shape_nsrcs; i++) {
        json_t *sk = json_loads(cd_sandbox_shape_srcs[i].json, 0, &e);

        if (!sk) {
            cd_error(MOD, "shape %s: %s", cd_sandbox_shape_srcs[i].object,
                     e.text);
            continue;
        }
        json_object_set_new(skeletons, cd_sandbox_shape_srcs[i].object, sk);
    }
}

/* A nullable object's skeleton is {"?": skeleton} (null when missing),
 * an optional object's {"+": skeleton} (left out when missing): the
 * skeleton, or NULL when sv is not such a wrapper. */
static json_t *wrapped(const json_t *sv, const char *mark)
{
    return json_is_object(sv) && json_object_size(sv) == 1
               ? json_object_get(sv, mark)
               : NULL;
}

static json_t *nullable(const json_t *sv)
{
    return wrapped(sv, "?");
}

static json_t *optional(const json_t *sv)
{
    return wrapped(sv, "+");
}

/* A copy of skeleton sv as a value: its nullable objects null. */
static json_t *materialize(const json_t *sv)
{
    const char *k;
    json_t *v, *out;

    if (nullable(sv))
        return json_null();
    if (!json_is_object(sv))
        return json_deep_copy(sv);
    out = json_object();
    json_object_foreach((json_t *)sv, k, v)
    {
        if (!optional(v))
            json_object_set_new(out, k, materialize(v));
    }
    return out;
}

/* Adds what obj lacks of skel, into nested objects both have. */
static void fill(json_t *obj, const json_t *skel, int depth)
{
    const char *k;
    json_t *sv;

    if (depth > SHAPE_DEPTH)
        return;
    json_object_foreach((json_t *)skel, k, sv)
    {
        json_t *v = json_object_get(obj, k), *inner = nullable(sv);

        if (!inner)
            inner = optional(sv);
        if (!v && !optional(sv))
            json_object_set_new(obj, k, materialize(sv));
        else if (!v)
            continue;
        else if (json_is_object(v) && json_is_object(inner ? inner : sv))
            fill(v, inner ? inner : sv, depth + 1);
    }
}

static void shape(json_t *v, int depth);

static void shape_children(json_t *v, int depth)
{
    const char *k;
    json_t *c;
    size_t i;

    if (depth > SHAPE_DEPTH)
        return;
    if (json_is_array(v)) {
        json_array_foreach(v, i, c) shape(c, depth + 1);
        return;
    }
    json_object_foreach(v, k, c)
    {
        /* previous_attributes hold only what changed. */
        if (strcmp(k, "previous_attributes") != 0)
            shape(c, depth + 1);
    }
}

static void shape(json_t *v, int depth)
{
    const char *kind;
    json_t *skel;

    if (!json_is_object(v) && !json_is_array(v))
        return;
    kind = json_string_value(json_object_get(v, "object"));
    skel = kind ? json_object_get(skeletons, kind) : NULL;
    if (skel)
        fill(v, skel, 0);
    shape_children(v, depth);
}

void cd_sandbox_shape(json_t *obj)
{
    pthread_once(&once, parse_all);
    shape(obj, 0);
}
