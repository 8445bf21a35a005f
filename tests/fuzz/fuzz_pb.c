/*
 * Fuzz harness: the converter front end (tools/convert_pb) - the GraphDef
 * wire decoder, attribute getters, the Const tensor decoder, the layer DAG
 * builder and the architecture identification - on an in-memory .pb.
 *
 * Stages run in the tool's order: cpb_graph_parse, then cpb_const_tensor
 * and the typed attribute getters on every node (the builder only looks at
 * what it recognises), then cpb_model_build and cpb_model_finish, and when
 * a model gets that far and is small, cpb_model_image and the library's
 * reader on the image (the converter's own self-check). Properties: known
 * statuses, a NUL-terminated message, and the sanitizers' silence (no
 * out-of-range read, no leak on any failure path).
 */
#include "fuzz.h"

#include "convert_pb/convert.h"

static void check_err(const cpb_err *e, iqs_status s)
{
    FZ_CHECK(fz_status_known(s));
    FZ_CHECK(memchr(e->msg, '\0', sizeof e->msg) != NULL);
    FZ_CHECK(s == IQS_OK || e->msg[0] != '\0');
}

static void touch_attrs(const cpb_graph *g)
{
    static const char *const keys[] = {"value", "dtype", "T", "strides", "ksize",
                                       "padding", "data_format", "epsilon",
                                       "shape", "transpose_a", "transpose_b",
                                       "dilations", "keep_dims", "N", "Tidx"};
    cpb_err e;
    int consts = 0;
    for (uint32_t i = 0; i < g->n_nodes && i < 4096; i++) {
        const cpb_node *n = &g->nodes[i];
        /* The first 64 Consts: the builder decodes the rest anyway, and a
         * whole-network skeleton would double each execution's cost. */
        if (cpb_str_eq(n->op, "Const") && consts++ < 64) {
            cpb_tensor t;
            memset(&e, 0, sizeof e);
            iqs_status s = cpb_const_tensor(g, n, &t, &e);
            check_err(&e, s);
            if (s == IQS_OK) {
                /* Only the first and last element: numel may be huge for
                 * a broadcast *_val tensor. */
                if (t.numel && t.dtype == CPB_DT_FLOAT &&
                    (t.content || t.vals)) {
                    volatile float f = cpb_tensor_f(&t, 0);
                    f = cpb_tensor_f(&t, t.numel - 1);
                    (void)f;
                }
                if (t.numel && (t.dtype == CPB_DT_INT32 || t.dtype == CPB_DT_INT64) &&
                    (t.content || t.ivals)) {
                    volatile int64_t v = cpb_tensor_i(&t, t.numel - 1);
                    (void)v;
                }
                cpb_tensor_free(&t);
            }
        }
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            int64_t iv, list[8], dims[CPB_MAX_RANK];
            float fv;
            int bv, cnt, rank;
            cpb_str sv;
            if (!cpb_attr_get(g, n, keys[k]))
                continue;
            (void)cpb_attr_int(g, n, keys[k], &iv, &e);
            (void)cpb_attr_float(g, n, keys[k], &fv, &e);
            (void)cpb_attr_bool(g, n, keys[k], &bv, &e);
            (void)cpb_attr_type(g, n, keys[k], &iv, &e);
            if (cpb_attr_str(g, n, keys[k], &sv, &e) == 1)
                FZ_CHECK(sv.n == 0 || (sv.p >= g->buf && sv.p + sv.n <= g->buf + g->size));
            if (cpb_attr_ints(g, n, keys[k], list, 8, &cnt, &e) == 1)
                FZ_CHECK(cnt >= 0 && cnt <= 8);
            if (cpb_attr_shape(g, n, keys[k], dims, &rank, &e) == 1)
                FZ_CHECK(rank >= -1 && rank <= CPB_MAX_RANK);
        }
        /* Every input name resolves or not, without reading out of range. */
        for (uint32_t k = 0; k < n->n_in; k++) {
            cpb_str in = g->inputs[n->first_in + k];
            int64_t j = cpb_graph_find(g, in.p, in.n);
            FZ_CHECK(j >= -1 && j < (int64_t)g->n_nodes);
        }
    }
}

static void convert(const cpb_graph *g, unsigned input_size)
{
    cpb_model m;
    cpb_err e;
    memset(&e, 0, sizeof e);
    iqs_status s = cpb_model_build(g, input_size, &m, &e);
    check_err(&e, s);
    if (s != IQS_OK)
        return; /* build frees the model on failure */
    memset(&e, 0, sizeof e);
    s = cpb_model_finish(g, &m, input_size, NULL, &e);
    check_err(&e, s);
    if (s == IQS_OK) {
        uint64_t elems = 0;
        for (uint32_t i = 0; i < m.n_consts; i++)
            elems += m.consts[i].numel;
        if (elems <= ((uint64_t)1 << 20)) {
            uint8_t *img = NULL;
            size_t n = 0;
            memset(&e, 0, sizeof e);
            s = cpb_model_image(&m, &img, &n, &e);
            check_err(&e, s);
            if (s == IQS_OK) {
                iqsw_view v;
                iqs_diag d;
                FZ_CHECK(iqs_iqsw_open(img, n, 0, &v, &d) == IQS_OK);
            }
            free(img);
        }
    }
    cpb_model_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cpb_graph g;
    cpb_err e;
    memset(&e, 0, sizeof e);
    iqs_status s = cpb_graph_parse(&g, data, size, &e);
    check_err(&e, s);
    if (s != IQS_OK) {
        FZ_CHECK(g.nodes == NULL && g.n_nodes == 0);
        return 0;
    }
    FZ_CHECK(g.n_nodes > 0);
    touch_attrs(&g);
    convert(&g, 0);
    convert(&g, 75u + (size % 16u));
    cpb_graph_free(&g);
    return 0;
}
