/*
 * A network ready to run (layer: net): the file's layer table with resolved
 * weight pointers, inferred shapes and the workspace plan.
 *
 * Life cycle: the API fills iqs_net_layer.l / w / b / wdims / bdims from a
 * validated weights file, calls iqs_net_plan once (shapes, checks, buffer
 * assignment), then iqs_net_forward any number of times, concurrently with
 * distinct workspaces. Nothing here allocates: every array lives in memory
 * the caller sized with iqs_net_mem_size.
 */
#ifndef IQS_NET_NET_H
#define IQS_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "format/iqsw.h"
#include "iqs/iqs.h"

typedef struct iqs_net_layer {
    iqsw_layer l;          /* structure, ids of earlier layers            */
    const float *w, *b;    /* weights (NULL when absent)                  */
    uint32_t wdims[4];     /* dims of w as stored (rank-padded with 1)    */
    uint32_t wrank;
    uint32_t bdims0;       /* length of b                                 */
    /* Set by iqs_net_plan: */
    uint32_t c, h, w_;     /* output shape, CHW                           */
    size_t off;            /* output offset in floats from arena start    */
    uint32_t root;         /* buffer owner (layer id)                     */
    size_t root_off;       /* offset of this layer inside its root buffer */
} iqs_net_layer;

typedef struct iqs_net {
    uint32_t n;
    iqs_net_layer *layers;
    uint32_t *tmp;         /* planner scratch, 6*n entries                */
    size_t arena_floats;   /* activations                                 */
    size_t col_bytes;      /* shared im2col scratch                       */
    size_t ws_bytes;       /* total incl. 64-byte alignment slack         */
    size_t peak_floats;    /* sum of all buffers if none were shared      */
} iqs_net;

/* Bytes for the layers array plus planner scratch of an n-layer net. */
size_t iqs_net_mem_size(uint32_t n);
/* Points net's arrays into mem (iqs_net_mem_size(n) bytes, 16-aligned). */
void iqs_net_init(iqs_net *net, uint32_t n, void *mem);

/* Infers shapes for an input of in_h x in_w, checks every weight shape and
 * that the last layer is a DENSE softmax, and plans the workspace.
 * Statuses: IQS_E_FORMAT (inconsistent table, message in diag),
 * IQS_E_LIMIT (activations too large). */
iqs_status iqs_net_plan(iqs_net *net, uint32_t in_h, uint32_t in_w,
                        iqs_diag *diag);

/* The input tensor (3 x H x W floats) inside a 64-aligned workspace. */
float *iqs_net_input(const iqs_net *net, void *ws);

/* Runs layers 1..n-1 on the input already in the workspace and writes the
 * final layer's output (its out_c floats) to out. ws is 64-byte aligned
 * with at least ws_bytes - 64 bytes. If prof is not NULL it receives the
 * nanoseconds spent in each layer (n entries). */
void iqs_net_forward(const iqs_net *net, void *ws, float *out,
                     uint64_t *prof);

/* Workspace bytes for iqs_net_forward_parallel with width threads
 * (ws_bytes for width <= 1): one more im2col scratch per extra thread and
 * the per-layer counters. */
size_t iqs_net_ws_parallel(const iqs_net *net, int width);

/* iqs_net_forward shared by the threads of exec (NULL or width 1: the
 * serial pass). ws as for iqs_net_forward but iqs_net_ws_parallel(width)
 * bytes. Calls exec->run once, with n = width. */
void iqs_net_forward_parallel(const iqs_net *net, void *ws,
                              const iqs_executor *exec, float *out);

#endif
