/*
 * plot.c — `cnn plot LOG`: reads a metrics log written by `cnn train --log`
 * (CSV or JSON Lines) and draws the training curves, two panels side by
 * side: loss against epoch and accuracy against epoch, each with the
 * training series (the epoch records, and the step records as a thinner
 * line when the log has them) and the test series (the validation results),
 * axes with ticks, a grid, a legend and a title.  Written as SVG, or as PNG
 * through rsvg-convert, to -o FILE or to LOG with its extension replaced by
 * .svg.  The epoch axis has whole-epoch ticks only; each epoch's per-step
 * line stops at that epoch's end and the next starts afresh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"
#include "paths.h"
#include "svg.h"

/* The figure's geometry. */
enum { PANEL_W = 390, PANEL_H = 280, PANEL_STEP = 500, PANEL_LEFT = 80, FIG_W = 1000 };

/* Which value of a record a panel shows. */
typedef struct panel {
    const char *name;      /* panel title and y-axis label */
    int test;              /* 0: loss / accuracy, 1: val_loss / val_accuracy */
    int accuracy;
} panel;

static double value(const metrics_record *r, int accuracy, int test)
{
    if (test)
        return accuracy ? r->val_accuracy : r->val_loss;
    return accuracy ? r->accuracy : r->loss;
}

/* The three series: step records, epoch records, test results. */
enum { S_STEPS, S_EPOCHS, S_TEST, NSERIES };
static const char *const series_class[NSERIES] = {"train-steps", "train", "test"};
static const char *const series_label[NSERIES] = {"train (running, per step)", "train",
                                                  "test"};

static int in_series(const metrics_record *r, int s, int accuracy)
{
    if (!isfinite(r->epoch_fraction))
        return 0;
    switch (s) {
    case S_STEPS: return !r->is_epoch && isfinite(value(r, accuracy, 0));
    case S_EPOCHS: return r->is_epoch && isfinite(value(r, accuracy, 0));
    default: return isfinite(value(r, accuracy, 1));
    }
}

typedef struct axis {
    double lo, hi;
} axis;

/* Pad a data range by 4% a side; a single value by point_pad, or by a
   tenth of itself when point_pad is 0. */
static axis padded(double lo, double hi, double point_pad)
{
    if (!(lo <= hi))
        return (axis){0, 1};
    double span = hi - lo;
    if (span <= 0) {
        double pad = point_pad > 0 ? point_pad : fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
        return (axis){lo - pad, hi + pad};
    }
    return (axis){lo - 0.04 * span, hi + 0.04 * span};
}

/* The epoch axis: the data padded, widened to whole epochs when that
   leaves fewer than two of them in range (a run shorter than an epoch
   spans 0 to 1), so that every tick is a whole epoch. */
static axis epoch_axis(double lo, double hi)
{
    axis a = padded(lo, hi, 0.5);
    if (floor(a.hi) - ceil(a.lo) < 1)
        a.lo = floor(a.lo), a.hi = ceil(a.hi);
    if (a.hi - a.lo < 1)
        a.hi = a.lo + 1;
    return a;
}

typedef struct curves {
    const metrics_record *rec;
    size_t n;
    const char *title;
} curves;

typedef struct frame {
    double x0, y0;   /* top-left corner of the plot area */
    axis x, y;
} frame;

static double px(const frame *fr, double x)
{
    return fr->x0 + (x - fr->x.lo) / (fr->x.hi - fr->x.lo) * PANEL_W;
}

static double py(const frame *fr, double y)
{
    return fr->y0 + PANEL_H - (y - fr->y.lo) / (fr->y.hi - fr->y.lo) * PANEL_H;
}

/* Grid, frame, tick labels and axis labels of a panel. */
static void draw_axes(FILE *f, const frame *fr, const char *ylabel)
{
    double first, step;
    char label[48];
    fputs("<g class=\"axes\" fill=\"#262626\">\n", f);
    int n = svg_ticks(fr->x.lo, fr->x.hi, 8, 1, &first, &step); /* whole epochs */
    for (int i = 0; i < n; i++) {
        double x = px(fr, first + i * step);
        svg_line(f, x, fr->y0, x, fr->y0 + PANEL_H, "#e5e5e5", 0.8, "class=\"grid\"");
        svg_line(f, x, fr->y0 + PANEL_H, x, fr->y0 + PANEL_H + 4, "#262626", 0.8, NULL);
        svg_tick_label(first + i * step, step, label, sizeof label);
        svg_text(f, x, fr->y0 + PANEL_H + 17, 11, "middle", "class=\"xtick\"", label);
    }
    n = svg_ticks(fr->y.lo, fr->y.hi, 7, 0, &first, &step);
    for (int i = 0; i < n; i++) {
        double y = py(fr, first + i * step);
        svg_line(f, fr->x0, y, fr->x0 + PANEL_W, y, "#e5e5e5", 0.8, "class=\"grid\"");
        svg_line(f, fr->x0 - 4, y, fr->x0, y, "#262626", 0.8, NULL);
        svg_tick_label(first + i * step, step, label, sizeof label);
        svg_text(f, fr->x0 - 7, y + 4, 11, "end", NULL, label);
    }
    svg_rect(f, fr->x0, fr->y0, PANEL_W, PANEL_H, "none",
             "class=\"frame\" stroke=\"#262626\" stroke-width=\"0.8\"");
    svg_text(f, fr->x0 + PANEL_W / 2.0, fr->y0 + PANEL_H + 38, 13, "middle",
             "class=\"xlabel\"", "epoch");
    double x = fr->x0 - 52, y = fr->y0 + PANEL_H / 2.0;
    char attrs[96];
    snprintf(attrs, sizeof attrs, "class=\"ylabel\" transform=\"rotate(-90 %.2f %.2f)\"", x, y);
    svg_text(f, x, y, 13, "middle", attrs, ylabel);
    fputs("</g>\n", f);
}

/* One series as polylines, broken where the epoch changes (the running
   means restart) or x goes back, with markers except for step records;
   each epoch's step line runs on to the epoch's own record. */
static void draw_series(FILE *f, const frame *fr, const curves *cv, int s, int accuracy)
{
    double *xs = malloc(cv->n * sizeof *xs), *ys = malloc(cv->n * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        return;
    }
    const char *color = svg_series_color(s == S_TEST ? 1 : 0);
    char attrs[96];
    snprintf(attrs, sizeof attrs, "class=\"%s\"%s", series_class[s],
             s == S_STEPS ? " stroke-opacity=\"0.5\"" : "");
    int m = 0, prev_epoch = 0;
    double prev_x = -INFINITY;
    for (size_t i = 0; i <= cv->n; i++) {
        const metrics_record *r = i < cv->n ? &cv->rec[i] : NULL;
        /* A step line ends at its epoch's record (the running mean's last
           value): on the epoch's boundary, where the next one starts. */
        if (r && !in_series(r, s, accuracy) && !(s == S_STEPS && in_series(r, S_EPOCHS, accuracy)))
            continue;
        if (!r || (m > 0 && ((s == S_STEPS && r->epoch != prev_epoch) ||
                             r->epoch_fraction < prev_x))) {
            svg_polyline(f, xs, ys, m, color, s == S_STEPS ? 1 : 2, attrs);
            m = 0;
        }
        if (!r)
            break;
        xs[m] = px(fr, r->epoch_fraction);
        ys[m++] = py(fr, value(r, accuracy, s == S_TEST));
        prev_epoch = r->epoch;
        prev_x = r->epoch_fraction;
    }
    if (s != S_STEPS) {
        snprintf(attrs, sizeof attrs, "class=\"%s-marker\"", series_class[s]);
        for (size_t i = 0; i < cv->n; i++)
            if (in_series(&cv->rec[i], s, accuracy))
                svg_circle(f, px(fr, cv->rec[i].epoch_fraction),
                           py(fr, value(&cv->rec[i], accuracy, s == S_TEST)), 3.5, color,
                           attrs);
    }
    free(xs), free(ys);
}

/* The legend in a corner of the plot area (top right, or bottom right). */
static void draw_legend(FILE *f, const frame *fr, const int *present, int bottom)
{
    int n = 0;
    double widest = 0;
    for (int s = 0; s < NSERIES; s++)
        if (present[s]) {
            n++;
            widest = fmax(widest, svg_text_width(series_label[s], strlen(series_label[s]), 11));
        }
    if (!n)
        return;
    double w = widest + 44, h = n * 18 + 8;
    double x = fr->x0 + PANEL_W - w - 8, y = bottom ? fr->y0 + PANEL_H - h - 8 : fr->y0 + 8;
    fputs("<g class=\"legend\">\n", f);
    svg_rect(f, x, y, w, h, "#ffffff",
             "fill-opacity=\"0.85\" stroke=\"#cccccc\" stroke-width=\"0.8\" rx=\"3\"");
    int row = 0;
    for (int s = 0; s < NSERIES; s++) {
        if (!present[s])
            continue;
        double ly = y + 13 + 18 * row++;
        const char *color = svg_series_color(s == S_TEST ? 1 : 0);
        svg_line(f, x + 8, ly - 4, x + 30, ly - 4, color, s == S_STEPS ? 1 : 2,
                 s == S_STEPS ? "stroke-opacity=\"0.5\"" : NULL);
        if (s != S_STEPS)
            svg_circle(f, x + 19, ly - 4, 3.5, color, NULL);
        svg_text(f, x + 36, ly, 11, "start", "fill=\"#262626\"", series_label[s]);
    }
    fputs("</g>\n", f);
}

static int draw(FILE *f, void *ctx)
{
    const curves *cv = ctx;
    static const panel panels[2] = {{"loss", 0, 0}, {"accuracy", 0, 1}};
    /* One x range for both panels. */
    double xlo = INFINITY, xhi = -INFINITY;
    for (size_t i = 0; i < cv->n; i++)
        for (int s = 0; s < NSERIES; s++)
            for (int a = 0; a < 2; a++)
                if (in_series(&cv->rec[i], s, a)) {
                    xlo = fmin(xlo, cv->rec[i].epoch_fraction);
                    xhi = fmax(xhi, cv->rec[i].epoch_fraction);
                }
    axis xaxis = epoch_axis(xlo, xhi);

    svg_title title;
    svg_title_layout(&title, cv->title, 15, 11, FIG_W - 40);
    double top = 16 + svg_title_height(&title) + 34;
    double height = top + PANEL_H + 56;
    svg_begin(f, FIG_W, height);
    svg_title_draw(f, &title, FIG_W / 2.0, 16 + title.size, "class=\"title\" fill=\"#262626\"");
    for (int k = 0; k < 2; k++) {
        const panel *pn = &panels[k];
        double ylo = INFINITY, yhi = -INFINITY;
        int present[NSERIES] = {0};
        for (size_t i = 0; i < cv->n; i++)
            for (int s = 0; s < NSERIES; s++)
                if (in_series(&cv->rec[i], s, pn->accuracy)) {
                    double v = value(&cv->rec[i], pn->accuracy, s == S_TEST);
                    ylo = fmin(ylo, v), yhi = fmax(yhi, v);
                    present[s] = 1;
                }
        frame fr = {PANEL_LEFT + k * PANEL_STEP, top, xaxis, padded(ylo, yhi, 0)};
        fprintf(f, "<g class=\"panel\" id=\"%s\">\n", pn->name);
        svg_text(f, fr.x0 + PANEL_W / 2.0, top - 10, 13, "middle",
                 "class=\"panel-title\" fill=\"#262626\"", pn->name);
        draw_axes(f, &fr, pn->name);
        for (int s = 0; s < NSERIES; s++)
            if (present[s])
                draw_series(f, &fr, cv, s, pn->accuracy);
        /* Loss falls and accuracy rises: the empty corner differs. */
        draw_legend(f, &fr, present, pn->accuracy);
        fputs("</g>\n", f);
    }
    svg_end(f);
    return 0;
}

/* LOG with its extension replaced by .svg (malloc'ed). */
static char *default_output(const char *log)
{
    const char *slash = strrchr(log, '/'), *dot = strrchr(log, '.');
    size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - log) : strlen(log);
    char *out = malloc(stem + 5);
    if (out)
        sprintf(out, "%.*s.svg", (int)stem, log);
    return out;
}

static int run(const cli *c)
{
    const char *log = c->args[0];
    char *own = c->output ? NULL : default_output(log);
    const char *out = c->output ? c->output : own;
    if (!out)
        return cli_error(EXIT_FAILURE_RUN, "out of memory");
    int rc = EXIT_OK;
    if (strcmp(out, "-")) { /* "-": SVG to stdout */
        cli_paths ps = {.n = 0};
        paths_input(&ps, "the log", log);
        paths_output(&ps, "--output", out, NULL);
        if ((rc = svg_output_check("--output", out)) == EXIT_OK && (rc = paths_check(&ps)) < 0)
            rc = EXIT_OK;
    }
    metrics_record *rec = NULL;
    size_t n = 0;
    if (rc == EXIT_OK && metrics_read(log, &rec, &n) != 0)
        rc = EXIT_FAILURE_RUN;
    if (rc == EXIT_OK) {
        const char *slash = strrchr(log, '/');
        char title[1024];
        snprintf(title, sizeof title, "Training curves \xe2\x80\x94 %s", slash ? slash + 1 : log);
        curves cv = {rec, n, title};
        if (svg_save(out, draw, &cv) != 0)
            rc = EXIT_FAILURE_RUN;
        else if (!c->quiet && strcmp(out, "-"))
            cli_say("%zu record%s of %s drawn in %s", n, n == 1 ? "" : "s",
                    log, out);
    }
    free(rec);
    free(own);
    return rc;
}

const cli_command cmd_plot = {
    "plot", "draw training curves from a metrics log",
    "usage: cnn plot LOG [-o FILE]\n\n"
    "Draws the loss and the accuracy against the epoch from a metrics log written\n"
    "by `cnn train --log` (CSV or JSON Lines): the training series (per epoch, and\n"
    "per step when logged with --log-every) and the test series (with --validate).\n"
    "Writes FILE (.svg, or .png through rsvg-convert; - for SVG on stdout; default\n"
    "LOG with its extension replaced by .svg).\n",
    OPTBIT(OPT_OUTPUT) | OPTBIT(OPT_QUIET),
    1, 1, run};
