/*
 * files.c — opening inputs only when they are regular files, file-type
 * names for messages, and file identity by device and inode (files.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_CLOEXEC, strndup */
#endif
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

const char *cnn_file_type(mode_t mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return "a special file";
}

int cnn_open_now(const char *path, int flags)
{
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

char *cnn_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

int cnn_open_input(const char *path, const char *kind, struct stat *stp)
{
    struct stat st;
    int fd = cnn_open_now(path, O_RDONLY);
    if (fd < 0) {
        /* a socket cannot be opened at all: say what it is */
        int e = errno;
        if (e == ENXIO && stat(path, &st) == 0)
            return cnn_fail(CNN_ERR_IO, "%s: is %s, not a file of %s", path,
                            cnn_file_type(st.st_mode), kind), -1;
        return cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(e)), -1;
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(e)), -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cnn_fail(CNN_ERR_IO, "%s: is %s, not a file of %s", path,
                        cnn_file_type(st.st_mode), kind), -1;
    }
    if (stp)
        *stp = st;
    return fd;
}

/* stat of the directory holding path (following links). */
static int stat_parent(const char *path, struct stat *st)
{
    char *dir = cnn_dir_of(path);
    int rc = dir ? stat(dir, st) : -1;
    free(dir);
    return rc;
}

int cnn_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb)
        return 0;
    const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
    na = na ? na + 1 : a;
    nb = nb ? nb + 1 : b;
    if (strcmp(na, nb) != 0 || stat_parent(a, &sa) != 0 || stat_parent(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
