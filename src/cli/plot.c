/*
 * plot.c — `cnn plot`: placeholder until the command is written.
 */
#include "cli.h"

static int run(const cli *c)
{
    (void)c;
    return cli_error(EXIT_FAILURE_RUN, "plot: not written yet");
}

const cli_command cmd_plot = {"plot", "draw training curves from a metrics log", "usage: cnn plot\n", 0, 0, 8, run};
