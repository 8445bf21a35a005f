/*
 * TensorFlow GraphDef decoding for the converter (tools/convert_pb).
 *
 * cpb_graph_parse walks a serialized GraphDef held in memory and records,
 * per NodeDef, slices of the buffer (name, op, inputs, raw AttrValue
 * bytes); nothing is copied, so the buffer must outlive the graph. Typed
 * attribute getters and the Const tensor decoder work on those slices on
 * demand. Everything validates lengths first (see wire.h) and reports the
 * byte offset or the node name of a problem in a cpb_err.
 */
#ifndef CPB_GRAPH_H
#define CPB_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "iqs/iqs.h"

/* Input limits (hostile-input guards; documented in docs/converter.md). */
#define CPB_MAX_FILE_BYTES ((uint64_t)2 << 30)  /* 2 GiB .pb            */
#define CPB_MAX_NODES 1000000u                  /* NodeDefs            */
#define CPB_MAX_TENSOR_BYTES ((uint64_t)1 << 30) /* one Const's payload */
#define CPB_MAX_NAME 1024u                      /* node name length     */

/* TensorFlow DataType values used here. */
enum { CPB_DT_FLOAT = 1, CPB_DT_INT32 = 3, CPB_DT_INT64 = 9 };

/* Error sink: a status and a message. */
typedef struct cpb_err {
    iqs_status status;
    char msg[512];
} cpb_err;
/* Sets e (NULL-safe) and returns status. */
iqs_status cpb_fail(cpb_err *e, iqs_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct cpb_str {
    const uint8_t *p;
    uint32_t n;
} cpb_str;

typedef struct cpb_attr {
    cpb_str key;
    const uint8_t *val; /* serialized AttrValue */
    uint32_t val_n;
} cpb_attr;

typedef struct cpb_node {
    cpb_str name, op;
    uint32_t first_in, n_in;     /* into cpb_graph.inputs */
    uint32_t first_attr, n_attr; /* into cpb_graph.attrs  */
    uint64_t off;                /* byte offset of the NodeDef payload */
} cpb_node;

typedef struct cpb_graph {
    const uint8_t *buf;
    size_t size;
    cpb_node *nodes;
    uint32_t n_nodes, cap_nodes;
    cpb_str *inputs;
    uint32_t n_inputs, cap_inputs;
    cpb_attr *attrs;
    uint32_t n_attrs, cap_attrs;
    uint32_t *hash; /* open addressing: node index + 1, 0 = empty */
    uint32_t hash_cap;
} cpb_graph;

/* Parses a GraphDef (unknown fields skipped, every truncation rejected,
 * duplicate node names rejected). On failure *g is left empty (nothing to
 * free). Statuses: IQS_E_FORMAT, IQS_E_LIMIT, IQS_E_NOMEM. */
iqs_status cpb_graph_parse(cpb_graph *g, const uint8_t *buf, size_t size,
                           cpb_err *e);
/* Frees what parse allocated; NULL or an empty graph is a no-op. */
void cpb_graph_free(cpb_graph *g);

/* Index of the node named [p, p+n), or -1. */
int64_t cpb_graph_find(const cpb_graph *g, const uint8_t *p, size_t n);
/* 1 if s equals the C string z. */
int cpb_str_eq(cpb_str s, const char *z);

/* Attribute lookup: returns the attr or NULL when absent. */
const cpb_attr *cpb_attr_get(const cpb_graph *g, const cpb_node *n,
                             const char *key);

/* Typed AttrValue getters: 1 found, 0 absent (or another kind of value),
 * -1 malformed bytes (e filled). */
int cpb_attr_int(const cpb_graph *g, const cpb_node *n, const char *key,
                 int64_t *out, cpb_err *e);
int cpb_attr_float(const cpb_graph *g, const cpb_node *n, const char *key,
                   float *out, cpb_err *e);
int cpb_attr_bool(const cpb_graph *g, const cpb_node *n, const char *key,
                  int *out, cpb_err *e);
int cpb_attr_type(const cpb_graph *g, const cpb_node *n, const char *key,
                  int64_t *out, cpb_err *e);
int cpb_attr_str(const cpb_graph *g, const cpb_node *n, const char *key,
                 cpb_str *out, cpb_err *e);
/* list.i values (at most cap; more is malformed). */
int cpb_attr_ints(const cpb_graph *g, const cpb_node *n, const char *key,
                  int64_t *out, int cap, int *count, cpb_err *e);
/* TensorShapeProto: *rank = -1 for unknown rank; dims -1 for unknown. */
#define CPB_MAX_RANK 8
int cpb_attr_shape(const cpb_graph *g, const cpb_node *n, const char *key,
                   int64_t dims[CPB_MAX_RANK], int *rank, cpb_err *e);

/* A decoded TensorProto. Values come either from tensor_content (raw
 * little-endian bytes inside the buffer, no copy) or from the repeated
 * *_val fields (decoded into vals/ivals, owned; fewer values than elements
 * repeat the last one, as TensorFlow does; none means zeros). */
typedef struct cpb_tensor {
    int64_t dtype;
    int rank;
    int64_t dims[CPB_MAX_RANK];
    uint64_t numel;
    const uint8_t *content; /* numel * elem size bytes, or NULL */
    float *vals;            /* DT_FLOAT *_val form              */
    int64_t *ivals;         /* DT_INT32 / DT_INT64 *_val form   */
    size_t n_vals;
} cpb_tensor;

/* Decodes the "value" attr of a Const node. Any dtype is decoded as far as
 * shape and dtype; values only for float32 / int32 / int64 (others leave
 * content and vals NULL). Statuses: IQS_E_FORMAT (malformed, content size
 * not matching the shape), IQS_E_LIMIT, IQS_E_NOMEM. */
iqs_status cpb_const_tensor(const cpb_graph *g, const cpb_node *n,
                            cpb_tensor *t, cpb_err *e);
void cpb_tensor_free(cpb_tensor *t);
/* Element i of a float32 tensor. */
float cpb_tensor_f(const cpb_tensor *t, uint64_t i);
/* Element i of an int32/int64 tensor. */
int64_t cpb_tensor_i(const cpb_tensor *t, uint64_t i);
/* "DT_HALF" etc. for messages. */
const char *cpb_dtype_name(int64_t dt);

#endif
