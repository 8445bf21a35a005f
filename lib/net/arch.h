/*
 * Hand-written network architectures (layer: net).
 *
 * Each supported architecture is a layer table, built here by code that
 * mirrors Keras' application source line by line, from the input up to the
 * global average pool (the "trunk"). The weights file carries its own layer
 * table in canonical order (see iqs_arch_canonicalize); the runtime and the
 * converter compare that table's trunk against these, field by field, so a
 * file cannot describe any other network than the one its arch id names.
 * The head (one or more DENSE layers after the pool) comes from the file.
 *
 * Layer records use the decoded IQSW record type (lib/format/iqsw.h) as the
 * graph description; weight/bias ids in the tables here are IQSW_NONE
 * except that conv layers with a bias have bias = 0 as a "has bias" marker.
 */
#ifndef IQS_NET_ARCH_H
#define IQS_NET_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "format/iqsw.h"

/* Upper bound of trunk layers of any supported architecture. */
#define IQS_ARCH_MAX_LAYERS 512u

/* Human name of an arch id ("inception_resnet_v2", "inception_v3"), or NULL. */
const char *iqs_arch_name(uint32_t arch);

/* Builds the trunk table of `arch` in canonical order into out (capacity
 * cap). Returns the number of layers (INPUT first, GAP last), or 0 for an
 * unknown arch or too small a buffer. Input channels 3; pads are those of
 * Keras' SAME/VALID choices, which for these networks do not depend on the
 * input size. */
uint32_t iqs_arch_build(uint32_t arch, iqsw_layer *out, uint32_t cap);

/* Canonical order of a layer DAG: INPUT (which must be layer 0) first, then
 * a depth-first post-order from the last layer (the unique output), visiting
 * each layer's inputs in in[] order. Writes in order[k] the old index of the
 * k-th canonical layer. scratch must hold 2*n uint32_t. Returns 1 on
 * success, 0 when the DAG is malformed (an input id not smaller than its
 * layer, a layer not reachable from the output, layer 0 not INPUT). */
int iqs_arch_canonicalize(const iqsw_layer *layers, uint32_t n,
                          uint32_t *order, uint32_t *scratch);

/* Compares a canonical layer table with the trunk of `arch`: the first
 * trunk_n layers must match in op, act, inputs, kernel, stride, pads,
 * out_c, residual scale (within 1e-6) and bias presence; the rest must be a
 * chain of DENSE layers ending in a SOFTMAX one. Returns 1 on a match, else
 * 0 with a message in why (may be NULL) naming the first difference. */
int iqs_arch_match(uint32_t arch, const iqsw_layer *layers, uint32_t n,
                   char *why, size_t why_len);

/* Tries every known architecture. Returns 1 and sets *arch on a match; else
 * 0 with a message describing what was found and the closest mismatch. */
int iqs_arch_identify(const iqsw_layer *layers, uint32_t n, uint32_t *arch,
                      char *why, size_t why_len);

#endif
