/*
 * Tests of lib/io: mapping and reading whole files, both paths (mmap and
 * IQS_OPEN_NO_MMAP), and every refusal (empty, missing, directory, not a
 * regular file, over the size limit) with its status and a diag message
 * naming the path. Files are created in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tools/convert_pb/convert.h"
#include "../tools/iqs/xmp.h"
#include "io/io.h"
#include "iqs/iqs.h"
#include "testutil.h"

static const char *g_dir;
static uint8_t g_content[10007]; /* odd size: not a page multiple */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    g_dir = tu_mkdtemp();
    for (size_t i = 0; i < sizeof g_content; i++)
        g_content[i] = (uint8_t)(i * 131 + 7);
    write_file(tu_path(g_dir, "data.bin"), g_content, sizeof g_content);
    write_file(tu_path(g_dir, "empty.bin"), NULL, 0);
    mkdir(tu_path(g_dir, "subdir"), 0700);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_dir);
    return 0;
}

static void test_map_normal(void **state)
{
    (void)state;
    const unsigned modes[2] = {0, IQS_OPEN_NO_MMAP};
    for (int k = 0; k < 2; k++) {
        iqs_mapping m;
        iqs_diag diag;
        assert_int_equal(iqs_io_map(tu_path(g_dir, "data.bin"), modes[k], UINT64_MAX, &m, &diag), IQS_OK);
        assert_int_equal(diag.status, IQS_OK);
        assert_int_equal(m.size, sizeof g_content);
        assert_memory_equal(m.data, g_content, sizeof g_content);
        assert_true(((uintptr_t)m.data & 63) == 0);
        if (modes[k] & IQS_OPEN_NO_MMAP) {
            assert_int_equal(m.is_mmap, 0);
            assert_ptr_equal(m.owned, m.data);
        } else {
            assert_int_equal(m.is_mmap, 1);
            assert_null(m.owned);
        }
        iqs_io_unmap(&m);
        assert_null(m.data);
        assert_int_equal(m.size, 0);
        iqs_io_unmap(&m); /* twice: no-op */
    }
    iqs_io_unmap(NULL);
}

static void test_read_all(void **state)
{
    (void)state;
    void *p;
    size_t n;
    iqs_diag diag;
    assert_int_equal(iqs_io_read_all(tu_path(g_dir, "data.bin"), sizeof g_content, &p, &n, &diag), IQS_OK);
    assert_int_equal(n, sizeof g_content);
    assert_memory_equal(p, g_content, n);
    assert_true(((uintptr_t)p & 63) == 0);
    free(p);
    /* One byte under the size: refused before reading. */
    assert_int_equal(iqs_io_read_all(tu_path(g_dir, "data.bin"), sizeof g_content - 1, &p, &n, &diag), IQS_E_LIMIT);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_non_null(strstr(diag.msg, "data.bin"));
    assert_int_equal(iqs_io_read_all(tu_path(g_dir, "empty.bin"), 100, &p, &n, &diag), IQS_E_IO);
    assert_null(p);
    assert_int_equal(iqs_io_read_all(NULL, 100, &p, &n, NULL), IQS_E_ARG);
    assert_int_equal(iqs_io_read_all(tu_path(g_dir, "data.bin"), 100, NULL, &n, NULL), IQS_E_ARG);
}

static void expect_fail(const char *path, unsigned flags, uint64_t max,
                        iqs_status want, const char *needle)
{
    iqs_mapping m;
    iqs_diag diag;
    memset(&m, 0xAB, sizeof m);
    assert_int_equal(iqs_io_map(path, flags, max, &m, &diag), want);
    assert_int_equal(diag.status, want);
    assert_null(m.data);
    assert_null(m.owned);
    assert_int_equal(m.size, 0);
    if (needle && !strstr(diag.msg, needle))
        fail_msg("diag \"%s\" lacks \"%s\"", diag.msg, needle);
    print_message("%s\n", diag.msg);
    iqs_io_unmap(&m); /* zeroed on failure: harmless */
}

static void test_refusals(void **state)
{
    (void)state;
    for (unsigned flags = 0; flags <= IQS_OPEN_NO_MMAP; flags += IQS_OPEN_NO_MMAP) {
        expect_fail(tu_path(g_dir, "empty.bin"), flags, UINT64_MAX, IQS_E_IO, "empty.bin");
        expect_fail(tu_path(g_dir, "missing.bin"), flags, UINT64_MAX, IQS_E_IO, "No such file");
        expect_fail(tu_path(g_dir, "subdir"), flags, UINT64_MAX, IQS_E_IO, "Is a directory");
        expect_fail(tu_path(g_dir, "data.bin"), flags, 1000, IQS_E_LIMIT, "10007");
        expect_fail("/dev/null", flags, UINT64_MAX, IQS_E_IO, "not a regular file");
    }
    /* Exactly at the limit is accepted. */
    iqs_mapping m;
    assert_int_equal(iqs_io_map(tu_path(g_dir, "data.bin"), 0, sizeof g_content, &m, NULL), IQS_OK);
    iqs_io_unmap(&m);
    /* NULL arguments. */
    assert_int_equal(iqs_io_map(NULL, 0, 1, &m, NULL), IQS_E_ARG);
    assert_int_equal(iqs_io_map("x", 0, 1, NULL, NULL), IQS_E_ARG);
    /* Empty allowed on request (internal flag). */
    assert_int_equal(iqs_io_map(tu_path(g_dir, "empty.bin"), IQS_IO_EMPTY_OK, 10, &m, NULL), IQS_OK);
    assert_null(m.data);
    assert_int_equal(m.size, 0);
    iqs_io_unmap(&m);
}

static void test_unreadable(void **state)
{
    (void)state;
    const char *p = tu_path(g_dir, "secret.bin");
    write_file(p, "x", 1);
    assert_int_equal(chmod(p, 0), 0);
    if (geteuid() == 0) {
        print_message("running as root: permission test skipped\n");
        skip();
    }
    expect_fail(p, 0, UINT64_MAX, IQS_E_IO, "Permission denied");
}

static void test_long_path_message(void **state)
{
    (void)state;
    char path[600];
    size_t n = (size_t)snprintf(path, sizeof path, "%s/", g_dir);
    while (n < 400)
        path[n++] = 'a';
    strcpy(path + n, "/tail-name.bin");
    iqs_diag diag;
    iqs_mapping m;
    assert_int_equal(iqs_io_map(path, 0, UINT64_MAX, &m, &diag), IQS_E_IO);
    /* The tail (file name) survives the 192-byte message. */
    assert_non_null(strstr(diag.msg, "tail-name.bin"));
    assert_non_null(strstr(diag.msg, "..."));
    print_message("%s\n", diag.msg);
}

/* A FIFO in place of a file: refused at once, never a wait for a writer
 * (the library's reader, image loading, the converter's input and the
 * CLI's sidecar reader). An alarm turns a regression into a failed run
 * instead of a hang. */
static void test_fifo(void **state)
{
    (void)state;
    char fifo[1024];
    snprintf(fifo, sizeof fifo, "%s", tu_path(g_dir, "fifo.jpg"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    for (unsigned flags = 0; flags <= IQS_OPEN_NO_MMAP; flags += IQS_OPEN_NO_MMAP)
        expect_fail(fifo, flags, UINT64_MAX, IQS_E_IO, "not a regular file");

    iqs_image img;
    iqs_diag d;
    assert_int_equal(iqs_image_load(fifo, NULL, &img, &d), IQS_E_IO);
    assert_null(img.data);

    cpb_options o;
    cpb_err e;
    memset(&o, 0, sizeof o);
    memset(&e, 0, sizeof e);
    o.in_path = fifo;
    o.out_path = tu_path(g_dir, "fifo_out.iqsw");
    o.quiet = 1;
    o.out = stdout;
    assert_int_equal(cpb_convert(&o, &e), IQS_E_IO);
    assert_non_null(strstr(e.msg, "not a regular file"));
    assert_int_equal(access(o.out_path, F_OK), -1);

    char xmp[1024], err[256];
    snprintf(xmp, sizeof xmp, "%s", tu_path(g_dir, "fifo.xmp"));
    assert_int_equal(mkfifo(xmp, 0600), 0);
    xmp_update u;
    memset(&u, 0, sizeof u);
    u.pick_label = 1;
    assert_int_equal(xmp_update_file(xmp, &u, 0, NULL, err, sizeof err), XMP_E_IO);
    assert_non_null(strstr(err, "not a regular file"));
    alarm(0);
    unlink(fifo);
    unlink(xmp);
}

/* The converter's temporary file: a planted OUT.tmp symlink or file is
 * neither followed nor overwritten nor removed (the temporary name is
 * unique and created exclusively). */
static void test_convert_tmp_name(void **state)
{
    (void)state;
    char in[1024], out[1024], planted[1100], victim[1024];
    snprintf(in, sizeof in, "%s/tests/fuzz/corpus/pb/v3_299_tf1_c3.skel.pb", tu_root_dir());
    if (access(in, R_OK) != 0)
        fail_msg("missing %s", in);
    snprintf(out, sizeof out, "%s", tu_path(g_dir, "conv.iqsw"));
    snprintf(planted, sizeof planted, "%s.tmp", out);
    snprintf(victim, sizeof victim, "%s", tu_path(g_dir, "victim.txt"));
    static const char precious[] = "precious user data";
    for (int as_link = 1; as_link >= 0; as_link--) {
        write_file(victim, precious, sizeof precious - 1);
        if (as_link)
            assert_int_equal(symlink(victim, planted), 0);
        else
            write_file(planted, precious, sizeof precious - 1);
        cpb_options o;
        cpb_err e;
        memset(&o, 0, sizeof o);
        memset(&e, 0, sizeof e);
        o.in_path = in;
        o.out_path = out;
        o.quiet = 1;
        o.out = stdout;
        if (cpb_convert(&o, &e) != IQS_OK)
            fail_msg("convert: %s", e.msg);
        const char *check = as_link ? victim : planted;
        size_t n = 0;
        char *now = tu_read_file(check, &n);
        assert_non_null(now);
        assert_int_equal(n, sizeof precious - 1);
        assert_memory_equal(now, precious, n);
        free(now);
        struct stat st;
        assert_int_equal(lstat(out, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_true(st.st_size > 1000000);
        unlink(out);
        unlink(planted);
        unlink(victim);
    }
}

/* iqs_assess_file reports what iqs_image_load reports, file named. */
static void test_assess_file_statuses(void **state)
{
    (void)state;
    char empty[1024], junk[1024];
    snprintf(empty, sizeof empty, "%s", tu_path(g_dir, "empty.jpg"));
    snprintf(junk, sizeof junk, "%s", tu_path(g_dir, "junk.jpg"));
    write_file(empty, "", 0);
    static const char junk_bytes[] = "\xff\xd8not a jpeg at all";
    write_file(junk, junk_bytes, sizeof junk_bytes - 1);
    const char *files[2] = { empty, junk };
    for (int k = 0; k < 2; k++) {
        iqs_image img;
        iqs_assessment a;
        iqs_diag d1, d2;
        const iqs_status s1 = iqs_image_load(files[k], NULL, &img, &d1);
        const iqs_status s2 = iqs_assess_file(files[k], NULL, &a, &d2);
        assert_int_equal(s1, IQS_E_IMAGE);
        assert_int_equal(s2, s1);
        assert_string_equal(d2.msg, d1.msg);
        assert_non_null(strstr(d2.msg, k ? "junk.jpg" : "empty.jpg"));
    }
    unlink(empty);
    unlink(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_normal),
        cmocka_unit_test(test_read_all),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_long_path_message),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_convert_tmp_name),
        cmocka_unit_test(test_assess_file_statuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
