/*
 * predict.c — `cnn predict`: class probabilities from saved weights.
 * Without arguments, for every image of the test split of --data: a CSV row
 * index,label,predicted,p0,...,pK-1 (to -o FILE, written atomically, or
 * stdout) and the accuracy on stderr.  With IMAGE arguments (PGM, PPM or
 * PNG, decoded by image.c): one line per image with the class, its
 * probability and every class's probability.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "image.h"
#include "outfile.h"
#include "paths.h"

/* The input shape the model takes (its first layer's input). */
static void model_input(const cnn_model *m, int *h, int *w, int *ch)
{
    cnn_layer_info L;
    cnn_model_layer(m, 0, &L);
    *h = L.in_h, *w = L.in_w, *ch = L.in_c;
}

/* The most probable class (the first of equals). */
static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

/* Probabilities of every image of ds into probs (count * classes floats),
   the images shared out among threads.  Returns CNN_OK or an error. */
static int predict_all(cnn_model *m, const cnn_dataset *ds, int threads, float *probs)
{
    size_t in = (size_t)ds->height * ds->width * ds->channels;
    int classes = cnn_model_classes(m), failed = 0;
#pragma omp parallel num_threads(threads)
    {
        float *x = malloc(in * sizeof *x);
        if (!x) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < ds->count; i++) {
            if (!x)
                continue;
            const uint8_t *p = ds->images + (size_t)i * in;
            for (size_t j = 0; j < in; j++)
                x[j] = (float)p[j] / 255.0f; /* as the trainer scales them */
            if (cnn_predict(m, x, probs + (size_t)i * classes) != CNN_OK) {
#pragma omp atomic write
                failed = 1;
            }
        }
        free(x);
    }
    return failed ? CNN_ERR_NOMEM : CNN_OK;
}

/* The CSV of the whole test split. */
static int predict_test_split(const cli *c)
{
    cnn_dataset *ds = NULL;
    cnn_model *m = NULL;
    float *probs = NULL;
    int st = cnn_dataset_load_dir(c->data, "test", 0, &ds);
    if (st == CNN_OK)
        st = cli_open_model(c, ds->height, ds->width, ds->channels, &m);
    if (st != CNN_OK) {
        cnn_dataset_free(ds);
        return cli_fail(st);
    }
    int rc = EXIT_FAILURE_RUN, h, w, ch, classes = cnn_model_classes(m);
    model_input(m, &h, &w, &ch);
    if (h != ds->height || w != ds->width || ch != ds->channels) {
        cli_error(EXIT_FAILURE_RUN, "%s: the test images are %dx%dx%d, the model takes %dx%dx%d",
                  c->data, ds->height, ds->width, ds->channels, h, w, ch);
        goto out;
    }
    if (ds->classes > classes) {
        cli_error(EXIT_FAILURE_RUN, "%s: the test labels go up to %d, the model has %d classes",
                  c->data, ds->classes - 1, classes);
        goto out;
    }
    probs = malloc((size_t)ds->count * classes * sizeof *probs);
    if (!probs) {
        cli_error(EXIT_FAILURE_RUN, "out of memory for %d predictions", ds->count);
        goto out;
    }
    int threads;
    cnn_threads_describe(c->threads, &threads, NULL, 0); /* capped */
    if (threads > ds->count)
        threads = ds->count > 0 ? ds->count : 1;
    if ((st = predict_all(m, ds, threads, probs)) != CNN_OK) {
        cli_error(EXIT_FAILURE_RUN, "predict: out of memory");
        goto out;
    }
    outfile o;
    if (outfile_open(&o, c->output ? c->output : "-") != 0)
        goto out;
    fputs("index,label,predicted", o.f);
    for (int k = 0; k < classes; k++)
        fprintf(o.f, ",p%d", k);
    fputc('\n', o.f);
    long correct = 0;
    for (int i = 0; i < ds->count; i++) {
        const float *p = probs + (size_t)i * classes;
        int pred = argmax(p, classes);
        correct += pred == ds->labels[i];
        fprintf(o.f, "%d,%d,%d", i, ds->labels[i], pred);
        for (int k = 0; k < classes; k++)
            fprintf(o.f, ",%.6g", p[k]);
        fputc('\n', o.f);
    }
    if (outfile_commit(&o) != 0)
        goto out;
    if (!c->quiet)
        cli_say("accuracy %.4f (%ld of %d test images of %s)%s%s",
                ds->count ? (double)correct / ds->count : 0.0, correct, ds->count, c->data,
                c->output ? "; predictions in " : "", c->output ? c->output : "");
    rc = EXIT_OK;
out:
    free(probs);
    cnn_model_free(m);
    cnn_dataset_free(ds);
    return rc;
}

/* Classify one image file: its line to f, or a one-line error. */
static int predict_image(cnn_model *m, const char *path, float *x, float *probs, FILE *f)
{
    int h, w, ch, classes = cnn_model_classes(m);
    model_input(m, &h, &w, &ch);
    image img;
    char err[512];
    if (image_read(path, &img, err, sizeof err) != 0)
        return cli_error(EXIT_FAILURE_RUN, "%s", err);
    int rc = EXIT_FAILURE_RUN;
    if (img.height != h || img.width != w) {
        cli_error(rc, "%s: the image is %dx%d, the model takes %dx%d images", path, img.width,
                  img.height, w, h);
        goto out;
    }
    if ((ch == 1 || ch == 3) && image_to_channels(&img, ch) != 0) {
        cli_error(rc, "%s: out of memory", path);
        goto out;
    }
    if (img.channels != ch) {
        cli_error(rc, "%s: the image has %d channel%s, the model takes %d", path, img.channels,
                  img.channels == 1 ? "" : "s", ch);
        goto out;
    }
    size_t n = (size_t)h * w * ch;
    for (size_t j = 0; j < n; j++)
        x[j] = (float)img.pixels[j] / 255.0f;
    int st = cnn_predict(m, x, probs);
    if (st != CNN_OK) {
        rc = cli_fail(st);
        goto out;
    }
    int best = argmax(probs, classes);
    fprintf(f, "%s: %d (p=%.4f)  probabilities:", path, best, probs[best]);
    for (int k = 0; k < classes; k++)
        fprintf(f, " %d:%.6g", k, probs[k]);
    fputc('\n', f);
    rc = EXIT_OK;
out:
    image_free(&img);
    return rc;
}

/* Each IMAGE argument; a bad one is reported and the others go on, and the
   exit status is then 1 (with -o FILE nothing is written). */
static int predict_images(const cli *c)
{
    cnn_model *m = NULL;
    int st = cli_open_model(c, c->in_h, c->in_w, c->in_c, &m);
    if (st != CNN_OK)
        return cli_fail(st);
    int h, w, ch, rc = EXIT_FAILURE_RUN;
    model_input(m, &h, &w, &ch);
    float *x = malloc((size_t)h * w * ch * sizeof *x);
    float *probs = malloc((size_t)cnn_model_classes(m) * sizeof *probs);
    outfile o;
    if (!x || !probs) {
        cli_error(rc, "out of memory");
    } else if (outfile_open(&o, c->output ? c->output : "-") == 0) {
        rc = EXIT_OK;
        for (int i = 0; i < c->nargs; i++)
            if (predict_image(m, c->args[i], x, probs, o.f) != EXIT_OK)
                rc = EXIT_FAILURE_RUN;
        if (rc != EXIT_OK)
            outfile_abort(&o);
        else if (outfile_commit(&o) != 0)
            rc = EXIT_FAILURE_RUN;
    }
    free(x);
    free(probs);
    cnn_model_free(m);
    return rc;
}

static int run(const cli *c)
{
    if (!c->load)
        return cli_error(EXIT_USAGE, "predict needs --load FILE (weights saved by cnn train "
                                     "--save)");
    cli_paths ps = {.n = 0};
    paths_input(&ps, "--load", c->load);
    if (c->nargs == 0)
        paths_data(&ps, c->data, "test");
    for (int i = 0; i < c->nargs; i++)
        paths_input(&ps, "the image", c->args[i]);
    paths_output(&ps, "--output", c->output, NULL);
    int rc = paths_check(&ps);
    if (rc >= 0)
        return rc;
    return c->nargs > 0 ? predict_images(c) : predict_test_split(c);
}

const cli_command cmd_predict = {
    "predict", "classify the test images, or PGM/PNG image files, with saved weights",
    "usage: cnn predict --load FILE [options] [IMAGE...]\n\n"
    "Without IMAGE: classifies every image of the test split of --data and writes\n"
    "CSV rows index,label,predicted,p0,...,pK-1 (after a header line) to -o FILE\n"
    "or stdout; the accuracy goes to stderr.\n"
    "With IMAGE files (PGM P2/P5, PPM P3/P6 or PNG; up to 64): prints one line per\n"
    "image, 'IMAGE: CLASS (p=P)  probabilities: 0:P0 1:P1 ...'.  An image must\n"
    "have the model's input size; colour becomes grey for a one-channel model,\n"
    "alpha is composited onto black, pixels are scaled to [0,1] as x/255 (white\n"
    "digits on black, as in MNIST).  A bad image is reported and the others are\n"
    "still classified; the exit status is then 1 and -o FILE is not written.\n",
    OPTBIT(OPT_LOAD) | OPTBIT(OPT_MODEL) | OPTBIT(OPT_ISA) | OPTBIT(OPT_THREADS) |
        OPTBIT(OPT_DATA) | OPTBIT(OPT_OUTPUT) | OPTBIT(OPT_QUIET),
    0, 64, run};
