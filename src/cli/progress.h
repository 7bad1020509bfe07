/*
 * progress.h — the training progress display of the cnn command: on a
 * terminal, a bar redrawn in place that fits the terminal's width (measured
 * again after each SIGWINCH), then one summary per epoch; in plain mode
 * (stderr not a terminal, TERM unset or "dumb") one summary line per epoch
 * and never a carriage return or an escape code.
 */
#ifndef CNN_CLI_PROGRESS_H
#define CNN_CLI_PROGRESS_H

#include <signal.h>

#include "cnn.h"

typedef struct progress_state {
    int tty;           /* a redrawn bar (stderr a terminal that is not dumb) */
    int quiet;
    int width;         /* the terminal's columns, as last measured */
    int drawn;         /* columns of the bar line now on screen, 0: none */
    double last_draw;  /* elapsed_s of the last redraw */
    double train_s;    /* training seconds at the last epoch's end */
    int started;       /* train_s holds a value */
    int ended_line;    /* progress_end ended a bar line */
    struct sigaction old_winch; /* SIGWINCH's action before progress_begin */
} progress_state;

/* Decide the mode from stderr and TERM, measure the width and, on a
   terminal, install the SIGWINCH handler (a flag; SA_RESTART). */
void progress_begin(progress_state *ps, int quiet);
/* End a bar line left unfinished (a run stopped mid-epoch) and put back
   SIGWINCH's previous action.  Safe to call twice. */
void progress_end(progress_state *ps);

/* cnn_train_config.progress callback; user is a progress_state. */
void progress_print(const cnn_progress *p, void *user);

/* The epoch summary, "epoch: 1/3  loss: 0.2240  acc: 0.9320  val_loss:
   0.0824  val_acc: 0.9760  time: 3.2s  img/s: 18540" (val_* with
   --validate; time is the epoch's training seconds without validation,
   img/s its images over them), into buf.  ps carries the previous epoch's
   end; the call moves it on. */
void progress_epoch_line(const cnn_progress *p, progress_state *ps, char *buf, size_t size);

#endif /* CNN_CLI_PROGRESS_H */
