/*
 * augment.c — augmentation benchmark (bench/augment): the time to augment
 * one image (src/augment.c: draw, inverse map, bilinear sampling) on one
 * thread, for MNIST's first images (random pixels without --data) and a
 * 32x32x3 image, as the median of several rounds, on the path cnn takes
 * (SIMD rows where the CPU has them) and on the scalar rows; compare it
 * with the training step's time per image from bench/train.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "augment.h"
#include "cnn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over rounds of the nanoseconds per image of n images (draw and
   apply; the scalar rows only when scalar is set). */
static double ns_per_image(const cnn_augment *a, int n, int h, int w, int c, const float *src,
                           float *dst, int rounds, long *epoch, int scalar)
{
    double t[64];
    size_t px = (size_t)h * w * c;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            cnn_augment_xf xf;
            cnn_augment_draw(a, 1151998, *epoch, i, &xf);
            if (scalar)
                cnn_augment_apply_with(&xf, h, w, c, src + i * px, dst + i * px, NULL);
            else
                cnn_augment_apply(&xf, h, w, c, src + i * px, dst + i * px);
        }
        t[r] = (now() - t0) * 1e9 / n;
        ++*epoch;
    }
    qsort(t, (size_t)rounds, sizeof t[0], cmp_double);
    return t[rounds / 2];
}

/* n images of h x w x c: MNIST's first (scaled to [0, 1]) when ds has
   that shape, else uniform random pixels. */
static float *images(const cnn_dataset *ds, int n, int h, int w, int c)
{
    size_t px = (size_t)h * w * c;
    float *p = malloc(px * n * sizeof *p);
    int real = ds && ds->height == h && ds->width == w && ds->channels == c && ds->count >= n;
    unsigned s = 12345;
    for (size_t i = 0; p && i < px * n; i++)
        p[i] = real ? ds->images[i] / 255.0f : (float)((s = s * 1103515245u + 12345u) >> 8) /
                                                   16777216.0f;
    return p;
}

int main(int argc, char **argv)
{
    const char *data = "data/mnist", *spec = "shift=2,rotate=10,zoom=0.1";
    int n = 4096, rounds = 15;
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"augment", required_argument, 0, 'a'},
                                         {"images", required_argument, 0, 'n'},
                                         {"rounds", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (o == 'd') data = optarg;
        else if (o == 'a') spec = optarg;
        else if (o == 'n') n = atoi(optarg);
        else if (o == 'r') rounds = atoi(optarg);
        else {
            fputs("usage: bench/augment [--data DIR] [--augment SPEC] [--images N] "
                  "[--rounds R]\nNanoseconds to augment one image on one thread (default "
                  "shift=2,rotate=10,zoom=0.1,\n4096 images, median of 15 rounds).\n",
                  o == 'h' ? stdout : stderr);
            return o == 'h' ? 0 : 2;
        }
    }
    cnn_augment a;
    const char *why;
    if (n < 1 || rounds < 1 || rounds > 64 || cnn_augment_parse(spec, &a, &why) != 0) {
        fprintf(stderr, "bench/augment: %s\n", n < 1 || rounds < 1 || rounds > 64
                                                   ? "--images at least 1, --rounds 1 to 64"
                                                   : why);
        return 2;
    }
    cnn_dataset *ds = NULL;
    if (cnn_dataset_load_dir(data, "train", 0, &ds) != CNN_OK)
        fprintf(stderr, "bench/augment: %s; random pixels instead\n", cnn_last_error());
    char text[CNN_AUGMENT_TEXT];
    cnn_augment_format(&a, text, sizeof text);
    printf("augment %s, %d images, median of %d rounds, one thread\n", text, n, rounds);
    const int shapes[2][3] = {{28, 28, 1}, {32, 32, 3}};
    long epoch = 0;
    for (int s = 0; s < 2; s++) {
        int h = shapes[s][0], w = shapes[s][1], c = shapes[s][2];
        float *src = images(ds, n, h, w, c), *dst = malloc(sizeof(float) * h * w * c * n);
        if (!src || !dst)
            return fprintf(stderr, "bench/augment: out of memory\n"), 1;
        ns_per_image(&a, n, h, w, c, src, dst, 1, &epoch, 0); /* warm-up */
        for (int scalar = 0; scalar < 2; scalar++) {
            double ns = ns_per_image(&a, n, h, w, c, src, dst, rounds, &epoch, scalar);
            printf("%2dx%2dx%d %s %-7s %8.0f ns/image  %6.2f ns/pixel\n", h, w, c,
                   ds && ds->height == h && ds->channels == c ? "mnist " : "random",
                   scalar ? "scalar" : "default", ns, ns / (h * w));
        }
        free(src);
        free(dst);
    }
    cnn_dataset_free(ds);
    return 0;
}
