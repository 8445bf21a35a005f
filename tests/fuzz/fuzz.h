/*
 * Helpers shared by the libFuzzer harnesses (tests only, never linked into
 * libiqs). A harness states the properties it checks with FZ_CHECK; a
 * violated one traps, which libFuzzer reports as a crash and saves as an
 * artifact, exactly like a sanitizer report.
 */
#ifndef IQS_FUZZ_H
#define IQS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iqs/iqs.h"

#define FZ_CHECK(cond)                                                      \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                    \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

/* A status the public header defines. */
static inline int fz_status_known(iqs_status s)
{
    return s >= IQS_OK && s <= IQS_E_ENDIAN;
}

/* A diag after a call returning s: same status, NUL-terminated message,
 * non-empty on failure. */
static inline void fz_check_diag(const iqs_diag *d, iqs_status s)
{
    FZ_CHECK(fz_status_known(s));
    FZ_CHECK(d->status == s);
    FZ_CHECK(memchr(d->msg, '\0', sizeof d->msg) != NULL);
    FZ_CHECK(s == IQS_OK || d->msg[0] != '\0');
}

/* A private copy of the input at a 64-byte boundary, sized exactly (so
 * AddressSanitizer catches a read one byte past the end). */
static inline uint8_t *fz_aligned_copy(const uint8_t *data, size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 1) != 0)
        return NULL;
    if (size)
        memcpy(p, data, size);
    return p;
}

/* A finite float in [lo, hi]. */
static inline int fz_in(float x, float lo, float hi)
{
    return x >= lo && x <= hi; /* false for NaN */
}

#endif
