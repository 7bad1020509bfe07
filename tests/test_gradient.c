/*
 * test_gradient.c — finite-difference checks of the analytic gradients of
 * whole models (every layer kind: conv k 1 and 3, stride 1 and 2, same and
 * valid padding, odd sizes, dense, ReLU, softmax cross-entropy), through the
 * reference kernels and through every other kernel set the CPU supports, and
 * of the seed network with the best set; and the layer list's guard: every
 * listed kind, built from its example fragment into small models, has its
 * gradients checked, a summary row and a DOT node.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "dispatch.h"
#include "model.h"
#include "tests.h"

/* The passes run as in a training step, one fixed step, the n samples a
   whole batch: batch norm uses their statistics, and kinds that draw
   random numbers (dropout) draw the same ones in every pass, so the loss
   is a fixed function of the parameters. */
static const cnn_pass_ctx train_ctx = {.training = 1, .step = 3, .seed = 17};

/* Mean cross-entropy of n samples (double accumulation). */
static double loss_of(cnn_model *m, int n, const float *x, const int *labels, float *acts,
                      float *probs)
{
    const float *z = cnn_model_forward_ctx(m, &train_ctx, n, x, acts);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += cnn_softmax_xent(z + (size_t)i * m->classes, m->classes, labels[i], probs);
    return sum / n;
}

/* Analytic gradient of the mean loss into grads (block floats). */
static void analytic(cnn_model *m, int n, const float *x, const int *labels, float *acts,
                     float *scratch, float *dlogits, float *grads)
{
    memset(grads, 0, m->block * sizeof(float));
    float *packed = aligned_alloc(64, (m->block * sizeof(float) + 63) & ~(size_t)63);
    cnn_model_pack(m, packed);
    const float *z = cnn_model_forward_ctx(m, &train_ctx, n, x, acts);
    for (int i = 0; i < n; i++) {
        float *d = dlogits + (size_t)i * m->classes;
        cnn_softmax_xent(z + (size_t)i * m->classes, m->classes, labels[i], d);
        d[labels[i]] -= 1;
        for (int c = 0; c < m->classes; c++)
            d[c] /= (float)n;
    }
    cnn_model_backward_ctx(m, &train_ctx, n, x, acts, dlogits, grads, packed, scratch);
    free(packed);
}

/* One model under test: its inputs, labels and buffers. */
enum { N = 3 };
typedef struct probe {
    cnn_model *m;
    float *x, *acts, *probs;
    int labels[N];
} probe;

/* Whether the analytic derivative ana of the loss in *p matches a finite
   difference; the central estimate goes to *num.  The loss is piecewise
   smooth (ReLU): a central difference that straddles a kink is off, the
   one-sided difference on the kink-free side is then right, so any of the
   three matching (at step 1e-3 or 1e-4) passes. */
static int matches(probe *P, float *p, double ana, double *num)
{
    double base = loss_of(P->m, N, P->x, P->labels, P->acts, P->probs);
    int match = 0;
    for (float eps = 1e-3f; eps > 5e-5f && !match; eps *= 0.1f) {
        float keep = *p;
        *p = keep + eps;
        double up = loss_of(P->m, N, P->x, P->labels, P->acts, P->probs);
        *p = keep - eps;
        double down = loss_of(P->m, N, P->x, P->labels, P->acts, P->probs);
        *p = keep;
        double est[3] = {(up - down) / (2.0 * eps), (up - base) / eps, (base - down) / eps};
        *num = est[0];
        for (int e = 0; e < 3; e++)
            match |= fabs(est[e] - ana) <= 2e-3 + 2e-2 * fabs(est[e]);
    }
    return match;
}

/* Trainable tensors that start at zero (biases) get small random values, so
   that ReLUs are mixed. */
static void perturb_zero_tensors(cnn_model *m, const cnn_tensor_info *t, int nt, uint64_t *s)
{
    for (int k = 0; k < nt; k++) {
        size_t nz = 0;
        for (size_t i = 0; i < t[k].count; i++)
            nz += m->params[t[k].offset + i] != 0;
        if (t[k].role == CNN_TENSOR_PARAM && nz == 0)
            test_fill_uniform(m->params + t[k].offset, t[k].count, -0.1f, 0.1f, s);
    }
}

/*
 * Compare the analytic gradient with central differences for every
 * trainable parameter (or every stride-th).  Inputs are random in [0,1),
 * parameters Glorot plus small random biases so ReLUs are mixed.  Returns
 * the number of parameters checked (0 when the model cannot be built).
 */
static size_t check_model(const char *spec, int h, int w, int c, int classes,
                          const cnn_kernel_table *kt, size_t stride)
{
    probe P = {.labels = {0, 1 % classes, 2 % classes}};
    if (cnn_model_create(spec, h, w, c, classes, &P.m) != CNN_OK) {
        CHECK(0, "%s: %s", spec, cnn_last_error());
        return 0;
    }
    cnn_model *m = P.m;
    cnn_model_bind_kernels(m, kt);
    cnn_model_init(m, 3);
    uint64_t s = 99;
    cnn_tensor_info t[64];
    int nt = cnn_model_tensors(m, t, 64);
    nt = nt < 64 ? nt : 64;
    perturb_zero_tensors(m, t, nt, &s);
    size_t in = cnn_model_input_size(m);
    P.x = malloc(N * in * sizeof(float));
    P.acts = calloc(N * m->act_floats, sizeof(float));
    P.probs = calloc((size_t)m->classes, sizeof(float));
    float *scratch = calloc(2 * N * m->max_act, sizeof(float));
    float *dl = calloc((size_t)N * m->classes, sizeof(float));
    float *g = calloc(m->block, sizeof(float));
    test_fill_uniform(P.x, N * in, 0, 1, &s);
    analytic(m, N, P.x, P.labels, P.acts, scratch, dl, g);
    int bad = 0;
    size_t checked = 0;
    for (int k = 0; k < nt; k++)
        for (size_t i = 0; t[k].role == CNN_TENSOR_PARAM && i < t[k].count; i += stride) {
            double ana = g[t[k].offset + i], num = 0;
            checked++;
            if (!matches(&P, &m->params[t[k].offset + i], ana, &num) && bad++ < 5)
                CHECK(0, "%s [%s]: %s[%zu]: analytic %.6g, numeric %.6g", spec, kt->isa,
                      t[k].name, i, ana, num);
        }
    CHECK(bad == 0, "%s [%s]: %d of %zu gradients off", spec, kt->isa, bad, checked);
    CHECK(checked > 0, "%s: nothing checked", spec);
    free(P.x);
    free(P.acts);
    free(P.probs);
    free(scratch);
    free(dl);
    free(g);
    cnn_model_free(m);
    return checked;
}

static const struct {
    const char *spec;
    int h, w, c, classes;
} cases[] = {
    {"conv3x3:4:same,relu,flatten,dense:3,softmax", 5, 5, 1, 3},
    {"conv3x3:4:valid,relu,flatten,dense:3,softmax", 6, 5, 2, 3},
    {"conv3x3s2:5:same,relu,flatten,dense:3,softmax", 7, 7, 2, 3},
    {"conv3x3s2:5:same,relu,flatten,dense:3,softmax", 8, 6, 3, 3},
    {"conv3x3s2:4:valid,relu,flatten,dense:4,softmax", 9, 7, 2, 4},
    {"conv1x1:6,relu,conv1x1:3,flatten,dense:3,softmax", 3, 5, 4, 3},
    {"conv1x1s2:3,relu,flatten,dense:2,softmax", 5, 5, 3, 2},
    {"conv5x5:3:same,relu,conv3x3s2:4:same,relu,conv1x1:2,relu,flatten,dense:3,softmax",
     9, 9, 2, 3},
    /* 5x5 first layers (the KxK first-layer tiles: one vector of outputs,
       and 17 outputs, two) and 5x5 stride 2, same and valid */
    {"conv5x5:5:same,relu,conv5x5s2:4:same,relu,flatten,dense:3,softmax", 9, 9, 1, 3},
    {"conv5x5:17:valid,relu,conv5x5:3:same,relu,flatten,dense:3,softmax", 7, 8, 1, 3},
    {"conv5x5s2:6:valid,relu,flatten,dense:3,softmax", 10, 9, 1, 3},
    {"flatten,dense:6,relu,dense:4,relu,dense:3,softmax", 2, 3, 2, 3},
    /* relu as a layer of its own: after flatten, and first (after a fused
       relu and a flatten it would change nothing, and is refused) */
    {"conv1x1:3,flatten,relu,dense:3,softmax", 3, 3, 2, 3},
    {"conv3x3:3:same,flatten,relu,dense:4,relu,dense:3,softmax", 4, 4, 2, 3},
    {"relu,conv1x1:3,flatten,dense:3,softmax", 3, 3, 2, 3},
    /* pooling (overlapping windows, a ReLU mask before them, odd sizes),
       gap straight into dense, dropout (a fixed step: a fixed mask) */
    {"conv3x3:4:same,relu,maxpool2,flatten,dense:3,softmax", 6, 5, 2, 3},
    {"conv3x3:4:same,relu,maxpool3s2,flatten,dense:3,softmax", 7, 7, 2, 3},
    {"conv1x1:3,relu,avgpool3s2,conv1x1:2,flatten,dense:3,softmax", 7, 6, 2, 3},
    {"conv1x1:3,maxpool2s1,relu,avgpool2,flatten,dense:3,softmax", 5, 5, 2, 3},
    {"conv3x3:4:same,relu,dropout:0.3,conv1x1:3,relu,gap,dense:3,softmax", 5, 5, 2, 3},
    {"flatten,dense:6,relu,dropout:0.5,dense:4,dropout:0.2,dense:3,softmax", 2, 3, 2, 3},
};

static void every_layer_kind_with_ref_kernels(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_model(cases[i].spec, cases[i].h, cases[i].w, cases[i].c, cases[i].classes,
                    &cnn_kernels_ref, 1);
}

static void every_layer_kind_with_every_kernel_set(void)
{
    const cnn_kernel_table *sets[8];
    int n = cnn_kernels_available(sets, 8);
    for (int t = 0; t < n && t < 8; t++)
        if (sets[t] != &cnn_kernels_ref)
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
                check_model(cases[i].spec, cases[i].h, cases[i].w, cases[i].c,
                            cases[i].classes, sets[t], 1);
}

static void seed_network(void)
{
    /* Every 37th parameter of the seed network, about 650 checks. */
    check_model("seed", 28, 28, 1, 10, cnn_kernels_best(), 37);
}

/* ----------------------------------------------- the layer list's guard */

/* Small models a kind's example fragment (%s) is tried in: after a conv (so
   its backward-data runs), after flatten, between dense layers, before a
   dense layer. */
static const char *const templates[] = {
    "conv1x1:3,%s,flatten,dense:3,softmax",
    "conv1x1:3,flatten,%s,dense:3,softmax",
    "flatten,dense:4,%s,dense:3,softmax",
    "conv1x1:3,%s,dense:3,softmax",
};
enum { GUARD_H = 5, GUARD_W = 5, GUARD_C = 2, GUARD_CLASSES = 3 };

/* The first layer of model m that is of kind op; -1 if none (a relu fused
   into the layer before it is none). */
static int layer_of(const cnn_model *m, const cnn_layer_op *op)
{
    for (int l = 0; l < m->nlayers; l++)
        if (m->layers[l].op == op)
            return l;
    return -1;
}

/* The summary table has layer l's row: "name (Row...". */
static void check_summary_row(const cnn_model *m, int l, const char *spec)
{
    const cnn_layer *L = &m->layers[l];
    cnn_layer_text t;
    cnn_layer_info info;
    memset(&t, 0, sizeof t);
    L->op->describe(L, &t, &info);
    char want[128], table[4096];
    snprintf(want, sizeof want, "\n%s (%s", L->name, t.row);
    cnn_model_summary(m, table, sizeof table);
    CHECK(t.row[0] && t.keras[0] && strstr(table, want), "%s: no row '%s' in\n%s", spec,
          want + 1, table);
}

/* `cnn summary --dot` has a node for layer l with its Keras type. */
static void check_dot_node(const cnn_model *m, int l, const char *spec)
{
    char args[512], want[128];
    snprintf(args, sizeof args, "summary --model %s --input %dx%dx%d --dot", spec, GUARD_H,
             GUARD_W, GUARD_C);
    cnn_layer_info info;
    cnn_model_layer(m, l, &info);
    snprintf(want, sizeof want, "\"%s\" [label=\"{%s: %s|", info.name, info.name, info.keras);
    int rc = test_cnn(args);
    if (rc == -1) {
        test_skip("./cnn not built: DOT nodes unchecked");
        return;
    }
    CHECK(rc == 0 && strstr(test_out, want), "%s: no node '%s' in\n%s%s", spec, want,
          test_out, test_err);
}

/* Kind op in every template that takes it: the model's canonical spec is
   the template's, and with the reference kernels and the best set the
   gradients match finite differences.  Returns in how many models the kind
   was a layer of its own, with its row and node checked. */
static int guard_kind(const cnn_layer_op *op)
{
    int own = 0;
    for (size_t i = 0; i < sizeof templates / sizeof *templates; i++) {
        char spec[256];
        snprintf(spec, sizeof spec, templates[i], op->example);
        cnn_model *m = NULL;
        if (cnn_model_describe(spec, GUARD_H, GUARD_W, GUARD_C, GUARD_CLASSES, &m) != CNN_OK)
            continue; /* the kind cannot stand there */
        CHECK(!strcmp(cnn_model_spec(m), spec), "%s: canonical '%s'", spec, cnn_model_spec(m));
        check_model(spec, GUARD_H, GUARD_W, GUARD_C, GUARD_CLASSES, &cnn_kernels_ref, 1);
        if (cnn_kernels_best() != &cnn_kernels_ref)
            check_model(spec, GUARD_H, GUARD_W, GUARD_C, GUARD_CLASSES, cnn_kernels_best(), 1);
        int l = layer_of(m, op);
        if (l >= 0) {
            own++;
            check_summary_row(m, l, spec);
            check_dot_node(m, l, spec);
        }
        cnn_model_free(m);
    }
    return own;
}

/* Every kind in the list has a gradient check, a summary row and a DOT
   node, from its example fragment (layer.h: how to add a kind). */
static void every_listed_kind_is_checked(void)
{
    int kinds = 0;
    for (int k = 0; cnn_layer_ops[k]; k++, kinds++) {
        const cnn_layer_op *op = cnn_layer_ops[k];
        CHECK(op->name && op->example && op->parse && op->format && op->shape && op->describe,
              "kind %d (%s) lacks a part", k, op->name ? op->name : "?");
        CHECK(op->alias || (op->forward && op->backward_data), "%s: no passes", op->name);
        CHECK(guard_kind(op) > 0, "%s: example '%s' fits none of the guard's models as a "
              "layer of its own", op->name, op->example);
    }
    CHECK(kinds >= 4, "%d kinds listed", kinds);
}

TEST_TABLE(gradient,
           {"every_layer_kind_with_ref_kernels", every_layer_kind_with_ref_kernels},
           {"every_layer_kind_with_every_kernel_set", every_layer_kind_with_every_kernel_set},
           {"seed_network", seed_network},
           {"every_listed_kind_is_checked", every_listed_kind_is_checked})
