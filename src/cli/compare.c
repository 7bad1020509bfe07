/*
 * compare.c — `cnn compare`: placeholder until the command is written.
 */
#include "cli.h"

static int run(const cli *c)
{
    (void)c;
    return cli_error(EXIT_FAILURE_RUN, "compare: not written yet");
}

const cli_command cmd_compare = {"compare", "train logreg, seed and seed-dense and compare them", "usage: cnn compare\n", 0, 0, 8, run};
