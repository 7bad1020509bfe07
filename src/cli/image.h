/*
 * image.h — the image files `cnn predict` classifies: PGM (P2 ASCII and P5
 * binary, maxval 1..65535), PPM (P3, P6) and PNG (through libpng), decoded
 * from memory into 8-bit pixels, rows top to bottom, channels interleaved
 * (HWC).  Grey images have 1 channel, colour images 3; an alpha channel is
 * composited onto black (MNIST's background).
 *
 * Every size a file declares is checked against the bytes it holds and
 * against IMAGE_MAX_SIDE / IMAGE_MAX_PIXELS before anything is allocated,
 * so any byte string is safe to decode (the decoder is fuzzed:
 * tests/fuzz/fuzz_image.c).
 */
#ifndef CNN_CLI_IMAGE_H
#define CNN_CLI_IMAGE_H

#include <stddef.h>

#define IMAGE_MAX_SIDE 16384                /* pixels per row or column */
#define IMAGE_MAX_PIXELS (1L << 28)         /* width * height */

typedef struct image {
    int height, width, channels;
    unsigned char *pixels;                  /* height * width * channels bytes */
} image;

/* Decode a PGM, PPM or PNG file held in buf.  Returns 0 with *out filled
   (release it with image_free), or -1 with *out empty (nothing to free) and
   a one-line reason in err. */
int image_decode(const unsigned char *buf, size_t size, image *out, char *err,
                 size_t errsize);

/* Read and decode the file at path; as image_decode, the reason naming
   the file. */
int image_read(const char *path, image *out, char *err, size_t errsize);

/* Convert to 1 channel (grey: 0.299 R + 0.587 G + 0.114 B) or 3 (grey
   copied to R, G and B); no change when the image already has them.
   Returns 0, or -1 (out of memory, or a conversion other than between 1 and
   3 channels) with the image unchanged. */
int image_to_channels(image *img, int channels);

/* Release the pixels and empty the image (NULL is fine). */
void image_free(image *img);

#endif /* CNN_CLI_IMAGE_H */
