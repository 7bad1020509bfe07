/*
 * confusion.h — the confusion-matrix heatmap of the cnn command (`cnn eval
 * --confusion`, `cnn train --confusion`), drawn like seaborn's heatmap:
 * cells annotated with their counts, the diagonal in blues by its share of
 * the true label, the errors in reds by count (darkest: the largest error
 * count), true label down the side, predicted label along the bottom, a
 * colour bar per scale and a title.
 */
#ifndef CNN_CLI_CONFUSION_H
#define CNN_CLI_CONFUSION_H

#include "cnn.h"

/* Write r's confusion matrix to path: SVG for .svg, PNG (through
   rsvg-convert) for .png, all or nothing.  title is drawn on top (any
   text; it is escaped).  Returns 0, or -1 after printing a one-line error
   naming path. */
int confusion_write(const char *path, const cnn_eval_result *r, const char *title);

#endif /* CNN_CLI_CONFUSION_H */
