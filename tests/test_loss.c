/*
 * test_loss.c — tests of the softmax cross-entropy with label smoothing
 * (cnn_softmax_xent_smooth, src/passes.c): at eps = 0 it is
 * cnn_softmax_xent bit for bit, its value is -sum t log p computed
 * directly, and its gradient matches central finite differences.
 */
#include <math.h>
#include <string.h>

#include "model.h"
#include "test.h"
#include "tests.h"

#define CLASSES 10

/* -sum_c t_c log softmax(z)_c, directly, in double. */
static double direct(const float *z, int classes, int label, double eps)
{
    double mx = z[0], sum = 0, loss = 0;
    for (int c = 1; c < classes; c++)
        mx = z[c] > mx ? z[c] : mx;
    for (int c = 0; c < classes; c++)
        sum += exp(z[c] - mx);
    for (int c = 0; c < classes; c++) {
        double t = (c == label ? 1 - eps : 0) + eps / classes;
        loss -= t * (z[c] - mx - log(sum));
    }
    return loss;
}

/* At eps = 0: cnn_softmax_xent's loss and its probabilities minus the
   one-hot, bit for bit. */
static void test_eps0_bitwise(void)
{
    uint64_t st = 21;
    for (int t = 0; t < 50; t++) {
        float z[CLASSES], probs[CLASSES], d[CLASSES];
        test_fill_uniform(z, CLASSES, -8.0f, 8.0f, &st);
        int label = t % CLASSES;
        double want = cnn_softmax_xent(z, CLASSES, label, probs);
        probs[label] -= 1.0f;
        double got = cnn_softmax_xent_smooth(z, CLASSES, label, 0.0f, d);
        CHECK(memcmp(&want, &got, sizeof got) == 0, "eps 0: loss %.17g, not %.17g", got, want);
        CHECK(memcmp(probs, d, sizeof d) == 0, "eps 0: the gradient differs");
    }
}

static void test_value(void)
{
    uint64_t st = 22;
    const float eps[] = {0.05f, 0.1f, 0.3f, 0.9f};
    for (int t = 0; t < 40; t++) {
        float z[CLASSES], d[CLASSES];
        test_fill_uniform(z, CLASSES, -6.0f, 6.0f, &st);
        float e = eps[t % 4];
        int label = (t * 7) % CLASSES;
        double got = cnn_softmax_xent_smooth(z, CLASSES, label, e, d);
        double want = direct(z, CLASSES, label, e);
        CHECK(fabs(got - want) <= 1e-12 * (1 + fabs(want)), "eps %g: loss %.17g, not %.17g",
              (double)e, got, want);
        double sum = 0;
        for (int c = 0; c < CLASSES; c++)
            sum += d[c];
        CHECK(fabs(sum) <= 1e-6, "eps %g: the gradient sums to %g", (double)e, sum);
    }
}

/* d(loss)/dz against central differences of the loss. */
static void test_gradient_fd(void)
{
    uint64_t st = 23;
    const float eps[] = {0.0f, 0.1f, 0.25f};
    for (int t = 0; t < 12; t++) {
        const int classes = t < 6 ? CLASSES : 3;
        float z[CLASSES], d[CLASSES], scratch[CLASSES];
        test_fill_uniform(z, (size_t)classes, -4.0f, 4.0f, &st);
        float e = eps[t % 3];
        int label = t % classes;
        cnn_softmax_xent_smooth(z, classes, label, e, d);
        for (int c = 0; c < classes; c++) {
            float keep = z[c];
            z[c] = keep + 1e-2f;
            double up = cnn_softmax_xent_smooth(z, classes, label, e, scratch);
            float zu = z[c];
            z[c] = keep - 1e-2f;
            double down = cnn_softmax_xent_smooth(z, classes, label, e, scratch);
            double fd = (up - down) / ((double)zu - z[c]);
            z[c] = keep;
            double err = fabs(fd - d[c]);
            CHECK(err <= 1e-4, "eps %g, class %d of %d: gradient %g, differences %g", (double)e,
                  c, classes, (double)d[c], fd);
        }
    }
}

TEST_TABLE(loss,
           {"eps0_bitwise", test_eps0_bitwise},
           {"value", test_value},
           {"gradient_fd", test_gradient_fd})
