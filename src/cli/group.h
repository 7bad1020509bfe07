/*
 * group.h — the cnn command under mpirun: the checks every rank makes
 * before a command runs; for `cnn train`, the points where the ranks
 * agree (a failure to load, the same data and starting weights, a signal
 * one of them saw, rank 0's exit code), the lines of ranks other than 0,
 * and the header's ranks and hosts; the line `cnn info` prints about MPI.
 * (Rank 0 alone writes files and lines, train.c.)
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

/* A line of a rank other than 0: "cnn: rank R on HOST: LINE" on stderr,
   or held while group_hold_lines is in force. */
void group_print_line(const char *line);

/* From now until the next group_agree, ranks other than 0 hold their
   first line instead of printing it: a failure every rank finds (a
   missing file on a shared disk) is then told once, by the first rank
   that failed. */
void group_hold_lines(void);

/* Collective, where every rank's command reaches the same point (after
   checking its options, after loading its files): rc is this rank's exit
   code so far, -1 for none.  Returns the first failing rank's code (its
   line printed by that rank alone: the held lines of the others are
   dropped), to be returned by every rank, or -1 when all went well.
   Alone: rc. */
int group_agree(int rc);

/* Collective: whether every rank loaded the same data set for `split`
   ("training", "test"); -1 when so, else the exit code for every rank,
   rank 0 having printed one line naming the first rank that differs and
   its host. */
int group_check_data(const cnn_dataset *ds, const char *split);

/* Collective: whether every rank starts from the same weights (the same
   seed, --load file or checkpoint) at the same step; as group_check_data. */
int group_check_start(const cnn_model *m, const cnn_train_state *state);

/* Collective: the first nonzero v in rank order (a signal one rank saw,
   which all report), else 0. */
int group_first_set(int v);

/* Collective: rank 0's code, for every rank to exit with (after rank 0
   wrote the checkpoint of a stopped run); marks the end as agreed. */
int group_rank0_code(int code);

/* Collective: "2 ranks on 1 host (vm), each " (the start of train's
   header line, the hosts named up to three) into buf; "" alone. */
void group_hosts(char *buf, size_t size);

/* "MPI: ..." (one line, no newline) into buf. */
void group_describe(char *buf, size_t size);

#endif /* CNN_CLI_GROUP_H */
