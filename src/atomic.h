/*
 * atomic.h — files that appear whole or not at all: written to a temporary
 * file in the destination's directory, synced, renamed over the
 * destination, and the directory synced.  An existing file is replaced only
 * when everything succeeded.  Used by weights and checkpoint saving and by
 * the cnn command for every file it writes.
 *
 * What stands at the destination decides how it is written:
 *   - nothing, or a regular file: the temporary file and rename above;
 *   - a symbolic link to a regular file: followed, its target replaced
 *     (the temporary file in the target's directory), the link left as it
 *     is; a link to nothing (dangling) is refused;
 *   - a character device or a FIFO (/dev/null, /dev/stdout, a pipe), or a
 *     regular file reached through an open descriptor (/dev/stdout or
 *     /proc/self/fd/N when stdout is a file): written directly, appended
 *     to, never renamed over; a FIFO without a reader is refused at
 *     once rather than waited on, and a write error (ENOSPC on /dev/full)
 *     is reported;
 *   - a directory, a block device or a socket: refused, never replaced.
 *
 * Temporary files still being written are listed, so that a fatal signal's
 * handler can remove them (cnn_atomic_cleanup) before the process dies.
 */
#ifndef CNN_ATOMIC_H
#define CNN_ATOMIC_H

#include <stddef.h>

typedef struct cnn_atomic {
    int fd;          /* write the contents here */
    char *tmp;       /* the temporary file's path; NULL when direct */
    char *path;      /* the destination (a link's target when it is one) */
} cnn_atomic;

/* Check that path can be written as above, without writing anything: its
   directory exists and is writable, it is not a directory, block device,
   socket or dangling link.  CNN_OK, or CNN_ERR_IO with the message set
   (naming path). */
int cnn_atomic_check(const char *path);

/* Create the temporary file next to path (or open a device or FIFO).
   Returns CNN_OK, or CNN_ERR_ARG / CNN_ERR_IO / CNN_ERR_NOMEM with the
   message set (naming path). */
int cnn_atomic_open(cnn_atomic *a, const char *path);

/* Sync, close and rename into place, then sync the directory (a device or
   FIFO is only closed).  On failure the temporary file is removed and the
   destination left as it was.  err, when non-zero, is an errno from the
   caller's writes: the file is then abandoned and the error reported as
   "write failed". */
int cnn_atomic_commit(cnn_atomic *a, int err);

/* Abandon the file: close and remove the temporary (no message). */
void cnn_atomic_abort(cnn_atomic *a);

/* Remove every temporary file still being written.  Async-signal-safe:
   for a fatal signal's handler, just before the process dies. */
void cnn_atomic_cleanup(void);

/* write(2) all of buf, retrying short writes and EINTR; 0 or -1 (errno). */
int cnn_write_all(int fd, const void *buf, size_t len);

#endif /* CNN_ATOMIC_H */
