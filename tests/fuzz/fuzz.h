/*
 * fuzz.h - what every libFuzzer target of tests/fuzz shares: the entry
 * points' prototypes (the build has -Wmissing-prototypes), a NUL-terminated
 * copy of the input, and a check that stays on whatever NDEBUG says.
 */
#ifndef CD_FUZZ_H
#define CD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken property is a crash libFuzzer keeps: print it and abort. */
#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* data[0..size) plus a NUL (malloc; the caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Splits s (NUL-terminated, written to) at its first '\n': returns the
 * rest, or "" when there is none. */
static inline char *fuzz_split(char *s)
{
    char *nl = strchr(s, '\n');

    if (!nl)
        return s + strlen(s);
    *nl = '\0';
    return nl + 1;
}

#endif
