/*
 * IQSW file assembly and the conversion driver (tools/convert_pb).
 *
 * cpb_model_image lays the file out (header, tensor table, layer table,
 * string table, 64-byte aligned data), folds every BatchNorm into its conv
 * in float64 straight into the output buffer, and seals the CRCs with the
 * library's writer helpers (lib/format/iqsw_write.c). cpb_convert runs the
 * whole tool: read, parse, build, finish, image, a self-check through the
 * library's own reader, then an atomic write (OUT.tmp in the destination
 * folder, fsync, rename, fsync of the folder) so that a failure at any
 * point leaves no output file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "base/rd.h"
#include "convert.h"
#include "io/io.h"

#define KNOWN_V3_SIZE 88007527u
static const char KNOWN_V3_SHA[] =
    "8923e3daff71c07533b9023ef32c69d8c058d1e0931d76d8b81241a201138538";

static const char *arch_label(uint32_t arch)
{
    return arch == IQSW_ARCH_INCEPTION_RESNET_V2 ? "inception_resnet_v2"
           : arch == IQSW_ARCH_INCEPTION_V3      ? "inception_v3"
                                                 : "?";
}

/* ------------------------------------------------------------- folding */

/* Conv: HWIO [KH,KW,IC,OC] -> OIHW, W' = W*s, b' = (b_in - mean)*s + beta
 * + b_out with s = gamma / sqrt(var + eps), all in float64. */
static iqs_status fold_conv(const cpb_model *m, const cpb_layer *L,
                            uint8_t *wout, uint8_t *bout, cpb_err *e)
{
    const uint32_t OC = L->l.out_c, IC = L->ic, KH = L->l.kh, KW = L->l.kw;
    const cpb_tensor *w = &m->consts[L->w_k];
    double *s = malloc((size_t)OC * sizeof *s);
    if (!s)
        return cpb_fail(e, IQS_E_NOMEM, "out of memory");
    for (uint32_t o = 0; o < OC; o++) {
        double sc = 1.0, b = 0.0;
        if (L->gamma_k >= 0) {
            double var = cpb_tensor_f(&m->consts[L->var_k], o);
            double den = var + L->eps;
            if (!(den > 0.0)) {
                free(s);
                return cpb_fail(e, IQS_E_FORMAT,
                                "layer '%s': BN variance %g + epsilon %g is "
                                "not positive (channel %u)",
                                L->name, var, L->eps, o);
            }
            sc = (double)cpb_tensor_f(&m->consts[L->gamma_k], o) / sqrt(den);
            double bin = L->bin_k >= 0 ? cpb_tensor_f(&m->consts[L->bin_k], o) : 0.0;
            b = (bin - (double)cpb_tensor_f(&m->consts[L->mean_k], o)) * sc +
                (double)cpb_tensor_f(&m->consts[L->beta_k], o);
        } else if (L->bin_k >= 0) {
            b = cpb_tensor_f(&m->consts[L->bin_k], o);
        }
        if (L->bout_k >= 0)
            b += cpb_tensor_f(&m->consts[L->bout_k], o);
        s[o] = sc;
        iqs_wrf32(bout + 4 * (size_t)o, (float)b);
    }
    /* Walk the destination in order (sequential writes); the source is
     * read with a stride of OC floats. */
    for (uint32_t o = 0; o < OC; o++)
        for (uint32_t i = 0; i < IC; i++)
            for (uint32_t y = 0; y < KH; y++)
                for (uint32_t x = 0; x < KW; x++) {
                    size_t src = (((size_t)y * KW + x) * IC + i) * OC + o;
                    size_t dst = (((size_t)o * IC + i) * KH + y) * KW + x;
                    double v = (double)cpb_tensor_f(w, src) * s[o];
                    iqs_wrf32(wout + 4 * dst, (float)v);
                }
    free(s);
    return IQS_OK;
}

/* Dense: [IN,OUT] -> [OUT,IN] (or as is when transpose_b). */
static void fold_dense(const cpb_model *m, const cpb_layer *L, uint8_t *wout,
                       uint8_t *bout)
{
    const uint32_t OUT = L->l.out_c, IN = L->ic;
    const cpb_tensor *w = &m->consts[L->w_k];
    for (uint32_t o = 0; o < OUT; o++) {
        for (uint32_t i = 0; i < IN; i++) {
            size_t src = L->w_transposed ? (size_t)o * IN + i
                                         : (size_t)i * OUT + o;
            iqs_wrf32(wout + 4 * ((size_t)o * IN + i), cpb_tensor_f(w, src));
        }
        float b = L->bout_k >= 0 ? cpb_tensor_f(&m->consts[L->bout_k], o) : 0.0f;
        iqs_wrf32(bout + 4 * (size_t)o, b);
    }
}

/* -------------------------------------------------------------- layout */

static size_t str_put(uint8_t *tab, size_t off, const char *a, const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    if (tab) {
        memcpy(tab + off, a, la);
        if (lb)
            memcpy(tab + off + la, b, lb);
        tab[off + la + lb] = '\0';
    }
    return off + la + lb + 1;
}

iqs_status cpb_model_image(const cpb_model *m, uint8_t **out, size_t *size,
                           cpb_err *e)
{
    *out = NULL;
    *size = 0;
    const uint32_t nl = m->n_layers, nt = m->n_tensors;
    iqsw_tensor *tens = calloc(nt ? nt : 1, sizeof *tens);
    uint32_t *lname = calloc(nl, sizeof *lname);
    uint8_t *buf = NULL;
    iqs_status s = IQS_OK;
    if (!tens || !lname) {
        s = cpb_fail(e, IQS_E_NOMEM, "out of memory");
        goto fail;
    }
    /* Strings: labels (consecutive), layer names, tensor names. Two
     * passes with the same code: sizes first, then bytes. */
    size_t soff = 0;
    for (uint32_t k = 0; k < m->classes; k++)
        soff = str_put(NULL, soff, m->labels[k], NULL);
    for (uint32_t i = 0; i < nl; i++) {
        const cpb_layer *L = &m->layers[i];
        lname[i] = (uint32_t)soff;
        soff = str_put(NULL, soff, L->name, NULL);
        if (L->l.weight != IQSW_NONE) {
            tens[L->l.weight].name = (uint32_t)soff;
            soff = str_put(NULL, soff, L->name, "/kernel");
            tens[L->l.bias].name = (uint32_t)soff;
            soff = str_put(NULL, soff, L->name, "/bias");
        }
    }
    if (soff > IQSW_MAX_STRINGS) {
        s = cpb_fail(e, IQS_E_LIMIT, "string table of %zu bytes", soff);
        goto fail;
    }
    /* Tensor shapes and data offsets, in tensor id (= layer) order. */
    uint64_t tab_off = IQSW_HEADER_SIZE;
    uint64_t lay_off = tab_off + (uint64_t)nt * IQSW_TENSOR_REC_SIZE;
    uint64_t str_off = lay_off + (uint64_t)nl * IQSW_LAYER_REC_SIZE;
    uint64_t data_off = iqs_align_up(str_off + soff, IQSW_ALIGN);
    uint64_t pos = data_off;
    for (uint32_t i = 0; i < nl; i++) {
        const cpb_layer *L = &m->layers[i];
        if (L->l.weight == IQSW_NONE)
            continue;
        iqsw_tensor *w = &tens[L->l.weight], *b = &tens[L->l.bias];
        w->dtype = b->dtype = IQSW_DTYPE_F32;
        for (int d = 0; d < 4; d++)
            w->dims[d] = b->dims[d] = 1;
        w->dims[0] = b->dims[0] = L->l.out_c;
        w->dims[1] = L->ic;
        b->rank = 1;
        if (L->l.op == IQSW_OP_CONV) {
            w->rank = 4;
            w->dims[2] = L->l.kh;
            w->dims[3] = L->l.kw;
        } else {
            w->rank = 2;
        }
        iqsw_tensor *two[2] = {w, b};
        for (int k = 0; k < 2; k++) {
            iqsw_tensor *t = two[k];
            t->bytes = 4ull * t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3];
            t->offset = pos;
            pos = iqs_align_up(pos + t->bytes, IQSW_ALIGN);
        }
    }
    uint64_t file_size = nt ? tens[nt - 1].offset + tens[nt - 1].bytes : data_off;
    /* Refused before anything that size is allocated: a small .pb can
     * share one broadcast Const among many layers, and the library would
     * not open a file above IQSW_MAX_FILE_BYTES anyway. */
    if (str_off + soff > UINT32_MAX || file_size > SIZE_MAX ||
        file_size > IQSW_MAX_FILE_BYTES) {
        s = cpb_fail(e, IQS_E_LIMIT,
                     "weights file of %llu bytes is too large (the limit is "
                     "%llu)", (unsigned long long)file_size,
                     (unsigned long long)IQSW_MAX_FILE_BYTES);
        goto fail;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, IQSW_ALIGN, (size_t)file_size ? (size_t)file_size : 1)) {
        s = cpb_fail(e, IQS_E_NOMEM, "out of memory for a %llu-byte file",
                     (unsigned long long)file_size);
        goto fail;
    }
    buf = mem;
    /* Every byte is written below except the gaps, zeroed here: a memset
     * of the whole 200 MB buffer would only add page faults. */
    memset(buf, 0, (size_t)data_off);
    for (uint32_t t = 0; t < nt; t++) {
        uint64_t end = tens[t].offset + tens[t].bytes;
        uint64_t next = t + 1 < nt ? tens[t + 1].offset : file_size;
        memset(buf + end, 0, (size_t)(next - end));
    }

    iqsw_header h;
    memset(&h, 0, sizeof h);
    h.major = IQSW_MAJOR;
    h.minor = IQSW_MINOR;
    h.header_size = IQSW_HEADER_SIZE;
    h.tensor_rec = IQSW_TENSOR_REC_SIZE;
    h.layer_rec = IQSW_LAYER_REC_SIZE;
    h.align = IQSW_ALIGN;
    h.arch = m->arch;
    h.head = m->head;
    h.input_h = m->input_h;
    h.input_w = m->input_w;
    h.input_c = 3;
    h.resize = IQSW_RESIZE_NEAREST_EXACT;
    h.order = IQSW_ORDER_RGB;
    h.scale = 1.0f / 127.5f;
    h.offset = -1.0f;
    h.classes = m->classes;
    h.labels = 0;
    h.default_side = m->side;
    h.tensors_off = (uint32_t)tab_off;
    h.tensor_count = nt;
    h.layers_off = (uint32_t)lay_off;
    h.layer_count = nl;
    h.strings_off = (uint32_t)str_off;
    h.strings_size = (uint32_t)soff;
    h.data_off = data_off;
    h.data_size = file_size - data_off;
    h.file_size = file_size;
    iqs_iqsw_put_header(buf, &h);

    uint8_t *st = buf + str_off;
    soff = 0;
    for (uint32_t k = 0; k < m->classes; k++)
        soff = str_put(st, soff, m->labels[k], NULL);
    for (uint32_t i = 0; i < nl; i++) {
        const cpb_layer *L = &m->layers[i];
        iqsw_layer l = L->l;
        soff = str_put(st, soff, L->name, NULL);
        if (L->l.weight != IQSW_NONE) {
            soff = str_put(st, soff, L->name, "/kernel");
            soff = str_put(st, soff, L->name, "/bias");
        }
        l.name = lname[i];
        iqs_iqsw_put_layer(buf + lay_off + (size_t)i * IQSW_LAYER_REC_SIZE, &l);
        if (L->l.op == IQSW_OP_CONV) {
            if ((s = fold_conv(m, L, buf + tens[L->l.weight].offset,
                               buf + tens[L->l.bias].offset, e)) != IQS_OK)
                goto fail;
        } else if (L->l.op == IQSW_OP_DENSE) {
            fold_dense(m, L, buf + tens[L->l.weight].offset,
                       buf + tens[L->l.bias].offset);
        }
    }
    for (uint32_t t = 0; t < nt; t++)
        iqs_iqsw_put_tensor(buf + tab_off + (size_t)t * IQSW_TENSOR_REC_SIZE,
                            &tens[t]);
    iqs_iqsw_seal(buf, (size_t)file_size);
    *out = buf;
    *size = (size_t)file_size;
    buf = NULL;
fail:
    free(buf);
    free(tens);
    free(lname);
    return s;
}

/* ------------------------------------------------------------- driver */

/* Maps the input read-only through the library's file layer (regular
 * files only, FIFOs refused without waiting, size limit before reading,
 * read fallback); an empty file is kept for the parser to refuse. */
static iqs_status read_input(const char *path, iqs_mapping *map,
                             const uint8_t **data, size_t *size, cpb_err *e)
{
    static const uint8_t none[1];
    iqs_diag d;
    iqs_status s = iqs_io_map(path, IQS_IO_EMPTY_OK, CPB_MAX_FILE_BYTES, map,
                              &d);
    if (s != IQS_OK)
        return cpb_fail(e, s, "%s", d.msg);
    *data = map->data ? map->data : none;
    *size = map->size;
    return IQS_OK;
}

/* A new temporary file beside path, OUT.tmp.<pid>.<k>, created with
 * O_EXCL | O_NOFOLLOW: never an existing file or a symlink planted under a
 * predictable name, and never shared with another converter writing the
 * same OUT. Then fsync, rename, fsync of the folder; on failure only the
 * file this call created is removed. */
static iqs_status write_atomic(const char *path, const uint8_t *data,
                               size_t n, cpb_err *e)
{
    static _Atomic unsigned counter;
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 48);
    if (!tmp)
        return cpb_fail(e, IQS_E_NOMEM, "out of memory");
    iqs_status s = IQS_OK;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(tmp, pl + 48, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        s = cpb_fail(e, IQS_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s = cpb_fail(e, IQS_E_IO, "write error on %s at byte %zu: %s", tmp,
                         done, strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    if (s == IQS_OK && fsync(fd) != 0)
        s = cpb_fail(e, IQS_E_IO, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && s == IQS_OK)
        s = cpb_fail(e, IQS_E_IO, "close %s: %s", tmp, strerror(errno));
    if (s == IQS_OK && rename(tmp, path) != 0)
        s = cpb_fail(e, IQS_E_IO, "rename %s -> %s: %s", tmp, path,
                     strerror(errno));
    if (s != IQS_OK) {
        unlink(tmp);
    } else {
        /* Make the rename durable: fsync the folder (best effort). */
        char *slash = strrchr(tmp, '/');
        const char *dir = ".";
        if (slash) {
            *slash = '\0';
            dir = slash == tmp ? "/" : tmp;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

iqs_status cpb_convert(const cpb_options *opt, cpb_err *e)
{
    double t0 = now_s();
    FILE *out = opt->out ? opt->out : stdout;
    const uint8_t *pb = NULL;
    uint8_t *img = NULL;
    size_t pb_n = 0, img_n = 0;
    iqs_mapping map;
    cpb_graph g;
    cpb_model m;
    memset(&g, 0, sizeof g);
    memset(&m, 0, sizeof m);
    iqs_status s;
    int known = 0;
    memset(&map, 0, sizeof map);
    if ((s = read_input(opt->in_path, &map, &pb, &pb_n, e)) != IQS_OK)
        goto fail;
    if (pb_n == KNOWN_V3_SIZE) {
        uint8_t d[32];
        char hex[65];
        cpb_sha256(pb, pb_n, d);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        known = strcmp(hex, KNOWN_V3_SHA) == 0;
    }
    if ((s = cpb_graph_parse(&g, pb, pb_n, e)) != IQS_OK)
        goto fail;
    if ((s = cpb_model_build(&g, opt->input_size, &m, e)) != IQS_OK)
        goto fail;
    if ((s = cpb_model_finish(&g, &m, opt->input_size, opt->labels, e)) != IQS_OK)
        goto fail;
    if ((s = cpb_model_image(&m, &img, &img_n, e)) != IQS_OK)
        goto fail;
    /* The library's reader must accept what we wrote. */
    iqsw_view v;
    iqs_diag d;
    if (iqs_iqsw_open(img, img_n, IQSW_READ_SKIP_DATA_CRC, &v, &d) != IQS_OK) {
        s = cpb_fail(e, IQS_E_INTERNAL, "self-check of the output failed: %s",
                     d.msg);
        goto fail;
    }
    if ((s = write_atomic(opt->out_path, img, img_n, e)) != IQS_OK)
        goto fail;
    if (opt->dump)
        cpb_model_dump(&m, out);
    if (!opt->quiet) {
        char input[64], labels[IQS_MAX_CLASSES * 65] = "";
        if (m.input_h)
            snprintf(input, sizeof input, "%ux%ux3", m.input_h, m.input_w);
        else
            snprintf(input, sizeof input, "any (default %ux%u)x3", m.side,
                     m.side);
        for (uint32_t k = 0; k < m.classes; k++) {
            strcat(labels, k ? "," : "");
            strcat(labels, m.labels[k]);
        }
        fprintf(out,
                "%s: %s, input %s, %u classes (%s), %u tensors, %u layers, "
                "%zu bytes, %.2f s%s\n",
                opt->out_path, arch_label(m.arch), input, m.classes, labels,
                m.n_tensors, m.n_layers, img_n, now_s() - t0,
                known ? "; input is digiKam's weights_inceptionv3_299.pb "
                        "(size and SHA-256 match)"
                      : "");
    }
fail:
    if (s != IQS_OK && known && e) {
        size_t l = strlen(e->msg);
        snprintf(e->msg + l, sizeof e->msg - l,
                 " [the input is digiKam's weights_inceptionv3_299.pb]");
    }
    free(img);
    cpb_model_free(&m);
    cpb_graph_free(&g);
    iqs_io_unmap(&map);
    return s;
}
