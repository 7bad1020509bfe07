/*
 * train.c — train a model on an MNIST-style data directory and save it.
 *
 *   cc train.c -o train $(pkg-config --cflags --libs cnn)
 *   cc train.c -o train $(pkg-config --static --cflags --libs cnn-static)  # libcnn.a
 *   ./train data/mnist seed.safetensors          # one epoch of the seed preset
 *   ./train data/mnist seed.safetensors 50       # stop after 50 steps
 *
 * Uses only include/cnn.h: every call returns a status, and
 * cnn_last_error() says what went wrong.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cnn.h>

/* Print the last error with what failed, and return 1 (the exit status). */
static int fail(const char *what)
{
    fprintf(stderr, "train: %s: %s\n", what, cnn_last_error());
    return 1;
}

/* Called after every optimizer step; prints one line per epoch. */
static void progress(const cnn_progress *p, void *user)
{
    (void)user;
    if (p->epoch_done)
        fprintf(stderr, "epoch %d/%d: loss %.4f, accuracy %.4f\n", p->epoch, p->epochs,
                p->loss, p->accuracy);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: train DATA_DIR OUT.safetensors [MAX_STEPS]\n");
        return 2;
    }
    cnn_dataset *train = NULL, *test = NULL;
    if (cnn_dataset_load_dir(argv[1], "train", 0, &train) != CNN_OK ||
        cnn_dataset_load_dir(argv[1], "test", 0, &test) != CNN_OK)
        return fail("loading data");

    /* A preset name or a spec string; the input shape comes from the data. */
    cnn_model *m = NULL;
    if (cnn_model_create("seed", train->height, train->width, train->channels,
                         train->classes, &m) != CNN_OK)
        return fail("creating the model");
    cnn_model_init(m, 42); /* Glorot-uniform weights from seed 42 */

    cnn_train_config cfg;
    cnn_train_config_default(&cfg); /* Adam, batch 32, lr 0.001, 3 epochs */
    cfg.epochs = 1;
    cfg.max_steps = argc > 3 ? atol(argv[3]) : 0; /* 0: no limit */
    cfg.progress = progress;
    cnn_train_result r;
    if (cnn_train(m, train, &cfg, &r) != CNN_OK)
        return fail("training");
    fprintf(stderr, "%ld steps in %.1f s on %d threads\n", r.steps, r.seconds, r.threads);

    cnn_eval_result e;
    if (cnn_evaluate(m, test, 0, &e) != CNN_OK)
        return fail("evaluating");
    printf("test accuracy %.4f, loss %.4f\n", e.accuracy, e.loss);
    cnn_eval_result_free(&e);

    if (cnn_model_save(m, argv[2]) != CNN_OK) /* safetensors, written atomically */
        return fail("saving");
    cnn_model_free(m);
    cnn_dataset_free(train);
    cnn_dataset_free(test);
    return 0;
}
