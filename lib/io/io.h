/*
 * File access (layer: io). The only place in the library that opens files.
 * Absent from STDIO=0 builds (the Makefile drops the lib/io sources); callers guard
 * their use with #if IQS_STDIO.
 *
 * Contracts common to every function here:
 *  - path must be a non-NULL, NUL-terminated string (IQS_E_ARG otherwise);
 *  - only regular, non-empty files are accepted: a missing, unreadable or
 *    empty file, a directory or any other kind of file gives IQS_E_IO with a
 *    diag message naming the path and the errno text;
 *  - a file larger than max_bytes is refused with IQS_E_LIMIT from its
 *    fstat size, before a single byte is read or mapped;
 *  - nothing is printed; diag may be NULL;
 *  - on failure the out-parameters are zeroed and nothing needs freeing;
 *  - functions are thread-safe (no shared state).
 */
#ifndef IQS_IO_IO_H
#define IQS_IO_IO_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"

/* A read-only view of a whole file. data is 64-byte aligned in both modes:
 * mmap returns page-aligned memory, the read path uses an aligned malloc. */
typedef struct iqs_mapping {
    const void *data; /* first byte of the file; NULL when empty mapping     */
    size_t size;      /* bytes at data (the file size at open time)          */
    int is_mmap;      /* 1: data is a PROT_READ MAP_PRIVATE mapping          */
    void *owned;      /* read path: the malloc'd block to free; else NULL    */
} iqs_mapping;

/* Internal iqs_io_map flag (kept clear of the public IQS_OPEN_* bits): an
 * empty regular file is accepted and gives data == NULL, size == 0, for
 * callers that report emptiness in their own terms (an empty image file is
 * an unusable image, IQS_E_IMAGE, not an I/O failure). */
#define IQS_IO_EMPTY_OK 0x10000u

/* Maps the file at path read-only. flags: IQS_OPEN_NO_MMAP reads the file
 * into a 64-byte-aligned heap block instead (also used as a fallback when
 * mmap itself fails, for example on a filesystem without mmap support).
 * On success *out must be released with iqs_io_unmap. As with any mmap,
 * a file truncated by another process while mapped raises SIGBUS on access;
 * pass IQS_OPEN_NO_MMAP for files that may change under the reader.
 * Statuses: IQS_E_ARG, IQS_E_IO, IQS_E_LIMIT, IQS_E_NOMEM. */
IQS_NODISCARD iqs_status iqs_io_map(const char *path, unsigned flags,
                                    uint64_t max_bytes, iqs_mapping *out,
                                    iqs_diag *diag);

/* Releases what iqs_io_map took and zeroes *m. NULL or a zeroed mapping is
 * a no-op; calling it twice on the same struct is safe. */
void iqs_io_unmap(iqs_mapping *m);

/* Reads the whole file into a new 64-byte-aligned heap block; the caller
 * releases *data with free(). *size is the number of bytes read.
 * Statuses: IQS_E_ARG, IQS_E_IO, IQS_E_LIMIT, IQS_E_NOMEM. */
IQS_NODISCARD iqs_status iqs_io_read_all(const char *path, uint64_t max_bytes,
                                         void **data, size_t *size,
                                         iqs_diag *diag);

#endif
