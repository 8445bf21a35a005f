/*
 * iqs_threads (layer: api): the ready-made executor for
 * iqs_classify_parallel, a team of n - 1 pthreads plus the caller. The
 * library never starts threads on its own; this team exists only between
 * the caller's iqs_threads_create and iqs_threads_destroy.
 *
 * One run: the caller publishes the job under the mutex and bumps a
 * generation number, the workers wake on the condition variable, every
 * thread (the caller included) claims task indices from a shared counter,
 * and the caller sleeps until the last task has returned. A run is one
 * whole forward pass, so the wake-up costs once per image, not per layer.
 * Concurrent run calls on one team are serialised by a second mutex, which
 * destroy also takes, so a destroy racing with another thread's run waits
 * for that run to end. Absent from MALLOC=0 and STDIO=0 (firmware) builds.
 */
#include "iqs/iqs.h"

#if IQS_MALLOC && IQS_STDIO
#include <pthread.h>
#include <stdlib.h>

struct iqs_threads {
    int n;                  /* width: workers + the calling thread      */
    int inited;             /* how many of the 4 sync objects exist     */
    int started;            /* workers actually running                 */
    pthread_t *tid;
    pthread_mutex_t run_mu; /* one run at a time                        */
    pthread_mutex_t mu;     /* guards everything below                  */
    pthread_cond_t wake, idle;
    unsigned long gen;      /* bumped per run                           */
    int stop;
    iqs_task_fn task;
    void *arg;
    int ntasks, next, finished;
};

/* Claims and runs tasks of the current job until none is left; called
 * with mu held, returns with mu held. */
static void drain(iqs_threads *t)
{
    while (t->next < t->ntasks) {
        const int i = t->next++;
        iqs_task_fn fn = t->task;
        void *arg = t->arg;
        pthread_mutex_unlock(&t->mu);
        fn(arg, i);
        pthread_mutex_lock(&t->mu);
        if (++t->finished == t->ntasks)
            pthread_cond_signal(&t->idle);
    }
}

static void *worker(void *p)
{
    iqs_threads *t = p;
    unsigned long seen = 0;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->stop && t->gen == seen)
            pthread_cond_wait(&t->wake, &t->mu);
        if (t->stop)
            break;
        seen = t->gen;
        drain(t);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void team_run(void *ctx, int n, iqs_task_fn task, void *arg)
{
    iqs_threads *t = ctx;
    if (n <= 0)
        return;
    pthread_mutex_lock(&t->run_mu);
    pthread_mutex_lock(&t->mu);
    t->task = task;
    t->arg = arg;
    t->ntasks = n;
    t->next = 0;
    t->finished = 0;
    t->gen++;
    pthread_cond_broadcast(&t->wake);
    drain(t);
    while (t->finished < t->ntasks)
        pthread_cond_wait(&t->idle, &t->mu);
    t->ntasks = 0;
    pthread_mutex_unlock(&t->mu);
    pthread_mutex_unlock(&t->run_mu);
}

/* Waits for a run in progress, stops and joins the workers that started,
 * frees the team (also a partly built one). */
static void team_free(iqs_threads *t)
{
    if (t->inited == 4) {
        pthread_mutex_lock(&t->run_mu);
        pthread_mutex_lock(&t->mu);
        t->stop = 1;
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->mu);
        for (int k = 0; k < t->started; k++)
            pthread_join(t->tid[k], NULL);
        pthread_mutex_unlock(&t->run_mu);
    }
    if (t->inited >= 4)
        pthread_cond_destroy(&t->idle);
    if (t->inited >= 3)
        pthread_cond_destroy(&t->wake);
    if (t->inited >= 2)
        pthread_mutex_destroy(&t->mu);
    if (t->inited >= 1)
        pthread_mutex_destroy(&t->run_mu);
    free(t->tid);
    free(t);
}

IQS_API iqs_status iqs_threads_create(int n, iqs_threads **out)
{
    if (!out)
        return IQS_E_ARG;
    *out = NULL;
    if (n < 1 || n > IQS_MAX_WIDTH)
        return IQS_E_ARG;
    iqs_threads *t = calloc(1, sizeof *t);
    if (!t)
        return IQS_E_NOMEM;
    t->n = n;
    t->tid = calloc((size_t)n, sizeof *t->tid);
    if (!t->tid || pthread_mutex_init(&t->run_mu, NULL) != 0)
        goto fail;
    t->inited = 1;
    if (pthread_mutex_init(&t->mu, NULL) != 0)
        goto fail;
    t->inited = 2;
    if (pthread_cond_init(&t->wake, NULL) != 0)
        goto fail;
    t->inited = 3;
    if (pthread_cond_init(&t->idle, NULL) != 0)
        goto fail;
    t->inited = 4;
    for (int k = 0; k < n - 1; k++) {
        if (pthread_create(&t->tid[k], NULL, worker, t) != 0)
            goto fail;
        t->started++;
    }
    *out = t;
    return IQS_OK;
fail:
    team_free(t); /* joins the workers that did start */
    return IQS_E_NOMEM;
}

IQS_API void iqs_threads_executor(iqs_threads *t, iqs_executor *out)
{
    if (!out)
        return;
    out->width = t ? t->n : 0;
    out->run = t ? team_run : NULL;
    out->ctx = t;
}

IQS_API void iqs_threads_destroy(iqs_threads *t)
{
    if (t)
        team_free(t);
}
#endif /* IQS_MALLOC && IQS_STDIO */
