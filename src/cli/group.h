/*
 * group.h — the cnn command under mpirun: the checks every rank makes
 * before a command runs, and the line `cnn info` prints about MPI.  (Train
 * over several ranks: rank 0 alone writes files and lines, train.c.)
 */
#ifndef CNN_CLI_GROUP_H
#define CNN_CLI_GROUP_H

#include "cli.h"

/* At start, after cnn_comm_init: every rank must have the same command
   line; a difference aborts the job with one line naming the first rank
   that differs. */
void group_check_args(int argc, char **argv);

/* Before cmd runs: -1 to go on, else an exit code (message printed).
   Refuses a launch of several processes by a cnn without MPI (except
   for info), and sends the stdout of ranks other than 0 to /dev/null (except for info,
   whose every rank reports its own placement). */
int group_command(const cli_command *cmd);

/* "MPI: ..." (one line, no newline) into buf. */
void group_describe(char *buf, size_t size);

#endif /* CNN_CLI_GROUP_H */
