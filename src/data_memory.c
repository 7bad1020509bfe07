/*
 * data_memory.c — a data set over images and labels already in memory
 * (cnn_dataset_from_memory): the shape, class count and labels checked,
 * then the buffers copied (the set owns the copies) or borrowed (the set
 * points at the caller's buffers and cnn_dataset_free leaves them).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static int check_shape(int count, int height, int width, int channels, int classes,
                       int flags)
{
    const char *who = "cnn_dataset_from_memory";
    if (count < 1)
        return cnn_fail(CNN_ERR_ARG, "%s: image count %d (must be at least 1)", who, count);
    if (height < 1 || width < 1 || channels < 1)
        return cnn_fail(CNN_ERR_ARG, "%s: image shape %dx%dx%d (each must be at least 1)",
                        who, height, width, channels);
    if ((long long)height * width * channels > INT_MAX)
        return cnn_fail(CNN_ERR_ARG, "%s: images of %dx%dx%d values are too large", who,
                        height, width, channels);
    if (classes < 0 || classes > 256)
        return cnn_fail(CNN_ERR_ARG, "%s: class count %d (must be 0..256)", who, classes);
    if (flags != CNN_DATASET_COPY && flags != CNN_DATASET_BORROW)
        return cnn_fail(CNN_ERR_ARG, "%s: flags %d (must be CNN_DATASET_COPY or "
                        "CNN_DATASET_BORROW)", who, flags);
    return CNN_OK;
}

/* The class count: classes, or 1 + the largest label when it is 0; every
   label below it. */
static int check_labels(const uint8_t *labels, int count, int classes, int *out)
{
    int largest = 0;
    for (int i = 0; i < count; i++) {
        if (classes && labels[i] >= classes)
            return cnn_fail(CNN_ERR_MISMATCH, "cnn_dataset_from_memory: label %u at index %d "
                            "is out of range (must be below %d)", (unsigned)labels[i], i,
                            classes);
        if (labels[i] > largest)
            largest = labels[i];
    }
    *out = classes ? classes : largest + 1;
    return CNN_OK;
}

/* A copy of n bytes (NULL when out of memory). */
static uint8_t *copy_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n);
    if (q)
        memcpy(q, p, n);
    return q;
}

int cnn_dataset_from_memory(const uint8_t *images, const uint8_t *labels, int count,
                            int height, int width, int channels, int classes,
                            int flags, cnn_dataset **out)
{
    if (out)
        *out = NULL;
    if (!images || !labels || !out)
        return cnn_fail(CNN_ERR_ARG, "cnn_dataset_from_memory: NULL argument");
    int st = check_shape(count, height, width, channels, classes, flags);
    if (st == CNN_OK)
        st = check_labels(labels, count, classes, &classes);
    if (st != CNN_OK)
        return st;
    cnn_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return cnn_fail(CNN_ERR_NOMEM, "cnn_dataset_from_memory: out of memory");
    *ds = (cnn_dataset){.count = count, .height = height, .width = width,
                        .channels = channels, .classes = classes};
    const size_t bytes = (size_t)count * height * width * channels;
    if (flags == CNN_DATASET_BORROW) {
        /* The library only reads a data set's buffers. */
        ds->images = (uint8_t *)images;
        ds->labels = (uint8_t *)labels;
        ds->borrowed = 1;
    } else {
        ds->images = copy_bytes(images, bytes);
        ds->labels = copy_bytes(labels, (size_t)count);
        if (!ds->images || !ds->labels) {
            cnn_dataset_free(ds);
            return cnn_fail(CNN_ERR_NOMEM, "cnn_dataset_from_memory: out of memory for a "
                            "copy of %zu bytes", bytes);
        }
    }
    *out = ds;
    return CNN_OK;
}
