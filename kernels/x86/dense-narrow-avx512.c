/*
 * dense-narrow-avx512.c — the AVX-512 dense forward and backward-data for
 * narrow layers (out <= 12, e.g. the 768 -> 10 and 784 -> 10 logits).
 * Forward: vectors over the samples instead of over out, where a zmm of
 * out columns would leave 6 of its 16 lanes idle (backward-data: see its
 * part below).
 *
 * For a block of up to 32 samples and a chunk of 64 steps of in, x is
 * transposed through registers (16 x 16 blocks) into xt[k][32] on the
 * stack; then per step k, one or two vectors of xt (16 or 32 samples)
 * times out broadcast weights w[k][o] accumulate into out or 2 x out zmm
 * (24 at most), and the result is scattered into y[s][o].  Every y element is one FMA chain
 * in k order from its bias, whatever n or the sample's place (the same
 * products and sums as the GEMM tiles, bit for bit, since a*b + c is
 * fused and commutative in a and b).
 */
#include <immintrin.h>
#include <stddef.h>

#include "dense-narrow-avx512.h"

static inline __mmask16 lanes(int n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

enum { SB = 32, KC = 64 }; /* samples per block, steps per transposed chunk */

/* Unroll the next loop completely, so that register arrays stay registers. */
#define UNROLL _Pragma("GCC unroll 16")

/* The 16 x 16 block r[row][col] transposed in place. */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    UNROLL for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    UNROLL for (int q = 0; q < 16; q += 4) {
        const __m512d a = _mm512_castps_pd(t[q]), b = _mm512_castps_pd(t[q + 1]);
        const __m512d c = _mm512_castps_pd(t[q + 2]), d = _mm512_castps_pd(t[q + 3]);
        u[q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    UNROLL for (int h = 0; h < 16; h += 8)
        UNROLL for (int j = 0; j < 4; j++) {
            t[h + j] = _mm512_shuffle_f32x4(u[h + j], u[h + 4 + j], 0x88);
            t[h + 4 + j] = _mm512_shuffle_f32x4(u[h + j], u[h + 4 + j], 0xDD);
        }
    UNROLL for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
    }
}

/* xt[k][sb + s] = x[s][k0 + k] for s < 16 (0 for s >= ns), k < kn. */
static void transpose_chunk(const float *x, int in, int ns, int k0, int kn, float *xt, int sb)
{
    for (int kb = 0; kb < kn; kb += 16) {
        const int kl = kn - kb < 16 ? kn - kb : 16;
        const __mmask16 mk = (__mmask16)((1u << kl) - 1u);
        __m512 r[16];
        UNROLL for (int s = 0; s < 16; s++)
            r[s] = s < ns ? _mm512_maskz_loadu_ps(mk, x + (ptrdiff_t)s * in + k0 + kb)
                          : _mm512_setzero_ps();
        transpose16(r);
        UNROLL for (int k = 0; k < 16; k++)
            if (k < kl)
                _mm512_store_ps(xt + (ptrdiff_t)(kb + k) * SB + sb, r[k]);
    }
}

/* y for ns (<= 16 H) samples from x, O outputs, H vectors of samples
   (literal sizes: a macro body, so that the H x O accumulators are
   registers). */
#define NARROW_BODY(O, H)                                                      \
    __m512 acc[O][H];                                                          \
    UNROLL for (int o = 0; o < O; o++) UNROLL for (int h = 0; h < H; h++)      \
        acc[o][h] = b ? _mm512_set1_ps(b[o]) : _mm512_setzero_ps();            \
    _Alignas(64) float xt[KC * SB];                                            \
    for (int k0 = 0; k0 < in; k0 += KC) {                                      \
        const int kn = in - k0 < KC ? in - k0 : KC;                            \
        UNROLL for (int h = 0; h < H; h++)                                     \
            transpose_chunk(x + (ptrdiff_t)16 * h * in, in, ns - 16 * h, k0, kn, xt, 16 * h); \
        const float *wk = w + (ptrdiff_t)k0 * O;                               \
        for (int k = 0; k < kn; k++) {                                         \
            __m512 xv[H];                                                      \
            UNROLL for (int h = 0; h < H; h++) xv[h] = _mm512_load_ps(xt + k * SB + 16 * h); \
            UNROLL for (int o = 0; o < O; o++) {                               \
                const __m512 wv = _mm512_set1_ps(wk[o]);                       \
                UNROLL for (int h = 0; h < H; h++)                             \
                    acc[o][h] = _mm512_fmadd_ps(xv[h], wv, acc[o][h]);         \
            }                                                                  \
            wk += O;                                                           \
        }                                                                      \
    }                                                                          \
    const __m512i idx = _mm512_mullo_epi32(                                    \
        _mm512_set1_epi32(O), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,  \
                                                10, 11, 12, 13, 14, 15));      \
    UNROLL for (int o = 0; o < O; o++) UNROLL for (int h = 0; h < H; h++) {    \
        const int left = ns - 16 * h;                                          \
        const __mmask16 ms = (__mmask16)(left >= 16 ? 0xFFFFu : (1u << left) - 1u); \
        __m512 v = acc[o][h];                                                  \
        if (relu)                                                              \
            v = _mm512_max_ps(v, _mm512_setzero_ps());                         \
        _mm512_mask_i32scatter_ps(y + (ptrdiff_t)16 * h * O + o, ms, idx, v, 4); \
    }

typedef void (*narrow_fn)(int ns, int in, const float *x, const float *w, const float *b,
                          float *y, int relu);

#define N(O, H)                                                                \
    static void narrow_##O##_##H(int ns, int in, const float *x, const float *w, \
                                 const float *b, float *y, int relu)           \
    {                                                                          \
        NARROW_BODY(O, H)                                                      \
    }
#define OUTS(X, H) X(1, H) X(2, H) X(3, H) X(4, H) X(5, H) X(6, H) X(7, H) X(8, H) \
    X(9, H) X(10, H) X(11, H) X(12, H)
OUTS(N, 1)
OUTS(N, 2)

#define E(O, H) [H - 1][O] = narrow_##O##_##H,
static const narrow_fn narrow[2][CNN_DENSE_NARROW_MAX + 1] = {OUTS(E, 1) OUTS(E, 2)};

void cnn_dense_forward_narrow_avx512(int n, int in, int out, const float *x, const float *w,
                                     const float *b, float *y, int relu)
{
    for (int s0 = 0; s0 < n; s0 += SB) {
        const int ns = n - s0 < SB ? n - s0 : SB;
        narrow[ns > 16][out](ns, in, x + (ptrdiff_t)s0 * in, w, b, y + (ptrdiff_t)s0 * out,
                             relu);
    }
}

/* ------------------------------------------------------- backward-data
 * dx = mask(dy w^T) reading w [in][out] as it is (no transposed copy,
 * which for so few outputs costs more than the GEMM that would read it).
 * Vectors over 16 inputs: per block of 16 inputs, the 16 rows of w (out
 * floats each) are transposed through registers once into out zmm (wt[o]
 * = w[i0..i0+15][o]), then every sample's dx[s][i0..i0+15] is one chain
 * of out FMAs, dy[s][o] broadcast, 8 samples at a time (8 independent
 * chains), stored as one masked vector.  Every dx element is one FMA chain
 * in o order from 0, whatever n or the sample's place: the same bits as
 * the GEMM on the transposed copy. */
enum { SG = 8 }; /* samples per group of chains */

/* dx[i0..] of one sample = v where mask > 0 (no mask: v), lanes km. */
static inline void store_dx(__m512 v, const float *mask, float *dx, __mmask16 km)
{
    if (mask) {
        const __m512 m = _mm512_maskz_loadu_ps(km, mask);
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ), v);
    }
    _mm512_mask_storeu_ps(dx, km, v);
}

/* The ns samples' G chains over the O columns (literal G, O). */
#define CHAINS(G)                                                              \
    {                                                                          \
        __m512 acc[G];                                                         \
        UNROLL for (int j = 0; j < G; j++) acc[j] = _mm512_setzero_ps();      \
        UNROLL for (int o = 0; o < O; o++)                                     \
            UNROLL for (int j = 0; j < G; j++)                                 \
                acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(dy[(ptrdiff_t)(s + j) * O + o]), \
                                         wt[o], acc[j]);                       \
        UNROLL for (int j = 0; j < G; j++) {                                   \
            const ptrdiff_t at = (ptrdiff_t)(s + j) * in + i0;                 \
            store_dx(acc[j], mask ? mask + at : NULL, dx + at, km);            \
        }                                                                      \
    }

/* The whole pass for O outputs (a macro body: wt and acc are registers). */
#define BWD_BODY(OUT)                                                          \
    enum { O = OUT };                                                          \
    const __mmask16 om = lanes(O);                                             \
    for (int i0 = 0; i0 < in; i0 += 16) {                                      \
        const __mmask16 km = lanes(in - i0);                                   \
        __m512 wt[16];                                                         \
        UNROLL for (int j = 0; j < 16; j++)                                    \
            wt[j] = _mm512_maskz_loadu_ps((__mmask16)(j < in - i0 ? om : 0),   \
                                          w + (ptrdiff_t)(i0 + j) * O);        \
        transpose16(wt); /* wt[o][j] = w[i0 + j][o] */                         \
        int s = 0;                                                             \
        for (; s + SG <= n; s += SG)                                           \
            CHAINS(SG)                                                         \
        for (; s < n; s++)                                                     \
            CHAINS(1)                                                          \
    }

typedef void (*narrow_bwd_fn)(int n, int in, const float *dy, const float *w,
                              const float *mask, float *dx);

#define B(O)                                                                   \
    static void narrow_bwd_##O(int n, int in, const float *dy, const float *w, \
                               const float *mask, float *dx)                   \
    {                                                                          \
        BWD_BODY(O)                                                            \
    }
#define BOUTS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12)
BOUTS(B)

#define BE(O) [O] = narrow_bwd_##O,
static const narrow_bwd_fn narrow_bwd[CNN_DENSE_NARROW_MAX + 1] = {BOUTS(BE)};

void cnn_dense_backward_data_narrow_avx512(int n, int in, int out, const float *dy,
                                           const float *w, const float *mask, float *dx)
{
    narrow_bwd[out](n, in, dy, w, mask, dx);
}
