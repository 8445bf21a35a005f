/*
 * Fuzz harness: the IQSW reader and the model openers on a whole file held
 * in memory (lib/format/iqsw_read.c, lib/api/iqs.c).
 *
 * Each input is opened twice: as given, and "resealed" - file_size and
 * data_size patched to the input length and both CRCs recomputed - so that
 * mutations are not all stopped by the checksum and reach the table checks
 * behind it. Properties checked besides the sanitizers: every status is a
 * known one and matches the diag; a failed open leaves *out NULL; on a
 * successful reader open every tensor, layer and string accessor stays
 * inside the buffer (touched byte by byte under ASan); the three openers
 * (reader, malloc'd model, static model) agree on success.
 */
#include "fuzz.h"

#include "base/crc32.h"
#include "base/rd.h"
#include "format/iqsw.h"

/* Walks everything a successful reader open promises is in range. */
static void walk_view(const iqsw_view *v, const uint8_t *buf, size_t size)
{
    volatile uint8_t sink = 0;
    FZ_CHECK(v->base == buf && v->size == size);
    for (uint32_t i = 0; i < v->h.tensor_count; i++) {
        iqsw_tensor t;
        iqs_iqsw_tensor(v, i, &t);
        FZ_CHECK(t.offset <= size && t.bytes <= size - t.offset);
        FZ_CHECK(t.offset % 64 == 0);
        const uint8_t *p = (const uint8_t *)iqs_iqsw_data(v, i);
        FZ_CHECK(p == buf + t.offset);
        if (t.bytes) {
            sink ^= p[0];
            sink ^= p[t.bytes - 1];
        }
        const char *name = iqs_iqsw_string(v, t.name);
        sink ^= (uint8_t)name[strlen(name)];
    }
    for (uint32_t i = 0; i < v->h.layer_count; i++) {
        iqsw_layer l;
        iqs_iqsw_layer(v, i, &l);
        FZ_CHECK(l.n_in <= 4);
        for (uint32_t k = 0; k < l.n_in; k++)
            FZ_CHECK(l.in[k] < i);
        FZ_CHECK(l.weight == IQSW_NONE || l.weight < v->h.tensor_count);
        FZ_CHECK(l.bias == IQSW_NONE || l.bias < v->h.tensor_count);
        const char *name = iqs_iqsw_string(v, l.name);
        sink ^= (uint8_t)name[strlen(name)];
    }
    (void)sink;
}

static void open_all(const uint8_t *buf, size_t size)
{
    iqs_diag d;
    iqsw_view v;
    memset(&d, 0x55, sizeof d);
    iqs_status rs = iqs_iqsw_open(buf, size, IQSW_READ_SKIP_DATA_CRC, &v, &d);
    fz_check_diag(&d, rs);
    if (rs == IQS_OK)
        walk_view(&v, buf, size);

    iqs_status full = iqs_iqsw_open(buf, size, 0, &v, &d);
    fz_check_diag(&d, full);
    /* The data CRC can only add a failure. */
    FZ_CHECK(full == IQS_OK ? rs == IQS_OK : 1);

    iqs_model *m = (iqs_model *)&d; /* must be overwritten */
    iqs_status ms = iqs_model_open_memory(buf, size, IQS_OPEN_SKIP_DATA_CRC, &m, &d);
    fz_check_diag(&d, ms);
    if (ms != IQS_OK) {
        FZ_CHECK(m == NULL);
    } else {
        FZ_CHECK(rs == IQS_OK);
        iqs_model_info info;
        FZ_CHECK(iqs_model_get_info(m, &info) == IQS_OK);
        FZ_CHECK(info.num_classes >= 1 && info.num_classes <= IQS_MAX_CLASSES);
        for (int k = 0; k < info.num_classes; k++)
            FZ_CHECK(info.labels[k] != NULL);
        FZ_CHECK(iqs_workspace_size(m) > 0);
    }
    /* The static pair must agree with the malloc'd opener. */
    size_t need = 1;
    iqs_status ss = iqs_model_static_size(buf, size, NULL, &need, &d);
    fz_check_diag(&d, ss);
    FZ_CHECK(ss == IQS_OK ? need > 0 : need == 0);
    if (ss == IQS_OK && ms == IQS_OK && need < ((size_t)64 << 20)) {
        void *mem = malloc(need);
        iqs_model *sm = NULL;
        iqs_open_options o;
        iqs_open_options_init(&o);
        o.flags = IQS_OPEN_SKIP_DATA_CRC;
        if (mem) {
            iqs_status is = iqs_model_init_static(mem, need, buf, size, &o, &sm, &d);
            FZ_CHECK(is == IQS_OK && sm != NULL);
            FZ_CHECK(iqs_workspace_size(sm) == iqs_workspace_size(m));
            iqs_model_close(sm); /* no-op for a static model */
            free(mem);
        }
    }
    iqs_model_close(m);
}

/* Patches file_size/data_size to the real length and recomputes both CRCs
 * with bounds taken from the (untrusted) header, clamped to the buffer. */
static void reseal(uint8_t *b, size_t size)
{
    if (size < IQSW_HEADER_SIZE)
        return;
    uint64_t doff = iqs_rd64(b + IQSW_H_DATA_OFF);
    iqs_wr64(b + IQSW_H_FILE_SIZE, size);
    if (doff <= size)
        iqs_wr64(b + IQSW_H_DATA_SIZE, size - doff);
    iqs_iqsw_seal(b, size); /* does nothing unless header_size <= data_off <= size */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > ((size_t)16 << 20))
        return 0;
    uint8_t *b = fz_aligned_copy(data, size);
    if (!b)
        return 0;
    open_all(b, size);
    reseal(b, size);
    open_all(b, size);
    /* The reader never writes to the weights. */
    uint8_t *again = fz_aligned_copy(data, size);
    if (again) {
        reseal(again, size);
        FZ_CHECK(memcmp(again, b, size) == 0);
        free(again);
    }
    free(b);
    return 0;
}
