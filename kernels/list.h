/*
 * list.h — the kernel lists: one list per kernel family (kernels/list.c),
 * as XNNPACK keeps them, each entry one (op, shape class, ISA, functions,
 * tile).  They feed the kernel tables (kernels/select.c), the kernel tests
 * (tests/test_kernels.c) and the kernel benchmark (bench/kernels.c).
 *
 * How a kernel set chooses the conv kernels of a geometry: it walks the
 * entries of its own ISA, then those of the ISA it falls back to (every
 * SIMD set falls back to "scalar"), the families in the order of
 * cnn_conv_families and, inside a family, the entries in list order.  Each
 * pass (forward, backward data, backward weights) is taken from the first
 * entry whose shape class fits the geometry and that has that pass: an
 * entry may leave a pass NULL to let a later entry provide it (the
 * first-layer family has no backward data, so a 3x3 geometry of one input
 * channel gets its backward data from the conv3x3 entry).  Backward data
 * comes with the pack hook of the same entry (NULL: it reads w as is).
 * The last family, conv, fits every geometry, so every pass is found.
 */
#ifndef CNN_KERNELS_LIST_H
#define CNN_KERNELS_LIST_H

#include "families.h"

/* A shape class: whether a kernel family handles a geometry. */
typedef int (*cnn_conv_shape_fn)(const cnn_conv_geom *g);

/* Shape classes (kernels/list.c). */
int cnn_shape_any(const cnn_conv_geom *g);
/* k == 3 or 5 (the KxK families: conv3x3 and conv3x3c1 take both). */
int cnn_shape_kxk(const cnn_conv_geom *g);
/* k == 3 or 5, stride 1 or 2. */
int cnn_shape_kxk_s12(const cnn_conv_geom *g);
/* k == 3 or 5, one input channel. */
int cnn_shape_kxk_c1(const cnn_conv_geom *g);
/* k == 3 or 5, stride 1 or 2, one input channel. */
int cnn_shape_kxk_s12_c1(const cnn_conv_geom *g);
/* k == 1, stride 1, no padding, output the size of the input. */
int cnn_shape_1x1_s1_nopad(const cnn_conv_geom *g);
/* k == 3 or 5, one input channel, 1..32 outputs, and the zero-padded
   image ((out_h-1)*stride + k by (out_w-1)*stride + k floats) within
   CNN_CONV3X3C1_AVX512_PAD_CAP: the AVX-512 first-layer kernels copy it
   into a stack buffer of that size. */
int cnn_conv3x3c1_fits_avx512(const cnn_conv_geom *g);
#define CNN_CONV3X3C1_AVX512_PAD_CAP 8192

/* One kernel of a conv family. */
typedef struct cnn_conv_entry {
    const char *family; /* the family (its list), e.g. "conv3x3c1" */
    const char *isa;    /* the set it belongs to; NULL ends a list */
    const char *shape;  /* the shape class in words */
    cnn_conv_shape_fn fits;
    cnn_conv_kernels k; /* a NULL pass: a later entry's (see above) */
    const char *tile;   /* the register tile, in words (docs, bench) */
} cnn_conv_entry;

/* One kernel of the dense family (every shape). */
typedef struct cnn_dense_entry {
    const char *isa; /* NULL ends the list */
    cnn_dense_kernels k;
    const char *tile;
} cnn_dense_entry;

/* The conv family lists, in the order the tables try them; NULL ends. */
extern const cnn_conv_entry *const cnn_conv_families[];
/* The dense family's list. */
extern const cnn_dense_entry cnn_dense_list[];

/* The passes a conv entry can provide, as indices. */
enum { CNN_PASS_FORWARD, CNN_PASS_BACKWARD_DATA, CNN_PASS_BACKWARD_WEIGHTS,
       CNN_NPASSES };

/* A set's choice for one geometry: the kernels and the entry each pass
   came from. */
typedef struct cnn_conv_choice {
    cnn_conv_kernels k;
    const cnn_conv_entry *from[CNN_NPASSES];
} cnn_conv_choice;

/* The choice of the set named isa ("ref", "scalar", "avx2", "avx512",
   "neon") for g, as its table's select_conv makes it.  Only walks the
   lists: callable for any set this binary holds, whatever the CPU. */
cnn_conv_choice cnn_conv_choose(const char *isa, const cnn_conv_geom *g);

/* The set the SIMD set isa falls back to ("scalar"), or NULL. */
const char *cnn_kernels_fallback(const char *isa);

/* The dense entry of the set named isa, or NULL when the list has none. */
const cnn_dense_entry *cnn_dense_entry_of(const char *isa);

/* Whether entry e has pass p (CNN_PASS_*). */
int cnn_conv_entry_has(const cnn_conv_entry *e, int p);

#endif /* CNN_KERNELS_LIST_H */
