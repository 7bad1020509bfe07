/*
 * comm_watch.c — the bounded wait on collectives (comm_watch.h): a
 * watchdog thread that ends this rank when one collective has run longer
 * than the limit, so that a peer that stopped (SIGSTOP, a hung file
 * system, a lost network) never holds the job forever.  Open MPI's runtime
 * ends the job when a rank dies; a rank that lives but never answers is
 * what this catches.  Also the time spent in collectives and the bytes
 * they gathered.
 *
 * The main thread marks each collective's start and end (two atomic
 * stores); the watchdog wakes every quarter second and compares the clock
 * with the deadline.  It does not call MPI (the library runs at
 * MPI_THREAD_FUNNELED): it prints one line and ends the process, and
 * mpirun, seeing a rank exit non-zero, ends the others.
 */
#include "comm_watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double limit_s;          /* 0: no limit (the watchdog not started) */
static int watch_rank;
static char watch_host[64];
static double entered, spent;   /* main thread: the collective's start, total */
static double moved;            /* bytes the collectives left here */
static _Atomic long long deadline_ms; /* 0: no collective in flight */
static _Atomic(const char *) in_call;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *watch(void *arg)
{
    (void)arg;
    const struct timespec tick = {0, 250 * 1000 * 1000};
    for (;;) {
        nanosleep(&tick, NULL);
        long long d = atomic_load(&deadline_ms);
        if (d && now() * 1e3 > (double)d) {
            fprintf(stderr, "cnn: rank %d on %s: %s waited %.0f s for the other ranks: one of "
                    "them stopped, hung or lost its network (CNN_MPI_TIMEOUT sets the limit "
                    "in seconds, 0 for none)\n", watch_rank, watch_host,
                    atomic_load(&in_call), limit_s);
            fflush(stderr);
            _exit(1);
        }
    }
    return NULL;
}

int cnn_comm_watch_limit(double *limit)
{
    const char *s = getenv("CNN_MPI_TIMEOUT");
    *limit = CNN_COMM_WATCH_DEFAULT_S;
    if (!s || !*s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= 0 && v <= 1e6))
        return -1;
    *limit = v;
    return 0;
}

void cnn_comm_watch_start(double limit, int rank, const char *host)
{
    limit_s = limit;
    watch_rank = rank;
    snprintf(watch_host, sizeof watch_host, "%s", host);
    pthread_t t;
    pthread_attr_t attr;
    if (limit <= 0 || pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, watch, NULL) != 0)
        limit_s = 0; /* no thread: collectives wait as MPI does */
    pthread_attr_destroy(&attr);
}

void cnn_comm_watch_enter(const char *call, size_t bytes)
{
    entered = now();
    moved += (double)bytes;
    if (limit_s > 0) {
        atomic_store(&in_call, call);
        atomic_store(&deadline_ms, (long long)((entered + limit_s) * 1e3));
    }
}

void cnn_comm_watch_leave(void)
{
    if (limit_s > 0)
        atomic_store(&deadline_ms, 0);
    spent += now() - entered;
}

double cnn_comm_seconds(void) { return spent; }
double cnn_comm_bytes(void) { return moved; }
