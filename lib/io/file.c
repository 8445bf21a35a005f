/*
 * Whole-file access for the hosted conveniences (layer: io): weights files
 * are mapped read-only and used in place, images are mapped for the time of
 * one decode. The read path (IQS_OPEN_NO_MMAP, or when mmap fails) copies the
 * file into a 64-byte-aligned block so that both paths give the same
 * alignment guarantee. Every refusal (missing, empty, directory, too large)
 * happens on the fstat of the open descriptor, before any byte is read, and
 * is reported through the optional diag with the path and errno text. This
 * file is compiled only when IQS_STDIO is 1; it never prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

/* Long paths are shown by their tail: the file name is the useful part and
 * the diag message has 192 bytes. */
#define PATH_SHOWN 120

static const char *path_prefix(const char *path)
{
    return strlen(path) > PATH_SHOWN ? "..." : "";
}
static const char *path_tail(const char *path)
{
    size_t n = strlen(path);
    return n > PATH_SHOWN ? path + (n - PATH_SHOWN) : path;
}

#define PATH_ARGS(p) path_prefix(p), path_tail(p)

/* Opens path and checks it is a regular, non-empty file of at most
 * max_bytes bytes. On success *fd is open and *size is the file size. */
static iqs_status open_regular(const char *path, uint64_t max_bytes,
                               int empty_ok, int *fd, size_t *size,
                               iqs_diag *diag)
{
    struct stat st;
    int f;
    int err;

    *fd = -1;
    *size = 0;
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer before
     * the regular-file check below could refuse it; cleared again then. */
    do {
        f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    } while (f < 0 && errno == EINTR);
    if (f < 0) {
        err = errno;
        return iqs_diag_set(diag, IQS_E_IO, "cannot open '%s%s': %s",
                            PATH_ARGS(path), strerror(err));
    }
    if (fstat(f, &st) != 0) {
        err = errno;
        close(f);
        return iqs_diag_set(diag, IQS_E_IO, "cannot stat '%s%s': %s",
                            PATH_ARGS(path), strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        close(f);
        return iqs_diag_set(diag, IQS_E_IO, "'%s%s': %s", PATH_ARGS(path),
                            strerror(EISDIR));
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return iqs_diag_set(diag, IQS_E_IO, "'%s%s': not a regular file",
                            PATH_ARGS(path));
    }
    err = fcntl(f, F_GETFL);
    if (err < 0 || fcntl(f, F_SETFL, err & ~O_NONBLOCK) != 0) {
        err = errno;
        close(f);
        return iqs_diag_set(diag, IQS_E_IO, "'%s%s': %s", PATH_ARGS(path),
                            strerror(err));
    }
    if (st.st_size <= 0 && !empty_ok) {
        close(f);
        return iqs_diag_set(diag, IQS_E_IO, "'%s%s': empty file",
                            PATH_ARGS(path));
    }
    /* Compare in 64 bits first: off_t may exceed size_t on 32-bit hosts. */
    if ((uint64_t)st.st_size > max_bytes ||
        (uint64_t)st.st_size > (uint64_t)(SIZE_MAX / 2)) {
        close(f);
        return iqs_diag_set(diag, IQS_E_LIMIT,
                            "'%s%s': %llu bytes exceed the limit of %llu",
                            PATH_ARGS(path), (unsigned long long)st.st_size,
                            (unsigned long long)max_bytes);
    }
    *fd = f;
    *size = (size_t)st.st_size;
    return IQS_OK;
}

#if IQS_MALLOC
/* Reads exactly size bytes of fd into a new 64-byte-aligned block. */
static iqs_status read_fd(int fd, size_t size, const char *path, void **out,
                          iqs_diag *diag)
{
    unsigned char *buf = NULL;
    size_t got = 0;
    iqs_status st;

    *out = NULL;
    if (posix_memalign((void **)&buf, 64, size) != 0 || !buf)
        return iqs_diag_set(diag, IQS_E_NOMEM,
                            "'%s%s': cannot allocate %zu bytes",
                            PATH_ARGS(path), size);
    while (got < size) {
        /* Chunks keep each request below the 2 GiB some kernels cap at. */
        size_t want = size - got;
        ssize_t n;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        n = read(fd, buf + got, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = iqs_diag_set(diag, IQS_E_IO, "cannot read '%s%s': %s",
                              PATH_ARGS(path), strerror(errno));
            goto fail;
        }
        if (n == 0) {
            st = iqs_diag_set(diag, IQS_E_IO,
                              "'%s%s': file shrank while reading (%zu of %zu bytes)",
                              PATH_ARGS(path), got, size);
            goto fail;
        }
        got += (size_t)n;
    }
    *out = buf;
    return IQS_OK;
fail:
    free(buf);
    return st;
}
#else
static iqs_status read_fd(int fd, size_t size, const char *path, void **out,
                          iqs_diag *diag)
{
    (void)fd;
    (void)size;
    *out = NULL;
    return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                        "'%s%s': reading into memory needs a MALLOC=1 build",
                        PATH_ARGS(path));
}
#endif

iqs_status iqs_io_map(const char *path, unsigned flags, uint64_t max_bytes,
                      iqs_mapping *out, iqs_diag *diag)
{
    int fd = -1;
    size_t size = 0;
    void *p;
    iqs_status st;

    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return iqs_diag_set(diag, IQS_E_ARG, "iqs_io_map: NULL argument");
    st = open_regular(path, max_bytes, (flags & IQS_IO_EMPTY_OK) != 0, &fd,
                      &size, diag);
    if (st != IQS_OK)
        return st;
    if (size == 0) { /* only with IQS_IO_EMPTY_OK: nothing to map */
        close(fd);
        iqs_diag_ok(diag);
        return IQS_OK;
    }

    if (!(flags & IQS_OPEN_NO_MMAP)) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            close(fd);
            out->data = p;
            out->size = size;
            out->is_mmap = 1;
            iqs_diag_ok(diag);
            return IQS_OK;
        }
        /* Fall through to the read path: some filesystems cannot mmap. */
    }
    st = read_fd(fd, size, path, &p, diag);
    close(fd);
    if (st != IQS_OK)
        return st;
    out->data = p;
    out->size = size;
    out->is_mmap = 0;
    out->owned = p;
    iqs_diag_ok(diag);
    return IQS_OK;
}

void iqs_io_unmap(iqs_mapping *m)
{
    if (!m)
        return;
    if (m->is_mmap && m->data)
        munmap((void *)(uintptr_t)m->data, m->size);
#if IQS_MALLOC
    free(m->owned);
#endif
    memset(m, 0, sizeof *m);
}

iqs_status iqs_io_read_all(const char *path, uint64_t max_bytes, void **data,
                           size_t *size, iqs_diag *diag)
{
    int fd = -1;
    size_t n = 0;
    void *p = NULL;
    iqs_status st;

    if (data)
        *data = NULL;
    if (size)
        *size = 0;
    if (!path || !data || !size)
        return iqs_diag_set(diag, IQS_E_ARG, "iqs_io_read_all: NULL argument");
    st = open_regular(path, max_bytes, 0, &fd, &n, diag);
    if (st != IQS_OK)
        return st;
    st = read_fd(fd, n, path, &p, diag);
    close(fd);
    if (st != IQS_OK)
        return st;
    *data = p;
    *size = n;
    iqs_diag_ok(diag);
    return IQS_OK;
}
