/*
 * Internal helpers shared by every layer (layer: base): the early-return
 * macro, diagnostics formatting, checked size arithmetic.
 */
#ifndef IQS_BASE_COMMON_H
#define IQS_BASE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "iqs/iqs.h"

#define IQS_HIDDEN __attribute__((visibility("hidden")))

/* Evaluate a status expression; return it from the caller when not OK. */
#define IQS_TRY(expr)                          \
    do {                                       \
        iqs_status iqs_try_s_ = (expr);        \
        if (iqs_try_s_ != IQS_OK)              \
            return iqs_try_s_;                 \
    } while (0)

/* Fill an optional diag (NULL-safe) with status and a printf-style message;
 * returns status so callers can write `return iqs_diag_set(d, S, ...)`. */
iqs_status iqs_diag_set(iqs_diag *diag, iqs_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Mark an optional diag as success. */
void iqs_diag_ok(iqs_diag *diag);

/* a*b and a+b with overflow detection: return 0 on overflow. */
static inline int iqs_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline int iqs_add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline size_t iqs_align_up(size_t x, size_t a)
{
    return (x + (a - 1)) & ~(a - 1);
}

#endif
