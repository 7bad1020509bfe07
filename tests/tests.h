/*
 * tests.h — the list of test groups; each tests/test_<group>.c defines
 * <group>_tests[] with TEST_TABLE.
 */
#ifndef CNN_TESTS_H
#define CNN_TESTS_H

#include "test.h"

typedef struct test_table {
    const char *group;
    const test_case *cases; /* ends with an entry whose fn is NULL;
                               NULL when the group is not linked in */
} test_table;

/* Weak, so a runner linked with only some groups still builds. */
#define TEST_GROUP(g)                                                        \
    extern const test_case g##_tests[] __attribute__((weak));
TEST_GROUP(runner)
TEST_GROUP(kernels)
TEST_GROUP(data)
TEST_GROUP(cifar)
TEST_GROUP(weights)
TEST_GROUP(model)
TEST_GROUP(gradient)
TEST_GROUP(bn)
TEST_GROUP(pool)
TEST_GROUP(layer_kernels)
TEST_GROUP(trainer)
TEST_GROUP(optim)
TEST_GROUP(tree)
TEST_GROUP(cli)
TEST_GROUP(outputs)
TEST_GROUP(predict)
TEST_GROUP(checkpoint)
TEST_GROUP(files)
TEST_GROUP(augment)
TEST_GROUP(loss)
TEST_GROUP(comm)
TEST_GROUP(api)
#undef TEST_GROUP

extern const test_table all_tests[];

/* In each group file: TEST_TABLE(group, {"name", fn}, ...) */
#define TEST_TABLE(g, ...)                                                   \
    const test_case g##_tests[] = {__VA_ARGS__, {0, 0}};

#endif /* CNN_TESTS_H */
