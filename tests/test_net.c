/*
 * lib/net: the hand-written architecture tables, canonical ordering and the
 * workspace planner (no model file needed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/arch.h"
#include "net/net.h"
#include "testutil.h"

static iqsw_layer tab[IQS_ARCH_MAX_LAYERS + 4];

static void count(const iqsw_layer *l, uint32_t n, uint32_t *c)
{
    memset(c, 0, sizeof(uint32_t) * 8);
    for (uint32_t i = 0; i < n; i++) {
        c[l[i].op]++;
        if (l[i].op == IQSW_OP_CONV && l[i].n_in == 2)
            c[7]++;
    }
}

static void test_irv2_census(void **state)
{
    (void)state;
    uint32_t n = iqs_arch_build(IQSW_ARCH_INCEPTION_RESNET_V2, tab, IQS_ARCH_MAX_LAYERS);
    uint32_t c[8];
    count(tab, n, c);
    /* frozen-graph.md: 244 Conv2D, 43 ConcatV2, 4 MaxPool, 1 AvgPool, 40 Mul/Add */
    assert_int_equal(c[IQSW_OP_CONV], 244);
    assert_int_equal(c[IQSW_OP_CONCAT], 43);
    assert_int_equal(c[IQSW_OP_MAXPOOL], 4);
    assert_int_equal(c[IQSW_OP_AVGPOOL], 1);
    assert_int_equal(c[IQSW_OP_GAP], 1);
    assert_int_equal(c[7], 40);
    assert_int_equal(tab[0].op, IQSW_OP_INPUT);
    assert_int_equal(tab[n - 1].op, IQSW_OP_GAP);
    /* block8_10 is the one residual without activation */
    uint32_t noact = 0;
    for (uint32_t i = 0; i < n; i++)
        noact += tab[i].op == IQSW_OP_CONV && tab[i].n_in == 2 && tab[i].act == IQSW_ACT_NONE;
    assert_int_equal(noact, 1);
}

static void test_v3_census(void **state)
{
    (void)state;
    uint32_t n = iqs_arch_build(IQSW_ARCH_INCEPTION_V3, tab, IQS_ARCH_MAX_LAYERS);
    uint32_t c[8];
    count(tab, n, c);
    /* frozen-graph.md: 94 Conv2D, 15 ConcatV2, 9 AvgPool, 4 MaxPool */
    assert_int_equal(c[IQSW_OP_CONV], 94);
    assert_int_equal(c[IQSW_OP_CONCAT], 15);
    assert_int_equal(c[IQSW_OP_AVGPOOL], 9);
    assert_int_equal(c[IQSW_OP_MAXPOOL], 4);
    assert_int_equal(c[7], 0);
}

/* Canonical order is a fixed point, and a shuffled-but-topological copy
 * (branches built in another order) canonicalises back to the same table. */
static void test_canonical_fixed_point(void **state)
{
    (void)state;
    uint32_t n = iqs_arch_build(IQSW_ARCH_INCEPTION_RESNET_V2, tab, IQS_ARCH_MAX_LAYERS);
    uint32_t order[IQS_ARCH_MAX_LAYERS], scratch[2 * IQS_ARCH_MAX_LAYERS];
    assert_true(iqs_arch_canonicalize(tab, n, order, scratch));
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(order[i], i);
    /* malformed: an input id not smaller than its layer */
    iqsw_layer saved = tab[5];
    tab[5].in[0] = 5;
    assert_false(iqs_arch_canonicalize(tab, n, order, scratch));
    tab[5] = saved;
    /* malformed: a layer not reachable from the output */
    iqsw_layer extra[3];
    memcpy(extra, tab, sizeof extra);
    extra[2].in[0] = 0; /* layer 1 now dangles */
    assert_false(iqs_arch_canonicalize(extra, 3, order, scratch));
    /* a table of the input alone: one entry written, no more (exact-size
     * heap arrays, so AddressSanitizer sees any overrun) */
    uint32_t *one = malloc(sizeof *one), *scr = malloc(2 * sizeof *scr);
    assert_non_null(one);
    assert_non_null(scr);
    assert_true(iqs_arch_canonicalize(tab, 1, one, scr));
    assert_int_equal(one[0], 0);
    free(one);
    free(scr);
}

/* Adds a dense softmax head and checks matching and its messages. */
static void test_match(void **state)
{
    (void)state;
    char why[200];
    uint32_t arch = 0;
    uint32_t n = iqs_arch_build(IQSW_ARCH_INCEPTION_V3, tab, IQS_ARCH_MAX_LAYERS);
    for (uint32_t i = 0; i < n; i++)
        if (tab[i].op == IQSW_OP_CONV)
            tab[i].weight = tab[i].bias = 1;
    iqsw_layer *d = &tab[n];
    memset(d, 0, sizeof *d);
    d->op = IQSW_OP_DENSE;
    d->n_in = 1;
    d->in[0] = n - 1;
    d->in[1] = d->in[2] = d->in[3] = IQSW_NONE;
    d->out_c = 3;
    d->act = IQSW_ACT_SOFTMAX;
    d->weight = d->bias = 2;
    assert_true(iqs_arch_identify(tab, n + 1, &arch, why, sizeof why));
    assert_int_equal(arch, IQSW_ARCH_INCEPTION_V3);
    assert_false(iqs_arch_match(IQSW_ARCH_INCEPTION_RESNET_V2, tab, n + 1, why, sizeof why));
    /* swap a 1x7 into a 7x1: must be refused, naming the layer */
    for (uint32_t i = 0; i < n; i++)
        if (tab[i].kh == 1 && tab[i].kw == 7) {
            tab[i].kh = 7, tab[i].kw = 1;
            assert_false(iqs_arch_identify(tab, n + 1, &arch, why, sizeof why));
            assert_non_null(strstr(why, "kernel"));
            tab[i].kh = 1, tab[i].kw = 7;
            break;
        }
    /* a head without softmax is refused */
    d->act = IQSW_ACT_RELU;
    assert_false(iqs_arch_match(IQSW_ARCH_INCEPTION_V3, tab, n + 1, why, sizeof why));
}

/* Builds a planned net from an arch table with fake weight pointers. */
static iqs_net *plan_arch(uint32_t arch, uint32_t side, iqs_status *st)
{
    static float dummy[4];
    uint32_t n = iqs_arch_build(arch, tab, IQS_ARCH_MAX_LAYERS);
    iqsw_layer *d = &tab[n];
    memset(d, 0, sizeof *d);
    d->op = IQSW_OP_DENSE;
    d->n_in = 1;
    d->in[0] = n - 1;
    d->in[1] = d->in[2] = d->in[3] = IQSW_NONE;
    d->out_c = 3;
    d->act = IQSW_ACT_SOFTMAX;
    n++;
    iqs_net *net = malloc(sizeof *net);
    void *mem = malloc(iqs_net_mem_size(n));
    iqs_net_init(net, n, mem);
    uint32_t ch[IQS_ARCH_MAX_LAYERS + 4];
    for (uint32_t i = 0; i < n; i++) {
        iqs_net_layer *L = &net->layers[i];
        memset(L, 0, sizeof *L);
        L->l = tab[i];
        /* channels of each layer, for the fake weight dims */
        uint32_t c = 3;
        if (tab[i].op == IQSW_OP_CONV || tab[i].op == IQSW_OP_DENSE)
            c = tab[i].out_c;
        else if (tab[i].op == IQSW_OP_CONCAT) {
            c = 0;
            for (uint32_t k = 0; k < tab[i].n_in; k++)
                c += ch[tab[i].in[k]];
        } else if (tab[i].op != IQSW_OP_INPUT)
            c = ch[tab[i].in[0]];
        ch[i] = c;
        if (tab[i].op == IQSW_OP_CONV) {
            L->w = L->b = dummy;
            L->wrank = 4;
            L->wdims[0] = tab[i].out_c;
            L->wdims[1] = ch[tab[i].in[0]];
            L->wdims[2] = tab[i].kh;
            L->wdims[3] = tab[i].kw;
            L->bdims0 = tab[i].out_c;
        } else if (tab[i].op == IQSW_OP_DENSE) {
            L->w = L->b = dummy;
            L->wrank = 2;
            L->wdims[0] = tab[i].out_c;
            L->wdims[1] = ch[tab[i].in[0]];
            L->bdims0 = tab[i].out_c;
        }
    }
    *st = iqs_net_plan(net, side, side, NULL);
    return net;
}

static void free_net(iqs_net *net)
{
    free(net->layers);
    free(net);
}

/* Brute force: at every step, every pair of live values either shares a
 * root on purpose (slice of the same concat / in-place residual) or lies in
 * disjoint arena ranges; a conv's input never overlaps its output. */
static void check_plan(iqs_net *net)
{
    const uint32_t n = net->n;
    uint32_t *last = calloc(n, sizeof *last);
    for (uint32_t i = 0; i < n; i++)
        last[i] = i;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < net->layers[i].l.n_in; k++)
            last[net->layers[i].l.in[k]] = i;
    for (uint32_t j = 0; j < n; j++) {
        const iqs_net_layer *J = &net->layers[j];
        size_t js = (size_t)J->c * J->h * J->w_;
        assert_true(J->off + js <= net->arena_floats);
        for (uint32_t i = 0; i < j; i++) {
            const iqs_net_layer *I = &net->layers[i];
            if (last[i] < j)
                continue; /* dead before j writes */
            if (last[i] == j && J->l.op == IQSW_OP_CONV && J->l.n_in == 2 && J->l.in[1] == i)
                continue; /* in-place residual */
            if (last[i] == j && J->l.op == IQSW_OP_CONCAT)
                continue; /* the concat reads its own slices */
            size_t is = (size_t)I->c * I->h * I->w_;
            int overlap = I->off < J->off + js && J->off < I->off + is;
            if (overlap)
                fail_msg("layer %u (op %u) overwrites live layer %u (op %u, last use %u)", j,
                         J->l.op, i, I->l.op, last[i]);
        }
    }
    free(last);
}

static void test_plan_irv2(void **state)
{
    (void)state;
    static const uint32_t sides[] = { 224, 299, 75, 331 };
    for (size_t s = 0; s < 4; s++) {
        iqs_status st;
        iqs_net *net = plan_arch(IQSW_ARCH_INCEPTION_RESNET_V2, sides[s], &st);
        assert_int_equal(st, IQS_OK);
        check_plan(net);
        printf("irv2 %u: arena %.1f MiB (unshared %.1f MiB), im2col %.1f MiB\n", sides[s],
               net->arena_floats * 4 / 1048576.0, net->peak_floats * 4 / 1048576.0,
               net->col_bytes / 1048576.0);
        assert_true(net->arena_floats < net->peak_floats / 4);
        free_net(net);
    }
}

static void test_plan_v3(void **state)
{
    (void)state;
    iqs_status st;
    iqs_net *net = plan_arch(IQSW_ARCH_INCEPTION_V3, 299, &st);
    assert_int_equal(st, IQS_OK);
    check_plan(net);
    /* final output 8x8x2048 at 299 (frozen-graph.md) */
    const iqs_net_layer *gap_in = &net->layers[net->layers[net->n - 2].l.in[0]];
    assert_int_equal(gap_in->c, 2048);
    assert_int_equal(gap_in->h, 8);
    free_net(net);
    net = plan_arch(IQSW_ARCH_INCEPTION_V3, 224, &st);
    assert_int_equal(st, IQS_OK);
    gap_in = &net->layers[net->layers[net->n - 2].l.in[0]];
    assert_int_equal(gap_in->h, 5);
    free_net(net);
}

static void test_plan_rejects(void **state)
{
    (void)state;
    iqs_status st;
    iqs_net *net = plan_arch(IQSW_ARCH_INCEPTION_RESNET_V2, 60, &st); /* too small */
    assert_int_equal(st, IQS_E_FORMAT);
    free_net(net);
    /* a conv whose weights do not match its input channels */
    net = plan_arch(IQSW_ARCH_INCEPTION_RESNET_V2, 224, &st);
    assert_int_equal(st, IQS_OK);
    uint32_t k = 7;
    while (net->layers[k].l.op != IQSW_OP_CONV)
        k++;
    net->layers[k].wdims[1] += 1;
    iqs_diag d;
    char want[32];
    assert_int_equal(iqs_net_plan(net, 224, 224, &d), IQS_E_FORMAT);
    snprintf(want, sizeof want, "layer %u:", k);
    assert_non_null(strstr(d.msg, want));
    free_net(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_irv2_census),
        cmocka_unit_test(test_v3_census),
        cmocka_unit_test(test_canonical_fixed_point),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_plan_irv2),
        cmocka_unit_test(test_plan_v3),
        cmocka_unit_test(test_plan_rejects),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
