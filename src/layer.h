/*
 * layer.h — the layer-kind interface: what one entry of the layer list
 * (src/layers/list.c) provides, and the per-layer record the model keeps.
 *
 * Each kind lives in one file under src/layers/ and is one cnn_layer_op:
 * how its spec item is parsed and written back, where it may stand (image
 * or flat input), its output shape, its tensors (name suffix, shape,
 * initialiser, role), its forward and backward passes, its kernels and how
 * the summary and the DOT graph describe it.  The spec parser, the model
 * builder, the passes, the summary and the weights naming iterate
 * cnn_layer_ops[]; nothing else names a kind.
 *
 * Adding a kind: write src/layers/KIND.c defining `const cnn_layer_op
 * cnn_layer_KIND`, add one line to list.c.  The guard tests (test_model,
 * test_gradient) pick it up through its example fragment.
 */
#ifndef CNN_LAYER_H
#define CNN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"
#include "bn.h"
#include "kernels.h"
#include "rng.h"

/* Most tensors one layer holds. */
#define CNN_TENSORS_MAX 4

typedef struct cnn_layer_op cnn_layer_op;

/* Where a kind may stand, and what it gives the next layer. */
typedef enum cnn_layer_shape_rule {
    CNN_SHAPE_ANY,   /* input: image or vector; output: as the input */
    CNN_SHAPE_IMAGE, /* an image (h x w x c) */
    CNN_SHAPE_FLAT   /* a vector (1 x 1 x n) */
} cnn_layer_shape_rule;

/* A tensor's role: a trainable parameter gets gradients and the optimizer;
   a buffer (e.g. batch norm's moving mean) is saved and loaded only. */
typedef enum cnn_tensor_role { CNN_TENSOR_PARAM, CNN_TENSOR_BUFFER } cnn_tensor_role;

/* A tensor's initial values. */
typedef enum cnn_tensor_init {
    CNN_INIT_ZEROS,
    CNN_INIT_ONES,
    CNN_INIT_GLOROT /* U(-l, l), l = sqrt(6 / (fan_in + fan_out)), drawn in
                       order from the init stream */
} cnn_tensor_init;

/* One tensor a layer declares. */
typedef struct cnn_tensor_decl {
    const char *suffix;  /* "weight", "bias": the file name is layer.suffix */
    int ndim;
    int shape[4];
    size_t count;        /* product of shape */
    cnn_tensor_role role;
    cnn_tensor_init init;
    double fan_in, fan_out; /* Glorot only */
} cnn_tensor_decl;

/* Bound kernels: a kind uses one family of the kernel table. */
typedef union cnn_layer_kernels {
    cnn_conv_kernels conv;
    cnn_dense_kernels dense;
    cnn_bn_kernels bn;
} cnn_layer_kernels;

/* One layer of a model.  The parser sets op and the kind's settings (parse
   fills g.out_c, g.k, g.stride, arg, farg as the kind needs); the builder
   fills in the rest. */
typedef struct cnn_layer {
    const cnn_layer_op *op;
    cnn_conv_geom g;        /* input and output shapes (vectors: 1 x 1 x n);
                               k, stride, pads where the kind has them; parse
                               sets out_c (and k, stride) */
    int arg[4];             /* the kind's own integer settings */
    float farg[2];          /* ... and real ones */
    int relu;               /* a ReLU is fused into this layer's output */
    int flat_in, flat_out;  /* input / output is a vector */
    int ntensors;
    size_t t_off[CNN_TENSORS_MAX];   /* offsets into the parameter block */
    size_t t_count[CNN_TENSORS_MAX];
    cnn_tensor_role t_role[CNN_TENSORS_MAX];
    size_t act_off;         /* offset of this layer's output in a sample's
                               activation block (an alias layer: its
                               producer's; 0 when that is the input) */
    char name[24];          /* "conv1", "dense1", "flatten1" */
    cnn_layer_kernels k;    /* bound kernels */
} cnn_layer;

/*
 * What a pass knows besides its data.  Inference: training = 0, the rest 0.
 * A kind that draws random numbers (dropout, augmentation) makes each
 * sample's stream with cnn_pass_sample_rng, so that the result depends on
 * (seed, step, sample) only, never on the thread or the group split.
 */
typedef struct cnn_pass_ctx {
    int training;          /* 1 in a training step, 0 for inference */
    long step;             /* global step (0-based) */
    uint64_t seed;         /* the run's seed */
    long first;            /* index within the batch of the call's first sample */
    float *scratch;        /* the thread's scratch (may be NULL; no kind
                              uses it yet) */
    size_t scratch_floats;
    /* A kind with batch sums (layer.h: sums), in training: the totals over
       the whole batch of `batch` samples, of its input (forward) and of its
       output gradient (backward); NULL: the call holds the whole batch and
       its kind sums its samples itself, the same way.  Set by the trainer
       for that layer's calls only. */
    const double *batch_sums, *grad_sums;
    long batch;
} cnn_pass_ctx;

/* The random stream of the call's sample i (0-based within the call). */
static inline void cnn_pass_sample_rng(const cnn_pass_ctx *ctx, int i, cnn_rng *r)
{
    cnn_rng_sample(r, ctx->seed, (uint64_t)ctx->step, (uint64_t)(ctx->first + i));
}

/* What the summary and the DOT graph say of a layer. */
typedef struct cnn_layer_text {
    char row[48];       /* summary type: "Conv2D 3x3/1", "Dense" */
    char keras[24];     /* Keras class: "Conv2D" */
    char settings[64];  /* DOT settings line: "3x3 kernel, stride 1, same
                           padding"; "" when none */
} cnn_layer_text;

struct cnn_layer_op {
    const char *name;     /* spec keyword and base of layer names: "conv" */
    const char *example;  /* a spec fragment the guard tests build */
    cnn_layer_shape_rule input, output;
    const char *input_msg; /* why the input is refused: "dense needs a
                              flatten before it" */
    int alias;            /* output is the input, reshaped: no storage, no
                             passes (flatten) */
    int fuses_relu;       /* a following relu is fused into its kernels */
    int is_relu;          /* a ReLU: the builder fuses it into a preceding
                             layer that fuses_relu */
    int logits;           /* may produce the logits (the softmax follows) */
    int streams_weights;  /* its kernels read the first tensor once per call:
                             a large one makes the whole share one group */

    /* Parse item [s, e) into L (L->op already this kind, the rest zero):
       1 when it is this kind (its settings filled in), 0 when it is not,
       -1 when it is but malformed (*why says how). */
    int (*parse)(const char *s, const char *e, cnn_layer *L, const char **why);
    /* The canonical item into buf (snprintf-style). */
    void (*format)(const cnn_layer *L, char *buf, size_t size);
    /* Output shape into L->g from its input shape (set by the caller);
       CNN_OK, or CNN_ERR_SPEC with the message set (layer is 1-based). */
    int (*shape)(cnn_layer *L, int layer);
    /* Its tensors, in file order; returns how many (NULL: none). */
    int (*tensors)(const cnn_layer *L, cnn_tensor_decl *out);
    /* Bind kernels from a table (NULL: none). */
    void (*bind)(cnn_layer *L, const cnn_kernel_table *kt);
    /* y = layer(x) for n samples; params is the whole block. */
    void (*forward)(const cnn_layer *L, const cnn_pass_ctx *ctx, int n,
                    const float *x, const float *params, float *y);
    /* dx from dy (overwritten).  y is the layer's output; w the block (or
       the packed one where pack is set); mask, when not NULL, is the input
       of a fused ReLU: dx[i] = 0 where mask[i] <= 0. */
    void (*backward_data)(const cnn_layer *L, const cnn_pass_ctx *ctx, int n,
                          const float *x, const float *y, const float *dy,
                          const float *w, const float *mask, float *dx);
    /* grads += the gradient of the layer's parameters over the n samples
       (NULL: none).  grads is the gradient of the layer's first tensor;
       tensor i's follows at t_off[i] - t_off[0]. */
    void (*backward_weights)(const cnn_layer *L, const cnn_pass_ctx *ctx, int n,
                             const float *x, const float *dy, float *grads);
    /* A kind whose gradient is large next to its compute (dense) has it
       computed over the whole batch by the owners of its first tensor's
       rows, not summed from per-chunk copies.  batch_rows: that tensor's
       rows (NULL: the kind's gradient is summed per chunk).  batch_weights:
       writes (overwrites, without reading them first) the gradient of rows
       [i0, i1) of the first tensor and, when rest, of the other tensors,
       over the batch's n samples (x, dy as in
       backward_weights, the whole batch in order); grads as there.  Each
       element's bits depend only on the batch, never on [i0, i1). */
    int (*batch_rows)(const cnn_layer *L);
    void (*batch_weights)(const cnn_layer *L, int n, const float *x, const float *dy,
                          int i0, int i1, int rest, float *grads);
    /* Part `part` of `parts` of repacking the weights for backward_data
       into packed, at the same offsets (parts on different threads write
       disjoint floats, and together the whole copy); returns 1, or 0 when
       the bound kernels read the weights as they are (and do nothing).
       params NULL: only says which.  NULL: the kind never repacks. */
    int (*pack)(const cnn_layer *L, const float *params, float *packed, int part, int parts);
    /* Batch statistics (batch norm): a kind whose training passes need sums
       over the whole batch, which the trainer makes across its threads.
       sums: doubles of one sample's partial sums (NULL: the kind has none).
       forward_sums: the partials of each of n samples' inputs, sample s's
       at sums + s * count; backward_sums: of the output gradients (ctx has
       batch_sums).  The trainer adds the batch's partials in sample order,
       from 0, and passes the totals in the context (cnn_pass_ctx); its
       gradient then is sums_grads (written over grads, which is as in
       backward_weights) from the backward totals, and after a finite step
       update_buffers moves its buffers (moving statistics) with the
       forward totals of `batch` samples. */
    int (*sums)(const cnn_layer *L);
    void (*forward_sums)(const cnn_layer *L, int n, const float *x, double *sums);
    void (*backward_sums)(const cnn_layer *L, const cnn_pass_ctx *ctx, int n, const float *x,
                          const float *dy, const float *params, double *sums);
    void (*sums_grads)(const cnn_layer *L, const double *grad_sums, float *grads);
    void (*update_buffers)(const cnn_layer *L, const double *batch_sums, long batch,
                           float *params);
    /* Summary row and DOT node texts. */
    void (*describe)(const cnn_layer *L, cnn_layer_text *t, cnn_layer_info *info);
};

/* The list of kinds, NULL-terminated (src/layers/list.c). */
extern const cnn_layer_op *const cnn_layer_ops[];

/* Floats of one sample's output stored at act_off (0 for an alias layer,
   whose output is its input). */
size_t cnn_layer_out_size(const cnn_layer *L);

/* Shared by the kinds (src/layers/common.c). */

/* Parse a decimal integer 1..max at *p; advances *p.  Returns 1 or 0. */
int cnn_layer_parse_int(const char **p, int max, int *out);
/* v in the fewest significant digits that read back as the same float
   ("0.5", not "0.500000"), after prefix. */
void cnn_layer_format_real(char *buf, size_t size, const char *prefix, float v);
/* Parse a decimal real at *p (finite, lo <= v <= hi); advances *p. */
int cnn_layer_parse_real(const char **p, double lo, double hi, float *out);
/* Whether [s, e) starts with word; *rest receives what follows it. */
int cnn_layer_keyword(const char *s, const char *e, const char *word, const char **rest);
/* parse and format for a kind whose item is its bare name ("flatten"). */
int cnn_layer_parse_name(const char *s, const char *e, cnn_layer *L, const char **why);
void cnn_layer_format_name(const cnn_layer *L, char *buf, size_t size);
/* Output = input shape (for element-wise kinds). */
int cnn_layer_shape_same(cnn_layer *L, int layer);
/* Summary row and Keras class both keras (a kind without settings). */
void cnn_layer_name_text(cnn_layer_text *t, const char *keras);
/* Floats in a layer's input of one sample. */
static inline int cnn_layer_in_size(const cnn_layer *L)
{
    return L->g.in_h * L->g.in_w * L->g.in_c;
}

#endif /* CNN_LAYER_H */
