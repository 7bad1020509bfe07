/*
 * spec.c — the model spec grammar (the preset models are in presets.c).
 *
 *   spec    := item ( ',' item )*
 *   item    := <an item of a layer kind> | 'softmax'
 *
 * Each kind in cnn_layer_ops parses and formats its own items (layer.h);
 * this file splits the spec, asks the kinds in turn, and checks the order
 * rules the kinds declare: whether each needs an image or a flat input, and
 * what it gives the next.  Spaces around items are ignored.  Two relus in a
 * row are refused (the second would do nothing).  The spec ends with a
 * layer that may give the logits followed by "softmax" (softmax with
 * cross-entropy is the loss).  An item no kind claims is refused with the
 * names it may have meant: the presets for a spec of one item, else the
 * kinds ("cnov3x3:8": did you mean 'conv3x3:8'?).
 */
#include "spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "suggest.h"

static const char unknown_layer[] = "unknown layer";

/* Parse one item [s, e) into *L with the kind that claims it; returns 1,
   0 (what is wrong in *why), or 2 for softmax. */
static int parse_item(const char *s, const char *e, cnn_layer *L, const char **why)
{
    memset(L, 0, sizeof *L);
    *why = unknown_layer;
    if (e - s == 7 && !memcmp(s, "softmax", 7))
        return 2;
    for (int i = 0; cnn_layer_ops[i]; i++) {
        L->op = cnn_layer_ops[i];
        int r = L->op->parse(s, e, L, why);
        if (r)
            return r > 0;
        memset(L, 0, sizeof *L);
    }
    return 0;
}

/* The names of the kinds that may give the logits, joined by " or ". */
static void logit_kinds(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; cnn_layer_ops[i]; i++)
        if (cnn_layer_ops[i]->logits && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " or " : "",
                                    cnn_layer_ops[i]->name);
}

/* The order rules for layer L after prev, the last layer before it that
   is not an alias (NULL: none; a relu after "relu,flatten" would be a
   second relu on the same values); *flat is whether the input so far is a
   vector, updated. */
static int check_order(const cnn_layer *prev, const cnn_layer *L, int item, int *flat)
{
    const cnn_layer_op *op = L->op;
    if (prev && prev->op->is_relu && op->is_relu)
        return cnn_fail(CNN_ERR_SPEC, "model spec: item %d: relu directly after relu "
                        "(one is enough; flatten between them changes nothing)", item);
    if ((op->input == CNN_SHAPE_IMAGE && *flat) || (op->input == CNN_SHAPE_FLAT && !*flat))
        return cnn_fail(CNN_ERR_SPEC, "model spec: item %d: %s", item, op->input_msg);
    if (op->output != CNN_SHAPE_ANY)
        *flat = op->output == CNN_SHAPE_FLAT;
    return CNN_OK;
}

/* The softmax item: it must directly follow a layer that gives logits. */
static int check_softmax(const cnn_layer *layers, int n)
{
    if (n > 0 && layers[n - 1].op->logits)
        return CNN_OK;
    char kinds[128];
    logit_kinds(kinds, sizeof kinds);
    return cnn_fail(CNN_ERR_SPEC, "model spec: softmax must directly follow a %s layer",
                    kinds);
}

/* The layer kinds' names, and softmax; returns how many. */
static int kind_names(const char **names, int max)
{
    int n = 0;
    for (int i = 0; cnn_layer_ops[i] && n < max - 1; i++)
        names[n++] = cnn_layer_ops[i]->name;
    names[n++] = "softmax";
    return n;
}

/* "; did you mean 'X'?" for an item [s, e) that no kind claims, a kind's
   name in place of the item's leading letters ("cnov3x3:8": 'conv3x3:8');
   else, with list, " (kinds: ...)", else "". */
static void suggest_kind(const char *s, const char *e, int list, char *buf, size_t size)
{
    const char *names[32];
    int n = kind_names(names, 32), letters = 0;
    while (s + letters < e && letters < 63 && isalpha((unsigned char)s[letters]))
        letters++;
    char word[64];
    snprintf(word, sizeof word, "%.*s", letters, s);
    int k = cnn_closest(word, names, n);
    if (k >= 0) {
        snprintf(buf, size, "; did you mean '%s%.*s'?", names[k], (int)(e - s - letters),
                 s + letters);
        return;
    }
    size_t len = (size_t)snprintf(buf, size, "%s", list ? " (kinds:" : "");
    for (int i = 0; list && i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, " %s%s", names[i], i + 1 < n ? "," : ")");
}

/* The message for an item [s, e) that no kind claims; in a spec of one
   item (text, which is no preset), the presets are named, and suggested
   first. */
static int unknown_item(const char *text, const char *s, const char *e, int item)
{
    char hint[300], list[300] = "", word[64];
    if (strchr(text, ',')) {
        suggest_kind(s, e, 1, hint, sizeof hint);
        return cnn_fail(CNN_ERR_SPEC, "model spec: item %d \"%.*s\": unknown layer%s", item,
                        (int)(e - s), s, hint);
    }
    const char *names[32];
    int n = 0;
    size_t len = 0;
    for (; n < 32 && cnn_model_preset_name(n); n++) {
        names[n] = cnn_model_preset_name(n);
        if (len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", n ? ", " : "",
                                    names[n]);
    }
    snprintf(word, sizeof word, "%.*s", (int)(e - s), s);
    char near[200];
    if (cnn_suggest(word, names, n, near, sizeof near) > 0)
        snprintf(hint, sizeof hint, "; did you mean %s?", near);
    else
        suggest_kind(s, e, 0, hint, sizeof hint);
    return cnn_fail(CNN_ERR_SPEC, "model spec: \"%.*s\" is neither a preset (%s) nor a layer%s",
                    (int)(e - s), s, list, hint);
}

/* The next item of the spec from *p: [*s, *e) trimmed; *p moves past it. */
static void next_item(const char **p, const char **s, const char **e)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
    *s = *p;
    while (**p && **p != ',')
        (*p)++;
    *e = *p;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

int cnn_spec_parse(const char *spec, cnn_layer *layers, int max)
{
    const char *text = cnn_model_preset(spec), *p = text, *s, *e, *why;
    int n = 0, saw_softmax = 0, flat = 0;
    for (int item = 1;; item++) {
        next_item(&p, &s, &e);
        if (e == s)
            return cnn_fail(CNN_ERR_SPEC, "model spec: item %d is empty in \"%s\"", item,
                            text);
        if (saw_softmax)
            return cnn_fail(CNN_ERR_SPEC, "model spec: softmax must be the last item");
        cnn_layer L;
        int r = parse_item(s, e, &L, &why), st;
        if (r == 0 && why == unknown_layer)
            return unknown_item(text, s, e, item);
        if (r == 0)
            return cnn_fail(CNN_ERR_SPEC, "model spec: item %d \"%.*s\": %s", item,
                            (int)(e - s), s, why);
        if (r == 2) {
            if ((st = check_softmax(layers, n)) != CNN_OK)
                return st;
            saw_softmax = 1;
        } else {
            int prev = n - 1;
            while (prev >= 0 && layers[prev].op->alias)
                prev--;
            if ((st = check_order(prev >= 0 ? &layers[prev] : NULL, &L, item, &flat)) != CNN_OK)
                return st;
            if (n == max)
                return cnn_fail(CNN_ERR_SPEC, "model spec: more than %d layers", max);
            layers[n++] = L;
        }
        if (!*p)
            break;
        p++;
    }
    if (!saw_softmax) {
        char kinds[128];
        logit_kinds(kinds, sizeof kinds);
        return cnn_fail(CNN_ERR_SPEC, "model spec: must end with a %s layer and softmax",
                        kinds);
    }
    return n;
}

size_t cnn_spec_format(const cnn_layer *layers, int n, char *buf, size_t size)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        char item[64];
        layers[i].op->format(&layers[i], item, sizeof item);
        int w = snprintf(buf ? buf + (len < size ? len : size) : NULL,
                         len < size ? size - len : 0, "%s%s", item, ",");
        len += (size_t)w;
    }
    int w = snprintf(buf ? buf + (len < size ? len : size) : NULL,
                     len < size ? size - len : 0, "softmax");
    return len + (size_t)w;
}
