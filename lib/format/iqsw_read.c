/*
 * IQSW reader (layer: format). Validates a whole weights file held in
 * memory (a read-only mmap or a caller's buffer) before any pointer into it
 * is formed, then hands out decoded records and aligned tensor pointers.
 * No I/O, no allocation, no global state. Every check is done with 64-bit
 * arithmetic on values that cannot overflow (fields are at most 32 bits
 * wide, or are compared before they are added), and every failure names
 * the field or record at fault in the caller's diag.
 *
 * Order of checks: magic and major version, header geometry (everything
 * needed to know where the tables are), the header/table CRC, then the
 * meaning of header fields, strings, tensors and layers, and the data CRC
 * last (the only pass over the big data section). A corrupted byte in the
 * tables therefore reports IQS_E_CHECKSUM; a well-sealed but inconsistent
 * file reports the specific IQS_E_FORMAT problem.
 */
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "base/crc32.h"
#include "base/rd.h"
#include "format/iqsw.h"

/* Largest record sizes a newer minor version may use: tails are skipped,
 * the bound only keeps multiplications trivially small. */
#define MAX_REC_SIZE 4096u
#define ULL(x) ((unsigned long long)(x))

static void get_header(const uint8_t *p, iqsw_header *h)
{
    h->major = iqs_rd16(p + IQSW_H_MAJOR);
    h->minor = iqs_rd16(p + IQSW_H_MINOR);
    h->header_size = iqs_rd32(p + IQSW_H_HEADER_SIZE);
    h->tensor_rec = iqs_rd32(p + IQSW_H_TENSOR_REC);
    h->layer_rec = iqs_rd32(p + IQSW_H_LAYER_REC);
    h->align = iqs_rd32(p + IQSW_H_ALIGN);
    h->arch = iqs_rd32(p + IQSW_H_ARCH);
    h->head = iqs_rd32(p + IQSW_H_HEAD);
    h->input_h = iqs_rd32(p + IQSW_H_INPUT_H);
    h->input_w = iqs_rd32(p + IQSW_H_INPUT_W);
    h->input_c = iqs_rd32(p + IQSW_H_INPUT_C);
    h->resize = iqs_rd32(p + IQSW_H_RESIZE);
    h->order = iqs_rd32(p + IQSW_H_ORDER);
    h->scale = iqs_rdf32(p + IQSW_H_SCALE);
    h->offset = iqs_rdf32(p + IQSW_H_OFFSET);
    h->classes = iqs_rd32(p + IQSW_H_CLASSES);
    h->labels = iqs_rd32(p + IQSW_H_LABELS);
    h->default_side = iqs_rd32(p + IQSW_H_DEFAULT_SIDE);
    h->tensors_off = iqs_rd32(p + IQSW_H_TENSORS_OFF);
    h->tensor_count = iqs_rd32(p + IQSW_H_TENSOR_COUNT);
    h->layers_off = iqs_rd32(p + IQSW_H_LAYERS_OFF);
    h->layer_count = iqs_rd32(p + IQSW_H_LAYER_COUNT);
    h->strings_off = iqs_rd32(p + IQSW_H_STRINGS_OFF);
    h->strings_size = iqs_rd32(p + IQSW_H_STRINGS_SIZE);
    h->data_off = iqs_rd64(p + IQSW_H_DATA_OFF);
    h->data_size = iqs_rd64(p + IQSW_H_DATA_SIZE);
    h->file_size = iqs_rd64(p + IQSW_H_FILE_SIZE);
    h->crc_meta = iqs_rd32(p + IQSW_H_CRC_META);
    h->crc_data = iqs_rd32(p + IQSW_H_CRC_DATA);
}

/* String at a string-table offset, or NULL when the offset is outside the
 * table or the string is not NUL-terminated inside it. */
static const char *str_at(const iqsw_view *v, uint32_t off)
{
    if (off >= v->h.strings_size)
        return NULL;
    const uint8_t *s = v->base + v->h.strings_off + off;
    return memchr(s, 0, v->h.strings_size - off) ? (const char *)s : NULL;
}

static const char *tensor_name(const iqsw_view *v, const iqsw_tensor *t)
{
    const char *s = str_at(v, t->name);
    return s ? s : "?";
}

/* Table [off, off+len) must lie in the metadata region [lo, hi). */
static iqs_status table_range(const char *what, uint64_t off, uint64_t count,
                              uint64_t rec, uint64_t lo, uint64_t hi,
                              iqs_diag *diag)
{
    uint64_t len = count * rec; /* both < 2^32 here */
    if (len == 0)
        return IQS_OK;
    if (off < lo || off > hi || len > hi - off)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "%s table [%llu, +%llu) is outside the metadata "
                            "region [%llu, %llu)",
                            what, ULL(off), ULL(len), ULL(lo), ULL(hi));
    return IQS_OK;
}

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

static iqs_status check_geometry(const iqsw_view *v, iqs_diag *diag)
{
    const iqsw_header *h = &v->h;
    if (h->header_size < IQSW_HEADER_SIZE || h->header_size > v->size)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "header_size %u is below %u or past the end "
                            "(file is %llu bytes)",
                            h->header_size, IQSW_HEADER_SIZE, ULL(v->size));
    if (h->tensor_rec < IQSW_TENSOR_REC_SIZE || h->tensor_rec > MAX_REC_SIZE)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "tensor record size %u outside [%u, %u]",
                            h->tensor_rec, IQSW_TENSOR_REC_SIZE, MAX_REC_SIZE);
    if (h->layer_rec < IQSW_LAYER_REC_SIZE || h->layer_rec > MAX_REC_SIZE)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer record size %u outside [%u, %u]",
                            h->layer_rec, IQSW_LAYER_REC_SIZE, MAX_REC_SIZE);
    if (h->align != IQSW_ALIGN)
        return iqs_diag_set(diag, IQS_E_FORMAT, "alignment %u, expected %u",
                            h->align, IQSW_ALIGN);
    if (h->file_size != v->size)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "header says file_size %llu, file is %llu bytes "
                            "(truncated or padded)",
                            ULL(h->file_size), ULL(v->size));
    if (h->data_off % IQSW_ALIGN != 0)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "data_off %llu is not a multiple of %u",
                            ULL(h->data_off), IQSW_ALIGN);
    if (h->data_off < h->header_size || h->data_off > h->file_size ||
        h->data_size != h->file_size - h->data_off)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "data section [%llu, +%llu) does not end the "
                            "%llu-byte file after the %u-byte header",
                            ULL(h->data_off), ULL(h->data_size),
                            ULL(h->file_size), h->header_size);
    if (h->tensor_count > IQSW_MAX_TENSORS)
        return iqs_diag_set(diag, IQS_E_FORMAT, "tensor_count %u > %u",
                            h->tensor_count, IQSW_MAX_TENSORS);
    if (h->layer_count > IQSW_MAX_LAYERS)
        return iqs_diag_set(diag, IQS_E_FORMAT, "layer_count %u > %u",
                            h->layer_count, IQSW_MAX_LAYERS);
    if (h->strings_size > IQSW_MAX_STRINGS)
        return iqs_diag_set(diag, IQS_E_FORMAT, "strings_size %u > %u",
                            h->strings_size, IQSW_MAX_STRINGS);
    IQS_TRY(table_range("tensor", h->tensors_off, h->tensor_count,
                        h->tensor_rec, h->header_size, h->data_off, diag));
    IQS_TRY(table_range("layer", h->layers_off, h->layer_count, h->layer_rec,
                        h->header_size, h->data_off, diag));
    IQS_TRY(table_range("string", h->strings_off, h->strings_size, 1,
                        h->header_size, h->data_off, diag));
    uint64_t tl = (uint64_t)h->tensor_count * h->tensor_rec;
    uint64_t ll = (uint64_t)h->layer_count * h->layer_rec;
    if (overlap(h->tensors_off, tl, h->layers_off, ll) ||
        overlap(h->tensors_off, tl, h->strings_off, h->strings_size) ||
        overlap(h->layers_off, ll, h->strings_off, h->strings_size))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "tensor [%u,+%llu), layer [%u,+%llu) and string "
                            "[%u,+%u) tables overlap",
                            h->tensors_off, ULL(tl), h->layers_off, ULL(ll),
                            h->strings_off, h->strings_size);
    return IQS_OK;
}

static iqs_status check_fields(const iqsw_view *v, iqs_diag *diag)
{
    const iqsw_header *h = &v->h;
    if (h->arch != IQSW_ARCH_INCEPTION_RESNET_V2 &&
        h->arch != IQSW_ARCH_INCEPTION_V3)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                            "unknown architecture id %u", h->arch);
    if (h->head != IQS_HEAD_CLASSES && h->head != IQS_HEAD_NIMA10)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED, "unknown head kind %u",
                            h->head);
    if (h->input_c != 3)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                            "input has %u channels, only 3 are supported",
                            h->input_c);
    if ((h->input_h == 0) != (h->input_w == 0) ||
        h->input_h > IQSW_MAX_INPUT_SIDE || h->input_w > IQSW_MAX_INPUT_SIDE)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "input size %ux%u (both 0 for any, else 1..%u)",
                            h->input_h, h->input_w, IQSW_MAX_INPUT_SIDE);
    if (h->input_h == 0 &&
        (h->default_side == 0 || h->default_side > IQSW_MAX_INPUT_SIDE))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "input size is any but default_side is %u",
                            h->default_side);
    if (h->resize != IQSW_RESIZE_NEAREST_EXACT)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED, "unknown resize mode %u",
                            h->resize);
    if (h->order != IQSW_ORDER_RGB && h->order != IQSW_ORDER_BGR)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                            "unknown channel order %u", h->order);
    if (!isfinite(h->scale) || !isfinite(h->offset) || h->scale == 0.0f)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "preprocessing scale/offset not finite or zero");
    if (h->classes < 1 || h->classes > IQS_MAX_CLASSES)
        return iqs_diag_set(diag, IQS_E_FORMAT, "classes %u outside 1..%d",
                            h->classes, IQS_MAX_CLASSES);
    if (h->head == IQS_HEAD_NIMA10 && h->classes != 10)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "NIMA head with %u classes (needs 10)",
                            h->classes);
    uint32_t off = h->labels;
    for (uint32_t k = 0; k < h->classes; k++) {
        const char *s = str_at(v, off);
        if (!s)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "label %u at string offset %u is outside the "
                                "%u-byte string table or unterminated",
                                k, off, h->strings_size);
        off += (uint32_t)strlen(s) + 1; /* < strings_size <= 2^24 */
    }
    return IQS_OK;
}

static iqs_status check_tensors(const iqsw_view *v, iqs_diag *diag)
{
    const iqsw_header *h = &v->h;
    int sorted = 1;
    uint64_t prev_end = 0;
    for (uint32_t i = 0; i < h->tensor_count; i++) {
        iqsw_tensor t;
        iqs_iqsw_tensor(v, i, &t);
        const char *name = str_at(v, t.name);
        if (!name)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "tensor %u: name offset %u outside the string "
                                "table or unterminated",
                                i, t.name);
        if (t.dtype != IQSW_DTYPE_F32)
            return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                                "tensor %u (%s): dtype %u, only f32 (%u)", i,
                                name, t.dtype, IQSW_DTYPE_F32);
        if (t.rank < 1 || t.rank > 4)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "tensor %u (%s): rank %u outside 1..4", i,
                                name, t.rank);
        uint64_t n = 1;
        for (uint32_t d = 0; d < 4; d++) {
            uint32_t dim = t.dims[d];
            if (d >= t.rank ? dim != 1 : (dim < 1 || dim > IQSW_MAX_DIM))
                return iqs_diag_set(diag, IQS_E_FORMAT,
                                    "tensor %u (%s): dim %u is %u", i, name,
                                    d, dim);
            if (__builtin_mul_overflow(n, (uint64_t)dim, &n))
                return iqs_diag_set(diag, IQS_E_FORMAT,
                                    "tensor %u (%s): element count overflows",
                                    i, name);
        }
        if (n > UINT64_MAX / 4 || n * 4 != t.bytes)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "tensor %u (%s): %llu bytes for %llu f32 "
                                "elements",
                                i, name, ULL(t.bytes), ULL(n));
        if (t.offset % IQSW_ALIGN != 0)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "tensor %u (%s): offset %llu is not a "
                                "multiple of %u",
                                i, name, ULL(t.offset), IQSW_ALIGN);
        if (t.offset < h->data_off || t.offset > h->file_size ||
            t.bytes > h->file_size - t.offset)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "tensor %u (%s) [%llu, +%llu) is outside the "
                                "data section [%llu, %llu)",
                                i, name, ULL(t.offset), ULL(t.bytes),
                                ULL(h->data_off), ULL(h->file_size));
        if (t.offset < prev_end)
            sorted = 0;
        prev_end = t.offset + t.bytes;
    }
    if (sorted)
        return IQS_OK;
    /* Not in file order (the converter always writes them in order): fall
     * back to the pairwise check; no allocation allowed for a sort. Its
     * cost is quadratic, so it is bounded (4096 tensors: ~20 ms; a real
     * network has a few hundred). */
    if (h->tensor_count > IQSW_MAX_UNORDERED_TENSORS)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "%u tensors not in ascending offset order (allowed "
                            "up to %u)", h->tensor_count,
                            IQSW_MAX_UNORDERED_TENSORS);
    for (uint32_t i = 0; i < h->tensor_count; i++) {
        iqsw_tensor a;
        iqs_iqsw_tensor(v, i, &a);
        for (uint32_t j = i + 1; j < h->tensor_count; j++) {
            iqsw_tensor b;
            iqs_iqsw_tensor(v, j, &b);
            if (overlap(a.offset, a.bytes, b.offset, b.bytes))
                return iqs_diag_set(diag, IQS_E_FORMAT,
                                    "tensors %u (%s) and %u (%s) overlap", i,
                                    tensor_name(v, &a), j, tensor_name(v, &b));
        }
    }
    return IQS_OK;
}

/* Weight or bias reference of layer i: a valid tensor id with the expected
 * rank and leading dim out_c, or IQSW_NONE when optional. */
static iqs_status check_ref(const iqsw_view *v, uint32_t i, const char *lname,
                            const char *what, uint32_t id, uint32_t rank,
                            uint32_t out_c, int optional, iqsw_tensor *t,
                            iqs_diag *diag)
{
    if (id == IQSW_NONE && optional)
        return IQS_OK;
    if (id >= v->h.tensor_count)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): %s tensor id %u, file has %u", i,
                            lname, what, id, v->h.tensor_count);
    iqs_iqsw_tensor(v, id, t);
    if (t->rank != rank || t->dims[0] != out_c)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): %s tensor %u (%s) has rank %u "
                            "dim0 %u, expected rank %u dim0 %u",
                            i, lname, what, id, tensor_name(v, t), t->rank,
                            t->dims[0], rank, out_c);
    return IQS_OK;
}

static iqs_status check_layer(const iqsw_view *v, uint32_t i, iqs_diag *diag)
{
    iqsw_layer l;
    iqs_iqsw_layer(v, i, &l);
    const char *name = str_at(v, l.name);
    if (!name)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u: name offset %u outside the string "
                            "table or unterminated",
                            i, l.name);
    if (l.op >= IQSW_OP_COUNT_)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                            "layer %u (%s): unknown op %u", i, name, l.op);
    if (l.act > IQSW_ACT_SOFTMAX)
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                            "layer %u (%s): unknown activation %u", i, name,
                            l.act);
    if ((i == 0) != (l.op == IQSW_OP_INPUT))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): the INPUT layer must be layer 0 "
                            "and only there",
                            i, name);
    uint32_t lo = 1, hi = 1;
    if (l.op == IQSW_OP_INPUT)
        lo = hi = 0;
    else if (l.op == IQSW_OP_CONV)
        hi = 2;
    else if (l.op == IQSW_OP_CONCAT)
        lo = 2, hi = 4;
    if (l.n_in < lo || l.n_in > hi)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): %u inputs, op %u takes %u..%u", i,
                            name, l.n_in, l.op, lo, hi);
    for (uint32_t k = 0; k < 4; k++) {
        if (k < l.n_in ? l.in[k] >= i : l.in[k] != IQSW_NONE)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "layer %u (%s): input %u is %u (must be an "
                                "earlier layer, or none past n_in %u)",
                                i, name, k, l.in[k], l.n_in);
    }
    int has_kernel = l.op == IQSW_OP_CONV || l.op == IQSW_OP_MAXPOOL ||
                     l.op == IQSW_OP_AVGPOOL;
    if (has_kernel &&
        (l.kh < 1 || l.kw < 1 || l.sh < 1 || l.sw < 1 || l.pt >= l.kh ||
         l.pb >= l.kh || l.pl >= l.kw || l.pr >= l.kw))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): kernel %ux%u stride %ux%u pads "
                            "%u,%u,%u,%u (kernel, stride >= 1, pads < kernel)",
                            i, name, l.kh, l.kw, l.sh, l.sw, l.pt, l.pl, l.pb,
                            l.pr);
    int weighted = l.op == IQSW_OP_CONV || l.op == IQSW_OP_DENSE;
    if ((l.act == IQSW_ACT_SOFTMAX && l.op != IQSW_OP_DENSE) ||
        (l.act != IQSW_ACT_NONE && !weighted))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): activation %u on op %u", i, name,
                            l.act, l.op);
    if (!weighted) {
        if (l.weight != IQSW_NONE || l.bias != IQSW_NONE)
            return iqs_diag_set(diag, IQS_E_FORMAT,
                                "layer %u (%s): op %u has no weights but "
                                "references tensors %u/%u",
                                i, name, l.op, l.weight, l.bias);
        return IQS_OK;
    }
    if (l.out_c < 1)
        return iqs_diag_set(diag, IQS_E_FORMAT, "layer %u (%s): out_c is 0",
                            i, name);
    iqsw_tensor t;
    IQS_TRY(check_ref(v, i, name, "weight", l.weight,
                      l.op == IQSW_OP_CONV ? 4 : 2, l.out_c, 0, &t, diag));
    if (l.op == IQSW_OP_CONV && (t.dims[2] != l.kh || t.dims[3] != l.kw))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): kernel %ux%u but weight tensor "
                            "%u (%s) is %ux%ux%ux%u",
                            i, name, l.kh, l.kw, l.weight, tensor_name(v, &t),
                            t.dims[0], t.dims[1], t.dims[2], t.dims[3]);
    IQS_TRY(check_ref(v, i, name, "bias", l.bias, 1, l.out_c, 1, &t, diag));
    if (l.op == IQSW_OP_CONV && l.n_in == 2 && !isfinite(l.scale))
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer %u (%s): residual scale is not finite", i,
                            name);
    return IQS_OK;
}

static iqs_status check_layers(const iqsw_view *v, iqs_diag *diag)
{
    const iqsw_header *h = &v->h;
    if (h->layer_count < 2)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "layer table has %u layers (needs an input and "
                            "an output)",
                            h->layer_count);
    for (uint32_t i = 0; i < h->layer_count; i++)
        IQS_TRY(check_layer(v, i, diag));
    iqsw_layer last;
    iqs_iqsw_layer(v, h->layer_count - 1, &last);
    if (last.op != IQSW_OP_DENSE || last.out_c != h->classes)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "last layer (op %u, %u outputs) is not a dense "
                            "layer with the header's %u classes",
                            last.op, last.out_c, h->classes);
    return IQS_OK;
}

iqs_status iqs_iqsw_open(const void *data, size_t size, unsigned flags,
                         iqsw_view *out, iqs_diag *diag)
{
    if (!out)
        return iqs_diag_set(diag, IQS_E_ARG, "NULL output view");
    memset(out, 0, sizeof *out);
    if (!data)
        return iqs_diag_set(diag, IQS_E_ARG, "NULL weights buffer");
    if ((uintptr_t)data % IQSW_ALIGN != 0)
        return iqs_diag_set(diag, IQS_E_ARG,
                            "weights buffer is not %u-byte aligned",
                            IQSW_ALIGN);
    if (!iqs_host_is_le())
        return iqs_diag_set(diag, IQS_E_ENDIAN,
                            "IQSW files are little-endian; this host is not");
    const uint8_t *p = data;
    if (size < 4 || memcmp(p, IQSW_MAGIC, 4) != 0)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "not an IQSW file (bad magic at byte 0)");
    if (size < 8)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "truncated: %llu bytes, no version", ULL(size));
    uint16_t major = iqs_rd16(p + IQSW_H_MAJOR);
    if (major != IQSW_MAJOR)
        return iqs_diag_set(diag, IQS_E_VERSION,
                            "IQSW major version %u, this reader supports %u",
                            major, IQSW_MAJOR);
    if (size < IQSW_HEADER_SIZE)
        return iqs_diag_set(diag, IQS_E_FORMAT,
                            "truncated: %llu bytes, the header needs %u",
                            ULL(size), IQSW_HEADER_SIZE);

    iqsw_view v = {.base = p, .size = size};
    get_header(p, &v.h);
    IQS_TRY(check_geometry(&v, diag));

    uint32_t crc = iqs_crc32(0, p, IQSW_H_CRC_META);
    crc = iqs_crc32(crc, p + v.h.header_size,
                    (size_t)(v.h.data_off - v.h.header_size));
    if (crc != v.h.crc_meta)
        return iqs_diag_set(diag, IQS_E_CHECKSUM,
                            "header/table CRC mismatch: stored %08x, "
                            "computed %08x",
                            v.h.crc_meta, crc);

    IQS_TRY(check_fields(&v, diag));
    IQS_TRY(check_tensors(&v, diag));
    IQS_TRY(check_layers(&v, diag));

    if (!(flags & IQSW_READ_SKIP_DATA_CRC)) {
        crc = iqs_crc32(0, p + v.h.data_off, (size_t)v.h.data_size);
        if (crc != v.h.crc_data)
            return iqs_diag_set(diag, IQS_E_CHECKSUM,
                                "data CRC mismatch over [%llu, %llu): stored "
                                "%08x, computed %08x",
                                ULL(v.h.data_off), ULL(v.h.file_size),
                                v.h.crc_data, crc);
    }
    *out = v;
    iqs_diag_ok(diag);
    return IQS_OK;
}

void iqs_iqsw_tensor(const iqsw_view *v, uint32_t i, iqsw_tensor *out)
{
    const uint8_t *r = v->base + v->h.tensors_off + (size_t)i * v->h.tensor_rec;
    out->name = iqs_rd32(r + IQSW_T_NAME);
    out->dtype = iqs_rd32(r + IQSW_T_DTYPE);
    out->rank = iqs_rd32(r + IQSW_T_RANK);
    for (int d = 0; d < 4; d++)
        out->dims[d] = iqs_rd32(r + IQSW_T_DIMS + 4 * d);
    out->offset = iqs_rd64(r + IQSW_T_OFFSET);
    out->bytes = iqs_rd64(r + IQSW_T_BYTES);
}

void iqs_iqsw_layer(const iqsw_view *v, uint32_t i, iqsw_layer *out)
{
    const uint8_t *r = v->base + v->h.layers_off + (size_t)i * v->h.layer_rec;
    out->name = iqs_rd32(r + IQSW_L_NAME);
    out->op = iqs_rd16(r + IQSW_L_OP);
    out->act = iqs_rd16(r + IQSW_L_ACT);
    out->n_in = iqs_rd32(r + IQSW_L_N_IN);
    for (int k = 0; k < 4; k++)
        out->in[k] = iqs_rd32(r + IQSW_L_IN + 4 * k);
    out->out_c = iqs_rd32(r + IQSW_L_OUT_C);
    out->kh = iqs_rd16(r + IQSW_L_KH);
    out->kw = iqs_rd16(r + IQSW_L_KW);
    out->sh = iqs_rd16(r + IQSW_L_SH);
    out->sw = iqs_rd16(r + IQSW_L_SW);
    out->pt = iqs_rd16(r + IQSW_L_PT);
    out->pl = iqs_rd16(r + IQSW_L_PL);
    out->pb = iqs_rd16(r + IQSW_L_PB);
    out->pr = iqs_rd16(r + IQSW_L_PR);
    out->scale = iqs_rdf32(r + IQSW_L_SCALE);
    out->weight = iqs_rd32(r + IQSW_L_WEIGHT);
    out->bias = iqs_rd32(r + IQSW_L_BIAS);
}

const char *iqs_iqsw_string(const iqsw_view *v, uint32_t off)
{
    return str_at(v, off);
}

const float *iqs_iqsw_data(const iqsw_view *v, uint32_t tensor_id)
{
    iqsw_tensor t;
    iqs_iqsw_tensor(v, tensor_id, &t);
    return (const float *)(const void *)(v->base + t.offset);
}
