/*
 * registry.c — the order in which the runner visits the test groups:
 * the runner's own command line and fast unit tests first, real-data
 * training last.
 */
#include "tests.h"

#define GROUP(g) {#g, g##_tests}
const test_table all_tests[] = {
    GROUP(runner), GROUP(comm), GROUP(kernels), GROUP(layer_kernels), GROUP(data),
    GROUP(cifar), GROUP(weights),
    GROUP(augment), GROUP(loss), GROUP(model), GROUP(gradient), GROUP(bn), GROUP(pool),
    GROUP(optim), GROUP(tree), GROUP(trainer), GROUP(cli), GROUP(outputs), GROUP(predict),
    GROUP(api), GROUP(checkpoint), GROUP(files),
    {0, 0}, /* end */
};
