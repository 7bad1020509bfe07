/*
 * progress.c — renders training progress on stderr (progress.h).  On a
 * terminal: a bar line ("epoch: 1/3  412/1875 [======>....]  eta: 0:02
 * loss: 0.3102  acc: 0.9051") redrawn in place at most ten times a second,
 * cut to the terminal's width less one column (fields dropped, then the
 * line cut) so it never wraps; the width is measured with TIOCGWINSZ at the
 * start and again at the first redraw after a SIGWINCH, whose handler only
 * sets a flag.  At an epoch's end the bar gives way to the epoch summary,
 * wrapped between its fields to the width.  In plain mode: the summary
 * alone, one line per epoch, no carriage return, no escape code.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
    (void)sig;
    winch = 1;
}

/* The terminal's columns: TIOCGWINSZ on stderr, else $COLUMNS, else 80. */
static int measure(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    int n = cols ? atoi(cols) : 0;
    return n > 0 ? n : 80;
}

void progress_begin(progress_state *ps, int quiet)
{
    const char *term = getenv("TERM");
    memset(ps, 0, sizeof *ps);
    ps->quiet = quiet;
    ps->tty = !quiet && isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb") != 0;
    if (!ps->tty)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    winch = 0;
    sigaction(SIGWINCH, &sa, &ps->old_winch);
    ps->width = measure();
}

void progress_end(progress_state *ps)
{
    if (!ps->tty)
        return;
    if (ps->drawn)
        fputc('\n', stderr);
    ps->ended_line = ps->drawn > 0;
    ps->drawn = 0;
    sigaction(SIGWINCH, &ps->old_winch, NULL);
    ps->tty = 0;
}

static void format_time(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* The summary's fields, each "name: value"; their count. */
enum { FIELDS = 7, FIELD = 40 };
static int epoch_fields(const cnn_progress *p, progress_state *ps, char f[FIELDS][FIELD])
{
    /* This epoch's training seconds: since the last epoch's end, or since
       this run began (train_s - run_s: the seconds of a resumed run). */
    double before = ps->started ? ps->train_s : p->train_s - p->run_s;
    double secs = p->train_s - before;
    long images = ps->started || p->images <= p->run_images ? p->images : p->run_images;
    ps->train_s = p->train_s, ps->started = 1;
    int n = 0;
    snprintf(f[n++], FIELD, "epoch: %d/%d", p->epoch, p->epochs);
    snprintf(f[n++], FIELD, "loss: %.4f", p->loss);
    snprintf(f[n++], FIELD, "acc: %.4f", p->accuracy);
    if (p->validated) {
        snprintf(f[n++], FIELD, "val_loss: %.4f", p->val_loss);
        snprintf(f[n++], FIELD, "val_acc: %.4f", p->val_accuracy);
    }
    snprintf(f[n++], FIELD, secs < 99.95 ? "time: %.1fs" : "time: %.0fs", secs);
    snprintf(f[n++], FIELD, "img/s: %.0f", secs > 0 ? (double)images / secs : 0.0);
    return n;
}

/* The fields joined by sep into buf; the length. */
static size_t join(char f[FIELDS][FIELD], int n, const char *sep, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? sep : "", f[i]);
    return at;
}

/* Two spaces between fields, one when that would pass 100 columns (a
   run of 100 epochs or more, a long time). */
void progress_epoch_line(const cnn_progress *p, progress_state *ps, char *buf, size_t size)
{
    char f[FIELDS][FIELD];
    int n = epoch_fields(p, ps, f);
    if (join(f, n, "  ", buf, size) >= 100)
        join(f, n, " ", buf, size);
}

/* The summary on a terminal: over the bar, its fields wrapped to fit,
   in one write (a resize never falls inside it). */
static void draw_summary(const cnn_progress *p, progress_state *ps)
{
    char f[FIELDS][FIELD], out[FIELDS * (FIELD + 8) + 8];
    int n = epoch_fields(p, ps, f), room = ps->width - 1, col = 0;
    size_t at = 0;
    out[at++] = '\r';
    for (int i = 0; i < n; i++) {
        int len = (int)strlen(f[i]);
        if (len > room)
            len = room;
        if (col > 0 && col + 2 + len > room) {
            at += (size_t)snprintf(out + at, sizeof out - at, "\033[K\n");
            col = 0;
        }
        int w = snprintf(out + at, sizeof out - at, "%s%.*s", col ? "  " : "", len, f[i]);
        at += (size_t)w, col += w;
    }
    snprintf(out + at, sizeof out - at, "\033[K\n");
    fputs(out, stderr);
    ps->drawn = 0;
}

/* The bar line's parts, and the sets of them tried, richest first (the
   bar shrinks from 30 columns to 10 before a set is given up). */
enum { P_EPOCH = 1, P_COUNT = 2, P_BAR = 4, P_ETA = 8, P_LOSS = 16, P_ACC = 32 };
static const int bar_sets[] = {
    P_EPOCH | P_COUNT | P_BAR | P_ETA | P_LOSS | P_ACC, P_COUNT | P_BAR | P_ETA | P_LOSS | P_ACC,
    P_COUNT | P_BAR | P_ETA | P_LOSS, P_COUNT | P_ETA | P_LOSS | P_ACC, P_COUNT | P_ETA | P_LOSS,
    P_COUNT | P_LOSS, P_COUNT};
enum { BAR_MAX = 30, BAR_MIN = 10 };

/* The bar line for room columns into out (at most room of them). */
static void bar_line(const cnn_progress *p, int room, char *out, size_t size)
{
    char part[6][FIELD], eta[32];
    double remain = p->step ? p->elapsed_s * (double)(p->steps_per_epoch - p->step) /
                                  (double)p->step
                            : 0;
    format_time(remain, eta, sizeof eta);
    snprintf(part[0], FIELD, "epoch: %d/%d", p->epoch, p->epochs);
    snprintf(part[1], FIELD, "%ld/%ld", p->step, p->steps_per_epoch);
    part[2][0] = 0; /* the bar, drawn below */
    snprintf(part[3], FIELD, "eta: %s", eta);
    snprintf(part[4], FIELD, "loss: %.4f", p->loss);
    snprintf(part[5], FIELD, "acc: %.4f", p->accuracy);
    for (size_t s = 0; s < sizeof bar_sets / sizeof bar_sets[0]; s++) {
        int set = bar_sets[s], fixed = 0, parts = 0;
        for (int k = 0; k < 6; k++)
            if (set & 1 << k && k != 2)
                fixed += (int)strlen(part[k]) + (parts++ ? 2 : 0);
        int bar = set & P_BAR ? room - fixed - 4 : 0; /* "  [" and "]" */
        if (bar > BAR_MAX)
            bar = BAR_MAX;
        if ((set & P_BAR) ? bar < BAR_MIN : fixed > room)
            continue;
        int filled = (int)(bar * p->step / p->steps_per_epoch);
        for (int i = 0; i < bar; i++)
            part[2][i] = i < filled ? '=' : i == filled ? '>' : '.';
        part[2][bar] = 0;
        size_t at = 0;
        for (int k = 0, first = 1; k < 6; k++)
            if (set & 1 << k) {
                at += (size_t)snprintf(out + at, size - at, k == 2 ? "%s[%s]" : "%s%s",
                                       first ? "" : "  ", part[k]);
                first = 0;
            }
        return;
    }
    snprintf(out, size, "%.*s", room > 0 ? room : 0, part[1]);
}

void progress_print(const cnn_progress *p, void *user)
{
    progress_state *ps = user;
    if (ps->quiet)
        return;
    char line[512];
    if (!ps->tty) {
        if (p->epoch_done) {
            progress_epoch_line(p, ps, line, sizeof line);
            fprintf(stderr, "%s\n", line);
        }
        return;
    }
    int resized = winch;
    if (resized) {
        winch = 0;
        int was = ps->width;
        ps->width = measure();
        /* A narrower terminal may have wrapped the line on screen: leave
           it whole and start below it rather than redraw over a part. */
        if (ps->drawn && ps->width < was && ps->drawn >= ps->width)
            fputc('\n', stderr);
    }
    if (p->epoch_done) {
        draw_summary(p, ps);
        ps->last_draw = 0;
        fflush(stderr);
        return;
    }
    if (!resized && p->elapsed_s - ps->last_draw < 0.1 && p->step != 1)
        return;
    ps->last_draw = p->elapsed_s;
    int room = ps->width - 1 < (int)sizeof line - 1 ? ps->width - 1 : (int)sizeof line - 1;
    bar_line(p, room, line, sizeof line);
    ps->drawn = (int)strlen(line);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
}
