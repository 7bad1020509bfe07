/*
 * train_state.c — creating, sizing, describing and freeing the training
 * state that checkpoints carry (train_state.h), and checking that a state
 * can go on with a model, a data set and a batch size: the data set's
 * fingerprint (CRC-32 of its images and of its labels) must be the one the
 * state was trained on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "model.h"
#include "train_state.h"

int cnn_train_state_create(cnn_train_state **out)
{
    if (!out)
        return cnn_fail(CNN_ERR_ARG, "train state: no output pointer");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return cnn_fail(CNN_ERR_NOMEM, "train state: out of memory");
    (*out)->best_val = -1;
    return CNN_OK;
}

void cnn_train_state_free(cnn_train_state *s)
{
    if (!s)
        return;
    cnn_train_state_release(s);
    free(s->source);
    free(s);
}

void cnn_train_state_release(cnn_train_state *s)
{
    for (int k = 0; k < CNN_OPTIM_MAX_STATE; k++) {
        cnn_aligned_free(s->opt[k]);
        s->opt[k] = NULL;
    }
    s->nopt = 0;
    free(s->order);
    s->order = NULL;
}

const cnn_optimizer *cnn_train_state_optim(const cnn_train_state *s)
{
    return s->optim ? s->optim : cnn_optimizers[0];
}

cnn_optim_params cnn_train_state_params(const cnn_train_state *s)
{
    return (cnn_optim_params){.lr = s->lr, .beta1 = s->beta1, .beta2 = s->beta2,
                              .eps = s->eps, .momentum = s->momentum,
                              .nesterov = s->nesterov, .weight_decay = s->weight_decay};
}

int cnn_train_state_names(const cnn_train_state *s, const char **names)
{
    cnn_optim_params p = cnn_train_state_params(s);
    return cnn_train_state_optim(s)->states(&p, names);
}

int cnn_train_state_alloc(cnn_train_state *s, size_t block, long count)
{
    const char *names[CNN_OPTIM_MAX_STATE];
    cnn_train_state_release(s);
    int n = cnn_train_state_names(s, names), ok = 1;
    for (int k = 0; k < n; k++)
        ok &= (s->opt[k] = cnn_aligned_calloc(block * sizeof(float))) != NULL;
    s->order = malloc((size_t)(count > 0 ? count : 1) * sizeof *s->order);
    if (!ok || !s->order) {
        cnn_train_state_release(s);
        return cnn_fail(CNN_ERR_NOMEM, "train: out of memory for the optimizer state");
    }
    s->nopt = n;
    for (long i = 0; i < count; i++)
        s->order[i] = (int32_t)i;
    s->block = block;
    s->count = count;
    return CNN_OK;
}

_Static_assert(sizeof ((cnn_train_state_info *)0)->augment >= CNN_AUGMENT_TEXT,
               "cnn_train_state_info.augment holds any canonical text");

int cnn_train_state_info_get(const cnn_train_state *s, cnn_train_state_info *out)
{
    memset(out, 0, sizeof *out);
    long spe = s->batch > 0 ? (s->count + s->batch - 1) / s->batch : 0;
    out->steps = s->t;
    out->steps_per_epoch = spe;
    out->epoch = spe > 0 ? (int)(s->t / spe) + 1 : 1;
    out->step = spe > 0 ? s->t % spe : 0;
    out->epochs = s->epochs;
    out->batch = s->batch;
    out->threads = s->threads;
    out->shuffle = s->shuffle;
    out->lr = s->lr;
    out->beta1 = s->beta1;
    out->beta2 = s->beta2;
    out->eps = s->eps;
    out->optimizer = cnn_train_state_optim(s)->name;
    out->momentum = s->momentum;
    out->nesterov = s->nesterov;
    out->weight_decay = s->weight_decay;
    cnn_schedule_format(&s->sched, out->schedule, sizeof out->schedule);
    out->warmup_steps = s->sched.warmup;
    out->seed = s->seed;
    out->best_val_accuracy = s->best_val;
    cnn_augment_format(&s->augment, out->augment, sizeof out->augment);
    out->label_smoothing = s->label_smoothing;
    return CNN_OK;
}

/* ------------------------------------------------------- fingerprints */

uint32_t cnn_crc32(const void *data, size_t n)
{
    const uint8_t *p = data;
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt part = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = crc32(crc, p, part);
        p += part, n -= part;
    }
    return (uint32_t)crc;
}

static size_t image_bytes(const cnn_dataset *ds)
{
    return (size_t)ds->count * (size_t)ds->height * (size_t)ds->width *
           (size_t)ds->channels;
}

/* The CRC-32s of ds's images and labels: one pass, once per check (MNIST's
   47 MB of images: 23-38 ms on the development machine, against 65 ms to
   load them). */
void cnn_data_fingerprint(const cnn_dataset *ds, uint32_t *images, uint32_t *labels)
{
    *images = cnn_crc32(ds->images, image_bytes(ds));
    *labels = cnn_crc32(ds->labels, (size_t)ds->count);
}

void cnn_train_state_set_model(cnn_train_state *s, const cnn_model *m)
{
    snprintf(s->spec, sizeof s->spec, "%s", m->spec);
    s->height = m->in_h, s->width = m->in_w, s->channels = m->in_c;
}

void cnn_train_state_set_data(cnn_train_state *s, const cnn_model *m, const cnn_dataset *ds)
{
    cnn_train_state_set_model(s, m);
    if (!s->has_crc) {
        cnn_data_fingerprint(ds, &s->images_crc, &s->labels_crc);
        s->has_crc = 1;
    }
}

/* ------------------------------------------------------------ checking */

/* Append "; " (unless first) and a formatted clause to buf. */
static void clause(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void clause(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len > 0 && len + 2 < size) {
        memcpy(buf + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

/* The data fingerprints: CNN_OK when they match (or the state has none). */
static int check_fingerprint(const cnn_train_state *s, const cnn_dataset *ds,
                             const char *who, const char *what)
{
    if (!s->has_crc)
        return CNN_OK; /* an older checkpoint: accepted, nothing to compare */
    uint32_t images, labels;
    cnn_data_fingerprint(ds, &images, &labels);
    int bad_images = images != s->images_crc, bad_labels = labels != s->labels_crc;
    if (!bad_images && !bad_labels)
        return CNN_OK;
    char was[64], is[64];
    if (bad_images && bad_labels) {
        snprintf(was, sizeof was, "images crc32 %08lx and labels crc32 %08lx",
                 (unsigned long)s->images_crc, (unsigned long)s->labels_crc);
        snprintf(is, sizeof is, "%08lx and %08lx", (unsigned long)images,
                 (unsigned long)labels);
    } else {
        snprintf(was, sizeof was, "%s crc32 %08lx", bad_images ? "images" : "labels",
                 (unsigned long)(bad_images ? s->images_crc : s->labels_crc));
        snprintf(is, sizeof is, "%08lx", (unsigned long)(bad_images ? images : labels));
    }
    return cnn_fail(CNN_ERR_MISMATCH, "%s: this %s was trained on other data (%s, this data "
                    "set's %s)%s", who, what, was, is,
                    s->source ? "; resume with the same --data" : "");
}

int cnn_train_state_check(const cnn_train_state *s, const cnn_model *m,
                          const cnn_dataset *ds, int batch)
{
    if (!s || !m || !ds)
        return cnn_fail(CNN_ERR_ARG, "train: no state, model or data set");
    if (!s->ready)
        return CNN_OK;
    const char *who = s->source ? s->source : "train";
    const char *what = s->source ? "checkpoint" : "training state";
    char diff[480] = "";
    if (s->block != m->block || strncmp(s->spec, m->spec, sizeof s->spec - 1) != 0)
        clause(diff, sizeof diff, "the model differs (%s '%.100s%s', this model '%.100s%s')",
               what, s->spec, strlen(s->spec) > 100 ? "..." : "", m->spec,
               strlen(m->spec) > 100 ? "..." : "");
    if (s->height != ds->height || s->width != ds->width || s->channels != ds->channels)
        clause(diff, sizeof diff, "the image size differs (%s %dx%dx%d, data set %dx%dx%d)",
               what, s->height, s->width, s->channels, ds->height, ds->width,
               ds->channels);
    if (s->count != ds->count)
        clause(diff, sizeof diff, "the image count differs (%s %ld, data set %d)", what,
               s->count, ds->count);
    if (s->batch != batch)
        clause(diff, sizeof diff, "the batch differs (%s %d, this run %d)", what, s->batch,
               batch);
    if (*diff)
        return cnn_fail(CNN_ERR_MISMATCH, "%s: this %s cannot go on here: %s", who, what,
                        diff);
    return check_fingerprint(s, ds, who, what);
}
