/*
 * augment_text.c — augmentation settings as text (augment.h): parsing
 * "shift=2,rotate=10,zoom=0.1" with its range checks, the canonical text
 * back, and the check of the shift against an image's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"

enum { SETTINGS = 4 };

/* Each setting: its name, its bounds and what its value is. */
static const struct {
    const char *name;
    float hi;
    const char *unit;
} settings[SETTINGS] = {
    {"shift", 2048.0f, "pixels"},
    {"rotate", 180.0f, "degrees"},
    {"zoom", 0.5f, "(a fraction)"},
    {"flip", 1.0f, "(a probability)"},
};

static _Thread_local char msg[200];

/* The setting's slot in a. */
static float *slot(cnn_augment *a, int i)
{
    return i == 0 ? &a->shift : i == 1 ? &a->rotate : i == 2 ? &a->zoom : &a->flip;
}

/* A decimal number, the whole of [s, end), into *out; 0 when it is not. */
static int number(const char *s, const char *end, double *out)
{
    if (s == end || strspn(s, "0123456789.eE+-") < (size_t)(end - s))
        return 0;
    char *stop;
    *out = strtod(s, &stop);
    return stop == end;
}

/* One "name=value" of [s, end) into a; NULL or the reason. */
static const char *item(const char *text, const char *s, const char *end, cnn_augment *a,
                        int *seen)
{
    int n = (int)(end - s);
    const char *eq = memchr(s, '=', (size_t)n);
    if (!eq) {
        snprintf(msg, sizeof msg, "augment '%.60s': expected NAME=VALUE, got '%.*s'", text,
                 n > 40 ? 40 : n, s);
        return msg;
    }
    int k = (int)(eq - s), i = 0;
    while (i < SETTINGS &&
           (strlen(settings[i].name) != (size_t)k || strncmp(settings[i].name, s, k)))
        i++;
    if (i == SETTINGS) {
        snprintf(msg, sizeof msg, "augment '%.60s': unknown setting '%.*s' (shift, rotate, "
                 "zoom or flip)", text, k > 40 ? 40 : k, s);
        return msg;
    }
    if (*seen & (1 << i)) {
        snprintf(msg, sizeof msg, "augment '%.60s': %s is given twice", text, settings[i].name);
        return msg;
    }
    double v;
    if (!number(eq + 1, end, &v) || !(v >= 0 && v <= settings[i].hi)) {
        snprintf(msg, sizeof msg, "augment '%.60s': %s needs a number from 0 to %g %s, got "
                 "'%.*s'", text, settings[i].name, (double)settings[i].hi, settings[i].unit,
                 (int)(end - eq - 1) > 40 ? 40 : (int)(end - eq - 1), eq + 1);
        return msg;
    }
    *seen |= 1 << i;
    *slot(a, i) = (float)v;
    return NULL;
}

int cnn_augment_parse(const char *text, cnn_augment *out, const char **why)
{
    cnn_augment a = {0, 0, 0, 0};
    if (text && *text && strcmp(text, "none") != 0) {
        int seen = 0;
        for (const char *s = text;; s++) {
            const char *end = s + strcspn(s, ",");
            const char *bad = item(text, s, end, &a, &seen);
            if (bad) {
                *why = bad;
                return -1;
            }
            if (!*end)
                break;
            s = end;
        }
    }
    *out = a;
    return 0;
}

void cnn_augment_format(const cnn_augment *a, char *buf, size_t size)
{
    cnn_augment c = *a;
    *buf = 0;
    for (int i = 0; i < SETTINGS; i++) {
        float v = *slot(&c, i);
        if (v == 0)
            continue;
        char f[32];
        for (int digits = 6; digits <= 9; digits++) { /* 0.1, not 0.100000001 */
            snprintf(f, sizeof f, "%.*g", digits, (double)v);
            if ((float)strtod(f, NULL) == v)
                break;
        }
        size_t at = strlen(buf);
        snprintf(buf + at, size - at, "%s%s=%s", at ? "," : "", settings[i].name, f);
    }
    if (!*buf)
        snprintf(buf, size, "none");
}

const char *cnn_augment_fits(const cnn_augment *a, int h, int w)
{
    int side = h < w ? h : w;
    if (a->shift <= side / 2.0f)
        return NULL;
    snprintf(msg, sizeof msg, "augment shift=%g is more than half the image's %dx%d (at "
             "most %g pixels)", (double)a->shift, h, w, side / 2.0);
    return msg;
}
