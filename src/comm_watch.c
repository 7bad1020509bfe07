/*
 * comm_watch.c — the bounded wait on collectives (comm_watch.h): a
 * watchdog thread that ends this rank when one collective has run longer
 * than the limit, so that a peer that stopped (SIGSTOP, a hung file
 * system, a lost network) never holds the job forever.  Open MPI's runtime
 * ends the job when a rank dies; a rank that lives but never answers is
 * what this catches.  Also the time spent in collectives and the bytes
 * they gathered.
 *
 * The main thread marks each collective's start and end (a few atomic
 * stores); the watchdog wakes every quarter second and adds the time it
 * saw pass to the collective's wait.  It does not call MPI (the library runs at
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
static _Atomic unsigned long seq;   /* collectives entered so far */
static _Atomic int in_flight;       /* one is running now */
static _Atomic(const char *) in_call;

#define TICK_S 0.25

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The watchdog counts only the time it saw pass: a gap of more than two
   ticks between its wake-ups means this process was stopped (Ctrl-Z, a
   batch system's suspend) and is counted as one tick, so a job paused
   and resumed as a whole is not ended; a rank whose peer stopped keeps
   counting. */
static void *watch(void *arg)
{
    (void)arg;
    const struct timespec tick = {0, (long)(TICK_S * 1e9)};
    unsigned long seen = 0;
    double waited = 0, before = now();
    for (;;) {
        nanosleep(&tick, NULL);
        double t = now(), dt = t - before;
        before = t;
        unsigned long s = atomic_load(&seq);
        if (!atomic_load(&in_flight) || s != seen) { /* none, or a new one */
            seen = s, waited = 0;
            continue;
        }
        waited += dt > 2 * TICK_S ? TICK_S : dt;
        if (waited > limit_s) {
            fprintf(stderr, "cnn: rank %d on %s: %s waited %.3g s for the other ranks: one "
                    "of them stopped, hung or lost its network (CNN_MPI_TIMEOUT sets the "
                    "limit in seconds, 0 for none)\n", watch_rank, watch_host,
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
    atomic_store(&in_call, call);
    atomic_fetch_add(&seq, 1);
    atomic_store(&in_flight, 1);
}

void cnn_comm_watch_leave(void)
{
    atomic_store(&in_flight, 0);
    spent += now() - entered;
}

double cnn_comm_seconds(void) { return spent; }
double cnn_comm_bytes(void) { return moved; }
