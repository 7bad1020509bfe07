/*
 * custom_data.c — train on a data set built in memory: 16x16 grey images
 * of a bright bar, horizontal or vertical (classes 0 and 1), made here,
 * handed to the library with cnn_dataset_from_memory.
 *
 *   cc custom_data.c -o custom_data $(pkg-config --cflags --libs cnn)
 *   cc custom_data.c -o custom_data $(pkg-config --static --cflags --libs cnn-static)
 *   ./custom_data [MAX_STEPS]
 *
 * Ownership: with CNN_DATASET_BORROW the data set points at our buffers,
 * which must outlive it; cnn_dataset_free then frees only the data set,
 * and we free our buffers ourselves.  With CNN_DATASET_COPY the library
 * copies them and we could free ours at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cnn.h>

enum { COUNT = 512, SIDE = 16 };

static int fail(const char *what)
{
    fprintf(stderr, "custom_data: %s: %s\n", what, cnn_last_error());
    return 1;
}

/* Image i: a bar 2 pixels wide at a position that varies, over noise. */
static void make_data(uint8_t *images, uint8_t *labels)
{
    unsigned s = 1;
    for (int i = 0; i < COUNT; i++) {
        int label = i % 2, at = 2 + (i / 2) % (SIDE - 4);
        labels[i] = (uint8_t)label;
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                s = s * 1103515245u + 12345u;
                int on = label ? (x == at || x == at + 1) : (y == at || y == at + 1);
                images[(size_t)i * SIDE * SIDE + y * SIDE + x] =
                    (uint8_t)((on ? 180 : 0) + (s >> 26)); /* noise 0..63 */
            }
    }
}

int main(int argc, char **argv)
{
    uint8_t *images = malloc((size_t)COUNT * SIDE * SIDE), *labels = malloc(COUNT);
    if (!images || !labels)
        return 1;
    make_data(images, labels);

    /* count, height, width, channels; classes 0: 1 + the largest label. */
    cnn_dataset *ds = NULL;
    if (cnn_dataset_from_memory(images, labels, COUNT, SIDE, SIDE, 1, 0,
                                CNN_DATASET_BORROW, &ds) != CNN_OK)
        return fail("building the data set");

    cnn_model *m = NULL;
    if (cnn_model_create("conv3x3:8:same,relu,maxpool2,flatten,dense:2,softmax", SIDE, SIDE,
                         1, ds->classes, &m) != CNN_OK)
        return fail("creating the model");
    cnn_model_init(m, 1);

    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 5;
    cfg.max_steps = argc > 1 ? atol(argv[1]) : 0;
    if (cnn_train(m, ds, &cfg, NULL) != CNN_OK)
        return fail("training");

    cnn_eval_result e;
    if (cnn_evaluate(m, ds, 0, &e) != CNN_OK)
        return fail("evaluating");
    printf("training-set accuracy %.4f\n", e.accuracy);
    cnn_eval_result_free(&e);

    cnn_model_free(m);
    cnn_dataset_free(ds); /* borrowed: our buffers are left to us */
    free(images);
    free(labels);
    return 0;
}
