/*
 * Fuzz harness: the model open path behind the reader - architecture
 * matching, shape inference and the workspace planner (lib/net, lib/api) -
 * on a real weights file whose header and tables come from the input.
 *
 * The architectures need full-size weights (80-220 MB), which no fuzz
 * input can carry, so the harness maps a generated model (env
 * IQS_FUZZ_MODEL, default build/models/irv2_any_tf2_c3.iqsw) privately and
 * writable, lays the input over its first bytes (header, tables, strings),
 * recomputes the metadata CRC and opens it with IQS_OPEN_SKIP_DATA_CRC.
 * The length handed to the opener is the header's file_size when that fits
 * the mapping, so prefixes of smaller models (InceptionV3) work on the
 * larger base. After each input the original bytes are put back.
 * Seeds: the table prefixes of the generated models (corpus/model/).
 * Without the base model the harness does nothing (and says so once).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "base/crc32.h"
#include "base/rd.h"
#include "format/iqsw.h"

static uint8_t *base;      /* private writable mapping of the model */
static size_t base_size;
static uint8_t *pristine;  /* its first PRISTINE bytes */
#define PRISTINE ((size_t)256 << 10)

static void load_base(void)
{
    static int tried;
    if (tried)
        return;
    tried = 1;
    const char *path = getenv("IQS_FUZZ_MODEL");
    if (!path)
        path = "build/models/irv2_any_tf2_c3.iqsw";
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size < PRISTINE) {
        fprintf(stderr, "fuzz_model: no base model %s (set IQS_FUZZ_MODEL); "
                        "inputs are ignored\n", path);
        if (fd >= 0)
            close(fd);
        return;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return;
    pristine = malloc(PRISTINE);
    if (!pristine) {
        munmap(p, (size_t)st.st_size);
        return;
    }
    base = p;
    base_size = (size_t)st.st_size;
    memcpy(pristine, base, PRISTINE);
}

static void open_one(size_t len, unsigned input_size)
{
    iqs_diag d;
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.flags = IQS_OPEN_SKIP_DATA_CRC;
    o.input_size = input_size;
    iqs_model *m = (iqs_model *)&d;
    iqs_status s = iqs_model_open_memory_ex(base, len, &o, &m, &d);
    fz_check_diag(&d, s);
    if (s != IQS_OK) {
        FZ_CHECK(m == NULL);
        return;
    }
    iqs_model_info info;
    FZ_CHECK(iqs_model_get_info(m, &info) == IQS_OK);
    FZ_CHECK(info.input_height >= 75 && info.input_width >= 75);
    FZ_CHECK(info.num_classes >= 1 && info.num_classes <= IQS_MAX_CLASSES);
    FZ_CHECK(info.workspace_size == iqs_workspace_size(m));
    FZ_CHECK(info.workspace_size > 0);
    iqs_model_close(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_base();
    if (!base || size < IQSW_HEADER_SIZE || size > PRISTINE)
        return 0;
    memcpy(base, data, size);
    uint64_t fsz = iqs_rd64(base + IQSW_H_FILE_SIZE);
    size_t len = (fsz >= size && fsz <= base_size) ? (size_t)fsz : base_size;
    /* Metadata CRC over [0,120) and [header_size, data_off), when those
     * bounds lie inside the input itself. */
    uint64_t hs = iqs_rd32(base + IQSW_H_HEADER_SIZE);
    uint64_t doff = iqs_rd64(base + IQSW_H_DATA_OFF);
    if (hs <= doff && doff <= size) {
        uint32_t c = iqs_crc32(0, base, IQSW_H_CRC_META);
        c = iqs_crc32(c, base + hs, (size_t)(doff - hs));
        iqs_wr32(base + IQSW_H_CRC_META, c);
    }
    open_one(len, 0);
    open_one(len, 75u + (unsigned)(data[size - 1] % 64u));
    memcpy(base, pristine, size);
    return 0;
}
