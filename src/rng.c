/*
 * rng.c — PCG32 (PCG-XSH-RR): seeding by (seed, stream) or by a hash of
 * (seed, step, sample) on a stream, 32-bit draws, uniform floats and
 * unbiased bounded integers.
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

/* SplitMix64's finaliser: a bijective 64-bit mix. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cnn_rng_keyed(cnn_rng *r, uint64_t stream, uint64_t seed, uint64_t a, uint64_t b)
{
    /* Chained so that swapping two of the three changes the hash. */
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (a + 0x632be59bd9b4e019ULL));
    h = mix64(h ^ (b + 0x8cb92ba72f3d8dd7ULL));
    cnn_rng_seed(r, h, stream);
}

void cnn_rng_sample(cnn_rng *r, uint64_t seed, uint64_t step, uint64_t sample)
{
    cnn_rng_keyed(r, CNN_RNG_STREAM_SAMPLE, seed, step, sample);
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
