/*
 * compare.c — `cnn compare`: trains several models on the same training
 * split with the same seed, batch, learning rate and threads, evaluates
 * each on the test split and prints one table row per model (parameters,
 * epochs, test loss and accuracy, training seconds, images/s) — the
 * notebook's comparison of logistic regression with the CNNs.
 *
 * --models: preset names separated by commas ("logreg,seed,seed-dense"),
 * or items that may be spec strings (which hold commas themselves)
 * separated by ';'.  A list with no ';' whose comma-separated items are
 * not all presets is one spec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "suggest.h"

#define MAX_MODELS 16

/* One model's row of the table. */
typedef struct row {
    const char *name;      /* as given in --models */
    cnn_model *m;
    size_t params;
    double epochs, loss, accuracy, seconds, images_per_s;
} row;

/* What the progress callback keeps: the latest report. */
typedef struct last_progress {
    long run_images;
    double run_s;
} last_progress;

static void on_progress(const cnn_progress *p, void *user)
{
    last_progress *lp = user;
    lp->run_images = p->run_images;
    lp->run_s = p->run_s;
}

static int is_preset(const char *name)
{
    return cnn_model_preset(name) != name;
}

/* Trim blanks at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

/* How many of the comma-separated items of list are presets, and the
   first that is not (in *other, a copy the caller frees); -1 when out of
   memory. */
static int count_presets(const char *list, char **other)
{
    char *copy = strdup(list);
    *other = NULL;
    if (!copy)
        return -1;
    int presets = 0;
    for (char *s = copy, *next; s; s = next) {
        next = strchr(s, ',');
        if (next)
            *next++ = 0;
        s = trim(s);
        if (!*s)
            continue; /* an empty item, refused when the list is split */
        if (is_preset(s))
            presets++;
        else if (!*other && !(*other = strdup(s))) {
            presets = -1;
            break;
        }
    }
    free(copy);
    return presets;
}

/* The message for an item of a list of presets that is none, with the
   presets closest to it. */
static void not_a_preset(const char *item)
{
    const char *names[32];
    char list[300] = "", near[200];
    int n = 0;
    size_t len = 0;
    for (; n < 32 && (names[n] = cnn_model_preset_name(n)); n++)
        if (len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", n ? ", " : "",
                                    names[n]);
    if (cnn_suggest(item, names, n, near, sizeof near) > 0)
        cli_error(EXIT_USAGE, "--models: '%s' is not a preset; did you mean %s? (%s; separate "
                              "specs with ';')", item, near, list);
    else
        cli_error(EXIT_USAGE, "--models: '%s' is not a preset (%s; separate specs with ';')",
                  item, list);
}

/* Split buf (a writable copy of --models) into items; the separator is ';'
   when there is one, else ',' when an item is a preset (then all must be),
   else the whole list is one spec.  Returns the count, or minus the exit
   code (message printed). */
static int split_models(char *buf, char **items)
{
    char sep = strchr(buf, ';') ? ';' : ',';
    if (sep == ',') {
        char *other;
        int presets = count_presets(buf, &other);
        if (presets < 0)
            return -cli_error(EXIT_FAILURE_RUN, "out of memory");
        if (presets > 0 && other) {
            not_a_preset(other);
            free(other);
            return -EXIT_USAGE;
        }
        free(other);
        if (presets == 0)
            sep = 0; /* one spec */
    }
    int n = 0;
    for (char *s = buf, *next; s; s = next) {
        next = sep ? strchr(s, sep) : NULL;
        if (next)
            *next++ = 0;
        s = trim(s);
        if (!*s) {
            return -cli_error(EXIT_USAGE, "--models: empty item (separate presets with ',', "
                                          "specs with ';')");
        }
        if (n == MAX_MODELS) {
            return -cli_error(EXIT_USAGE, "--models: more than %d models", MAX_MODELS);
        }
        items[n++] = s;
    }
    return n;
}

/* Initialise, train and evaluate one model; the row's figures filled in. */
static int train_one(const cli *c, row *r, const cnn_dataset *train, const cnn_dataset *test)
{
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = c->epochs;
    cfg.batch = c->batch;
    cfg.lr = c->lr;
    cfg.seed = c->seed;
    cfg.threads = c->threads;
    cfg.max_steps = c->steps;
    last_progress lp = {0, 0};
    cfg.progress = on_progress;
    cfg.user = &lp;
    cnn_train_result res;
    int st = cnn_model_init(r->m, c->seed);
    if (st == CNN_OK)
        st = cnn_train(r->m, train, &cfg, &res);
    if (st != CNN_OK)
        return st;
    cnn_eval_result er;
    if ((st = cnn_evaluate(r->m, test, c->threads, &er)) != CNN_OK)
        return st;
    r->epochs = train->count ? (double)lp.run_images / train->count : 0;
    r->loss = er.loss;
    r->accuracy = er.accuracy;
    r->seconds = res.seconds;
    r->images_per_s = lp.run_s > 0 ? lp.run_images / lp.run_s : 0;
    cnn_eval_result_free(&er);
    return CNN_OK;
}

/* A model of the list could not be built: the error, naming the item
   when the list has several. */
static int model_failed(int st, const char *item, int n)
{
    if (n == 1 || (st != CNN_ERR_SPEC && st != CNN_ERR_ARG))
        return cli_fail(st);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", cnn_last_error());
    return cli_error(EXIT_USAGE, "--models: '%s': %s", item, msg);
}

static void print_table(const row *rows, int n)
{
    int w = (int)strlen("model");
    for (int i = 0; i < n; i++)
        if ((int)strlen(rows[i].name) > w)
            w = (int)strlen(rows[i].name);
    printf("%-*s  %10s  %6s  %9s  %13s  %7s  %9s\n", w, "model", "parameters", "epochs",
           "test loss", "test accuracy", "train s", "images/s");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        char params[32], speed[32], epochs[32];
        cli_with_commas(r->params, params, sizeof params);
        cli_with_commas(r->images_per_s, speed, sizeof speed);
        if (r->epochs == (double)(long)r->epochs)
            snprintf(epochs, sizeof epochs, "%ld", (long)r->epochs);
        else
            snprintf(epochs, sizeof epochs, "%.2f", r->epochs);
        printf("%-*s  %10s  %6s  %9.4f  %13.4f  %7.1f  %9s\n", w, r->name, params, epochs,
               r->loss, r->accuracy, r->seconds, speed);
    }
}

/* The header line of the comparison (to stderr). */
static void print_header(const cli *c, int n, const cnn_dataset *train)
{
    char desc[160];
    int threads;
    cnn_threads_describe(c->threads, &threads, desc, sizeof desc);
    char limit[48] = "";
    if (c->steps)
        snprintf(limit, sizeof limit, " (at most %ld steps)", c->steps);
    fprintf(stderr, "cnn: comparing %d model%s on %d images %dx%dx%d, %d epoch%s%s, "
            "batch %d; %s\n", n, n == 1 ? "" : "s", train->count, train->height,
            train->width, train->channels, c->epochs, c->epochs == 1 ? "" : "s", limit,
            c->batch, desc);
}

static int run(const cli *c)
{
    const char *list = c->models ? c->models : "logreg,seed,seed-dense";
    char *buf = malloc(strlen(list) + 1);
    if (!buf)
        return cli_error(EXIT_FAILURE_RUN, "out of memory");
    strcpy(buf, list);
    char *items[MAX_MODELS];
    int n = split_models(buf, items);
    if (n < 0) {
        free(buf);
        return -n;
    }
    row rows[MAX_MODELS];
    memset(rows, 0, sizeof rows);
    cnn_dataset *train = NULL, *test = NULL;
    int rc = EXIT_OK, st = cnn_dataset_load_dir(c->data, "train", 0, &train);
    if (st == CNN_OK)
        st = cnn_dataset_load_dir(c->data, "test", 0, &test);
    if (st != CNN_OK) {
        rc = cli_fail(st);
        goto out;
    }
    /* Every model is built before any is trained: a bad spec fails at once. */
    for (int i = 0; i < n; i++) {
        rows[i].name = items[i];
        st = cnn_model_create(items[i], train->height, train->width, train->channels, 0,
                              &rows[i].m);
        if (st == CNN_OK && c->isa)
            st = cnn_model_set_isa(rows[i].m, c->isa);
        if (st != CNN_OK) {
            rc = model_failed(st, items[i], n);
            goto out;
        }
        rows[i].params = cnn_model_param_count(rows[i].m);
    }
    for (int i = 0; i < n; i++) {
        int classes = cnn_model_classes(rows[i].m);
        int labels = train->classes > test->classes ? train->classes : test->classes;
        if (labels > classes) {
            rc = cli_error(EXIT_FAILURE_RUN, "%s: the labels go up to %d, model %s has %d "
                           "classes", c->data, labels - 1, rows[i].name, classes);
            goto out;
        }
    }
    if (!c->quiet)
        print_header(c, n, train);
    for (int i = 0; i < n; i++) {
        char params[32];
        cli_with_commas(rows[i].params, params, sizeof params);
        if (!c->quiet)
            fprintf(stderr, "cnn: [%d/%d] %s (%s parameters): training... ", i + 1, n,
                    rows[i].name, params);
        st = train_one(c, &rows[i], train, test);
        if (st != CNN_OK) {
            if (!c->quiet)
                fputc('\n', stderr);
            rc = cli_fail(st);
            goto out;
        }
        if (!c->quiet)
            fprintf(stderr, "%.1f s, test accuracy %.4f\n", rows[i].seconds, rows[i].accuracy);
    }
    print_table(rows, n); /* main checks that stdout took it */
out:
    for (int i = 0; i < n; i++)
        cnn_model_free(rows[i].m);
    cnn_dataset_free(train);
    cnn_dataset_free(test);
    free(buf);
    return rc;
}

const cli_command cmd_compare = {
    "compare", "train logreg, seed and seed-dense the same way and compare them",
    "usage: cnn compare [--models LIST] [options]\n\n"
    "Trains each model of LIST on the training split of --data with the same\n"
    "epochs, batch, learning rate, seed and threads, evaluates it on the test\n"
    "split and prints a table: parameters, epochs, test loss, test accuracy,\n"
    "training seconds and images/s.  LIST holds preset names separated by\n"
    "commas (default logreg,seed,seed-dense), or presets and spec strings\n"
    "separated by ';' (specs contain commas), e.g.\n"
    "  --models 'logreg;conv3x3:8:same,relu,flatten,dense:10,softmax'\n",
    OPTBIT(OPT_DATA) | OPTBIT(OPT_MODELS) | OPTBIT(OPT_EPOCHS) | OPTBIT(OPT_BATCH) |
        OPTBIT(OPT_LR) | OPTBIT(OPT_SEED) | OPTBIT(OPT_THREADS) | OPTBIT(OPT_ISA) |
        OPTBIT(OPT_QUIET) | OPTBIT(OPT_STEPS),
    0, 0, run};
