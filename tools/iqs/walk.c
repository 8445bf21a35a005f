/*
 * File walker of the iqs command (tools/iqs; application code).
 *
 * Collects the image files under the given paths before any work starts,
 * so the run knows its total (progress, ETA) and the order of `--sorted`
 * output is simply the walk order: folder entries sorted by name (bytes),
 * depth first. Images are recognised by extension, which is cheap and lets
 * a text file named .jpg surface as a decode error rather than vanish.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH 128

int cli_is_image_name(const char *name)
{
    static const char *const ext[] = {"jpg", "jpeg", "jpe", "jfif", "png", "bmp",
                                      "gif", "tga", "ppm", "pgm", "pnm"};
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return 0;
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
        if (strcasecmp(dot + 1, ext[k]) == 0)
            return 1;
    return 0;
}

static int add(cli_files *fl, const char *path, int err)
{
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 64;
        cli_file *v = realloc(fl->v, cap * sizeof *v);
        if (!v)
            return -1;
        fl->v = v;
        fl->cap = cap;
    }
    char *p = strdup(path);
    if (!p)
        return -1;
    fl->v[fl->n].path = p;
    fl->v[fl->n].err = err;
    fl->n++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + nl + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    if (!slash)
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

static int walk_dir(cli_files *fl, const char *dir, int recursive, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return add(fl, dir, errno);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files and our temporary files */
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 64;
            char **p = realloc(names, c2 * sizeof *p);
            if (!p) {
                rc = -1;
                goto out;
            }
            names = p;
            cap = c2;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = -1;
            goto out;
        }
        n++;
    }
    if (errno != 0)
        rc = add(fl, dir, errno);
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t k = 0; k < n && rc == 0; k++) {
        char *p = join(dir, names[k]);
        struct stat st;
        if (!p) {
            rc = -1;
            break;
        }
        if (lstat(p, &st) != 0) {
            rc = add(fl, p, errno);
        } else if (S_ISDIR(st.st_mode)) {
            if (recursive) {
                if (depth + 1 >= MAX_DEPTH)
                    rc = add(fl, p, ELOOP);
                else
                    rc = walk_dir(fl, p, recursive, depth + 1);
            }
        } else if (cli_is_image_name(p)) {
            /* Regular files and symlinks to files; a dangling or odd entry
             * becomes a per-file error when it is opened. */
            if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
                rc = add(fl, p, 0);
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            fl->skipped++;
        }
        free(p);
    }
out:
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    closedir(d);
    return rc;
}

int cli_walk(cli_files *fl, const char *path, int recursive, int filter)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return add(fl, path, errno);
    if (S_ISDIR(st.st_mode))
        return walk_dir(fl, path, recursive, 0);
    if (filter && !cli_is_image_name(path)) {
        fl->skipped++;
        return 0;
    }
    return add(fl, path, 0);
}

void cli_files_free(cli_files *fl)
{
    if (!fl)
        return;
    for (size_t k = 0; k < fl->n; k++)
        free(fl->v[k].path);
    free(fl->v);
    memset(fl, 0, sizeof *fl);
}
