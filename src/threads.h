/*
 * threads.h — thread count and core binding with hwloc: how many threads a
 * run uses (the count asked for, OMP_NUM_THREADS, or the physical cores),
 * capped at what the machine and the work can use, and pinning each OpenMP
 * thread to its own core.
 */
#ifndef CNN_THREADS_H
#define CNN_THREADS_H

#include <stddef.h>

/* A team never has more than CNN_THREADS_PER_PU threads per hardware
   thread the process may run on, nor more than OMP_THREAD_LIMIT; but up
   to CNN_THREADS_FLOOR threads are always allowed, so that a run made with
   that many threads on a larger machine can be repeated (or resumed) bit
   for bit on a smaller one. */
#define CNN_THREADS_PER_PU 4
#define CNN_THREADS_FLOOR 64

typedef struct cnn_threads {
    void *topology;      /* hwloc_topology_t, NULL when hwloc failed */
    int threads;         /* threads to run */
    int asked;           /* the count asked for, before any cap */
    int from_env;        /* 1 when asked came from OMP_NUM_THREADS */
    int limit;           /* cnn_threads_cap() when the team was set up */
    void *allowed;       /* hwloc_bitmap_t: the CPUs the process was
                            given when opened (taskset, a batch system's
                            cpuset, mpirun --bind-to); NULL: all */
    int cores;           /* physical cores with a CPU in allowed (0 when
                            unknown) */
    int machine_cores;   /* the machine's physical cores */
    int packages;
    int pus;             /* hardware threads */
    int bind;            /* 1: pin thread i to the (i mod cores)-th core
                            with a CPU in allowed */
    int bind_asked;      /* the bind argument of cnn_threads_open */
    int bind_failed;     /* set by cnn_threads_bind when a bind failed */
    char desc[160];      /* "2 threads, 2 cores (1 package, 2 PUs), bound one per core" */
} cnn_threads;

/* The most threads a team gets on this machine (see CNN_THREADS_PER_PU). */
int cnn_threads_cap(void);

/* Resolve the thread count (requested > 0 wins, then OMP_NUM_THREADS, then
   the physical cores), cap it at cnn_threads_cap() and load the topology.
   Returns CNN_OK, or CNN_ERR_ARG (message set) when requested is 0 and
   OMP_NUM_THREADS is malformed; t is usable either way (the cores' count
   then).  Without hwloc the threads run unbound and desc says so. */
int cnn_threads_open(cnn_threads *t, int requested, int bind);

/* Cap the team at work (the images a step or a pass gives out, at least
   one thread) and describe it again. */
void cnn_threads_limit(cnn_threads *t, long work);

/* "" when the machine's cap left the count asked for alone, else one line
   (no "cnn: ", no newline) saying what was asked for and what runs. */
void cnn_threads_note(const cnn_threads *t, char *buf, size_t size);

/* Inside a parallel region: pin the calling thread (number tid) to its
   core, the (tid mod cores)-th with a CPU in allowed (to those of its CPUs
   in allowed).  Returns 0 on success or when binding is off; -1 when it
   failed. */
int cnn_threads_bind(cnn_threads *t, int tid);

/* Inside a parallel region: give the calling thread back the CPUs the
   process was given. */
void cnn_threads_unbind(cnn_threads *t);

void cnn_threads_close(cnn_threads *t);

#endif /* CNN_THREADS_H */
