/*
 * dense-portable.c — portable C11 dense (fully connected) kernels, the
 * "scalar" ISA: every pass is one small GEMM, C[m][:] = init + sum over k
 * of A[m][k] * B[k][:], its output columns in blocks of 16 accumulators the
 * compiler vectorises:
 *   forward           A = x (n, in), B = w [in][out], init b (or 0), ReLU
 *   backward_data     A = dy (n, out), B = w transposed [out][in] (packed by
 *                     cnn_dense_pack_backward_data_scalar), init 0, mask
 *   backward_weights  A = x transposed, B = dy (n, out), init dw: rows
 *                     [i0, i1) of dw += x^T dy; db += the column sums of dy
 * K goes in chunks of 256, the partial sums kept in C (exact).  Each
 * output element is one chain of multiply-adds in k order from its init,
 * whatever n, the sample's place or the row range: batch invariant.
 */
#include <stddef.h>

#include "families.h"

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif
#define UNROLL _Pragma("GCC unroll 32")

enum { OB = 16, KB = 256 }; /* output columns per block, K steps per chunk */

/* One GEMM: A[m][k] at a + m*a_m + k*a_k, B [K][N] rows of ldb floats,
   C [M][N] rows of ldc floats. */
typedef struct gemm {
    int M, N, K;
    const float *a;
    ptrdiff_t a_m, a_k;
    const float *b;
    ptrdiff_t ldb;
    float *c;
    ptrdiff_t ldc;
    const float *bias; /* init: bias[n] (else 0, or c when accum) */
    int accum;         /* init from C */
    int relu;
    const float *mask; /* mask[m][n], rows of ldc floats: c = mask > 0 ? c : 0 */
} gemm;

/* One row m, columns n0 .. n0+nb (nb <= OB): a generic loop when called
   with a run-time nb; with the literal OB, as block_full below, gcc -O2
   turns the unrolled accumulators into SIMD (conv-portable.c explains
   why it must be a function of its own with literal sizes).  Both do the
   same float operations per element: a multiply then an add per k. */
static inline void gemm_block(const gemm *g, int m, int n0, int nb)
{
    float acc[OB];
    float *c = g->c + (ptrdiff_t)m * g->ldc + n0;
    UNROLL for (int j = 0; j < nb; j++)
        acc[j] = g->accum ? c[j] : g->bias ? g->bias[n0 + j] : 0.0f;
    const float *a = g->a + (ptrdiff_t)m * g->a_m;
    const float *b = g->b + n0;
    for (int k = 0; k < g->K; k++) {
        const float av = a[(ptrdiff_t)k * g->a_k];
        UNROLL for (int j = 0; j < nb; j++) acc[j] += av * b[j];
        b += g->ldb;
    }
    const float *mk = g->mask ? g->mask + (ptrdiff_t)m * g->ldc + n0 : NULL;
    for (int j = 0; j < nb; j++) {
        float v = acc[j];
        if (g->relu && !(v > 0.0f))
            v = 0.0f;
        if (mk && !(mk[j] > 0.0f))
            v = 0.0f;
        c[j] = v;
    }
}

static NOINLINE void block_full(const gemm *g, int m, int n0) { gemm_block(g, m, n0, OB); }
static NOINLINE void block_part(const gemm *g, int m, int n0, int nb)
{
    gemm_block(g, m, n0, nb);
}

/* The job's K steps [k0, k0 + kn) as a job of its own: the partial sums
   go through C (exact), the epilogue only at the end. */
static gemm k_chunk(const gemm *g, int k0, int kn)
{
    gemm p = *g;
    p.K = kn;
    p.a = g->a + (ptrdiff_t)k0 * g->a_k;
    p.b = g->b + (ptrdiff_t)k0 * g->ldb;
    p.accum = g->accum || k0 > 0;
    if (k0 + kn < g->K)
        p.relu = 0, p.mask = NULL;
    return p;
}

/* Column blocks outer, K in chunks of KB (a block's chunk of B stays in
   cache for every row), rows inner. */
static void gemm_run(const gemm *g)
{
    for (int n0 = 0; n0 < g->N; n0 += OB) {
        const int nb = g->N - n0 < OB ? g->N - n0 : OB;
        for (int k0 = 0; k0 < g->K; k0 += KB) {
            const gemm p = k_chunk(g, k0, g->K - k0 < KB ? g->K - k0 : KB);
            for (int m = 0; m < g->M; m++) {
                if (nb == OB)
                    block_full(&p, m, n0);
                else
                    block_part(&p, m, n0, nb);
            }
        }
    }
}

void cnn_dense_forward_scalar(int n, int in, int out, const float *x,
                              const float *w, const float *b, float *y,
                              int relu)
{
    const gemm g = {.M = n, .N = out, .K = in, .a = x, .a_m = in, .a_k = 1,
                    .b = w, .ldb = out, .c = y, .ldc = out, .bias = b,
                    .relu = relu};
    gemm_run(&g);
}

void cnn_dense_pack_backward_data_scalar(int in, int out, const float *w,
                                         float *packed, int o0, int o1)
{
    for (int i0 = 0; i0 < in; i0 += OB) /* blocks of w's rows stay cached */
        for (int o = o0; o < o1; o++)
            for (int i = i0; i < in && i < i0 + OB; i++)
                packed[(ptrdiff_t)o * in + i] = w[(ptrdiff_t)i * out + o];
}

void cnn_dense_backward_data_scalar(int n, int in, int out, const float *dy,
                                    const float *wp, const float *mask,
                                    float *dx)
{
    const gemm g = {.M = n, .N = in, .K = out, .a = dy, .a_m = out, .a_k = 1,
                    .b = wp, .ldb = in, .c = dx, .ldc = in, .mask = mask};
    gemm_run(&g);
}

void cnn_dense_backward_weights_scalar(int n, int in, int out, const float *x,
                                       const float *dy, int i0, int i1,
                                       int start_zero, float *dw, float *db)
{
    const gemm g = {.M = i1 - i0, .N = out, .K = n, .a = x + i0, .a_m = 1,
                    .a_k = in, .b = dy, .ldb = out,
                    .c = dw + (ptrdiff_t)i0 * out, .ldc = out,
                    .accum = !start_zero};
    gemm_run(&g);
    if (!db)
        return;
    for (int o0 = 0; o0 < out; o0 += OB) {
        const int nb = out - o0 < OB ? out - o0 : OB;
        float acc[OB] = {0};
        for (int s = 0; s < n; s++)
            for (int j = 0; j < nb; j++)
                acc[j] += dy[(ptrdiff_t)s * out + o0 + j];
        for (int j = 0; j < nb; j++)
            db[o0 + j] = start_zero ? acc[j] : db[o0 + j] + acc[j];
    }
}
