/*
 * image.c — decoding of the image files `cnn predict` classifies: PGM/PPM
 * (P2, P3 ASCII; P5, P6 binary; 16-bit big-endian samples when maxval >
 * 255; every maxval scaled to 0..255) parsed here, PNG through libpng's
 * simplified API reading from memory.  See image.h for the contract.
 */
#include "image.h"

#include <errno.h>
#include <png.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnn.h"
#include "files.h"

/* Largest file image_read takes in. */
#define IMAGE_MAX_FILE ((size_t)1 << 30)

/* Write a one-line message into err: control characters (a newline in a
   library's message, say) become spaces. */
static void set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
    if (!err || errsize == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    for (char *s = err; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* Whether width x height is within the limits of image.h. */
static int size_ok(unsigned long width, unsigned long height)
{
    return width >= 1 && height >= 1 && width <= IMAGE_MAX_SIDE && height <= IMAGE_MAX_SIDE &&
           (uint64_t)width * height <= (uint64_t)IMAGE_MAX_PIXELS;
}

/* ------------------------------------------------------------ PGM / PPM */

/* A read position in the file's bytes. */
typedef struct cursor {
    const unsigned char *p;
    size_t n, pos;
} cursor;

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

/* Skip whitespace and '#' comments (to the end of their line). */
static void skip_blanks(cursor *c)
{
    while (c->pos < c->n) {
        unsigned char ch = c->p[c->pos];
        if (is_space(ch)) {
            c->pos++;
        } else if (ch == '#') {
            while (c->pos < c->n && c->p[c->pos] != '\n' && c->p[c->pos] != '\r')
                c->pos++;
        } else {
            break;
        }
    }
}

/* What read_number found. */
enum { NUM_OK, NUM_END, NUM_BAD, NUM_BIG };

/* A decimal number after blanks, ending at a blank, a comment or the end of
   the bytes; NUM_BIG when it exceeds limit (never overflows). */
static int read_number(cursor *c, unsigned long limit, unsigned long *out)
{
    skip_blanks(c);
    if (c->pos >= c->n)
        return NUM_END;
    if (!is_digit(c->p[c->pos]))
        return NUM_BAD;
    unsigned long v = 0;
    int big = 0;
    for (; c->pos < c->n && is_digit(c->p[c->pos]); c->pos++) {
        if (v > limit)
            big = 1; /* keep consuming the digits, stop accumulating */
        else
            v = v * 10 + (unsigned long)(c->p[c->pos] - '0');
    }
    if (v > limit)
        big = 1;
    if (c->pos < c->n && !is_space(c->p[c->pos]) && c->p[c->pos] != '#')
        return NUM_BAD;
    *out = v;
    return big ? NUM_BIG : NUM_OK;
}

/* One header field (width, height, maxval) from 1 to limit. */
static int header_field(cursor *c, const char *kind, const char *what, unsigned long limit,
                        unsigned long *out, char *err, size_t errsize)
{
    switch (read_number(c, limit, out)) {
    case NUM_END:
        set_err(err, errsize, "truncated %s header (no %s)", kind, what);
        return -1;
    case NUM_BAD:
        set_err(err, errsize, "bad %s header: %s is not a number", kind, what);
        return -1;
    case NUM_BIG:
        set_err(err, errsize, "%s %s exceeds %lu", kind, what, limit);
        return -1;
    }
    if (*out == 0) {
        set_err(err, errsize, "%s %s is 0", kind, what);
        return -1;
    }
    return 0;
}

/* A sample from 0..maxval scaled to 0..255, rounded. */
static unsigned char scale_sample(unsigned long v, unsigned long maxval)
{
    if (maxval == 255)
        return (unsigned char)v;
    return (unsigned char)((v * 255 + maxval / 2) / maxval);
}

/* Binary samples (1 byte, or 2 big-endian bytes when maxval > 255). */
static int pnm_binary(cursor *c, const char *kind, size_t samples, unsigned long maxval,
                      unsigned char *px, char *err, size_t errsize)
{
    size_t bytes = maxval > 255 ? 2 : 1;
    const unsigned char *p = c->p + c->pos;
    for (size_t i = 0; i < samples; i++, p += bytes) {
        unsigned long v = bytes == 2 ? (unsigned long)p[0] << 8 | p[1] : p[0];
        if (v > maxval) {
            set_err(err, errsize, "%s sample %zu is %lu, above maxval %lu", kind, i, v,
                    maxval);
            return -1;
        }
        px[i] = scale_sample(v, maxval);
    }
    return 0;
}

/* ASCII samples: decimal numbers separated by blanks. */
static int pnm_ascii(cursor *c, const char *kind, size_t samples, unsigned long maxval,
                     unsigned char *px, char *err, size_t errsize)
{
    for (size_t i = 0; i < samples; i++) {
        unsigned long v = 0;
        switch (read_number(c, maxval, &v)) {
        case NUM_END:
            set_err(err, errsize, "truncated %s: the data ends after %zu of %zu samples", kind,
                    i, samples);
            return -1;
        case NUM_BAD:
            set_err(err, errsize, "bad %s data: sample %zu is not a number", kind, i);
            return -1;
        case NUM_BIG:
            set_err(err, errsize, "%s sample %zu is above maxval %lu", kind, i, maxval);
            return -1;
        }
        px[i] = scale_sample(v, maxval);
    }
    return 0;
}

/* P2, P3, P5 or P6 (buf starts with 'P' and one of those digits). */
static int decode_pnm(const unsigned char *buf, size_t size, image *out, char *err,
                      size_t errsize)
{
    int ascii = buf[1] == '2' || buf[1] == '3';
    int channels = buf[1] == '3' || buf[1] == '6' ? 3 : 1;
    const char *kind = channels == 3 ? "PPM" : "PGM";
    cursor c = {buf, size, 2};
    if (c.pos < c.n && !is_space(c.p[c.pos]) && c.p[c.pos] != '#') {
        set_err(err, errsize, "bad %s header: no blank after the magic number", kind);
        return -1;
    }
    unsigned long width, height, maxval;
    if (header_field(&c, kind, "width", IMAGE_MAX_SIDE, &width, err, errsize) ||
        header_field(&c, kind, "height", IMAGE_MAX_SIDE, &height, err, errsize) ||
        header_field(&c, kind, "maxval", 65535, &maxval, err, errsize))
        return -1;
    if (!size_ok(width, height)) {
        set_err(err, errsize, "%s is %lux%lu, more than %ld pixels", kind, width, height,
                (long)IMAGE_MAX_PIXELS);
        return -1;
    }
    size_t samples = (size_t)width * height * (size_t)channels;
    size_t left;
    if (ascii) {
        /* Each sample takes at least a digit and a blank (none after the
           last): a file too short for its size is refused before the
           allocation. */
        left = c.n - c.pos;
        if (left < 2 * samples - 1) {
            set_err(err, errsize, "truncated %s: %zu bytes cannot hold %zu samples", kind,
                    left, samples);
            return -1;
        }
    } else {
        /* Exactly one blank between maxval and the samples. */
        if (c.pos >= c.n || !is_space(c.p[c.pos])) {
            set_err(err, errsize, c.pos >= c.n ? "truncated %s: no pixel data"
                                               : "bad %s header: no blank after maxval",
                    kind);
            return -1;
        }
        c.pos++;
        left = c.n - c.pos;
        size_t need = samples * (maxval > 255 ? 2 : 1);
        if (left < need) {
            set_err(err, errsize, "truncated %s: %zu bytes of pixel data, %lux%lu needs %zu",
                    kind, left, width, height, need);
            return -1;
        }
    }
    unsigned char *px = malloc(samples);
    if (!px) {
        set_err(err, errsize, "out of memory for a %lux%lu image", width, height);
        return -1;
    }
    int rc = ascii ? pnm_ascii(&c, kind, samples, maxval, px, err, errsize)
                   : pnm_binary(&c, kind, samples, maxval, px, err, errsize);
    if (rc != 0) {
        free(px);
        return -1;
    }
    out->height = (int)height;
    out->width = (int)width;
    out->channels = channels;
    out->pixels = px;
    return 0;
}

/* ------------------------------------------------------------------ PNG */

/* Deflate expands at most 1032-fold (a 258-byte match coded in 2 bits). */
#define DEFLATE_MAX_RATIO 1032u

static int decode_png(const unsigned char *buf, size_t size, image *out, char *err,
                      size_t errsize)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, buf, size)) {
        set_err(err, errsize, "bad PNG: %s", pi.message[0] ? pi.message : "unreadable");
        png_image_free(&pi); /* already freed by libpng; harmless */
        return -1;
    }
    unsigned long width = pi.width, height = pi.height;
    if (!size_ok(width, height)) {
        set_err(err, errsize, "PNG is %lux%lu, more than %d pixels a side or %ld pixels",
                width, height, IMAGE_MAX_SIDE, (long)IMAGE_MAX_PIXELS);
        png_image_free(&pi);
        return -1;
    }
    /* Even at 1 bit a pixel the rows need height * (1 + width / 8) bytes
       once inflated: a file too small to hold them is refused before a
       large buffer is allocated for it. */
    uint64_t least = (uint64_t)height * (1 + (width + 7) / 8);
    if (least > (uint64_t)size * DEFLATE_MAX_RATIO + 4096) {
        set_err(err, errsize, "truncated PNG: %zu bytes cannot hold %lux%lu pixels", size,
                width, height);
        png_image_free(&pi);
        return -1;
    }
    int channels = (pi.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    pi.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    /* 16-bit samples without gamma information are taken as sRGB, like
       the 8-bit ones: scaled to 8 bits, not converted from linear light. */
    pi.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    unsigned char *px = malloc((size_t)width * height * (size_t)channels);
    if (!px) {
        set_err(err, errsize, "out of memory for a %lux%lu image", width, height);
        png_image_free(&pi);
        return -1;
    }
    png_color black = {0, 0, 0}; /* alpha is composited onto it */
    if (!png_image_finish_read(&pi, &black, px, 0, NULL)) {
        set_err(err, errsize, "bad PNG: %s", pi.message[0] ? pi.message : "unreadable");
        png_image_free(&pi);
        free(px);
        return -1;
    }
    out->height = (int)height;
    out->width = (int)width;
    out->channels = channels;
    out->pixels = px;
    return 0;
}

/* ---------------------------------------------------------------- API */

int image_decode(const unsigned char *buf, size_t size, image *out, char *err,
                 size_t errsize)
{
    memset(out, 0, sizeof *out);
    if (!buf || size == 0) {
        set_err(err, errsize, "empty file, not an image");
        return -1;
    }
    if (size >= 8 && png_sig_cmp(buf, 0, 8) == 0)
        return decode_png(buf, size, out, err, errsize);
    if (size >= 2 && buf[0] == 'P' &&
        (buf[1] == '2' || buf[1] == '3' || buf[1] == '5' || buf[1] == '6'))
        return decode_pnm(buf, size, out, err, errsize);
    if (size >= 2 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '7')
        set_err(err, errsize, "Netpbm format P%c is not supported (PGM P2/P5 or PPM P3/P6 are)",
                buf[1]);
    else
        set_err(err, errsize, "not a PGM, PPM or PNG image");
    return -1;
}

/* Whether the first bytes are a format image_decode reads. */
static int recognised(const unsigned char *b, size_t n)
{
    return (n >= 8 && png_sig_cmp(b, 0, 8) == 0) ||
           (n >= 2 && b[0] == 'P' && (b[1] == '2' || b[1] == '3' || b[1] == '5' || b[1] == '6'));
}

/* Up to len bytes at offset; how many were read, or -1 with errno. */
static ssize_t read_at(int fd, unsigned char *buf, size_t len, off_t offset)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* The file's bytes (malloc'ed), once its size and first bytes say it may
   be an image: nothing large is read from a file that is not one. */
static int read_image_file(int fd, const struct stat *st, unsigned char **data, size_t *size,
                           char *err, size_t errsize)
{
    if ((uint64_t)st->st_size > IMAGE_MAX_FILE) {
        set_err(err, errsize, "file too large for an image (%lld bytes, at most %zu)",
                (long long)st->st_size, IMAGE_MAX_FILE);
        return -1;
    }
    unsigned char head[8];
    ssize_t n = read_at(fd, head, sizeof head, 0);
    if (n >= 0 && !recognised(head, (size_t)n)) {
        image dummy;
        image_decode(head, (size_t)n, &dummy, err, errsize); /* its message */
        return -1;
    }
    size_t len = (size_t)st->st_size;
    unsigned char *buf = n < 0 ? NULL : malloc(len ? len : 1);
    if (buf)
        n = read_at(fd, buf, len, 0);
    if (!buf || n < 0) {
        set_err(err, errsize, "%s", strerror(buf ? errno : n < 0 ? errno : ENOMEM));
        free(buf);
        return -1;
    }
    *data = buf;
    *size = (size_t)n;
    return 0;
}

int image_read(const char *path, image *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    int fd = cnn_open_input(path, "image data", &st);
    if (fd < 0) {
        set_err(err, errsize, "%s", cnn_last_error());
        return -1;
    }
    unsigned char *data = NULL;
    size_t size = 0;
    char why[256];
    why[0] = 0;
    int rc = read_image_file(fd, &st, &data, &size, why, sizeof why);
    close(fd);
    if (rc == 0)
        rc = image_decode(data, size, out, why, sizeof why);
    free(data);
    if (rc != 0)
        set_err(err, errsize, "%s: %s", path, why);
    return rc;
}

int image_to_channels(image *img, int channels)
{
    if (img->channels == channels)
        return 0;
    if (!((img->channels == 1 && channels == 3) || (img->channels == 3 && channels == 1)))
        return -1;
    size_t pixels = (size_t)img->height * img->width;
    unsigned char *px = malloc(pixels * (size_t)channels);
    if (!px)
        return -1;
    const unsigned char *in = img->pixels;
    if (channels == 1) {
        /* ITU-R BT.601 weights in 1/256ths (77 + 150 + 29 = 256), rounded. */
        for (size_t i = 0; i < pixels; i++, in += 3)
            px[i] = (unsigned char)((77u * in[0] + 150u * in[1] + 29u * in[2] + 128) >> 8);
    } else {
        for (size_t i = 0; i < pixels; i++)
            px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = in[i];
    }
    free(img->pixels);
    img->pixels = px;
    img->channels = channels;
    return 0;
}

void image_free(image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}
