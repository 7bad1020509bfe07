/*
 * eval.c — `cnn eval`: evaluate saved weights on the test split and print
 * loss, accuracy and the confusion matrix.
 */
#include <stdio.h>

#include "cli.h"

static int run(const cli *c)
{
    if (!c->load)
        return cli_error(EXIT_USAGE, "eval needs --load FILE");
    cnn_dataset *test = NULL;
    cnn_model *m = NULL;
    /* Without --model, the model stored in the file; with it, that spec for
       the test images' shape. */
    int st = cnn_dataset_load_dir(c->data, "test", 0, &test);
    if (st == CNN_OK)
        st = cli_open_model(c, test->height, test->width, test->channels, &m);
    cnn_dataset_free(test);
    cnn_eval_result r;
    if (st == CNN_OK)
        st = cli_evaluate(c, m, &r);
    cnn_model_free(m);
    if (st != CNN_OK)
        return cli_fail(st);
    cli_print_eval(&r);
    cnn_eval_result_free(&r);
    return EXIT_OK;
}

const cli_command cmd_eval = {
    "eval", "evaluate saved weights on DIR/t10k-*",
    "usage: cnn eval --load FILE [options]\n\n"
    "Evaluates the weights in FILE on the test split of --data and prints the\n"
    "test loss, the accuracy and the confusion matrix.\n",
    OPTBIT(OPT_DATA) | OPTBIT(OPT_MODEL) | OPTBIT(OPT_LOAD) | OPTBIT(OPT_THREADS) |
        OPTBIT(OPT_ISA) | OPTBIT(OPT_CONFUSION) | OPTBIT(OPT_QUIET),
    0, 0, run};
