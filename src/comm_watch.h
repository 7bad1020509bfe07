/*
 * comm_watch.h — the bounded wait on collectives over MPI ranks and their
 * timing (comm_watch.c); used by comm.c around each collective.  No MPI
 * here: the watchdog is a plain thread.
 */
#ifndef CNN_COMM_WATCH_H
#define CNN_COMM_WATCH_H

#include <stddef.h>

/* The limit when CNN_MPI_TIMEOUT is not set: far above any wait a healthy
   run makes (rank 0 writing a checkpoint while the others wait, a slow
   rank loading its data), far below a batch job's hours. */
#define CNN_COMM_WATCH_DEFAULT_S 120.0

/* The limit in seconds from CNN_MPI_TIMEOUT (0: none), else the default;
   -1 when the variable is not a number of seconds. */
int cnn_comm_watch_limit(double *limit);

/* Once, when this rank joins a group of several: start the watchdog
   (limit > 0), which names rank and host in its line. */
void cnn_comm_watch_start(double limit, int rank, const char *host);

/* Around each collective, on the main thread: call is its name, bytes
   what it leaves in this rank's buffer (every rank's part). */
void cnn_comm_watch_enter(const char *call, size_t bytes);
void cnn_comm_watch_leave(void);

#endif /* CNN_COMM_WATCH_H */
