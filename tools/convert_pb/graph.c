/*
 * GraphDef decoding (tools/convert_pb): NodeDefs as zero-copy slices of the
 * input buffer, a name index, typed AttrValue getters and the TensorProto
 * decoder for Const nodes. Field numbers are those of TensorFlow's
 * graph.proto, node_def.proto, attr_value.proto, tensor.proto and
 * tensor_shape.proto; fields not listed are skipped whatever their wire
 * type, so graphs from newer TensorFlow versions still parse.
 */
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

iqs_status cpb_fail(cpb_err *e, iqs_status status, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->status = status;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

static iqs_status wire_fail(cpb_err *e, int werr, const cpb_rd *r,
                            const char *what)
{
    return cpb_fail(e, IQS_E_FORMAT, "malformed protobuf at byte %zu (%s): %s",
                    cpb_pos(r), what, cpb_werr_str(werr));
}

int cpb_str_eq(cpb_str s, const char *z)
{
    size_t n = strlen(z);
    return s.n == n && memcmp(s.p, z, n) == 0;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Grows a dynamic array to hold one more element. */
static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap)
        return 1;
    uint32_t nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

static iqs_status parse_node(cpb_graph *g, cpb_rd *r, cpb_err *e)
{
    cpb_node nd;
    memset(&nd, 0, sizeof nd);
    nd.off = cpb_pos(r);
    nd.first_in = g->n_inputs;
    nd.first_attr = g->n_attrs;
    while (!cpb_rd_done(r)) {
        uint32_t f, wt;
        cpb_rd sub;
        int w = cpb_tag(r, &f, &wt);
        if (w)
            return wire_fail(e, w, r, "NodeDef tag");
        if (f >= 1 && f <= 3 && wt == CPB_WT_LEN) {
            if ((w = cpb_len(r, &sub)))
                return wire_fail(e, w, r, "NodeDef string");
            cpb_str s = {sub.p, (uint32_t)(sub.end - sub.p)};
            if (s.n > CPB_MAX_NAME)
                return cpb_fail(e, IQS_E_LIMIT,
                                "NodeDef at byte %llu: a name or input of %u "
                                "bytes (limit %u)",
                                (unsigned long long)nd.off, s.n, CPB_MAX_NAME);
            if (f == 1)
                nd.name = s;
            else if (f == 2)
                nd.op = s;
            else {
                if (!grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs,
                          sizeof *g->inputs))
                    return cpb_fail(e, IQS_E_NOMEM, "out of memory");
                g->inputs[g->n_inputs++] = s;
                nd.n_in++;
            }
        } else if (f == 5 && wt == CPB_WT_LEN) {
            /* map<string, AttrValue> entry: key = 1, value = 2. */
            cpb_attr a;
            memset(&a, 0, sizeof a);
            if ((w = cpb_len(r, &sub)))
                return wire_fail(e, w, r, "NodeDef attr");
            while (!cpb_rd_done(&sub)) {
                uint32_t f2, wt2;
                cpb_rd v;
                if ((w = cpb_tag(&sub, &f2, &wt2)))
                    return wire_fail(e, w, &sub, "attr entry tag");
                if ((f2 == 1 || f2 == 2) && wt2 == CPB_WT_LEN) {
                    if ((w = cpb_len(&sub, &v)))
                        return wire_fail(e, w, &sub, "attr entry");
                    if (f2 == 1) {
                        a.key.p = v.p;
                        a.key.n = (uint32_t)(v.end - v.p);
                    } else {
                        a.val = v.p;
                        a.val_n = (uint32_t)(v.end - v.p);
                    }
                } else if ((w = cpb_skip(&sub, f2, wt2))) {
                    return wire_fail(e, w, &sub, "attr entry field");
                }
            }
            if (!grow((void **)&g->attrs, &g->cap_attrs, g->n_attrs,
                      sizeof *g->attrs))
                return cpb_fail(e, IQS_E_NOMEM, "out of memory");
            g->attrs[g->n_attrs++] = a;
            nd.n_attr++;
        } else if (f <= 5 && f != 4) {
            return cpb_fail(e, IQS_E_FORMAT,
                            "malformed protobuf at byte %zu: NodeDef field %u "
                            "has wire type %u",
                            cpb_pos(r), f, wt);
        } else if ((w = cpb_skip(r, f, wt))) {
            return wire_fail(e, w, r, "NodeDef field");
        }
    }
    if (nd.name.n == 0 || nd.op.n == 0)
        return cpb_fail(e, IQS_E_FORMAT,
                        "NodeDef at byte %llu has no name or no op",
                        (unsigned long long)nd.off);
    if (g->n_nodes >= CPB_MAX_NODES)
        return cpb_fail(e, IQS_E_LIMIT, "more than %u nodes", CPB_MAX_NODES);
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof *g->nodes))
        return cpb_fail(e, IQS_E_NOMEM, "out of memory");
    g->nodes[g->n_nodes++] = nd;
    return IQS_OK;
}

static iqs_status build_index(cpb_graph *g, cpb_err *e)
{
    uint32_t cap = 16;
    while (cap < 2 * g->n_nodes)
        cap *= 2;
    g->hash = calloc(cap, sizeof *g->hash);
    if (!g->hash)
        return cpb_fail(e, IQS_E_NOMEM, "out of memory");
    g->hash_cap = cap;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const cpb_node *nd = &g->nodes[i];
        uint32_t h = fnv1a(nd->name.p, nd->name.n) & (cap - 1);
        while (g->hash[h]) {
            const cpb_node *o = &g->nodes[g->hash[h] - 1];
            if (o->name.n == nd->name.n &&
                memcmp(o->name.p, nd->name.p, nd->name.n) == 0)
                return cpb_fail(e, IQS_E_FORMAT,
                                "duplicate node name '%.*s' (NodeDefs at "
                                "bytes %llu and %llu)",
                                (int)nd->name.n, (const char *)nd->name.p,
                                (unsigned long long)o->off,
                                (unsigned long long)nd->off);
            h = (h + 1) & (cap - 1);
        }
        g->hash[h] = i + 1;
    }
    return IQS_OK;
}

iqs_status cpb_graph_parse(cpb_graph *g, const uint8_t *buf, size_t size,
                           cpb_err *e)
{
    memset(g, 0, sizeof *g);
    g->buf = buf;
    g->size = size;
    if (size > CPB_MAX_FILE_BYTES)
        return cpb_fail(e, IQS_E_LIMIT, "input of %zu bytes exceeds %llu",
                        size, (unsigned long long)CPB_MAX_FILE_BYTES);
    cpb_rd r;
    cpb_rd_init(&r, buf, buf, size);
    iqs_status s = IQS_OK;
    while (!cpb_rd_done(&r)) {
        uint32_t f, wt;
        int w = cpb_tag(&r, &f, &wt);
        if (w) {
            s = wire_fail(e, w, &r, "GraphDef tag");
            goto fail;
        }
        if (f == 1 && wt == CPB_WT_LEN) {
            cpb_rd sub;
            if ((w = cpb_len(&r, &sub))) {
                s = wire_fail(e, w, &r, "GraphDef node");
                goto fail;
            }
            if ((s = parse_node(g, &sub, e)) != IQS_OK)
                goto fail;
        } else if (f == 1) {
            s = cpb_fail(e, IQS_E_FORMAT,
                         "malformed protobuf at byte %zu: GraphDef field 1 "
                         "has wire type %u",
                         cpb_pos(&r), wt);
            goto fail;
        } else if ((w = cpb_skip(&r, f, wt))) {
            s = wire_fail(e, w, &r, "GraphDef field");
            goto fail;
        }
    }
    if (g->n_nodes == 0) {
        s = cpb_fail(e, IQS_E_FORMAT, "no nodes: not a TensorFlow GraphDef");
        goto fail;
    }
    if ((s = build_index(g, e)) != IQS_OK)
        goto fail;
    return IQS_OK;
fail:
    cpb_graph_free(g);
    return s;
}

void cpb_graph_free(cpb_graph *g)
{
    if (!g)
        return;
    free(g->nodes);
    free(g->inputs);
    free(g->attrs);
    free(g->hash);
    memset(g, 0, sizeof *g);
}

int64_t cpb_graph_find(const cpb_graph *g, const uint8_t *p, size_t n)
{
    if (!g->hash_cap)
        return -1;
    uint32_t h = fnv1a(p, n) & (g->hash_cap - 1);
    while (g->hash[h]) {
        const cpb_node *o = &g->nodes[g->hash[h] - 1];
        if (o->name.n == n && memcmp(o->name.p, p, n) == 0)
            return g->hash[h] - 1;
        h = (h + 1) & (g->hash_cap - 1);
    }
    return -1;
}

const cpb_attr *cpb_attr_get(const cpb_graph *g, const cpb_node *n,
                             const char *key)
{
    for (uint32_t i = 0; i < n->n_attr; i++) {
        const cpb_attr *a = &g->attrs[n->first_attr + i];
        if (cpb_str_eq(a->key, key))
            return a;
    }
    return NULL;
}

/* Finds AttrValue field `field` of wire type `wt` in attr `key`: returns 1
 * with the varint/fixed value in *v or the payload in *sub, 0 when absent,
 * -1 when malformed. The last occurrence wins, as in protobuf. */
static int attr_field(const cpb_graph *g, const cpb_node *n, const char *key,
                      uint32_t field, uint32_t wt, uint64_t *v, cpb_rd *sub,
                      cpb_err *e)
{
    const cpb_attr *a = cpb_attr_get(g, n, key);
    if (!a || !a->val)
        return 0;
    cpb_rd r;
    cpb_rd_init(&r, g->buf, a->val, a->val_n);
    int found = 0;
    while (!cpb_rd_done(&r)) {
        uint32_t f, w;
        int err = cpb_tag(&r, &f, &w);
        if (!err && f == field && w == wt) {
            uint32_t u32;
            if (wt == CPB_WT_VARINT)
                err = cpb_varint(&r, v);
            else if (wt == CPB_WT_I32) {
                err = cpb_fixed32(&r, &u32);
                *v = u32;
            } else
                err = cpb_len(&r, sub);
            found = 1;
        } else if (!err) {
            err = cpb_skip(&r, f, w);
        }
        if (err) {
            cpb_fail(e, IQS_E_FORMAT,
                     "malformed protobuf at byte %zu (%s) in attr '%s' of "
                     "node '%.*s'",
                     cpb_pos(&r), cpb_werr_str(err), key, (int)n->name.n,
                     (const char *)n->name.p);
            return -1;
        }
    }
    return found;
}

int cpb_attr_int(const cpb_graph *g, const cpb_node *n, const char *key,
                 int64_t *out, cpb_err *e)
{
    uint64_t v;
    int k = attr_field(g, n, key, 3, CPB_WT_VARINT, &v, NULL, e);
    if (k == 1)
        *out = (int64_t)v;
    return k;
}

int cpb_attr_float(const cpb_graph *g, const cpb_node *n, const char *key,
                   float *out, cpb_err *e)
{
    uint64_t v;
    int k = attr_field(g, n, key, 4, CPB_WT_I32, &v, NULL, e);
    if (k == 1) {
        uint32_t u = (uint32_t)v;
        memcpy(out, &u, sizeof *out);
    }
    return k;
}

int cpb_attr_bool(const cpb_graph *g, const cpb_node *n, const char *key,
                  int *out, cpb_err *e)
{
    uint64_t v;
    int k = attr_field(g, n, key, 5, CPB_WT_VARINT, &v, NULL, e);
    if (k == 1)
        *out = v != 0;
    return k;
}

int cpb_attr_type(const cpb_graph *g, const cpb_node *n, const char *key,
                  int64_t *out, cpb_err *e)
{
    uint64_t v;
    int k = attr_field(g, n, key, 6, CPB_WT_VARINT, &v, NULL, e);
    if (k == 1)
        *out = (int64_t)v;
    return k;
}

int cpb_attr_str(const cpb_graph *g, const cpb_node *n, const char *key,
                 cpb_str *out, cpb_err *e)
{
    cpb_rd sub;
    int k = attr_field(g, n, key, 2, CPB_WT_LEN, NULL, &sub, e);
    if (k == 1) {
        out->p = sub.p;
        out->n = (uint32_t)(sub.end - sub.p);
    }
    return k;
}

int cpb_attr_ints(const cpb_graph *g, const cpb_node *n, const char *key,
                  int64_t *out, int cap, int *count, cpb_err *e)
{
    cpb_rd list;
    *count = 0;
    int k = attr_field(g, n, key, 1, CPB_WT_LEN, NULL, &list, e);
    if (k != 1)
        return k;
    while (!cpb_rd_done(&list)) {
        uint32_t f, wt;
        int w = cpb_tag(&list, &f, &wt);
        if (!w && f == 3) { /* ListValue.i, packed or not */
            cpb_rep rep;
            w = cpb_rep_begin(&list, wt, CPB_WT_VARINT, &rep);
            while (!w && cpb_rep_more(&rep)) {
                uint64_t v;
                w = cpb_rep_next(&rep, &v);
                if (!w && *count >= cap) {
                    cpb_fail(e, IQS_E_FORMAT,
                             "node '%.*s': attr '%s' has more than %d values",
                             (int)n->name.n, (const char *)n->name.p, key, cap);
                    return -1;
                }
                if (!w)
                    out[(*count)++] = (int64_t)v;
            }
        } else if (!w) {
            w = cpb_skip(&list, f, wt);
        }
        if (w) {
            wire_fail(e, w, &list, "attr list");
            return -1;
        }
    }
    return 1;
}

/* TensorShapeProto: dim = 2 (Dim: size = 1), unknown_rank = 3. */
static int parse_shape(cpb_rd *r, int64_t dims[CPB_MAX_RANK], int *rank,
                       cpb_err *e)
{
    *rank = 0;
    int unknown = 0;
    while (!cpb_rd_done(r)) {
        uint32_t f, wt;
        int w = cpb_tag(r, &f, &wt);
        if (!w && f == 2 && wt == CPB_WT_LEN) {
            cpb_rd d;
            int64_t size = 0;
            w = cpb_len(r, &d);
            while (!w && !cpb_rd_done(&d)) {
                uint32_t f2, wt2;
                w = cpb_tag(&d, &f2, &wt2);
                if (!w && f2 == 1 && wt2 == CPB_WT_VARINT) {
                    uint64_t v;
                    w = cpb_varint(&d, &v);
                    size = (int64_t)v;
                } else if (!w) {
                    w = cpb_skip(&d, f2, wt2);
                }
            }
            if (!w) {
                if (*rank >= CPB_MAX_RANK) {
                    cpb_fail(e, IQS_E_FORMAT,
                             "tensor shape at byte %zu has more than %d dims",
                             cpb_pos(r), CPB_MAX_RANK);
                    return -1;
                }
                dims[(*rank)++] = size < 0 ? -1 : size;
            }
        } else if (!w && f == 3 && wt == CPB_WT_VARINT) {
            uint64_t v;
            w = cpb_varint(r, &v);
            unknown = v != 0;
        } else if (!w) {
            w = cpb_skip(r, f, wt);
        }
        if (w) {
            wire_fail(e, w, r, "tensor shape");
            return -1;
        }
    }
    if (unknown)
        *rank = -1;
    return 1;
}

int cpb_attr_shape(const cpb_graph *g, const cpb_node *n, const char *key,
                   int64_t dims[CPB_MAX_RANK], int *rank, cpb_err *e)
{
    cpb_rd sub;
    int k = attr_field(g, n, key, 7, CPB_WT_LEN, NULL, &sub, e);
    if (k != 1)
        return k;
    return parse_shape(&sub, dims, rank, e);
}

const char *cpb_dtype_name(int64_t dt)
{
    switch (dt) {
    case 1: return "DT_FLOAT";
    case 2: return "DT_DOUBLE";
    case 3: return "DT_INT32";
    case 4: return "DT_UINT8";
    case 5: return "DT_INT16";
    case 6: return "DT_INT8";
    case 7: return "DT_STRING";
    case 9: return "DT_INT64";
    case 10: return "DT_BOOL";
    case 14: return "DT_BFLOAT16";
    case 19: return "DT_HALF";
    case 20: return "DT_RESOURCE";
    }
    return dt > 100 ? "a reference dtype" : "an unknown dtype";
}

static size_t dtype_size(int64_t dt)
{
    return dt == CPB_DT_FLOAT || dt == CPB_DT_INT32 ? 4
           : dt == CPB_DT_INT64                     ? 8
                                                    : 0;
}

void cpb_tensor_free(cpb_tensor *t)
{
    if (!t)
        return;
    free(t->vals);
    free(t->ivals);
    t->vals = NULL;
    t->ivals = NULL;
}

/* Appends the elements of a repeated field to vals/ivals. */
static iqs_status add_vals(cpb_tensor *t, cpb_rd *r, uint32_t wt, int is_float,
                           const char *node, cpb_err *e)
{
    cpb_rep rep;
    int w = cpb_rep_begin(r, wt, is_float ? CPB_WT_I32 : CPB_WT_VARINT, &rep);
    while (!w && cpb_rep_more(&rep)) {
        uint64_t v;
        if ((w = cpb_rep_next(&rep, &v)))
            break;
        if (t->n_vals >= t->numel)
            return cpb_fail(e, IQS_E_FORMAT,
                            "Const '%s': more values than its %llu elements",
                            node, (unsigned long long)t->numel);
        if (is_float && !t->vals)
            t->vals = malloc(t->numel * sizeof *t->vals);
        if (!is_float && !t->ivals)
            t->ivals = malloc(t->numel * sizeof *t->ivals);
        if (is_float ? !t->vals : !t->ivals)
            return cpb_fail(e, IQS_E_NOMEM, "out of memory");
        if (is_float) {
            uint32_t u = (uint32_t)v;
            memcpy(&t->vals[t->n_vals++], &u, 4);
        } else {
            /* int_val holds int32 as a sign-extended varint. */
            t->ivals[t->n_vals++] = (int64_t)v;
        }
    }
    if (w)
        return cpb_fail(e, IQS_E_FORMAT,
                        "Const '%s': malformed protobuf at byte %zu (%s)",
                        node, cpb_pos(r), cpb_werr_str(w));
    return IQS_OK;
}

iqs_status cpb_const_tensor(const cpb_graph *g, const cpb_node *n,
                            cpb_tensor *t, cpb_err *e)
{
    char node[CPB_MAX_NAME + 1];
    snprintf(node, sizeof node, "%.*s", (int)n->name.n, (const char *)n->name.p);
    memset(t, 0, sizeof *t);
    cpb_rd tp;
    int k = attr_field(g, n, "value", 8, CPB_WT_LEN, NULL, &tp, e);
    if (k < 0)
        return IQS_E_FORMAT;
    if (k == 0)
        return cpb_fail(e, IQS_E_FORMAT, "Const '%s' has no tensor value",
                        node);
    /* First pass: dtype, shape and content; values need numel first. */
    cpb_rd r = tp;
    int have_shape = 0;
    while (!cpb_rd_done(&r)) {
        uint32_t f, wt;
        cpb_rd sub;
        int w = cpb_tag(&r, &f, &wt);
        if (!w && f == 1 && wt == CPB_WT_VARINT) {
            uint64_t v;
            w = cpb_varint(&r, &v);
            t->dtype = (int64_t)v;
        } else if (!w && f == 2 && wt == CPB_WT_LEN) {
            w = cpb_len(&r, &sub);
            if (!w && parse_shape(&sub, t->dims, &t->rank, e) < 0)
                return IQS_E_FORMAT;
            have_shape = 1;
        } else if (!w && f == 4 && wt == CPB_WT_LEN) {
            w = cpb_len(&r, &sub);
            t->content = sub.p;
            t->n_vals = (size_t)(sub.end - sub.p); /* bytes, for now */
        } else if (!w) {
            w = cpb_skip(&r, f, wt);
        }
        if (w)
            return cpb_fail(e, IQS_E_FORMAT,
                            "Const '%s': malformed tensor at byte %zu (%s)",
                            node, cpb_pos(&r), cpb_werr_str(w));
    }
    if (!have_shape || t->rank < 0)
        t->rank = 0; /* a scalar */
    t->numel = 1;
    for (int d = 0; d < t->rank; d++) {
        if (t->dims[d] < 0 ||
            __builtin_mul_overflow(t->numel, (uint64_t)t->dims[d], &t->numel))
            return cpb_fail(e, IQS_E_FORMAT,
                            "Const '%s': invalid dim %d (%lld)", node, d,
                            (long long)t->dims[d]);
    }
    size_t es = dtype_size(t->dtype);
    if (t->numel > CPB_MAX_TENSOR_BYTES / (es ? es : 1))
        return cpb_fail(e, IQS_E_LIMIT,
                        "Const '%s': %llu elements exceed the %llu-byte "
                        "tensor limit",
                        node, (unsigned long long)t->numel,
                        (unsigned long long)CPB_MAX_TENSOR_BYTES);
    if (t->content) {
        size_t bytes = t->n_vals;
        t->n_vals = 0;
        if (es && bytes != t->numel * es)
            return cpb_fail(e, IQS_E_FORMAT,
                            "Const '%s': tensor_content has %zu bytes, shape "
                            "needs %llu",
                            node, bytes, (unsigned long long)(t->numel * es));
        return IQS_OK;
    }
    if (!es)
        return IQS_OK; /* dtype refused by the caller */
    /* Second pass: the *_val fields of the dtype. */
    uint32_t want = t->dtype == CPB_DT_FLOAT ? 5 : t->dtype == CPB_DT_INT32 ? 7 : 10;
    r = tp;
    while (!cpb_rd_done(&r)) {
        uint32_t f, wt;
        iqs_status s = IQS_OK;
        int w = cpb_tag(&r, &f, &wt);
        if (!w && f == want)
            s = add_vals(t, &r, wt, t->dtype == CPB_DT_FLOAT, node, e);
        else if (!w)
            w = cpb_skip(&r, f, wt);
        if (w)
            s = cpb_fail(e, IQS_E_FORMAT,
                         "Const '%s': malformed tensor at byte %zu (%s)", node,
                         cpb_pos(&r), cpb_werr_str(w));
        if (s != IQS_OK) {
            cpb_tensor_free(t);
            return s;
        }
    }
    return IQS_OK;
}

float cpb_tensor_f(const cpb_tensor *t, uint64_t i)
{
    if (t->content) {
        const uint8_t *p = t->content + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    if (!t->vals || t->n_vals == 0)
        return 0.0f;
    return t->vals[i < t->n_vals ? i : t->n_vals - 1];
}

int64_t cpb_tensor_i(const cpb_tensor *t, uint64_t i)
{
    if (t->content) {
        const uint8_t *p = t->content + (t->dtype == CPB_DT_INT64 ? 8 : 4) * i;
        uint64_t u = (uint64_t)p[0] | (uint64_t)p[1] << 8 |
                     (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
        if (t->dtype == CPB_DT_INT64)
            u |= (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                 (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        else
            return (int32_t)(uint32_t)u;
        return (int64_t)u;
    }
    if (!t->ivals || t->n_vals == 0)
        return 0;
    return t->ivals[i < t->n_vals ? i : t->n_vals - 1];
}
