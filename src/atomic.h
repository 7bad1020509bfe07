/*
 * atomic.h — files that appear whole or not at all: written to a temporary
 * file in the destination's directory, synced, renamed over the
 * destination, and the directory synced.  An existing file is replaced only
 * when everything succeeded.  Used by weights and checkpoint saving and by
 * the cnn command for every file it writes.
 */
#ifndef CNN_ATOMIC_H
#define CNN_ATOMIC_H

#include <stddef.h>

typedef struct cnn_atomic {
    int fd;          /* write the contents here */
    char *tmp;       /* the temporary file's path */
    char *path;      /* the destination */
} cnn_atomic;

/* Create the temporary file next to path.  Returns CNN_OK, or CNN_ERR_IO /
   CNN_ERR_NOMEM with the message set (naming path). */
int cnn_atomic_open(cnn_atomic *a, const char *path);

/* Sync, close and rename into place, then sync the directory.  On failure
   the temporary file is removed and the destination left as it was.
   err, when non-zero, is an errno from the caller's writes: the file is
   then abandoned and the error reported as "write failed". */
int cnn_atomic_commit(cnn_atomic *a, int err);

/* Abandon the file: close and remove the temporary (no message). */
void cnn_atomic_abort(cnn_atomic *a);

/* write(2) all of buf, retrying short writes and EINTR; 0 or -1 (errno). */
int cnn_write_all(int fd, const void *buf, size_t len);

#endif /* CNN_ATOMIC_H */
