/*
 * model.c — building a model from a spec: layer shapes (Keras 'same' and
 * 'valid' padding), parameter offsets into one flat aligned block, activation
 * offsets, Glorot-uniform initialisation, the summary table, and the forward
 * and backward passes of a group of samples through the bound kernels.
 * A model is described first (layers, shapes, counts: no parameter block,
 * so a summary of any spec is cheap); its block is allocated separately,
 * only when it fits in the machine's physical memory.
 */
#include "model.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "error.h"
#include "memlimit.h"
#include "rng.h"
#include "spec.h"

/* Tensors start on 64-byte boundaries inside the parameter block. */
static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Output size and padding of one conv dimension, as TensorFlow defines them. */
static int conv_dim(int in, int k, int s, int same, int *pad_before)
{
    if (same) {
        int out = (in + s - 1) / s;
        int total = (out - 1) * s + k - in;
        if (total < 0)
            total = 0;
        *pad_before = total / 2;
        return out;
    }
    *pad_before = 0;
    return in < k ? 0 : (in - k) / s + 1;
}

static int layout(cnn_model *m)
{
    int h = m->in_h, w = m->in_w, c = m->in_c;
    int nconv = 0, ndense = 0, nflat = 0;
    size_t off = 0, act = 0;
    m->nparams = 0;
    m->max_act = 0;
    for (int i = 0; i < m->nlayers; i++) {
        cnn_layer *L = &m->layers[i];
        L->g.in_h = h, L->g.in_w = w, L->g.in_c = c;
        /* Sizes are ints in the kernels: every activation must fit one. */
        if ((long long)h * w * c > INT_MAX)
            return cnn_fail(CNN_ERR_SPEC, "model spec: layer %d's input of %dx%dx%d values "
                            "is too large", i + 1, h, w, c);
        if (L->kind == CNN_LAYER_CONV) {
            L->g.out_h = conv_dim(h, L->g.k, L->g.stride, L->same, &L->g.pad_top);
            L->g.out_w = conv_dim(w, L->g.k, L->g.stride, L->same, &L->g.pad_left);
            if (L->g.out_h < 1 || L->g.out_w < 1)
                return cnn_fail(CNN_ERR_SPEC,
                                "model spec: conv layer %d (%dx%d kernel) does not fit "
                                "its %dx%d input",
                                i + 1, L->g.k, L->g.k, h, w);
            L->w_count = (size_t)L->g.k * L->g.k * c * L->g.out_c;
            snprintf(L->name, sizeof L->name, "conv%d", ++nconv);
        } else if (L->kind == CNN_LAYER_DENSE) {
            L->g.out_h = L->g.out_w = 1;
            L->w_count = (size_t)h * w * c * L->g.out_c;
            snprintf(L->name, sizeof L->name, "dense%d", ++ndense);
        } else {
            L->g.out_h = L->g.out_w = 1;
            L->g.out_c = h * w * c;
            snprintf(L->name, sizeof L->name, "flatten%d", ++nflat);
        }
        if (L->kind != CNN_LAYER_FLATTEN) {
            L->b_count = (size_t)L->g.out_c;
            L->w_off = off;
            off = align16(off + L->w_count);
            L->b_off = off;
            off = align16(off + L->b_count);
            m->nparams += L->w_count + L->b_count;
            size_t out = (size_t)L->g.out_h * L->g.out_w * L->g.out_c;
            L->act_off = act;
            act += align16(out);
            if (out > m->max_act)
                m->max_act = out;
        }
        h = L->g.out_h, w = L->g.out_w, c = L->g.out_c;
    }
    if (m->max_act < cnn_model_input_size(m))
        m->max_act = cnn_model_input_size(m);
    m->max_act = align16(m->max_act);
    m->block = off;
    m->act_floats = act;
    if (m->classes == 0)
        m->classes = c;
    if (c < 2)
        return cnn_fail(CNN_ERR_SPEC, "the last dense layer has %d output; a softmax "
                        "classifier needs at least 2 classes", c);
    if (c != m->classes)
        return cnn_fail(CNN_ERR_MISMATCH,
                        "model has %d outputs but %d classes were asked for", c,
                        m->classes);
    return CNN_OK;
}

int cnn_model_describe(const char *spec, int height, int width, int channels,
                       int classes, cnn_model **out)
{
    if (!out)
        return cnn_fail(CNN_ERR_ARG, "model: no output");
    *out = NULL;
    if (!spec || height < 1 || width < 1 || channels < 1 || classes < 0 ||
        height > 4096 || width > 4096 || channels > 4096)
        return cnn_fail(CNN_ERR_ARG, "model: bad input shape %dx%dx%d or %d classes",
                        height, width, channels, classes);
    cnn_layer parsed[CNN_MAX_LAYERS];
    int n = cnn_spec_parse(spec, parsed, CNN_MAX_LAYERS);
    if (n < 0)
        return n;
    cnn_model *m = calloc(1, sizeof *m);
    if (!m)
        return cnn_fail(CNN_ERR_NOMEM, "model: out of memory");
    m->in_h = height, m->in_w = width, m->in_c = channels;
    m->classes = classes;
    m->nlayers = n;
    m->layers = calloc((size_t)n, sizeof *m->layers);
    int st = m->layers ? CNN_OK : cnn_fail(CNN_ERR_NOMEM, "model: out of memory");
    if (st == CNN_OK) {
        memcpy(m->layers, parsed, (size_t)n * sizeof *parsed);
        st = layout(m);
    }
    if (st == CNN_OK) {
        size_t len = cnn_spec_format(m->layers, n, NULL, 0);
        m->spec = malloc(len + 1);
        if (!m->spec)
            st = cnn_fail(CNN_ERR_NOMEM, "model: out of memory");
        else
            cnn_spec_format(m->layers, n, m->spec, len + 1);
    }
    const cnn_kernel_table *kt = NULL;
    if (st == CNN_OK)
        kt = cnn_kernels_default(&st);
    if (st != CNN_OK) {
        cnn_model_free(m);
        return st;
    }
    cnn_model_bind_kernels(m, kt);
    *out = m;
    return CNN_OK;
}

int cnn_model_alloc(cnn_model *m)
{
    if (!m)
        return cnn_fail(CNN_ERR_ARG, "model: no model");
    if (m->params || m->block == 0)
        return CNN_OK;
    /* Refused before the allocation: more than the machine's memory could
       only end in swapping or the OOM killer. */
    uint64_t bytes = (uint64_t)m->block * sizeof(float), phys = cnn_mem_physical();
    if (phys && bytes > phys) {
        char count[32], need[32], have[32];
        cnn_with_commas(m->nparams, count);
        cnn_mem_format(bytes, need, sizeof need);
        cnn_mem_format(phys, have, sizeof have);
        return cnn_fail(CNN_ERR_NOMEM, "model needs %s for its %s parameters, more than "
                        "this machine's %s of memory", need, count, have);
    }
    m->params = cnn_aligned_calloc(m->block * sizeof(float));
    if (!m->params)
        return cnn_fail(CNN_ERR_NOMEM, "model: out of memory for %zu parameters",
                        m->nparams);
    return CNN_OK;
}

int cnn_model_create(const char *spec, int height, int width, int channels,
                     int classes, cnn_model **out)
{
    int st = cnn_model_describe(spec, height, width, channels, classes, out);
    if (st == CNN_OK && (st = cnn_model_alloc(*out)) != CNN_OK) {
        cnn_model_free(*out);
        *out = NULL;
    }
    return st;
}

void cnn_model_free(cnn_model *m)
{
    if (!m)
        return;
    free(m->spec);
    free(m->layers);
    cnn_aligned_free(m->params);
    free(m);
}

void cnn_model_bind_kernels(cnn_model *m, const cnn_kernel_table *kt)
{
    m->kernels = kt;
    for (int i = 0; i < m->nlayers; i++) {
        cnn_layer *L = &m->layers[i];
        if (L->kind == CNN_LAYER_CONV)
            L->conv = kt->select_conv(&L->g);
        else if (L->kind == CNN_LAYER_DENSE)
            L->dense = kt->dense;
    }
}

/* Glorot-uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)), where a
   conv's fans are k*k*in_c and k*k*out_c. */
int cnn_model_init(cnn_model *m, uint64_t seed)
{
    int st = cnn_model_alloc(m);
    if (st != CNN_OK)
        return st;
    cnn_rng rng;
    cnn_rng_seed(&rng, seed, CNN_RNG_STREAM_INIT);
    memset(m->params, 0, m->block * sizeof(float));
    for (int i = 0; i < m->nlayers; i++) {
        const cnn_layer *L = &m->layers[i];
        if (L->kind == CNN_LAYER_FLATTEN)
            continue;
        double kk = L->kind == CNN_LAYER_CONV ? (double)L->g.k * L->g.k : 1.0;
        double fan_in = kk * L->g.in_c, fan_out = kk * L->g.out_c;
        if (L->kind == CNN_LAYER_DENSE)
            fan_in = (double)L->g.in_h * L->g.in_w * L->g.in_c;
        float limit = (float)sqrt(6.0 / (fan_in + fan_out));
        float *w = m->params + L->w_off;
        for (size_t j = 0; j < L->w_count; j++)
            w[j] = (2.0f * cnn_rng_uniform(&rng) - 1.0f) * limit;
    }
    return CNN_OK;
}

int cnn_model_set_isa(cnn_model *m, const char *isa)
{
    int st;
    const cnn_kernel_table *kt = cnn_kernels_by_name(isa, &st);
    if (kt)
        cnn_model_bind_kernels(m, kt);
    return st;
}

const char *cnn_model_isa(const cnn_model *m) { return m->kernels->isa; }

size_t cnn_model_param_count(const cnn_model *m) { return m->nparams; }
const char *cnn_model_spec(const cnn_model *m) { return m->spec; }
int cnn_model_classes(const cnn_model *m) { return m->classes; }
float *cnn_model_params(cnn_model *m) { return m->params; }

int cnn_model_tensors(const cnn_model *m, cnn_tensor_info *out, int max)
{
    int n = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const cnn_layer *L = &m->layers[i];
        if (L->kind == CNN_LAYER_FLATTEN)
            continue;
        for (int part = 0; part < 2; part++, n++) {
            if (n >= max)
                continue;
            cnn_tensor_info *t = &out[n];
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "%s.%s", L->name, part ? "bias" : "weight");
            if (part) {
                t->ndim = 1;
                t->shape[0] = L->g.out_c;
                t->offset = L->b_off;
                t->count = L->b_count;
            } else if (L->kind == CNN_LAYER_CONV) {
                t->ndim = 4;
                t->shape[0] = t->shape[1] = L->g.k;
                t->shape[2] = L->g.in_c;
                t->shape[3] = L->g.out_c;
                t->offset = L->w_off;
                t->count = L->w_count;
            } else {
                t->ndim = 2;
                t->shape[0] = L->g.in_h * L->g.in_w * L->g.in_c;
                t->shape[1] = L->g.out_c;
                t->offset = L->w_off;
                t->count = L->w_count;
            }
        }
    }
    return n;
}

/* Append printf output to a buffer of the given size, snprintf-style. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf && *len < size ? buf + *len : NULL,
                      *len < size ? size - *len : 0, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len += (size_t)w;
}

/* 24186 -> "24,186" */
void cnn_with_commas(uint64_t v, char *out)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

size_t cnn_model_summary(const cnn_model *m, char *buf, size_t size)
{
    static const char rule[] =
        "_________________________________________________________________\n";
    static const char thick[] =
        "=================================================================\n";
    size_t len = 0;
    char num[32];
    if (buf && size)
        buf[0] = 0;
    append(buf, size, &len, "Model: %s\n%s", m->spec, rule);
    append(buf, size, &len, "%-29s%-26s%s\n%s", "Layer (type)", "Output Shape",
           "Param #", thick);
    char shape[48];
    snprintf(shape, sizeof shape, "(None, %d, %d, %d)", m->in_h, m->in_w, m->in_c);
    append(buf, size, &len, "%-29s%-26s0\n%s", "input (InputLayer)", shape, rule);
    for (int i = 0; i < m->nlayers; i++) {
        const cnn_layer *L = &m->layers[i];
        char type[64];
        if (L->kind == CNN_LAYER_CONV)
            snprintf(type, sizeof type, "%s (Conv2D %dx%d/%d%s)", L->name, L->g.k,
                     L->g.k, L->g.stride, L->relu ? " relu" : "");
        else if (L->kind == CNN_LAYER_DENSE)
            snprintf(type, sizeof type, "%s (Dense%s)", L->name,
                     L->relu ? " relu" : i == m->nlayers - 1 ? " softmax" : "");
        else
            snprintf(type, sizeof type, "%s (Flatten)", L->name);
        if (L->kind == CNN_LAYER_CONV)
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", L->g.out_h, L->g.out_w,
                     L->g.out_c);
        else
            snprintf(shape, sizeof shape, "(None, %d)", L->g.out_c);
        cnn_with_commas(L->w_count + L->b_count, num);
        append(buf, size, &len, "%-29s%-26s%s\n%s", type, shape, num,
               i == m->nlayers - 1 ? thick : rule);
    }
    cnn_with_commas(m->nparams, num);
    append(buf, size, &len, "Total params: %s\nTrainable params: %s\n"
           "Non-trainable params: 0\n%s", num, num, rule);
    return len;
}

int cnn_model_layer_count(const cnn_model *m) { return m->nlayers; }

int cnn_model_layer(const cnn_model *m, int i, cnn_layer_info *out)
{
    if (!m || !out || i < 0 || i >= m->nlayers)
        return cnn_fail(CNN_ERR_ARG, "layer %d: out of range (the model has %d)", i,
                        m ? m->nlayers : 0);
    const cnn_layer *L = &m->layers[i];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", L->name);
    snprintf(out->type, sizeof out->type, "%s",
             L->kind == CNN_LAYER_CONV ? "conv" : L->kind == CNN_LAYER_DENSE ? "dense"
                                                                            : "flatten");
    out->relu = L->relu;
    out->params = L->w_count + L->b_count;
    if (L->kind == CNN_LAYER_CONV) {
        out->kernel = L->g.k;
        out->stride = L->g.stride;
        out->same = L->same;
        out->in_h = L->g.in_h, out->in_w = L->g.in_w, out->in_c = L->g.in_c;
        out->out_h = L->g.out_h, out->out_w = L->g.out_w, out->out_c = L->g.out_c;
    } else {
        /* flatten and dense: flat vectors of length in_h*in_w*in_c / out_c */
        out->in_h = L->kind == CNN_LAYER_FLATTEN ? L->g.in_h : 1;
        out->in_w = L->kind == CNN_LAYER_FLATTEN ? L->g.in_w : 1;
        out->in_c = L->kind == CNN_LAYER_FLATTEN ? L->g.in_c
                                                 : L->g.in_h * L->g.in_w * L->g.in_c;
        out->out_h = out->out_w = 1;
        out->out_c = L->g.out_c;
    }
    return CNN_OK;
}
