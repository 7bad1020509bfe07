/*
 * table-neon.c — the NEON kernel table (isa "neon", AArch64): select_conv
 * picks the first-layer kernels for 3x3 convolutions of one input channel,
 * the direct 3x3 kernels for other 3x3 stride-1/2 convolutions, the 1x1
 * GEMM kernels for 1x1 stride-1 unpadded ones, and the portable kernels
 * for everything else.
 */
#include "kernels.h"
#include "neon.h"
#include "portable/portable.h"

static cnn_conv_kernels select_conv(const cnn_conv_geom *g)
{
    const int k3 = g->k == 3 && (g->stride == 1 || g->stride == 2);
    if (k3 && g->in_c == 1) {
        cnn_conv_kernels k = {
            .forward = cnn_conv3x3c1_forward_neon,
            .backward_data = cnn_conv3x3_backward_data_neon,
            .backward_weights = cnn_conv3x3c1_backward_weights_neon,
            .pack_backward_data = cnn_conv_pack_transposed_neon,
        };
        return k;
    }
    if (k3) {
        cnn_conv_kernels k = {
            .forward = cnn_conv3x3_forward_neon,
            .backward_data = cnn_conv3x3_backward_data_neon,
            .backward_weights = cnn_conv3x3_backward_weights_neon,
            .pack_backward_data = cnn_conv_pack_transposed_neon,
        };
        return k;
    }
    if (g->k == 1 && g->stride == 1 && g->pad_top == 0 && g->pad_left == 0 &&
        g->out_h == g->in_h && g->out_w == g->in_w) {
        cnn_conv_kernels k = {
            .forward = cnn_conv1x1_forward_neon,
            .backward_data = cnn_conv1x1_backward_data_neon,
            .backward_weights = cnn_conv1x1_backward_weights_neon,
            .pack_backward_data = cnn_conv_pack_transposed_neon,
        };
        return k;
    }
    cnn_conv_kernels k = {
        .forward = cnn_conv_forward_scalar,
        .backward_data = cnn_conv_backward_data_scalar,
        .backward_weights = cnn_conv_backward_weights_scalar,
        .pack_backward_data = NULL,
    };
    return k;
}

const cnn_kernel_table cnn_kernels_neon = {
    .isa = "neon",
    .select_conv = select_conv,
    .dense = {
        .forward = cnn_dense_forward_neon,
        .backward_data = cnn_dense_backward_data_neon,
        .backward_weights = cnn_dense_backward_weights_neon,
    },
};
