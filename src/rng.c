/*
 * rng.c — PCG32 (PCG-XSH-RR): seeding by (seed, stream), 32-bit draws,
 * uniform floats and unbiased bounded integers.
 */
#include "rng.h"

#define PCG_MULT 6364136223846793005ULL

void cnn_rng_seed(cnn_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    cnn_rng_next(r);
    r->state += seed;
    cnn_rng_next(r);
}

uint32_t cnn_rng_next(cnn_rng *r)
{
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

float cnn_rng_uniform(cnn_rng *r)
{
    return (float)(cnn_rng_next(r) >> 8) * (1.0f / 16777216.0f);
}

uint32_t cnn_rng_below(cnn_rng *r, uint32_t bound)
{
    /* Reject the low values that would make r % bound uneven. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t v = cnn_rng_next(r);
        if (v >= threshold)
            return v % bound;
    }
}
