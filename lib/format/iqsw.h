/*
 * IQSW weights file: the single C definition of the format (layer: format).
 * Shared by the reader (lib/format/iqsw_read.c) and the writer
 * (lib/format/iqsw_write.c, used by tools/convert_pb). docs/weights-format.md
 * describes the same bytes in prose; keep both in step.
 *
 * All integers little-endian, offsets from the start of the file.
 *
 *   [header 128 B][tensor table][layer table][string table][pad][data...]
 *
 * The reader never casts file bytes to these structs: it decodes each field
 * with the bounds-checked little-endian reader (lib/base/rd.h) into the
 * host structs below, after checking every offset and size.
 */
#ifndef IQS_FORMAT_IQSW_H
#define IQS_FORMAT_IQSW_H

#include <stddef.h>
#include <stdint.h>

#include "iqs/iqs.h"

#define IQSW_MAGIC "IQSW"
#define IQSW_MAJOR 1
#define IQSW_MINOR 0
#define IQSW_HEADER_SIZE 128u
#define IQSW_TENSOR_REC_SIZE 48u
#define IQSW_LAYER_REC_SIZE 64u
#define IQSW_ALIGN 64u
#define IQSW_NONE 0xFFFFFFFFu /* "no tensor" / "no input" id */

/* Limits the reader enforces (and the writer respects). */
#define IQSW_MAX_TENSORS 65536u
/* Tensors not in ascending offset order are checked pairwise: at most this many. */
#define IQSW_MAX_UNORDERED_TENSORS 4096u
#define IQSW_MAX_LAYERS 65536u
#define IQSW_MAX_STRINGS (1u << 24)
#define IQSW_MAX_DIM (1u << 24)
#define IQSW_MAX_INPUT_SIDE 4096u
/* Largest weights file iqs_model_open maps (and tools/convert_pb writes). */
#define IQSW_MAX_FILE_BYTES ((uint64_t)1 << 32)

/* Header byte offsets. */
enum {
    IQSW_H_MAGIC = 0,          /* char[4] "IQSW"                           */
    IQSW_H_MAJOR = 4,          /* u16                                      */
    IQSW_H_MINOR = 6,          /* u16                                      */
    IQSW_H_HEADER_SIZE = 8,    /* u32 >= 128                               */
    IQSW_H_TENSOR_REC = 12,    /* u32 >= 48                                */
    IQSW_H_LAYER_REC = 16,     /* u32 >= 64                                */
    IQSW_H_ALIGN = 20,         /* u32 == 64                                */
    IQSW_H_ARCH = 24,          /* u32 IQSW_ARCH_*                          */
    IQSW_H_HEAD = 28,          /* u32 IQS_HEAD_*                           */
    IQSW_H_INPUT_H = 32,       /* u32, 0 = any                             */
    IQSW_H_INPUT_W = 36,       /* u32, 0 = any                             */
    IQSW_H_INPUT_C = 40,       /* u32 (3)                                  */
    IQSW_H_RESIZE = 44,        /* u32 IQSW_RESIZE_*                        */
    IQSW_H_ORDER = 48,         /* u32 IQSW_ORDER_*                         */
    IQSW_H_SCALE = 52,         /* f32 x * scale + offset                   */
    IQSW_H_OFFSET = 56,        /* f32                                      */
    IQSW_H_CLASSES = 60,       /* u32 1..16                                */
    IQSW_H_LABELS = 64,        /* u32 string-table offset of label 0; the
                                  labels follow as consecutive NUL-ended
                                  strings                                  */
    IQSW_H_DEFAULT_SIDE = 68,  /* u32 default side when input is "any"     */
    IQSW_H_TENSORS_OFF = 72,   /* u32                                      */
    IQSW_H_TENSOR_COUNT = 76,  /* u32                                      */
    IQSW_H_LAYERS_OFF = 80,    /* u32                                      */
    IQSW_H_LAYER_COUNT = 84,   /* u32                                      */
    IQSW_H_STRINGS_OFF = 88,   /* u32                                      */
    IQSW_H_STRINGS_SIZE = 92,  /* u32                                      */
    IQSW_H_DATA_OFF = 96,      /* u64, multiple of 64                      */
    IQSW_H_DATA_SIZE = 104,    /* u64                                      */
    IQSW_H_FILE_SIZE = 112,    /* u64 == data_off + data_size              */
    IQSW_H_CRC_META = 120,     /* u32 CRC-32 of bytes [0,120) and
                                  [header_size, data_off)                  */
    IQSW_H_CRC_DATA = 124      /* u32 CRC-32 of bytes [data_off, file_size) */
};

/* Architectures (header field arch). */
enum {
    IQSW_ARCH_INCEPTION_RESNET_V2 = 1,
    IQSW_ARCH_INCEPTION_V3 = 2
};

enum { IQSW_RESIZE_NEAREST_EXACT = 1 };
enum { IQSW_ORDER_RGB = 0, IQSW_ORDER_BGR = 1 };
enum { IQSW_DTYPE_F32 = 1 };

/* Layer ops. A layer's output value has the layer's index as its id. */
enum {
    IQSW_OP_INPUT = 0,   /* the preprocessed image, C x H x W            */
    IQSW_OP_CONV = 1,    /* conv, BN folded; in[1] = optional residual   */
    IQSW_OP_MAXPOOL = 2,
    IQSW_OP_AVGPOOL = 3, /* divides by the number of valid (unpadded) cells */
    IQSW_OP_CONCAT = 4,  /* channel concat of in[0..n_in-1], in order    */
    IQSW_OP_GAP = 5,     /* global average pool -> C x 1 x 1             */
    IQSW_OP_DENSE = 6,   /* y = W x + b, then act                        */
    IQSW_OP_COUNT_
};

enum { IQSW_ACT_NONE = 0, IQSW_ACT_RELU = 1, IQSW_ACT_SOFTMAX = 2 };

/* Tensor record byte offsets (48 bytes). */
enum {
    IQSW_T_NAME = 0,  /* u32 string offset                            */
    IQSW_T_DTYPE = 4, /* u32 IQSW_DTYPE_*                              */
    IQSW_T_RANK = 8,  /* u32 1..4                                      */
    IQSW_T_DIMS = 12, /* u32[4], unused dims = 1                       */
    IQSW_T_RESERVED = 28, /* u32 0                                     */
    IQSW_T_OFFSET = 32,   /* u64 absolute, multiple of 64, >= data_off */
    IQSW_T_BYTES = 40     /* u64 == product(dims) * 4                  */
};

/* Layer record byte offsets (64 bytes). */
enum {
    IQSW_L_NAME = 0,     /* u32 string offset (Keras layer name)            */
    IQSW_L_OP = 4,       /* u16 IQSW_OP_*                                   */
    IQSW_L_ACT = 6,      /* u16 IQSW_ACT_* (conv: after the residual add)   */
    IQSW_L_N_IN = 8,     /* u32 0..4                                        */
    IQSW_L_IN = 12,      /* u32[4] earlier layer ids, IQSW_NONE when unused */
    IQSW_L_OUT_C = 28,   /* u32 output channels (conv, dense)               */
    IQSW_L_KH = 32,      /* u16 kernel (conv, pools)                        */
    IQSW_L_KW = 34,      /* u16                                             */
    IQSW_L_SH = 36,      /* u16 stride                                      */
    IQSW_L_SW = 38,      /* u16                                             */
    IQSW_L_PT = 40,      /* u16 pads top, left, bottom, right               */
    IQSW_L_PL = 42,
    IQSW_L_PB = 44,
    IQSW_L_PR = 46,
    IQSW_L_SCALE = 48,   /* f32 residual scale (conv with n_in == 2)        */
    IQSW_L_WEIGHT = 52,  /* u32 tensor id or IQSW_NONE                      */
    IQSW_L_BIAS = 56,    /* u32 tensor id or IQSW_NONE                      */
    IQSW_L_RESERVED = 60 /* u32 0                                           */
};

/* Decoded tensor record (host order). */
typedef struct iqsw_tensor {
    uint32_t name;     /* string-table offset */
    uint32_t dtype;
    uint32_t rank;
    uint32_t dims[4];
    uint64_t offset;   /* absolute file offset */
    uint64_t bytes;
} iqsw_tensor;

/* Decoded layer record (host order). Conv weights are OIHW
 * (dims {OC, IC, KH, KW}), dense weights are {OUT, IN}, biases {N}. */
typedef struct iqsw_layer {
    uint32_t name;
    uint32_t op, act;
    uint32_t n_in;
    uint32_t in[4];
    uint32_t out_c;
    uint32_t kh, kw, sh, sw;
    uint32_t pt, pl, pb, pr;
    float scale;
    uint32_t weight, bias;
} iqsw_layer;

/* Decoded header (host order). */
typedef struct iqsw_header {
    uint16_t major, minor;
    uint32_t header_size, tensor_rec, layer_rec, align;
    uint32_t arch, head;
    uint32_t input_h, input_w, input_c;
    uint32_t resize, order;
    float scale, offset;
    uint32_t classes, labels, default_side;
    uint32_t tensors_off, tensor_count;
    uint32_t layers_off, layer_count;
    uint32_t strings_off, strings_size;
    uint64_t data_off, data_size, file_size;
    uint32_t crc_meta, crc_data;
} iqsw_header;

/* A validated view of a file in memory (no copies, no allocation). */
typedef struct iqsw_view {
    const uint8_t *base;
    size_t size;
    iqsw_header h;
} iqsw_view;

/* Reader flags. */
#define IQSW_READ_SKIP_DATA_CRC 0x1u

/* Validates the whole file: magic, version, every offset/size (overflow
 * safe), alignment, dims*4 == bytes, strings NUL-terminated, layer ids in
 * range and topologically ordered, op fields sane, tensor shapes matching
 * their layers, CRCs (data CRC skippable). No I/O, no allocation.
 * Statuses: IQS_E_ARG, IQS_E_FORMAT, IQS_E_VERSION, IQS_E_CHECKSUM,
 * IQS_E_ENDIAN (big-endian host), IQS_E_UNSUPPORTED. diag may be NULL. */
iqs_status iqs_iqsw_open(const void *data, size_t size, unsigned flags,
                         iqsw_view *out, iqs_diag *diag);

/* Record accessors on a view opened successfully; i must be in range. */
void iqs_iqsw_tensor(const iqsw_view *v, uint32_t i, iqsw_tensor *out);
void iqs_iqsw_layer(const iqsw_view *v, uint32_t i, iqsw_layer *out);
/* NUL-terminated string at a validated string-table offset. */
const char *iqs_iqsw_string(const iqsw_view *v, uint32_t off);
/* Pointer to a tensor's float data (aligned, validated). */
const float *iqs_iqsw_data(const iqsw_view *v, uint32_t tensor_id);

/* Writer side: encoders into caller buffers (no I/O). The converter builds
 * the file in memory with these, then writes it atomically. */
void iqs_iqsw_put_header(uint8_t out[IQSW_HEADER_SIZE], const iqsw_header *h);
void iqs_iqsw_put_tensor(uint8_t out[IQSW_TENSOR_REC_SIZE], const iqsw_tensor *t);
void iqs_iqsw_put_layer(uint8_t out[IQSW_LAYER_REC_SIZE], const iqsw_layer *l);
/* Computes both CRCs of a complete file image in place (fields 120/124). */
void iqs_iqsw_seal(uint8_t *file, size_t size);

#endif /* IQS_FORMAT_IQSW_H */
