/*
 * Protocol-buffer wire-format reader of the converter (tools/convert_pb).
 *
 * A cursor over a byte range [p, end) of a larger buffer that starts at
 * base (base is only used to report byte offsets). Every function checks
 * the remaining length before reading, so a truncated or hostile message
 * can only produce an error code, never an out-of-range read. Nothing here
 * allocates. Not thread-safe per cursor; distinct cursors are independent.
 *
 * Return convention: CPB_W_OK (0) or a CPB_W_* error; on error the cursor
 * position is unspecified (callers report cpb_pos() and stop).
 */
#ifndef CPB_WIRE_H
#define CPB_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Wire types (the low 3 bits of a tag). */
enum {
    CPB_WT_VARINT = 0,
    CPB_WT_I64 = 1,
    CPB_WT_LEN = 2,
    CPB_WT_SGROUP = 3, /* deprecated groups: skipped with their contents */
    CPB_WT_EGROUP = 4,
    CPB_WT_I32 = 5
};

/* Errors. */
enum {
    CPB_W_OK = 0,
    CPB_W_TRUNC,    /* the message ends inside a field                    */
    CPB_W_OVERLONG, /* varint longer than 10 bytes or above 2^64-1        */
    CPB_W_BADTAG,   /* field number 0 or above 2^29-1                     */
    CPB_W_BADWIRE,  /* wire type 6/7, or an unmatched end-group           */
    CPB_W_DEPTH,    /* groups nested deeper than CPB_MAX_GROUP_DEPTH      */
    CPB_W_PACKED    /* packed fixed-width data not a multiple of its size */
};

#define CPB_MAX_GROUP_DEPTH 32

typedef struct cpb_rd {
    const uint8_t *base; /* start of the whole buffer (offsets only) */
    const uint8_t *p;    /* next byte                                */
    const uint8_t *end;  /* one past the last byte of this message   */
} cpb_rd;

/* A cursor over [p, p+n) inside the buffer starting at base. */
void cpb_rd_init(cpb_rd *r, const uint8_t *base, const uint8_t *p, size_t n);
/* 1 when no bytes remain. */
int cpb_rd_done(const cpb_rd *r);
/* Byte offset of the cursor from base. */
size_t cpb_pos(const cpb_rd *r);
/* Static text of a CPB_W_* code. */
const char *cpb_werr_str(int err);

/* Base-128 varint, at most 10 bytes, value <= 2^64-1. */
int cpb_varint(cpb_rd *r, uint64_t *v);
/* A tag: field number (1..2^29-1) and wire type (0..5). */
int cpb_tag(cpb_rd *r, uint32_t *field, uint32_t *wt);
/* Little-endian fixed-width values. */
int cpb_fixed32(cpb_rd *r, uint32_t *v);
int cpb_fixed64(cpb_rd *r, uint64_t *v);
/* Length-delimited payload: *sub becomes a cursor over it (same base) and
 * r moves past it. */
int cpb_len(cpb_rd *r, cpb_rd *sub);
/* Skips the value of a field whose tag was just read (any wire type;
 * a start-group is skipped up to its matching end-group). */
int cpb_skip(cpb_rd *r, uint32_t field, uint32_t wt);

/* Repeated scalars, packed (wire type 2) or one element (wire type 0/5/1):
 * cpb_next_* reads the next element of `cur`, a cursor the caller got
 * either from cpb_len (packed) or set to the single element. These helpers
 * treat both forms uniformly: call cpb_rep_begin after reading the tag. */
typedef struct cpb_rep {
    cpb_rd cur;
    uint32_t wt;  /* element wire type */
} cpb_rep;
/* elem_wt is CPB_WT_VARINT, CPB_WT_I32 or CPB_WT_I64. Accepts the packed
 * form (wt == CPB_WT_LEN) and the unpacked one (wt == elem_wt); any other
 * wire type is CPB_W_BADWIRE. Packed fixed-width payloads must be a
 * multiple of the element size (CPB_W_PACKED). */
int cpb_rep_begin(cpb_rd *r, uint32_t wt, uint32_t elem_wt, cpb_rep *rep);
/* 1 while elements remain. */
int cpb_rep_more(const cpb_rep *rep);
/* Number of elements for fixed-width element types (varints: unknown, 0). */
size_t cpb_rep_count(const cpb_rep *rep);
/* Next element as raw 64-bit value (varint, or fixed32/64 bits). */
int cpb_rep_next(cpb_rep *rep, uint64_t *v);

#endif
