/*
 * presets.c — the preset models: a name, its spec and, for the presets
 * designed with one, the recipe they are meant to be trained with (epochs,
 * batch, optimizer, schedule, augmentation, label smoothing), which
 * `cnn train --model NAME` applies unless an option says otherwise and
 * `cnn summary --model NAME` shows.
 */
#include <string.h>

#include "cnn.h"

typedef struct recipe {
    int epochs, batch;
    const char *optimizer;
    float lr, weight_decay;
    const char *schedule;
    const char *augment;
    float label_smoothing;
} recipe;

static const struct {
    const char *name, *spec;
    recipe r; /* epochs 0: none (the defaults of cnn_train_config) */
} presets[] = {
    /* The 2018 notebook's network and its two companions: Keras's
       defaults (Adam 1e-3, batch 32, 3 epochs). */
    {"seed", "conv3x3:32:same,relu,conv1x1:16,relu,conv3x3s2:64:same,relu,"
             "conv1x1:16,relu,conv3x3s2:32:same,relu,conv1x1:16,relu,"
             "flatten,dense:10,softmax", {0}},
    {"seed-dense", "conv3x3:32:same,relu,conv3x3s2:64:same,relu,"
                   "conv3x3s2:32:same,relu,flatten,dense:768,relu,"
                   "dense:10,softmax", {0}},
    {"logreg", "flatten,dense:10,softmax", {0}},
    /* MNIST at 99.5% within a minute of training on 2 cores: a 5x5 and a
       3x3 convolution, each with ReLU, max pooling and then batch norm
       (on a quarter of the pixels it would see before pooling), a small
       dense layer with batch norm and dropout; about 1.4 M multiply-adds
       an image. */
    {"bn", "conv5x5:16:same,relu,maxpool2,bn,conv3x3:32:same,relu,maxpool2,bn,"
           "flatten,dense:128,bn,relu,dropout:0.3,dense:10,softmax",
     {15, 64, "adam", 0.003f, 0, "onecycle", "shift=2,rotate=10,zoom=0.1", 0.1f}},
    /* Fashion-MNIST: twice the channels; images mirrored and moved by a
       pixel, not turned or zoomed. */
    {"bn-fashion", "conv3x3:32:same,bn,relu,maxpool2,conv3x3:64:same,bn,relu,maxpool2,"
                   "flatten,dense:128,bn,relu,dropout:0.3,dense:10,softmax",
     {20, 128, "adam", 0.003f, 0, "onecycle", "shift=1,flip=0.5", 0.1f}},
    /* 32x32x3 input (CIFAR-10); untested on real CIFAR-10 here */
    {"cifar", "conv3x3:16:same,relu,conv3x3s2:32:same,relu,conv3x3:32:same,relu,"
              "conv3x3s2:64:same,relu,conv1x1:16,relu,flatten,dense:10,softmax", {0}},
};

enum { PRESETS = sizeof presets / sizeof *presets };

static int find(const char *name)
{
    for (int i = 0; name && i < PRESETS; i++)
        if (strcmp(name, presets[i].name) == 0)
            return i;
    return -1;
}

const char *cnn_model_preset(const char *name_or_spec)
{
    int i = find(name_or_spec);
    return i < 0 ? name_or_spec : presets[i].spec;
}

const char *cnn_model_preset_name(int i)
{
    return i >= 0 && i < PRESETS ? presets[i].name : NULL;
}

int cnn_preset_recipe(const char *name, cnn_train_config *cfg)
{
    int i = find(name);
    if (i < 0 || presets[i].r.epochs == 0)
        return 0;
    const recipe *r = &presets[i].r;
    cfg->epochs = r->epochs;
    cfg->batch = r->batch;
    cfg->optimizer = r->optimizer;
    cfg->lr = r->lr;
    cfg->weight_decay = r->weight_decay;
    cfg->schedule = r->schedule;
    cfg->warmup_steps = 0, cfg->warmup_epochs = 0;
    cfg->momentum = 0, cfg->nesterov = 0;
    cfg->augment = r->augment;
    cfg->label_smoothing = r->label_smoothing;
    return 1;
}
