/*
 * families.h — the declarations of every kernel family, once per family,
 * and the ISAs that implement it.
 *
 * A family is one operation on one shape class with the kernels.h contract;
 * its functions are named cnn_<family>_<pass>_<isa>:
 *
 *   family     passes                           ISAs
 *   conv       forward, backward_data/_weights  ref, scalar (any geometry)
 *   conv1x1    forward, backward_data/_weights  scalar, avx2, avx512, neon
 *   conv3x3    forward, backward_data/_weights  avx2, avx512, neon
 *   conv3x3c1  forward, backward_weights        avx2, avx512, neon
 *              (a first layer needs no backward data)
 *   dense      forward, backward_data/_weights  ref, scalar, avx2, avx512,
 *              (+ pack but for ref)              neon
 *
 * plus the weight-packing hooks of backward data, which some families of
 * one ISA share.  Which kernel runs which geometry is kernels/list.c's
 * business; the per-ISA headers (x86/avx2.h, x86/avx512.h, arm/neon.h) hold
 * only what their kernels share inside the set.
 */
#ifndef CNN_KERNELS_FAMILIES_H
#define CNN_KERNELS_FAMILIES_H

#include "kernels.h"

/* The three passes of a convolution family for one ISA. */
#define CNN_DECLARE_CONV(family, isa)                                          \
    void cnn_##family##_forward_##isa(const cnn_conv_geom *g, int n,           \
                                      const float *x, const float *w,          \
                                      const float *b, float *y, int relu);     \
    void cnn_##family##_backward_data_##isa(const cnn_conv_geom *g, int n,     \
                                            const float *dy, const float *w,   \
                                            const float *mask, float *dx);     \
    void cnn_##family##_backward_weights_##isa(const cnn_conv_geom *g, int n,  \
                                               const float *x,                 \
                                               const float *dy, float *dw,     \
                                               float *db)

/* A first-layer family: forward and backward weights only. */
#define CNN_DECLARE_CONV_FIRST_LAYER(family, isa)                              \
    void cnn_##family##_forward_##isa(const cnn_conv_geom *g, int n,           \
                                      const float *x, const float *w,          \
                                      const float *b, float *y, int relu);     \
    void cnn_##family##_backward_weights_##isa(const cnn_conv_geom *g, int n,  \
                                               const float *x,                 \
                                               const float *dy, float *dw,     \
                                               float *db)

/* The dense family for one ISA (pack: cnn_dense_pack_backward_data_<isa>,
   declared by the sets that have it). */
#define CNN_DECLARE_DENSE(isa)                                                 \
    void cnn_dense_forward_##isa(int n, int in, int out, const float *x,       \
                                 const float *w, const float *b, float *y,     \
                                 int relu);                                    \
    void cnn_dense_backward_data_##isa(int n, int in, int out,                 \
                                       const float *dy, const float *wp,       \
                                       const float *mask, float *dx);          \
    void cnn_dense_backward_weights_##isa(int n, int in, int out,              \
                                          const float *x, const float *dy,     \
                                          int i0, int i1, int start_zero,      \
                                          float *dw, float *db)
#define CNN_DECLARE_DENSE_PACK(isa)                                            \
    void cnn_dense_pack_backward_data_##isa(int in, int out, const float *w,   \
                                            float *packed, int o0, int o1)
/* The sets that choose per shape whether to pack (the others: always). */
#define CNN_DECLARE_DENSE_PACKS(isa)                                           \
    int cnn_dense_packs_##isa(int in, int out)

/* The dense kernels of one ISA as a cnn_dense_kernels initialiser; the
   pack hook is CNN_DENSE_PACK_<isa> (NULL for ref, which reads w), and
   CNN_DENSE_PACKS_<isa> says for which shapes (NULL: all of them). */
#define CNN_DENSE_KERNELS(isa)                                                 \
    {                                                                          \
        .forward = cnn_dense_forward_##isa,                                    \
        .backward_data = cnn_dense_backward_data_##isa,                        \
        .backward_weights = cnn_dense_backward_weights_##isa,                  \
        .pack_backward_data = CNN_DENSE_PACK_##isa,                            \
        .packs = CNN_DENSE_PACKS_##isa,                                        \
    }
#define CNN_DENSE_PACK_ref NULL
#define CNN_DENSE_PACK_scalar cnn_dense_pack_backward_data_scalar
#define CNN_DENSE_PACK_avx2 cnn_dense_pack_backward_data_avx2
#define CNN_DENSE_PACK_avx512 cnn_dense_pack_backward_data_avx512
#define CNN_DENSE_PACK_neon cnn_dense_pack_backward_data_neon
#define CNN_DENSE_PACKS_ref NULL
#define CNN_DENSE_PACKS_scalar NULL
#define CNN_DENSE_PACKS_avx2 cnn_dense_packs_avx2
#define CNN_DENSE_PACKS_avx512 cnn_dense_packs_avx512
#define CNN_DENSE_PACKS_neon NULL

/* A pack_backward_data hook (kernels.h). */
#define CNN_DECLARE_CONV_PACK(name)                                            \
    void name(const cnn_conv_geom *g, const float *w, float *packed)

/* Reference (kernels/ref): naive loops, the test oracle. */
CNN_DECLARE_CONV(conv, ref);
CNN_DECLARE_DENSE(ref);

/* Portable C, the "scalar" ISA (kernels/portable).  conv: any k, stride
   and padding; conv1x1: stride 1, no padding, a GEMM over the n*h*w
   pixels; dense: loops over the samples the compiler vectorises over out
   (backward data over in, on w transposed). */
CNN_DECLARE_CONV(conv, scalar);
CNN_DECLARE_CONV(conv1x1, scalar);
CNN_DECLARE_DENSE(scalar);
CNN_DECLARE_DENSE_PACK(scalar);

/* AVX2 + FMA (kernels/x86, files named -avx2.c).  conv3x3 is correct for
   any k, stride and padding; its backward data and conv1x1's read the
   weights packed by cnn_conv_pack_backward_data_avx2. */
CNN_DECLARE_CONV(conv3x3, avx2);
CNN_DECLARE_CONV_FIRST_LAYER(conv3x3c1, avx2);
CNN_DECLARE_CONV(conv1x1, avx2);
CNN_DECLARE_DENSE(avx2);
CNN_DECLARE_DENSE_PACK(avx2);
CNN_DECLARE_DENSE_PACKS(avx2);
CNN_DECLARE_CONV_PACK(cnn_conv_pack_backward_data_avx2);

/* AVX-512F (+VL) (kernels/x86, files named -avx512.c).  conv3x3c1 only
   where cnn_conv3x3c1_fits_avx512 (list.h). */
CNN_DECLARE_CONV(conv3x3, avx512);
CNN_DECLARE_CONV_FIRST_LAYER(conv3x3c1, avx512);
CNN_DECLARE_CONV(conv1x1, avx512);
CNN_DECLARE_DENSE(avx512);
CNN_DECLARE_DENSE_PACK(avx512);
CNN_DECLARE_DENSE_PACKS(avx512);
CNN_DECLARE_CONV_PACK(cnn_conv3x3_pack_backward_data_avx512);
CNN_DECLARE_CONV_PACK(cnn_conv1x1_pack_backward_data_avx512);

/* AArch64 NEON (kernels/arm).  conv3x3 and conv3x3c1: stride 1 or 2; the
   conv3x3 and conv1x1 backward data read the weights transposed by
   cnn_conv_pack_transposed_neon ([k][k][out_c][in_c]). */
CNN_DECLARE_CONV(conv3x3, neon);
CNN_DECLARE_CONV_FIRST_LAYER(conv3x3c1, neon);
CNN_DECLARE_CONV(conv1x1, neon);
CNN_DECLARE_DENSE(neon);
CNN_DECLARE_DENSE_PACK(neon);
CNN_DECLARE_CONV_PACK(cnn_conv_pack_transposed_neon);

/* Pooling, NHWC, 'valid' windows (pool-ref.c, pool-portable.c): maxpool
   and avgpool over K x K windows at stride S (g->k, g->stride; out_c ==
   in_c, no padding), gap over all h*w pixels.  Backward data overwrites
   dx, then applies mask as the conv families do; maxpool's sends dy to
   each window's first pixel (row-major) equal to its maximum, y (the
   forward output of x: ref finds it again from x, scalar reads it).  ISAs ref and scalar;
   the layers (src/layers/pool.c, gap.c) bind them directly. */
#define CNN_DECLARE_POOL(isa)                                                  \
    void cnn_maxpool_forward_##isa(const cnn_conv_geom *g, int n,              \
                                   const float *x, float *y);                  \
    void cnn_maxpool_backward_data_##isa(const cnn_conv_geom *g, int n,        \
                                         const float *x, const float *y,       \
                                         const float *dy, const float *mask,   \
                                         float *dx);                           \
    void cnn_avgpool_forward_##isa(const cnn_conv_geom *g, int n,              \
                                   const float *x, float *y);                  \
    void cnn_avgpool_backward_data_##isa(const cnn_conv_geom *g, int n,        \
                                         const float *dy, const float *mask,   \
                                         float *dx);                           \
    void cnn_gap_forward_##isa(int n, int hw, int c, const float *x,           \
                               float *y);                                      \
    void cnn_gap_backward_data_##isa(int n, int hw, int c, const float *dy,    \
                                     const float *mask, float *dx)
CNN_DECLARE_POOL(ref);
CNN_DECLARE_POOL(scalar);

#endif /* CNN_KERNELS_FAMILIES_H */
