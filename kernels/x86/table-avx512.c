/*
 * table-avx512.c — the AVX-512 kernel table (isa "avx512"): which kernels
 * of this set run a geometry.
 *
 *   3x3, one input channel, <= 32 outputs   first-layer kernels (forward,
 *                                           backward-weights), generic 3x3
 *                                           backward-data
 *   3x3, any stride / padding / channels    direct 3x3 kernels
 *   1x1, stride 1, no padding               1x1 GEMM kernels
 *   anything else                           the portable kernels
 */
#include "avx512.h"
#include "kernels.h"
#include "portable/portable.h"

static cnn_conv_kernels select_conv(const cnn_conv_geom *g)
{
    cnn_conv_kernels k;
    if (g->k == 3) {
        k.forward = cnn_conv3x3_forward_avx512;
        k.backward_data = cnn_conv3x3_backward_data_avx512;
        k.backward_weights = cnn_conv3x3_backward_weights_avx512;
        k.pack_backward_data = cnn_conv3x3_pack_backward_data_avx512;
        if (cnn_conv3x3c1_fits_avx512(g)) {
            k.forward = cnn_conv3x3c1_forward_avx512;
            k.backward_weights = cnn_conv3x3c1_backward_weights_avx512;
        }
        return k;
    }
    if (g->k == 1 && g->stride == 1 && g->pad_top == 0 && g->pad_left == 0 &&
        g->out_h == g->in_h && g->out_w == g->in_w) {
        k.forward = cnn_conv1x1_forward_avx512;
        k.backward_data = cnn_conv1x1_backward_data_avx512;
        k.backward_weights = cnn_conv1x1_backward_weights_avx512;
        k.pack_backward_data = cnn_conv1x1_pack_backward_data_avx512;
        return k;
    }
    k.forward = cnn_conv_forward_scalar;
    k.backward_data = cnn_conv_backward_data_scalar;
    k.backward_weights = cnn_conv_backward_weights_scalar;
    k.pack_backward_data = NULL;
    return k;
}

const cnn_kernel_table cnn_kernels_avx512 = {
    .isa = "avx512",
    .select_conv = select_conv,
    .dense = {
        .forward = cnn_dense_forward_avx512,
        .backward_data = cnn_dense_backward_data_avx512,
        .backward_weights = cnn_dense_backward_weights_avx512,
    },
};
