/* Helpers shared by the cmocka suites (tests only; may print and exit). */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
}

const char *tu_shared_dir(void) { return env_or("IQS_SHARED", "../shared"); }
const char *tu_models_dir(void) { return env_or("IQS_MODELS", "build/models"); }
const char *tu_root_dir(void) { return env_or("IQS_ROOT", "."); }

const char *tu_path(const char *dir, const char *name)
{
    static char buf[8][4096];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

void *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    void *p = NULL;
    if (posix_memalign(&p, 64, (size_t)n + 64) != 0) { fclose(f); return NULL; }
    if (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); fclose(f); return NULL; }
    fclose(f);
    *size = (size_t)n;
    return p;
}

int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *tu_mkdtemp(void)
{
    static char buf[8][64];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, sizeof buf[0], "/tmp/iqs-test-XXXXXX");
    if (!mkdtemp(b)) { perror("mkdtemp"); exit(2); }
    return b;
}

void tu_rmtree(const char *dir)
{
    char cmd[256];
    if (strncmp(dir, "/tmp/iqs-test-", 14) != 0)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "rmtree failed: %s\n", dir);
}

int tu_list_dir(const char *dir, char *buf, size_t bufsz)
{
    DIR *d = opendir(dir);
    int n = 0;
    buf[0] = '\0';
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        size_t l = strlen(buf);
        snprintf(buf + l, bufsz - l, "%s%s", l ? " " : "", e->d_name);
    }
    closedir(d);
    return n;
}
