/*
 * model.c — building a model from a spec: the parsed layers with each relu
 * fused into the conv or dense layer before it where the kind allows, layer
 * shapes and tensors as their kinds declare them (layer.h), tensor offsets
 * into one flat aligned block, activation offsets, initialisation, the
 * tensor list for weights I/O, the summary table and the layer descriptions.
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

/* Fold each relu into the layer before it when that layer's kernels fuse
   one; the rest stay layers of their own.  Returns the new count. */
static int fuse_relus(cnn_layer *layers, int n)
{
    int out = 0;
    for (int i = 0; i < n; i++) {
        cnn_layer *prev = out ? &layers[out - 1] : NULL;
        if (layers[i].op->is_relu && prev && prev->op->fuses_relu && !prev->relu)
            prev->relu = 1;
        else
            layers[out++] = layers[i];
    }
    return out;
}

/* "conv3": the kind's name and its 1-based count among the layers so far. */
static void name_layer(cnn_model *m, int i)
{
    cnn_layer *L = &m->layers[i];
    int count = 1;
    for (int j = 0; j < i; j++)
        count += m->layers[j].op == L->op;
    snprintf(L->name, sizeof L->name, "%s%d", L->op->name, count);
}

/* Give layer L its tensors at *off in the block, counting them into m. */
static void place_tensors(cnn_model *m, cnn_layer *L, size_t *off)
{
    cnn_tensor_decl t[CNN_TENSORS_MAX];
    L->ntensors = L->op->tensors ? L->op->tensors(L, t) : 0;
    for (int j = 0; j < L->ntensors; j++) {
        L->t_off[j] = *off;
        L->t_count[j] = t[j].count;
        L->t_role[j] = t[j].role;
        *off = align16(*off + t[j].count);
        if (t[j].role == CNN_TENSOR_PARAM)
            m->nparams += t[j].count;
        else
            m->nbuffers += t[j].count;
    }
}

/* Layer i's output in the activation block: its own, or for an alias its
   producer's. */
static void place_output(cnn_model *m, int i, size_t *act)
{
    cnn_layer *L = &m->layers[i];
    if (L->op->alias) {
        L->act_off = i ? m->layers[i - 1].act_off : 0;
        return;
    }
    size_t out = cnn_layer_out_size(L);
    L->act_off = *act;
    *act += align16(out);
    if (out > m->max_act)
        m->max_act = out;
}

/* The model's output against its class count. */
static int check_classes(cnn_model *m, int c)
{
    if (m->classes == 0)
        m->classes = c;
    if (c < 2)
        return cnn_fail(CNN_ERR_SPEC, "the last layer has %d output; a softmax "
                        "classifier needs at least 2 classes", c);
    if (c != m->classes)
        return cnn_fail(CNN_ERR_MISMATCH,
                        "model has %d outputs but %d classes were asked for", c,
                        m->classes);
    return CNN_OK;
}

int cnn_model_layout(cnn_model *m)
{
    int h = m->in_h, w = m->in_w, c = m->in_c, flat = 0;
    size_t off = 0, act = 0;
    m->nparams = m->nbuffers = 0;
    m->max_act = 0;
    for (int i = 0; i < m->nlayers; i++) {
        cnn_layer *L = &m->layers[i];
        L->g.in_h = h, L->g.in_w = w, L->g.in_c = c;
        /* Sizes are ints in the kernels: every activation must fit one. */
        if ((long long)h * w * c > INT_MAX)
            return cnn_fail(CNN_ERR_SPEC, "model spec: layer %d's input of %dx%dx%d values "
                            "is too large", i + 1, h, w, c);
        int st = L->op->shape(L, i + 1);
        if (st != CNN_OK)
            return st;
        L->flat_in = flat;
        if (L->op->output != CNN_SHAPE_ANY)
            flat = L->op->output == CNN_SHAPE_FLAT;
        L->flat_out = flat;
        name_layer(m, i);
        place_tensors(m, L, &off);
        place_output(m, i, &act);
        h = L->g.out_h, w = L->g.out_w, c = L->g.out_c;
    }
    if (m->max_act < cnn_model_input_size(m))
        m->max_act = cnn_model_input_size(m);
    m->max_act = align16(m->max_act);
    m->block = off;
    m->act_floats = act;
    return check_classes(m, c);
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
    m->layers = calloc((size_t)n, sizeof *m->layers);
    size_t len = cnn_spec_format(parsed, n, NULL, 0);
    m->spec = malloc(len + 1);
    int st = m->layers && m->spec ? CNN_OK : cnn_fail(CNN_ERR_NOMEM, "model: out of memory");
    if (st == CNN_OK) {
        cnn_spec_format(parsed, n, m->spec, len + 1);
        memcpy(m->layers, parsed, (size_t)n * sizeof *parsed);
        m->nlayers = fuse_relus(m->layers, n);
        st = cnn_model_layout(m);
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
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].op->bind)
            m->layers[i].op->bind(&m->layers[i], kt);
}

/* Fill one tensor as its declaration says; Glorot-uniform draws from rng
   in order: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)). */
static void init_tensor(const cnn_tensor_decl *t, float *p, cnn_rng *rng)
{
    if (t->init == CNN_INIT_ONES) {
        for (size_t j = 0; j < t->count; j++)
            p[j] = 1.0f;
    } else if (t->init == CNN_INIT_GLOROT) {
        float limit = (float)sqrt(6.0 / (t->fan_in + t->fan_out));
        for (size_t j = 0; j < t->count; j++)
            p[j] = (2.0f * cnn_rng_uniform(rng) - 1.0f) * limit;
    }
}

/* Every tensor as its kind declares it (Keras: Glorot-uniform kernels,
   zero biases), drawn from one stream in layer and tensor order. */
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
        cnn_tensor_decl t[CNN_TENSORS_MAX];
        int n = L->op->tensors ? L->op->tensors(L, t) : 0;
        for (int j = 0; j < n; j++)
            init_tensor(&t[j], m->params + L->t_off[j], &rng);
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
size_t cnn_model_buffer_count(const cnn_model *m) { return m->nbuffers; }
const char *cnn_model_spec(const cnn_model *m) { return m->spec; }
int cnn_model_classes(const cnn_model *m) { return m->classes; }
float *cnn_model_params(cnn_model *m) { return m->params; }
size_t cnn_model_params_size(const cnn_model *m) { return m->block; }

int cnn_model_tensors(const cnn_model *m, cnn_tensor_info *out, int max)
{
    int n = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const cnn_layer *L = &m->layers[i];
        cnn_tensor_decl d[CNN_TENSORS_MAX];
        int k = L->op->tensors ? L->op->tensors(L, d) : 0;
        for (int j = 0; j < k; j++, n++) {
            if (n >= max)
                continue;
            cnn_tensor_info *t = &out[n];
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "%s.%s", L->name, d[j].suffix);
            t->ndim = d[j].ndim;
            memcpy(t->shape, d[j].shape, sizeof t->shape);
            t->offset = L->t_off[j];
            t->count = L->t_count[j];
            t->role = L->t_role[j];
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

/* Keras's shape notation: 4-D for images, 2-D for vectors. */
static void shape_text(int flat, int h, int w, int c, char *buf, size_t size)
{
    if (flat)
        snprintf(buf, size, "(None, %d)", c);
    else
        snprintf(buf, size, "(None, %d, %d, %d)", h, w, c);
}

/* Floats in a layer's tensors: all of them, or the trainable ones only. */
static size_t layer_floats(const cnn_layer *L, int trainable_only)
{
    size_t sum = 0;
    for (int j = 0; j < L->ntensors; j++)
        if (!trainable_only || L->t_role[j] == CNN_TENSOR_PARAM)
            sum += L->t_count[j];
    return sum;
}

/* One row of the table: "conv1 (Conv2D 3x3/1 relu)", shape, parameters. */
static void summary_row(const cnn_model *m, int i, char *buf, size_t size, size_t *len)
{
    const cnn_layer *L = &m->layers[i];
    cnn_layer_text t;
    cnn_layer_info info;
    memset(&t, 0, sizeof t);
    memset(&info, 0, sizeof info);
    L->op->describe(L, &t, &info);
    char type[96], shape[48], num[32];
    snprintf(type, sizeof type, "%s (%s%s)", L->name, t.row,
             L->relu ? " relu" : i == m->nlayers - 1 ? " softmax" : "");
    shape_text(L->flat_out, L->g.out_h, L->g.out_w, L->g.out_c, shape, sizeof shape);
    cnn_with_commas(layer_floats(L, 0), num);
    append(buf, size, len, "%-29s%-26s%s\n", type, shape, num);
}

size_t cnn_model_summary(const cnn_model *m, char *buf, size_t size)
{
    static const char rule[] =
        "_________________________________________________________________\n";
    static const char thick[] =
        "=================================================================\n";
    size_t len = 0;
    char total[32], trainable[32], fixed[32], shape[48];
    if (buf && size)
        buf[0] = 0;
    append(buf, size, &len, "Model: %s\n%s", m->spec, rule);
    append(buf, size, &len, "%-29s%-26s%s\n%s", "Layer (type)", "Output Shape",
           "Param #", thick);
    shape_text(0, m->in_h, m->in_w, m->in_c, shape, sizeof shape);
    append(buf, size, &len, "%-29s%-26s0\n%s", "input (InputLayer)", shape, rule);
    for (int i = 0; i < m->nlayers; i++) {
        summary_row(m, i, buf, size, &len);
        append(buf, size, &len, "%s", i == m->nlayers - 1 ? thick : rule);
    }
    cnn_with_commas(m->nparams + m->nbuffers, total);
    cnn_with_commas(m->nparams, trainable);
    cnn_with_commas(m->nbuffers, fixed);
    append(buf, size, &len, "Total params: %s\nTrainable params: %s\n"
           "Non-trainable params: %s\n%s", total, trainable, fixed, rule);
    return len;
}

int cnn_model_layer_count(const cnn_model *m) { return m->nlayers; }

int cnn_model_layer(const cnn_model *m, int i, cnn_layer_info *out)
{
    if (!m || !out || i < 0 || i >= m->nlayers)
        return cnn_fail(CNN_ERR_ARG, "layer %d: out of range (the model has %d)", i,
                        m ? m->nlayers : 0);
    const cnn_layer *L = &m->layers[i];
    cnn_layer_text t;
    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    L->op->describe(L, &t, out);
    snprintf(out->name, sizeof out->name, "%s", L->name);
    snprintf(out->type, sizeof out->type, "%s", L->op->name);
    snprintf(out->keras, sizeof out->keras, "%s", t.keras);
    snprintf(out->settings, sizeof out->settings, "%s%s", t.settings,
             !L->relu ? "" : t.settings[0] ? " + ReLU" : "ReLU");
    out->relu = L->relu;
    out->flat_in = L->flat_in, out->flat_out = L->flat_out;
    out->in_h = L->g.in_h, out->in_w = L->g.in_w, out->in_c = L->g.in_c;
    out->out_h = L->g.out_h, out->out_w = L->g.out_w, out->out_c = L->g.out_c;
    out->params = layer_floats(L, 0);
    out->trainable = layer_floats(L, 1);
    return CNN_OK;
}
