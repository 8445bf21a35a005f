/*
 * Fault injection (issue 7): allocation failures and I/O failures on every
 * path that allocates or writes - model open (mmap and read paths), model
 * open with a chosen input size (the workspace plan) followed by the
 * caller's workspace and a classify, image decoding, iqs_assess_file,
 * iqs_classify_file, the converter (cpb_convert) and the XMP sidecar
 * writer (xmp_update_file).
 *
 * Allocation failures: this binary interposes malloc, calloc, realloc,
 * posix_memalign, aligned_alloc and free (glibc's __libc_* do the work; under
 * AddressSanitizer its __interceptor_* entry points, so every block stays
 * visible to ASan/LSan). A sweep runs an operation with the Nth allocation
 * failing, for N = 1, 2, ... until a run sees no injected failure (which is
 * also the "later call works" check). After each run: the status is OK or
 * the expected out-of-memory status; every block allocated during the run
 * has been freed (tracked pointer by pointer, so this holds without ASan
 * too); no file descriptor and no mapping of the input is left; outputs
 * on disk are either complete or absent, and no temporary file remains.
 *
 * I/O failures: write, fsync and rename are interposed the same way (the
 * Nth call fails with EIO/ENOSPC). As root, a 1 MiB tmpfs gives a real full
 * disk and a read-only remount a real read-only target; those tests skip
 * when mount(2) is not permitted. The original file must survive intact.
 *
 * Finally the SIGBUS hazard of a mapped weights file truncated while open
 * is demonstrated in a child process, next to the read path
 * (IQS_OPEN_NO_MMAP), which is immune (docs/security.md).
 */
#define _GNU_SOURCE /* for the interposed symbols' prototypes */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tools/convert_pb/convert.h"
#include "../tools/iqs/xmp.h"
#include "iqs/iqs.h"
#include "testutil.h"

/* ------------------------------------------------------- interposition */

#if defined(__SANITIZE_ADDRESS__)
void *__interceptor_malloc(size_t);
void *__interceptor_calloc(size_t, size_t);
void *__interceptor_realloc(void *, size_t);
void __interceptor_free(void *);
int __interceptor_posix_memalign(void **, size_t, size_t);
void *__interceptor_aligned_alloc(size_t, size_t);
#define REAL_MALLOC __interceptor_malloc
#define REAL_CALLOC __interceptor_calloc
#define REAL_REALLOC __interceptor_realloc
#define REAL_FREE __interceptor_free
#define REAL_POSIX_MEMALIGN __interceptor_posix_memalign
#define REAL_ALIGNED_ALLOC __interceptor_aligned_alloc
#else
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);
void *__libc_memalign(size_t, size_t);
static int libc_posix_memalign(void **p, size_t a, size_t n)
{
    void *q = __libc_memalign(a, n);
    if (!q)
        return ENOMEM;
    *p = q;
    return 0;
}
#define REAL_MALLOC __libc_malloc
#define REAL_CALLOC __libc_calloc
#define REAL_REALLOC __libc_realloc
#define REAL_FREE __libc_free
#define REAL_POSIX_MEMALIGN libc_posix_memalign
#define REAL_ALIGNED_ALLOC __libc_memalign
#endif

/* Injection state. Only the test thread allocates while a window is open
 * (OpenBLAS' threads are idle), so plain variables suffice. */
static struct {
    int track;     /* record blocks allocated in the window      */
    int inject;    /* count allocations and fail the fail_at-th  */
    long count;    /* allocations seen in the window             */
    long fail_at;  /* 1-based; 0 = never                         */
    long failed;   /* failures injected                          */
    long live;     /* tracked blocks not yet freed               */
    int io_kind;   /* IO_WRITE / IO_FSYNC / IO_RENAME or 0       */
    long io_count, io_fail_at, io_failed;
    int io_errno;
} fi;

enum { IO_WRITE = 1, IO_FSYNC = 2, IO_RENAME = 3 };

/* Open-addressing set of tracked pointers (1 = tombstone). */
#define SET_BITS 20
#define SET_SIZE ((size_t)1 << SET_BITS)
#define TOMB ((void *)1)
static void *set[SET_SIZE];

static size_t slot(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> (64 - SET_BITS));
}

static void set_add(void *p)
{
    for (size_t i = slot(p);; i = (i + 1) & (SET_SIZE - 1)) {
        if (set[i] == NULL || set[i] == TOMB) {
            set[i] = p;
            fi.live++;
            return;
        }
    }
}

static int set_del(void *p)
{
    for (size_t i = slot(p);; i = (i + 1) & (SET_SIZE - 1)) {
        if (set[i] == NULL)
            return 0;
        if (set[i] == p) {
            set[i] = TOMB;
            fi.live--;
            return 1;
        }
    }
}

/* 1 when this allocation is the one to fail. */
static int should_fail(void)
{
    if (!fi.inject)
        return 0;
    if (++fi.count == fi.fail_at) {
        fi.failed++;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = REAL_MALLOC(n);
    if (p && fi.track)
        set_add(p);
    return p;
}

void *calloc(size_t a, size_t b)
{
    if (should_fail())
        return NULL;
    void *p = REAL_CALLOC(a, b);
    if (p && fi.track)
        set_add(p);
    return p;
}

void *realloc(void *old, size_t n)
{
    if (n && should_fail())
        return NULL; /* old stays valid (and tracked if it was) */
    int was = old && fi.track ? set_del(old) : 0;
    void *p = REAL_REALLOC(old, n);
    if (!p && n && was)
        set_add(old); /* a real failure: old still belongs to the caller */
    if (p && fi.track && (old == NULL || was))
        set_add(p);
    return p;
}

void free(void *p)
{
    if (p && fi.track)
        set_del(p);
    REAL_FREE(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (should_fail())
        return ENOMEM;
    int r = REAL_POSIX_MEMALIGN(out, align, n);
    if (r == 0 && fi.track)
        set_add(*out);
    return r;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = REAL_ALIGNED_ALLOC(align, n);
    if (p && fi.track)
        set_add(p);
    return p;
}

static int io_should_fail(int kind)
{
    if (fi.io_kind != kind)
        return 0;
    if (++fi.io_count == fi.io_fail_at) {
        fi.io_failed++;
        errno = fi.io_errno;
        return 1;
    }
    return 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (io_should_fail(IO_WRITE))
        return -1;
    return (ssize_t)syscall(SYS_write, fd, buf, n);
}

int fsync(int fd)
{
    if (io_should_fail(IO_FSYNC))
        return -1;
    return (int)syscall(SYS_fsync, fd);
}

int rename(const char *from, const char *to)
{
    if (io_should_fail(IO_RENAME))
        return -1;
#ifdef SYS_rename
    return (int)syscall(SYS_rename, from, to);
#else
    return (int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to);
#endif
}

/* ------------------------------------------------------------ helpers */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* 1 if /proc/self/maps mentions path (a mapping left behind). */
static int mapped(const char *path)
{
    char line[4096];
    int hit = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, path))
            hit = 1;
    fclose(f);
    return hit;
}

static char *slurp(const char *path, size_t *n)
{
    size_t sz = 0;
    void *p = tu_read_file(path, &sz);
    if (n)
        *n = sz;
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal((size_t)syscall(SYS_write, fd, data, n), n);
    close(fd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *models(void)
{
    return tu_models_dir();
}

static const char *photo(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/testdata/photos/%s", tu_shared_dir(), name);
    return b;
}

/* ------------------------------------------------------ the sweep */

/* An operation under test: returns its status (iqs_status or xmp_status,
 * as an int); releases whatever it obtained on success before returning,
 * so that the window must end with no tracked block. */
typedef int (*op_fn)(void *ctx);

typedef struct sweep_res {
    long allocs;   /* allocations of a complete, successful run       */
    long runs;     /* runs with an injected failure                   */
    long ok_anyway;/* of which the operation still succeeded          */
    long st[16];   /* statuses of the failed runs                     */
    double seconds;
} sweep_res;

/* After each run: ok_status or one of the allowed statuses, no leak, no
 * descriptor left. check(ctx, status) (may be NULL) checks outputs. */
static void sweep_step(const char *name, op_fn op, void *ctx, int ok_status,
                       const int *allowed, int n_allowed,
                       void (*check)(void *ctx, int status), long step, sweep_res *res)
{
    memset(res, 0, sizeof *res);
    double t0 = now_s();
    for (long n = 1;; n += (n < 32 ? 1 : step)) {
        int fds = count_fds();
        memset(set, 0, sizeof set);
        fi.live = 0;
        fi.count = 0;
        fi.failed = 0;
        fi.fail_at = n;
        fi.track = 1;
        fi.inject = 1;
        int st = op(ctx);
        fi.inject = 0;
        fi.track = 0;
        long seen = fi.count, failed = fi.failed, live = fi.live;
        if (live != 0)
            fail_msg("%s: allocation %ld of %ld failed: status %d, %ld block(s) not freed",
                     name, n, seen, st, live);
        if (count_fds() != fds)
            fail_msg("%s: allocation %ld failed: status %d, file descriptor left open",
                     name, n, st);
        if (check)
            check(ctx, st);
        if (!failed) {
            if (st != ok_status)
                fail_msg("%s: status %d without an injected failure", name, st);
            res->allocs = seen;
            break;
        }
        res->runs++;
        if (st == ok_status) {
            res->ok_anyway++;
        } else {
            int ok = 0;
            for (int k = 0; k < n_allowed; k++)
                ok |= st == allowed[k];
            if (!ok)
                fail_msg("%s: allocation %ld of %ld failed: unexpected status %d", name, n,
                         seen, st);
            res->st[st & 15]++;
        }
    }
    res->seconds = now_s() - t0;
    char hist[256] = "";
    for (int s = 0; s < 16; s++)
        if (res->st[s]) {
            size_t l = strlen(hist);
            snprintf(hist + l, sizeof hist - l, " status%d:%ld", s, res->st[s]);
        }
    print_message("%-22s %4ld allocations, %s failed once: %ld clean failures (%s ), "
                  "%ld recovered; %.1f s\n",
                  name, res->allocs, step > 1 ? "the first 32 and every Kth" : "each",
                  res->runs - res->ok_anyway, hist, res->ok_anyway, res->seconds);
}

static void sweep(const char *name, op_fn op, void *ctx, int ok_status, const int *allowed,
                  int n_allowed, void (*check)(void *ctx, int status), sweep_res *res)
{
    sweep_step(name, op, ctx, ok_status, allowed, n_allowed, check, 1, res);
}

/* ------------------------------------------------ library operations */

typedef struct model_ctx {
    const char *path;
    iqs_open_options opt;
    int classify;          /* also allocate a workspace and classify   */
    const iqs_image *img;
} model_ctx;

static int op_model_open(void *p)
{
    model_ctx *c = p;
    iqs_model *m = (iqs_model *)&m;
    iqs_diag d;
    iqs_status st = iqs_model_open_ex(c->path, &c->opt, &m, &d);
    if (st != IQS_OK) {
        assert_null(m);
        assert_int_equal(d.status, st);
        assert_true(d.msg[0] != '\0');
        assert_false(mapped(c->path));
        return st;
    }
    if (c->classify) {
        /* Workspace setup is the caller's malloc; then a call. */
        size_t wsz = iqs_workspace_size(m);
        void *ws = malloc(wsz);
        if (!ws) {
            iqs_model_close(m);
            return IQS_E_NOMEM;
        }
        iqs_result r;
        st = iqs_classify(m, c->img, ws, wsz, &r);
        free(ws);
        assert_int_equal(st, IQS_OK);
        assert_true(r.top >= 0 && r.top < r.num_classes);
    }
    iqs_model_close(m);
    assert_false(mapped(c->path));
    return IQS_OK;
}

static const int nomem_only[] = {IQS_E_NOMEM};
static const int nomem_image[] = {IQS_E_NOMEM, IQS_E_IMAGE};

static iqs_image g_img; /* a decoded photo, made before the sweeps */

static void load_photo(void)
{
    if (g_img.data)
        return;
    iqs_diag d;
    if (iqs_image_load(photo("jxl_coast.jpg"), NULL, &g_img, &d) != IQS_OK)
        fail_msg("%s", d.msg);
}

static void test_alloc_model_open(void **state)
{
    (void)state;
    sweep_res r;
    model_ctx c;
    memset(&c, 0, sizeof c);
    char p224[1024], pv3[1024], pany[1024];
    snprintf(p224, sizeof p224, "%s/irv2_224_tf2_c3.iqsw", models());
    snprintf(pv3, sizeof pv3, "%s/v3_224_tf2_c10.iqsw", models());
    snprintf(pany, sizeof pany, "%s/irv2_any_tf2_c3.iqsw", models());
    if (!tu_exists(p224) || !tu_exists(pv3) || !tu_exists(pany))
        skip();

    c.path = p224;
    iqs_open_options_init(&c.opt);
    sweep("model_open mmap", op_model_open, &c, IQS_OK, nomem_only, 1, NULL, &r);
    assert_true(r.allocs >= 1);

    c.path = pv3;
    c.opt.flags = IQS_OPEN_NO_MMAP;
    sweep("model_open read", op_model_open, &c, IQS_OK, nomem_only, 1, NULL, &r);
    assert_true(r.allocs >= 2);

    /* Input size chosen at open (planning), the caller's workspace, a
     * classify. A first classify outside the sweep lets OpenBLAS set up
     * its buffers (its internals are outside the contract). */
    load_photo();
    c.path = pany;
    c.opt.flags = IQS_OPEN_SKIP_DATA_CRC;
    c.opt.input_size = 96;
    c.classify = 1;
    c.img = &g_img;
    assert_int_equal(op_model_open(&c), IQS_OK);
    sweep("open_ex+workspace", op_model_open, &c, IQS_OK, nomem_only, 1, NULL, &r);
}

typedef struct file_ctx {
    const char *path;
    const void *data;
    size_t size;
    iqs_model *model;
} file_ctx;

static int op_image_load(void *p)
{
    file_ctx *c = p;
    iqs_image img;
    iqs_diag d;
    iqs_status st = c->data ? iqs_image_decode_memory(c->data, c->size, NULL, &img, &d)
                            : iqs_image_load(c->path, NULL, &img, &d);
    if (st != IQS_OK) {
        assert_null(img.data);
        assert_int_equal(d.status, st);
        return st;
    }
    assert_true(img.width > 0 && img.height > 0);
    iqs_image_free(&img);
    return IQS_OK;
}

static int op_assess_file(void *p)
{
    file_ctx *c = p;
    iqs_assessment a;
    iqs_diag d;
    iqs_status st = iqs_assess_file(c->path, NULL, &a, &d);
    if (st == IQS_OK)
        assert_true(a.quality >= 0 && a.quality <= 100);
    else
        assert_int_equal(d.status, st);
    return st;
}

static int op_classify_file(void *p)
{
    file_ctx *c = p;
    size_t wsz = iqs_workspace_size(c->model);
    void *ws = malloc(wsz);
    if (!ws)
        return IQS_E_NOMEM;
    iqs_result r;
    iqs_diag d;
    iqs_status st = iqs_classify_file(c->model, c->path, NULL, ws, wsz, &r, &d);
    free(ws);
    return st;
}

static void test_alloc_image_assess(void **state)
{
    (void)state;
    sweep_res r;
    file_ctx c;
    memset(&c, 0, sizeof c);
    c.path = photo("jxl_coast.jpg");
    sweep("image_load jpeg", op_image_load, &c, IQS_OK, nomem_image, 2, NULL, &r);
    assert_true(r.allocs >= 2);

    char png[1024];
    snprintf(png, sizeof png, "%s/tests/img/rgba.png", tu_root_dir());
    c.data = slurp(png, &c.size);
    assert_non_null(c.data);
    sweep("decode_memory png", op_image_load, &c, IQS_OK, nomem_image, 2, NULL, &r);
    free((void *)c.data);
    char prog[1024];
    snprintf(prog, sizeof prog, "%s/tests/img/progressive.jpg", tu_root_dir());
    c.data = slurp(prog, &c.size);
    sweep("decode_memory prog", op_image_load, &c, IQS_OK, nomem_image, 2, NULL, &r);
    free((void *)c.data);
    c.data = NULL;

    c.path = photo("jxl_coast.jpg");
    sweep("assess_file", op_assess_file, &c, IQS_OK, nomem_image, 2, NULL, &r);
    assert_true(r.allocs >= 3);

    char pany[1024];
    snprintf(pany, sizeof pany, "%s/irv2_any_tf2_c3.iqsw", models());
    if (!tu_exists(pany))
        return;
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.input_size = 75;
    o.flags = IQS_OPEN_SKIP_DATA_CRC;
    iqs_diag d;
    assert_int_equal(iqs_model_open_ex(pany, &o, &c.model, &d), IQS_OK);
    assert_int_equal(op_classify_file(&c), IQS_OK); /* OpenBLAS warm-up */
    sweep("classify_file", op_classify_file, &c, IQS_OK, nomem_image, 2, NULL, &r);
    iqs_model_close(c.model);
}

/* ---------------------------------------------------------- converter */

typedef struct conv_ctx {
    char in[1024], dir[1024], out[1100];
    const char *orig;   /* content of a pre-existing OUT, or NULL */
    size_t orig_n;
    long out_size;      /* size of a good output (learnt on success) */
    char msg[512];
} conv_ctx;

static int op_convert(void *p)
{
    conv_ctx *c = p;
    cpb_options o;
    cpb_err e;
    memset(&o, 0, sizeof o);
    memset(&e, 0, sizeof e);
    o.in_path = c->in;
    o.out_path = c->out;
    o.quiet = 1;
    o.out = stdout;
    iqs_status st = cpb_convert(&o, &e);
    snprintf(c->msg, sizeof c->msg, "%s", e.msg);
    if (st != IQS_OK)
        assert_true(e.msg[0] != '\0');
    return st;
}

/* Either the complete new output or the untouched original; never a
 * temporary file. A good output is removed again (or the original put
 * back) for the next run. */
static void check_convert(void *p, int st)
{
    conv_ctx *c = p;
    char names[2048];
    int n = tu_list_dir(c->dir, names, sizeof names);
    if (strstr(names, "model.iqsw.tmp"))
        fail_msg("temporary file left behind (status %d; dir: %s)", st, names);
    if (st == IQS_OK) {
        struct stat s;
        assert_int_equal(stat(c->out, &s), 0);
        if (c->out_size < 0)
            c->out_size = (long)s.st_size;
        assert_int_equal((long)s.st_size, c->out_size);
        /* The library opens what was written. */
        iqs_model *m = NULL;
        iqs_diag d;
        assert_int_equal(iqs_model_open(c->out, 0, &m, &d), IQS_OK);
        iqs_model_close(m);
        if (c->orig)
            write_file(c->out, c->orig, c->orig_n);
        else
            unlink(c->out);
        return;
    }
    if (c->orig) {
        size_t got = 0;
        char *now = slurp(c->out, &got);
        assert_non_null(now);
        assert_int_equal(got, c->orig_n);
        assert_memory_equal(now, c->orig, got);
        free(now);
        assert_int_equal(n, 1);
    } else {
        if (n != 0)
            fail_msg("status %d but the folder holds: %s", st, names);
    }
}

static void conv_setup(conv_ctx *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->in, sizeof c->in, "%s/tests/fuzz/corpus/pb/v3_299_tf1_c3.skel.pb",
             tu_root_dir());
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->out, sizeof c->out, "%s/model.iqsw", dir);
    c->out_size = -1;
}

static void test_alloc_convert(void **state)
{
    (void)state;
    conv_ctx c;
    const char *dir = tu_mkdtemp();
    conv_setup(&c, dir);
    if (!tu_exists(c.in))
        skip();
    sweep_res r;
    /* Every allocation takes ~600 runs (100 s, more under ASan): CI fails
     * the first 32 and then every 9th; IQS_FAULTS_FULL=1 fails each. */
    const char *full = getenv("IQS_FAULTS_FULL");
    long step = full && full[0] == '1' ? 1 : 9;
    sweep_step("convert", op_convert, &c, IQS_OK, nomem_only, 1, check_convert, step, &r);
    assert_true(r.allocs >= 10);
    tu_rmtree(dir);
}

/* Injected write / fsync / rename failures: the converter reports
 * IQS_E_IO, the previous OUT survives, no temporary is left. Returns the
 * number of runs with an injected failure. */
static long io_sweep(const char *name, int kind, int err, op_fn op, void *ctx,
                     void (*check)(void *, int), int ok_status, int io_status)
{
    long runs = 0, okays = 0;
    for (long n = 1;; n++) {
        int fds = count_fds();
        fi.io_kind = kind;
        fi.io_count = 0;
        fi.io_failed = 0;
        fi.io_fail_at = n;
        fi.io_errno = err;
        int st = op(ctx);
        fi.io_kind = 0;
        assert_int_equal(count_fds(), fds);
        check(ctx, st);
        if (!fi.io_failed) {
            assert_int_equal(st, ok_status);
            break;
        }
        runs++;
        if (st == ok_status)
            okays++; /* e.g. the best-effort fsync of the folder */
        else
            assert_int_equal(st, io_status);
    }
    print_message("%-22s %ld injected failures: %ld reported, %ld after the rename "
                  "(best effort, output complete)\n",
                  name, runs, runs - okays, okays);
    return runs;
}

static void test_io_convert_injected(void **state)
{
    (void)state;
    conv_ctx c;
    const char *dir = tu_mkdtemp();
    conv_setup(&c, dir);
    if (!tu_exists(c.in))
        skip();
    static const char orig[] = "the previous model file";
    c.orig = orig;
    c.orig_n = sizeof orig;
    write_file(c.out, orig, sizeof orig);
    /* Every write call (a big file is written in several), then fsync
     * and rename. */
    assert_true(io_sweep("convert write EIO", IO_WRITE, EIO, op_convert, &c, check_convert,
                         IQS_OK, IQS_E_IO) >= 1);
    assert_true(io_sweep("convert write ENOSPC", IO_WRITE, ENOSPC, op_convert, &c,
                         check_convert, IQS_OK, IQS_E_IO) >= 1);
    assert_true(io_sweep("convert fsync", IO_FSYNC, EIO, op_convert, &c, check_convert,
                         IQS_OK, IQS_E_IO) >= 1);
    assert_true(io_sweep("convert rename", IO_RENAME, EXDEV, op_convert, &c, check_convert,
                         IQS_OK, IQS_E_IO) == 1);
    tu_rmtree(dir);
}

/* ---------------------------------------------------------------- XMP */

static const char xmp_orig[] =
    "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
    " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
    "  <rdf:Description rdf:about=\"\"\n"
    "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
    "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
    "   xmp:Rating=\"2\">\n"
    "   <dc:subject><rdf:Bag><rdf:li>kept</rdf:li></rdf:Bag></dc:subject>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    "<?xpacket end=\"w\"?>";

typedef struct xmp_ctx {
    char dir[1024], path[1100];
    int exists;     /* a sidecar exists before each run */
    int extra;      /* other files in dir that must stay (filler) */
    char err[256];
} xmp_ctx;

static int op_xmp(void *p)
{
    xmp_ctx *c = p;
    xmp_update u = {XMP_PICK_REJECTED, -1};
    int created = -1;
    c->err[0] = '\0';
    xmp_status st = xmp_update_file(c->path, &u, 0, &created, c->err, sizeof c->err);
    if (st != XMP_OK)
        assert_true(c->err[0] != '\0');
    return st;
}

static void check_xmp(void *p, int st)
{
    xmp_ctx *c = p;
    char names[2048];
    int n = tu_list_dir(c->dir, names, sizeof names);
    size_t got = 0;
    char *now = tu_exists(c->path) ? slurp(c->path, &got) : NULL;
    if (st == XMP_OK) {
        assert_non_null(now);
        /* merged: the new values are in, the rest kept */
        assert_non_null(memmem(now, got, "PickLabel=\"1\"", 13));
        if (c->exists)
            assert_non_null(memmem(now, got, "<rdf:li>kept</rdf:li>", 21));
        if (n != 1 + c->extra)
            fail_msg("after success the folder holds: %s", names);
        if (c->exists)
            write_file(c->path, xmp_orig, sizeof xmp_orig - 1);
        else
            unlink(c->path);
    } else if (c->exists) {
        assert_non_null(now);
        assert_int_equal(got, sizeof xmp_orig - 1);
        assert_memory_equal(now, xmp_orig, got);
        if (n != 1 + c->extra)
            fail_msg("status %d, the folder holds: %s", st, names);
    } else {
        assert_null(now);
        if (n != c->extra)
            fail_msg("status %d, the folder holds: %s", st, names);
    }
    free(now);
}

static const int xmp_nomem[] = {XMP_E_NOMEM, XMP_E_IO};

static void test_alloc_xmp(void **state)
{
    (void)state;
    xmp_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.dir, sizeof c.dir, "%s", tu_mkdtemp());
    snprintf(c.path, sizeof c.path, "%s/photo.jpg.xmp", c.dir);
    sweep_res r;
    c.exists = 1;
    write_file(c.path, xmp_orig, sizeof xmp_orig - 1);
    sweep("xmp_update_file", op_xmp, &c, XMP_OK, xmp_nomem, 2, check_xmp, &r);
    assert_true(r.allocs >= 1);
    c.exists = 0;
    unlink(c.path);
    sweep("xmp_update_file new", op_xmp, &c, XMP_OK, xmp_nomem, 2, check_xmp, &r);
    tu_rmtree(c.dir);
}

static void test_io_xmp_injected(void **state)
{
    (void)state;
    xmp_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.dir, sizeof c.dir, "%s", tu_mkdtemp());
    snprintf(c.path, sizeof c.path, "%s/photo.jpg.xmp", c.dir);
    c.exists = 1;
    write_file(c.path, xmp_orig, sizeof xmp_orig - 1);
    assert_true(io_sweep("xmp write ENOSPC", IO_WRITE, ENOSPC, op_xmp, &c, check_xmp, XMP_OK,
                         XMP_E_IO) >= 1);
    assert_true(io_sweep("xmp fsync", IO_FSYNC, EIO, op_xmp, &c, check_xmp, XMP_OK,
                         XMP_E_IO) >= 1);
    assert_true(io_sweep("xmp rename", IO_RENAME, EIO, op_xmp, &c, check_xmp, XMP_OK,
                         XMP_E_IO) == 1);
    tu_rmtree(c.dir);
}

/* ------------------------------------------- real full / read-only disks */

static char g_mnt[1024];

static int mount_small(const char *dir, const char *size)
{
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=0755", size);
    return mount("tmpfs", dir, "tmpfs", 0, opts);
}

static int remount_ro(const char *dir)
{
    return mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL);
}

static int teardown_mount(void **state)
{
    (void)state;
    if (g_mnt[0]) {
        umount2(g_mnt, MNT_DETACH);
        rmdir(g_mnt);
        g_mnt[0] = '\0';
    }
    return 0;
}

/* A 1 MiB tmpfs under a fresh folder; skips when mounting is refused. */
static void mount_or_skip(const char *size)
{
    const char *base = tu_mkdtemp();
    snprintf(g_mnt, sizeof g_mnt, "%s", base);
    if (mount_small(g_mnt, size) != 0) {
        print_message("mount(tmpfs) refused (%s): skipped (needs root)\n", strerror(errno));
        rmdir(g_mnt);
        g_mnt[0] = '\0';
        skip();
    }
}

/* Fills the file system until write reports ENOSPC. */
static void fill_up(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static char chunk[4096];
    long w;
    do {
        w = syscall(SYS_write, fd, chunk, sizeof chunk);
    } while (w > 0);
    assert_int_equal(errno, ENOSPC);
    /* Byte by byte into the last page. */
    while (syscall(SYS_write, fd, chunk, 1) == 1) {
    }
    close(fd);
}

static void test_full_disk(void **state)
{
    (void)state;
    mount_or_skip("1m");
    conv_ctx c;
    conv_setup(&c, g_mnt);
    if (!tu_exists(c.in))
        skip();
    static const char orig[] = "the previous model file";
    c.orig = orig;
    c.orig_n = sizeof orig;
    write_file(c.out, orig, sizeof orig);
    int st = op_convert(&c);
    assert_int_equal(st, IQS_E_IO);
    assert_non_null(strstr(c.msg, strerror(ENOSPC)));
    check_convert(&c, st);
    print_message("convert on a full 1 MiB tmpfs: %s\n", c.msg);

    /* XMP: an existing sidecar, then the disk filled to the last byte. */
    xmp_ctx x;
    memset(&x, 0, sizeof x);
    snprintf(x.dir, sizeof x.dir, "%s", g_mnt);
    snprintf(x.path, sizeof x.path, "%s/photo.jpg.xmp", g_mnt);
    unlink(c.out);
    write_file(x.path, xmp_orig, sizeof xmp_orig - 1);
    fill_up(g_mnt);
    x.exists = 1;
    x.extra = 1; /* the filler */
    st = op_xmp(&x);
    assert_int_equal(st, XMP_E_IO);
    check_xmp(&x, st);
    print_message("xmp on a full tmpfs: %s\n", x.err);
    teardown_mount(NULL);
}

static void test_read_only(void **state)
{
    (void)state;
    mount_or_skip("8m");
    conv_ctx c;
    conv_setup(&c, g_mnt);
    if (!tu_exists(c.in))
        skip();
    static const char orig[] = "the previous model file";
    c.orig = orig;
    c.orig_n = sizeof orig;
    write_file(c.out, orig, sizeof orig);
    xmp_ctx x;
    memset(&x, 0, sizeof x);
    snprintf(x.dir, sizeof x.dir, "%s", g_mnt);
    snprintf(x.path, sizeof x.path, "%s/photo.jpg.xmp", g_mnt);
    write_file(x.path, xmp_orig, sizeof xmp_orig - 1);
    x.exists = 1;
    x.extra = 1; /* model.iqsw */
    c.orig_n = sizeof orig;
    assert_int_equal(remount_ro(g_mnt), 0);

    int st = op_convert(&c);
    assert_int_equal(st, IQS_E_IO);
    assert_non_null(strstr(c.msg, strerror(EROFS)));
    /* check_convert expects OUT alone in the folder: the sidecar is there
     * too, so check by hand. */
    char names[2048];
    tu_list_dir(c.dir, names, sizeof names);
    if (strstr(names, "model.iqsw.tmp"))
        fail_msg("temporary file left behind: %s", names);
    size_t got = 0;
    char *now = slurp(c.out, &got);
    assert_int_equal(got, sizeof orig);
    assert_memory_equal(now, orig, got);
    free(now);
    print_message("convert to a read-only tmpfs: %s\n", c.msg);

    st = op_xmp(&x);
    assert_int_equal(st, XMP_E_IO);
    check_xmp(&x, st);
    print_message("xmp on a read-only tmpfs: %s\n", x.err);
    teardown_mount(NULL);
}

/* ----------------------------------- a weights file truncated while open */

static int copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *p = slurp(from, &n);
    if (!p)
        return -1;
    write_file(to, p, n);
    free(p);
    return 0;
}

/* In a child: open (mmap or read), truncate the file to 4 KiB, classify.
 * Exit 0 when classify worked, 3 when it failed cleanly. */
static void child_truncate(const char *path, unsigned flags)
{
    iqs_model *m = NULL;
    iqs_diag d;
    /* cmocka (and ASan) catch SIGBUS; the point here is the default. */
    signal(SIGBUS, SIG_DFL);
    if (iqs_model_open(path, flags, &m, &d) != IQS_OK)
        _exit(2);
    if (truncate(path, 4096) != 0)
        _exit(2);
    size_t wsz = iqs_workspace_size(m);
    void *ws = malloc(wsz);
    iqs_result r;
    iqs_status st = iqs_classify(m, &g_img, ws, wsz, &r);
    free(ws);
    iqs_model_close(m);
    _exit(st == IQS_OK ? 0 : 3);
}

static int run_child(const char *path, unsigned flags, int *sig)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_truncate(path, flags);
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    *sig = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static void test_truncated_while_mapped(void **state)
{
    (void)state;
    char src[1024], dst[1100];
    snprintf(src, sizeof src, "%s/v3_224_tf2_c10.iqsw", models());
    if (!tu_exists(src))
        skip();
    load_photo();
    const char *dir = tu_mkdtemp();
    snprintf(dst, sizeof dst, "%s/m.iqsw", dir);

    /* Read path: the weights are private memory; truncation is harmless. */
    assert_int_equal(copy_file(src, dst), 0);
    int sig = 0;
    int rc = run_child(dst, IQS_OPEN_NO_MMAP, &sig);
    assert_int_equal(sig, 0);
    assert_int_equal(rc, 0);

    /* mmap: the next access to a page past the new end raises SIGBUS. */
    assert_int_equal(copy_file(src, dst), 0);
    rc = run_child(dst, 0, &sig);
    print_message("mapped weights truncated while open: %s %d\n",
                  sig ? "killed by signal" : "exit status", sig ? sig : rc);
    assert_int_equal(sig, SIGBUS);

    /* And a file changed before open is refused: truncated, then one
     * flipped data byte. */
    iqs_model *m = NULL;
    iqs_diag d;
    assert_int_equal(iqs_model_open(dst, 0, &m, &d), IQS_E_FORMAT);
    assert_null(m);
    assert_int_equal(copy_file(src, dst), 0);
    int fd = open(dst, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 1 << 20), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, 1 << 20), 1);
    close(fd);
    assert_int_equal(iqs_model_open(dst, 0, &m, &d), IQS_E_CHECKSUM);
    assert_null(m);
    tu_rmtree(dir);
}

static int teardown_all(void **state)
{
    (void)state;
    iqs_image_free(&g_img);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_model_open),
        cmocka_unit_test(test_alloc_image_assess),
        cmocka_unit_test(test_alloc_convert),
        cmocka_unit_test(test_io_convert_injected),
        cmocka_unit_test(test_alloc_xmp),
        cmocka_unit_test(test_io_xmp_injected),
        cmocka_unit_test_teardown(test_full_disk, teardown_mount),
        cmocka_unit_test_teardown(test_read_only, teardown_mount),
        cmocka_unit_test(test_truncated_while_mapped),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, teardown_all);
}
