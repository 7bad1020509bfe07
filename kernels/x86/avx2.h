/*
 * avx2.h — what the AVX2+FMA kernels (kernels/x86, files named -avx2.c)
 * share: the register-tile engine (tile-avx2.c) and the slot order of the
 * packed backward-data weights.  The kernels themselves are declared in
 * families.h.
 *
 * Every pass of every kernel in this set is a sum of small GEMMs
 *   io[t][p][c] (+)= sum over segments s, steps e < len_s of
 *                    a[t*a_t + seg_s.a + p*a_p + e*a_e] * b[seg_s.b + e*b_e + c]
 * held in a register tile of P rows (broadcast scalars of a) x V ymm vectors
 * (8 contiguous floats of b each), c < 8V.  The segments are the pieces of
 * the reduction that are contiguous (a kernel row, a run of pixels): the
 * callers compute them, with the valid taps and pixels, outside the tile, so
 * the innermost loop has no branch.  Channel counts that are not multiples
 * of 8 load and store the last vector with a lane mask.
 */
#ifndef CNN_KERNELS_AVX2_H
#define CNN_KERNELS_AVX2_H

#include <stddef.h>

#include "families.h"

/* Bytes of a kernel's streamed operands meant to stay in L1 (32 KB). */
#define CNN_AVX2_L1_BUDGET 24576
/* The same for L2 (1 MB on Zen 4; leave room for weights and outputs). */
#define CNN_AVX2_L2_BUDGET 131072

/* One contiguous piece of a tile's reduction. */
typedef struct cnn_avx2_seg {
    ptrdiff_t a, b;  /* offsets added to the tile's a and to b */
    ptrdiff_t len;   /* reduction steps */
} cnn_avx2_seg;

/* How a tile's outputs start. */
enum { CNN_AVX2_FROM_IO, CNN_AVX2_FROM_BIAS, CNN_AVX2_FROM_ZERO };

/* A run of tiles: tile t's row p, vector v is io[t*io_t + p*io_p + 8v ..]. */
typedef struct cnn_avx2_gemm {
    const float *a;
    ptrdiff_t a_t, a_p, a_e;
    const float *b;   /* shared by all tiles (offset to the channel block) */
    ptrdiff_t b_e;
    const cnn_avx2_seg *seg;
    int nseg;
    float *io;
    ptrdiff_t io_t, io_p;
    int start;          /* CNN_AVX2_FROM_* */
    const float *bias;  /* FROM_BIAS: the block's bias (8V floats) */
    const float *mask;  /* not NULL: indexed like io, zero where !(m > 0) */
    int relu;           /* (no mask) clamp negatives to 0 */
    int tail;           /* valid floats in the last vector, 1..8 */
} cnn_avx2_gemm;

/* Largest tile rows for V vectors (12 accumulators in 16 ymm registers). */
int cnn_avx2_max_rows(int V);

/* ntiles tiles of P rows x V vectors (P <= cnn_avx2_max_rows(V); V <= 8
   when P == 1). */
void cnn_avx2_tiles(const cnn_avx2_gemm *q, int P, int V, ptrdiff_t ntiles);

/* `count` rows in tiles of about equal size (each <= max rows of V):
   a, io (and mask) of q start at row 0; rows are a_p / io_p apart. */
void cnn_avx2_rows(const cnn_avx2_gemm *q, int V, ptrdiff_t count);

/* The same over all `nv` vectors of the channels (nv = ceil(cols/8), the
   last vector holding `tail` floats): blocks of at most 4 vectors; q->b,
   q->io, q->bias, q->mask start at channel 0. */
void cnn_avx2_rows_all(const cnn_avx2_gemm *q, int cols, ptrdiff_t count);

/* Like cnn_avx2_rows_all over `count` rows that are not evenly spaced: row
   i reads q->a + aoff[i] (+ segment offsets) and writes q->io + iooff[i]
   (mask likewise); q->start is FROM_BIAS or FROM_ZERO. */
void cnn_avx2_gather_all(const cnn_avx2_gemm *q, int cols,
                         const ptrdiff_t *aoff, const ptrdiff_t *iooff,
                         ptrdiff_t count);

/* dw[ci][co] += sum_{p < npix} x[p][ci] * dy[p][co] (x rows of C, dy
   rows of M floats); db[co] += sum_p dy[p][co] when db is not NULL. */
void cnn_avx2_gemm_at_b(ptrdiff_t npix, int C, int M, const float *x,
                        const float *dy, float *dw, float *db);
/* The same, every tile passing over chunks of `chunk` pixels. */
void cnn_avx2_gemm_at_b_chunked(ptrdiff_t npix, int C, int M, const float *x,
                                const float *dy, float *dw, float *db,
                                ptrdiff_t chunk);

/* db[c] += sum over npix pixels of dy[p*M + c], c < M. */
void cnn_avx2_bias_grad(ptrdiff_t npix, int M, const float *dy, float *db);

/* cnn_conv_pack_backward_data_avx2 (families.h) transposes w
   [k][k][in_c][out_c] to [k][k][out_c][in_c], each kernel row's taps in
   the slot order of backward data (grouped by kx mod stride, descending kx
   in a group): the slot of tap kx. */
int cnn_avx2_kx_slot(int kx, int k, int s);

#endif /* CNN_KERNELS_AVX2_H */
