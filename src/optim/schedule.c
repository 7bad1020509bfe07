/*
 * schedule.c — the learning-rate schedules and their list:
 *   constant          lr
 *   step[:E:F]        lr * F^floor(epoch / E), epoch 0-based (default
 *                     step:1:0.95, the 0.95^epoch of the GUIDE's recipe)
 *   cosine            lr * (1 + cos(pi * (s - W) / (total - W))) / 2 after
 *                     the W warmup steps: from lr down towards 0
 *   onecycle          PyTorch's OneCycleLR with its defaults (max lr = lr,
 *                     pct_start 0.3, div_factor 25, final_div_factor 1e4,
 *                     cosine annealing); beta1 and momentum are not cycled
 * Warmup (constant, step and cosine): during the first W steps the rate is
 * multiplied by (s + 1) / W.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

static double constant_lr(const cnn_schedule_params *p, double base, long s, long total,
                          long spe)
{
    (void)p, (void)s, (void)total, (void)spe;
    return base;
}

/* "E:F": E a whole number of epochs from 1 to 1000000, F in (0, 1]. */
static const char *step_parse(const char *args, cnn_schedule_params *p)
{
    static const char expect[] = "step or step:E:F with E epochs from 1 to 1000000 and F "
                                 "in (0, 1]";
    p->every = 1, p->factor = 0.95f;
    if (!args)
        return NULL;
    char *end;
    long e = strtol(args, &end, 10);
    /* Both numbers start with a digit: strtol and strtod would skip blanks
       and take a sign. */
    if (!isdigit((unsigned char)args[0]) || end == args || *end != ':' || e < 1 ||
        e > 1000000)
        return expect;
    const char *f_text = end + 1;
    double f = strtod(f_text, &end);
    if (!(isdigit((unsigned char)*f_text) || *f_text == '.') || end == f_text || *end || !(f > 0 && f <= 1) ||
        !((float)f > 0))
        return expect;
    p->every = (int)e, p->factor = (float)f;
    return NULL;
}

static double step_lr(const cnn_schedule_params *p, double base, long s, long total, long spe)
{
    (void)total;
    long epoch = spe > 0 ? s / spe : 0;
    return base * pow(p->factor, (double)(epoch / p->every));
}

static double cosine_lr(const cnn_schedule_params *p, double base, long s, long total,
                        long spe)
{
    (void)spe;
    long span = total - p->warmup;
    /* A warmup as long as the run leaves nothing to anneal: the base rate. */
    double x = span > 0 ? (double)(s - p->warmup) / (double)span : 0;
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    return base * 0.5 * (1 + cos(M_PI * x));
}

/* From start at x = 0 to end at x = 1 along half a cosine. */
static double anneal(double start, double end, double x)
{
    return end + (start - end) / 2 * (cos(M_PI * x) + 1);
}

static double onecycle_lr(const cnn_schedule_params *p, double base, long s, long total,
                          long spe)
{
    (void)p, (void)spe;
    const double initial = base / 25, final = initial / 1e4;
    const double up_end = 0.3 * (double)total - 1, down_end = (double)total - 1;
    if ((double)s <= up_end)
        return anneal(initial, base, up_end > 0 ? (double)s / up_end : 1);
    double x = down_end > up_end ? ((double)s - up_end) / (down_end - up_end) : 1;
    return anneal(base, final, x > 1 ? 1 : x);
}

static const cnn_schedule constant = {"constant", 1, 0, NULL, constant_lr};
static const cnn_schedule step = {"step", 1, 0, step_parse, step_lr};
static const cnn_schedule cosine = {"cosine", 1, 1, NULL, cosine_lr};
static const cnn_schedule onecycle = {"onecycle", 0, 1, NULL, onecycle_lr};

const cnn_schedule *const cnn_schedules[] = {&constant, &step, &cosine, &onecycle, NULL};

long cnn_schedule_warmup_steps(int warmup_epochs, long warmup_steps, long spe)
{
    return warmup_epochs ? (long)warmup_epochs * spe : warmup_steps;
}

const char *cnn_schedule_parse(const char *text, cnn_schedule_params *p)
{
    static char msg[160];
    if (!text || !*text)
        text = "constant";
    size_t n = strcspn(text, ":");
    const char *args = text[n] == ':' ? text + n + 1 : NULL;
    for (int i = 0; cnn_schedules[i]; i++) {
        const cnn_schedule *k = cnn_schedules[i];
        if (strlen(k->name) != n || strncmp(k->name, text, n) != 0)
            continue;
        if (args && !k->parse) {
            snprintf(msg, sizeof msg, "schedule '%.40s': %s takes no settings", text, k->name);
            return msg;
        }
        const char *bad = k->parse ? k->parse(args, p) : NULL;
        if (bad) {
            snprintf(msg, sizeof msg, "schedule '%.40s': expected %s", text, bad);
            return msg;
        }
        p->kind = k;
        return NULL;
    }
    snprintf(msg, sizeof msg, "unknown schedule '%.40s' (constant, step[:E:F], cosine or "
             "onecycle)", text);
    return msg;
}

void cnn_schedule_format(const cnn_schedule_params *p, char *buf, size_t size)
{
    const cnn_schedule *k = p->kind ? p->kind : cnn_schedules[0];
    char f[32];
    /* the fewest digits that read back as the same float (0.95, not
       0.949999988) */
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(f, sizeof f, "%.*g", digits, (double)p->factor);
        if ((float)strtod(f, NULL) == p->factor)
            break;
    }
    if (k->parse)
        snprintf(buf, size, "%s:%d:%s", k->name, p->every, f);
    else
        snprintf(buf, size, "%s", k->name);
}

double cnn_schedule_lr(const cnn_schedule_params *p, double base, long s, long total,
                       long spe)
{
    const cnn_schedule *k = p->kind ? p->kind : cnn_schedules[0];
    double lr = k->lr(p, base, s, total, spe);
    if (k->warmup_ok && s < p->warmup)
        lr *= (double)(s + 1) / (double)p->warmup;
    return lr;
}
