/*
 * group.c — the cnn command under mpirun (group.h): the same command line
 * on every rank, which commands run over several ranks, results from rank
 * 0 only, and the MPI line of `cnn info`.
 */
#include "group.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "comm.h"

void group_check_args(int argc, char **argv)
{
    if (cnn_comm_size() < 2)
        return;
    const char *host;
    int r = cnn_comm_first_differing(cnn_comm_args_hash(argc, argv, 1), &host);
    if (r >= 0)
        cnn_comm_abort_once(EXIT_USAGE,
                            "rank %d on %s was given other options than rank 0 (every rank "
                            "needs the same command line)", r, host);
}

/* Ranks other than 0 write their results nowhere. */
static void quiet_stdout(void)
{
    int fd = open("/dev/null", O_WRONLY);
    fflush(stdout);
    if (fd >= 0 && fd != STDOUT_FILENO) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
}

int group_command(const cli_command *cmd)
{
    int launched = cnn_comm_launched_size();
    if (!cnn_comm_library() && launched > 1 && cmd != &cmd_info)
        return cli_error(EXIT_USAGE, "mpirun started %d processes, but this cnn is built "
                         "without MPI (build with MPI=1 after installing libopenmpi-dev)",
                         launched);
    if (cnn_comm_size() < 2 || cmd == &cmd_info)
        return -1;
    if (cnn_comm_rank() > 0)
        quiet_stdout();
    return -1;
}

void group_describe(char *buf, size_t size)
{
    const char *lib = cnn_comm_library();
    if (!lib)
        snprintf(buf, size, "MPI: not compiled in (build with MPI=1 after installing "
                 "libopenmpi-dev)");
    else if (!cnn_comm_active())
        snprintf(buf, size, "MPI: %s compiled in; not started by mpirun (1 process on %s)",
                 lib, cnn_comm_host());
    else
        snprintf(buf, size, "MPI: %s compiled in; %d rank%s, this rank %d on %s", lib,
                 cnn_comm_size(), cnn_comm_size() == 1 ? "" : "s", cnn_comm_rank(),
                 cnn_comm_host());
}
