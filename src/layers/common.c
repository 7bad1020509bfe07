/*
 * common.c — what the layer kinds share: number parsing for spec items,
 * keyword matching, items that are a kind's bare name, the element-wise
 * shape rule, the summary texts of a kind without settings, and a layer's
 * output size.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"

int cnn_layer_parse_int(const char **p, int max, int *out)
{
    if (!isdigit((unsigned char)**p))
        return 0;
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || v < 1 || v > max)
        return 0;
    *p = end;
    *out = (int)v;
    return 1;
}

int cnn_layer_parse_real(const char **p, double lo, double hi, float *out)
{
    if (!isdigit((unsigned char)**p) && **p != '.' && **p != '-')
        return 0;
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (errno || end == *p || !isfinite(v) || v < lo || v > hi)
        return 0;
    *p = end;
    *out = (float)v;
    return 1;
}

void cnn_layer_format_real(char *buf, size_t size, const char *prefix, float v)
{
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, size, "%s%.*g", prefix, digits, (double)v);
        if (strlen(buf) >= strlen(prefix) && strtof(buf + strlen(prefix), NULL) == v)
            return;
    }
}

int cnn_layer_keyword(const char *s, const char *e, const char *word, const char **rest)
{
    size_t n = strlen(word);
    if ((size_t)(e - s) < n || memcmp(s, word, n) != 0)
        return 0;
    *rest = s + n;
    return 1;
}

int cnn_layer_parse_name(const char *s, const char *e, cnn_layer *L, const char **why)
{
    (void)why;
    size_t n = strlen(L->op->name);
    return (size_t)(e - s) == n && memcmp(s, L->op->name, n) == 0;
}

void cnn_layer_format_name(const cnn_layer *L, char *buf, size_t size)
{
    snprintf(buf, size, "%s", L->op->name);
}

int cnn_layer_shape_same(cnn_layer *L, int layer)
{
    (void)layer;
    L->g.out_h = L->g.in_h;
    L->g.out_w = L->g.in_w;
    L->g.out_c = L->g.in_c;
    return CNN_OK;
}

void cnn_layer_name_text(cnn_layer_text *t, const char *keras)
{
    snprintf(t->row, sizeof t->row, "%s", keras);
    snprintf(t->keras, sizeof t->keras, "%s", keras);
}

size_t cnn_layer_out_size(const cnn_layer *L)
{
    if (L->op->alias)
        return 0;
    return (size_t)L->g.out_h * L->g.out_w * L->g.out_c;
}
