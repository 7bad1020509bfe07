/*
 * metrics.h — the training metrics log of the cnn command (`cnn train
 * --log FILE`) and its reader (`cnn plot`).  One record per line, CSV with
 * a header line (.csv) or JSON Lines (.jsonl or .json), fields:
 *
 *   kind            "epoch" (the epoch's last step) or "step"
 *   epoch           1-based
 *   step            optimizer steps since training began (global)
 *   epoch_fraction  epoch - 1 + step in epoch / steps per epoch (for plots)
 *   loss, accuracy  running means over the epoch so far
 *   val_loss, val_accuracy   the test split's, when validated (CSV: empty,
 *                   JSON: null otherwise)
 *   images_per_s    training speed of this run so far
 *   wall_s          training seconds since training began
 *
 * Each record is one complete line written with a single write(2) to a
 * descriptor opened O_APPEND, so a crash never leaves half a line.
 */
#ifndef CNN_CLI_METRICS_H
#define CNN_CLI_METRICS_H

#include <stddef.h>

#include "cnn.h"

typedef struct metrics_log metrics_log;

/* 1 when path's extension names a log format (.csv, .jsonl, .json). */
int metrics_format_ok(const char *path);

/* Open the log at path.  resume_after < 0: a new log, replacing the file.
   resume_after >= 0 (a resumed run): keep the records whose step is at
   most resume_after, then append; a missing file is created.  The
   existing file is read now but left as it is until the first record:
   then the kept start is written atomically and records appended.  Returns the log, or NULL after printing a
   one-line error naming path. */
metrics_log *metrics_open(const char *path, long resume_after);

/* Append one record for p.  Returns 0, or -1 after a one-line error. */
int metrics_write(metrics_log *l, const cnn_progress *p);

/* Sync and close the log and free l (NULL is fine).  Returns 0, or -1
   after a one-line error. */
int metrics_close(metrics_log *l);

/* One record as read back; absent or null numbers are NAN. */
typedef struct metrics_record {
    int is_epoch;           /* kind "epoch" (else "step") */
    int epoch;
    long step;
    double epoch_fraction;  /* the epoch for an epoch record without one */
    double loss, accuracy, val_loss, val_accuracy, images_per_s, wall_s;
    long line;              /* 1-based line number in the file */
} metrics_record;

/* Read the log at path: CSV or JSON Lines by extension, by content when
   the extension is neither.  Blank lines are skipped.  Returns 0 with at
   least one record in *out (free() it) and their count, or -1 after a
   one-line error naming path and, for a malformed line, its number. */
int metrics_read(const char *path, metrics_record **out, size_t *count);

#endif /* CNN_CLI_METRICS_H */
