/*
 * dispatch.c — kernel-table selection by ISA name and the default choice.
 */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

static const cnn_kernel_table *const tables[] = {
    &cnn_kernels_portable,
    &cnn_kernels_ref,
};

const cnn_kernel_table *cnn_kernels_by_name(const char *isa)
{
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        if (strcmp(isa, tables[i]->isa) == 0)
            return tables[i];
    cnn_fail(CNN_ERR_ARG, "unknown ISA '%s' (choose scalar or ref)", isa);
    return NULL;
}

const cnn_kernel_table *cnn_kernels_default(void)
{
    const char *env = getenv("CNN_ISA");
    if (env && *env) {
        const cnn_kernel_table *t = cnn_kernels_by_name(env);
        if (t)
            return t;
    }
    return tables[0];
}
