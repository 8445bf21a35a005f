/*
 * Layer-DAG recognition (tools/convert_pb): turns a parsed frozen GraphDef
 * into the fused layer table of an IQSW file, following the data flow and
 * op types only - node names are used for nothing but the layer names kept
 * for diagnostics.
 *
 * The output is the unique node nobody consumes (Identity nodes are
 * transparent everywhere). From there a memoised depth-first walk matches
 * fusable patterns backwards (Relu <- [BiasAdd] <- [FusedBatchNorm] <-
 * [BiasAdd] <- Conv2D; Relu <- Add(shortcut, Mul(conv chain, scalar));
 * Softmax/Relu <- [BiasAdd] <- MatMul; pools; ConcatV2; Mean) and emits a
 * layer once all its inputs are emitted, visiting inputs in in[] order. The
 * emission order is therefore exactly the canonical order of
 * lib/net/arch.h (depth-first post-order from the output), so no separate
 * renumbering pass is needed. Every value fused away inside a pattern must
 * have a single consumer, otherwise folding would change another layer's
 * input. Shapes are tracked while emitting to compute SAME pads and to
 * check channel counts; cpb_model_finish re-checks them at the final input
 * size.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "convert.h"
#include "net/arch.h"

#define MAX_DEPTH 2000 /* real networks are a few hundred layers deep; each level is one C stack frame */
#define MEMO_NONE (-1)
#define MEMO_BUSY (-2)

typedef struct bctx {
    const cpb_graph *g;
    cpb_model *m;
    cpb_err *e;
    int32_t *memo;   /* per node: layer id, MEMO_NONE or MEMO_BUSY */
    uint32_t *cons;  /* per node: live data consumers              */
    uint32_t *idres; /* per Identity node: what it resolves to     */
    uint8_t *live;
    uint32_t placeholder;
    char nb[4][CPB_MAX_NAME + 1]; /* rotating buffers for node names */
    int nbk;
} bctx;

/* ------------------------------------------------------------ helpers */

static const char *nm(bctx *b, uint32_t node)
{
    char *s = b->nb[b->nbk++ & 3];
    const cpb_node *n = &b->g->nodes[node];
    snprintf(s, CPB_MAX_NAME + 1, "%.*s", (int)n->name.n,
             (const char *)n->name.p);
    return s;
}

static int op_is(const bctx *b, uint32_t node, const char *op)
{
    return cpb_str_eq(b->g->nodes[node].op, op);
}

static int is_bn(const bctx *b, uint32_t node)
{
    return op_is(b, node, "FusedBatchNorm") ||
           op_is(b, node, "FusedBatchNormV2") ||
           op_is(b, node, "FusedBatchNormV3");
}

static int is_ctrl(cpb_str s) { return s.n > 0 && s.p[0] == '^'; }

/* Number of data (non-control) inputs. */
static uint32_t n_data(const cpb_graph *g, uint32_t node)
{
    const cpb_node *n = &g->nodes[node];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->n_in; i++)
        k += !is_ctrl(g->inputs[n->first_in + i]);
    return k;
}

/* idres[] values besides a node id (the one an Identity resolves to). */
#define IDR_NONE UINT32_MAX         /* not resolved yet                    */
#define IDR_PORT (UINT32_MAX - 1u)  /* resolves to an unsupported port     */

/* The node named by input reference ref ("name[:port]") of node from. */
static iqs_status find_ref(const cpb_graph *g, uint32_t from, cpb_str ref,
                           uint32_t *out, cpb_err *e)
{
    uint32_t n = ref.n, port = 0;
    /* A trailing ":digits" is an output index. */
    uint32_t c = n;
    while (c > 0 && ref.p[c - 1] >= '0' && ref.p[c - 1] <= '9')
        c--;
    if (c > 0 && c < n && ref.p[c - 1] == ':') {
        for (uint32_t i = c; i < n && port < 100000; i++)
            port = port * 10 + (uint32_t)(ref.p[i] - '0');
        n = c - 1;
    }
    int64_t k = cpb_graph_find(g, ref.p, n);
    if (k < 0)
        return cpb_fail(e, IQS_E_FORMAT,
                        "node '%.*s' has input '%.*s', which does not exist",
                        (int)g->nodes[from].name.n,
                        (const char *)g->nodes[from].name.p, (int)ref.n,
                        (const char *)ref.p);
    if (port != 0)
        return cpb_fail(e, IQS_E_UNSUPPORTED,
                        "node '%.*s' uses output %u of node '%.*s'; only "
                        "output 0 is supported",
                        (int)g->nodes[from].name.n,
                        (const char *)g->nodes[from].name.p, port, (int)n,
                        (const char *)ref.p);
    *out = (uint32_t)k;
    return IQS_OK;
}

/* The first data input of Identity node k. */
static iqs_status identity_input(const cpb_graph *g, uint32_t k, cpb_str *ref,
                                 cpb_err *e)
{
    const cpb_node *nd = &g->nodes[k];
    uint32_t i;
    for (i = 0; i < nd->n_in && is_ctrl(g->inputs[nd->first_in + i]); i++)
        ;
    if (i == nd->n_in)
        return cpb_fail(e, IQS_E_FORMAT, "Identity '%.*s' has no input",
                        (int)nd->name.n, (const char *)nd->name.p);
    *ref = g->inputs[nd->first_in + i];
    return IQS_OK;
}

/* Resolves input reference ref of node from through Identity chains to the
 * producing node. idres (one entry per node, IDR_NONE at first) remembers
 * what each Identity on the way resolved to, so every chain is walked once
 * however many nodes consume it. Returns 0 on success, else fills e. */
static iqs_status resolve_ref(const cpb_graph *g, uint32_t *idres,
                              uint32_t from, cpb_str ref, uint32_t *out,
                              cpb_err *e)
{
    const uint32_t from0 = from;
    const cpb_str ref0 = ref;
    uint32_t target = IDR_NONE, k = 0;
    iqs_status s = IQS_OK;
    for (uint32_t steps = 0; steps <= g->n_nodes; steps++) {
        if ((s = find_ref(g, from, ref, &k, e)) != IQS_OK)
            break;
        if (!cpb_str_eq(g->nodes[k].op, "Identity")) {
            target = k;
            break;
        }
        if (idres[k] != IDR_NONE) {
            target = idres[k];
            break;
        }
        /* Identity: follow its first data input. */
        if ((s = identity_input(g, k, &ref, e)) != IQS_OK)
            break;
        from = k;
    }
    if (s == IQS_E_UNSUPPORTED)
        target = IDR_PORT;
    else if (s != IQS_OK)
        return s;
    else if (target == IDR_NONE)
        return cpb_fail(e, IQS_E_FORMAT, "cycle of Identity nodes");
    /* Second walk: every Identity up to the answer learns it. */
    from = from0;
    ref = ref0;
    while (find_ref(g, from, ref, &k, NULL) == IQS_OK &&
           cpb_str_eq(g->nodes[k].op, "Identity") && idres[k] == IDR_NONE) {
        idres[k] = target;
        if (identity_input(g, k, &ref, NULL) != IQS_OK)
            break;
        from = k;
    }
    if (target == IDR_PORT)
        return s == IQS_E_UNSUPPORTED
                   ? s
                   : cpb_fail(e, IQS_E_UNSUPPORTED,
                              "node '%.*s' reads, through Identity nodes, an "
                              "output other than 0; only output 0 is "
                              "supported",
                              (int)g->nodes[from0].name.n,
                              (const char *)g->nodes[from0].name.p);
    *out = target;
    return IQS_OK;
}

/* k-th data input of node, resolved through Identity. */
static iqs_status in_node(bctx *b, uint32_t node, uint32_t k, uint32_t *out)
{
    const cpb_node *n = &b->g->nodes[node];
    uint32_t seen = 0;
    for (uint32_t i = 0; i < n->n_in; i++) {
        cpb_str s = b->g->inputs[n->first_in + i];
        if (is_ctrl(s))
            continue;
        if (seen++ == k)
            return resolve_ref(b->g, b->idres, node, s, out, b->e);
    }
    return cpb_fail(b->e, IQS_E_FORMAT, "node '%s' (%.*s) has no input %u",
                    nm(b, node), (int)n->op.n, (const char *)n->op.p, k);
}

/* A value fused away must feed only the layer fusing it. */
static iqs_status need_single(bctx *b, uint32_t node, uint32_t user)
{
    if (b->cons[node] != 1)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "node '%s' feeds %u consumers; it can only be fused "
                        "into '%s' if that is its only one",
                        nm(b, node), b->cons[node], nm(b, user));
    return IQS_OK;
}

static iqs_status attr_fail(bctx *b, uint32_t node, const char *what)
{
    if (b->e->status != IQS_OK && b->e->msg[0])
        return b->e->status;
    return cpb_fail(b->e, IQS_E_FORMAT, "node '%s': missing or bad attr %s",
                    nm(b, node), what);
}

/* Keras layer name from a node name: drop the op suffix (last component)
 * and a leading "model/" or "model_N/" (the functional model's scope). */
static void layer_name(bctx *b, uint32_t node, char out[CPB_NAME_MAX])
{
    cpb_str s = b->g->nodes[node].name;
    uint32_t n = s.n;
    while (n > 0 && s.p[n - 1] != '/')
        n--;
    if (n > 0)
        n--; /* drop the '/' */
    else
        n = s.n; /* single component: keep it */
    const uint8_t *p = s.p;
    uint32_t slash = 0;
    while (slash < n && p[slash] != '/')
        slash++;
    if (slash < n && slash >= 5 && memcmp(p, "model", 5) == 0) {
        int ok = slash == 5 || p[5] == '_';
        for (uint32_t i = 6; ok && i < slash; i++)
            ok = p[i] >= '0' && p[i] <= '9';
        if (ok) {
            p += slash + 1;
            n -= slash + 1;
        }
    }
    snprintf(out, CPB_NAME_MAX, "%.*s", (int)n, (const char *)p);
}

/* Decodes a float Const (the node already resolved) into m->consts. */
static iqs_status get_const(bctx *b, uint32_t node, uint32_t user,
                            int32_t *idx)
{
    if (!op_is(b, node, "Const"))
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "node '%s' (input of '%s') is a %.*s, expected a "
                        "Const: is the graph frozen?",
                        nm(b, node), nm(b, user),
                        (int)b->g->nodes[node].op.n,
                        (const char *)b->g->nodes[node].op.p);
    cpb_model *m = b->m;
    if (m->n_consts == m->cap_consts) {
        uint32_t nc = m->cap_consts ? m->cap_consts * 2 : 256;
        void *p = realloc(m->consts, nc * sizeof *m->consts);
        if (!p)
            return cpb_fail(b->e, IQS_E_NOMEM, "out of memory");
        m->consts = p;
        m->cap_consts = nc;
    }
    cpb_tensor *t = &m->consts[m->n_consts];
    IQS_TRY(cpb_const_tensor(b->g, &b->g->nodes[node], t, b->e));
    if (t->dtype != CPB_DT_FLOAT) {
        int64_t dt = t->dtype;
        cpb_tensor_free(t);
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "Const '%s' (input of '%s') has dtype %s (%lld); only "
                        "float32 weights are supported",
                        nm(b, node), nm(b, user), cpb_dtype_name(dt),
                        (long long)dt);
    }
    *idx = (int32_t)m->n_consts++;
    return IQS_OK;
}

/* Integer Const values (axis, reduction indices). */
static iqs_status get_ints(bctx *b, uint32_t node, uint32_t user,
                           int64_t *out, int cap, int *n)
{
    cpb_tensor t;
    if (!op_is(b, node, "Const"))
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "'%s' needs a Const for its axes, got node '%s'",
                        nm(b, user), nm(b, node));
    IQS_TRY(cpb_const_tensor(b->g, &b->g->nodes[node], &t, b->e));
    iqs_status s = IQS_OK;
    if (t.dtype != CPB_DT_INT32 && t.dtype != CPB_DT_INT64)
        s = cpb_fail(b->e, IQS_E_UNSUPPORTED,
                     "Const '%s' (axes of '%s') has dtype %s, expected int32",
                     nm(b, node), nm(b, user), cpb_dtype_name(t.dtype));
    else if (t.numel > (uint64_t)cap)
        s = cpb_fail(b->e, IQS_E_UNSUPPORTED,
                     "Const '%s' (axes of '%s') has %llu values", nm(b, node),
                     nm(b, user), (unsigned long long)t.numel);
    else {
        *n = (int)t.numel;
        for (int i = 0; i < *n; i++)
            out[i] = cpb_tensor_i(&t, (uint64_t)i);
    }
    cpb_tensor_free(&t);
    return s;
}

static const cpb_tensor *K(const bctx *b, int32_t k)
{
    return &b->m->consts[k];
}

/* A [n] vector const. */
static iqs_status check_vec(bctx *b, int32_t k, uint64_t n, uint32_t node,
                            const char *what)
{
    const cpb_tensor *t = K(b, k);
    if (t->rank != 1 || t->numel != n)
        return cpb_fail(b->e, IQS_E_FORMAT,
                        "node '%s': %s has %d dims / %llu values, expected "
                        "[%llu]",
                        nm(b, node), what, t->rank,
                        (unsigned long long)t->numel, (unsigned long long)n);
    return IQS_OK;
}

/* --------------------------------------------------------- shapes, pads */

static iqs_status check_data_format(bctx *b, uint32_t node)
{
    cpb_str df;
    int k = cpb_attr_str(b->g, &b->g->nodes[node], "data_format", &df, b->e);
    if (k < 0)
        return IQS_E_FORMAT;
    if (k == 1 && !cpb_str_eq(df, "NHWC"))
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "node '%s': data_format %.*s, only NHWC is supported",
                        nm(b, node), (int)df.n, (const char *)df.p);
    return IQS_OK;
}

/* [1, a, b, 1] list attr into a, b. */
static iqs_status hw_attr(bctx *b, uint32_t node, const char *key, int dflt1,
                          uint32_t *a, uint32_t *c)
{
    int64_t v[8];
    int n = 0;
    int k = cpb_attr_ints(b->g, &b->g->nodes[node], key, v, 8, &n, b->e);
    if (k < 0)
        return IQS_E_FORMAT;
    if (k == 0 && dflt1) {
        *a = *c = 1;
        return IQS_OK;
    }
    if (k == 0 || n != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 ||
        v[1] > 65535 || v[2] > 65535)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "node '%s': attr %s must be [1, h, w, 1] with h, w in "
                        "1..65535",
                        nm(b, node), key);
    *a = (uint32_t)v[1];
    *c = (uint32_t)v[2];
    return IQS_OK;
}

/* TensorFlow SAME: total = max((ceil(H/s) - 1) * s + k - H, 0), the smaller
 * half before. Stride 1 does not depend on H. */
static int same_pads(uint32_t H, uint32_t k, uint32_t s, uint32_t *before,
                     uint32_t *after)
{
    uint64_t total;
    if (s == 1)
        total = k - 1;
    else if (H == 0)
        return 0;
    else {
        uint64_t out = (H + s - 1) / s;
        int64_t t = (int64_t)((out - 1) * s + k) - (int64_t)H;
        total = t > 0 ? (uint64_t)t : 0;
    }
    *before = (uint32_t)(total / 2);
    *after = (uint32_t)(total - total / 2);
    return 1;
}

/* padding attr -> explicit pads of layer L (kernel/stride already set). */
static iqs_status set_pads(bctx *b, uint32_t node, cpb_layer *L,
                           uint32_t in_h, uint32_t in_w)
{
    cpb_str pad;
    int k = cpb_attr_str(b->g, &b->g->nodes[node], "padding", &pad, b->e);
    if (k < 0)
        return IQS_E_FORMAT;
    iqsw_layer *l = &L->l;
    if (k == 1 && cpb_str_eq(pad, "VALID")) {
        l->pt = l->pl = l->pb = l->pr = 0;
        return IQS_OK;
    }
    if (k == 1 && cpb_str_eq(pad, "SAME")) {
        L->same = 1;
        if (!same_pads(in_h, l->kh, l->sh, &l->pt, &l->pb) ||
            !same_pads(in_w, l->kw, l->sw, &l->pl, &l->pr))
            return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                            "node '%s': SAME padding with stride %ux%u needs "
                            "the input size, and the graph does not fix it: "
                            "give --input-size",
                            nm(b, node), l->sh, l->sw);
        return IQS_OK;
    }
    if (k == 1 && cpb_str_eq(pad, "EXPLICIT")) {
        int64_t v[8];
        int n = 0;
        if (cpb_attr_ints(b->g, &b->g->nodes[node], "explicit_paddings", v, 8,
                          &n, b->e) == 1 &&
            n == 8 && !v[0] && !v[1] && !v[6] && !v[7] && v[2] >= 0 &&
            v[3] >= 0 && v[4] >= 0 && v[5] >= 0 && v[2] < l->kh &&
            v[3] < l->kh && v[4] < l->kw && v[5] < l->kw) {
            l->pt = (uint32_t)v[2];
            l->pb = (uint32_t)v[3];
            l->pl = (uint32_t)v[4];
            l->pr = (uint32_t)v[5];
            return IQS_OK;
        }
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "node '%s': explicit_paddings must be 8 values, "
                        "smaller than the kernel, none on N or C",
                        nm(b, node));
    }
    return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                    "node '%s': padding must be SAME, VALID or EXPLICIT",
                    nm(b, node));
}

static int out_dim(uint32_t in, uint32_t k, uint32_t s, uint32_t p0,
                   uint32_t p1, uint32_t *out)
{
    if (in == 0) {
        *out = 0;
        return 1;
    }
    uint64_t span = (uint64_t)in + p0 + p1;
    if (span < k)
        return 0;
    *out = (uint32_t)((span - k) / s + 1);
    return 1;
}

/* Output shape of layer L from its inputs (all earlier in layers[]). */
static iqs_status layer_shape(const cpb_layer *layers, cpb_layer *L,
                              cpb_err *e)
{
    const iqsw_layer *l = &L->l;
    const cpb_layer *in0 = l->n_in ? &layers[l->in[0]] : NULL;
    switch (l->op) {
    case IQSW_OP_INPUT: return IQS_OK; /* set by the caller */
    case IQSW_OP_CONV:
    case IQSW_OP_MAXPOOL:
    case IQSW_OP_AVGPOOL:
        if (l->op == IQSW_OP_CONV && in0->c != L->ic)
            return cpb_fail(e, IQS_E_FORMAT,
                            "layer '%s': kernel expects %u input channels, "
                            "'%s' gives %u",
                            L->name, L->ic, in0->name, in0->c);
        if (!out_dim(in0->h, l->kh, l->sh, l->pt, l->pb, &L->h) ||
            !out_dim(in0->w, l->kw, l->sw, l->pl, l->pr, &L->w))
            return cpb_fail(e, IQS_E_FORMAT,
                            "layer '%s': %ux%u input is smaller than its "
                            "%ux%u window",
                            L->name, in0->h, in0->w, l->kh, l->kw);
        L->c = l->op == IQSW_OP_CONV ? l->out_c : in0->c;
        if (l->op == IQSW_OP_CONV && l->n_in == 2) {
            const cpb_layer *s = &layers[l->in[1]];
            if (s->c != L->c || s->h != L->h || s->w != L->w)
                return cpb_fail(e, IQS_E_FORMAT,
                                "residual '%s': branch %ux%ux%u, shortcut "
                                "'%s' %ux%ux%u",
                                L->name, L->c, L->h, L->w, s->name, s->c,
                                s->h, s->w);
        }
        return IQS_OK;
    case IQSW_OP_CONCAT:
        L->c = 0;
        L->h = in0->h;
        L->w = in0->w;
        for (uint32_t k = 0; k < l->n_in; k++) {
            const cpb_layer *x = &layers[l->in[k]];
            if (x->h != L->h || x->w != L->w)
                return cpb_fail(e, IQS_E_FORMAT,
                                "concat '%s': input '%s' is %ux%u, '%s' is "
                                "%ux%u",
                                L->name, x->name, x->h, x->w, in0->name,
                                in0->h, in0->w);
            L->c += x->c;
        }
        return IQS_OK;
    case IQSW_OP_GAP:
        L->c = in0->c;
        L->h = L->w = 1;
        return IQS_OK;
    case IQSW_OP_DENSE:
        if (in0->h != 1 || in0->w != 1 || in0->c != L->ic)
            return cpb_fail(e, IQS_E_FORMAT,
                            "dense '%s' takes %u features, '%s' gives "
                            "%ux%ux%u",
                            L->name, L->ic, in0->name, in0->c, in0->h, in0->w);
        L->c = l->out_c;
        L->h = L->w = 1;
        return IQS_OK;
    }
    return cpb_fail(e, IQS_E_INTERNAL, "layer '%s': op %u", L->name, l->op);
}

/* ------------------------------------------------------------ emitting */

static void layer_init(cpb_layer *L, uint32_t op, uint32_t node)
{
    memset(L, 0, sizeof *L);
    L->l.op = op;
    L->l.weight = L->l.bias = IQSW_NONE;
    for (int k = 0; k < 4; k++)
        L->l.in[k] = IQSW_NONE;
    L->node = node;
    L->w_k = L->gamma_k = L->beta_k = L->mean_k = L->var_k = L->bin_k =
        L->bout_k = -1;
}

static iqs_status emit(bctx *b, cpb_layer *L, uint32_t top, uint32_t *id)
{
    cpb_model *m = b->m;
    if (m->n_layers >= IQSW_MAX_LAYERS)
        return cpb_fail(b->e, IQS_E_LIMIT, "more than %u layers",
                        IQSW_MAX_LAYERS);
    if (m->n_layers == m->cap_layers) {
        uint32_t nc = m->cap_layers ? m->cap_layers * 2 : 256;
        void *p = realloc(m->layers, nc * sizeof *m->layers);
        if (!p)
            return cpb_fail(b->e, IQS_E_NOMEM, "out of memory");
        m->layers = p;
        m->cap_layers = nc;
    }
    if (L->l.op == IQSW_OP_CONV || L->l.op == IQSW_OP_DENSE) {
        L->l.weight = m->n_tensors++;
        L->l.bias = m->n_tensors++; /* folded convs always have one */
    }
    IQS_TRY(layer_shape(m->layers, L, b->e));
    *id = m->n_layers;
    m->layers[m->n_layers++] = *L;
    b->memo[top] = (int32_t)*id;
    return IQS_OK;
}

static iqs_status value(bctx *b, uint32_t node, uint32_t *id, int depth);

/* Conv chain below `top` (already past any Relu): [BiasAdd] [BN]
 * [BiasAdd] Conv2D. Fills the recipe part of L and the conv's input. */
static iqs_status conv_chain(bctx *b, uint32_t top, cpb_layer *L,
                             uint32_t *conv, uint32_t *x)
{
    uint32_t n = top, nx;
    if (op_is(b, n, "BiasAdd")) {
        IQS_TRY(check_data_format(b, n));
        IQS_TRY(in_node(b, n, 1, &nx));
        IQS_TRY(get_const(b, nx, n, &L->bout_k));
        IQS_TRY(in_node(b, n, 0, &nx));
        IQS_TRY(need_single(b, nx, n));
        n = nx;
    }
    if (is_bn(b, n)) {
        uint32_t bn = n;
        int32_t *dst[4] = {&L->gamma_k, &L->beta_k, &L->mean_k, &L->var_k};
        for (uint32_t k = 0; k < 4; k++) {
            IQS_TRY(in_node(b, bn, k + 1, &nx));
            IQS_TRY(get_const(b, nx, bn, dst[k]));
        }
        float eps = 1e-4f; /* TensorFlow's default when the attr is absent */
        int training = 0;
        if (cpb_attr_float(b->g, &b->g->nodes[bn], "epsilon", &eps, b->e) < 0 ||
            cpb_attr_bool(b->g, &b->g->nodes[bn], "is_training", &training,
                          b->e) < 0)
            return attr_fail(b, bn, "epsilon/is_training");
        if (training)
            return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                            "node '%s': is_training is true (not an "
                            "inference graph)",
                            nm(b, bn));
        if (!(eps >= 0.0f) || !isfinite(eps))
            return cpb_fail(b->e, IQS_E_FORMAT, "node '%s': epsilon %g",
                            nm(b, bn), (double)eps);
        L->eps = eps;
        IQS_TRY(check_data_format(b, bn));
        IQS_TRY(in_node(b, bn, 0, &nx));
        IQS_TRY(need_single(b, nx, bn));
        n = nx;
        if (op_is(b, n, "BiasAdd")) {
            IQS_TRY(check_data_format(b, n));
            IQS_TRY(in_node(b, n, 1, &nx));
            IQS_TRY(get_const(b, nx, n, &L->bin_k));
            IQS_TRY(in_node(b, n, 0, &nx));
            IQS_TRY(need_single(b, nx, n));
            n = nx;
        }
    }
    if (!op_is(b, n, "Conv2D"))
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "node '%s': expected Conv2D (under '%s'), found op "
                        "%.*s",
                        nm(b, n), nm(b, top), (int)b->g->nodes[n].op.n,
                        (const char *)b->g->nodes[n].op.p);
    *conv = n;
    IQS_TRY(check_data_format(b, n));
    IQS_TRY(in_node(b, n, 1, &nx));
    IQS_TRY(get_const(b, nx, n, &L->w_k));
    const cpb_tensor *w = K(b, L->w_k);
    if (w->rank != 4 || w->dims[0] < 1 || w->dims[0] > 65535 ||
        w->dims[1] < 1 || w->dims[1] > 65535 || w->dims[2] < 1 ||
        w->dims[3] < 1 || w->dims[2] > IQSW_MAX_DIM ||
        w->dims[3] > IQSW_MAX_DIM)
        return cpb_fail(b->e, IQS_E_FORMAT,
                        "Conv2D '%s': kernel is not a [KH,KW,IC,OC] tensor "
                        "(rank %d)",
                        nm(b, n), w->rank);
    L->l.kh = (uint32_t)w->dims[0];
    L->l.kw = (uint32_t)w->dims[1];
    L->ic = (uint32_t)w->dims[2];
    L->l.out_c = (uint32_t)w->dims[3];
    uint32_t oc = L->l.out_c;
    if (L->gamma_k >= 0) {
        IQS_TRY(check_vec(b, L->gamma_k, oc, n, "BN gamma"));
        IQS_TRY(check_vec(b, L->beta_k, oc, n, "BN beta"));
        IQS_TRY(check_vec(b, L->mean_k, oc, n, "BN mean"));
        IQS_TRY(check_vec(b, L->var_k, oc, n, "BN variance"));
    }
    if (L->bin_k >= 0)
        IQS_TRY(check_vec(b, L->bin_k, oc, n, "bias"));
    if (L->bout_k >= 0)
        IQS_TRY(check_vec(b, L->bout_k, oc, n, "bias"));
    int64_t dil[8];
    int nd = 0;
    int k = cpb_attr_ints(b->g, &b->g->nodes[n], "dilations", dil, 8, &nd, b->e);
    if (k < 0)
        return IQS_E_FORMAT;
    for (int i = 0; k == 1 && i < nd; i++)
        if (dil[i] != 1)
            return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                            "Conv2D '%s': dilated convolution", nm(b, n));
    IQS_TRY(hw_attr(b, n, "strides", 0, &L->l.sh, &L->l.sw));
    IQS_TRY(in_node(b, n, 0, x));
    layer_name(b, n, L->name);
    return IQS_OK;
}

/* Conv layer with optional residual: value order is conv input, then the
 * shortcut (in[0], in[1]), which keeps the emission canonical. */
static iqs_status conv_layer(bctx *b, uint32_t top, uint32_t chain_top,
                             uint32_t act, int has_res, uint32_t shortcut,
                             float scale, uint32_t *id, int depth)
{
    cpb_layer L;
    uint32_t conv = 0, x = 0, in0 = 0, in1 = 0;
    layer_init(&L, IQSW_OP_CONV, top);
    IQS_TRY(conv_chain(b, chain_top, &L, &conv, &x));
    IQS_TRY(value(b, x, &in0, depth + 1));
    if (has_res)
        IQS_TRY(value(b, shortcut, &in1, depth + 1));
    const cpb_layer *src = &b->m->layers[in0];
    IQS_TRY(set_pads(b, conv, &L, src->h, src->w));
    L.l.act = act;
    L.l.n_in = has_res ? 2 : 1;
    L.l.in[0] = in0;
    if (has_res)
        L.l.in[1] = in1;
    L.l.scale = has_res ? scale : 0.0f;
    return emit(b, &L, top, id);
}

/* Scalar float Const (residual scale). */
static int scalar_const(bctx *b, uint32_t node, float *v)
{
    if (!op_is(b, node, "Const"))
        return 0;
    cpb_tensor t;
    cpb_err tmp;
    if (cpb_const_tensor(b->g, &b->g->nodes[node], &t, &tmp) != IQS_OK)
        return 0;
    int ok = t.dtype == CPB_DT_FLOAT && t.numel == 1;
    if (ok)
        *v = cpb_tensor_f(&t, 0);
    cpb_tensor_free(&t);
    return ok && isfinite(*v);
}

static int is_conv_top(bctx *b, uint32_t n)
{
    return op_is(b, n, "BiasAdd") || is_bn(b, n) || op_is(b, n, "Conv2D");
}

/* Add(x, Mul(conv chain, s)) in either operand order, then act. */
static iqs_status residual(bctx *b, uint32_t top, uint32_t add, uint32_t act,
                           uint32_t *id, int depth)
{
    uint32_t a[2];
    if (n_data(b->g, add) != 2)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED, "'%s' must have 2 inputs",
                        nm(b, add));
    IQS_TRY(in_node(b, add, 0, &a[0]));
    IQS_TRY(in_node(b, add, 1, &a[1]));
    for (int side = 1; side >= 0; side--) {
        uint32_t mul = a[side];
        if (!op_is(b, mul, "Mul") || n_data(b->g, mul) != 2)
            continue;
        uint32_t m0, m1, branch;
        float scale;
        IQS_TRY(in_node(b, mul, 0, &m0));
        IQS_TRY(in_node(b, mul, 1, &m1));
        if (scalar_const(b, m1, &scale) && is_conv_top(b, m0))
            branch = m0;
        else if (scalar_const(b, m0, &scale) && is_conv_top(b, m1))
            branch = m1;
        else
            continue;
        IQS_TRY(need_single(b, mul, add));
        IQS_TRY(need_single(b, branch, mul));
        return conv_layer(b, top, branch, act, 1, a[1 - side], scale, id,
                          depth);
    }
    return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                    "'%s' is not a residual Add(shortcut, Mul(conv, scalar "
                    "Const)); general adds are not supported",
                    nm(b, add));
}

/* [Relu|Softmax] [BiasAdd] MatMul below top; dense_top is past the act. */
static int is_dense(bctx *b, uint32_t n)
{
    if (op_is(b, n, "MatMul"))
        return 1;
    uint32_t x;
    cpb_err tmp;
    bctx c = *b;
    c.e = &tmp;
    return op_is(b, n, "BiasAdd") && in_node(&c, n, 0, &x) == IQS_OK &&
           op_is(b, x, "MatMul");
}

static iqs_status dense_layer(bctx *b, uint32_t top, uint32_t n, uint32_t act,
                              uint32_t *id, int depth)
{
    cpb_layer L;
    uint32_t nx, in0;
    layer_init(&L, IQSW_OP_DENSE, top);
    if (op_is(b, n, "BiasAdd")) {
        IQS_TRY(in_node(b, n, 1, &nx));
        IQS_TRY(get_const(b, nx, n, &L.bout_k));
        IQS_TRY(in_node(b, n, 0, &nx));
        IQS_TRY(need_single(b, nx, n));
        n = nx;
    }
    int ta = 0, tb = 0;
    if (cpb_attr_bool(b->g, &b->g->nodes[n], "transpose_a", &ta, b->e) < 0 ||
        cpb_attr_bool(b->g, &b->g->nodes[n], "transpose_b", &tb, b->e) < 0)
        return attr_fail(b, n, "transpose_a/b");
    if (ta)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "MatMul '%s': transpose_a is not supported", nm(b, n));
    IQS_TRY(in_node(b, n, 1, &nx));
    IQS_TRY(get_const(b, nx, n, &L.w_k));
    const cpb_tensor *w = K(b, L.w_k);
    if (w->rank != 2 || w->dims[0] < 1 || w->dims[1] < 1 ||
        w->dims[0] > IQSW_MAX_DIM || w->dims[1] > IQSW_MAX_DIM)
        return cpb_fail(b->e, IQS_E_FORMAT,
                        "MatMul '%s': weights are not a 2-D tensor", nm(b, n));
    L.w_transposed = tb;
    L.ic = (uint32_t)w->dims[tb ? 1 : 0];
    L.l.out_c = (uint32_t)w->dims[tb ? 0 : 1];
    if (L.bout_k >= 0)
        IQS_TRY(check_vec(b, L.bout_k, L.l.out_c, n, "bias"));
    layer_name(b, n, L.name);
    IQS_TRY(in_node(b, n, 0, &nx));
    IQS_TRY(value(b, nx, &in0, depth + 1));
    L.l.act = act;
    L.l.n_in = 1;
    L.l.in[0] = in0;
    return emit(b, &L, top, id);
}

static iqs_status pool_layer(bctx *b, uint32_t n, uint32_t op, uint32_t *id,
                             int depth)
{
    cpb_layer L;
    uint32_t x, in0;
    layer_init(&L, op, n);
    IQS_TRY(check_data_format(b, n));
    IQS_TRY(hw_attr(b, n, "ksize", 0, &L.l.kh, &L.l.kw));
    IQS_TRY(hw_attr(b, n, "strides", 0, &L.l.sh, &L.l.sw));
    IQS_TRY(in_node(b, n, 0, &x));
    IQS_TRY(value(b, x, &in0, depth + 1));
    const cpb_layer *src = &b->m->layers[in0];
    IQS_TRY(set_pads(b, n, &L, src->h, src->w));
    L.l.n_in = 1;
    L.l.in[0] = in0;
    layer_name(b, n, L.name);
    return emit(b, &L, n, id);
}

static iqs_status concat_layer(bctx *b, uint32_t n, uint32_t *id, int depth)
{
    cpb_layer L;
    uint32_t nd = n_data(b->g, n), ax;
    layer_init(&L, IQSW_OP_CONCAT, n);
    if (nd < 3 || nd > 5)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "ConcatV2 '%s' joins %u tensors; 2 to 4 are supported",
                        nm(b, n), nd - 1);
    int64_t axis[1];
    int na = 0;
    IQS_TRY(in_node(b, n, nd - 1, &ax));
    IQS_TRY(get_ints(b, ax, n, axis, 1, &na));
    if (na != 1 || (axis[0] != 3 && axis[0] != -1))
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "ConcatV2 '%s': axis must be 3 or -1 (channels)",
                        nm(b, n));
    L.l.n_in = nd - 1;
    for (uint32_t k = 0; k + 1 < nd; k++) {
        uint32_t x;
        IQS_TRY(in_node(b, n, k, &x));
        IQS_TRY(value(b, x, &L.l.in[k], depth + 1));
    }
    layer_name(b, n, L.name);
    return emit(b, &L, n, id);
}

static iqs_status gap_layer(bctx *b, uint32_t n, uint32_t *id, int depth)
{
    cpb_layer L;
    uint32_t x, ax;
    layer_init(&L, IQSW_OP_GAP, n);
    int64_t axes[4];
    int na = 0;
    IQS_TRY(in_node(b, n, 1, &ax));
    IQS_TRY(get_ints(b, ax, n, axes, 4, &na));
    if (na != 2 || !((axes[0] == 1 && axes[1] == 2) ||
                     (axes[0] == 2 && axes[1] == 1)))
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "Mean '%s' must reduce axes [1, 2] (global average "
                        "pool)",
                        nm(b, n));
    IQS_TRY(in_node(b, n, 0, &x));
    IQS_TRY(value(b, x, &L.l.in[0], depth + 1));
    L.l.n_in = 1;
    layer_name(b, n, L.name);
    return emit(b, &L, n, id);
}

/* The layer whose output is the value of node `node`. */
static iqs_status value(bctx *b, uint32_t node, uint32_t *id, int depth)
{
    if (b->memo[node] >= 0) {
        *id = (uint32_t)b->memo[node];
        return IQS_OK;
    }
    if (b->memo[node] == MEMO_BUSY)
        return cpb_fail(b->e, IQS_E_FORMAT, "cycle through node '%s'",
                        nm(b, node));
    if (depth > MAX_DEPTH)
        return cpb_fail(b->e, IQS_E_LIMIT, "graph deeper than %d layers",
                        MAX_DEPTH);
    b->memo[node] = MEMO_BUSY;
    iqs_status s;
    uint32_t x;
    if (op_is(b, node, "Relu") || op_is(b, node, "Softmax")) {
        uint32_t act = op_is(b, node, "Relu") ? IQSW_ACT_RELU : IQSW_ACT_SOFTMAX;
        IQS_TRY(in_node(b, node, 0, &x));
        IQS_TRY(need_single(b, x, node));
        if (is_dense(b, x))
            s = dense_layer(b, node, x, act, id, depth);
        else if (act == IQSW_ACT_SOFTMAX)
            s = cpb_fail(b->e, IQS_E_UNSUPPORTED,
                         "Softmax '%s' must follow a MatMul (dense layer)",
                         nm(b, node));
        else if (op_is(b, x, "Add") || op_is(b, x, "AddV2"))
            s = residual(b, node, x, act, id, depth);
        else if (is_conv_top(b, x))
            s = conv_layer(b, node, x, act, 0, 0, 0.0f, id, depth);
        else
            s = cpb_fail(b->e, IQS_E_UNSUPPORTED,
                         "Relu '%s' follows '%s', which is not a conv, dense "
                         "or residual add",
                         nm(b, node), nm(b, x));
    } else if (is_dense(b, node)) {
        s = dense_layer(b, node, node, IQSW_ACT_NONE, id, depth);
    } else if (is_conv_top(b, node)) {
        s = conv_layer(b, node, node, IQSW_ACT_NONE, 0, 0, 0.0f, id, depth);
    } else if (op_is(b, node, "Add") || op_is(b, node, "AddV2")) {
        s = residual(b, node, node, IQSW_ACT_NONE, id, depth);
    } else if (op_is(b, node, "MaxPool")) {
        s = pool_layer(b, node, IQSW_OP_MAXPOOL, id, depth);
    } else if (op_is(b, node, "AvgPool")) {
        s = pool_layer(b, node, IQSW_OP_AVGPOOL, id, depth);
    } else if (op_is(b, node, "ConcatV2")) {
        s = concat_layer(b, node, id, depth);
    } else if (op_is(b, node, "Mean")) {
        s = gap_layer(b, node, id, depth);
    } else if (node == b->placeholder) {
        *id = 0;
        b->memo[node] = 0;
        s = IQS_OK;
    } else {
        const cpb_node *n = &b->g->nodes[node];
        s = cpb_fail(b->e, IQS_E_UNSUPPORTED,
                     "node '%s': op %.*s is not supported (known: Conv2D, "
                     "FusedBatchNorm*, BiasAdd, Relu, Add/AddV2+Mul residual, "
                     "MaxPool, AvgPool, ConcatV2, Mean, MatMul, Softmax)",
                     nm(b, node), (int)n->op.n, (const char *)n->op.p);
    }
    return s;
}

/* --------------------------------------------------------- graph level */

/* Finds the unique output, marks live nodes, counts live consumers and
 * finds the live Placeholder. */
static iqs_status analyse(bctx *b, uint32_t *sink)
{
    const cpb_graph *g = b->g;
    uint32_t n = g->n_nodes;
    uint32_t *stack = NULL;
    iqs_status s = IQS_OK;
    /* Consumers over the whole graph. An input naming a node that does not
     * exist is an error anywhere (TensorFlow would not import the graph);
     * unsupported output ports only matter on live nodes (checked below). */
    for (uint32_t i = 0; i < n; i++) {
        if (cpb_str_eq(g->nodes[i].op, "Identity"))
            continue;
        const cpb_node *nd = &g->nodes[i];
        for (uint32_t k = 0; k < nd->n_in; k++) {
            uint32_t src;
            cpb_str r = g->inputs[nd->first_in + k];
            if (is_ctrl(r))
                continue;
            iqs_status rs = resolve_ref(g, b->idres, i, r, &src, b->e);
            if (rs == IQS_OK)
                b->cons[src]++;
            else if (rs != IQS_E_UNSUPPORTED)
                return rs;
        }
    }
    uint32_t found = 0, first = 0;
    char list[256] = "";
    for (uint32_t i = 0; i < n; i++) {
        const cpb_node *nd = &g->nodes[i];
        if (b->cons[i] || cpb_str_eq(nd->op, "Identity") ||
            cpb_str_eq(nd->op, "Const") || cpb_str_eq(nd->op, "NoOp") ||
            n_data(g, i) == 0)
            continue;
        if (found++ == 0)
            first = i;
        size_t l = strlen(list);
        if (l < 200)
            snprintf(list + l, sizeof list - l, "%s'%s'", l ? ", " : "",
                     nm(b, i));
    }
    if (found != 1)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        found ? "the graph has %u outputs (%s); expected one"
                              : "the graph has %u outputs%s: no node is left "
                                "unconsumed",
                        found, list);
    *sink = first;
    memset(b->cons, 0, n * sizeof *b->cons);
    stack = malloc((size_t)n * sizeof *stack);
    if (!stack)
        return cpb_fail(b->e, IQS_E_NOMEM, "out of memory");
    uint32_t sp = 0, placeholders = 0;
    stack[sp++] = first;
    b->live[first] = 1;
    while (sp) {
        uint32_t i = stack[--sp];
        const cpb_node *nd = &g->nodes[i];
        if (cpb_str_eq(nd->op, "Placeholder")) {
            placeholders++;
            b->placeholder = i;
        }
        for (uint32_t k = 0; k < nd->n_in; k++) {
            uint32_t src;
            cpb_str r = g->inputs[nd->first_in + k];
            if (is_ctrl(r))
                continue;
            /* Output ports are checked where values are used: BN's extra
             * outputs are never live in an inference graph. */
            if ((s = resolve_ref(g, b->idres, i, r, &src, b->e)) != IQS_OK)
                goto fail;
            b->cons[src]++;
            if (!b->live[src]) {
                b->live[src] = 1;
                stack[sp++] = src;
            }
        }
    }
    if (placeholders != 1) {
        s = cpb_fail(b->e, IQS_E_UNSUPPORTED,
                     "the output '%s' depends on %u Placeholder nodes; "
                     "expected exactly one image input",
                     nm(b, first), placeholders);
        goto fail;
    }
fail:
    free(stack);
    return s;
}

/* Placeholder: float, [N, H, W, 3] with H, W known or -1. */
static iqs_status input_layer(bctx *b, unsigned input_size)
{
    const cpb_node *nd = &b->g->nodes[b->placeholder];
    cpb_model *m = b->m;
    int64_t dt = 0, dims[CPB_MAX_RANK];
    int rank = -1;
    if (cpb_attr_type(b->g, nd, "dtype", &dt, b->e) < 0)
        return IQS_E_FORMAT;
    if (dt != CPB_DT_FLOAT)
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "Placeholder '%s' has dtype %s, expected float32",
                        nm(b, b->placeholder), cpb_dtype_name(dt));
    int k = cpb_attr_shape(b->g, nd, "shape", dims, &rank, b->e);
    if (k < 0)
        return IQS_E_FORMAT;
    if (k == 0 || rank < 0) {
        m->graph_h = m->graph_w = 0;
    } else if (rank == 4 && (dims[3] == 3 || dims[3] == -1) &&
               dims[1] >= -1 && dims[2] >= -1 && dims[1] != 0 &&
               dims[2] != 0 && dims[1] <= IQSW_MAX_INPUT_SIDE &&
               dims[2] <= IQSW_MAX_INPUT_SIDE) {
        m->graph_h = dims[1] > 0 ? (uint32_t)dims[1] : 0;
        m->graph_w = dims[2] > 0 ? (uint32_t)dims[2] : 0;
        if ((m->graph_h == 0) != (m->graph_w == 0))
            return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                            "Placeholder '%s': only one of height and width "
                            "is known",
                            nm(b, b->placeholder));
    } else {
        return cpb_fail(b->e, IQS_E_UNSUPPORTED,
                        "Placeholder '%s' is not a [N, H, W, 3] image (rank "
                        "%d)",
                        nm(b, b->placeholder), rank);
    }
    if (m->graph_h && input_size &&
        (m->graph_h != input_size || m->graph_w != input_size))
        return cpb_fail(b->e, IQS_E_ARG,
                        "the graph's input is %ux%u; --input-size %u "
                        "conflicts with it",
                        m->graph_h, m->graph_w, input_size);
    m->input_h = m->graph_h;
    m->input_w = m->graph_w;
    cpb_layer L;
    layer_init(&L, IQSW_OP_INPUT, b->placeholder);
    snprintf(L.name, sizeof L.name, "%s", nm(b, b->placeholder));
    /* An "any"-size graph is built with unknown spatial dims (even with
     * --input-size) so that size-dependent SAME pads are refused instead
     * of being baked in for one size; cpb_model_finish checks the shapes
     * at the chosen size. */
    L.c = 3;
    L.l.out_c = 3; /* input channels, as in lib/net/arch.c's tables */
    L.h = m->graph_h;
    L.w = m->graph_w;
    uint32_t id;
    return emit(b, &L, b->placeholder, &id);
}

iqs_status cpb_model_build(const cpb_graph *g, unsigned input_size,
                           cpb_model *m, cpb_err *e)
{
    bctx b;
    memset(&b, 0, sizeof b);
    memset(m, 0, sizeof *m);
    b.g = g;
    b.m = m;
    b.e = e;
    iqs_status s = IQS_OK;
    uint32_t sink = 0, id = 0;
    b.memo = malloc((size_t)g->n_nodes * sizeof *b.memo);
    b.cons = calloc(g->n_nodes, sizeof *b.cons);
    b.live = calloc(g->n_nodes, 1);
    b.idres = malloc((size_t)g->n_nodes * sizeof *b.idres);
    if (!b.memo || !b.cons || !b.live || !b.idres) {
        s = cpb_fail(e, IQS_E_NOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        b.memo[i] = MEMO_NONE;
        b.idres[i] = IDR_NONE;
    }
    if ((s = analyse(&b, &sink)) != IQS_OK)
        goto fail;
    if ((s = input_layer(&b, input_size)) != IQS_OK)
        goto fail;
    if ((s = value(&b, sink, &id, 0)) != IQS_OK)
        goto fail;
    if (id != m->n_layers - 1) {
        s = cpb_fail(e, IQS_E_INTERNAL, "output layer is not the last one");
        goto fail;
    }
fail:
    free(b.memo);
    free(b.cons);
    free(b.live);
    free(b.idres);
    if (s != IQS_OK)
        cpb_model_free(m);
    return s;
}

void cpb_model_free(cpb_model *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n_consts; i++)
        cpb_tensor_free(&m->consts[i]);
    free(m->consts);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------- finish */

static iqs_status parse_labels(cpb_model *m, const char *labels, cpb_err *e)
{
    if (!labels) {
        static const char *const d3[] = {"bad", "normal", "good"};
        for (uint32_t k = 0; k < m->classes; k++) {
            if (m->classes == 3)
                snprintf(m->labels[k], sizeof m->labels[k], "%s", d3[k]);
            else if (m->classes == 10)
                snprintf(m->labels[k], sizeof m->labels[k], "%u", k + 1);
            else
                snprintf(m->labels[k], sizeof m->labels[k], "%u", k);
        }
        return IQS_OK;
    }
    uint32_t k = 0;
    const char *p = labels;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == 0 || n >= sizeof m->labels[0])
            return cpb_fail(e, IQS_E_ARG,
                            "--labels: label %u is empty or longer than %zu "
                            "bytes",
                            k + 1, sizeof m->labels[0] - 1);
        if (k >= m->classes)
            break;
        memcpy(m->labels[k], p, n);
        m->labels[k][n] = '\0';
        k++;
        if (!c)
            break;
        p = c + 1;
    }
    size_t given = 1;
    for (const char *q = labels; *q; q++)
        given += *q == ',';
    if (given != m->classes)
        return cpb_fail(e, IQS_E_ARG,
                        "--labels gives %zu labels, the model has %u classes",
                        given, m->classes);
    return IQS_OK;
}

iqs_status cpb_model_finish(const cpb_graph *g, cpb_model *m,
                            unsigned input_size, const char *labels,
                            cpb_err *e)
{
    (void)g;
    uint32_t n = m->n_layers;
    iqsw_layer *tab = malloc((size_t)n * sizeof *tab);
    if (!tab)
        return cpb_fail(e, IQS_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++)
        tab[i] = m->layers[i].l;
    char why[400] = "";
    uint32_t arch = 0;
    int ok = iqs_arch_identify(tab, n, &arch, why, sizeof why);
    free(tab);
    if (!ok)
        return cpb_fail(e, IQS_E_UNSUPPORTED,
                        "architecture not recognised: %s", why);
    m->arch = arch;
    const cpb_layer *last = &m->layers[n - 1];
    if (last->l.op != IQSW_OP_DENSE || last->l.act != IQSW_ACT_SOFTMAX)
        return cpb_fail(e, IQS_E_UNSUPPORTED,
                        "the output '%s' is not a dense softmax layer",
                        last->name);
    if (last->l.out_c < 1 || last->l.out_c > IQS_MAX_CLASSES)
        return cpb_fail(e, IQS_E_UNSUPPORTED,
                        "the head has %u classes; at most %d are supported",
                        last->l.out_c, IQS_MAX_CLASSES);
    m->classes = last->l.out_c;
    m->head = m->classes == 10 ? IQS_HEAD_NIMA10 : IQS_HEAD_CLASSES;
    IQS_TRY(parse_labels(m, labels, e));
    /* Input size: the graph's, else --input-size, else the arch default. */
    if (m->graph_h) {
        m->side = m->graph_h;
    } else {
        m->side = input_size ? input_size
                  : arch == IQSW_ARCH_INCEPTION_V3 ? 299u
                                                   : 224u;
        m->layers[0].h = m->layers[0].w = m->side;
    }
    /* Re-check every shape at the size the file will be used with. */
    for (uint32_t i = 1; i < n; i++)
        IQS_TRY(layer_shape(m->layers, &m->layers[i], e));
    return IQS_OK;
}

const char *cpb_op_name(uint32_t op)
{
    static const char *const names[] = {"INPUT",   "CONV",   "MAXPOOL",
                                        "AVGPOOL", "CONCAT", "GAP",
                                        "DENSE"};
    return op < sizeof names / sizeof names[0] ? names[op] : "?";
}

void cpb_model_dump(const cpb_model *m, FILE *f)
{
    static const char *const acts[] = {"", " relu", " softmax"};
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const cpb_layer *L = &m->layers[i];
        const iqsw_layer *l = &L->l;
        fprintf(f, "%4u %-28s %-7s", i, L->name, cpb_op_name(l->op));
        fprintf(f, " in");
        if (!l->n_in)
            fprintf(f, " -");
        for (uint32_t k = 0; k < l->n_in; k++)
            fprintf(f, "%s%u", k ? "," : " ", l->in[k]);
        if (l->op == IQSW_OP_CONV || l->op == IQSW_OP_MAXPOOL ||
            l->op == IQSW_OP_AVGPOOL)
            fprintf(f, "  k%ux%u s%ux%u p%u,%u,%u,%u", l->kh, l->kw, l->sh,
                    l->sw, l->pt, l->pl, l->pb, l->pr);
        if (l->op == IQSW_OP_CONV)
            fprintf(f, "  W %ux%ux%ux%u", l->out_c, L->ic, l->kh, l->kw);
        if (l->op == IQSW_OP_DENSE)
            fprintf(f, "  W %ux%u", l->out_c, L->ic);
        if (l->n_in == 2 && l->op == IQSW_OP_CONV)
            fprintf(f, "  residual x%g", (double)l->scale);
        fprintf(f, "%s  -> %ux%ux%u\n", acts[l->act < 3 ? l->act : 0], L->c,
                L->h, L->w);
    }
}
