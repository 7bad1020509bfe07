/*
 * svg.h — small SVG 1.1 drawing helpers shared by the cnn command's images
 * (the confusion-matrix heatmap, the training curves): the document frame,
 * rectangles, lines, polylines and XML-escaped text, a sequential colour
 * map and a categorical palette, axis ticks, and saving a drawing as .svg
 * or, through rsvg-convert, as .png, all or nothing.
 *
 * Every `attrs` argument is extra markup written verbatim inside the
 * element's start tag (e.g. `class="cell"`); it must come from the program,
 * never from the user.  User text goes through the text functions, which
 * escape it.
 */
#ifndef CNN_CLI_SVG_H
#define CNN_CLI_SVG_H

#include <stddef.h>
#include <stdio.h>

/* The font stack of every image (matplotlib's default face first). */
#define SVG_FONT "DejaVu Sans, Bitstream Vera Sans, Helvetica, Arial, sans-serif"

/* ------------------------------------------------------------ document */

/* XML declaration, DOCTYPE and the <svg> element with width, height and
   viewBox, the default font, and a white background. */
void svg_begin(FILE *f, double width, double height);
/* Close the <svg> element. */
void svg_end(FILE *f);

/* ------------------------------------------------------------ elements */

void svg_rect(FILE *f, double x, double y, double w, double h, const char *fill,
              const char *attrs);
void svg_line(FILE *f, double x1, double y1, double x2, double y2, const char *stroke,
              double width, const char *attrs);
void svg_circle(FILE *f, double cx, double cy, double r, const char *fill,
                const char *attrs);
/* A polyline through n points; nothing for n < 1. */
void svg_polyline(FILE *f, const double *x, const double *y, int n, const char *stroke,
                  double width, const char *attrs);

/* Text at (x, y) (the baseline), anchored "start", "middle" or "end". */
void svg_text(FILE *f, double x, double y, double size, const char *anchor,
              const char *attrs, const char *text);
/* The same for the first len bytes of text. */
void svg_text_n(FILE *f, double x, double y, double size, const char *anchor,
                const char *attrs, const char *text, size_t len);
/* Write len bytes of text escaped for XML character data or an attribute
   value: & < > " ' as entities, control characters dropped, invalid UTF-8
   replaced by U+FFFD. */
void svg_escape(FILE *f, const char *text, size_t len);

/* Rough width of text in the image's font (no measuring is possible). */
double svg_text_width(const char *text, size_t len, double size);

/* A title that fits max_width: lines broken after a space or a comma,
   at most SVG_TITLE_LINES of them (the last one may overflow). */
enum { SVG_TITLE_LINES = 4 };
typedef struct svg_title {
    double size;                     /* font size chosen */
    int lines;
    const char *start[SVG_TITLE_LINES];
    size_t len[SVG_TITLE_LINES];
} svg_title;
/* Lay text out at size, shrunk down to min_size before wrapping. */
void svg_title_layout(svg_title *t, const char *text, double size, double min_size,
                      double max_width);
/* The height the title takes (lines and spacing). */
double svg_title_height(const svg_title *t);
/* Draw it centred on cx, its first baseline at y. */
void svg_title_draw(FILE *f, const svg_title *t, double cx, double y, const char *attrs);

/* --------------------------------------------------------------- colour */

typedef struct svg_rgb {
    unsigned char r, g, b;
} svg_rgb;

/* The sequential colour maps, light at t = 0 to dark at t = 1 (t in
   [0, 1], clamped): ColorBrewer's Blues and Reds. */
typedef enum svg_map { SVG_MAP_BLUES, SVG_MAP_REDS } svg_map;
svg_rgb svg_colormap(svg_map map, double t);
/* A <linearGradient id="id"> of map from t0 at the bottom to t1 at the
   top, inside a <defs> element. */
void svg_colormap_gradient(FILE *f, const char *id, svg_map map, double t0, double t1);
/* "#rrggbb" into out. */
void svg_hex(svg_rgb c, char out[8]);
/* Relative luminance (WCAG 2), 0 black to 1 white. */
double svg_luminance(svg_rgb c);
/* Text colour readable on c: dark grey or white. */
const char *svg_text_color_on(svg_rgb c);
/* The i-th colour of a categorical palette (matplotlib's tab10). */
const char *svg_series_color(int i);

/* ---------------------------------------------------------------- axes */

/* Ticks for [lo, hi]: a step of 1, 2 or 5 times a power of ten, at least
   min_step (0: none), giving at most max_ticks ticks in the range.  Writes
   the first tick and the step; returns the number of ticks. */
int svg_ticks(double lo, double hi, int max_ticks, double min_step, double *first,
              double *step);
/* A tick label for v with as many decimals as step needs. */
void svg_tick_label(double v, double step, char *buf, size_t size);

/* --------------------------------------------------------------- output */

enum { SVG_OUT_BAD = -1, SVG_OUT_SVG = 0, SVG_OUT_PNG = 1 };
/* SVG_OUT_SVG for a path ending in .svg (or "-", stdout), SVG_OUT_PNG for
   .png, else SVG_OUT_BAD. */
int svg_output_kind(const char *path);
/* Check an image path given with option (say "--confusion") before any
   work: EXIT_OK; EXIT_USAGE after a one-line error for an extension other
   than .svg or .png (and for "-"); EXIT_FAILURE_RUN after one when .png needs
   rsvg-convert and it is not installed. */
int svg_output_check(const char *option, const char *path);

/* Draws a whole document into f; returns 0, or -1 after printing a
   one-line error. */
typedef int (*svg_draw_fn)(FILE *f, void *ctx);
/* Write the drawing to path (.svg, or .png converted by rsvg-convert)
   through a temporary file renamed into place: the file appears whole or
   not at all.  Returns 0, or -1 after printing a one-line error naming
   path. */
int svg_save(const char *path, svg_draw_fn draw, void *ctx);

#endif /* CNN_CLI_SVG_H */
