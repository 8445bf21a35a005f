/*
 * Frozen-graph to IQSW conversion (tools/convert_pb), split in three steps
 * that the tests can also call one by one:
 *
 *   cpb_model_build   GraphDef -> fused layer DAG in canonical order, with a
 *                     folding recipe per weighted layer (build.c)
 *   cpb_model_finish  architecture identification, input size, head and
 *                     labels, shape check at the final input size (build.c)
 *   cpb_model_image   the complete sealed IQSW file image in memory (emit.c)
 *
 * and cpb_convert, the whole tool minus argument parsing (emit.c): read,
 * build, finish, image, self-check with the library's reader, atomic write
 * (OUT.tmp, fsync, rename), summary. Nothing here calls exit().
 */
#ifndef CPB_CONVERT_H
#define CPB_CONVERT_H

#include <stdio.h>

#include "format/iqsw.h"
#include "graph.h"

#define CPB_NAME_MAX 128

/* One fused layer and how to produce its tensors. */
typedef struct cpb_layer {
    iqsw_layer l;            /* in[] are layer ids; weight/bias tensor ids */
    char name[CPB_NAME_MAX]; /* Keras layer name                            */
    uint32_t c, h, w;        /* output shape; h = w = 0 while unknown       */
    uint32_t ic;             /* conv input channels / dense inputs          */
    uint32_t node;           /* graph node the layer was recognised at      */
    int same;                /* SAME padding (pads recomputed per size)     */
    /* Folding recipe: indices into cpb_model.consts, -1 when absent.
     * conv: w is HWIO [KH,KW,IC,OC]; BN vectors [OC]; bin = BiasAdd before
     * the BN, bout = BiasAdd after it (or the only one).
     * dense: w is [IN,OUT] ([OUT,IN] when w_transposed); bout [OUT]. */
    int32_t w_k, gamma_k, beta_k, mean_k, var_k, bin_k, bout_k;
    double eps;
    int w_transposed;
} cpb_layer;

typedef struct cpb_model {
    cpb_layer *layers;
    uint32_t n_layers, cap_layers;
    cpb_tensor *consts;
    uint32_t n_consts, cap_consts;
    uint32_t n_tensors;
    /* Input: graph dims (0 = unknown) and the size actually used. */
    uint32_t graph_h, graph_w;
    uint32_t input_h, input_w; /* header values (0 = any)            */
    uint32_t side;             /* size used for shapes / default_side */
    /* Filled by cpb_model_finish. */
    uint32_t arch, head, classes;
    char labels[IQS_MAX_CLASSES][64];
} cpb_model;

typedef struct cpb_options {
    const char *in_path, *out_path;
    unsigned input_size; /* --input-size, 0 when not given  */
    const char *labels;  /* --labels a,b,c or NULL          */
    int dump;            /* --dump: list layers on `out`     */
    int quiet;           /* no summary line                  */
    FILE *out;           /* summary / dump stream (stdout)   */
} cpb_options;

/* Builds the layer DAG of a parsed graph. input_size: --input-size (0 =
 * none). Statuses: IQS_E_FORMAT, IQS_E_UNSUPPORTED, IQS_E_NOMEM,
 * IQS_E_LIMIT. On failure the model is freed. */
iqs_status cpb_model_build(const cpb_graph *g, unsigned input_size,
                           cpb_model *m, cpb_err *e);
/* Identifies the architecture and head, chooses the input size and labels
 * (labels: comma list or NULL for the defaults). */
iqs_status cpb_model_finish(const cpb_graph *g, cpb_model *m,
                            unsigned input_size, const char *labels,
                            cpb_err *e);
/* Frees a model (NULL-safe). */
void cpb_model_free(cpb_model *m);

/* Folds and lays out the whole file: *out is a 64-byte aligned malloc'd
 * buffer of *size bytes (free with free()), sealed. */
iqs_status cpb_model_image(const cpb_model *m, uint8_t **out, size_t *size,
                           cpb_err *e);

/* Prints the layer list (--dump). */
void cpb_model_dump(const cpb_model *m, FILE *f);

/* The whole conversion. Returns IQS_OK or the failing status with e set;
 * on failure no output file exists (a pre-existing OUT is left alone). */
iqs_status cpb_convert(const cpb_options *opt, cpb_err *e);

/* Name of an op for messages / dumps. */
const char *cpb_op_name(uint32_t op);

/* SHA-256 (sha256.c). */
void cpb_sha256(const void *data, size_t n, uint8_t out[32]);

#endif
