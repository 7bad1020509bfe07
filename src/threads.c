/*
 * threads.c — hwloc topology discovery, the thread count (asked for, from
 * OMP_NUM_THREADS or the cores) and its caps, and per-thread core binding
 * for the trainer and evaluation, within the CPUs the process was given.
 */
#include "threads.h"

#include <hwloc.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "error.h"
#include "omp_env.h"

int cnn_threads_cap(void)
{
    int procs = omp_get_num_procs();
    long cap = (long)(procs > 0 ? procs : 1) * CNN_THREADS_PER_PU;
    if (cap < CNN_THREADS_FLOOR)
        cap = CNN_THREADS_FLOOR;
    int limit = omp_get_thread_limit();
    if (limit > 0 && cap > limit)
        cap = limit;
    return (int)cap;
}

/* OMP_NUM_THREADS into *n (0: not set); CNN_ERR_ARG when it is malformed,
   now or when the program started (omp_env.c took it out then). */
static int env_threads(int *n)
{
    *n = 0;
    const char *env = getenv("OMP_NUM_THREADS");
    if (!env || !*env)
        env = cnn_omp_env_rejected();
    if (!env)
        return CNN_OK;
    if (!cnn_omp_env_parse(env, n)) {
        *n = 0;
        return cnn_fail(CNN_ERR_ARG, "OMP_NUM_THREADS: '%.40s' is not a thread count (a "
                        "whole number from 1); set it to one, unset it, or give --threads",
                        env);
    }
    return CNN_OK;
}

/* The CPUs of OpenMP's places into set: under OMP_PROC_BIND or
   OMP_PLACES the runtime pins the initial thread before main, so the
   process's binding is then one place, but the places still cover the
   CPUs it was given. */
static void omp_places_cpus(hwloc_bitmap_t set)
{
    for (int p = 0; p < omp_get_num_places(); p++) {
        int n = omp_get_place_num_procs(p), ids[256];
        if (n > 256)
            n = 256;
        omp_get_place_proc_ids(p, ids);
        for (int i = 0; i < n; i++)
            hwloc_bitmap_set(set, (unsigned)ids[i]);
    }
}

/* The process's CPUs (its affinity when opened, or OpenMP's places when
   the runtime binds) into t->allowed, and the cores that hold one. */
static void find_allowed(cnn_threads *t, hwloc_topology_t topo)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    t->machine_cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    int got = -1;
    if (set && omp_get_proc_bind() != omp_proc_bind_false && omp_get_num_places() > 0) {
        omp_places_cpus(set);
        got = 0;
    } else if (set) {
        got = hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS);
    }
    if (set && got == 0 && !hwloc_bitmap_iszero(set)) {
        t->allowed = set;
    } else {
        hwloc_bitmap_free(set);
        t->allowed = NULL;
    }
    t->cores = 0;
    for (int i = 0; i < t->machine_cores; i++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)i);
        t->cores += core && (!t->allowed || hwloc_bitmap_intersects(core->cpuset, t->allowed));
    }
}

/* The i-th core with a CPU in t->allowed, or NULL. */
static hwloc_obj_t allowed_core(const cnn_threads *t, int i)
{
    hwloc_topology_t topo = t->topology;
    for (int j = 0; j < t->machine_cores; j++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)j);
        if (core && (!t->allowed || hwloc_bitmap_intersects(core->cpuset, t->allowed)) &&
            i-- == 0)
            return core;
    }
    return NULL;
}

static void describe(cnn_threads *t)
{
    const char *how;
    if (t->bind)
        how = t->threads <= t->cores ? "bound one per core" : "bound round-robin to cores";
    else if (!t->bind_asked)
        how = "unbound (binding off)";
    else
        how = "unbound (hwloc found no cores)";
    char asked[48] = "";
    if (t->threads < t->asked)
        snprintf(asked, sizeof asked, " (%d asked for)", t->asked);
    char of[24] = "";
    if (t->cores < t->machine_cores)
        snprintf(of, sizeof of, " of %d", t->machine_cores);
    snprintf(t->desc, sizeof t->desc, "%d thread%s%s, %d%s core%s (%d package%s, %d PUs), %s",
             t->threads, t->threads == 1 ? "" : "s", asked, t->cores, of,
             t->cores == 1 && !*of ? "" : "s", t->packages, t->packages == 1 ? "" : "s",
             t->pus, how);
}

int cnn_threads_open(cnn_threads *t, int requested, int bind)
{
    memset(t, 0, sizeof *t);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0) {
        if (hwloc_topology_load(topo) == 0) {
            t->topology = topo;
            find_allowed(t, topo);
            t->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
            t->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
            if (t->cores < 0)
                t->cores = 0;
        } else {
            hwloc_topology_destroy(topo);
        }
    }
    int st = CNN_OK, env = 0;
    if (requested <= 0)
        st = env_threads(&env);
    if (requested > 0)
        t->asked = requested;
    else if (env > 0)
        t->asked = env, t->from_env = 1;
    else if (t->cores > 0)
        t->asked = t->cores;
    else
        t->asked = omp_get_num_procs();
    if (t->asked < 1)
        t->asked = 1;
    t->limit = cnn_threads_cap();
    t->threads = t->asked < t->limit ? t->asked : t->limit;
    t->bind_asked = bind;
    t->bind = bind && t->topology && t->cores > 0;
    describe(t);
    return st;
}

void cnn_threads_limit(cnn_threads *t, long work)
{
    if (work < 1)
        work = 1;
    if (t->threads > work)
        t->threads = (int)work;
    describe(t);
}

void cnn_threads_note(const cnn_threads *t, char *buf, size_t size)
{
    if (!size)
        return;
    *buf = 0;
    if (t->asked <= t->limit)
        return;
    int by_limit = t->limit == omp_get_thread_limit();
    char why[64];
    if (by_limit)
        snprintf(why, sizeof why, "OMP_THREAD_LIMIT");
    else
        snprintf(why, sizeof why, "%d per hardware thread, at least %d", CNN_THREADS_PER_PU,
                 CNN_THREADS_FLOOR);
    snprintf(buf, size, "%d threads asked for%s, more than this machine runs well; using %d (%s)",
             t->asked, t->from_env ? " by OMP_NUM_THREADS" : "", t->limit, why);
}

int cnn_threads_bind(cnn_threads *t, int tid)
{
    if (!t->bind)
        return 0;
    hwloc_topology_t topo = t->topology;
    hwloc_obj_t core = allowed_core(t, tid % t->cores);
    hwloc_bitmap_t set = core ? hwloc_bitmap_dup(core->cpuset) : NULL;
    if (set && t->allowed)
        hwloc_bitmap_and(set, set, t->allowed);
    int ok = set && hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0;
    hwloc_bitmap_free(set);
    if (!ok) {
        t->bind_failed = 1;
        return -1;
    }
    return 0;
}

void cnn_threads_unbind(cnn_threads *t)
{
    if (!t->bind)
        return;
    hwloc_topology_t topo = t->topology;
    hwloc_set_cpubind(topo, t->allowed ? (hwloc_const_bitmap_t)t->allowed
                                       : hwloc_topology_get_complete_cpuset(topo),
                      HWLOC_CPUBIND_THREAD);
}

void cnn_threads_close(cnn_threads *t)
{
    if (t->topology)
        hwloc_topology_destroy((hwloc_topology_t)t->topology);
    hwloc_bitmap_free((hwloc_bitmap_t)t->allowed);
    t->topology = t->allowed = NULL;
}

int cnn_threads_describe(int requested, int *threads, char *desc, size_t size)
{
    cnn_threads t;
    int st = cnn_threads_open(&t, requested, 1);
    if (threads)
        *threads = t.threads;
    if (desc && size)
        snprintf(desc, size, "%s", t.desc);
    cnn_threads_close(&t);
    return st;
}

int cnn_threads_check(int requested, char *warning, size_t size)
{
    cnn_threads t;
    int st = cnn_threads_open(&t, requested, 0);
    if (warning && size)
        cnn_threads_note(&t, warning, size);
    cnn_threads_close(&t);
    return st;
}
