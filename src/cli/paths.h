/*
 * paths.h — the files a command reads and writes, checked before its work
 * starts: every output can be written where it is going (atomic.h's rules
 * for devices, FIFOs and links), and no output is an input or another
 * output, compared by device and inode (a link or another spelling of the
 * path is the same file).
 */
#ifndef CNN_CLI_PATHS_H
#define CNN_CLI_PATHS_H

#define PATHS_MAX 80 /* 64 images to predict, their weights, data and output */

typedef struct cli_paths {
    struct {
        const char *option;   /* "--save", "--data" */
        const char *path;
        const char *may_be;   /* an output: the input option it may equal */
        int output;
    } p[PATHS_MAX];
    int n;
} cli_paths;

/* Add an input; a NULL path is skipped. */
void paths_input(cli_paths *ps, const char *option, const char *path);

/* Add the IDX files of --data DIR's split ("train" or "test"), raw and
   .gz: those that exist. */
void paths_data(cli_paths *ps, const char *dir, const char *split);

/* Add an output; a NULL path and "-" (stdout) are skipped.  may_be names
   an input option this output may be (a checkpoint written back into the
   one resumed), or NULL. */
void paths_output(cli_paths *ps, const char *option, const char *path, const char *may_be);

/* Check them: -1 when all is well, else the exit code after one line. */
int paths_check(const cli_paths *ps);

#endif /* CNN_CLI_PATHS_H */
