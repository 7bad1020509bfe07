/*
 * list.c — the optimizers, one line each: adding one is its own file plus
 * a line here (see docs/architecture.md).
 */
#include <string.h>

#include "optimizer.h"

const cnn_optimizer *const cnn_optimizers[] = {
    &cnn_optim_adam, /* the default */
    &cnn_optim_adamw,
    &cnn_optim_sgd,
    NULL,
};

const cnn_optimizer *cnn_optimizer_find(const char *name)
{
    if (!name || !*name)
        return cnn_optimizers[0];
    for (int i = 0; cnn_optimizers[i]; i++)
        if (strcmp(cnn_optimizers[i]->name, name) == 0)
            return cnn_optimizers[i];
    return NULL;
}
