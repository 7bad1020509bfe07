/*
 * table-avx2.c — the AVX2+FMA kernel table (isa "avx2") and its conv
 * selection:
 *   k == 3, in_c == 1          the first-layer kernels (conv3x3c1-avx2.c),
 *                              backward data by the direct 3x3 kernel
 *   k == 3                     the direct 3x3 kernels (conv3x3-avx2.c)
 *   k == 1, stride 1, no pad   the 1x1 GEMM kernels (conv1x1-avx2.c)
 *   anything else              the portable kernels (kernels/portable)
 * The 3x3 and 1x1 backward-data kernels read weights transposed by
 * cnn_conv_pack_backward_data_avx2.
 */
#include "avx2.h"
#include "portable/portable.h"

static cnn_conv_kernels select_conv(const cnn_conv_geom *g)
{
    cnn_conv_kernels k = {
        .forward = cnn_conv_forward_scalar,
        .backward_data = cnn_conv_backward_data_scalar,
        .backward_weights = cnn_conv_backward_weights_scalar,
    };
    if (g->k == 3) {
        k.forward = g->in_c == 1 ? cnn_conv3x3c1_forward_avx2
                                 : cnn_conv3x3_forward_avx2;
        k.backward_data = cnn_conv3x3_backward_data_avx2;
        k.backward_weights = g->in_c == 1
                                 ? cnn_conv3x3c1_backward_weights_avx2
                                 : cnn_conv3x3_backward_weights_avx2;
        k.pack_backward_data = cnn_conv_pack_backward_data_avx2;
    } else if (g->k == 1 && g->stride == 1 && g->pad_top == 0 &&
               g->pad_left == 0 && g->out_h == g->in_h &&
               g->out_w == g->in_w) {
        k.forward = cnn_conv1x1_forward_avx2;
        k.backward_data = cnn_conv1x1_backward_data_avx2;
        k.backward_weights = cnn_conv1x1_backward_weights_avx2;
        k.pack_backward_data = cnn_conv_pack_backward_data_avx2;
    }
    return k;
}

const cnn_kernel_table cnn_kernels_avx2 = {
    .isa = "avx2",
    .select_conv = select_conv,
    .dense = {
        .forward = cnn_dense_forward_avx2,
        .backward_data = cnn_dense_backward_data_avx2,
        .backward_weights = cnn_dense_backward_weights_avx2,
    },
};
