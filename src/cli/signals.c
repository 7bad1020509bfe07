/*
 * signals.c — fatal signals that remove temporary files first, and the
 * training command's stop-at-the-next-step handlers (signals.h).
 */
#include "signals.h"

#include <string.h>

#include "atomic.h"

volatile sig_atomic_t signals_cancel;
static volatile sig_atomic_t seen;
static const int fatal[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define NFATAL (int)(sizeof fatal / sizeof fatal[0])
/* The actions in force before signals_train_begin. */
static struct sigaction before[NFATAL];

int signals_seen(void) { return seen; }

static void die(int sig)
{
    cnn_atomic_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_train_signal(int sig)
{
    if (seen) { /* the second one: stop now, as the default would */
        die(sig);
        return;
    }
    seen = sig;
    signals_cancel = 1;
}

/* handler for each of the first n fatal signals not ignored on entry. */
static void install(void (*handler)(int), int n, struct sigaction *old)
{
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < n; i++) {
        sigaction(fatal[i], NULL, &cur);
        if (old)
            old[i] = cur;
        if (cur.sa_handler != SIG_IGN)
            sigaction(fatal[i], &sa, NULL);
    }
}

void signals_install_cleanup(void) { install(die, NFATAL, NULL); }

void signals_train_begin(void) { install(on_train_signal, 2, before); }

void signals_train_end(void)
{
    for (int i = 0; i < 2; i++)
        sigaction(fatal[i], &before[i], NULL);
}
