/*
 * confusion.c — draws an evaluation's confusion matrix as a heatmap in the
 * manner of seaborn's (the 2018 Keras MNIST notebook's figure): one square
 * cell per (true, predicted) pair annotated with its count, on two scales
 * so that errors show: the diagonal (right answers) in blues by its share
 * of the true label's images, 0 to 1; the off-diagonal (errors) in reds by
 * count, from the palest red for one image to the darkest for the largest
 * error count of the matrix, an empty cell white.  The count's colour
 * contrasts with its cell.  True labels down the left, predicted labels
 * along the bottom, axis titles, a colour bar per scale, and a title.
 * Saved through svg.h (SVG, or PNG by rsvg-convert).
 */
#include "confusion.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "svg.h"

typedef struct heatmap {
    const cnn_eval_result *r;
    const char *title;
} heatmap;

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* A colour bar and its ticks, labels and title take BAR_STEP columns. */
enum { BAR_W = 16, BAR_STEP = 16 + 5 + 30 + 10 + 14 + 12 };
/* An error cell's place on the reds: one image at ERR_T0, the most at 1. */
#define ERR_T0 0.25

/* The geometry of the figure, worked out from the class count. */
typedef struct layout {
    int n;
    double cell, grid;        /* cell side, grid side */
    double tick_size, count_size;
    double left, top;         /* the grid's top-left corner */
    double bar_x, width, height; /* the first colour bar's left edge */
    long most_errors;             /* the largest off-diagonal count */
    svg_title title;
} layout;

static void lay_out(layout *L, const cnn_eval_result *r, const char *title)
{
    int n = r->classes;
    L->n = n;
    L->cell = clamp(480.0 / n, 20, 160);
    L->grid = n * L->cell;
    L->tick_size = clamp(L->cell * 0.45, 8, 12);
    /* One font size for every count, small enough for the widest. */
    long most = 0;
    L->most_errors = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        if (r->confusion[i] > most)
            most = r->confusion[i];
        if (i / n != i % n && r->confusion[i] > L->most_errors)
            L->most_errors = r->confusion[i];
    }
    char buf[32];
    int digits = snprintf(buf, sizeof buf, "%ld", most);
    L->count_size = fmin(fmin(14, L->cell * 0.36), 0.86 * L->cell / (0.62 * digits));
    snprintf(buf, sizeof buf, "%d", n - 1);
    double label_w = svg_text_width(buf, strlen(buf), L->tick_size);
    L->left = 14 + 16 + 10 + label_w + 8;  /* margin, axis title, gap, labels, ticks */
    L->bar_x = L->left + L->grid + 24;
    /* two bars, each: bar, ticks, labels, gap, rotated bar title, margin */
    L->width = L->bar_x + 2 * BAR_STEP;
    svg_title_layout(&L->title, title, 15, 11, L->width - 24);
    L->top = 16 + svg_title_height(&L->title) + 10;
    L->height = L->top + L->grid + 8 + L->tick_size + 12 + 16 + 12;
}

/* A cell's colour: a right answer by its share of the row, an error by
   its count against the largest error count; an empty error cell white. */
static svg_rgb cell_color(const layout *L, int i, int j, long count, double rate)
{
    if (i == j)
        return svg_colormap(SVG_MAP_BLUES, rate);
    if (count <= 0)
        return (svg_rgb){0xff, 0xff, 0xff};
    double t = L->most_errors > 1 ? (double)(count - 1) / (double)(L->most_errors - 1) : 1;
    return svg_colormap(SVG_MAP_REDS, ERR_T0 + (1 - ERR_T0) * t);
}

static void draw_cells(FILE *f, const layout *L, const cnn_eval_result *r)
{
    int n = L->n;
    fputs("<g class=\"cells\" shape-rendering=\"crispEdges\">\n", f);
    for (int i = 0; i < n; i++) {
        long total = 0;
        for (int j = 0; j < n; j++)
            total += r->confusion[(size_t)i * n + j];
        for (int j = 0; j < n; j++) {
            long count = r->confusion[(size_t)i * n + j];
            double rate = total > 0 ? (double)count / (double)total : 0;
            svg_rgb c = cell_color(L, i, j, count, rate);
            char fill[8];
            svg_hex(c, fill);
            fprintf(f, "<g><title>true %d, predicted %d: %ld of %ld (%.2f%%)</title>\n", i, j,
                    count, total, 100 * rate);
            double x = L->left + j * L->cell, y = L->top + i * L->cell;
            svg_rect(f, x, y, L->cell, L->cell, fill, "class=\"cell\"");
            char text[32], attrs[64];
            snprintf(text, sizeof text, "%ld", count);
            snprintf(attrs, sizeof attrs, "class=\"count\" fill=\"%s\"", svg_text_color_on(c));
            svg_text(f, x + L->cell / 2, y + L->cell / 2 + 0.36 * L->count_size,
                     L->count_size, "middle", attrs, text);
            fputs("</g>\n", f);
        }
    }
    fputs("</g>\n", f);
}

static void draw_axes(FILE *f, const layout *L)
{
    double bottom = L->top + L->grid;
    char label[32];
    fputs("<g class=\"axes\" fill=\"#262626\">\n", f);
    for (int k = 0; k < L->n; k++) {
        double mid = k * L->cell + L->cell / 2;
        snprintf(label, sizeof label, "%d", k);
        svg_line(f, L->left + mid, bottom, L->left + mid, bottom + 4, "#262626", 0.8, NULL);
        svg_text(f, L->left + mid, bottom + 7 + L->tick_size * 0.8, L->tick_size, "middle",
                 NULL, label);
        svg_line(f, L->left - 4, L->top + mid, L->left, L->top + mid, "#262626", 0.8, NULL);
        svg_text(f, L->left - 7, L->top + mid + 0.36 * L->tick_size, L->tick_size, "end",
                 NULL, label);
    }
    svg_text(f, L->left + L->grid / 2, bottom + 8 + L->tick_size + 16, 13, "middle",
             "class=\"xlabel\"", "Predicted label");
    double x = 14 + 12, y = L->top + L->grid / 2;
    char attrs[96];
    snprintf(attrs, sizeof attrs, "class=\"ylabel\" transform=\"rotate(-90 %.2f %.2f)\"", x, y);
    svg_text(f, x, y, 13, "middle", attrs, "True label");
    fputs("</g>\n", f);
}

/* A colour bar at x: map from t0 (bottom) to t1 (top), ticks for the
   values lo..hi it spans, and its title. */
typedef struct colorbar {
    const char *id, *title;
    svg_map map;
    double t0, t1, lo, hi, min_step;
} colorbar;

static void draw_colorbar(FILE *f, const layout *L, double x0, const colorbar *b)
{
    svg_colormap_gradient(f, b->id, b->map, b->t0, b->t1);
    fprintf(f, "<g class=\"colorbar\" id=\"%s-bar\" fill=\"#262626\">\n", b->id);
    char fill[32];
    snprintf(fill, sizeof fill, "url(#%s)", b->id);
    svg_rect(f, x0, L->top, BAR_W, L->grid, fill, NULL);
    double first, step;
    int n = svg_ticks(b->lo, b->hi, 6, b->min_step, &first, &step);
    for (int k = 0; k < n; k++) {
        double v = first + k * step;
        double y = b->hi > b->lo ? L->top + L->grid * (1 - (v - b->lo) / (b->hi - b->lo))
                                 : L->top + L->grid / 2;
        char label[32];
        svg_tick_label(v, step, label, sizeof label);
        svg_line(f, x0 + BAR_W, y, x0 + BAR_W + 4, y, "#262626", 0.8, NULL);
        svg_text(f, x0 + BAR_W + 7, y + 0.36 * 11, 11, "start", NULL, label);
    }
    double x = x0 + BAR_W + 5 + 30 + 10 + 4, y = L->top + L->grid / 2;
    char attrs[96];
    snprintf(attrs, sizeof attrs, "transform=\"rotate(90 %.2f %.2f)\"", x, y);
    svg_text(f, x, y, 12, "middle", attrs, b->title);
    fputs("</g>\n", f);
}

static void draw_colorbars(FILE *f, const layout *L)
{
    colorbar right = {"cmap", "diagonal: share of the true label", SVG_MAP_BLUES, 0, 1, 0, 1, 0};
    draw_colorbar(f, L, L->bar_x, &right);
    /* Errors from one image to the most (a bar of one colour when the
       most is one or none). */
    double most = L->most_errors > 1 ? (double)L->most_errors : 1;
    colorbar wrong = {"errmap", "errors: images", SVG_MAP_REDS,
                      L->most_errors > 1 ? ERR_T0 : 1, 1, 1, most, 1};
    if (L->most_errors == 0)
        wrong.t0 = wrong.t1 = 0, wrong.lo = wrong.hi = 0;
    draw_colorbar(f, L, L->bar_x + BAR_STEP, &wrong);
}

static int draw(FILE *f, void *ctx)
{
    const heatmap *h = ctx;
    layout L;
    lay_out(&L, h->r, h->title);
    svg_begin(f, L.width, L.height);
    /* The title is centred over the grid, as matplotlib centres it over
       the axes, unless it is too wide for that. */
    double cx = L.left + L.grid / 2, widest = 0;
    for (int i = 0; i < L.title.lines; i++)
        widest = fmax(widest, svg_text_width(L.title.start[i], L.title.len[i], L.title.size));
    if (cx - widest / 2 < 12 || cx + widest / 2 > L.width - 12)
        cx = L.width / 2;
    svg_title_draw(f, &L.title, cx, 16 + L.title.size, "class=\"title\" fill=\"#262626\"");
    draw_cells(f, &L, h->r);
    draw_axes(f, &L);
    draw_colorbars(f, &L);
    svg_end(f);
    return 0;
}

int confusion_write(const char *path, const cnn_eval_result *r, const char *title)
{
    if (!r || !r->confusion || r->classes < 1) {
        cli_say("%s: no confusion matrix to draw", path);
        return -1;
    }
    heatmap h = {r, title ? title : "Confusion matrix"};
    return svg_save(path, draw, &h);
}
