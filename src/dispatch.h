/*
 * dispatch.h — choosing a kernel table: by name (--isa, CNN_ISA) or the best
 * one this CPU supports.
 */
#ifndef CNN_DISPATCH_H
#define CNN_DISPATCH_H

#include "kernels.h"

/* The table used when none is asked for: $CNN_ISA if set and valid, else
   the best the CPU supports. */
const cnn_kernel_table *cnn_kernels_default(void);

/* The table for an ISA name ("ref", "scalar"); NULL, with the message set,
   when the name is unknown or the CPU lacks it. */
const cnn_kernel_table *cnn_kernels_by_name(const char *isa);

#endif /* CNN_DISPATCH_H */
