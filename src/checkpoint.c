/*
 * checkpoint.c — checkpoints: the weights plus the training state
 * (train_state.h) in one safetensors file, so a run can resume bit for bit.
 *
 * Tensors: the model's, under the names cnn_model_save uses (a checkpoint
 * loads as plain weights too); the optimizer's state tensors as it declares
 * them (optim/optimizer.h), "<optimizer>.<state>.<name>" with the weights'
 * shapes: Adam's "adam.m.<name>" and "adam.v.<name>", AdamW's
 * "adamw.m.<name>" and "adamw.v.<name>", SGD's "sgd.velocity.<name>" (none
 * without momentum); "train.order", I32 [count], the current epoch's
 * shuffled order.  Metadata (all strings): format "cnn-checkpoint", spec,
 * input, crc32, meta_crc32, and steps, count, epochs, batch, threads,
 * shuffle, lr, beta1, beta2, eps, seed, rng_state, rng_inc, loss_sum,
 * correct, seen, train_s, best_val, optimizer, momentum, nesterov,
 * weight_decay, schedule (its canonical text: "constant", "step:E:F",
 * "cosine", "onecycle"), warmup (steps), augment (the augmentation's
 * canonical text, "none" or "shift=2,rotate=10,zoom=0.1"), label_smoothing
 * (floats printed with enough digits to read back exactly), and the
 * fingerprint of the training data:
 * images_crc32 and labels_crc32, zlib's CRC-32 of the pixel bytes and of
 * the label bytes as 8 lowercase hex digits (a checkpoint written before
 * them has neither: it resumes unchecked).  A checkpoint without the
 * optimizer keys (written by c3ed008 or before) is Adam's with the
 * constant schedule: the format is otherwise the same, so it loads and
 * resumes bit for bit; one without augment and label_smoothing (written
 * before cnn had them) trained with neither.  Loading checks that the file is big enough for the
 * count it claims before allocating for it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "checkpoint.h"
#include "error.h"
#include "model.h"
#include "optim/schedule.h"
#include "safetensors.h"
#include "train_state.h"
#include "weights.h"

static int set_str(json_t *meta, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_str(json_t *meta, const char *key, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_object_set_new(meta, key, json_string(buf));
}

/* The checkpoint's tensor list: weights, the optimizer's state tensors
   (as it declares them, "<optimizer>.<state>.<tensor>"), order
   (malloc'ed). */
static st_tensor *checkpoint_tensors(const cnn_model *m, const cnn_train_state *s,
                                     float *params, int *n)
{
    const char *names[CNN_OPTIM_MAX_STATE];
    int k = cnn_train_state_names(s, names);
    int w = cnn_weights_tensors(m, NULL, "", NULL);
    int p = cnn_weights_param_tensors(m, NULL, "", NULL);
    st_tensor *t = p < 0 ? NULL : calloc((size_t)(w + k * p + 1), sizeof *t);
    int bad = !t || cnn_weights_tensors(m, params, "", t) < 0;
    for (int i = 0; i < k && !bad; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s.%s.", cnn_train_state_optim(s)->name, names[i]);
        bad = cnn_weights_param_tensors(m, s->opt[i], prefix, t + w + i * p) < 0;
    }
    if (bad) {
        free(t);
        return NULL;
    }
    st_tensor *o = &t[w + k * p];
    snprintf(o->name, sizeof o->name, "train.order");
    o->dtype = ST_I32;
    o->ndim = 1;
    o->shape[0] = (int)s->count;
    o->count = (size_t)s->count;
    o->data = s->order;
    *n = w + k * p + 1;
    return t;
}

/* The optimizer's, the schedule's, augmentation's and label smoothing's
   settings into the metadata. */
static int set_optimizer(json_t *meta, const cnn_train_state *s)
{
    char sched[64], augment[CNN_AUGMENT_TEXT];
    cnn_schedule_format(&s->sched, sched, sizeof sched);
    cnn_augment_format(&s->augment, augment, sizeof augment);
    int bad = set_str(meta, "optimizer", "%s", cnn_train_state_optim(s)->name);
    bad |= set_str(meta, "momentum", "%.9g", (double)s->momentum);
    bad |= set_str(meta, "nesterov", "%d", s->nesterov);
    bad |= set_str(meta, "weight_decay", "%.9g", (double)s->weight_decay);
    bad |= set_str(meta, "schedule", "%s", sched);
    bad |= set_str(meta, "warmup", "%ld", s->sched.warmup);
    bad |= set_str(meta, "augment", "%s", augment);
    bad |= set_str(meta, "label_smoothing", "%.9g", (double)s->label_smoothing);
    return bad;
}

int cnn_checkpoint_save(const cnn_model *m, const cnn_train_state *s, const char *path)
{
    if (!m || !s || !path || !*path)
        return cnn_fail(CNN_ERR_ARG, "save checkpoint: no model, state or path");
    if (!s->ready || s->block != m->block)
        return cnn_fail(CNN_ERR_ARG, "%s: the training state does not belong to this "
                        "model (was it used for training?)", path);
    int n;
    st_tensor *t = checkpoint_tensors(m, s, m->params, &n);
    json_t *meta = cnn_weights_metadata(m, "cnn-checkpoint");
    int bad = !t || !meta;
    if (!bad)
        bad |= set_optimizer(meta, s);
    if (!bad) {
        bad |= set_str(meta, "steps", "%ld", s->t);
        bad |= set_str(meta, "count", "%ld", s->count);
        bad |= set_str(meta, "epochs", "%d", s->epochs);
        bad |= set_str(meta, "batch", "%d", s->batch);
        bad |= set_str(meta, "threads", "%d", s->threads);
        bad |= set_str(meta, "shuffle", "%d", s->shuffle);
        bad |= set_str(meta, "lr", "%.9g", (double)s->lr);
        bad |= set_str(meta, "beta1", "%.9g", (double)s->beta1);
        bad |= set_str(meta, "beta2", "%.9g", (double)s->beta2);
        bad |= set_str(meta, "eps", "%.9g", (double)s->eps);
        bad |= set_str(meta, "seed", "%llu", (unsigned long long)s->seed);
        bad |= set_str(meta, "rng_state", "%llu", (unsigned long long)s->rng.state);
        bad |= set_str(meta, "rng_inc", "%llu", (unsigned long long)s->rng.inc);
        bad |= set_str(meta, "loss_sum", "%.17g", s->loss_sum);
        bad |= set_str(meta, "correct", "%ld", s->correct);
        bad |= set_str(meta, "seen", "%ld", s->seen);
        bad |= set_str(meta, "train_s", "%.17g", s->train_s);
        bad |= set_str(meta, "best_val", "%.17g", s->best_val);
        if (s->has_crc) {
            bad |= set_str(meta, "images_crc32", "%08lx", (unsigned long)s->images_crc);
            bad |= set_str(meta, "labels_crc32", "%08lx", (unsigned long)s->labels_crc);
        }
    }
    if (bad) {
        free(t);
        json_decref(meta);
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    int st = cnn_st_write(path, t, n, meta);
    free(t);
    return st;
}

/* Metadata value key as a number in [lo, hi]; 0 on success. */
static int get_num(const char *path, json_t *meta, const char *key, double lo, double hi,
                   double *out)
{
    const char *v = json_string_value(json_object_get(meta, key));
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || errno || !(x >= lo && x <= hi))
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata %s is missing or out of "
                        "range", path, key);
    *out = x;
    return CNN_OK;
}

static int get_u64(const char *path, json_t *meta, const char *key, uint64_t *out)
{
    const char *v = json_string_value(json_object_get(meta, key));
    char *end;
    errno = 0;
    unsigned long long x = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
    if (!v || !*v || *v < '0' || *v > '9' || *end || errno)
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata %s is missing or not an "
                        "unsigned integer", path, key);
    *out = (uint64_t)x;
    return CNN_OK;
}

/* Metadata value key as 8 lowercase hex digits into *out; 1 when the key
   is absent, 0 when read. */
static int get_crc(const char *path, json_t *meta, const char *key, uint32_t *out)
{
    json_t *j = json_object_get(meta, key);
    if (!j)
        return 1;
    const char *v = json_string_value(j);
    int ok = v && strlen(v) == 8;
    for (int i = 0; ok && i < 8; i++)
        ok = strchr("0123456789abcdef", v[i]) != NULL;
    if (!ok)
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata %s is not 8 lowercase "
                        "hex digits", path, key);
    *out = (uint32_t)strtoul(v, NULL, 16);
    return 0;
}

/* The training data's fingerprint: both CRCs, or neither (a checkpoint
   written before cnn kept them: has_crc stays 0). */
static int read_fingerprint(const char *path, json_t *meta, cnn_train_state *s)
{
    int images = get_crc(path, meta, "images_crc32", &s->images_crc);
    if (images < 0)
        return images;
    int labels = get_crc(path, meta, "labels_crc32", &s->labels_crc);
    if (labels < 0)
        return labels;
    if (images != labels)
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata has %s but no %s (the "
                        "training data's fingerprint needs both)", path,
                        images ? "labels_crc32" : "images_crc32",
                        images ? "images_crc32" : "labels_crc32");
    s->has_crc = !images;
    return CNN_OK;
}

/* Every scalar of the state from the metadata. */
static int read_scalars(const char *path, json_t *meta, cnn_train_state *s)
{
    double steps, count, epochs, batch, threads, shuffle, lr, b1, b2, eps, correct, seen;
    int st;
    if ((st = get_num(path, meta, "steps", 0, 1e15, &steps)) ||
        (st = get_num(path, meta, "count", 1, 2147483647.0, &count)) ||
        (st = get_num(path, meta, "epochs", 0, 1000000, &epochs)) ||
        (st = get_num(path, meta, "batch", 1, 1 << 20, &batch)) ||
        (st = get_num(path, meta, "threads", 1, 4096, &threads)) ||
        (st = get_num(path, meta, "shuffle", 0, 1, &shuffle)) ||
        (st = get_num(path, meta, "lr", 1e-30, 1e9, &lr)) ||
        (st = get_num(path, meta, "beta1", 0, 0.9999999, &b1)) ||
        (st = get_num(path, meta, "beta2", 0, 0.9999999, &b2)) ||
        (st = get_num(path, meta, "eps", 1e-30, 1, &eps)) ||
        (st = get_num(path, meta, "correct", 0, 1e15, &correct)) ||
        (st = get_num(path, meta, "seen", 0, 1e15, &seen)) ||
        (st = get_num(path, meta, "loss_sum", 0, 1e300, &s->loss_sum)) ||
        (st = get_num(path, meta, "train_s", 0, 1e12, &s->train_s)) ||
        (st = get_num(path, meta, "best_val", -1, 1, &s->best_val)) ||
        (st = get_u64(path, meta, "seed", &s->seed)) ||
        (st = get_u64(path, meta, "rng_state", &s->rng.state)) ||
        (st = get_u64(path, meta, "rng_inc", &s->rng.inc)))
        return st;
    /* Integers must be whole; the epoch's sums must fit its steps. */
    if (steps != (long)steps || count != (long)count || batch != (int)batch ||
        epochs != (int)epochs ||
        threads != (int)threads || shuffle != (int)shuffle || correct != (long)correct ||
        seen != (long)seen || correct > seen || seen > count || !(s->rng.inc & 1))
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata is inconsistent", path);
    s->t = (long)steps;
    s->count = (long)count;
    s->epochs = (int)epochs;
    s->batch = (int)batch;
    s->threads = (int)threads;
    s->shuffle = (int)shuffle;
    s->lr = (float)lr, s->beta1 = (float)b1, s->beta2 = (float)b2, s->eps = (float)eps;
    s->correct = (long)correct;
    s->seen = (long)seen;
    return CNN_OK;
}

/* Metadata value key as get_num reads it, or dflt when the key is absent
   (a checkpoint written before cnn had the setting). */
static int get_num_or(const char *path, json_t *meta, const char *key, double lo, double hi,
                      double dflt, double *out)
{
    if (!json_object_get(meta, key)) {
        *out = dflt;
        return CNN_OK;
    }
    return get_num(path, meta, key, lo, hi, out);
}

/* The optimizer and the schedule with their settings; a checkpoint
   without them (written before cnn had a choice) is Adam's, constant. */
static int read_optimizer(const char *path, json_t *meta, cnn_train_state *s)
{
    json_t *o = json_object_get(meta, "optimizer"), *sc = json_object_get(meta, "schedule");
    const char *name = o ? json_string_value(o) : "adam";
    if (!name || !(s->optim = cnn_optimizer_find(name)) || !*name) {
        char names[128];
        cnn_optimizer_names(names, sizeof names);
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata optimizer is not %s", path,
                        names);
    }
    double mu, nesterov, wd, warmup;
    int st;
    if ((st = get_num_or(path, meta, "momentum", 0, 0.9999999, 0, &mu)) ||
        (st = get_num_or(path, meta, "nesterov", 0, 1, 0, &nesterov)) ||
        (st = get_num_or(path, meta, "weight_decay", 0, 0.9999999, 0, &wd)) ||
        (st = get_num_or(path, meta, "warmup", 0, 1e15, 0, &warmup)))
        return st;
    const char *text = sc ? json_string_value(sc) : "constant";
    const char *why = text && *text ? cnn_schedule_parse(text, &s->sched) : "no text";
    if (why)
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata schedule: %s", path, why);
    s->momentum = (float)mu, s->nesterov = (int)nesterov, s->weight_decay = (float)wd;
    s->sched.warmup = (long)warmup;
    cnn_optim_params p = cnn_train_state_params(s);
    if (nesterov != s->nesterov || warmup != s->sched.warmup || (why = s->optim->check(&p)) ||
        (s->sched.warmup && !s->sched.kind->warmup_ok))
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata is inconsistent (%s)", path,
                        why ? why : "optimizer settings");
    return CNN_OK;
}

/* Augmentation and label smoothing; a checkpoint without them (written
   before cnn had them) trained with neither. */
static int read_augment(const char *path, json_t *meta, cnn_train_state *s)
{
    json_t *a = json_object_get(meta, "augment");
    const char *text = a ? json_string_value(a) : "none", *why = "not text";
    if (!text || cnn_augment_parse(text, &s->augment, &why) != 0)
        return cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata augment: %s", path, why);
    double ls;
    int st = get_num_or(path, meta, "label_smoothing", 0, 0.9999999, 0, &ls);
    s->label_smoothing = (float)ls;
    return st;
}

int cnn_checkpoint_state_tensors(json_t *meta, const char **name)
{
    json_t *o = json_object_get(meta, "optimizer");
    const cnn_optimizer *opt = cnn_optimizer_find(o ? json_string_value(o) : NULL);
    const char *mu = json_string_value(json_object_get(meta, "momentum"));
    if (!opt || (o && !json_string_value(o)))
        opt = cnn_optimizers[0];
    cnn_optim_params p = {.momentum = mu ? strtof(mu, NULL) : 0};
    const char *names[CNN_OPTIM_MAX_STATE];
    *name = opt->name;
    return opt->states(&p, names);
}

uint64_t cnn_checkpoint_tensor_bytes(const cnn_model *m, int nopt, long count)
{
    return 4 * ((uint64_t)(m->nparams + m->nbuffers) + (uint64_t)nopt * m->nparams +
                (uint64_t)count);
}

/* The order must be a permutation of 0..count-1. */
static int check_order(const char *path, const int32_t *order, long count)
{
    unsigned char *seen = calloc((size_t)count, 1);
    if (!seen)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    int st = CNN_OK;
    for (long i = 0; i < count && st == CNN_OK; i++) {
        if (order[i] < 0 || order[i] >= count || seen[order[i]])
            st = cnn_fail(CNN_ERR_FORMAT, "%s: train.order is not a permutation of the "
                          "training images", path);
        else
            seen[order[i]] = 1;
    }
    free(seen);
    return st;
}

int cnn_checkpoint_load(const char *path, cnn_model **model, cnn_train_state **state)
{
    if (!path || !*path || !model || !state)
        return cnn_fail(CNN_ERR_ARG, "load checkpoint: no path or outputs");
    *model = NULL;
    *state = NULL;
    json_t *meta;
    uint64_t data_size, need = 0;
    int st = cnn_st_read_metadata(path, &meta, &data_size);
    if (st != CNN_OK)
        return st;
    const char *format = json_string_value(json_object_get(meta, "format"));
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    st_tensor *t = NULL;
    if (!format || strcmp(format, "cnn-checkpoint") != 0) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: not a checkpoint (weights only, no optimizer "
                      "state); start from it with --load instead", path);
        goto out;
    }
    if ((st = cnn_train_state_create(&s)) != CNN_OK ||
        (st = read_scalars(path, meta, s)) != CNN_OK ||
        (st = read_optimizer(path, meta, s)) != CNN_OK ||
        (st = read_augment(path, meta, s)) != CNN_OK ||
        (st = read_fingerprint(path, meta, s)) != CNN_OK ||
        (st = cnn_weights_create_model(path, meta, data_size, &m)) != CNN_OK)
        goto out;
    /* The run trained this model on images of its input size. */
    cnn_train_state_set_model(s, m);
    if (!(s->source = strdup(path))) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    /* Before allocating for count images: the file must hold them. */
    const char *names[CNN_OPTIM_MAX_STATE];
    need = cnn_checkpoint_tensor_bytes(m, cnn_train_state_names(s, names), s->count);
    if (data_size < need) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: truncated: metadata claims %ld training images, "
                      "%llu bytes of tensors with the weights, but the file holds only "
                      "%llu", path, s->count, (unsigned long long)need,
                      (unsigned long long)data_size);
        goto out;
    }
    if ((st = cnn_train_state_alloc(s, m->block, s->count)) != CNN_OK)
        goto out;
    long spe = (s->count + s->batch - 1) / s->batch;
    if (s->seen != (s->t % spe) * s->batch) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: checkpoint metadata is inconsistent (images "
                      "seen this epoch)", path);
        goto out;
    }
    int n;
    t = checkpoint_tensors(m, s, m->params, &n);
    if (!t) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((st = cnn_st_read(path, t, n, 0, meta)) != CNN_OK ||
        (st = check_order(path, s->order, s->count)) != CNN_OK)
        goto out;
    s->ready = 1;
out:
    free(t);
    json_decref(meta);
    if (st != CNN_OK) {
        cnn_model_free(m);
        cnn_train_state_free(s);
        return st;
    }
    *model = m;
    *state = s;
    return CNN_OK;
}
