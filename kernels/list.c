/*
 * list.c — the kernel lists (see list.h): the shape classes, then one list
 * per family, each entry (ISA, shape class, functions, register tile).
 * Only the current architecture's SIMD entries are compiled in.
 *
 * To add a kernel: declare its functions in families.h, add an entry to
 * its family's list (a new family: a new list, placed in
 * cnn_conv_families before the families it should win over), then run
 * `./build/test-runner kernels`: the kernel tests take its shapes from the
 * entry's class, and the guard test wants a bench/kernels row for it.
 */
#include "list.h"

#if defined(__x86_64__)
#define CNN_LIST_X86 1
#endif
#if defined(__aarch64__)
#define CNN_LIST_ARM 1
#endif

/* ------------------------------------------------------ shape classes */

int cnn_shape_any(const cnn_conv_geom *g)
{
    (void)g;
    return 1;
}

int cnn_shape_kxk(const cnn_conv_geom *g) { return g->k == 3 || g->k == 5; }

int cnn_shape_kxk_s12(const cnn_conv_geom *g)
{
    return cnn_shape_kxk(g) && (g->stride == 1 || g->stride == 2);
}

int cnn_shape_kxk_c1(const cnn_conv_geom *g)
{
    return cnn_shape_kxk(g) && g->in_c == 1;
}

int cnn_shape_kxk_s12_c1(const cnn_conv_geom *g)
{
    return cnn_shape_kxk_s12(g) && g->in_c == 1;
}


int cnn_shape_1x1_s1_nopad(const cnn_conv_geom *g)
{
    return g->k == 1 && g->stride == 1 && g->pad_top == 0 &&
           g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w;
}

int cnn_conv3x3c1_fits_avx512(const cnn_conv_geom *g)
{
    if (!cnn_shape_kxk_c1(g) || g->out_c > 32 || g->out_c < 1)
        return 0;
    const int ph = (g->out_h - 1) * g->stride + g->k;
    const int pw = (g->out_w - 1) * g->stride + g->k;
    return (ptrdiff_t)ph * pw <= CNN_CONV3X3C1_AVX512_PAD_CAP;
}

/* ------------------------------------------------------- conv families */

#define PASSES(fam, isa)                                                       \
    {                                                                          \
        .forward = cnn_##fam##_forward_##isa,                                  \
        .backward_data = cnn_##fam##_backward_data_##isa,                      \
        .backward_weights = cnn_##fam##_backward_weights_##isa,                \
    }
#define PASSES_PACKED(fam, isa, pack)                                          \
    {                                                                          \
        .forward = cnn_##fam##_forward_##isa,                                  \
        .backward_data = cnn_##fam##_backward_data_##isa,                      \
        .backward_weights = cnn_##fam##_backward_weights_##isa,                \
        .pack_backward_data = pack,                                            \
    }
/* First layer: no backward data (the next fitting entry's). */
#define PASSES_FIRST_LAYER(fam, isa)                                           \
    {                                                                          \
        .forward = cnn_##fam##_forward_##isa,                                  \
        .backward_weights = cnn_##fam##_backward_weights_##isa,                \
    }

/* 3x3 convolutions of one input channel (a first layer): vectorised over
   the output channels, the image copied into a zero-padded buffer. */
static const cnn_conv_entry conv3x3c1[] = {
#ifdef CNN_LIST_X86
    {"conv3x3c1", "avx512", "3x3 or 5x5, 1 input channel, <= 32 outputs, "
     "padded image <= 8192 floats", cnn_conv3x3c1_fits_avx512,
     PASSES_FIRST_LAYER(conv3x3c1, avx512),
     "3x3: fwd 12 px x 1 zmm or 6 px x 2 zmm, 9 taps' weights in "
     "registers; bwd-w 9 taps x V zmm + V bias; 5x5: fwd 14 px x 1 zmm (> 16 "
     "outputs: the conv3x3 grid), bwd-w 25 taps x 1 zmm or 10 taps x 2 zmm "
     "(+ V bias); 5x5 s1 8 outputs: zmm = 2 px x 8, fwd 2 rows x 8 pairs, "
     "bwd-w 25 taps"},
    {"conv3x3c1", "avx2", "3x3 or 5x5, 1 input channel (outputs not a "
     "multiple of 8: the direct kernels)", cnn_shape_kxk_c1,
     PASSES_FIRST_LAYER(conv3x3c1, avx2),
     "outputs a multiple of 8: fwd 3 px x 4 ymm (32 outputs; 24: 3 x 3, "
     "16: 4 x 2, 8: 7 x 1); bwd-w 3 taps (5x5: 3 + 2) x 4 or 3 ymm per "
     "kernel row, or 1..3 kernel rows x 2 or 1 ymm"},
#endif
#ifdef CNN_LIST_ARM
    {"conv3x3c1", "neon", "3x3 or 5x5, stride 1 or 2, 1 input channel",
     cnn_shape_kxk_s12_c1, PASSES_FIRST_LAYER(conv3x3c1, neon),
     "fwd 8 px x 3 q (stride 2: x 2 q); bwd-w 9 taps x 2 q + 2 bias (5x5: "
     "25 taps x 1 q + 1)"},
#endif
    {0},
};

/* Direct KxK convolutions (k = 3 or 5): a sum of small GEMMs per kernel
   row, padding handled by choosing the segments, backward data a gather by
   phases. */
static const cnn_conv_entry conv3x3[] = {
#ifdef CNN_LIST_X86
    {"conv3x3", "avx512", "3x3 or 5x5, any stride, padding and channels",
     cnn_shape_kxk,
     PASSES_PACKED(conv3x3, avx512, cnn_conv3x3_pack_backward_data_avx512),
     "P px x V zmm, P*V <= 24, V <= 4, short rows 2 at a time; bwd-d s2 "
     "in_c <= 16, k 3: 7 dy px -> 15 dx px x 1 zmm"},
    {"conv3x3", "avx2", "3x3 or 5x5, any stride, padding and channels",
     cnn_shape_kxk,
     PASSES_PACKED(conv3x3, avx2, cnn_conv_pack_backward_data_avx2),
     "P px x V ymm, P*V <= 12 (3 px x 4 ymm for 32 or 64 outputs)"},
#endif
#ifdef CNN_LIST_ARM
    {"conv3x3", "neon", "3x3 or 5x5, stride 1 or 2, any padding and "
     "channels", cnn_shape_kxk_s12,
     PASSES_PACKED(conv3x3, neon, cnn_conv_pack_transposed_neon),
     "fwd, bwd-d 5 px x 4 q; bwd-w 8 x 3 q"},
#endif
    {0},
};

/* 1x1 stride-1 unpadded convolutions: GEMMs over pixels. */
static const cnn_conv_entry conv1x1[] = {
#ifdef CNN_LIST_X86
    {"conv1x1", "avx512", "1x1, stride 1, no padding", cnn_shape_1x1_s1_nopad,
     PASSES_PACKED(conv1x1, avx512, cnn_conv1x1_pack_backward_data_avx512),
     "P px x V zmm, P*V <= 24, V <= 4"},
    {"conv1x1", "avx2", "1x1, stride 1, no padding", cnn_shape_1x1_s1_nopad,
     PASSES_PACKED(conv1x1, avx2, cnn_conv_pack_backward_data_avx2),
     "P px x V ymm, P*V <= 12"},
#endif
#ifdef CNN_LIST_ARM
    {"conv1x1", "neon", "1x1, stride 1, no padding", cnn_shape_1x1_s1_nopad,
     PASSES_PACKED(conv1x1, neon, cnn_conv_pack_transposed_neon),
     "fwd, bwd-d 5 px x 4 q; bwd-w 8 x 3 q"},
#endif
    {"conv1x1", "scalar", "1x1, stride 1, no padding", cnn_shape_1x1_s1_nopad,
     PASSES(conv1x1, scalar), "none (loops the compiler vectorises)"},
    {0},
};

/* Any geometry: the last resort of every set. */
static const cnn_conv_entry conv[] = {
    {"conv", "scalar", "any", cnn_shape_any, PASSES(conv, scalar),
     "none (loops the compiler vectorises)"},
    {"conv", "ref", "any", cnn_shape_any, PASSES(conv, ref),
     "none (naive loops, the oracle)"},
    {0},
};

const cnn_conv_entry *const cnn_conv_families[] = {
    conv3x3c1, conv3x3, conv1x1, conv, NULL,
};

/* --------------------------------------------------------------- dense */

const cnn_dense_entry cnn_dense_list[] = {
#ifdef CNN_LIST_X86
    {"avx512", CNN_DENSE_KERNELS(avx512),
     "R rows x V zmm, R*V <= 24 (8 x 3 for 32 samples; fwd out <= 12: "
     "out x 2 zmm of samples); bwd-d: out >= 128 dots on w, 4 samples x 6 "
     "inputs zmm; out <= 12 on w, 8 samples x 16 inputs; else on w "
     "transposed (pack); bwd-w rows of w x out zmm"},
    {"avx2", CNN_DENSE_KERNELS(avx2),
     "R rows x V ymm, R*V <= 12 (4 x 3 for 32 samples); bwd-d: out >= 128 "
     "dots on w, 3 samples x 3 inputs ymm; out <= 12 on w, 3..8 samples x "
     "8 inputs (5 for out 10); else on w transposed (pack); bwd-w rows of w "
     "x out ymm"},
#endif
#ifdef CNN_LIST_ARM
    {"neon", CNN_DENSE_KERNELS(neon),
     "R rows x V q, R*V <= 24 (8 x 3 for 32 samples); bwd-d on w "
     "transposed (pack), bwd-w rows of w x out q"},
#endif
    {"scalar", CNN_DENSE_KERNELS(scalar),
     "none (blocks of 64 outputs the compiler vectorises; bwd-d on w "
     "transposed)"},
    {"ref", CNN_DENSE_KERNELS(ref), "none (naive loops, the oracle)"},
    {0},
};
