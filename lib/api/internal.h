/*
 * The model object and internal entry points (layer: api). Tests and
 * benchmarks link the static library and may call these; applications use
 * include/iqs/iqs.h only.
 */
#ifndef IQS_API_INTERNAL_H
#define IQS_API_INTERNAL_H

#include "format/iqsw.h"
#include "iqs/iqs.h"
#include "net/net.h"
#if IQS_STDIO
#include "io/io.h"
#endif

struct iqs_model {
    iqsw_view view;          /* validated weights, used in place        */
    iqs_net net;             /* layer table, shapes, workspace plan     */
    uint32_t in_h, in_w;     /* input size in use                       */
    int bgr;                 /* feed B,G,R planes instead of R,G,B      */
    const char *labels[IQS_MAX_CLASSES];
    int in_caller_mem;       /* placed by iqs_model_init_static: close
                                frees nothing                           */
#if IQS_STDIO
    iqs_mapping map;         /* the file mapping when opened by path    */
    int owns_map;
#endif
};

/* Runs the network on an already preprocessed CHW tensor (3 x H x W of
 * the model's input size), bypassing resize/normalise. prof, if not NULL,
 * receives nanoseconds per layer (model->net.n entries). */
iqs_status iqs_classify_tensor(const iqs_model *m, const float *chw, void *workspace,
                               size_t workspace_size, iqs_result *out, uint64_t *prof);

/* iqs_classify_tensor shared by an executor's threads (exec NULL: serial);
 * workspace of iqs_workspace_size_parallel(m, exec->width) bytes. */
iqs_status iqs_classify_tensor_parallel(const iqs_model *m, const float *chw,
                                        const iqs_executor *exec,
                                        void *workspace, size_t workspace_size,
                                        iqs_result *out);

#endif
