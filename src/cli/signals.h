/*
 * signals.h — the cnn command's signal handling.  Every command: a fatal
 * SIGINT, SIGTERM, SIGHUP or SIGPIPE first removes the temporary files
 * still being written (no .tmp.XXXXXX is left beside a target), then ends
 * the process as the default action would.  `cnn train`, from before the
 * first step until its last file is written: SIGINT and SIGTERM ask it to
 * stop (the flag cnn_train polls); a second one ends it at once, temporary
 * files removed.  A signal ignored on entry (a background job's SIGINT)
 * stays ignored.
 */
#ifndef CNN_CLI_SIGNALS_H
#define CNN_CLI_SIGNALS_H

#include <signal.h>

/* Set by the training handler (and by the trainer's callbacks to stop). */
extern volatile sig_atomic_t signals_cancel;

/* The first signal the training handler saw, else 0. */
int signals_seen(void);

/* For every command, at start: the cleanup-then-die handlers. */
void signals_install_cleanup(void);

/* cnn train: the stop-asking handlers, until signals_train_end. */
void signals_train_begin(void);
void signals_train_end(void);

#endif /* CNN_CLI_SIGNALS_H */
