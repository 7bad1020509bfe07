/*
 * outfile.h — the cnn command's output files (images, logs, predictions):
 * written through a stdio stream into a temporary file and renamed into
 * place on success, so a file is never left half-written.  "-" means
 * stdout.
 */
#ifndef CNN_CLI_OUTFILE_H
#define CNN_CLI_OUTFILE_H

#include <stdio.h>

#include "atomic.h"

typedef struct outfile {
    FILE *f;          /* write here */
    cnn_atomic a;
    int is_stdout;
} outfile;

/* Open path for writing (stdout for "-").  Returns 0, or prints a one-line
   error naming path and returns -1. */
int outfile_open(outfile *o, const char *path);

/* Flush, sync and rename into place.  Returns 0, or prints a one-line error
   (the destination is left as it was) and returns -1. */
int outfile_commit(outfile *o);

/* Abandon the file: nothing appears at the destination. */
void outfile_abort(outfile *o);

#endif /* CNN_CLI_OUTFILE_H */
