/*
 * info.c — the system report behind `cnn info`: CPU model and SIMD features,
 * the kernel sets built in and the one chosen, and the hwloc topology
 * (packages, cores, hardware threads, caches).
 */
#include <hwloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cnn.h"
#include "cpu.h"
#include "dispatch.h"

static void add(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf && *len < size ? buf + *len : NULL, *len < size ? size - *len : 0,
                      fmt, ap);
    va_end(ap);
    if (w > 0)
        *len += (size_t)w;
}

static void add_size(char *buf, size_t size, size_t *len, unsigned long long bytes)
{
    if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
        add(buf, size, len, "%llu MiB", bytes >> 20);
    else
        add(buf, size, len, "%llu KiB", bytes >> 10);
}

size_t cnn_info(char *buf, size_t size)
{
    size_t len = 0;
    if (buf && size)
        buf[0] = 0;
    const cnn_cpu *cpu = cnn_cpu_get();
    add(buf, size, &len, "cnn %s\n", CNN_VERSION);
    add(buf, size, &len, "cpu:        %s\n", *cpu->model ? cpu->model : "unknown");
#if defined(__x86_64__)
    add(buf, size, &len, "features:   avx2+fma %s, avx512f+vl %s\n", cpu->avx2 ? "yes" : "no",
        cpu->avx512 ? "yes" : "no");
#elif defined(__aarch64__)
    add(buf, size, &len, "features:   neon yes\n");
#endif
    const cnn_kernel_table *sets[8];
    int n = cnn_kernels_available(sets, 8);
    add(buf, size, &len, "kernels:   ");
    for (int i = 0; i < n && i < 8; i++)
        add(buf, size, &len, " %s", sets[i]->isa);
    add(buf, size, &len, " (usable here, best first)\n");
    int st;
    const cnn_kernel_table *chosen = cnn_kernels_default(&st);
    add(buf, size, &len, "chosen:     %s%s\n", chosen ? chosen->isa : cnn_last_error(),
        getenv("CNN_ISA") && *getenv("CNN_ISA") ? " (from CNN_ISA)" : "");

    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
        add(buf, size, &len, "topology:   unavailable (hwloc failed)\n");
        return len;
    }
    add(buf, size, &len, "topology:   %d package(s), %d core(s), %d hardware thread(s)\n",
        hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE),
        hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE),
        hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
    static const struct {
        hwloc_obj_type_t type;
        const char *name;
    } caches[] = {{HWLOC_OBJ_L1CACHE, "L1d"}, {HWLOC_OBJ_L2CACHE, "L2"},
                  {HWLOC_OBJ_L3CACHE, "L3"}};
    add(buf, size, &len, "caches:    ");
    for (size_t i = 0; i < sizeof caches / sizeof *caches; i++) {
        int count = hwloc_get_nbobjs_by_type(topo, caches[i].type);
        hwloc_obj_t obj = hwloc_get_obj_by_type(topo, caches[i].type, 0);
        if (count <= 0 || !obj || !obj->attr)
            continue;
        add(buf, size, &len, " %s ", caches[i].name);
        add_size(buf, size, &len, (unsigned long long)obj->attr->cache.size);
        add(buf, size, &len, " x%d", count);
    }
    add(buf, size, &len, "\n");
    hwloc_topology_destroy(topo);
    char desc[160];
    int threads;
    cnn_threads_describe(0, &threads, desc, sizeof desc);
    add(buf, size, &len, "threads:    %s\n", desc);
    return len;
}
