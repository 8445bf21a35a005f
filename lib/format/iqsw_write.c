/*
 * IQSW writer helpers (layer: format). Encoders of the header, tensor and
 * layer records into caller buffers, and the sealing step that computes the
 * two CRCs of a finished file image. No I/O and no allocation: the converter
 * (tools/convert_pb) lays the whole file out in memory with these and writes
 * it atomically; the tests build small files with them. Byte offsets come
 * from lib/format/iqsw.h, so reader and writer cannot drift apart.
 */
#include <string.h>

#include "base/common.h"
#include "base/crc32.h"
#include "base/rd.h"
#include "format/iqsw.h"

void iqs_iqsw_put_header(uint8_t out[IQSW_HEADER_SIZE], const iqsw_header *h)
{
    /* Reserved bytes and the CRC fields start as zeros; seal fills CRCs. */
    memset(out, 0, IQSW_HEADER_SIZE);
    memcpy(out + IQSW_H_MAGIC, IQSW_MAGIC, 4);
    iqs_wr16(out + IQSW_H_MAJOR, h->major);
    iqs_wr16(out + IQSW_H_MINOR, h->minor);
    iqs_wr32(out + IQSW_H_HEADER_SIZE, h->header_size);
    iqs_wr32(out + IQSW_H_TENSOR_REC, h->tensor_rec);
    iqs_wr32(out + IQSW_H_LAYER_REC, h->layer_rec);
    iqs_wr32(out + IQSW_H_ALIGN, h->align);
    iqs_wr32(out + IQSW_H_ARCH, h->arch);
    iqs_wr32(out + IQSW_H_HEAD, h->head);
    iqs_wr32(out + IQSW_H_INPUT_H, h->input_h);
    iqs_wr32(out + IQSW_H_INPUT_W, h->input_w);
    iqs_wr32(out + IQSW_H_INPUT_C, h->input_c);
    iqs_wr32(out + IQSW_H_RESIZE, h->resize);
    iqs_wr32(out + IQSW_H_ORDER, h->order);
    iqs_wrf32(out + IQSW_H_SCALE, h->scale);
    iqs_wrf32(out + IQSW_H_OFFSET, h->offset);
    iqs_wr32(out + IQSW_H_CLASSES, h->classes);
    iqs_wr32(out + IQSW_H_LABELS, h->labels);
    iqs_wr32(out + IQSW_H_DEFAULT_SIDE, h->default_side);
    iqs_wr32(out + IQSW_H_TENSORS_OFF, h->tensors_off);
    iqs_wr32(out + IQSW_H_TENSOR_COUNT, h->tensor_count);
    iqs_wr32(out + IQSW_H_LAYERS_OFF, h->layers_off);
    iqs_wr32(out + IQSW_H_LAYER_COUNT, h->layer_count);
    iqs_wr32(out + IQSW_H_STRINGS_OFF, h->strings_off);
    iqs_wr32(out + IQSW_H_STRINGS_SIZE, h->strings_size);
    iqs_wr64(out + IQSW_H_DATA_OFF, h->data_off);
    iqs_wr64(out + IQSW_H_DATA_SIZE, h->data_size);
    iqs_wr64(out + IQSW_H_FILE_SIZE, h->file_size);
    iqs_wr32(out + IQSW_H_CRC_META, h->crc_meta);
    iqs_wr32(out + IQSW_H_CRC_DATA, h->crc_data);
}

void iqs_iqsw_put_tensor(uint8_t out[IQSW_TENSOR_REC_SIZE], const iqsw_tensor *t)
{
    memset(out, 0, IQSW_TENSOR_REC_SIZE);
    iqs_wr32(out + IQSW_T_NAME, t->name);
    iqs_wr32(out + IQSW_T_DTYPE, t->dtype);
    iqs_wr32(out + IQSW_T_RANK, t->rank);
    for (int d = 0; d < 4; d++)
        iqs_wr32(out + IQSW_T_DIMS + 4 * d, t->dims[d]);
    iqs_wr64(out + IQSW_T_OFFSET, t->offset);
    iqs_wr64(out + IQSW_T_BYTES, t->bytes);
}

void iqs_iqsw_put_layer(uint8_t out[IQSW_LAYER_REC_SIZE], const iqsw_layer *l)
{
    memset(out, 0, IQSW_LAYER_REC_SIZE);
    iqs_wr32(out + IQSW_L_NAME, l->name);
    iqs_wr16(out + IQSW_L_OP, (uint16_t)l->op);
    iqs_wr16(out + IQSW_L_ACT, (uint16_t)l->act);
    iqs_wr32(out + IQSW_L_N_IN, l->n_in);
    for (int k = 0; k < 4; k++)
        iqs_wr32(out + IQSW_L_IN + 4 * k, l->in[k]);
    iqs_wr32(out + IQSW_L_OUT_C, l->out_c);
    iqs_wr16(out + IQSW_L_KH, (uint16_t)l->kh);
    iqs_wr16(out + IQSW_L_KW, (uint16_t)l->kw);
    iqs_wr16(out + IQSW_L_SH, (uint16_t)l->sh);
    iqs_wr16(out + IQSW_L_SW, (uint16_t)l->sw);
    iqs_wr16(out + IQSW_L_PT, (uint16_t)l->pt);
    iqs_wr16(out + IQSW_L_PL, (uint16_t)l->pl);
    iqs_wr16(out + IQSW_L_PB, (uint16_t)l->pb);
    iqs_wr16(out + IQSW_L_PR, (uint16_t)l->pr);
    iqs_wrf32(out + IQSW_L_SCALE, l->scale);
    iqs_wr32(out + IQSW_L_WEIGHT, l->weight);
    iqs_wr32(out + IQSW_L_BIAS, l->bias);
}

void iqs_iqsw_seal(uint8_t *file, size_t size)
{
    /* The sealed regions are read back from the header just written; a
     * header that does not fit is left alone (the reader rejects it). */
    if (!file || size < IQSW_HEADER_SIZE)
        return;
    uint64_t hs = iqs_rd32(file + IQSW_H_HEADER_SIZE);
    uint64_t doff = iqs_rd64(file + IQSW_H_DATA_OFF);
    if (hs > doff || doff > size)
        return;
    uint32_t meta = iqs_crc32(0, file, IQSW_H_CRC_META);
    meta = iqs_crc32(meta, file + hs, (size_t)(doff - hs));
    uint32_t data = iqs_crc32(0, file + doff, size - (size_t)doff);
    iqs_wr32(file + IQSW_H_CRC_META, meta);
    iqs_wr32(file + IQSW_H_CRC_DATA, data);
}
