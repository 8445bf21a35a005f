/* Helpers shared by the cmocka suites (tests only). */
#ifndef IQS_TESTUTIL_H
#define IQS_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>

/* Directory of ../shared (env IQS_SHARED, else "../shared"). */
const char *tu_shared_dir(void);
/* Directory of generated models (env IQS_MODELS, else "build/models"). */
const char *tu_models_dir(void);
/* Repository root (env IQS_ROOT, else "."). */
const char *tu_root_dir(void);
/* snprintf into a static rotating buffer: "%s/%s" joins. */
const char *tu_path(const char *dir, const char *name);
/* Reads a whole file into a malloc'd buffer (64-byte aligned); NULL on error. */
void *tu_read_file(const char *path, size_t *size);
/* 1 if the file exists. */
int tu_exists(const char *path);
/* Creates a fresh temporary directory; returns its path (static storage). */
const char *tu_mkdtemp(void);
/* rm -rf of a directory made by tu_mkdtemp. */
void tu_rmtree(const char *dir);
/* The names in dir, space-separated in readdir order (for messages), and
 * their count (. and .. excluded); -1 if dir cannot be opened. */
int tu_list_dir(const char *dir, char *buf, size_t bufsz);
#endif
