/*
 * dispatch.h — choosing a kernel table: by ISA name (--isa, CNN_ISA) or the
 * best one this CPU supports, and listing the sets this build holds.
 */
#ifndef CNN_DISPATCH_H
#define CNN_DISPATCH_H

#include "kernels.h"

/* The table used when none is asked for: the best the CPU supports
   (avx512, avx2, neon, then scalar). */
const cnn_kernel_table *cnn_kernels_best(void);

/* The table for $CNN_ISA when it is set (NULL, with the message and
   *status set, when it names an unknown or unsupported set), else
   cnn_kernels_best().  status may be NULL. */
const cnn_kernel_table *cnn_kernels_default(int *status);

/* Make isa (a name cnn_isa_check accepted; NULL: none) the default of
   every model created from now on, in place of $CNN_ISA: the cnn
   command's --isa.  Not thread-safe: call before any model is made. */
void cnn_kernels_set_default(const char *isa);

/* The table for an ISA name ("avx512", "avx2", "neon", "scalar", "ref");
   NULL, with the message set and *status CNN_ERR_ARG when the name is
   unknown, CNN_ERR_UNSUPPORTED when the set is not built into this binary or
   not supported by the CPU.  status may be NULL. */
const cnn_kernel_table *cnn_kernels_by_name(const char *isa, int *status);

/* The sets built into this binary that the CPU supports, best first (ref
   last); returns how many, writing at most max. */
int cnn_kernels_available(const cnn_kernel_table **out, int max);

#endif /* CNN_DISPATCH_H */
