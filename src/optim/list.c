/*
 * list.c — the optimizers, one line each: adding one is its own file plus
 * a line here (see docs/architecture.md).
 */
#include <stdio.h>
#include <string.h>

#include "optimizer.h"

const cnn_optimizer *const cnn_optimizers[] = {
    &cnn_optim_adam, /* the default */
    &cnn_optim_adamw,
    &cnn_optim_sgd,
    NULL,
};

void cnn_optimizer_names(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; cnn_optimizers[i] && len < size; i++) {
        const char *sep = i == 0 ? "" : cnn_optimizers[i + 1] ? ", " : " or ";
        int w = snprintf(buf + len, size - len, "%s%s", sep, cnn_optimizers[i]->name);
        len += w > 0 ? (size_t)w : 0;
    }
}

const cnn_optimizer *cnn_optimizer_find(const char *name)
{
    if (!name || !*name)
        return cnn_optimizers[0];
    for (int i = 0; cnn_optimizers[i]; i++)
        if (strcmp(cnn_optimizers[i]->name, name) == 0)
            return cnn_optimizers[i];
    return NULL;
}
