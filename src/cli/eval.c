/*
 * eval.c — `cnn eval`: evaluate saved weights on the test split, print
 * loss, accuracy and the confusion matrix, and with --confusion draw the
 * matrix as a heatmap (.svg, or .png through rsvg-convert).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "confusion.h"
#include "paths.h"
#include "svg.h"

static int run(const cli *c)
{
    if (!c->load)
        return cli_error(EXIT_USAGE, "eval needs --load FILE");
    if (c->confusion) { /* before the work: a bad path fails at once */
        int rc = svg_output_check("--confusion", c->confusion);
        if (rc != EXIT_OK)
            return rc;
    }
    cli_paths ps = {.n = 0};
    paths_input(&ps, "--load", c->load);
    paths_data(&ps, c->data, "test");
    paths_output(&ps, "--confusion", c->confusion, NULL);
    int rc = paths_check(&ps);
    if (rc >= 0)
        return rc;
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
    if (st != CNN_OK) {
        cnn_model_free(m);
        return cli_fail(st);
    }
    cli_print_eval(&r);
    rc = EXIT_OK;
    if (c->confusion) {
        char title[1024];
        snprintf(title, sizeof title, "Confusion matrix \xe2\x80\x94 %s, test accuracy %.2f%%",
                 cli_model_name(m), 100 * r.accuracy);
        if (confusion_write(c->confusion, &r, title) != 0)
            rc = EXIT_FAILURE_RUN;
        else if (!c->quiet)
            cli_say("confusion matrix drawn in %s", c->confusion);
    }
    cnn_model_free(m);
    cnn_eval_result_free(&r);
    return rc;
}

const cli_command cmd_eval = {
    "eval", "evaluate saved weights on DIR/t10k-*",
    "usage: cnn eval --load FILE [options]\n\n"
    "Evaluates the weights in FILE on the test split of --data and prints the\n"
    "test loss, the accuracy and the confusion matrix; --confusion FILE also\n"
    "draws the matrix as a heatmap (.svg, or .png through rsvg-convert).  The\n"
    "heatmap has two scales, so that a few errors stand out: the diagonal in\n"
    "blues by its share of the true label's images, the errors in reds by count,\n"
    "darkest for the largest; empty cells are white.\n",
    OPTBIT(OPT_DATA) | OPTBIT(OPT_MODEL) | OPTBIT(OPT_LOAD) | OPTBIT(OPT_THREADS) |
        OPTBIT(OPT_ISA) | OPTBIT(OPT_CONFUSION) | OPTBIT(OPT_QUIET),
    0, 0, run};
