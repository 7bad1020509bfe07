/*
 * outfile.c — all-or-nothing output files for the cnn command, on top of
 * the library's temporary-file-and-rename writer (src/atomic.c).
 */
#include "outfile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int outfile_open(outfile *o, const char *path)
{
    o->is_stdout = path[0] == '-' && path[1] == 0;
    if (o->is_stdout) {
        o->f = stdout;
        return 0;
    }
    o->f = NULL;
    if (cnn_atomic_open(&o->a, path) != CNN_OK) {
        cli_say("%s", cnn_last_error());
        return -1;
    }
    o->f = fdopen(o->a.fd, "w");
    if (!o->f) {
        cli_say("%s: %s", path, strerror(errno));
        cnn_atomic_abort(&o->a);
        return -1;
    }
    return 0;
}

int outfile_commit(outfile *o)
{
    if (o->is_stdout) {
        int before = ferror(stdout); /* an earlier write's reason is lost */
        errno = 0;
        if (fflush(stdout) == 0 && !ferror(stdout))
            return 0;
        if (before || !errno)
            cli_say("stdout: write failed");
        else
            cli_say("stdout: write failed: %s", strerror(errno));
        return -1;
    }
    /* Flush the stream, then hand its descriptor (a dup, since fclose
       closes the original) to the atomic writer for fsync and rename. */
    int err = fflush(o->f) != 0 || ferror(o->f) ? (errno ? errno : EIO) : 0;
    int fd = dup(o->a.fd);
    if (fd < 0 && !err)
        err = errno;
    fclose(o->f);
    o->f = NULL;
    o->a.fd = fd;
    if (fd < 0) {
        cnn_atomic_abort(&o->a);
        cli_say("output: %s", strerror(err));
        return -1;
    }
    if (cnn_atomic_commit(&o->a, err) != CNN_OK) {
        cli_say("%s", cnn_last_error());
        return -1;
    }
    return 0;
}

void outfile_abort(outfile *o)
{
    if (o->is_stdout)
        return;
    if (o->f) {
        int fd = dup(o->a.fd);
        fclose(o->f);
        o->f = NULL;
        o->a.fd = fd;
    }
    cnn_atomic_abort(&o->a);
}
