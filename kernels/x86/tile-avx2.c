/*
 * tile-avx2.c — the register-tile engine of the AVX2+FMA kernel set (see
 * avx2.h): tiles of P rows x V ymm vectors, P*V <= 12 accumulators, one
 * function per (P, V, masked last vector), chosen through a table; the
 * row and vector blocking helpers; the bias gradient.
 *
 * Inner loop of a tile: P broadcasts of a, V loads of b, P*V FMAs, no
 * branch; the smaller of the two operand sets is held in registers (at
 * most 12 + 3 + 1 = 16 ymm).  Tiles of at most 4 accumulators (one row,
 * or the remainder rows of a GEMM) split their reduction over two
 * accumulator sets (even and odd steps) to keep more FMA chains.  Gather tiles (gtile_*) take each row's
 * offsets from a list instead of a stride, so one tile can hold pixels of
 * different image rows that share their taps.
 */
#include <immintrin.h>
#include <stdint.h>

#include "avx2.h"

#define NOINLINE __attribute__((noinline))
#define UNROLL _Pragma("GCC unroll 16")

static const int32_t tail_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                      0,  0,  0,  0,  0,  0,  0,  0};

static inline __m256i tail_mask(int tail)
{
    return _mm256_loadu_si256((const __m256i *)(tail_bits + 8 - tail));
}

/* Load / store vector v of a tile: the last one masked when T. */
#define LOADV(ptr, v)                                                        \
    ((T_) && (v) == V_ - 1 ? _mm256_maskload_ps((ptr), tm)                   \
                         : _mm256_loadu_ps((ptr)))
#define STOREV(ptr, v, val)                                                  \
    do {                                                                     \
        if ((T_) && (v) == V_ - 1)                                           \
            _mm256_maskstore_ps((ptr), tm, (val));                           \
        else                                                                 \
            _mm256_storeu_ps((ptr), (val));                                  \
    } while (0)

/* acc[p][v] += ap[p*a_p] * bp[8v].  The smaller of the P broadcasts and
   the V vectors of b is held in registers (with the P*V accumulators and
   one more, at most 16 ymm), the other loaded as it is used. */
#define STEP(ACC, AP, BP)                                                    \
    do {                                                                     \
        if (P_ < V_) {                                                       \
            __m256 av[P_];                                                   \
            UNROLL for (int p = 0; p < P_; p++)                              \
                av[p] = _mm256_broadcast_ss((AP) + p * a_p);                 \
            UNROLL for (int v = 0; v < V_; v++) {                            \
                const __m256 bv = LOADV((BP) + 8 * v, v);                    \
                UNROLL for (int p = 0; p < P_; p++)                          \
                    ACC[p][v] = _mm256_fmadd_ps(av[p], bv, ACC[p][v]);       \
            }                                                                \
        } else {                                                             \
            __m256 bv[V_];                                                   \
            UNROLL for (int v = 0; v < V_; v++)                              \
                bv[v] = LOADV((BP) + 8 * v, v);                              \
            UNROLL for (int p = 0; p < P_; p++) {                            \
                const __m256 av = _mm256_broadcast_ss((AP) + p * a_p);       \
                UNROLL for (int v = 0; v < V_; v++)                          \
                    ACC[p][v] = _mm256_fmadd_ps(av, bv[v], ACC[p][v]);       \
            }                                                                \
        }                                                                    \
    } while (0)

/* Hide a pointer's value from the optimiser (no code). */
#define OPAQUE(ptr) __asm__("" : "+r"(ptr))

#define DEFINE_TILE(P, V, T)                                                 \
    static NOINLINE void tile_##P##x##V##_##T(const cnn_avx2_gemm *q,        \
                                              ptrdiff_t ntiles)              \
    {                                                                        \
        enum { P_ = (P), V_ = (V), T_ = (T) };                               \
        enum { SPLIT = (P) * (V) <= 4 };                                     \
        const __m256i tm = tail_mask((T) ? q->tail : 8);                     \
        const ptrdiff_t a_p = q->a_p, a_e = q->a_e, b_e = q->b_e;            \
        const ptrdiff_t io_p = q->io_p;                                      \
        const cnn_avx2_seg *seg = q->seg;                                    \
        const int nseg = q->nseg;                                            \
        const float *b = q->b;                                               \
        const __m256 zero = _mm256_setzero_ps();                             \
        (void)tm;                                                            \
        for (ptrdiff_t t = 0; t < ntiles; t++) {                             \
            const float *at = q->a + t * q->a_t;                             \
            float *io = q->io + t * q->io_t;                                 \
            __m256 acc[P][V], acc2[P][V];                                    \
            if (q->start == CNN_AVX2_FROM_IO) {                              \
                const float *r0 = io;                                        \
                UNROLL for (int p = 0; p < P; p++) {                         \
                    UNROLL for (int v = 0; v < V; v++)                       \
                        acc[p][v] = LOADV(r0 + 8 * v, v);                    \
                    r0 += io_p;                                              \
                    OPAQUE(r0);                                              \
                }                                                            \
            } else if (q->start == CNN_AVX2_FROM_BIAS) {                     \
                UNROLL for (int v = 0; v < V; v++) {                         \
                    const __m256 bb = LOADV(q->bias + 8 * v, v);             \
                    UNROLL for (int p = 0; p < P; p++) acc[p][v] = bb;       \
                }                                                            \
            } else {                                                         \
                UNROLL for (int p = 0; p < P; p++)                           \
                    UNROLL for (int v = 0; v < V; v++) acc[p][v] = zero;     \
            }                                                                \
            UNROLL for (int p = 0; p < P; p++)                               \
                UNROLL for (int v = 0; v < V; v++) acc2[p][v] = zero;        \
            for (int s = 0; s < nseg; s++) {                                 \
                const float *ap = at + seg[s].a;                             \
                const float *bp = b + seg[s].b;                              \
                ptrdiff_t len = seg[s].len;                                  \
                if (SPLIT) {                                                 \
                    for (; len >= 2; len -= 2) {                             \
                        STEP(acc, ap, bp);                                   \
                        STEP(acc2, ap + a_e, bp + b_e);                      \
                        ap += 2 * a_e;                                       \
                        bp += 2 * b_e;                                       \
                    }                                                        \
                    if (len)                                                 \
                        STEP(acc, ap, bp);                                   \
                } else {                                                     \
                    for (ptrdiff_t e = 0; e < len; e++) {                    \
                        STEP(acc, ap, bp);                                   \
                        ap += a_e;                                           \
                        bp += b_e;                                           \
                    }                                                        \
                }                                                            \
            }                                                                \
            if (SPLIT)                                                       \
                UNROLL for (int p = 0; p < P; p++)                           \
                    UNROLL for (int v = 0; v < V; v++)                       \
                        acc[p][v] = _mm256_add_ps(acc[p][v], acc2[p][v]);    \
            /* Row pointers walked with an opaque step, so that the          \
               compiler does not keep P*V store addresses as induction       \
               variables of the tile loop (they spill). */                   \
            float *row = io;                                                 \
            if (q->mask) {                                                   \
                const float *mk = q->mask + t * q->io_t;                     \
                UNROLL for (int p = 0; p < P; p++) {                         \
                    UNROLL for (int v = 0; v < V; v++) {                     \
                        const __m256 m = LOADV(mk + 8 * v, v);               \
                        const __m256 keep =                                  \
                            _mm256_cmp_ps(m, zero, _CMP_GT_OQ);              \
                        STOREV(row + 8 * v, v,                               \
                               _mm256_and_ps(acc[p][v], keep));              \
                    }                                                        \
                    row += io_p;                                             \
                    mk += io_p;                                              \
                    OPAQUE(row);                                             \
                    OPAQUE(mk);                                              \
                }                                                            \
            } else if (q->relu) {                                            \
                UNROLL for (int p = 0; p < P; p++) {                         \
                    UNROLL for (int v = 0; v < V; v++)                       \
                        STOREV(row + 8 * v, v,                               \
                               _mm256_max_ps(acc[p][v], zero));              \
                    row += io_p;                                             \
                    OPAQUE(row);                                             \
                }                                                            \
            } else {                                                         \
                UNROLL for (int p = 0; p < P; p++) {                         \
                    UNROLL for (int v = 0; v < V; v++)                       \
                        STOREV(row + 8 * v, v, acc[p][v]);                   \
                    row += io_p;                                             \
                    OPAQUE(row);                                             \
                }                                                            \
            }                                                                \
        }                                                                    \
    }

/* Every tile shape: V = 1 .. 4 with P up to 12 / V, and V = 5 .. 8 with
   P = 1. */
#define FOR_TILES(X)                                                         \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1)          \
    X(9, 1) X(10, 1) X(11, 1) X(12, 1)                                       \
    X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2)                          \
    X(1, 3) X(2, 3) X(3, 3) X(4, 3)                                          \
    X(1, 4) X(2, 4) X(3, 4)                                                  \
    X(1, 5) X(1, 6) X(1, 7) X(1, 8)

#define DEFINE_BOTH(P, V) DEFINE_TILE(P, V, 0) DEFINE_TILE(P, V, 1)
FOR_TILES(DEFINE_BOTH)

typedef void (*tile_fn)(const cnn_avx2_gemm *, ptrdiff_t);

#define ENTRY(P, V)                                                          \
    [0][V][P] = tile_##P##x##V##_0, [1][V][P] = tile_##P##x##V##_1,
static const tile_fn tile_table[2][9][13] = {FOR_TILES(ENTRY)};

int cnn_avx2_max_rows(int V) { return V <= 4 ? 12 / V : 1; }

void cnn_avx2_tiles(const cnn_avx2_gemm *q, int P, int V, ptrdiff_t ntiles)
{
    if (ntiles > 0)
        tile_table[q->tail < 8][V][P](q, ntiles);
}

void cnn_avx2_rows(const cnn_avx2_gemm *q, int V, ptrdiff_t count)
{
    if (count <= 0)
        return;
    const ptrdiff_t pmax = cnn_avx2_max_rows(V);
    const ptrdiff_t nt = (count + pmax - 1) / pmax;
    const ptrdiff_t base = count / nt, extra = count % nt;
    cnn_avx2_gemm r = *q;
    if (extra) {
        r.a_t = (base + 1) * q->a_p;
        r.io_t = (base + 1) * q->io_p;
        cnn_avx2_tiles(&r, (int)base + 1, V, extra);
        r.a += extra * r.a_t;
        r.io += extra * r.io_t;
        if (r.mask)
            r.mask += extra * r.io_t;
    }
    r.a_t = base * q->a_p;
    r.io_t = base * q->io_p;
    cnn_avx2_tiles(&r, (int)base, V, nt - extra);
}

void cnn_avx2_rows_all(const cnn_avx2_gemm *q, int cols, ptrdiff_t count)
{
    const int nv = (cols + 7) / 8, tail = cols - 8 * (nv - 1);
    const int block = count == 1 ? 8 : 4;
    for (int v0 = 0; v0 < nv; v0 += block) {
        const int V = nv - v0 < block ? nv - v0 : block;
        cnn_avx2_gemm r = *q;
        r.b += 8 * v0;
        r.io += 8 * v0;
        if (r.bias)
            r.bias += 8 * v0;
        if (r.mask)
            r.mask += 8 * v0;
        r.tail = v0 + V == nv ? tail : 8;
        cnn_avx2_rows(&r, V, count);
    }
}

/* Gather tiles: row p of tile t reads a + aoff[t*P + p] and writes
   io + iooff[t*P + p] (rows anywhere, e.g. pixels of several image rows
   that share their taps). */
#define STEPG(ACC, AB, E, BP)                                                \
    do {                                                                     \
        if (P_ < V_) {                                                       \
            __m256 av[P_];                                                   \
            UNROLL for (int p = 0; p < P_; p++)                              \
                av[p] = _mm256_broadcast_ss(AB[p] + (E));                    \
            UNROLL for (int v = 0; v < V_; v++) {                            \
                const __m256 bv = LOADV((BP) + 8 * v, v);                    \
                UNROLL for (int p = 0; p < P_; p++)                          \
                    ACC[p][v] = _mm256_fmadd_ps(av[p], bv, ACC[p][v]);       \
            }                                                                \
        } else {                                                             \
            __m256 bv[V_];                                                   \
            UNROLL for (int v = 0; v < V_; v++)                              \
                bv[v] = LOADV((BP) + 8 * v, v);                              \
            UNROLL for (int p = 0; p < P_; p++) {                            \
                const __m256 av = _mm256_broadcast_ss(AB[p] + (E));          \
                UNROLL for (int v = 0; v < V_; v++)                          \
                    ACC[p][v] = _mm256_fmadd_ps(av, bv[v], ACC[p][v]);       \
            }                                                                \
        }                                                                    \
    } while (0)

#define DEFINE_GTILE(P, V, T)                                                \
    static NOINLINE void gtile_##P##x##V##_##T(                              \
        const cnn_avx2_gemm *q, const ptrdiff_t *aoff,                       \
        const ptrdiff_t *iooff, ptrdiff_t ntiles)                            \
    {                                                                        \
        enum { P_ = (P), V_ = (V), T_ = (T) };                               \
        const __m256i tm = tail_mask((T) ? q->tail : 8);                     \
        const ptrdiff_t a_e = q->a_e, b_e = q->b_e;                          \
        const cnn_avx2_seg *seg = q->seg;                                    \
        const int nseg = q->nseg;                                            \
        const float *b = q->b;                                               \
        const __m256 zero = _mm256_setzero_ps();                             \
        (void)tm;                                                            \
        for (ptrdiff_t t = 0; t < ntiles; t++) {                             \
            const ptrdiff_t *ao = aoff + t * P_, *oo = iooff + t * P_;       \
            __m256 acc[P][V];                                                \
            if (q->start == CNN_AVX2_FROM_BIAS) {                            \
                UNROLL for (int v = 0; v < V; v++) {                         \
                    const __m256 bb = LOADV(q->bias + 8 * v, v);             \
                    UNROLL for (int p = 0; p < P; p++) acc[p][v] = bb;       \
                }                                                            \
            } else {                                                         \
                UNROLL for (int p = 0; p < P; p++)                           \
                    UNROLL for (int v = 0; v < V; v++) acc[p][v] = zero;     \
            }                                                                \
            for (int s = 0; s < nseg; s++) {                                 \
                const float *ab[P];                                          \
                UNROLL for (int p = 0; p < P; p++)                           \
                    ab[p] = q->a + ao[p] + seg[s].a;                         \
                const float *bp = b + seg[s].b;                              \
                const ptrdiff_t len = seg[s].len;                            \
                ptrdiff_t e = 0;                                             \
                for (ptrdiff_t i = 0; i < len; i++) {                        \
                    STEPG(acc, ab, e, bp);                                   \
                    e += a_e;                                                \
                    bp += b_e;                                               \
                }                                                            \
            }                                                                \
            UNROLL for (int p = 0; p < P; p++) {                             \
                float *io = q->io + oo[p];                                   \
                const float *mk = q->mask ? q->mask + oo[p] : NULL;          \
                UNROLL for (int v = 0; v < V; v++) {                         \
                    __m256 r = acc[p][v];                                    \
                    if (mk)                                                  \
                        r = _mm256_and_ps(                                   \
                            r, _mm256_cmp_ps(LOADV(mk + 8 * v, v), zero,     \
                                             _CMP_GT_OQ));                   \
                    else if (q->relu)                                        \
                        r = _mm256_max_ps(r, zero);                          \
                    STOREV(io + 8 * v, v, r);                                \
                }                                                            \
            }                                                                \
        }                                                                    \
    }

#define FOR_GTILES(X)                                                        \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1)          \
    X(9, 1) X(10, 1) X(11, 1) X(12, 1)                                       \
    X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2)                          \
    X(1, 3) X(2, 3) X(3, 3) X(4, 3)                                          \
    X(1, 4) X(2, 4) X(3, 4)

#define DEFINE_GBOTH(P, V) DEFINE_GTILE(P, V, 0) DEFINE_GTILE(P, V, 1)
FOR_GTILES(DEFINE_GBOTH)

typedef void (*gtile_fn)(const cnn_avx2_gemm *, const ptrdiff_t *,
                         const ptrdiff_t *, ptrdiff_t);
#define GENTRY(P, V)                                                         \
    [0][V][P] = gtile_##P##x##V##_0, [1][V][P] = gtile_##P##x##V##_1,
static const gtile_fn gtile_table[2][5][13] = {FOR_GTILES(GENTRY)};

void cnn_avx2_gather_all(const cnn_avx2_gemm *q, int cols,
                         const ptrdiff_t *aoff, const ptrdiff_t *iooff,
                         ptrdiff_t count)
{
    if (count <= 0)
        return;
    const int nv = (cols + 7) / 8, tail = cols - 8 * (nv - 1);
    for (int v0 = 0; v0 < nv; v0 += 4) {
        const int V = nv - v0 < 4 ? nv - v0 : 4;
        cnn_avx2_gemm r = *q;
        r.b += 8 * v0;
        r.io += 8 * v0;
        if (r.bias)
            r.bias += 8 * v0;
        if (r.mask)
            r.mask += 8 * v0;
        r.tail = v0 + V == nv ? tail : 8;
        const ptrdiff_t pm = 12 / V;
        const ptrdiff_t nt = (count + pm - 1) / pm;
        const ptrdiff_t base = count / nt, extra = count % nt;
        const int T = r.tail < 8;
        if (extra)
            gtile_table[T][V][base + 1](&r, aoff, iooff, extra);
        gtile_table[T][V][base](&r, aoff + extra * (base + 1),
                                iooff + extra * (base + 1), nt - extra);
    }
}

void cnn_avx2_bias_grad(ptrdiff_t npix, int M, const float *dy, float *db)
{
    if (M % 8 == 0 && 8 % (M / 8) == 0) {
        /* M = 8, 16, 32 or 64: dy as one run of vectors, vector j adding
           to channel block j mod (M/8); 8 independent sums. */
        const int nv = M / 8;
        const ptrdiff_t total = npix * nv; /* vectors */
        __m256 acc[8];
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        ptrdiff_t j = 0;
        for (; j + 8 <= total; j += 8)
            UNROLL for (int k = 0; k < 8; k++)
                acc[k] = _mm256_add_ps(acc[k], _mm256_loadu_ps(dy + 8 * (j + k)));
        for (int k = 0; j < total; j++, k++) /* k = j mod 8 here */
            acc[k] = _mm256_add_ps(acc[k], _mm256_loadu_ps(dy + 8 * j));
        for (int v = 0; v < nv; v++) {
            __m256 sum = _mm256_loadu_ps(db + 8 * v);
            for (int k = v; k < 8; k += nv)
                sum = _mm256_add_ps(sum, acc[k]);
            _mm256_storeu_ps(db + 8 * v, sum);
        }
        return;
    }
    const int nv = (M + 7) / 8, tail = M - 8 * (nv - 1);
    for (int v = 0; v < nv; v++) {
        const __m256i tm = tail_mask(v == nv - 1 ? tail : 8);
        const float *d = dy + 8 * v;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        ptrdiff_t p = 0;
        for (; p + 4 <= npix; p += 4) {
            s0 = _mm256_add_ps(s0, _mm256_maskload_ps(d + (p + 0) * M, tm));
            s1 = _mm256_add_ps(s1, _mm256_maskload_ps(d + (p + 1) * M, tm));
            s2 = _mm256_add_ps(s2, _mm256_maskload_ps(d + (p + 2) * M, tm));
            s3 = _mm256_add_ps(s3, _mm256_maskload_ps(d + (p + 3) * M, tm));
        }
        for (; p < npix; p++)
            s0 = _mm256_add_ps(s0, _mm256_maskload_ps(d + p * M, tm));
        const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1),
                                       _mm256_add_ps(s2, s3));
        _mm256_maskstore_ps(db + 8 * v, tm,
                            _mm256_add_ps(_mm256_maskload_ps(db + 8 * v, tm),
                                          s));
    }
}
