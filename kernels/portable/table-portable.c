/*
 * table-portable.c — the portable kernel table (isa "scalar"): the 1x1 GEMM
 * kernels for 1x1 stride-1 unpadded convolutions, the generic kernels for
 * every other geometry, and the dense kernels.
 */
#include "kernels.h"
#include "portable.h"

static cnn_conv_kernels select_conv_portable(const cnn_conv_geom *g)
{
    if (g->k == 1 && g->stride == 1 && g->pad_top == 0 && g->pad_left == 0 &&
        g->out_h == g->in_h && g->out_w == g->in_w) {
        cnn_conv_kernels k = {
            .forward = cnn_conv1x1_forward_scalar,
            .backward_data = cnn_conv1x1_backward_data_scalar,
            .backward_weights = cnn_conv1x1_backward_weights_scalar,
        };
        return k;
    }
    cnn_conv_kernels k = {
        .forward = cnn_conv_forward_scalar,
        .backward_data = cnn_conv_backward_data_scalar,
        .backward_weights = cnn_conv_backward_weights_scalar,
    };
    return k;
}

const cnn_kernel_table cnn_kernels_portable = {
    .isa = "scalar",
    .select_conv = select_conv_portable,
    .dense = {
        .forward = cnn_dense_forward_scalar,
        .backward_data = cnn_dense_backward_data_scalar,
        .backward_weights = cnn_dense_backward_weights_scalar,
    },
};
