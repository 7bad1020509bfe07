/*
 * threads.h — thread count and core binding with hwloc: how many threads a
 * run uses by default (the physical cores, or OMP_NUM_THREADS), and pinning
 * each OpenMP thread to its own core.
 */
#ifndef CNN_THREADS_H
#define CNN_THREADS_H

#include <stddef.h>

typedef struct cnn_threads {
    void *topology;      /* hwloc_topology_t, NULL when hwloc failed */
    int threads;         /* threads to run */
    int cores;           /* physical cores (0 when unknown) */
    int packages;
    int pus;             /* hardware threads */
    int bind;            /* 1: pin thread i to core i mod cores */
    int bind_failed;     /* set by cnn_threads_bind when a bind failed */
    char desc[160];      /* "2 threads on 2 cores (1 package), bound one per core" */
} cnn_threads;

/* Resolve the thread count (requested > 0 wins, then OMP_NUM_THREADS, then
   the physical cores) and load the topology.  Never fails: without hwloc
   the threads run unbound and desc says so. */
void cnn_threads_open(cnn_threads *t, int requested, int bind);

/* Inside a parallel region: pin the calling thread (number tid) to its core.
   Returns 0 on success or when binding is off; -1 when it failed. */
int cnn_threads_bind(cnn_threads *t, int tid);

/* Inside a parallel region: give the calling thread back every CPU. */
void cnn_threads_unbind(cnn_threads *t);

void cnn_threads_close(cnn_threads *t);

#endif /* CNN_THREADS_H */
