/*
 * rng.c — PCG32 (PCG-XSH-RR): seeding by (seed, stream) or by a hash of
 * (seed, step, sample) on a stream, 32-bit draws (one at a time, or many at
 * once in lanes jumped ahead), uniform floats and unbiased bounded integers.
 */
#include "rng.h"
#include "widest.h"

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

/* PCG-XSH-RR's output of a state. */
static inline uint32_t pcg_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

uint32_t cnn_rng_next(cnn_rng *r)
{
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    return pcg_output(old);
}

enum { LANES = 8 };

/* The clones are static and reached through cnn_rng_fill: clang 14 names an
   exported target_clones function only by its .ifunc symbol. */
WIDEST static void fill_lanes(cnn_rng *r, uint32_t *out, size_t n)
{
    /* Lane j holds the state j steps ahead; each lane jumps LANES steps at
       a time: s -> s * mult + add, mult = M^LANES, add = inc * (M^(LANES-1)
       + ... + M + 1) (mod 2^64), which is LANES single steps exactly. */
    uint64_t lane[LANES], mult = 1, add = 0;
    for (int j = 0; j < LANES; j++) {
        lane[j] = j ? lane[j - 1] * PCG_MULT + r->inc : r->state;
        add = add * PCG_MULT + r->inc;
        mult *= PCG_MULT;
    }
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        _Pragma("omp simd") for (int j = 0; j < LANES; j++) {
            out[i + j] = pcg_output(lane[j]);
            lane[j] = lane[j] * mult + add;
        }
    r->state = lane[0];
    for (; i < n; i++)
        out[i] = cnn_rng_next(r);
}

void cnn_rng_fill(cnn_rng *r, uint32_t *out, size_t n)
{
    fill_lanes(r, out, n);
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
