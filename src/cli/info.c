/*
 * info.c — `cnn info`: the CPU, its SIMD features, the kernel sets usable
 * here and the one chosen, and the hwloc topology.  A $CNN_ISA naming no
 * usable set is reported after the rest and fails the command.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "group.h"

static int run(const cli *c)
{
    (void)c;
    size_t len = cnn_info(NULL, 0);
    char *buf = malloc(len + 1);
    if (!buf)
        return cli_error(EXIT_FAILURE_RUN, "out of memory");
    cnn_info(buf, len + 1);
    fputs(buf, stdout);
    free(buf);
    char mpi[400];
    group_describe(mpi, sizeof mpi);
    printf("%s\n", mpi);
    /* The report shows a bad $CNN_ISA on its "chosen" line; it is an
       error all the same, as for every other command. */
    int st = cnn_isa_check(NULL);
    return st == CNN_OK ? EXIT_OK : cli_fail(st);
}

const cli_command cmd_info = {
    "info", "print the CPU, its SIMD features, the kernel set chosen and the topology",
    "usage: cnn info\n\n"
    "Prints the CPU model and features, the kernel sets usable on it and the one\n"
    "chosen, the hwloc topology, caches and the default thread count, and whether\n"
    "MPI is compiled in; under mpirun, every rank prints its rank and host.\n",
    0, 0, 0, run};
