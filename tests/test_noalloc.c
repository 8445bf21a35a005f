/*
 * iqs_classify performs no heap allocation. This binary interposes malloc,
 * calloc, realloc and free (glibc's __libc_* do the work) and counts calls
 * made while a classify runs. A first, uncounted call lets OpenBLAS set up
 * its own buffers (its internals are outside the contract).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iqs/iqs.h"
#include "testutil.h"

static volatile int counting;
static volatile long calls;

#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer the allocator belongs to the sanitizer: count
 * through its hooks instead of replacing malloc. */
/* Declared here: gcc ships no <sanitizer/allocator_interface.h>. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p, (void)n;
    if (counting)
        calls++;
}
static void on_free(const volatile void *p)
{
    if (counting && p)
        calls++;
}
static void install_hooks(void)
{
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    if (counting)
        calls++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (counting)
        calls++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (counting)
        calls++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (counting && p)
        calls++;
    __libc_free(p);
}
static void install_hooks(void) {}
#endif

static void test_classify_allocates_nothing(void **state)
{
    (void)state;
    install_hooks();
    iqs_model *m = NULL;
    iqs_diag d;
    const char *path = tu_path(tu_models_dir(), "irv2_224_tf2_c3.iqsw");
    if (iqs_model_open(path, 0, &m, &d) != IQS_OK)
        fail_msg("%s: %s", path, d.msg);
    iqs_image img;
    const char *photo = tu_path(tu_path(tu_shared_dir(), "testdata/photos"), "jxl_coast.jpg");
    assert_int_equal(iqs_image_load(photo, NULL, &img, &d), IQS_OK);
    size_t wsz = iqs_workspace_size(m);
    void *ws = malloc(wsz);
    iqs_result r1, r2;
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &r1), IQS_OK); /* warm-up */
    calls = 0;
    counting = 1;
    iqs_status st = iqs_classify(m, &img, ws, wsz, &r2);
    counting = 0;
    assert_int_equal(st, IQS_OK);
    assert_int_equal(calls, 0);
    assert_memory_equal(r1.probs, r2.probs, sizeof r1.probs);
    /* the counter works: decoding does allocate */
    iqs_image img2;
    counting = 1;
    st = iqs_image_load(photo, NULL, &img2, &d);
    counting = 0;
    assert_int_equal(st, IQS_OK);
    assert_true(calls > 0);
    iqs_image_free(&img2);
    iqs_image_free(&img);
    free(ws);
    iqs_model_close(m);
}

/* An executor that runs the tasks one after another on the caller. */
static void run_in_turn(void *ctx, int n, iqs_task_fn task, void *arg)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        task(arg, i);
}

/* iqs_classify_parallel allocates nothing either: with a caller executor,
 * and with an iqs_threads team once it exists (the team allocates only in
 * iqs_threads_create). */
static void test_parallel_allocates_nothing(void **state)
{
    (void)state;
    install_hooks();
    iqs_model *m = NULL;
    iqs_diag d;
    const char *path = tu_path(tu_models_dir(), "irv2_224_tf2_c3.iqsw");
    if (iqs_model_open(path, 0, &m, &d) != IQS_OK)
        fail_msg("%s: %s", path, d.msg);
    static uint8_t px[160 * 120 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7u + (i >> 5));
    const iqs_image img = { px, 160, 120, 160 * 3, IQS_PIX_RGB8 };
    iqs_threads *team = NULL;
    assert_int_equal(iqs_threads_create(2, &team), IQS_OK);
    iqs_executor ex[2] = { { 3, run_in_turn, NULL }, { 0, NULL, NULL } };
    iqs_threads_executor(team, &ex[1]);
    for (int k = 0; k < 2; k++) {
        size_t wsz = iqs_workspace_size_parallel(m, ex[k].width);
        void *ws = malloc(wsz);
        assert_non_null(ws);
        iqs_result r1, r2;
        assert_int_equal(iqs_classify_parallel(m, &img, &ex[k], ws, wsz, &r1), IQS_OK);
        calls = 0;
        counting = 1;
        iqs_status st = iqs_classify_parallel(m, &img, &ex[k], ws, wsz, &r2);
        counting = 0;
        assert_int_equal(st, IQS_OK);
        assert_int_equal(calls, 0);
        assert_memory_equal(r1.probs, r2.probs, sizeof r1.probs);
        free(ws);
    }
    iqs_threads_destroy(team);
    iqs_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_allocates_nothing),
        cmocka_unit_test(test_parallel_allocates_nothing),
    };
    return cmocka_run_group_tests_name("noalloc", tests, NULL, NULL);
}
