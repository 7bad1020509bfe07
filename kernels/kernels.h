/*
 * kernels.h — the kernel contract and the kernel table.
 *
 * A kernel is a single-threaded, allocation-free function over the images it
 * is handed.  Tensors are NHWC float32: x is (n, in_h, in_w, in_c), y and dy
 * are (n, out_h, out_w, out_c).  Conv weights are [k][k][in_c][out_c], dense
 * weights [in][out].
 *
 * Each operation has three passes:
 *   forward           y  = act(conv(x, w) + b); relu != 0 fuses ReLU
 *   backward_data     dx = conv_transpose(dy, w), then, when mask is not
 *                     NULL, dx[i] = mask[i] > 0 ? dx[i] : 0 (mask is the
 *                     layer's input, itself a ReLU output); dx is overwritten.
 *                     A conv set may repack the weights for this pass: when
 *                     pack_backward_data is not NULL, the caller runs it once
 *                     after every weight update and passes its output (k*k*
 *                     in_c*out_c floats, 64-byte aligned) as w
 *   backward_weights  dw += sum over images of x ⊗ dy, db += sum of dy;
 *                     dy already carries the layer's own ReLU mask
 * (the dense passes differ in details: see their typedefs below).
 *
 * b may be NULL (no bias) and db may be NULL (no bias gradient).
 *
 * Implementations: ref (naive loops, the test oracle), portable (plain C the
 * compiler vectorises, ISA name "scalar"), and the SIMD sets avx2, avx512
 * (kernels/x86) and neon (kernels/arm), each compiled with its own flags.
 * families.h declares each family's functions; list.h and list.c list
 * them, and the tables below are derived from those lists (select.c).
 */
#ifndef CNN_KERNELS_H
#define CNN_KERNELS_H

#include <stddef.h>

/* Geometry of one 2-D convolution (square kernel, equal strides). */
typedef struct cnn_conv_geom {
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int k, stride;
    int pad_top, pad_left; /* the bottom/right padding is implied by out_* */
} cnn_conv_geom;

typedef void (*cnn_conv_forward_fn)(const cnn_conv_geom *g, int n,
                                    const float *x, const float *w,
                                    const float *b, float *y, int relu);
typedef void (*cnn_conv_backward_data_fn)(const cnn_conv_geom *g, int n,
                                          const float *dy, const float *w,
                                          const float *mask, float *dx);
typedef void (*cnn_conv_backward_weights_fn)(const cnn_conv_geom *g, int n,
                                             const float *x, const float *dy,
                                             float *dw, float *db);

/* Dense: x is (n, in), y and dy are (n, out), w [in][out], b and db [out].
 *
 * Batch invariance: forward and backward_data give each sample's outputs
 * the same bits whatever n is and wherever the sample sits in the call;
 * backward_weights gives each dw element bits that depend only on n, in,
 * out and the data, never on [i0, i1) or the tiling.  (Different sets may
 * differ from each other.) */
typedef void (*cnn_dense_forward_fn)(int n, int in, int out, const float *x,
                                     const float *w, const float *b, float *y,
                                     int relu);
/* Repack w for backward_data into packed (in*out floats, 64-byte aligned,
   the set's own layout, e.g. transposed [out][in]).  A call writes exactly
   the part of packed that depends on columns [o0, o1) of w, so calls on
   disjoint ranges covering [0, out) may run in parallel on different
   threads and together make the whole copy. */
typedef void (*cnn_dense_pack_fn)(int in, int out, const float *w,
                                  float *packed, int o0, int o1);
/* Whether backward_data of the set reads the packed copy for this shape
   (else it reads w itself and the shape needs no pack). */
typedef int (*cnn_dense_packs_fn)(int in, int out);
/* wp: the packed copy when the set packs this shape (cnn_dense_reads_packed),
   else w itself.
   dx overwritten, then masked (mask[i] > 0 ? dx[i] : 0) when mask is not
   NULL. */
typedef void (*cnn_dense_backward_data_fn)(int n, int in, int out,
                                           const float *dy, const float *wp,
                                           const float *mask, float *dx);
/* The "owner" form: for rows i in [i0, i1) only, dw[i][o] += sum over the
   n samples s of x[s][i] * dy[s][o] (dw points at row 0 of the whole
   [in][out] tensor; nothing outside rows [i0, i1) is read or written).
   db != NULL: db[o] += sum_s dy[s][o] for every o.  dy already carries the
   layer's own ReLU mask.
   start_zero != 0 (overwrite): the sums start from 0 instead of the old
   dw and db, which are then never read (the trainer's owners need no
   memset); the bits are those of accumulating onto zeroed dw and db. */
typedef void (*cnn_dense_backward_weights_fn)(int n, int in, int out,
                                              const float *x, const float *dy,
                                              int i0, int i1, int start_zero,
                                              float *dw, float *db);

/* Repack conv weights w [k][k][in_c][out_c] into the layout backward_data
   of the same set reads (same number of floats), e.g. [k][k][out_c][in_c]. */
typedef void (*cnn_conv_pack_fn)(const cnn_conv_geom *g, const float *w,
                                 float *packed);

/* The three passes of a convolution, chosen for one geometry. */
typedef struct cnn_conv_kernels {
    cnn_conv_forward_fn forward;
    cnn_conv_backward_data_fn backward_data;
    cnn_conv_backward_weights_fn backward_weights;
    cnn_conv_pack_fn pack_backward_data; /* NULL: backward_data reads w */
} cnn_conv_kernels;

/* The dense passes of one set. */
typedef struct cnn_dense_kernels {
    cnn_dense_forward_fn forward;
    cnn_dense_backward_data_fn backward_data;
    cnn_dense_backward_weights_fn backward_weights;
    cnn_dense_pack_fn pack_backward_data; /* NULL: backward_data reads w */
    cnn_dense_packs_fn packs; /* NULL: every shape packs when there is a pack */
} cnn_dense_kernels;

/* Whether set k's backward_data reads the packed copy for in -> out. */
static inline int cnn_dense_reads_packed(const cnn_dense_kernels *k, int in, int out)
{
    return k->pack_backward_data && (!k->packs || k->packs(in, out));
}

/* One instruction-set family's kernels, derived from the kernel lists
   (list.h, list.c; select.c builds the tables). */
typedef struct cnn_kernel_table {
    const char *isa; /* "ref", "scalar", ... */
    /* Best conv kernels of this set for a geometry (never fails: a set
       falls back to the generic kernels); the first entries of the lists
       that fit, as list.h describes. */
    cnn_conv_kernels (*select_conv)(const cnn_conv_geom *g);
    cnn_dense_kernels dense;
} cnn_kernel_table;

/* The naive reference set (kernels/ref). */
extern const cnn_kernel_table cnn_kernels_ref;
/* Portable C kernels (kernels/portable), the "scalar" ISA. */
extern const cnn_kernel_table cnn_kernels_portable;
/* SIMD sets.  Only the current architecture's are linked in, and a set may
   be used only where the CPU supports it (src/dispatch.c checks). */
extern const cnn_kernel_table cnn_kernels_avx2;   /* AVX2 + FMA */
extern const cnn_kernel_table cnn_kernels_avx512; /* AVX-512F (+VL) */
extern const cnn_kernel_table cnn_kernels_neon;   /* AArch64 NEON */

#endif /* CNN_KERNELS_H */
