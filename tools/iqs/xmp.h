/*
 * XMP sidecar merge for the iqs command (tools/iqs, not part of libiqs).
 *
 * The merge edits an existing XMP packet in place: it sets a few simple
 * properties (digiKam:PickLabel, xmp:Rating) and leaves every other byte of
 * the file as it was - other properties, namespaces, comments, padding,
 * attribute order and quoting. Only the value bytes of properties that
 * already exist change; properties that do not exist are added as
 * attributes of the first top-level rdf:Description (declaring their
 * namespace there when it is not yet in scope).
 *
 * The parser is a small, strict, non-validating XML reader: a document it
 * does not fully understand (DTD, unbound prefix, unbalanced tags, UTF-16,
 * no rdf:RDF element) is refused with XMP_E_PARSE and must be left
 * untouched by the caller. It never reads outside the given buffer and has
 * limits on depth and element count, so it may be fuzzed directly
 * (xmp_merge is pure: memory in, memory out).
 *
 * Thread-safety: all functions are reentrant.
 */
#ifndef IQS_TOOLS_XMP_H
#define IQS_TOOLS_XMP_H

#include <limits.h>
#include <stddef.h>

/* A field of xmp_update that must not be changed. */
#define XMP_KEEP INT_MIN

/* digiKam's pick label codes (Xmp.digiKam.PickLabel). */
#define XMP_PICK_NONE 0
#define XMP_PICK_REJECTED 1
#define XMP_PICK_PENDING 2
#define XMP_PICK_ACCEPTED 3

/* What to write. Each field is a value or XMP_KEEP. */
typedef struct xmp_update {
    int pick_label; /* digiKam:PickLabel, 0..3                          */
    int rating;     /* xmp:Rating, -1 (rejected) .. 5 stars             */
} xmp_update;

typedef enum xmp_status {
    XMP_OK = 0,        /* merged (and written, unless dry run)            */
    XMP_UNCHANGED = 1, /* the file already holds these values: not written */
    XMP_E_PARSE = 2,   /* existing sidecar not understood: left untouched */
    XMP_E_IO = 3,      /* read/write/rename failed: sidecar untouched     */
    XMP_E_NOMEM = 4,
    XMP_E_LIMIT = 5,   /* existing sidecar too large or too deep          */
    XMP_E_ARG = 6
} xmp_status;

/* A static, never-NULL name of a status ("ok", "unchanged", ...). */
const char *xmp_status_name(xmp_status st);

/* Largest sidecar xmp_update_file reads (bytes). */
#define XMP_MAX_FILE_BYTES ((size_t)16 << 20)

/* Merges u into the XMP document in[0..len). On XMP_OK *out is a malloc'd
 * buffer of *out_len bytes (not NUL-terminated; free with free()); when the
 * result equals the input the status is XMP_UNCHANGED and *out is still
 * set. On any error *out is NULL and err (if not NULL, errsz > 0) receives a
 * one-line reason. A leading UTF-8 BOM is accepted and kept. */
xmp_status xmp_merge(const char *in, size_t len, const xmp_update *u, char **out,
                     size_t *out_len, char *err, size_t errsz);

/* Builds a new sidecar holding only the values of u (malloc'd, as above). */
xmp_status xmp_create(const xmp_update *u, char **out, size_t *out_len, char *err,
                      size_t errsz);

/* Writes the sidecar path of an image into buf: "photo.jpg.xmp" (digiKam,
 * darktable), or with adobe != 0 "photo.xmp" (the image's last extension
 * replaced). Returns 0, or -1 if buf is too small. */
int xmp_sidecar_path(const char *image, int adobe, char *buf, size_t bufsz);

/* Reads the sidecar at path (a missing file counts as empty and is
 * created), merges u, and replaces the file atomically: a temporary file
 * in the same folder is written, fsync'd, given the old file's mode, and
 * renamed over the sidecar, then the folder is fsync'd. A symlinked
 * sidecar is written through to its target. With dry_run nothing is
 * written (the status says what would happen). *created (may be NULL) is
 * set to 1 when no sidecar existed. On failure the existing sidecar is
 * untouched and no temporary file is left behind. */
xmp_status xmp_update_file(const char *path, const xmp_update *u, int dry_run,
                           int *created, char *err, size_t errsz);

#endif
