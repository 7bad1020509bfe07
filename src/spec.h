/*
 * spec.h — parsing of model spec strings into layer descriptions, and the
 * preset models of the seed notebook.
 */
#ifndef CNN_SPEC_H
#define CNN_SPEC_H

#include <stddef.h>

#include "model.h"

/* Most layers a spec may hold. */
#define CNN_MAX_LAYERS 64

/*
 * Parse a spec into layers, one per item (op and the kind's settings; a
 * relu is a layer of its own here, the model builder fuses it; shapes are
 * filled in later by the model).  Checks the grammar and the order rules
 * the kinds declare; returns the number of layers, or a negative status
 * with the message set.  The final softmax is checked and not returned.
 */
int cnn_spec_parse(const char *spec, cnn_layer *layers, int max);

/* Write the canonical spec of parsed layers into buf; returns the length. */
size_t cnn_spec_format(const cnn_layer *layers, int n, char *buf, size_t size);

#endif /* CNN_SPEC_H */
