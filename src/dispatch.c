/*
 * dispatch.c — kernel-table selection.  A build holds only its own
 * architecture's SIMD sets (x86-64: avx512 and avx2; AArch64: neon), and a
 * set is offered only where the CPU supports it (src/cpu.c).  Tables are
 * tried best first.
 */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "error.h"

#if defined(__x86_64__)
#define AVX512_TABLE (&cnn_kernels_avx512)
#define AVX2_TABLE (&cnn_kernels_avx2)
#else
#define AVX512_TABLE NULL
#define AVX2_TABLE NULL
#endif
#if defined(__aarch64__)
#define NEON_TABLE (&cnn_kernels_neon)
#else
#define NEON_TABLE NULL
#endif

typedef struct entry {
    const char *isa;
    const cnn_kernel_table *table; /* NULL when not built in */
    int supported;
} entry;

/* Best first. */
static int entries(entry *e)
{
    const cnn_cpu *cpu = cnn_cpu_get();
    int n = 0;
    e[n++] = (entry){"avx512", AVX512_TABLE, cpu->avx512};
    e[n++] = (entry){"avx2", AVX2_TABLE, cpu->avx2};
    e[n++] = (entry){"neon", NEON_TABLE, cpu->neon};
    e[n++] = (entry){"scalar", &cnn_kernels_portable, 1};
    e[n++] = (entry){"ref", &cnn_kernels_ref, 1};
    return n;
}

int cnn_kernels_available(const cnn_kernel_table **out, int max)
{
    entry e[8];
    int n = entries(e), k = 0;
    for (int i = 0; i < n; i++)
        if (e[i].table && e[i].supported) {
            if (k < max)
                out[k] = e[i].table;
            k++;
        }
    return k;
}

const cnn_kernel_table *cnn_kernels_best(void)
{
    const cnn_kernel_table *t[1];
    cnn_kernels_available(t, 1);
    return t[0];
}

const cnn_kernel_table *cnn_kernels_by_name(const char *isa, int *status)
{
    int dummy;
    if (!status)
        status = &dummy;
    *status = CNN_OK;
    entry e[8];
    int n = entries(e);
    for (int i = 0; i < n; i++) {
        if (strcmp(isa, e[i].isa) != 0)
            continue;
        if (!e[i].table) {
            *status = cnn_fail(CNN_ERR_UNSUPPORTED, "ISA '%s' is not built into this binary",
                               isa);
            return NULL;
        }
        if (!e[i].supported) {
            const char *model = cnn_cpu_get()->model;
            *status = cnn_fail(CNN_ERR_UNSUPPORTED, "ISA '%s' is not supported by this CPU (%s)",
                               isa, *model ? model : "unknown");
            return NULL;
        }
        return e[i].table;
    }
    *status = cnn_fail(CNN_ERR_ARG, "unknown ISA '%s' (choose avx512, avx2, neon, scalar or ref)",
                       isa);
    return NULL;
}

/* The cnn command's --isa, over $CNN_ISA. */
static const char *default_isa;

void cnn_kernels_set_default(const char *isa) { default_isa = isa; }

const cnn_kernel_table *cnn_kernels_default(int *status)
{
    const char *env = default_isa ? default_isa : getenv("CNN_ISA");
    int dummy;
    if (!status)
        status = &dummy;
    *status = CNN_OK;
    if (!env || !*env)
        return cnn_kernels_best();
    const cnn_kernel_table *t = cnn_kernels_by_name(env, status);
    if (!t) {
        /* Name the variable: the user may not know it is set. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", cnn_last_error());
        *status = cnn_fail(*status, "CNN_ISA: %s", msg);
    }
    return t;
}

int cnn_isa_check(const char *isa)
{
    int st;
    if (isa)
        cnn_kernels_by_name(isa, &st);
    else
        cnn_kernels_default(&st);
    return st;
}
