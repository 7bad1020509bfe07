/*
 * train.c — `cnn train`: load the training split, build or load the model,
 * train it with progress on stderr, save it, evaluate it on the test split.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

static int run(const cli *c)
{
    cnn_dataset *train = NULL;
    cnn_model *m = NULL;
    int st = cnn_dataset_load_dir(c->data, "train", 0, &train);
    if (st == CNN_OK)
        st = cli_make_model(c, train->height, train->width, train->channels, &m);
    if (st == CNN_OK)
        st = c->load ? cnn_model_load(m, c->load) : cnn_model_init(m, c->seed);
    if (st != CNN_OK) {
        cnn_dataset_free(train);
        cnn_model_free(m);
        return cli_fail(st);
    }
    cnn_dataset *val = NULL;
    if (c->validate && (st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(m), &val))) {
        cnn_dataset_free(train);
        cnn_model_free(m);
        return cli_fail(st);
    }
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.validation = val;
    cfg.epochs = c->epochs;
    cfg.batch = c->batch;
    cfg.lr = c->lr;
    cfg.seed = c->seed;
    cfg.threads = c->threads;
    cfg.max_steps = c->steps;
    cfg.shuffle = c->shuffle;
    progress_state ps = {isatty(STDERR_FILENO), c->quiet, 0};
    cfg.progress = progress_print;
    cfg.user = &ps;

    char desc[160];
    int threads;
    cnn_threads_describe(c->threads, &threads, desc, sizeof desc);
    if (!c->quiet)
        fprintf(stderr, "cnn: %s, %zu parameters, %s kernels; %d images %dx%dx%d; %s\n",
                cnn_model_spec(m), cnn_model_param_count(m), cnn_model_isa(m), train->count,
                train->height, train->width, train->channels, desc);
    cnn_train_result res;
    st = cnn_train(m, train, &cfg, &res);
    cnn_dataset_free(train);
    cnn_dataset_free(val);
    if (st == CNN_OK && !res.bound && threads > 1 && !c->quiet)
        fprintf(stderr, "cnn: warning: threads are not bound to cores (%s)\n", res.binding);
    if (st == CNN_OK && !c->quiet && res.steps)
        fprintf(stderr, "cnn: trained %ld steps in %.1f s (%.0f images/s)\n", res.steps,
                res.seconds, (double)res.steps * c->batch / (res.seconds > 0 ? res.seconds : 1));
    if (st == CNN_OK && c->save) {
        st = cnn_model_save(m, c->save);
        if (st == CNN_OK && !c->quiet)
            fprintf(stderr, "cnn: weights saved to %s\n", c->save);
    }
    cnn_eval_result r;
    if (st == CNN_OK)
        st = cli_evaluate(c, m, &r);
    cnn_model_free(m);
    if (st != CNN_OK)
        return cli_fail(st);
    cli_print_eval(&r);
    cnn_eval_result_free(&r);
    return EXIT_OK;
}

const cli_command cmd_train = {
    "train", "train a model on DIR/train-*, save it, evaluate on DIR/t10k-*",
    "usage: cnn train [options]\n\n"
    "Trains a model with Adam on the training split of --data, saves it with\n"
    "--save, and prints its loss, accuracy and confusion matrix on the test split.\n",
    OPTBIT(OPT_DATA) | OPTBIT(OPT_MODEL) | OPTBIT(OPT_EPOCHS) | OPTBIT(OPT_BATCH) |
        OPTBIT(OPT_LR) | OPTBIT(OPT_SEED) | OPTBIT(OPT_THREADS) | OPTBIT(OPT_STEPS) |
        OPTBIT(OPT_SHUFFLE) | OPTBIT(OPT_SAVE) | OPTBIT(OPT_LOAD) | OPTBIT(OPT_ISA) |
        OPTBIT(OPT_VALIDATE) | OPTBIT(OPT_QUIET) | OPTBIT(OPT_LOG) | OPTBIT(OPT_LOG_EVERY) |
        OPTBIT(OPT_CHECKPOINT) | OPTBIT(OPT_CHECKPOINT_EVERY) | OPTBIT(OPT_RESUME),
    0, 0, run};
