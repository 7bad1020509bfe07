/*
 * list.c — the layer kinds, one line each.  Everything that parses, builds,
 * runs, describes or names layers iterates cnn_layer_ops; a new kind is its
 * own file under src/layers/ (defining cnn_layer_KIND) plus one line here.
 * Order matters only for parsing: the first kind whose parse claims an item
 * takes it.
 */
#include "layer.h"

#define KINDS(X) \
    X(bn)        \
    X(conv)      \
    X(dense)     \
    X(flatten)   \
    X(relu)      \
    X(maxpool)   \
    X(avgpool)   \
    X(gap)       \
    X(dropout)   \
    /* end of the list */

#define DECLARE(kind) extern const cnn_layer_op cnn_layer_##kind;
#define ENTRY(kind) &cnn_layer_##kind,

KINDS(DECLARE)

const cnn_layer_op *const cnn_layer_ops[] = {KINDS(ENTRY) NULL};
