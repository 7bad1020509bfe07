/*
 * augment.h — data augmentation of one training image: a random
 * translation, rotation and zoom about the image's centre, sampled
 * bilinearly with zero fill, on float NHWC pixels (h x w x c).
 *
 * Settings, as the text "shift=2,rotate=10,zoom=0.1" gives them (any
 * subset, any order, each at most once; "none" or "" for none):
 *   shift=P   the content moves by dx and dy pixels, each drawn uniformly
 *             in [-P, P] (continuous, not whole pixels); 0 to half the
 *             image's smaller side (cnn_augment_fits), at most 2048;
 *   rotate=D  it turns by an angle drawn uniformly in [-D, D] degrees
 *             (positive: counter-clockwise as displayed); 0 to 180;
 *   zoom=Z    the sampling scale s is drawn uniformly in [1-Z, 1+Z]; as in
 *             Keras's ImageDataGenerator, s > 1 zooms out (the content
 *             shrinks by 1/s) and one s serves both axes (Keras draws one
 *             per axis); 0 to 0.5;
 *   flip=P    the image is mirrored left to right with probability P (0 to
 *             1), as Keras's horizontal_flip does with P = 0.5; for images
 *             whose classes keep their meaning mirrored (clothes, not
 *             digits).
 * Keras's rotation_range and zoom_range mean the same; its shift ranges
 * are fractions of the image (or whole pixels), here pixels.  Pixels
 * mapped from outside the image are 0 (Keras's fill_mode "constant").
 *
 * Output pixel (x, y) (x the column, y the row, the centre at
 * ((w-1)/2, (h-1)/2)) reads the input at
 *   p = centre + s * R(-angle) * ((x, y) - centre - (dx, dy)),
 * bilinearly from its 4 neighbours, a neighbour outside the image
 * counting 0.  A multiple of 90 degrees has exact sine and cosine, so a
 * whole-pixel shift and a quarter turn move pixels exactly.
 *
 * The draw of an image comes from (seed, epoch, sample), sample being its
 * index in the data set: PCG32 stream 4 (CNN_RNG_STREAM_AUGMENT), keyed as
 * cnn_rng_sample keys stream 3; five uniform draws in the order dx, dy,
 * angle, scale, flip, all five whatever the settings.  So an image's augmented
 * pixels depend on nothing else: not on the thread, the batch or the
 * position in it.
 */
#ifndef CNN_AUGMENT_H
#define CNN_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct cnn_augment {
    float shift;   /* pixels, >= 0 */
    float rotate;  /* degrees, 0..180 */
    float zoom;    /* fraction, 0..0.5 */
    float flip;    /* probability of a left-right mirror, 0..1 */
} cnn_augment;

/* The longest canonical text, with its NUL. */
#define CNN_AUGMENT_TEXT 128

/* One image's drawn transform. */
typedef struct cnn_augment_xf {
    float dx, dy;  /* pixels: right, down */
    float angle;   /* degrees, counter-clockwise as displayed */
    float scale;   /* the sampling scale: > 1 zooms out */
    int flip;      /* mirrored left to right (after the rest) */
} cnn_augment_xf;

/* Parse text (NULL, "" or "none": all zero) into *out.  0 when fine; else
   -1 with *why the reason, one line naming the setting (thread-local
   storage, valid until the next call on the thread), *out unchanged. */
int cnn_augment_parse(const char *text, cnn_augment *out, const char **why);

/* The canonical text of a: "none", or the non-zero settings in the order
   shift, rotate, zoom, flip, each with the fewest digits that read back as the
   same float ("shift=2,rotate=10,zoom=0.1"), cut to size (at least 1;
   CNN_AUGMENT_TEXT holds any).  It parses back to a. */
void cnn_augment_format(const cnn_augment *a, char *buf, size_t size);

/* 1 when a changes images (a setting is not zero). */
int cnn_augment_on(const cnn_augment *a);

/* NULL when a's shift is at most half the smaller side of an h x w
   image, else the reason (thread-local storage, as for parse). */
const char *cnn_augment_fits(const cnn_augment *a, int h, int w);

/* The transform of image `sample` in `epoch` under seed. */
void cnn_augment_draw(const cnn_augment *a, uint64_t seed, long epoch, long sample,
                      cnn_augment_xf *xf);

/* dst = src under xf (dst != src; both h*w*c floats); no allocation.  The
   identity (no shift, angle 0, scale 1) copies src. */
void cnn_augment_apply(const cnn_augment_xf *xf, int h, int w, int c, const float *src,
                       float *dst);

/* One output row of a one-channel image: pixel x reads the input at
   (rx + fa x, ry + fb x).  The SIMD rows give the scalar rows' bits. */
typedef void cnn_augment_row1_fn(const float *src, int h, int w, float rx, float ry,
                                 float fa, float fb, float *out);

#if defined(__x86_64__) && defined(__GNUC__)
cnn_augment_row1_fn cnn_augment_row1_avx512; /* augment_avx512.c */
cnn_augment_row1_fn cnn_augment_row1_avx2;   /* augment_avx2.c */
#endif

/* The SIMD rows this CPU runs, widest first, into out (at most max);
   returns how many (cnn_augment_apply takes the first). */
int cnn_augment_row1_sets(cnn_augment_row1_fn **out, int max);

/* cnn_augment_apply with the given one-channel rows (NULL: scalar). */
void cnn_augment_apply_with(const cnn_augment_xf *xf, int h, int w, int c, const float *src,
                            float *dst, cnn_augment_row1_fn *row1);

/* Draw and apply: image `sample` of the data set in `epoch` (0-based)
   under seed.  Settings all zero copy src bitwise. */
void cnn_augment_image(const cnn_augment *a, uint64_t seed, long epoch, long sample, int h,
                       int w, int c, const float *src, float *dst);

#endif /* CNN_AUGMENT_H */
