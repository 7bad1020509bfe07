/*
 * progress.h — the training progress display of the cnn command: a
 * Keras-like updating line on a terminal, one line per epoch otherwise.
 */
#ifndef CNN_CLI_PROGRESS_H
#define CNN_CLI_PROGRESS_H

#include "cnn.h"

typedef struct progress_state {
    int tty;          /* stderr is a terminal */
    int quiet;
    double last_draw; /* elapsed_s of the last redraw */
} progress_state;

/* cnn_train_config.progress callback; user is a progress_state. */
void progress_print(const cnn_progress *p, void *user);

#endif /* CNN_CLI_PROGRESS_H */
