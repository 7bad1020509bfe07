/*
 * atomic.c — all-or-nothing file writes: what stands at the destination,
 * temporary file, fsync, rename, directory fsync; devices and FIFOs written
 * directly; the list of live temporary files for signal handlers (see
 * atomic.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkstemp, fsync, fchmod, O_CLOEXEC, O_DIRECTORY */
#endif
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "files.h"

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

/* ------------------------------------------------- live temporary files */

/* More than the cnn command ever writes at once (a checkpoint and a log). */
#define MAX_LIVE 8
static char *volatile live[MAX_LIVE];

static void live_add(char *tmp)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (!live[i]) {
            live[i] = tmp;
            return;
        }
}

static void live_remove(const char *tmp)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == tmp)
            live[i] = NULL;
}

void cnn_atomic_cleanup(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        char *t = live[i];
        if (t)
            unlink(t);
    }
}

/* ------------------------------------------------------- the destination */

enum { DEST_FILE, DEST_DIRECT };

/* What to do with path: *kind DEST_FILE with *target the file to replace
   (path, or a link's target; malloc'ed), or DEST_DIRECT (a character
   device or FIFO, *target NULL).  Else the message is set. */
/* Whether path or a link on its way names an open descriptor
   (/dev/stdout -> /proc/self/fd/1, /dev/fd/N): the file behind it is the
   caller's, to be written into, never replaced. */
static int through_descriptor(const char *path)
{
    char cur[4096], next[4096];
    snprintf(cur, sizeof cur, "%s", path);
    for (int hops = 0; hops < 40; hops++) {
        if (!strncmp(cur, "/proc/", 6) || !strncmp(cur, "/dev/fd/", 8))
            return 1;
        ssize_t n = readlink(cur, next, sizeof next - 1);
        if (n < 0)
            return 0;
        next[n] = 0;
        memcpy(cur, next, (size_t)n + 1);
    }
    return 0;
}

static int resolve(const char *path, int *kind, char **target)
{
    struct stat lst, st;
    *target = NULL;
    if (!path || !*path)
        return cnn_fail(CNN_ERR_ARG, "no output path (an empty name)");
    if (lstat(path, &lst) != 0) {
        if (errno != ENOENT)
            return cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno));
        *kind = DEST_FILE;
        *target = strdup(path);
        return *target ? CNN_OK : cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    st = lst;
    if (S_ISLNK(lst.st_mode) && stat(path, &st) != 0)
        return cnn_fail(CNN_ERR_IO, "%s: is a symbolic link to nothing (%s); "
                        "name the file itself", path, strerror(errno));
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ||
        (S_ISREG(st.st_mode) && through_descriptor(path))) {
        *kind = DEST_DIRECT;
        return CNN_OK;
    }
    if (!S_ISREG(st.st_mode))
        return cnn_fail(CNN_ERR_IO, "%s: is %s; cnn writes only regular files, "
                        "character devices and FIFOs", path, cnn_file_type(st.st_mode));
    *kind = DEST_FILE;
    *target = S_ISLNK(lst.st_mode) ? realpath(path, NULL) : strdup(path);
    return *target ? CNN_OK : cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno));
}

/* The directory that will hold target exists and takes new files. */
static int check_dir(const char *path, const char *target)
{
    char *dir = cnn_dir_of(target);
    if (!dir)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    struct stat st;
    int rc = CNN_OK;
    if (stat(dir, &st) != 0)
        rc = cnn_fail(CNN_ERR_IO, "%s: directory %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = cnn_fail(CNN_ERR_IO, "%s: %s is not a directory", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = cnn_fail(CNN_ERR_IO, "%s: cannot write in directory %s: %s", path, dir,
                      strerror(errno));
    free(dir);
    return rc;
}

int cnn_atomic_check(const char *path)
{
    int kind;
    char *target;
    int rc = resolve(path, &kind, &target);
    if (rc == CNN_OK && kind == DEST_FILE)
        rc = check_dir(path, target);
    free(target);
    return rc;
}

/* A character device or FIFO: opened for writing as it is.  Non-blocking
   for the open, so that a FIFO nobody reads fails now (ENXIO). */
static int open_direct(cnn_atomic *a, const char *path)
{
    a->path = strdup(path);
    if (!a->path)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    /* appending: a regular file behind a descriptor (>> or >) keeps what
       was written before */
    a->fd = cnn_open_now(path, O_WRONLY | O_APPEND);
    if (a->fd < 0) {
        int e = errno;
        free(a->path);
        a->path = NULL;
        if (e == ENXIO)
            return cnn_fail(CNN_ERR_IO, "%s: a FIFO that nothing reads", path);
        return cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(e));
    }
    return CNN_OK;
}

int cnn_atomic_open(cnn_atomic *a, const char *path)
{
    a->fd = -1;
    a->tmp = a->path = NULL;
    int kind;
    char *target;
    int rc = resolve(path, &kind, &target);
    if (rc != CNN_OK)
        return rc;
    if (kind == DEST_DIRECT)
        return open_direct(a, path);
    size_t len = strlen(target);
    a->path = target;
    a->tmp = malloc(len + 16);
    if (!a->tmp) {
        free(a->path);
        a->path = NULL;
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(a->tmp, len + 16, "%s.tmp.XXXXXX", target);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        int e = errno;
        rc = check_dir(path, target); /* the better message, when it has one */
        free(a->path), free(a->tmp);
        a->path = a->tmp = NULL;
        return rc != CNN_OK ? rc : cnn_fail(CNN_ERR_IO, "%s: cannot create a temporary "
                                            "file: %s", path, strerror(e));
    }
    live_add(a->tmp);
    /* mkstemp makes the file 0600; keep the mode of a file being replaced,
       else use rw-r--r-- (nothing written here is secret).  Failing to
       change it is not fatal. */
    struct stat old;
    mode_t mode = stat(target, &old) == 0 ? (old.st_mode & 07777) : 0644;
    if (fchmod(a->fd, mode) != 0) {
        /* the file is still written, mode 0600 */
    }
    return CNN_OK;
}

static void release(cnn_atomic *a)
{
    if (a->tmp) {
        live_remove(a->tmp);
        unlink(a->tmp);
    }
    free(a->tmp), free(a->path);
    a->tmp = a->path = NULL;
}

void cnn_atomic_abort(cnn_atomic *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    release(a);
}

/* Sync the directory holding path, so that the rename is durable.  File
   systems that cannot sync a directory say EINVAL; that is no error. */
static int sync_dir(const char *path)
{
    char *dir = cnn_dir_of(path);
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
    int direct = a->tmp == NULL;
    if (!err && !direct && fsync(a->fd) != 0)
        err = errno, step = "fsync failed";
    if (close(a->fd) != 0 && !err)
        err = errno, step = "close failed";
    a->fd = -1;
    if (!err && !direct && rename(a->tmp, a->path) != 0)
        err = errno, step = "rename failed";
    int st = CNN_OK;
    if (err)
        st = cnn_fail(CNN_ERR_IO, "%s: %s: %s", a->path, step, strerror(err));
    else if (!direct) {
        live_remove(a->tmp);
        free(a->tmp);
        a->tmp = NULL; /* renamed: nothing to remove */
        st = sync_dir(a->path);
    }
    release(a);
    return st;
}
