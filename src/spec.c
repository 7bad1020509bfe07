/*
 * spec.c — the model spec grammar and the preset models.
 *
 *   spec    := layer ( ',' layer )*
 *   layer   := conv | 'relu' | 'flatten' | dense | 'softmax'
 *   conv    := 'conv' K 'x' K [ 's' S ] ':' C [ ':' ( 'same' | 'valid' ) ]
 *   dense   := 'dense' ':' N
 *
 * Spaces around items are ignored; padding defaults to valid (as Keras).
 * Order rules: relu follows a conv or dense; a dense needs a flat input (a
 * flatten, or another dense); no conv after flatten; the spec ends with
 * "dense:N,softmax" (softmax with cross-entropy is the loss).
 */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static const struct {
    const char *name;
    const char *spec;
} presets[] = {
    {"seed", "conv3x3:32:same,relu,conv1x1:16,relu,conv3x3s2:64:same,relu,"
             "conv1x1:16,relu,conv3x3s2:32:same,relu,conv1x1:16,relu,"
             "flatten,dense:10,softmax"},
    {"seed-dense", "conv3x3:32:same,relu,conv3x3s2:64:same,relu,"
                   "conv3x3s2:32:same,relu,flatten,dense:768,relu,"
                   "dense:10,softmax"},
    {"logreg", "flatten,dense:10,softmax"},
};

const char *cnn_model_preset(const char *name_or_spec)
{
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (strcmp(name_or_spec, presets[i].name) == 0)
            return presets[i].spec;
    return name_or_spec;
}

/* Parse a positive decimal integer at *p (at most max); advances *p. */
static int parse_int(const char **p, int max, int *out)
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

/* Parse one item [s, e) into *L; returns 1, or 0 (what is wrong in *why),
   or 2 for softmax. */
static int parse_item(const char *s, const char *e, cnn_layer *L,
                      const char **why)
{
    size_t len = (size_t)(e - s);
    memset(L, 0, sizeof *L);
    *why = "unknown layer";
    if (len == 4 && !memcmp(s, "relu", 4)) {
        L->kind = CNN_LAYER_FLATTEN; /* marker: caller fuses relu */
        L->relu = 1;
        return 1;
    }
    if (len == 7 && !memcmp(s, "flatten", 7)) {
        L->kind = CNN_LAYER_FLATTEN;
        return 1;
    }
    if (len == 7 && !memcmp(s, "softmax", 7))
        return 2;
    const char *p = s;
    if (len > 6 && !memcmp(s, "dense:", 6)) {
        p = s + 6;
        *why = "dense needs a unit count 1..1048576, e.g. dense:10";
        if (!parse_int(&p, 1 << 20, &L->g.out_c) || p != e)
            return 0;
        L->kind = CNN_LAYER_DENSE;
        return 1;
    }
    if (len > 4 && !memcmp(s, "conv", 4)) {
        int k2;
        p = s + 4;
        *why = "conv needs KxK[sS]:C[:same|:valid], e.g. conv3x3s2:64:same";
        if (!parse_int(&p, 64, &L->g.k) || *p++ != 'x' ||
            !parse_int(&p, 64, &k2))
            return 0;
        if (k2 != L->g.k) {
            *why = "only square conv kernels are supported (KxK)";
            return 0;
        }
        L->g.stride = 1;
        if (*p == 's') {
            p++;
            if (!parse_int(&p, 64, &L->g.stride))
                return 0;
        }
        if (p >= e || *p++ != ':' || !parse_int(&p, 1 << 16, &L->g.out_c))
            return 0;
        if (p < e) {
            if (e - p == 5 && !memcmp(p, ":same", 5))
                L->same = 1;
            else if (!(e - p == 6 && !memcmp(p, ":valid", 6)))
                return 0;
        }
        L->kind = CNN_LAYER_CONV;
        return 1;
    }
    return 0;
}

int cnn_spec_parse(const char *spec, cnn_layer *layers, int max)
{
    const char *text = cnn_model_preset(spec);
    int n = 0, saw_softmax = 0, flat = 0;
    const char *p = text;
    for (int item = 1;; item++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == s)
            return cnn_fail(CNN_ERR_SPEC, "model spec: item %d is empty in \"%s\"",
                            item, text);
        if (saw_softmax)
            return cnn_fail(CNN_ERR_SPEC, "model spec: softmax must be the last item");
        cnn_layer L;
        const char *why;
        int r = parse_item(s, e, &L, &why);
        if (r == 0)
            return cnn_fail(CNN_ERR_SPEC, "model spec: item %d \"%.*s\": %s", item,
                            (int)(e - s), s, why);
        if (r == 2) {
            if (n == 0 || layers[n - 1].kind != CNN_LAYER_DENSE || layers[n - 1].relu)
                return cnn_fail(CNN_ERR_SPEC,
                                "model spec: softmax must directly follow a dense layer");
            saw_softmax = 1;
        } else if (L.relu) {
            if (n == 0 || layers[n - 1].kind == CNN_LAYER_FLATTEN || layers[n - 1].relu)
                return cnn_fail(CNN_ERR_SPEC,
                                "model spec: item %d: relu must follow a conv or dense layer",
                                item);
            layers[n - 1].relu = 1;
        } else {
            if (L.kind == CNN_LAYER_CONV && flat)
                return cnn_fail(CNN_ERR_SPEC,
                                "model spec: item %d: conv after flatten or dense", item);
            if (L.kind == CNN_LAYER_DENSE && !flat)
                return cnn_fail(CNN_ERR_SPEC,
                                "model spec: item %d: dense needs a flatten before it", item);
            if (L.kind == CNN_LAYER_FLATTEN && flat)
                return cnn_fail(CNN_ERR_SPEC, "model spec: item %d: input is already flat",
                                item);
            if (n == max)
                return cnn_fail(CNN_ERR_SPEC, "model spec: more than %d layers", max);
            flat = flat || L.kind != CNN_LAYER_CONV;
            layers[n++] = L;
        }
        if (!*p)
            break;
        p++;
    }
    if (!saw_softmax)
        return cnn_fail(CNN_ERR_SPEC, "model spec: must end with dense:N,softmax");
    return n;
}

size_t cnn_spec_format(const cnn_layer *layers, int n, char *buf, size_t size)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const cnn_layer *L = &layers[i];
        char item[64];
        switch (L->kind) {
        case CNN_LAYER_CONV:
            if (L->g.stride == 1)
                snprintf(item, sizeof item, "conv%dx%d:%d", L->g.k, L->g.k, L->g.out_c);
            else
                snprintf(item, sizeof item, "conv%dx%ds%d:%d", L->g.k, L->g.k,
                         L->g.stride, L->g.out_c);
            if (L->same)
                strcat(item, ":same");
            break;
        case CNN_LAYER_DENSE:
            snprintf(item, sizeof item, "dense:%d", L->g.out_c);
            break;
        default:
            snprintf(item, sizeof item, "flatten");
        }
        if (L->relu)
            strcat(item, ",relu");
        int w = snprintf(buf ? buf + (len < size ? len : size) : NULL,
                         len < size ? size - len : 0, "%s%s", item, ",");
        len += (size_t)w;
    }
    int w = snprintf(buf ? buf + (len < size ? len : size) : NULL,
                     len < size ? size - len : 0, "softmax");
    return len + (size_t)w;
}
