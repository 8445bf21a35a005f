/*
 * Shape inference and workspace planning (layer: net).
 *
 * Every layer's output lives in a "root" buffer:
 *  - a layer whose only consumer is a CONCAT writes straight into its
 *    channel slice of the concat's buffer (CHW makes a slice contiguous), so
 *    concatenation costs nothing;
 *  - a residual conv whose shortcut input dies with it reuses the shortcut's
 *    buffer (the GEMM accumulates onto it in place);
 *  - any other layer owns a buffer.
 * Root buffers get a lifetime [first write, last read] and are packed into
 * one arena greedily (largest first, lowest offset that does not overlap a
 * buffer alive at the same time). One im2col scratch, the maximum over all
 * convs, follows the arena.
 */
#include "net/net.h"

#include <string.h>

#include "base/common.h"
#include "ops/ops.h"

#define MAX_FLOATS ((size_t)1 << 31) /* per buffer; 8 GiB */

size_t iqs_net_mem_size(uint32_t n)
{
    return iqs_align_up((size_t)n * sizeof(iqs_net_layer), 16) +
           (size_t)n * 6 * sizeof(uint32_t);
}

void iqs_net_init(iqs_net *net, uint32_t n, void *mem)
{
    memset(net, 0, sizeof *net);
    net->n = n;
    net->layers = mem;
    net->tmp = (uint32_t *)((char *)mem +
                            iqs_align_up((size_t)n * sizeof(iqs_net_layer), 16));
}

static iqs_status bad(iqs_diag *d, uint32_t i, const char *what)
{
    return iqs_diag_set(d, IQS_E_FORMAT, "layer %u: %s", i, what);
}

/* Output size of a window op along one axis; 0 when impossible. */
static uint32_t out_dim(uint32_t in, uint32_t k, uint32_t s, uint32_t p0,
                        uint32_t p1)
{
    uint64_t padded = (uint64_t)in + p0 + p1;
    if (k == 0 || s == 0 || padded < k)
        return 0;
    return (uint32_t)((padded - k) / s + 1);
}

static iqs_status infer_shapes(iqs_net *net, uint32_t in_h, uint32_t in_w,
                               iqs_diag *d)
{
    for (uint32_t i = 0; i < net->n; i++) {
        iqs_net_layer *L = &net->layers[i];
        const iqsw_layer *l = &L->l;
        const iqs_net_layer *A = l->n_in ? &net->layers[l->in[0]] : NULL;
        switch (l->op) {
        case IQSW_OP_INPUT:
            if (i != 0 || l->out_c != 3)
                return bad(d, i, "input must be layer 0 with 3 channels");
            L->c = 3, L->h = in_h, L->w_ = in_w;
            break;
        case IQSW_OP_CONV:
            if (!L->w || !L->b || L->wrank != 4 || L->wdims[0] != l->out_c ||
                L->wdims[1] != A->c || L->wdims[2] != l->kh ||
                L->wdims[3] != l->kw || L->bdims0 != l->out_c)
                return bad(d, i, "conv weight shape does not match its input");
            L->c = l->out_c;
            L->h = out_dim(A->h, l->kh, l->sh, l->pt, l->pb);
            L->w_ = out_dim(A->w_, l->kw, l->sw, l->pl, l->pr);
            if (l->n_in == 2) {
                const iqs_net_layer *R = &net->layers[l->in[1]];
                if (R->c != L->c || R->h != L->h || R->w_ != L->w_)
                    return bad(d, i, "residual shape differs from conv output");
            }
            break;
        case IQSW_OP_MAXPOOL:
        case IQSW_OP_AVGPOOL:
            L->c = A->c;
            L->h = out_dim(A->h, l->kh, l->sh, l->pt, l->pb);
            L->w_ = out_dim(A->w_, l->kw, l->sw, l->pl, l->pr);
            break;
        case IQSW_OP_CONCAT: {
            uint64_t c = 0;
            for (uint32_t k = 0; k < l->n_in; k++) {
                const iqs_net_layer *B = &net->layers[l->in[k]];
                if (B->h != A->h || B->w_ != A->w_)
                    return bad(d, i, "concat inputs differ in height/width");
                c += B->c;
            }
            if (c > IQSW_MAX_DIM)
                return bad(d, i, "too many channels");
            L->c = (uint32_t)c, L->h = A->h, L->w_ = A->w_;
            break;
        }
        case IQSW_OP_GAP:
            L->c = A->c, L->h = 1, L->w_ = 1;
            break;
        case IQSW_OP_DENSE:
            if (A->h != 1 || A->w_ != 1)
                return bad(d, i, "dense input is not a vector");
            if (!L->w || !L->b || L->wrank != 2 || L->wdims[0] != l->out_c ||
                L->wdims[1] != A->c || L->bdims0 != l->out_c)
                return bad(d, i, "dense weight shape does not match its input");
            L->c = l->out_c, L->h = 1, L->w_ = 1;
            break;
        default:
            return bad(d, i, "unknown op");
        }
        if (L->h == 0 || L->w_ == 0 || L->c == 0)
            return bad(d, i, "input too small for this layer");
        if ((uint64_t)L->c * L->h * L->w_ > MAX_FLOATS)
            return iqs_diag_set(d, IQS_E_LIMIT, "layer %u: activation too large", i);
    }
    const iqsw_layer *last = &net->layers[net->n - 1].l;
    if (net->n < 2 || last->op != IQSW_OP_DENSE || last->act != IQSW_ACT_SOFTMAX)
        return bad(d, net->n - 1, "the last layer must be a dense softmax");
    return IQS_OK;
}

static size_t floats(const iqs_net_layer *L)
{
    return (size_t)L->c * L->h * L->w_;
}

iqs_status iqs_net_plan(iqs_net *net, uint32_t in_h, uint32_t in_w,
                        iqs_diag *d)
{
    const uint32_t n = net->n;
    uint32_t *nuse = net->tmp;        /* consumers per layer          */
    uint32_t *last = nuse + n;        /* last consumer (or self)      */
    uint32_t *cons = last + n;        /* the consumer, when only one  */
    uint32_t *start = cons + n;       /* per root: first write        */
    uint32_t *end = start + n;        /* per root: last read          */
    uint32_t *rank = end + n;         /* roots sorted by size         */
    iqs_net_layer *L = net->layers;

    if (n == 0)
        return iqs_diag_set(d, IQS_E_FORMAT, "empty layer table");
    IQS_TRY(infer_shapes(net, in_h, in_w, d));

    for (uint32_t i = 0; i < n; i++)
        nuse[i] = 0, last[i] = i, cons[i] = IQSW_NONE;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < L[i].l.n_in; k++) {
            uint32_t p = L[i].l.in[k];
            nuse[p]++;
            last[p] = i; /* i increases, so this ends as the last reader */
            cons[p] = i;
        }

    /* Concat slices, decided from the output backwards so a concat knows
     * its own place before its producers ask for it. */
    for (uint32_t i = n; i-- > 0;) {
        L[i].root = i;
        L[i].root_off = 0;
        if (nuse[i] != 1 || i == 0)
            continue;
        const iqs_net_layer *Q = &L[cons[i]];
        if (Q->l.op != IQSW_OP_CONCAT)
            continue;
        size_t coff = 0;
        for (uint32_t k = 0; k < Q->l.n_in && Q->l.in[k] != i; k++)
            coff += (size_t)L[Q->l.in[k]].c * Q->h * Q->w_;
        L[i].root = Q->root;
        L[i].root_off = Q->root_off + coff;
    }
    /* In-place residuals: reuse the shortcut's whole buffer when the
     * shortcut is read last by this conv and is not itself a slice. */
    for (uint32_t i = 1; i < n; i++) {
        iqs_net_layer *R = &L[i];
        if (R->l.op != IQSW_OP_CONV || R->l.n_in != 2 || R->root != i)
            continue;
        uint32_t x = R->l.in[1];
        if (last[x] != i || L[x].root_off != 0 || floats(&L[L[x].root]) != floats(R))
            continue;
        R->root = L[x].root;
    }
    /* Lifetimes per root. */
    for (uint32_t i = 0; i < n; i++)
        start[i] = IQSW_NONE, end[i] = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = L[i].root;
        if (i < start[r])
            start[r] = i;
        if (last[i] > end[r])
            end[r] = last[i];
        if (i > end[r])
            end[r] = i;
    }
    /* Roots by size, largest first (insertion sort: n is a few hundred). */
    uint32_t nr = 0;
    net->peak_floats = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (L[i].root != i)
            continue;
        size_t sz = floats(&L[i]);
        net->peak_floats += sz;
        uint32_t k = nr++;
        while (k > 0 && floats(&L[rank[k - 1]]) < sz) {
            rank[k] = rank[k - 1];
            k--;
        }
        rank[k] = i;
    }
    /* Greedy placement; offsets in floats, aligned to 16 floats (64 B).
     * For each root try the lowest offset past every conflicting placed
     * root that it would overlap. Root offsets are kept in start[] of the
     * placed roots' ... separate storage: reuse `cons` (no longer needed). */
    uint32_t *placed_off = cons; /* in units of 16 floats */
    size_t arena = 0;
    for (uint32_t a = 0; a < nr; a++) {
        uint32_t r = rank[a];
        size_t sz = iqs_align_up(floats(&L[r]), 16);
        size_t off = 0;
        int moved = 1;
        while (moved) {
            moved = 0;
            for (uint32_t b = 0; b < a; b++) {
                uint32_t q = rank[b];
                if (end[q] < start[r] || end[r] < start[q])
                    continue; /* not alive together */
                size_t qo = (size_t)placed_off[q] * 16;
                size_t qs = iqs_align_up(floats(&L[q]), 16);
                if (off < qo + qs && qo < off + sz) {
                    off = qo + qs;
                    moved = 1;
                }
            }
        }
        if (off / 16 > UINT32_MAX)
            return iqs_diag_set(d, IQS_E_LIMIT, "workspace too large");
        placed_off[r] = (uint32_t)(off / 16);
        if (off + sz > arena)
            arena = off + sz;
    }
    for (uint32_t i = 0; i < n; i++)
        L[i].off = (size_t)placed_off[L[i].root] * 16 + L[i].root_off;
    net->arena_floats = arena;

    /* One im2col scratch for all convs, plus room for dense logits. */
    size_t col = 0;
    for (uint32_t i = 0; i < n; i++) {
        const iqs_net_layer *C = &L[i];
        size_t s = 0;
        if (C->l.op == IQSW_OP_CONV) {
            const iqs_net_layer *A = &L[C->l.in[0]];
            iqs_conv_desc cd = { (int)A->c, (int)A->h, (int)A->w_,
                                 (int)C->c, (int)C->h, (int)C->w_,
                                 (int)C->l.kh, (int)C->l.kw, (int)C->l.sh, (int)C->l.sw,
                                 (int)C->l.pt, (int)C->l.pl, (int)C->l.pb, (int)C->l.pr,
                                 IQS_ACT_NONE, 0.0f };
            s = iqs_conv2d_scratch_size(&cd);
        } else if (C->l.op == IQSW_OP_DENSE) {
            s = (size_t)C->c * sizeof(float);
        }
        if (s > col)
            col = s;
    }
    net->col_bytes = iqs_align_up(col, 64);
    net->ws_bytes = arena * sizeof(float) + net->col_bytes + 64;
    return IQS_OK;
}
