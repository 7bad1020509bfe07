/*
 * comm.h — the process group: which of the processes mpirun started this
 * one is (rank, size, host), and the few collectives the trainer uses,
 * each over MPI_COMM_WORLD in a fixed rank order so results keep their
 * bits.  Internal to the engine and the cnn command (not in cnn.h).
 *
 * Built either way: with -DCNN_HAVE_MPI (make MPI=auto finds Open MPI) the
 * calls go to MPI; without it, or in a process that no launcher started
 * (a plain `./cnn train`), the group is this process alone: rank 0 of 1,
 * and every collective is a local copy.  MPI is initialised only when the
 * environment shows a launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK,
 * PMI_SIZE).
 *
 * Errors: a collective that fails aborts the job through cnn_comm_abort
 * (the communicator returns errors instead of Open MPI's own abort, so the
 * line names the call).  A peer that dies (SIGKILL, a crash) is noticed by
 * Open MPI's runtime, not by us: mpirun kills the other ranks within
 * seconds and exits non-zero, so no rank waits forever in a collective
 * (tests/mpi.sh checks it).
 */
#ifndef CNN_COMM_H
#define CNN_COMM_H

#include <stddef.h>
#include <stdint.h>

/* At the start of main: join the group when a launcher started this
   process (MPI_Init_thread with MPI_THREAD_FUNNELED: MPI is called from
   the main thread only), else stay alone.  Registers cnn_comm_finalize
   with atexit.  0 on success; -1 when MPI would not start (a line says
   why).  Without MPI compiled in, a launcher's processes each stay alone:
   the caller checks cnn_comm_launched_size. */
int cnn_comm_init(int *argc, char ***argv);

/* This process's rank (0 when alone), the group's size (1 when alone),
   the host name, and whether MPI is initialised and not yet finalised. */
int cnn_comm_rank(void);
int cnn_comm_size(void);
const char *cnn_comm_host(void);
int cnn_comm_active(void);

/* The process count a launcher announced in the environment (0: none),
   whether or not MPI is compiled in. */
int cnn_comm_launched_size(void);

/* "Open MPI v4.1.4" (the MPI library's name and version) when MPI is
   compiled in, else NULL. */
const char *cnn_comm_library(void);

/* Print one line "cnn: rank R on HOST: MESSAGE" to stderr and end the
   whole job with code (MPI_Abort); alone, print "cnn: MESSAGE" (the
   command's usual form) and exit(code). */
_Noreturn void cnn_comm_abort(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For an error every rank finds alike (a refused command): rank 0 prints
   "cnn: MESSAGE" and aborts the job; the other ranks wait for that abort,
   so the message shows once.  Alone: print and exit(code). */
_Noreturn void cnn_comm_abort_once(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* At the end of main, with the exit code: a failure in a group of
   several ranks aborts the job with code (the error was printed), since a
   failed rank must not wait in MPI_Finalize for peers that may be waiting
   for it in a collective.  Returns code otherwise. */
int cnn_comm_end(int code);

/* Every rank has agreed to end now with the same code (an error all of
   them found, a signal they stopped on together): cnn_comm_end then leaves
   the group normally instead of aborting it. */
void cnn_comm_end_together(void);

/* Leave the group (MPI_Finalize); later calls do nothing.  Registered
   with atexit by cnn_comm_init, so every normal exit path calls it. */
void cnn_comm_finalize(void);

/* Root's n bytes into buf on every rank. */
void cnn_comm_bcast_bytes(void *buf, size_t n, int root);
/* Every rank's n bytes, rank 0's first, into all (size * n bytes, on
   every rank). */
void cnn_comm_gather_bytes(const void *mine, size_t n, void *all);
/* Rank r's counts[r] bytes (its `mine` on rank r), in rank order, into
   all (sum of counts, on every rank); counts are the same on every rank.
   mine NULL: each rank's bytes are already at their place in all. */
void cnn_comm_gatherv_bytes(const void *mine, void *all, const size_t *counts);
void cnn_comm_barrier(void);
/* Seconds this process has spent in the collectives above, so far
   (comm_watch.c).  Each collective is bounded: one that waits longer than
   CNN_MPI_TIMEOUT seconds (default 120, 0 for no limit) for a peer that
   stopped or hung ends this rank with one line, and mpirun the job. */
double cnn_comm_seconds(void);
/* Bytes those collectives left in this process's buffers (every rank's
   part of each gather), so far. */
double cnn_comm_bytes(void);
/* Whether every rank passed the same v (an option or data fingerprint). */
int cnn_comm_same_u64(uint64_t v);

/* FNV-1a 64 of the arguments argv[first..argc-1], each with its length,
   so "a b" and "ab" differ. */
uint64_t cnn_comm_args_hash(int argc, char **argv, int first);

/* The first rank whose v differs from rank 0's, or -1 when all agree.
   Collective; *host gets that rank's host name (static storage). */
int cnn_comm_first_differing(uint64_t v, const char **host);

#endif /* CNN_COMM_H */
