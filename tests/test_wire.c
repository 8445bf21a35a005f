/*
 * Protobuf wire-format reader and GraphDef decoder of tools/convert_pb
 * (wire.c, graph.c). Messages are encoded here by a tiny independent
 * encoder; expected values are written out by hand (varint byte patterns
 * from the protobuf encoding guide).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tools/convert_pb/graph.h"
#include "../tools/convert_pb/wire.h"
#include "testutil.h"

/* ------------------------------------------------------------ encoder */

typedef struct buf {
    uint8_t b[8192];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof o->b);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put_varint(buf *o, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(o, &c, 1);
    } while (v);
}
static void put_tag(buf *o, uint32_t f, uint32_t wt) { put_varint(o, (uint64_t)f << 3 | wt); }
static void put_vfield(buf *o, uint32_t f, uint64_t v)
{
    put_tag(o, f, 0);
    put_varint(o, v);
}
static void put_lfield(buf *o, uint32_t f, const void *p, size_t n)
{
    put_tag(o, f, 2);
    put_varint(o, n);
    put(o, p, n);
}
static void put_sfield(buf *o, uint32_t f, const char *s) { put_lfield(o, f, s, strlen(s)); }
static void put_f32(buf *o, float v)
{
    uint8_t b[4];
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(u >> (8 * i));
    put(o, b, 4);
}
/* attr map entry {key, AttrValue bytes} */
static void put_attr(buf *node, const char *key, const buf *val)
{
    buf e = {.n = 0};
    put_sfield(&e, 1, key);
    put_lfield(&e, 2, val->b, val->n);
    put_lfield(node, 5, e.b, e.n);
}

/* -------------------------------------------------------------- varints */

static int dec(const uint8_t *p, size_t n, uint64_t *v, size_t *used)
{
    cpb_rd r;
    cpb_rd_init(&r, p, p, n);
    int e = cpb_varint(&r, v);
    *used = cpb_pos(&r);
    return e;
}

static void test_varint_values(void **state)
{
    (void)state;
    uint64_t v;
    size_t used;
    const uint8_t zero[] = {0x00}, one[] = {0x01}, m127[] = {0x7F};
    const uint8_t v128[] = {0x80, 0x01}, v300[] = {0xAC, 0x02};
    const uint8_t padded[] = {0x80, 0x80, 0x00}; /* non-minimal, still 0 */
    const uint8_t max[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    const uint8_t neg1_32[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_int_equal(dec(zero, 1, &v, &used), CPB_W_OK);
    assert_int_equal(v, 0);
    assert_int_equal(dec(one, 1, &v, &used), CPB_W_OK);
    assert_int_equal(v, 1);
    assert_int_equal(dec(m127, 1, &v, &used), CPB_W_OK);
    assert_int_equal(v, 127);
    assert_int_equal(dec(v128, 2, &v, &used), CPB_W_OK);
    assert_int_equal(v, 128);
    assert_int_equal(used, 2);
    assert_int_equal(dec(v300, 2, &v, &used), CPB_W_OK);
    assert_int_equal(v, 300);
    assert_int_equal(dec(padded, 3, &v, &used), CPB_W_OK);
    assert_int_equal(v, 0);
    assert_int_equal(used, 3);
    assert_int_equal(dec(max, 10, &v, &used), CPB_W_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(used, 10);
    /* int32 -1 is sent sign-extended as 10 bytes */
    assert_int_equal(dec(neg1_32, 10, &v, &used), CPB_W_OK);
    assert_int_equal((int32_t)v, -1);
}

static void test_varint_errors(void **state)
{
    (void)state;
    uint64_t v;
    size_t used;
    const uint8_t over10[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    const uint8_t cont[] = {0x80};
    assert_int_equal(dec(over10, 10, &v, &used), CPB_W_OVERLONG);
    assert_int_equal(dec(eleven, 11, &v, &used), CPB_W_OVERLONG);
    assert_int_equal(dec(cont, 1, &v, &used), CPB_W_TRUNC);
    assert_int_equal(dec(cont, 0, &v, &used), CPB_W_TRUNC);
    /* every proper prefix of a 10-byte varint is truncated */
    const uint8_t max[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    for (size_t k = 0; k < 10; k++)
        assert_int_equal(dec(max, k, &v, &used), CPB_W_TRUNC);
}

static void test_tags_and_fixed(void **state)
{
    (void)state;
    cpb_rd r;
    uint32_t f, wt, u32;
    uint64_t u64;
    const uint8_t f0[] = {0x02}, wt6[] = {0x0E}, wt7[] = {0x0F};
    cpb_rd_init(&r, f0, f0, 1);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_BADTAG);
    cpb_rd_init(&r, wt6, wt6, 1);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_BADWIRE);
    cpb_rd_init(&r, wt7, wt7, 1);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_BADWIRE);
    buf o = {.n = 0};
    put_tag(&o, 0x1FFFFFFF, 5); /* the largest field number */
    cpb_rd_init(&r, o.b, o.b, o.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(f, 0x1FFFFFFF);
    assert_int_equal(wt, 5);
    o.n = 0;
    put_varint(&o, (uint64_t)0x20000000 << 3); /* one above */
    cpb_rd_init(&r, o.b, o.b, o.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_BADTAG);

    const uint8_t le[] = {0x78, 0x56, 0x34, 0x12, 0xF0, 0xDE, 0xBC, 0x9A};
    cpb_rd_init(&r, le, le, 8);
    assert_int_equal(cpb_fixed32(&r, &u32), CPB_W_OK);
    assert_int_equal(u32, 0x12345678u);
    cpb_rd_init(&r, le, le, 8);
    assert_int_equal(cpb_fixed64(&r, &u64), CPB_W_OK);
    assert_true(u64 == 0x9ABCDEF012345678ull);
    for (size_t k = 0; k < 4; k++) {
        cpb_rd_init(&r, le, le, k);
        assert_int_equal(cpb_fixed32(&r, &u32), CPB_W_TRUNC);
    }
    for (size_t k = 0; k < 8; k++) {
        cpb_rd_init(&r, le, le, k);
        assert_int_equal(cpb_fixed64(&r, &u64), CPB_W_TRUNC);
    }
}

static void test_length_delimited(void **state)
{
    (void)state;
    buf o = {.n = 0};
    put_sfield(&o, 1, "hello");
    put_vfield(&o, 2, 7);
    cpb_rd r, sub;
    uint32_t f, wt;
    cpb_rd_init(&r, o.b, o.b, o.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_len(&r, &sub), CPB_W_OK);
    assert_int_equal(sub.end - sub.p, 5);
    assert_memory_equal(sub.p, "hello", 5);
    assert_int_equal(cpb_pos(&sub), 2); /* offsets are from the base */
    uint64_t v;
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_varint(&r, &v), CPB_W_OK);
    assert_int_equal(v, 7);
    assert_true(cpb_rd_done(&r));
    /* length past the end, and a huge length */
    const uint8_t past[] = {0x06, 'a', 'b'};
    cpb_rd_init(&r, past, past, 3);
    assert_int_equal(cpb_len(&r, &sub), CPB_W_TRUNC);
    buf h = {.n = 0};
    put_varint(&h, (uint64_t)1 << 62);
    put(&h, "xyz", 3);
    cpb_rd_init(&r, h.b, h.b, h.n);
    assert_int_equal(cpb_len(&r, &sub), CPB_W_TRUNC);
}

/* Unknown fields of every wire type (and nested groups) are skipped. */
static void test_skip_every_wire_type(void **state)
{
    (void)state;
    buf o = {.n = 0};
    put_vfield(&o, 10, 123456789);          /* varint */
    put_tag(&o, 11, 1);                      /* fixed64 */
    put(&o, "\1\2\3\4\5\6\7\x8", 8);
    put_sfield(&o, 12, "skip me");           /* length-delimited */
    put_tag(&o, 13, 3);                      /* group { varint, group{}, len } */
    put_vfield(&o, 1, 5);
    put_tag(&o, 2, 3);
    put_tag(&o, 2, 4);
    put_sfield(&o, 3, "in group");
    put_tag(&o, 13, 4);
    put_tag(&o, 14, 5);                      /* fixed32 */
    put(&o, "abcd", 4);
    put_vfield(&o, 1, 42);                   /* the field we want */

    cpb_rd r;
    cpb_rd_init(&r, o.b, o.b, o.n);
    uint64_t got = 0;
    int seen = 0;
    while (!cpb_rd_done(&r)) {
        uint32_t f, wt;
        assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
        if (f == 1) {
            assert_int_equal(cpb_varint(&r, &got), CPB_W_OK);
            seen++;
        } else {
            assert_int_equal(cpb_skip(&r, f, wt), CPB_W_OK);
        }
    }
    assert_int_equal(seen, 1);
    assert_int_equal(got, 42);

    /* every truncation of that message is caught by skip or read */
    for (size_t k = 0; k < o.n; k++) {
        cpb_rd_init(&r, o.b, o.b, k);
        int err = CPB_W_OK, done42 = 0;
        while (!err && !cpb_rd_done(&r)) {
            uint32_t f, wt;
            err = cpb_tag(&r, &f, &wt);
            if (err)
                break;
            if (f == 1 && wt == 0) {
                err = cpb_varint(&r, &got);
                done42 = !err;
            } else {
                err = cpb_skip(&r, f, wt);
            }
        }
        /* a prefix either fails or ends at a field boundary before 42 */
        assert_false(done42);
        (void)err;
    }

    /* mismatched and lone end-groups, too-deep nesting */
    buf bad = {.n = 0};
    put_tag(&bad, 5, 3);
    put_tag(&bad, 6, 4);
    cpb_rd_init(&r, bad.b, bad.b, bad.n);
    uint32_t f, wt;
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_skip(&r, f, wt), CPB_W_BADWIRE);
    bad.n = 0;
    put_tag(&bad, 5, 4);
    cpb_rd_init(&r, bad.b, bad.b, bad.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_skip(&r, f, wt), CPB_W_BADWIRE);
    bad.n = 0;
    for (int d = 0; d < CPB_MAX_GROUP_DEPTH + 2; d++)
        put_tag(&bad, 7, 3);
    for (int d = 0; d < CPB_MAX_GROUP_DEPTH + 2; d++)
        put_tag(&bad, 7, 4);
    cpb_rd_init(&r, bad.b, bad.b, bad.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_skip(&r, f, wt), CPB_W_DEPTH);
    /* an unterminated group */
    bad.n = 0;
    put_tag(&bad, 5, 3);
    put_vfield(&bad, 1, 1);
    cpb_rd_init(&r, bad.b, bad.b, bad.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_skip(&r, f, wt), CPB_W_TRUNC);
}

static void test_packed_repeated(void **state)
{
    (void)state;
    buf o = {.n = 0}, pk = {.n = 0};
    put_varint(&pk, 1);
    put_varint(&pk, 300);
    put_varint(&pk, UINT64_MAX); /* -1 as int64 */
    put_lfield(&o, 3, pk.b, pk.n);
    put_vfield(&o, 3, 9); /* unpacked element of the same field */
    cpb_rd r;
    cpb_rd_init(&r, o.b, o.b, o.n);
    int64_t got[8];
    int n = 0;
    while (!cpb_rd_done(&r)) {
        uint32_t f, wt;
        cpb_rep rep;
        assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
        assert_int_equal(cpb_rep_begin(&r, wt, CPB_WT_VARINT, &rep), CPB_W_OK);
        while (cpb_rep_more(&rep)) {
            uint64_t v;
            assert_int_equal(cpb_rep_next(&rep, &v), CPB_W_OK);
            got[n++] = (int64_t)v;
        }
    }
    assert_int_equal(n, 4);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 300);
    assert_int_equal(got[2], -1);
    assert_int_equal(got[3], 9);

    /* packed floats: count, values; bad length; wrong wire type */
    buf fl = {.n = 0}, pf = {.n = 0};
    put_f32(&pf, 1.5f);
    put_f32(&pf, -2.0f);
    put_lfield(&fl, 5, pf.b, pf.n);
    cpb_rd_init(&r, fl.b, fl.b, fl.n);
    uint32_t f, wt;
    cpb_rep rep;
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_rep_begin(&r, wt, CPB_WT_I32, &rep), CPB_W_OK);
    assert_int_equal(cpb_rep_count(&rep), 2);
    uint64_t bits;
    float x;
    assert_int_equal(cpb_rep_next(&rep, &bits), CPB_W_OK);
    uint32_t b32 = (uint32_t)bits;
    memcpy(&x, &b32, 4);
    assert_true(x == 1.5f);
    fl.n = 0;
    put_lfield(&fl, 5, pf.b, 7);
    cpb_rd_init(&r, fl.b, fl.b, fl.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_rep_begin(&r, wt, CPB_WT_I32, &rep), CPB_W_PACKED);
    fl.n = 0;
    put_vfield(&fl, 5, 1);
    cpb_rd_init(&r, fl.b, fl.b, fl.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_rep_begin(&r, wt, CPB_WT_I32, &rep), CPB_W_BADWIRE);
    /* a packed varint list ending inside a varint */
    buf tv = {.n = 0};
    const uint8_t trunc_list[] = {0x01, 0x80};
    put_lfield(&tv, 3, trunc_list, 2);
    cpb_rd_init(&r, tv.b, tv.b, tv.n);
    assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
    assert_int_equal(cpb_rep_begin(&r, wt, CPB_WT_VARINT, &rep), CPB_W_OK);
    assert_int_equal(cpb_rep_next(&rep, &bits), CPB_W_OK);
    assert_int_equal(cpb_rep_next(&rep, &bits), CPB_W_TRUNC);
}

/* ------------------------------------------------------------ GraphDef */

/* A two-node graph: a Const (2x3 float32, tensor_content) and an op with
 * inputs and attrs of every kind the converter reads. */
static size_t make_graph(buf *g, size_t *node1_end)
{
    buf n1 = {.n = 0}, n2 = {.n = 0}, v = {.n = 0}, t = {.n = 0}, sh = {.n = 0},
        d = {.n = 0};
    /* TensorShapeProto {dim {size 2} dim {size 3}} */
    put_vfield(&d, 1, 2);
    put_lfield(&sh, 2, d.b, d.n);
    d.n = 0;
    put_vfield(&d, 1, 3);
    put_lfield(&sh, 2, d.b, d.n);
    put_vfield(&t, 1, CPB_DT_FLOAT);
    put_lfield(&t, 2, sh.b, sh.n);
    buf content = {.n = 0};
    for (int i = 0; i < 6; i++)
        put_f32(&content, (float)i * 0.5f - 1.0f);
    put_lfield(&t, 4, content.b, content.n);
    put_vfield(&t, 99, 1); /* unknown TensorProto field */
    put_lfield(&v, 8, t.b, t.n);
    put_sfield(&n1, 1, "w");
    put_sfield(&n1, 2, "Const");
    put_attr(&n1, "value", &v);
    v.n = 0;
    put_vfield(&v, 6, CPB_DT_FLOAT);
    put_attr(&n1, "dtype", &v);

    put_sfield(&n2, 1, "model/conv/Conv2D");
    put_sfield(&n2, 2, "Conv2D");
    put_sfield(&n2, 3, "x");
    put_sfield(&n2, 3, "w:0");
    put_sfield(&n2, 3, "^ctrl");
    put_sfield(&n2, 4, "/device:CPU:0");
    v.n = 0;
    put_sfield(&v, 2, "SAME");
    put_attr(&n2, "padding", &v);
    v.n = 0;
    buf lst = {.n = 0}, pk = {.n = 0};
    put_varint(&pk, 1);
    put_varint(&pk, 2);
    put_varint(&pk, 2);
    put_lfield(&lst, 3, pk.b, pk.n);
    put_vfield(&lst, 3, 1); /* last element unpacked */
    put_lfield(&v, 1, lst.b, lst.n);
    put_attr(&n2, "strides", &v);
    v.n = 0;
    put_tag(&v, 4, 5);
    put_f32(&v, 0.001f);
    put_attr(&n2, "epsilon", &v);
    v.n = 0;
    put_vfield(&v, 5, 1);
    put_attr(&n2, "is_training", &v);
    v.n = 0;
    put_vfield(&v, 3, (uint64_t)-7);
    put_attr(&n2, "neg", &v);
    v.n = 0;
    sh.n = 0;
    d.n = 0;
    put_vfield(&d, 1, (uint64_t)-1);
    put_lfield(&sh, 2, d.b, d.n);
    d.n = 0;
    put_vfield(&d, 1, 224);
    put_sfield(&d, 2, "h");
    put_lfield(&sh, 2, d.b, d.n);
    put_lfield(&v, 7, sh.b, sh.n);
    put_attr(&n2, "shape", &v);
    put_tag(&n2, 77, 3); /* unknown group in a NodeDef */
    put_vfield(&n2, 1, 1);
    put_tag(&n2, 77, 4);

    put_lfield(g, 1, n1.b, n1.n);
    *node1_end = g->n;
    put_lfield(g, 1, n2.b, n2.n);
    buf ver = {.n = 0};
    put_vfield(&ver, 1, 808);
    put_lfield(g, 4, ver.b, ver.n); /* versions: unknown to us */
    return g->n;
}

static void test_graph_parse(void **state)
{
    (void)state;
    buf gb = {.n = 0};
    size_t n1end;
    make_graph(&gb, &n1end);
    cpb_graph g;
    cpb_err e;
    assert_int_equal(cpb_graph_parse(&g, gb.b, gb.n, &e), IQS_OK);
    assert_int_equal(g.n_nodes, 2);
    int64_t k = cpb_graph_find(&g, (const uint8_t *)"model/conv/Conv2D", 17);
    assert_int_equal(k, 1);
    assert_int_equal(cpb_graph_find(&g, (const uint8_t *)"nope", 4), -1);
    const cpb_node *c = &g.nodes[1];
    assert_true(cpb_str_eq(c->op, "Conv2D"));
    assert_int_equal(c->n_in, 3);
    assert_true(cpb_str_eq(g.inputs[c->first_in + 1], "w:0"));
    assert_true(cpb_str_eq(g.inputs[c->first_in + 2], "^ctrl"));

    cpb_str s;
    assert_int_equal(cpb_attr_str(&g, c, "padding", &s, &e), 1);
    assert_true(cpb_str_eq(s, "SAME"));
    int64_t ints[8];
    int n;
    assert_int_equal(cpb_attr_ints(&g, c, "strides", ints, 8, &n, &e), 1);
    assert_int_equal(n, 4);
    assert_int_equal(ints[0], 1);
    assert_int_equal(ints[1], 2);
    assert_int_equal(ints[3], 1);
    assert_int_equal(cpb_attr_ints(&g, c, "strides", ints, 3, &n, &e), -1);
    float f;
    assert_int_equal(cpb_attr_float(&g, c, "epsilon", &f, &e), 1);
    assert_true(f == 0.001f);
    int b;
    assert_int_equal(cpb_attr_bool(&g, c, "is_training", &b, &e), 1);
    assert_int_equal(b, 1);
    int64_t i64;
    assert_int_equal(cpb_attr_int(&g, c, "neg", &i64, &e), 1);
    assert_int_equal(i64, -7);
    assert_int_equal(cpb_attr_int(&g, c, "padding", &i64, &e), 0); /* other kind */
    assert_int_equal(cpb_attr_int(&g, c, "absent", &i64, &e), 0);
    int64_t dims[CPB_MAX_RANK];
    int rank;
    assert_int_equal(cpb_attr_shape(&g, c, "shape", dims, &rank, &e), 1);
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], -1);
    assert_int_equal(dims[1], 224);

    cpb_tensor t;
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[0], &t, &e), IQS_OK);
    assert_int_equal(t.dtype, CPB_DT_FLOAT);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.numel, 6);
    for (int i = 0; i < 6; i++)
        assert_true(cpb_tensor_f(&t, (uint64_t)i) == (float)i * 0.5f - 1.0f);
    cpb_tensor_free(&t);
    cpb_graph_free(&g);
    cpb_graph_free(&g); /* twice is harmless */
}

/* Every prefix of the graph fails, except the one ending exactly after the
 * first node (a valid one-node GraphDef) and the one before the unknown
 * versions field. */
static void test_graph_every_truncation(void **state)
{
    (void)state;
    buf gb = {.n = 0};
    size_t n1end;
    size_t total = make_graph(&gb, &n1end);
    size_t n2end = 0;
    { /* where the second node field ends: re-walk the top level */
        cpb_rd r;
        cpb_rd_init(&r, gb.b, gb.b, gb.n);
        uint32_t f, wt;
        cpb_rd sub;
        for (int i = 0; i < 2; i++) {
            assert_int_equal(cpb_tag(&r, &f, &wt), CPB_W_OK);
            assert_int_equal(cpb_len(&r, &sub), CPB_W_OK);
        }
        n2end = cpb_pos(&r);
    }
    for (size_t k = 0; k < total; k++) {
        cpb_graph g;
        cpb_err e;
        memset(&e, 0, sizeof e);
        /* copy so ASan sees reads past the prefix */
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, gb.b, k);
        iqs_status s = cpb_graph_parse(&g, p, k, &e);
        if (k == n1end || k == n2end) {
            assert_int_equal(s, IQS_OK);
            assert_int_equal(g.n_nodes, k == n1end ? 1 : 2);
            cpb_graph_free(&g);
        } else {
            if (s != IQS_E_FORMAT)
                fail_msg("prefix %zu: status %d", k, s);
            assert_non_null(strstr(e.msg, k ? "byte" : "no nodes"));
            assert_int_equal(g.n_nodes, 0);
        }
        free(p);
    }
}

static void put_const_node(buf *g, const char *name, int64_t dtype,
                           const int64_t *dims, int rank, const buf *vals,
                           uint32_t val_field)
{
    buf n = {.n = 0}, v = {.n = 0}, t = {.n = 0}, sh = {.n = 0};
    for (int i = 0; i < rank; i++) {
        buf d = {.n = 0};
        put_vfield(&d, 1, (uint64_t)dims[i]);
        put_lfield(&sh, 2, d.b, d.n);
    }
    put_vfield(&t, 1, (uint64_t)dtype);
    put_lfield(&t, 2, sh.b, sh.n);
    if (vals)
        put_lfield(&t, val_field, vals->b, vals->n);
    put_lfield(&v, 8, t.b, t.n);
    put_sfield(&n, 1, name);
    put_sfield(&n, 2, "Const");
    put_attr(&n, "value", &v);
    put_lfield(g, 1, n.b, n.n);
}

static void test_const_forms(void **state)
{
    (void)state;
    buf gb = {.n = 0}, vals = {.n = 0};
    const int64_t d23[] = {2, 3}, d4[] = {4}, d2[] = {2};
    /* float_val broadcast: one value fills the 2x3 tensor */
    put_f32(&vals, 0.25f);
    put_const_node(&gb, "bcast", CPB_DT_FLOAT, d23, 2, &vals, 5);
    /* float_val with all values */
    vals.n = 0;
    for (int i = 0; i < 4; i++)
        put_f32(&vals, (float)i);
    put_const_node(&gb, "full", CPB_DT_FLOAT, d4, 1, &vals, 5);
    /* scalar int_val (concat axis), negative */
    vals.n = 0;
    put_varint(&vals, (uint64_t)-1);
    put_const_node(&gb, "axis", CPB_DT_INT32, NULL, 0, &vals, 7);
    /* float16 */
    vals.n = 0;
    put_varint(&vals, 0x3C00);
    put_const_node(&gb, "half", 19, d2, 1, &vals, 13);
    /* tensor_content of the wrong size */
    vals.n = 0;
    put_f32(&vals, 1.0f);
    put_const_node(&gb, "short", CPB_DT_FLOAT, d4, 1, &vals, 4);
    /* more float_val than elements */
    vals.n = 0;
    for (int i = 0; i < 3; i++)
        put_f32(&vals, 1.0f);
    put_const_node(&gb, "long", CPB_DT_FLOAT, d2, 1, &vals, 5);

    cpb_graph g;
    cpb_err e;
    cpb_tensor t;
    assert_int_equal(cpb_graph_parse(&g, gb.b, gb.n, &e), IQS_OK);
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[0], &t, &e), IQS_OK);
    assert_int_equal(t.numel, 6);
    for (uint64_t i = 0; i < 6; i++)
        assert_true(cpb_tensor_f(&t, i) == 0.25f);
    cpb_tensor_free(&t);
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[1], &t, &e), IQS_OK);
    for (uint64_t i = 0; i < 4; i++)
        assert_true(cpb_tensor_f(&t, i) == (float)i);
    cpb_tensor_free(&t);
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[2], &t, &e), IQS_OK);
    assert_int_equal(t.rank, 0);
    assert_int_equal(t.numel, 1);
    assert_int_equal(cpb_tensor_i(&t, 0), -1);
    cpb_tensor_free(&t);
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[3], &t, &e), IQS_OK);
    assert_int_equal(t.dtype, 19);
    assert_null(t.vals);
    assert_string_equal(cpb_dtype_name(t.dtype), "DT_HALF");
    cpb_tensor_free(&t);
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[4], &t, &e), IQS_E_FORMAT);
    assert_non_null(strstr(e.msg, "short"));
    assert_int_equal(cpb_const_tensor(&g, &g.nodes[5], &t, &e), IQS_E_FORMAT);
    assert_non_null(strstr(e.msg, "long"));
    cpb_graph_free(&g);
}

static void test_graph_rejects(void **state)
{
    (void)state;
    cpb_graph g;
    cpb_err e;
    /* duplicate names */
    buf gb = {.n = 0}, n = {.n = 0};
    put_sfield(&n, 1, "a");
    put_sfield(&n, 2, "NoOp");
    put_lfield(&gb, 1, n.b, n.n);
    put_lfield(&gb, 1, n.b, n.n);
    assert_int_equal(cpb_graph_parse(&g, gb.b, gb.n, &e), IQS_E_FORMAT);
    assert_non_null(strstr(e.msg, "duplicate"));
    /* a node without op */
    gb.n = n.n = 0;
    put_sfield(&n, 1, "a");
    put_lfield(&gb, 1, n.b, n.n);
    assert_int_equal(cpb_graph_parse(&g, gb.b, gb.n, &e), IQS_E_FORMAT);
    /* NodeDef name sent as a varint */
    gb.n = n.n = 0;
    put_vfield(&n, 1, 5);
    put_lfield(&gb, 1, n.b, n.n);
    assert_int_equal(cpb_graph_parse(&g, gb.b, gb.n, &e), IQS_E_FORMAT);
    /* empty input and random bytes */
    assert_int_equal(cpb_graph_parse(&g, gb.b, 0, &e), IQS_E_FORMAT);
    uint8_t rnd[4096];
    uint32_t x = 12345;
    for (int trial = 0; trial < 200; trial++) {
        for (size_t i = 0; i < sizeof rnd; i++) {
            x = x * 1103515245u + 12345u;
            rnd[i] = (uint8_t)(x >> 16);
        }
        iqs_status s = cpb_graph_parse(&g, rnd, sizeof rnd, &e);
        if (s == IQS_OK)
            cpb_graph_free(&g); /* possible in principle; must not crash */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_values),
        cmocka_unit_test(test_varint_errors),
        cmocka_unit_test(test_tags_and_fixed),
        cmocka_unit_test(test_length_delimited),
        cmocka_unit_test(test_skip_every_wire_type),
        cmocka_unit_test(test_packed_repeated),
        cmocka_unit_test(test_graph_parse),
        cmocka_unit_test(test_graph_every_truncation),
        cmocka_unit_test(test_const_forms),
        cmocka_unit_test(test_graph_rejects),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
