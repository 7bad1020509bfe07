/*
 * predict.c — load a saved model and classify images held in memory with
 * one batch call.
 *
 *   cc predict.c -o predict $(pkg-config --cflags --libs cnn)
 *   cc predict.c -o predict $(pkg-config --static --cflags --libs cnn-static)
 *   ./predict seed.safetensors data/mnist 100   # the first 100 test images
 *
 * The images here come from the test split, but any float buffer in the
 * model's input layout will do: image i at x + i*height*width*channels,
 * NHWC, values in [0, 1].
 */
#include <stdio.h>
#include <stdlib.h>

#include <cnn.h>

static int fail(const char *what)
{
    fprintf(stderr, "predict: %s: %s\n", what, cnn_last_error());
    return 1;
}

/* The index of the largest of n probabilities. */
static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: predict MODEL.safetensors DATA_DIR [COUNT]\n");
        return 2;
    }
    /* The file names its spec and input shape: no need to know them here. */
    cnn_model *m = NULL;
    if (cnn_model_open(argv[1], &m) != CNN_OK)
        return fail("loading the model");
    cnn_dataset *test = NULL;
    if (cnn_dataset_load_dir(argv[2], "test", 0, &test) != CNN_OK)
        return fail("loading data");
    int n = argc > 3 ? atoi(argv[3]) : 100;
    if (n < 1 || n > test->count)
        n = test->count;

    /* Bytes 0..255 to floats in [0, 1], as training saw them. */
    const size_t size = (size_t)test->height * test->width * test->channels;
    const int classes = cnn_model_classes(m);
    float *x = malloc((size_t)n * size * sizeof *x);
    float *probs = malloc((size_t)n * classes * sizeof *probs);
    if (!x || !probs) {
        fprintf(stderr, "predict: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)n * size; i++)
        x[i] = test->images[i] / 255.0f;

    /* All n images at once, on the default threads (0). */
    if (cnn_predict_batch(m, x, n, probs, 0) != CNN_OK)
        return fail("predicting");
    int right = 0;
    for (int i = 0; i < n; i++) {
        int c = argmax(probs + (size_t)i * classes, classes);
        right += c == test->labels[i];
        if (i < 5)
            printf("image %d: class %d (p %.3f), label %d\n", i, c,
                   probs[(size_t)i * classes + c], test->labels[i]);
    }
    printf("%d of %d right\n", right, n);
    free(x);
    free(probs);
    cnn_dataset_free(test);
    cnn_model_free(m);
    return 0;
}
