/*
 * summary.c — `cnn summary`: the model's layers, output shapes and
 * parameter counts as a Keras-style table.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int run(const cli *c)
{
    cnn_model *m = NULL;
    int st = cli_make_model(c, c->in_h, c->in_w, c->in_c, &m);
    if (st != CNN_OK)
        return cli_fail(st);
    size_t len = cnn_model_summary(m, NULL, 0);
    char *buf = malloc(len + 1);
    if (!buf) {
        cnn_model_free(m);
        return cli_error(EXIT_FAILURE_RUN, "out of memory");
    }
    cnn_model_summary(m, buf, len + 1);
    fputs(buf, stdout);
    free(buf);
    cnn_model_free(m);
    return EXIT_OK;
}

const cli_command cmd_summary = {
    "summary", "print the model's layers, output shapes and parameters",
    "usage: cnn summary [options]\n\n"
    "Prints the model's layers, their output shapes and parameter counts.\n",
    OPTBIT(OPT_MODEL) | OPTBIT(OPT_INPUT) | OPTBIT(OPT_ISA) | OPTBIT(OPT_DOT) |
        OPTBIT(OPT_LOAD) | OPTBIT(OPT_OUTPUT),
    0, 0, run};
