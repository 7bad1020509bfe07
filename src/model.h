/*
 * model.h — the model's internal layout: layers with their shapes, their
 * parameter offsets into one flat block, and the kernels bound to them.
 * Shared by model.c, the spec parser, the trainer, evaluation and weights I/O.
 */
#ifndef CNN_MODEL_H
#define CNN_MODEL_H

#include <stddef.h>

#include "cnn.h"
#include "kernels.h"
#include "layer.h"

/* The layers (layer.h): one per kind entry, ReLU fused into the conv or
   dense layer it follows where it can be; a softmax (with cross-entropy)
   ends every model and is not a layer here. */

struct cnn_model {
    char *spec;             /* canonical spec */
    int in_h, in_w, in_c;
    int classes;
    int nlayers;
    cnn_layer *layers;
    size_t nparams;         /* trainable parameters */
    size_t nbuffers;        /* non-trainable floats (buffer tensors) */
    size_t block;           /* floats in the parameter block: each tensor
                               starts on a 64-byte boundary */
    float *params;          /* 64-byte aligned, block floats; NULL until
                               cnn_model_alloc (cnn_model_describe) */
    size_t act_floats;      /* floats of all layer outputs for one sample */
    size_t max_act;         /* largest single activation (floats) */
    const cnn_kernel_table *kernels;
};

/* Lay out m's layers (set, relus fused) for its input shape: each layer's
   shapes, name, tensors in the block and output in the activations, and
   the model's counts.  CNN_OK, or CNN_ERR_SPEC / CNN_ERR_MISMATCH with the
   message set.  cnn_model_describe runs it; tests that change a layer's
   kind run it again. */
int cnn_model_layout(cnn_model *m);

/* One named tensor, for weights I/O. */
typedef struct cnn_tensor_info {
    char name[40];          /* "conv1.weight", "dense1.bias" */
    int ndim;
    int shape[4];
    size_t offset;          /* in floats, into the parameter block */
    size_t count;
    cnn_tensor_role role;   /* trainable parameter, or a buffer that is saved
                               and loaded but not optimized */
} cnn_tensor_info;

/* List the model's tensors in order (each layer's, as its kind declares
   them: weight then bias).  Returns how many there are; writes at most max
   entries. */
int cnn_model_tensors(const cnn_model *m, cnn_tensor_info *out, int max);

/* v with thousands separators ("24,186") into out (32 bytes). */
void cnn_with_commas(uint64_t v, char *out);

/* Elements of one sample's input. */
static inline size_t cnn_model_input_size(const cnn_model *m)
{
    return (size_t)m->in_h * m->in_w * m->in_c;
}

/* Bind every layer's kernels from a kernel table. */
void cnn_model_bind_kernels(cnn_model *m, const cnn_kernel_table *kt);

/*
 * Forward pass of n samples.  x is (n, input); acts holds the outputs of
 * every layer, layer l's at acts + n*layers[l].act_off.  Returns a pointer
 * to the logits (n, classes) inside acts.  cnn_model_forward is inference;
 * cnn_model_forward_ctx runs under a pass context (training or not, step,
 * seed, the first sample's index, scratch).
 */
const float *cnn_model_forward(const cnn_model *m, int n, const float *x,
                               float *acts);
const float *cnn_model_forward_ctx(const cnn_model *m, const cnn_pass_ctx *ctx, int n,
                                   const float *x, float *acts);

/* Whether any layer's kernels repack weights for backward-data, and
   whether layer L's do. */
int cnn_model_needs_pack(const cnn_model *m);
int cnn_layer_packs(const cnn_layer *L);

/* The layer that produced layer l's input, skipping aliases (flatten only
   reshapes NHWC memory); -1 when the input is the model's input. */
int cnn_model_producer(const cnn_model *m, int l);

/* Repack the weights of every layer whose kernels ask for it into packed
   (block floats, 64-byte aligned; a layer's packed weights sit at its
   w_off).  Run after every weight update, before cnn_model_backward. */
void cnn_model_pack(const cnn_model *m, float *packed);

/*
 * Backward pass of n samples after cnn_model_forward.  dlogits (n, classes)
 * is the gradient of the loss at the logits; grads (block floats) is
 * accumulated into.  packed holds cnn_model_pack's output (may be NULL when
 * no layer packs).  scratch holds 2*n*max_act floats.
 */
void cnn_model_backward(const cnn_model *m, int n, const float *x,
                        const float *acts, const float *dlogits, float *grads,
                        const float *packed, float *scratch);
/* The same under the context its forward pass ran with. */
void cnn_model_backward_ctx(const cnn_model *m, const cnn_pass_ctx *ctx, int n,
                            const float *x, const float *acts, const float *dlogits,
                            float *grads, const float *packed, float *scratch);

/*
 * Softmax cross-entropy of one sample's logits: returns the loss and writes
 * the softmax probabilities into probs (classes floats) unless it is NULL.
 */
double cnn_softmax_xent(const float *logits, int classes, int label,
                        float *probs);

/*
 * The same with label smoothing eps (0 <= eps < 1): the target is
 * (1-eps) onehot(label) + eps/classes.  Returns the loss, -sum_c t_c log
 * p_c, and writes d(loss)/dlogits = softmax - target into dlogits
 * (classes floats).  At eps = 0 the loss is cnn_softmax_xent's, bit for
 * bit, and dlogits its probabilities with 1 taken from the label's.
 */
double cnn_softmax_xent_smooth(const float *logits, int classes, int label, float eps,
                               float *dlogits);

/* The predicted class: the first index of the largest logit. */
int cnn_argmax(const float *z, int classes);

#endif /* CNN_MODEL_H */
