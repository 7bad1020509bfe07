/*
 * table-ref.c — the reference kernel table (isa "ref"): every geometry gets
 * the naive kernels of conv-ref.c, dense layers those of dense-ref.c.
 */
#include "kernels.h"

static cnn_conv_kernels select_conv_ref(const cnn_conv_geom *g)
{
    (void)g;
    cnn_conv_kernels k = {
        .forward = cnn_conv_forward_ref,
        .backward_data = cnn_conv_backward_data_ref,
        .backward_weights = cnn_conv_backward_weights_ref,
    };
    return k;
}

const cnn_kernel_table cnn_kernels_ref = {
    .isa = "ref",
    .select_conv = select_conv_ref,
    .dense = {
        .forward = cnn_dense_forward_ref,
        .backward_data = cnn_dense_backward_data_ref,
        .backward_weights = cnn_dense_backward_weights_ref,
    },
};
