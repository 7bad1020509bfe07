/*
 * atomic.c — all-or-nothing file writes: temporary file, fsync, rename,
 * directory fsync (see atomic.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkstemp, fsync, fchmod, O_CLOEXEC, O_DIRECTORY */
#endif
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

int cnn_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int cnn_atomic_open(cnn_atomic *a, const char *path)
{
    a->fd = -1;
    a->tmp = a->path = NULL;
    if (!path || !*path)
        return cnn_fail(CNN_ERR_ARG, "no output path");
    size_t len = strlen(path);
    a->path = strdup(path);
    a->tmp = malloc(len + 16);
    if (!a->path || !a->tmp) {
        free(a->path), free(a->tmp);
        a->path = a->tmp = NULL;
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(a->tmp, len + 16, "%s.tmp.XXXXXX", path);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        int e = errno;
        free(a->path), free(a->tmp);
        a->path = a->tmp = NULL;
        return cnn_fail(CNN_ERR_IO, "%s: cannot create a temporary file: %s", path,
                        strerror(e));
    }
    /* mkstemp makes the file 0600; keep the mode of a file being replaced,
       else use rw-r--r-- (nothing written here is secret).  Failing to
       change it is not fatal. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644;
    if (fchmod(a->fd, mode) != 0) {
        /* the file is still written, mode 0600 */
    }
    return CNN_OK;
}

void cnn_atomic_abort(cnn_atomic *a)
{
    if (a->fd >= 0)
        close(a->fd);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp), free(a->path);
    a->fd = -1;
    a->tmp = a->path = NULL;
}

/* Sync the directory holding path, so that the rename is durable.  File
   systems that cannot sync a directory say EINVAL; that is no error. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : strdup(".");
    if (!dir)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    int st = CNN_OK;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP))
        st = cnn_fail(CNN_ERR_IO, "%s: syncing directory %s: %s", path, dir,
                      strerror(errno));
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return st;
}

int cnn_atomic_commit(cnn_atomic *a, int err)
{
    const char *step = "write failed";
    if (!err && fsync(a->fd) != 0)
        err = errno, step = "fsync failed";
    if (close(a->fd) != 0 && !err)
        err = errno, step = "close failed";
    a->fd = -1;
    if (!err && rename(a->tmp, a->path) != 0)
        err = errno, step = "rename failed";
    int st;
    if (err) {
        st = cnn_fail(CNN_ERR_IO, "%s: %s: %s", a->path, step, strerror(err));
        unlink(a->tmp);
    } else {
        st = sync_dir(a->path);
    }
    free(a->tmp), free(a->path);
    a->tmp = a->path = NULL;
    return st;
}
