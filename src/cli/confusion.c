/*
 * confusion.c — draws an evaluation's confusion matrix as a heatmap in the
 * manner of seaborn's (the 2018 Keras MNIST notebook's figure): one square
 * cell per (true, predicted) pair, coloured by its share of the true
 * label's images, annotated with its count in a colour that contrasts with
 * the cell; true labels down the left, predicted labels along the bottom,
 * axis titles, a colour bar with ticks, and a title.  Saved through svg.h
 * (SVG, or PNG by rsvg-convert).
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

/* The geometry of the figure, worked out from the class count. */
typedef struct layout {
    int n;
    double cell, grid;        /* cell side, grid side */
    double tick_size, count_size;
    double left, top;         /* the grid's top-left corner */
    double bar_x, width, height;
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
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (r->confusion[i] > most)
            most = r->confusion[i];
    char buf[32];
    int digits = snprintf(buf, sizeof buf, "%ld", most);
    L->count_size = fmin(fmin(14, L->cell * 0.36), 0.86 * L->cell / (0.62 * digits));
    snprintf(buf, sizeof buf, "%d", n - 1);
    double label_w = svg_text_width(buf, strlen(buf), L->tick_size);
    L->left = 14 + 16 + 10 + label_w + 8;  /* margin, axis title, gap, labels, ticks */
    L->bar_x = L->left + L->grid + 24;
    /* bar, ticks, labels ("1.0"), gap, rotated bar title, margin */
    L->width = L->bar_x + 16 + 5 + 26 + 10 + 14 + 12;
    svg_title_layout(&L->title, title, 15, 11, L->width - 24);
    L->top = 16 + svg_title_height(&L->title) + 10;
    L->height = L->top + L->grid + 8 + L->tick_size + 12 + 16 + 12;
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
            svg_rgb c = svg_colormap(rate);
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

static void draw_colorbar(FILE *f, const layout *L)
{
    svg_colormap_gradient(f, "cmap");
    fputs("<g class=\"colorbar\" fill=\"#262626\">\n", f);
    svg_rect(f, L->bar_x, L->top, 16, L->grid, "url(#cmap)", NULL);
    for (int k = 0; k <= 5; k++) {
        double t = k / 5.0, y = L->top + L->grid * (1 - t);
        char label[16];
        snprintf(label, sizeof label, "%.1f", t);
        svg_line(f, L->bar_x + 16, y, L->bar_x + 20, y, "#262626", 0.8, NULL);
        svg_text(f, L->bar_x + 23, y + 0.36 * 11, 11, "start", NULL, label);
    }
    double x = L->bar_x + 16 + 5 + 26 + 10 + 4, y = L->top + L->grid / 2;
    char attrs[96];
    snprintf(attrs, sizeof attrs, "transform=\"rotate(90 %.2f %.2f)\"", x, y);
    svg_text(f, x, y, 12, "middle", attrs, "share of the true label");
    fputs("</g>\n", f);
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
    draw_colorbar(f, &L);
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
