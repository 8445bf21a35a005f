/*
 * The hand-written architectures (layer: net): InceptionResNetV2 and
 * InceptionV3 trunks written the way keras/applications builds them, then
 * put in canonical order so they can be compared with a file's table.
 * Also the canonical-order function shared with tools/convert_pb.
 */
#include "net/arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- builder */

/* A growing table; on overflow `bad` is set and later calls do nothing. */
typedef struct builder {
    iqsw_layer *l;
    uint32_t n, cap;
    int bad;
} builder;

static uint32_t push(builder *b, const iqsw_layer *l)
{
    if (b->n >= b->cap) {
        b->bad = 1;
        return 0;
    }
    b->l[b->n] = *l;
    return b->n++;
}

static iqsw_layer blank(uint32_t op)
{
    iqsw_layer l;
    memset(&l, 0, sizeof l);
    l.op = op;
    for (int i = 0; i < 4; i++)
        l.in[i] = IQSW_NONE;
    l.weight = IQSW_NONE;
    l.bias = IQSW_NONE;
    return l;
}

/* Keras 'same' for stride 1: total k-1, the extra cell (if any) at the end. */
static void same_pads(iqsw_layer *l)
{
    l->pt = (l->kh - 1) / 2;
    l->pb = (l->kh - 1) - l->pt;
    l->pl = (l->kw - 1) / 2;
    l->pr = (l->kw - 1) - l->pl;
}

/* conv2d_bn: Conv2D(no bias) -> BN(scale=False) -> ReLU; BN folds into a
 * biased conv. `valid` selects padding='valid'; every strided conv in these
 * networks is valid, so SAME pads never depend on the input size. */
static uint32_t conv(builder *b, uint32_t x, uint32_t oc, uint32_t kh,
                     uint32_t kw, uint32_t stride, int valid)
{
    iqsw_layer l = blank(IQSW_OP_CONV);
    l.n_in = 1;
    l.in[0] = x;
    l.out_c = oc;
    l.kh = kh;
    l.kw = kw;
    l.sh = l.sw = stride;
    l.act = IQSW_ACT_RELU;
    if (!valid)
        same_pads(&l);
    return push(b, &l);
}

static uint32_t pool(builder *b, uint32_t op, uint32_t x, uint32_t k,
                     uint32_t stride, int valid)
{
    iqsw_layer l = blank(op);
    l.n_in = 1;
    l.in[0] = x;
    l.kh = l.kw = k;
    l.sh = l.sw = stride;
    if (!valid)
        same_pads(&l);
    return push(b, &l);
}

static uint32_t concat(builder *b, uint32_t n, const uint32_t *xs)
{
    iqsw_layer l = blank(IQSW_OP_CONCAT);
    l.n_in = n;
    for (uint32_t i = 0; i < n; i++)
        l.in[i] = xs[i];
    return push(b, &l);
}

/* <block>_conv (1x1, bias, no BN) with the scaled residual folded in:
 * out = act(x + scale * conv(mixed)). */
static uint32_t residual(builder *b, uint32_t mixed, uint32_t x, uint32_t oc,
                         float scale, int relu)
{
    iqsw_layer l = blank(IQSW_OP_CONV);
    l.n_in = 2;
    l.in[0] = mixed;
    l.in[1] = x;
    l.out_c = oc;
    l.kh = l.kw = l.sh = l.sw = 1;
    l.scale = scale;
    l.act = relu ? IQSW_ACT_RELU : IQSW_ACT_NONE;
    return push(b, &l);
}

static uint32_t input(builder *b)
{
    iqsw_layer l = blank(IQSW_OP_INPUT);
    l.out_c = 3;
    return push(b, &l);
}

static uint32_t gap(builder *b, uint32_t x)
{
    iqsw_layer l = blank(IQSW_OP_GAP);
    l.n_in = 1;
    l.in[0] = x;
    return push(b, &l);
}

/* ------------------------------------------------- InceptionResNetV2 */

static uint32_t irv2_block(builder *b, uint32_t x, int type, float scale,
                           int relu)
{
    uint32_t br[3], nb;
    uint32_t c;
    if (type == 35) {
        br[0] = conv(b, x, 32, 1, 1, 1, 0);
        c = conv(b, x, 32, 1, 1, 1, 0);
        br[1] = conv(b, c, 32, 3, 3, 1, 0);
        c = conv(b, x, 32, 1, 1, 1, 0);
        c = conv(b, c, 48, 3, 3, 1, 0);
        br[2] = conv(b, c, 64, 3, 3, 1, 0);
        nb = 3;
        c = 320;
    } else if (type == 17) {
        br[0] = conv(b, x, 192, 1, 1, 1, 0);
        c = conv(b, x, 128, 1, 1, 1, 0);
        c = conv(b, c, 160, 1, 7, 1, 0);
        br[1] = conv(b, c, 192, 7, 1, 1, 0);
        nb = 2;
        c = 1088;
    } else {
        br[0] = conv(b, x, 192, 1, 1, 1, 0);
        c = conv(b, x, 192, 1, 1, 1, 0);
        c = conv(b, c, 224, 1, 3, 1, 0);
        br[1] = conv(b, c, 256, 3, 1, 1, 0);
        nb = 2;
        c = 2080;
    }
    uint32_t mixed = concat(b, nb, br);
    return residual(b, mixed, x, c, scale, relu);
}

/* The stem both Keras applications share: input to 192 channels at 1/8. */
static uint32_t stem(builder *b)
{
    uint32_t x = input(b);
    x = conv(b, x, 32, 3, 3, 2, 1);
    x = conv(b, x, 32, 3, 3, 1, 1);
    x = conv(b, x, 64, 3, 3, 1, 0);
    x = pool(b, IQSW_OP_MAXPOOL, x, 3, 2, 1);
    x = conv(b, x, 80, 1, 1, 1, 1);
    x = conv(b, x, 192, 3, 3, 1, 1);
    return pool(b, IQSW_OP_MAXPOOL, x, 3, 2, 1);
}

static void build_irv2(builder *b)
{
    uint32_t x = stem(b), br[4], t;
    /* mixed_5b */
    br[0] = conv(b, x, 96, 1, 1, 1, 0);
    t = conv(b, x, 48, 1, 1, 1, 0);
    br[1] = conv(b, t, 64, 5, 5, 1, 0);
    t = conv(b, x, 64, 1, 1, 1, 0);
    t = conv(b, t, 96, 3, 3, 1, 0);
    br[2] = conv(b, t, 96, 3, 3, 1, 0);
    t = pool(b, IQSW_OP_AVGPOOL, x, 3, 1, 0);
    br[3] = conv(b, t, 64, 1, 1, 1, 0);
    x = concat(b, 4, br);
    for (int i = 0; i < 10; i++)
        x = irv2_block(b, x, 35, 0.17f, 1);
    /* mixed_6a */
    br[0] = conv(b, x, 384, 3, 3, 2, 1);
    t = conv(b, x, 256, 1, 1, 1, 0);
    t = conv(b, t, 256, 3, 3, 1, 0);
    br[1] = conv(b, t, 384, 3, 3, 2, 1);
    br[2] = pool(b, IQSW_OP_MAXPOOL, x, 3, 2, 1);
    x = concat(b, 3, br);
    for (int i = 0; i < 20; i++)
        x = irv2_block(b, x, 17, 0.1f, 1);
    /* mixed_7a */
    t = conv(b, x, 256, 1, 1, 1, 0);
    br[0] = conv(b, t, 384, 3, 3, 2, 1);
    t = conv(b, x, 256, 1, 1, 1, 0);
    br[1] = conv(b, t, 288, 3, 3, 2, 1);
    t = conv(b, x, 256, 1, 1, 1, 0);
    t = conv(b, t, 288, 3, 3, 1, 0);
    br[2] = conv(b, t, 320, 3, 3, 2, 1);
    br[3] = pool(b, IQSW_OP_MAXPOOL, x, 3, 2, 1);
    x = concat(b, 4, br);
    for (int i = 0; i < 9; i++)
        x = irv2_block(b, x, 8, 0.2f, 1);
    x = irv2_block(b, x, 8, 1.0f, 0);
    x = conv(b, x, 1536, 1, 1, 1, 0); /* conv_7b */
    gap(b, x);
}

/* -------------------------------------------------------- InceptionV3 */

static uint32_t v3_block35(builder *b, uint32_t x, uint32_t pool_c)
{
    uint32_t br[4], t;
    br[0] = conv(b, x, 64, 1, 1, 1, 0);
    t = conv(b, x, 48, 1, 1, 1, 0);
    br[1] = conv(b, t, 64, 5, 5, 1, 0);
    t = conv(b, x, 64, 1, 1, 1, 0);
    t = conv(b, t, 96, 3, 3, 1, 0);
    br[2] = conv(b, t, 96, 3, 3, 1, 0);
    t = pool(b, IQSW_OP_AVGPOOL, x, 3, 1, 0);
    br[3] = conv(b, t, pool_c, 1, 1, 1, 0);
    return concat(b, 4, br);
}

static uint32_t v3_block17(builder *b, uint32_t x, uint32_t c7)
{
    uint32_t br[4], t;
    br[0] = conv(b, x, 192, 1, 1, 1, 0);
    t = conv(b, x, c7, 1, 1, 1, 0);
    t = conv(b, t, c7, 1, 7, 1, 0);
    br[1] = conv(b, t, 192, 7, 1, 1, 0);
    t = conv(b, x, c7, 1, 1, 1, 0);
    t = conv(b, t, c7, 7, 1, 1, 0);
    t = conv(b, t, c7, 1, 7, 1, 0);
    t = conv(b, t, c7, 7, 1, 1, 0);
    br[2] = conv(b, t, 192, 1, 7, 1, 0);
    t = pool(b, IQSW_OP_AVGPOOL, x, 3, 1, 0);
    br[3] = conv(b, t, 192, 1, 1, 1, 0);
    return concat(b, 4, br);
}

static uint32_t v3_block8(builder *b, uint32_t x)
{
    uint32_t br[4], t, pair[2];
    br[0] = conv(b, x, 320, 1, 1, 1, 0);
    t = conv(b, x, 384, 1, 1, 1, 0);
    pair[0] = conv(b, t, 384, 1, 3, 1, 0);
    pair[1] = conv(b, t, 384, 3, 1, 1, 0);
    br[1] = concat(b, 2, pair); /* mixed9_<i> */
    t = conv(b, x, 448, 1, 1, 1, 0);
    t = conv(b, t, 384, 3, 3, 1, 0);
    pair[0] = conv(b, t, 384, 1, 3, 1, 0);
    pair[1] = conv(b, t, 384, 3, 1, 1, 0);
    br[2] = concat(b, 2, pair); /* unnamed concatenate */
    t = pool(b, IQSW_OP_AVGPOOL, x, 3, 1, 0);
    br[3] = conv(b, t, 192, 1, 1, 1, 0);
    return concat(b, 4, br);
}

static void build_v3(builder *b)
{
    uint32_t x = stem(b), br[3], t;
    x = v3_block35(b, x, 32); /* mixed0 */
    x = v3_block35(b, x, 64); /* mixed1 */
    x = v3_block35(b, x, 64); /* mixed2 */
    /* mixed3 */
    br[0] = conv(b, x, 384, 3, 3, 2, 1);
    t = conv(b, x, 64, 1, 1, 1, 0);
    t = conv(b, t, 96, 3, 3, 1, 0);
    br[1] = conv(b, t, 96, 3, 3, 2, 1);
    br[2] = pool(b, IQSW_OP_MAXPOOL, x, 3, 2, 1);
    x = concat(b, 3, br);
    x = v3_block17(b, x, 128); /* mixed4 */
    x = v3_block17(b, x, 160); /* mixed5 */
    x = v3_block17(b, x, 160); /* mixed6 */
    x = v3_block17(b, x, 192); /* mixed7 */
    /* mixed8 */
    t = conv(b, x, 192, 1, 1, 1, 0);
    br[0] = conv(b, t, 320, 3, 3, 2, 1);
    t = conv(b, x, 192, 1, 1, 1, 0);
    t = conv(b, t, 192, 1, 7, 1, 0);
    t = conv(b, t, 192, 7, 1, 1, 0);
    br[1] = conv(b, t, 192, 3, 3, 2, 1);
    br[2] = pool(b, IQSW_OP_MAXPOOL, x, 3, 2, 1);
    x = concat(b, 3, br);
    x = v3_block8(b, x); /* mixed9 */
    x = v3_block8(b, x); /* mixed10 */
    gap(b, x);
}

/* ------------------------------------------------------ canonical order */

int iqs_arch_canonicalize(const iqsw_layer *layers, uint32_t n,
                          uint32_t *order, uint32_t *scratch)
{
    if (n == 0 || layers[0].op != IQSW_OP_INPUT)
        return 0;
    uint32_t *state = scratch;      /* 0 new, 1 on stack, 2 emitted; then next input */
    uint32_t *stack = scratch + n;  /* DFS stack of layer ids */
    for (uint32_t i = 0; i < n; i++) {
        const iqsw_layer *l = &layers[i];
        if (l->n_in > 4)
            return 0;
        for (uint32_t k = 0; k < l->n_in; k++)
            if (l->in[k] >= i)
                return 0;
        state[i] = 0;
    }
    uint32_t emitted = 0, sp = 0;
    order[emitted++] = 0;
    if (n == 1)
        return 1; /* the input alone: it is also the output */
    state[0] = 2u << 8; /* emitted */
    /* state[i] = (phase << 8) | next-input-index; phase 1 = on stack. */
    stack[sp++] = n - 1;
    state[n - 1] = 1u << 8;
    while (sp > 0) {
        uint32_t id = stack[sp - 1];
        uint32_t next = state[id] & 0xFFu;
        const iqsw_layer *l = &layers[id];
        if (next < l->n_in) {
            uint32_t in = l->in[next];
            state[id] = (1u << 8) | (next + 1);
            if ((state[in] >> 8) == 0) {
                state[in] = 1u << 8;
                stack[sp++] = in; /* at most n entries: each id pushed once */
            }
            continue;
        }
        order[emitted++] = id;
        state[id] = 2u << 8;
        sp--;
    }
    return emitted == n;
}

/* ------------------------------------------------------------ matching */

const char *iqs_arch_name(uint32_t arch)
{
    switch (arch) {
    case IQSW_ARCH_INCEPTION_RESNET_V2: return "inception_resnet_v2";
    case IQSW_ARCH_INCEPTION_V3: return "inception_v3";
    default: return NULL;
    }
}

uint32_t iqs_arch_build(uint32_t arch, iqsw_layer *out, uint32_t cap)
{
    iqsw_layer tmp[IQS_ARCH_MAX_LAYERS];
    uint32_t order[IQS_ARCH_MAX_LAYERS], scratch[2 * IQS_ARCH_MAX_LAYERS];
    uint32_t remap[IQS_ARCH_MAX_LAYERS];
    builder b = { tmp, 0, IQS_ARCH_MAX_LAYERS, 0 };
    if (arch == IQSW_ARCH_INCEPTION_RESNET_V2)
        build_irv2(&b);
    else if (arch == IQSW_ARCH_INCEPTION_V3)
        build_v3(&b);
    else
        return 0;
    if (b.bad || b.n > cap || !iqs_arch_canonicalize(tmp, b.n, order, scratch))
        return 0;
    for (uint32_t k = 0; k < b.n; k++)
        remap[order[k]] = k;
    for (uint32_t k = 0; k < b.n; k++) {
        out[k] = tmp[order[k]];
        for (uint32_t i = 0; i < out[k].n_in; i++)
            out[k].in[i] = remap[out[k].in[i]];
    }
    return b.n;
}

static const char *op_name(uint32_t op)
{
    static const char *const names[] = { "input", "conv", "maxpool", "avgpool",
                                         "concat", "gap", "dense" };
    return op < IQSW_OP_COUNT_ ? names[op] : "unknown";
}

static int describe(char *why, size_t len, uint32_t i, const iqsw_layer *e,
                    const iqsw_layer *f, const char *what)
{
    if (why && len)
        snprintf(why, len,
                 "layer %u: expected %s %ux%u/%u out %u, found %s %ux%u/%u out %u (%s differs)",
                 i, op_name(e->op), e->kh, e->kw, e->sh, e->out_c, op_name(f->op),
                 f->kh, f->kw, f->sh, f->out_c, what);
    return 0;
}

static int match_layer(uint32_t i, const iqsw_layer *e, const iqsw_layer *f,
                       char *why, size_t len)
{
    if (e->op != f->op)
        return describe(why, len, i, e, f, "op");
    if (e->n_in != f->n_in)
        return describe(why, len, i, e, f, "input count");
    for (uint32_t k = 0; k < e->n_in; k++)
        if (e->in[k] != f->in[k])
            return describe(why, len, i, e, f, "inputs");
    if (e->op == IQSW_OP_CONCAT || e->op == IQSW_OP_GAP)
        return 1;
    if (e->act != f->act)
        return describe(why, len, i, e, f, "activation");
    if (e->op != IQSW_OP_INPUT &&
        (e->kh != f->kh || e->kw != f->kw || e->sh != f->sh || e->sw != f->sw))
        return describe(why, len, i, e, f, "kernel or stride");
    if (e->pt != f->pt || e->pl != f->pl || e->pb != f->pb || e->pr != f->pr)
        return describe(why, len, i, e, f, "padding");
    if (e->out_c != f->out_c)
        return describe(why, len, i, e, f, "channels");
    if (e->op == IQSW_OP_CONV) {
        if (f->weight == IQSW_NONE || f->bias == IQSW_NONE)
            return describe(why, len, i, e, f, "weights");
        if (fabsf(e->scale - f->scale) > 1e-6f)
            return describe(why, len, i, e, f, "residual scale");
    }
    return 1;
}

int iqs_arch_match(uint32_t arch, const iqsw_layer *layers, uint32_t n,
                   char *why, size_t why_len)
{
    iqsw_layer t[IQS_ARCH_MAX_LAYERS];
    uint32_t tn = iqs_arch_build(arch, t, IQS_ARCH_MAX_LAYERS);
    if (why && why_len)
        why[0] = '\0';
    if (tn == 0) {
        if (why && why_len)
            snprintf(why, why_len, "unknown architecture id %u", arch);
        return 0;
    }
    if (n <= tn) {
        if (why && why_len)
            snprintf(why, why_len, "%u layers, fewer than the %u of the %s trunk plus a head",
                     n, tn, iqs_arch_name(arch));
        return 0;
    }
    for (uint32_t i = 0; i < tn; i++)
        if (!match_layer(i, &t[i], &layers[i], why, why_len))
            return 0;
    for (uint32_t i = tn; i < n; i++) {
        const iqsw_layer *l = &layers[i];
        int last = i == n - 1;
        if (l->op != IQSW_OP_DENSE || l->n_in != 1 || l->in[0] != i - 1 ||
            l->weight == IQSW_NONE || l->bias == IQSW_NONE ||
            (last ? l->act != IQSW_ACT_SOFTMAX : l->act == IQSW_ACT_SOFTMAX)) {
            if (why && why_len)
                snprintf(why, why_len,
                         "head layer %u: expected a chain of dense layers ending in softmax, found %s",
                         i, op_name(l->op));
            return 0;
        }
    }
    return 1;
}

int iqs_arch_identify(const iqsw_layer *layers, uint32_t n, uint32_t *arch,
                      char *why, size_t why_len)
{
    static const uint32_t known[] = { IQSW_ARCH_INCEPTION_RESNET_V2,
                                      IQSW_ARCH_INCEPTION_V3 };
    char best[200] = "";
    uint32_t convs = 0, concats = 0, residuals = 0;
    for (uint32_t i = 0; i < n; i++) {
        convs += layers[i].op == IQSW_OP_CONV;
        concats += layers[i].op == IQSW_OP_CONCAT;
        residuals += layers[i].op == IQSW_OP_CONV && layers[i].n_in == 2;
    }
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        char msg[160];
        if (iqs_arch_match(known[k], layers, n, msg, sizeof msg)) {
            *arch = known[k];
            return 1;
        }
        /* Report against the architecture with the same residual-ness. */
        if ((residuals > 0) == (known[k] == IQSW_ARCH_INCEPTION_RESNET_V2) || !best[0])
            snprintf(best, sizeof best, "%s: %s", iqs_arch_name(known[k]), msg);
    }
    if (why && why_len)
        snprintf(why, why_len,
                 "not a supported architecture: found %u layers (%u conv, %u residual, %u concat); closest %s",
                 n, convs, residuals, concats, best);
    return 0;
}
