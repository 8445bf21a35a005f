/*
 * Public model and classify API (layer: api): argument checks, model life
 * cycle, and the glue from a validated weights file (format) to a planned
 * network (net) and the preprocessing (image).
 *
 * A model is one block: the iqs_model struct, the layer table with
 * resolved weight pointers, and the planner's scratch. iqs_model_open*
 * callocs it (MALLOC=1 builds only); iqs_model_init_static places it in
 * caller memory sized by iqs_model_static_size (zstd's static-context
 * pattern), which is the only opener of MALLOC=0 builds. Weights stay where
 * they are (mmap or caller memory). iqs_classify uses only the caller's
 * workspace.
 */
#include <string.h>
#if IQS_MALLOC
#include <stdlib.h>
#endif

#include "api/internal.h"
#include "base/common.h"
#include "image/image.h"
#include "net/arch.h"
#if IQS_STDIO
#include "io/io.h"
#endif

#define MIN_INPUT_SIDE 75u /* the stem needs at least 75 px (Keras' minimum) */

IQS_API void iqs_open_options_init(iqs_open_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
}

static size_t model_bytes(uint32_t n)
{
    return iqs_align_up(sizeof(iqs_model), 64) + iqs_net_mem_size(n) +
           (size_t)n * sizeof(iqsw_layer);
}

/* Copies the file's tables into the net and checks them against the
 * hand-written architecture. */
static iqs_status load_layers(iqs_model *m, iqsw_layer *flat, iqs_diag *diag)
{
    const iqsw_view *v = &m->view;
    for (uint32_t i = 0; i < m->net.n; i++) {
        iqs_net_layer *L = &m->net.layers[i];
        memset(L, 0, sizeof *L);
        iqs_iqsw_layer(v, i, &L->l);
        flat[i] = L->l;
        if (L->l.weight != IQSW_NONE) {
            iqsw_tensor t;
            iqs_iqsw_tensor(v, L->l.weight, &t);
            L->w = iqs_iqsw_data(v, L->l.weight);
            L->wrank = t.rank;
            memcpy(L->wdims, t.dims, sizeof L->wdims);
        }
        if (L->l.bias != IQSW_NONE) {
            iqsw_tensor t;
            iqs_iqsw_tensor(v, L->l.bias, &t);
            if (t.rank != 1)
                return iqs_diag_set(diag, IQS_E_FORMAT, "layer %u: bias is not a vector", i);
            L->b = iqs_iqsw_data(v, L->l.bias);
            L->bdims0 = t.dims[0];
        }
    }
    char why[160];
    if (!iqs_arch_match(m->view.h.arch, flat, m->net.n, why, sizeof why))
        return iqs_diag_set(diag, IQS_E_FORMAT, "layer table is not %s: %s",
                            iqs_arch_name(m->view.h.arch), why);
    return IQS_OK;
}

/* Validates the weights (format reader, then the header fields this
 * runtime supports) and settles the input size. Touches no model memory, so
 * the size query and both openers share it. */
static iqs_status check_view(const void *data, size_t size, const iqs_open_options *opt,
                             unsigned rflags, iqsw_view *v, uint32_t *in_h, uint32_t *in_w,
                             iqs_diag *diag)
{
    IQS_TRY(iqs_iqsw_open(data, size, rflags, v, diag));
    const iqsw_header *h = &v->h;
    if (!iqs_arch_name(h->arch))
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED, "unknown architecture id %u", h->arch);
    if (h->input_c != 3 || h->resize != IQSW_RESIZE_NEAREST_EXACT ||
        (h->order != IQSW_ORDER_RGB && h->order != IQSW_ORDER_BGR))
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                            "unsupported preprocessing (channels %u, resize %u, order %u)",
                            h->input_c, h->resize, h->order);
    if (h->classes < 1 || h->classes > IQS_MAX_CLASSES ||
        (h->head != IQS_HEAD_CLASSES && h->head != IQS_HEAD_NIMA10) ||
        (h->head == IQS_HEAD_NIMA10 && h->classes != 10))
        return iqs_diag_set(diag, IQS_E_UNSUPPORTED, "unsupported head (kind %u, %u classes)",
                            h->head, h->classes);
    uint32_t ih = h->input_h, iw = h->input_w;
    if (ih == 0 || iw == 0) {
        ih = iw = opt->input_size ? opt->input_size : h->default_side;
    } else if (opt->input_size && (opt->input_size != ih || opt->input_size != iw)) {
        return iqs_diag_set(diag, IQS_E_ARG, "this model takes %ux%u input only, not %u",
                            ih, iw, opt->input_size);
    }
    if (ih < MIN_INPUT_SIDE || iw < MIN_INPUT_SIDE || ih > IQSW_MAX_INPUT_SIDE ||
        iw > IQSW_MAX_INPUT_SIDE)
        /* the caller's size is a bad argument; the file's own is a model
         * this runtime cannot run */
        return iqs_diag_set(diag, opt->input_size ? IQS_E_ARG : IQS_E_UNSUPPORTED,
                            "input size %ux%u outside %u..%u%s", ih, iw, MIN_INPUT_SIDE,
                            IQSW_MAX_INPUT_SIDE,
                            opt->input_size ? "" : " (the weights file's own)");
    *in_h = ih;
    *in_w = iw;
    return IQS_OK;
}

/* Fills a zeroed model_bytes(n) block m from a checked view: layer table,
 * plan, labels. Allocates nothing; on failure the caller releases m. */
static iqs_status build_model(iqs_model *m, const iqsw_view *v, uint32_t ih, uint32_t iw,
                              const iqs_open_options *opt, iqs_diag *diag)
{
    const iqsw_header *h = &v->h;
    const uint32_t n = h->layer_count;
    m->view = *v;
    m->in_h = ih;
    m->in_w = iw;
    m->bgr = (h->order == IQSW_ORDER_BGR) != ((opt->flags & IQS_OPEN_FEED_BGR) != 0);
    char *mem = (char *)m + iqs_align_up(sizeof(iqs_model), 64);
    iqs_net_init(&m->net, n, mem);
    iqsw_layer *flat = (iqsw_layer *)(mem + iqs_net_mem_size(n));
    IQS_TRY(load_layers(m, flat, diag));
    IQS_TRY(iqs_net_plan(&m->net, ih, iw, diag));
    if (m->net.layers[n - 1].c != h->classes)
        return iqs_diag_set(diag, IQS_E_FORMAT, "head has %u outputs, header says %u classes",
                            m->net.layers[n - 1].c, h->classes);
    /* Labels: consecutive NUL-terminated strings, validated by the reader. */
    const char *lab = iqs_iqsw_string(&m->view, h->labels);
    for (uint32_t k = 0; k < h->classes; k++) {
        m->labels[k] = lab;
        lab += strlen(lab) + 1;
    }
    iqs_diag_ok(diag);
    return IQS_OK;
}

static unsigned read_flags(const iqs_open_options *opt)
{
    return (opt->flags & IQS_OPEN_SKIP_DATA_CRC) ? IQSW_READ_SKIP_DATA_CRC : 0;
}

/* Common argument checks of the memory openers and the static pair. */
static iqs_status check_weights_arg(const void *data, size_t size, iqs_diag *diag)
{
    if (!data || size == 0)
        return iqs_diag_set(diag, IQS_E_ARG, "no data");
    if (((uintptr_t)data & 63u) != 0)
        return iqs_diag_set(diag, IQS_E_ARG, "weights buffer is not 64-byte aligned");
    return IQS_OK;
}

/* Bytes of caller memory a static model needs: the block plus slack to
 * align it to 64 bytes, whatever the caller's alignment. */
static size_t static_bytes(uint32_t n)
{
    return model_bytes(n) + 63u;
}

IQS_API iqs_status iqs_model_static_size(const void *weights, size_t size,
                                         const iqs_open_options *opt, size_t *bytes,
                                         iqs_diag *diag)
{
    iqs_open_options dflt;
    iqsw_view v;
    uint32_t ih, iw;
    if (!bytes)
        return iqs_diag_set(diag, IQS_E_ARG, "bytes is NULL");
    *bytes = 0;
    IQS_TRY(check_weights_arg(weights, size, diag));
    if (!opt) {
        iqs_open_options_init(&dflt);
        opt = &dflt;
    }
    /* The size depends on the tables only: the data CRC is left to init. */
    IQS_TRY(check_view(weights, size, opt, IQSW_READ_SKIP_DATA_CRC, &v, &ih, &iw, diag));
    *bytes = static_bytes(v.h.layer_count);
    iqs_diag_ok(diag);
    return IQS_OK;
}

IQS_API iqs_status iqs_model_init_static(void *mem, size_t mem_size, const void *weights,
                                         size_t size, const iqs_open_options *opt,
                                         iqs_model **out, iqs_diag *diag)
{
    iqs_open_options dflt;
    iqsw_view v;
    uint32_t ih, iw;
    if (!out)
        return iqs_diag_set(diag, IQS_E_ARG, "out is NULL");
    *out = NULL;
    if (!mem)
        return iqs_diag_set(diag, IQS_E_ARG, "mem is NULL");
    IQS_TRY(check_weights_arg(weights, size, diag));
    if (!opt) {
        iqs_open_options_init(&dflt);
        opt = &dflt;
    }
    IQS_TRY(check_view(weights, size, opt, read_flags(opt), &v, &ih, &iw, diag));
    const size_t need = static_bytes(v.h.layer_count);
    if (mem_size < need)
        return iqs_diag_set(diag, IQS_E_NOMEM,
                            "model memory is %zu bytes, this model needs %zu", mem_size, need);
    iqs_model *m = (iqs_model *)(((uintptr_t)mem + 63u) & ~(uintptr_t)63u);
    memset(m, 0, model_bytes(v.h.layer_count));
    m->in_caller_mem = 1;
    IQS_TRY(build_model(m, &v, ih, iw, opt, diag));
    *out = m;
    return IQS_OK;
}

#if IQS_MALLOC
static iqs_status open_view(const void *data, size_t size, const iqs_open_options *opt,
                            iqs_model **out, iqs_diag *diag)
{
    iqsw_view v;
    uint32_t ih, iw;
    IQS_TRY(check_view(data, size, opt, read_flags(opt), &v, &ih, &iw, diag));
    const uint32_t n = v.h.layer_count;
    iqs_model *m = calloc(1, model_bytes(n));
    if (!m)
        return iqs_diag_set(diag, IQS_E_NOMEM, "cannot allocate the model (%u layers)", n);
    iqs_status st = build_model(m, &v, ih, iw, opt, diag);
    if (st != IQS_OK)
        goto fail;
    *out = m;
    return IQS_OK;
fail:
    free(m);
    return st;
}

IQS_API iqs_status iqs_model_open_memory_ex(const void *data, size_t size,
                                            const iqs_open_options *opt,
                                            iqs_model **out, iqs_diag *diag)
{
    iqs_open_options dflt;
    if (!out)
        return iqs_diag_set(diag, IQS_E_ARG, "out is NULL");
    *out = NULL;
    IQS_TRY(check_weights_arg(data, size, diag));
    if (!opt) {
        iqs_open_options_init(&dflt);
        opt = &dflt;
    }
    return open_view(data, size, opt, out, diag);
}

IQS_API iqs_status iqs_model_open_memory(const void *data, size_t size, unsigned flags,
                                         iqs_model **out, iqs_diag *diag)
{
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.flags = flags;
    return iqs_model_open_memory_ex(data, size, &o, out, diag);
}

#if IQS_STDIO
IQS_API iqs_status iqs_model_open_ex(const char *path, const iqs_open_options *opt,
                                     iqs_model **out, iqs_diag *diag)
{
    iqs_open_options dflt;
    iqs_mapping map;
    if (!out)
        return iqs_diag_set(diag, IQS_E_ARG, "out is NULL");
    *out = NULL;
    if (!path)
        return iqs_diag_set(diag, IQS_E_ARG, "path is NULL");
    if (!opt) {
        iqs_open_options_init(&dflt);
        opt = &dflt;
    }
    IQS_TRY(iqs_io_map(path, opt->flags & IQS_OPEN_NO_MMAP, IQSW_MAX_FILE_BYTES, &map, diag));
    iqs_status st = open_view(map.data, map.size, opt, out, diag);
    if (st != IQS_OK) {
        iqs_io_unmap(&map);
        return st;
    }
    (*out)->map = map;
    (*out)->owns_map = 1;
    return IQS_OK;
}

IQS_API iqs_status iqs_model_open(const char *path, unsigned flags, iqs_model **out,
                                  iqs_diag *diag)
{
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.flags = flags;
    return iqs_model_open_ex(path, &o, out, diag);
}
#endif /* IQS_STDIO */
#endif /* IQS_MALLOC */

IQS_API void iqs_model_close(iqs_model *m)
{
    /* A static model lives in caller memory and never owns a mapping. */
    if (!m || m->in_caller_mem)
        return;
#if IQS_MALLOC
#if IQS_STDIO
    if (m->owns_map)
        iqs_io_unmap(&m->map);
#endif
    free(m);
#endif
}

IQS_API size_t iqs_workspace_size(const iqs_model *m)
{
    return m ? m->net.ws_bytes : 0;
}

IQS_API iqs_status iqs_model_get_info(const iqs_model *m, iqs_model_info *out)
{
    if (!m || !out)
        return IQS_E_ARG;
    memset(out, 0, sizeof *out);
    out->architecture = iqs_arch_name(m->view.h.arch);
    out->input_height = (int)m->in_h;
    out->input_width = (int)m->in_w;
    out->input_channels = 3;
    out->num_classes = (int)m->view.h.classes;
    out->head_kind = (int)m->view.h.head;
    for (uint32_t k = 0; k < m->view.h.classes; k++)
        out->labels[k] = m->labels[k];
    out->num_layers = (int)m->net.n;
    out->weights_bytes = m->view.size;
    out->workspace_size = m->net.ws_bytes;
    out->feeds_bgr = m->bgr;
    return IQS_OK;
}

/* Aligns the caller's workspace; NULL when it is missing or smaller than
 * need (a size that includes 64 bytes of alignment slack). */
static void *ws_align_n(void *ws, size_t size, size_t need)
{
    if (!ws)
        return NULL;
    uintptr_t p = ((uintptr_t)ws + 63u) & ~(uintptr_t)63u;
    size_t lost = (size_t)(p - (uintptr_t)ws);
    if (size < need || size - lost < need - 64)
        return NULL;
    return (void *)p;
}

static void *ws_align(const iqs_model *m, void *ws, size_t size)
{
    return ws_align_n(ws, size, m->net.ws_bytes);
}

static int exec_ok(const iqs_executor *e)
{
    return !e || (e->width >= 1 && e->width <= IQS_MAX_WIDTH &&
                  (e->width == 1 || e->run));
}

IQS_API size_t iqs_workspace_size_parallel(const iqs_model *m, int width)
{
    if (!m || width < 1 || width > IQS_MAX_WIDTH)
        return 0;
    return iqs_net_ws_parallel(&m->net, width);
}

static void finish(const iqs_model *m, const float *probs, iqs_result *out)
{
    const uint32_t nc = m->view.h.classes;
    memset(out, 0, sizeof *out);
    out->num_classes = (int)nc;
    int top = 0;
    for (uint32_t k = 0; k < nc; k++) {
        out->probs[k] = probs[k];
        if (probs[k] > probs[top])
            top = (int)k;
    }
    out->top = top;
    out->label = m->labels[top];
    if (m->view.h.head == IQS_HEAD_NIMA10) {
        double s = 0;
        for (uint32_t k = 0; k < nc; k++)
            s += (double)(k + 1) * probs[k];
        out->has_score = 1;
        out->score = (float)s;
    }
}

iqs_status iqs_classify_tensor(const iqs_model *m, const float *chw, void *workspace,
                               size_t workspace_size, iqs_result *out,
                               uint64_t *prof)
{
    float probs[IQS_MAX_CLASSES];
    if (!m || !chw || !out)
        return IQS_E_ARG;
    void *ws = ws_align(m, workspace, workspace_size);
    if (!ws)
        return IQS_E_WORKSPACE;
    memcpy(iqs_net_input(&m->net, ws), chw, (size_t)3 * m->in_h * m->in_w * sizeof(float));
    iqs_net_forward(&m->net, ws, probs, prof);
    finish(m, probs, out);
    return IQS_OK;
}

IQS_API iqs_status iqs_classify(const iqs_model *m, const iqs_image *img, void *workspace,
                                size_t workspace_size, iqs_result *out)
{
    float probs[IQS_MAX_CLASSES];
    if (!m || !img || !out)
        return IQS_E_ARG;
    IQS_TRY(iqs_image_check(img));
    void *ws = ws_align(m, workspace, workspace_size);
    if (!ws)
        return IQS_E_WORKSPACE;
    iqs_resize_normalize(img, (int)m->in_h, (int)m->in_w, m->view.h.scale, m->view.h.offset,
                         m->bgr, iqs_net_input(&m->net, ws));
    iqs_net_forward(&m->net, ws, probs, NULL);
    finish(m, probs, out);
    return IQS_OK;
}

iqs_status iqs_classify_tensor_parallel(const iqs_model *m, const float *chw,
                                        const iqs_executor *exec,
                                        void *workspace, size_t workspace_size,
                                        iqs_result *out)
{
    float probs[IQS_MAX_CLASSES];
    if (!m || !chw || !out || !exec_ok(exec))
        return IQS_E_ARG;
    const int width = exec ? exec->width : 1;
    void *ws = ws_align_n(workspace, workspace_size,
                          iqs_net_ws_parallel(&m->net, width));
    if (!ws)
        return IQS_E_WORKSPACE;
    memcpy(iqs_net_input(&m->net, ws), chw, (size_t)3 * m->in_h * m->in_w * sizeof(float));
    iqs_net_forward_parallel(&m->net, ws, exec, probs);
    finish(m, probs, out);
    return IQS_OK;
}

IQS_API iqs_status iqs_classify_parallel(const iqs_model *m, const iqs_image *img,
                                         const iqs_executor *exec, void *workspace,
                                         size_t workspace_size, iqs_result *out)
{
    float probs[IQS_MAX_CLASSES];
    if (!m || !img || !out || !exec_ok(exec))
        return IQS_E_ARG;
    IQS_TRY(iqs_image_check(img));
    const int width = exec ? exec->width : 1;
    void *ws = ws_align_n(workspace, workspace_size,
                          iqs_net_ws_parallel(&m->net, width));
    if (!ws)
        return IQS_E_WORKSPACE;
    iqs_resize_normalize(img, (int)m->in_h, (int)m->in_w, m->view.h.scale, m->view.h.offset,
                         m->bgr, iqs_net_input(&m->net, ws));
    iqs_net_forward_parallel(&m->net, ws, exec, probs);
    finish(m, probs, out);
    return IQS_OK;
}

#if IQS_STDIO
IQS_API iqs_status iqs_classify_file(const iqs_model *m, const char *path,
                                     const iqs_decode_options *opt, void *workspace,
                                     size_t workspace_size, iqs_result *out, iqs_diag *diag)
{
    iqs_image img;
    if (!m || !path || !out)
        return iqs_diag_set(diag, IQS_E_ARG, "NULL argument");
    IQS_TRY(iqs_image_load(path, opt, &img, diag));
    iqs_status st = iqs_classify(m, &img, workspace, workspace_size, out);
    iqs_image_free(&img);
    if (st != IQS_OK)
        return iqs_diag_set(diag, st, "%s: %s", path, iqs_strerror(st));
    iqs_diag_ok(diag);
    return IQS_OK;
}
#endif
