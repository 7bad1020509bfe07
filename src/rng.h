/*
 * rng.h — the engine's one PRNG: PCG32 (O'Neill's PCG-XSH-RR, 64-bit state,
 * 32-bit output).  A seed and a stream number select an independent
 * sequence: stream 1 initialises weights, stream 2 shuffles the data.
 */
#ifndef CNN_RNG_H
#define CNN_RNG_H

#include <stdint.h>

typedef struct cnn_rng {
    uint64_t state;
    uint64_t inc; /* odd; selects the stream */
} cnn_rng;

enum { CNN_RNG_STREAM_INIT = 1, CNN_RNG_STREAM_SHUFFLE = 2 };

void cnn_rng_seed(cnn_rng *r, uint64_t seed, uint64_t stream);
uint32_t cnn_rng_next(cnn_rng *r);
/* Uniform float in [0, 1) with 24 random bits. */
float cnn_rng_uniform(cnn_rng *r);
/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint32_t cnn_rng_below(cnn_rng *r, uint32_t bound);

#endif /* CNN_RNG_H */
