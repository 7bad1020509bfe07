/*
 * group.c — the cnn command under mpirun (group.h): the same command line
 * on every rank, which commands run over several ranks, results from rank
 * 0 only, lines of the other ranks (held until the ranks agree who
 * failed), the points where `cnn train`'s ranks agree, and the MPI line
 * of `cnn info`.
 */
#include "group.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"
#include "model.h"
#include "train_state.h"

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

int group_first_set(int v)
{
    const int R = cnn_comm_size();
    if (R < 2)
        return v;
    int *all = malloc((size_t)R * sizeof *all);
    if (!all)
        cnn_comm_abort(EXIT_FAILURE_RUN, "out of memory");
    cnn_comm_gather_bytes(&v, sizeof v, all);
    int first = 0;
    for (int q = 0; q < R && !first; q++)
        first = all[q];
    free(all);
    return first;
}

static int holding;        /* group_hold_lines in force */
static char held[2300];    /* the first line held, "" for none */

void group_print_line(const char *line)
{
    char full[sizeof held];
    snprintf(full, sizeof full, "cnn: rank %d on %s: %s\n", cnn_comm_rank(), cnn_comm_host(),
             line);
    if (!holding)
        fputs(full, stderr);
    else if (!held[0])
        memcpy(held, full, sizeof held);
}

void group_hold_lines(void)
{
    holding = cnn_comm_size() > 1;
    held[0] = 0;
}

int group_agree(int rc)
{
    const int R = cnn_comm_size();
    if (R < 2)
        return rc;
    int *all = malloc((size_t)R * sizeof *all), first = -1;
    if (!all)
        cnn_comm_abort(EXIT_FAILURE_RUN, "out of memory");
    cnn_comm_gather_bytes(&rc, sizeof rc, all);
    for (int q = R - 1; q >= 0; q--)
        if (all[q] >= 0)
            first = q;
    const int code = first >= 0 ? all[first] : -1;
    free(all);
    if (first == cnn_comm_rank() && held[0])
        fputs(held, stderr);
    holding = 0, held[0] = 0;
    if (first >= 0)
        cnn_comm_end_together();
    return code;
}

int group_rank0_code(int code)
{
    if (cnn_comm_size() < 2)
        return code;
    cnn_comm_bcast_bytes(&code, sizeof code, 0);
    cnn_comm_end_together();
    return code;
}

int group_check_data(const cnn_dataset *ds, const char *split)
{
    if (cnn_comm_size() < 2)
        return -1;
    uint32_t images, labels;
    cnn_data_fingerprint(ds, &images, &labels);
    const char *host;
    int q = cnn_comm_first_differing((uint64_t)images << 32 | labels, &host);
    if (q < 0)
        return -1;
    if (cnn_comm_rank() == 0)
        cli_say("rank %d on %s loaded other %s data than rank 0 (the CRC-32s of their images "
                "or labels differ); every rank needs the same files", q, host, split);
    cnn_comm_end_together();
    return EXIT_FAILURE_RUN;
}

int group_check_start(const cnn_model *m, const cnn_train_state *state)
{
    if (cnn_comm_size() < 2)
        return -1;
    cnn_train_state_info info;
    cnn_train_state_info_get(state, &info);
    const uint64_t crc = cnn_crc32(m->params, m->block * sizeof *m->params);
    const char *host;
    int q = cnn_comm_first_differing((uint64_t)crc << 32 ^ (uint64_t)info.steps, &host);
    if (q < 0)
        return -1;
    if (cnn_comm_rank() == 0)
        cli_say("rank %d on %s starts from other weights or another step than rank 0 (every "
                "rank needs the same --load or --resume file)", q, host);
    cnn_comm_end_together();
    return EXIT_FAILURE_RUN;
}

/* Whether host q of the gathered names appeared at an earlier rank. */
static int seen_before(const char *names, int q, size_t len)
{
    for (int p = 0; p < q; p++)
        if (strncmp(names + (size_t)p * len, names + (size_t)q * len, len) == 0)
            return 1;
    return 0;
}

void group_hosts(char *buf, size_t size)
{
    const int R = cnn_comm_size();
    enum { LEN = 256 }; /* a host name's most (POSIX HOST_NAME_MAX is 255) */
    buf[0] = 0;
    if (R < 2)
        return;
    char mine[LEN] = "", *names = malloc((size_t)R * LEN), list[3 * LEN + 16] = "";
    if (!names)
        cnn_comm_abort(EXIT_FAILURE_RUN, "out of memory");
    snprintf(mine, sizeof mine, "%s", cnn_comm_host());
    cnn_comm_gather_bytes(mine, LEN, names);
    int hosts = 0;
    for (int q = 0; q < R; q++) {
        if (seen_before(names, q, LEN))
            continue;
        if (hosts < 3)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%.*s",
                     hosts ? ", " : "", LEN, names + (size_t)q * LEN);
        else if (hosts == 3)
            snprintf(list + strlen(list), sizeof list - strlen(list), ", ...");
        hosts++;
    }
    free(names);
    snprintf(buf, size, "%d ranks on %d host%s (%s), each ", R, hosts, hosts == 1 ? "" : "s",
             list);
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
