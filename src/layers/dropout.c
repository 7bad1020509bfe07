/*
 * dropout.c — the "dropout:" R kind (0 <= R < 1), inverted dropout as
 * Keras's Dropout: in a training pass each element is kept with
 * probability 1 - R and scaled by 1 / (1 - R), else zeroed; at inference
 * it is the identity.  No tensors.
 *
 * The mask of a sample is drawn in element order from its stream
 * (cnn_pass_sample_rng: seed, step, sample index in the batch), moved to a
 * point of its own by a hash of the layer's name so that two dropout
 * layers draw different masks.  An element is kept when its 32-bit draw is
 * at least T = floor(R * 2^32), an exact integer test; backward data draws
 * the same mask again from the same stream.  So the mask depends on
 * nothing but (seed, step, sample, layer): not on threads or groups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"
#include "widest.h"

enum { RATE = 0 }; /* farg[RATE]: R */

static int parse(const char *s, const char *e, cnn_layer *L, const char **why)
{
    const char *p;
    if (!cnn_layer_keyword(s, e, "dropout", &p))
        return 0;
    *why = "dropout needs a rate R with 0 <= R < 1, e.g. dropout:0.25";
    if (p >= e || *p++ != ':' || !cnn_layer_parse_real(&p, 0, 1, &L->farg[RATE]) || p != e ||
        L->farg[RATE] >= 1)
        return -1;
    return 1;
}

/* The shortest %g form that reads back as the same float. */
static void format(const cnn_layer *L, char *buf, size_t size)
{
    cnn_layer_format_real(buf, size, "dropout:", L->farg[RATE]);
}

/* The keep test's threshold: a draw u is kept when u >= T. */
static uint32_t threshold(const cnn_layer *L)
{
    return (uint32_t)((double)L->farg[RATE] * 4294967296.0);
}

/* Sample i's mask stream: its (seed, step, sample) stream, moved by an
   FNV-1a hash of the layer's name. */
static void mask_stream(const cnn_layer *L, const cnn_pass_ctx *ctx, int i, cnn_rng *r)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = L->name; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    cnn_pass_sample_rng(ctx, i, r);
    r->state ^= h;
    cnn_rng_next(r);
}

enum { CHUNK = 256 }; /* draws made at a time */

/* out = keep ? in * scale : 0 for each element of n samples; zero where
   mask (when not NULL) is <= 0.  The draws come CHUNK at a time
   (cnn_rng_fill: the same values as one by one); the select comes before
   the multiply, so that no float operation sits in a branch and the loop
   vectorises (a dropped element is 0 * scale = +0 all the same). */
WIDEST static void apply(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *in,
                         const float *mask, float *out)
{
    const size_t size = (size_t)cnn_layer_in_size(L);
    const uint32_t t = threshold(L);
    const float scale = 1.0f / (1.0f - L->farg[RATE]);
    uint32_t u[CHUNK];
    for (int i = 0; i < n; i++) {
        cnn_rng r;
        mask_stream(L, ctx, i, &r);
        for (size_t e0 = 0; e0 < size; e0 += CHUNK) {
            const size_t len = size - e0 < CHUNK ? size - e0 : CHUNK, at = i * size + e0;
            const float *restrict a = in + at, *restrict m = mask ? mask + at : NULL;
            float *restrict b = out + at;
            cnn_rng_fill(&r, u, len);
            if (m) {
                _Pragma("omp simd") for (size_t e = 0; e < len; e++)
                    b[e] = (u[e] >= t && m[e] > 0 ? a[e] : 0.0f) * scale;
            } else {
                _Pragma("omp simd") for (size_t e = 0; e < len; e++)
                    b[e] = (u[e] >= t ? a[e] : 0.0f) * scale;
            }
        }
    }
}

static void forward(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                    const float *params, float *y)
{
    (void)params;
    if (ctx->training)
        apply(L, ctx, n, x, NULL, y);
    else
        memcpy(y, x, (size_t)n * cnn_layer_in_size(L) * sizeof *y);
}

static void backward_data(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *y, const float *dy, const float *w,
                          const float *mask, float *dx)
{
    (void)x, (void)y, (void)w;
    if (ctx->training) {
        apply(L, ctx, n, dy, mask, dx);
        return;
    }
    size_t count = (size_t)n * cnn_layer_in_size(L);
    for (size_t i = 0; i < count; i++)
        dx[i] = !mask || mask[i] > 0 ? dy[i] : 0.0f;
}

static void describe(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info)
{
    (void)info;
    char item[32];
    format(L, item, sizeof item);
    snprintf(t->row, sizeof t->row, "Dropout %s", item + 8);
    snprintf(t->keras, sizeof t->keras, "Dropout");
    snprintf(t->settings, sizeof t->settings, "rate %s", item + 8);
}

const cnn_layer_op cnn_layer_dropout = {
    .name = "dropout", .example = "dropout:0.25",
    .input = CNN_SHAPE_ANY, .output = CNN_SHAPE_ANY,
    .parse = parse, .format = format, .shape = cnn_layer_shape_same,
    .forward = forward, .backward_data = backward_data, .describe = describe,
};
