/*
 * threads.c — hwloc topology discovery, default thread count and per-thread
 * core binding for the trainer and evaluation.
 */
#include "threads.h"

#include <hwloc.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"

void cnn_threads_open(cnn_threads *t, int requested, int bind)
{
    memset(t, 0, sizeof *t);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0) {
        if (hwloc_topology_load(topo) == 0) {
            t->topology = topo;
            t->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
            t->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
            t->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
            if (t->cores < 0)
                t->cores = 0;
        } else {
            hwloc_topology_destroy(topo);
        }
    }
    const char *env = getenv("OMP_NUM_THREADS");
    if (requested > 0)
        t->threads = requested;
    else if (env && *env)
        t->threads = omp_get_max_threads();
    else if (t->cores > 0)
        t->threads = t->cores;
    else
        t->threads = omp_get_num_procs();
    if (t->threads < 1)
        t->threads = 1;
    t->bind = bind && t->topology && t->cores > 0;
    const char *how;
    if (t->bind)
        how = t->threads <= t->cores ? "bound one per core" : "bound round-robin to cores";
    else if (!bind)
        how = "unbound (binding off)";
    else
        how = "unbound (hwloc found no cores)";
    snprintf(t->desc, sizeof t->desc, "%d thread%s, %d core%s (%d package%s, %d PUs), %s",
             t->threads, t->threads == 1 ? "" : "s", t->cores, t->cores == 1 ? "" : "s",
             t->packages, t->packages == 1 ? "" : "s", t->pus, how);
}

int cnn_threads_bind(cnn_threads *t, int tid)
{
    if (!t->bind)
        return 0;
    hwloc_topology_t topo = t->topology;
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(tid % t->cores));
    if (!core || hwloc_set_cpubind(topo, core->cpuset, HWLOC_CPUBIND_THREAD) != 0) {
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
    hwloc_set_cpubind(topo, hwloc_topology_get_complete_cpuset(topo), HWLOC_CPUBIND_THREAD);
}

void cnn_threads_close(cnn_threads *t)
{
    if (t->topology)
        hwloc_topology_destroy((hwloc_topology_t)t->topology);
    t->topology = NULL;
}

int cnn_threads_describe(int requested, int *threads, char *desc, size_t size)
{
    cnn_threads t;
    cnn_threads_open(&t, requested, 1);
    if (threads)
        *threads = t.threads;
    if (desc && size)
        snprintf(desc, size, "%s", t.desc);
    cnn_threads_close(&t);
    return CNN_OK;
}
