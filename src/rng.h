/*
 * rng.h — the engine's one PRNG: PCG32 (O'Neill's PCG-XSH-RR, 64-bit state,
 * 32-bit output).  A seed and a stream number select an independent
 * sequence: stream 1 initialises weights, stream 2 shuffles the data,
 * stream 3 is the per-sample stream of a training step (cnn_rng_sample),
 * stream 4 the per-image stream of data augmentation (seeded by seed, epoch
 * and the image's index in the data set: augment.c).
 */
#ifndef CNN_RNG_H
#define CNN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct cnn_rng {
    uint64_t state;
    uint64_t inc; /* odd; selects the stream */
} cnn_rng;

enum {
    CNN_RNG_STREAM_INIT = 1,
    CNN_RNG_STREAM_SHUFFLE = 2,
    CNN_RNG_STREAM_SAMPLE = 3,
    CNN_RNG_STREAM_AUGMENT = 4
};

void cnn_rng_seed(cnn_rng *r, uint64_t seed, uint64_t stream);
/* The stream of one sample of one step: PCG32 on stream 3, seeded with a
   hash of (seed, step, sample), so that layers drawing random numbers
   (dropout, augmentation) give the same result whatever thread or group
   runs the sample. */
void cnn_rng_sample(cnn_rng *r, uint64_t seed, uint64_t step, uint64_t sample);
/* The same hash of (seed, a, b) on another stream (cnn_rng_sample is
   cnn_rng_keyed(r, CNN_RNG_STREAM_SAMPLE, seed, step, sample)). */
void cnn_rng_keyed(cnn_rng *r, uint64_t stream, uint64_t seed, uint64_t a, uint64_t b);
uint32_t cnn_rng_next(cnn_rng *r);
/* The next n draws into out, in order: the same values and final state as
   n calls of cnn_rng_next, computed in independent lanes (several times
   faster). */
void cnn_rng_fill(cnn_rng *r, uint32_t *out, size_t n);
/* Uniform float in [0, 1) with 24 random bits. */
float cnn_rng_uniform(cnn_rng *r);
/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint32_t cnn_rng_below(cnn_rng *r, uint32_t bound);

#endif /* CNN_RNG_H */
