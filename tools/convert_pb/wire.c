/*
 * Protocol-buffer wire-format reader (tools/convert_pb). Just enough of the
 * encoding to walk TensorFlow's GraphDef without libprotobuf: varints, tags,
 * fixed-width values, length-delimited payloads, packed and unpacked
 * repeated scalars, and skipping of unknown fields of every wire type
 * (groups included, with a nesting limit). Each read is preceded by a
 * length check against the current message's end, so any truncation point
 * yields CPB_W_TRUNC instead of a read past the buffer.
 */
#include "wire.h"

void cpb_rd_init(cpb_rd *r, const uint8_t *base, const uint8_t *p, size_t n)
{
    r->base = base;
    r->p = p;
    r->end = p + n;
}

int cpb_rd_done(const cpb_rd *r) { return r->p >= r->end; }

size_t cpb_pos(const cpb_rd *r) { return (size_t)(r->p - r->base); }

const char *cpb_werr_str(int err)
{
    switch (err) {
    case CPB_W_OK: return "ok";
    case CPB_W_TRUNC: return "truncated field";
    case CPB_W_OVERLONG: return "overlong varint";
    case CPB_W_BADTAG: return "invalid field number";
    case CPB_W_BADWIRE: return "invalid wire type";
    case CPB_W_DEPTH: return "groups nested too deeply";
    case CPB_W_PACKED: return "packed field length not a multiple of its element size";
    }
    return "unknown wire error";
}

int cpb_varint(cpb_rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return CPB_W_TRUNC;
        uint8_t b = *r->p++;
        /* The 10th byte carries only bit 63: anything above is overflow. */
        if (i == 9 && b > 1)
            return CPB_W_OVERLONG;
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return CPB_W_OK;
        }
    }
    return CPB_W_OVERLONG;
}

int cpb_tag(cpb_rd *r, uint32_t *field, uint32_t *wt)
{
    uint64_t t;
    int e = cpb_varint(r, &t);
    if (e)
        return e;
    if ((t >> 3) == 0 || (t >> 3) > 0x1FFFFFFFu)
        return CPB_W_BADTAG;
    if ((t & 7) > 5)
        return CPB_W_BADWIRE;
    *field = (uint32_t)(t >> 3);
    *wt = (uint32_t)(t & 7);
    return CPB_W_OK;
}

int cpb_fixed32(cpb_rd *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return CPB_W_TRUNC;
    const uint8_t *p = r->p;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
    r->p += 4;
    return CPB_W_OK;
}

int cpb_fixed64(cpb_rd *r, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;
    if (r->end - r->p < 8)
        return CPB_W_TRUNC;
    cpb_fixed32(r, &lo);
    cpb_fixed32(r, &hi);
    *v = (uint64_t)hi << 32 | lo;
    return CPB_W_OK;
}

int cpb_len(cpb_rd *r, cpb_rd *sub)
{
    uint64_t n;
    int e = cpb_varint(r, &n);
    if (e)
        return e;
    if (n > (uint64_t)(r->end - r->p))
        return CPB_W_TRUNC;
    cpb_rd_init(sub, r->base, r->p, (size_t)n);
    r->p += n;
    return CPB_W_OK;
}

static int skip_depth(cpb_rd *r, uint32_t field, uint32_t wt, int depth)
{
    uint64_t v;
    cpb_rd sub;
    switch (wt) {
    case CPB_WT_VARINT: return cpb_varint(r, &v);
    case CPB_WT_I64: return cpb_fixed64(r, &v);
    case CPB_WT_LEN: return cpb_len(r, &sub);
    case CPB_WT_I32:
        if (r->end - r->p < 4)
            return CPB_W_TRUNC;
        r->p += 4;
        return CPB_W_OK;
    case CPB_WT_SGROUP:
        if (depth >= CPB_MAX_GROUP_DEPTH)
            return CPB_W_DEPTH;
        for (;;) {
            uint32_t f, w;
            if (r->p >= r->end)
                return CPB_W_TRUNC;
            int e = cpb_tag(r, &f, &w);
            if (e)
                return e;
            if (w == CPB_WT_EGROUP)
                return f == field ? CPB_W_OK : CPB_W_BADWIRE;
            e = skip_depth(r, f, w, depth + 1);
            if (e)
                return e;
        }
    default: /* an end-group without its start */
        return CPB_W_BADWIRE;
    }
}

int cpb_skip(cpb_rd *r, uint32_t field, uint32_t wt)
{
    return skip_depth(r, field, wt, 0);
}

int cpb_rep_begin(cpb_rd *r, uint32_t wt, uint32_t elem_wt, cpb_rep *rep)
{
    rep->wt = elem_wt;
    if (wt == CPB_WT_LEN) {
        int e = cpb_len(r, &rep->cur);
        if (e)
            return e;
        size_t n = (size_t)(rep->cur.end - rep->cur.p);
        if ((elem_wt == CPB_WT_I32 && n % 4) || (elem_wt == CPB_WT_I64 && n % 8))
            return CPB_W_PACKED;
        return CPB_W_OK;
    }
    if (wt != elem_wt)
        return CPB_W_BADWIRE;
    /* One unpacked element: a cursor over exactly its bytes. */
    const uint8_t *start = r->p;
    int e = cpb_skip(r, 0, wt);
    if (e)
        return e;
    cpb_rd_init(&rep->cur, r->base, start, (size_t)(r->p - start));
    return CPB_W_OK;
}

int cpb_rep_more(const cpb_rep *rep) { return !cpb_rd_done(&rep->cur); }

size_t cpb_rep_count(const cpb_rep *rep)
{
    size_t n = (size_t)(rep->cur.end - rep->cur.p);
    if (rep->wt == CPB_WT_I32)
        return n / 4;
    if (rep->wt == CPB_WT_I64)
        return n / 8;
    return 0;
}

int cpb_rep_next(cpb_rep *rep, uint64_t *v)
{
    uint32_t u = 0;
    int e;
    switch (rep->wt) {
    case CPB_WT_VARINT: return cpb_varint(&rep->cur, v);
    case CPB_WT_I32:
        e = cpb_fixed32(&rep->cur, &u);
        *v = u;
        return e;
    default: return cpb_fixed64(&rep->cur, v);
    }
}
