/*
 * progress.c — renders training progress on stderr: on a terminal a bar
 * with step/total, elapsed, ETA, running loss and accuracy, redrawn at most
 * ten times a second; otherwise one summary line per epoch.
 */
#include "progress.h"

#include <stdio.h>

static void format_time(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

void progress_print(const cnn_progress *p, void *user)
{
    progress_state *ps = user;
    if (ps->quiet)
        return;
    double ips = p->elapsed_s > 0 ? (double)p->images / p->elapsed_s : 0;
    char val[96] = "";
    if (p->validated)
        snprintf(val, sizeof val, " - val_loss %.4f - val_accuracy %.4f - trained %.1fs",
                 p->val_loss, p->val_accuracy, p->train_s);
    if (!ps->tty) {
        if (p->epoch_done)
            fprintf(stderr,
                    "epoch %d/%d: %ld steps - loss %.4f - accuracy %.4f - %.1fs - %.0f images/s%s\n",
                    p->epoch, p->epochs, p->step, p->loss, p->accuracy, p->elapsed_s, ips, val);
        return;
    }
    if (p->step == 1)
        fprintf(stderr, "Epoch %d/%d\n", p->epoch, p->epochs);
    if (!p->epoch_done && p->elapsed_s - ps->last_draw < 0.1 && p->step != 1)
        return;
    ps->last_draw = p->epoch_done ? 0 : p->elapsed_s;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int filled = (int)(WIDTH * p->step / p->steps_per_epoch);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : i == filled ? '>' : '.';
    bar[WIDTH] = 0;
    char el[32], eta[32];
    format_time(p->elapsed_s, el, sizeof el);
    double remain = p->step ? p->elapsed_s * (double)(p->steps_per_epoch - p->step) / (double)p->step : 0;
    format_time(remain, eta, sizeof eta);
    if (p->epoch_done)
        fprintf(stderr, "\r%ld/%ld [%s] %s %.0f img/s - loss: %.4f - accuracy: %.4f%s\033[K\n",
                p->step, p->steps_per_epoch, bar, el, ips, p->loss, p->accuracy, val);
    else
        fprintf(stderr, "\r%ld/%ld [%s] %s ETA %s - loss: %.4f - accuracy: %.4f\033[K",
                p->step, p->steps_per_epoch, bar, el, eta, p->loss, p->accuracy);
    fflush(stderr);
}
