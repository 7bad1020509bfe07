/*
 * predict.c — `cnn predict`: placeholder until the command is written.
 */
#include "cli.h"

static int run(const cli *c)
{
    (void)c;
    return cli_error(EXIT_FAILURE_RUN, "predict: not written yet");
}

const cli_command cmd_predict = {"predict", "classify test images or one PGM/PNG image", "usage: cnn predict\n", 0, 0, 8, run};
