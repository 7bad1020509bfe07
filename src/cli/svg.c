/*
 * svg.c — the SVG helpers of svg.h: document frame, elements, escaped and
 * wrapped text, colour map and palette, axis ticks, and saving a drawing as
 * .svg or as .png through rsvg-convert (run with posix_spawn, its input and
 * output in temporary files, the output renamed into place on success).
 */
#include "svg.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "outfile.h"

/* A coordinate or size: two decimals at most, trailing zeros dropped. */
static void put_num(FILE *f, double v)
{
    char buf[48];
    if (!isfinite(v))
        v = 0;
    snprintf(buf, sizeof buf, "%.2f", v);
    char *end = buf + strlen(buf);
    while (end[-1] == '0')
        *--end = 0;
    if (end[-1] == '.')
        *--end = 0;
    if (!strcmp(buf, "-0"))
        strcpy(buf, "0");
    fputs(buf, f);
}

/* name="value" with a numeric value, preceded by a space. */
static void put_attr(FILE *f, const char *name, double v)
{
    fprintf(f, " %s=\"", name);
    put_num(f, v);
    fputc('"', f);
}

void svg_begin(FILE *f, double width, double height)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
          "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
          "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"", f);
    put_attr(f, "width", width);
    put_attr(f, "height", height);
    fputs(" viewBox=\"0 0 ", f);
    put_num(f, width);
    fputc(' ', f);
    put_num(f, height);
    fputs("\" font-family=\"" SVG_FONT "\">\n", f);
    svg_rect(f, 0, 0, width, height, "#ffffff", NULL);
}

void svg_end(FILE *f)
{
    fputs("</svg>\n", f);
}

void svg_rect(FILE *f, double x, double y, double w, double h, const char *fill,
              const char *attrs)
{
    fputs("<rect", f);
    if (attrs)
        fprintf(f, " %s", attrs);
    put_attr(f, "x", x);
    put_attr(f, "y", y);
    put_attr(f, "width", w);
    put_attr(f, "height", h);
    fprintf(f, " fill=\"%s\"/>\n", fill);
}

void svg_line(FILE *f, double x1, double y1, double x2, double y2, const char *stroke,
              double width, const char *attrs)
{
    fputs("<line", f);
    if (attrs)
        fprintf(f, " %s", attrs);
    put_attr(f, "x1", x1);
    put_attr(f, "y1", y1);
    put_attr(f, "x2", x2);
    put_attr(f, "y2", y2);
    fprintf(f, " stroke=\"%s\"", stroke);
    put_attr(f, "stroke-width", width);
    fputs("/>\n", f);
}

void svg_circle(FILE *f, double cx, double cy, double r, const char *fill,
                const char *attrs)
{
    fputs("<circle", f);
    if (attrs)
        fprintf(f, " %s", attrs);
    put_attr(f, "cx", cx);
    put_attr(f, "cy", cy);
    put_attr(f, "r", r);
    fprintf(f, " fill=\"%s\"/>\n", fill);
}

void svg_polyline(FILE *f, const double *x, const double *y, int n, const char *stroke,
                  double width, const char *attrs)
{
    if (n < 1)
        return;
    fputs("<polyline", f);
    if (attrs)
        fprintf(f, " %s", attrs);
    fprintf(f, " fill=\"none\" stroke=\"%s\"", stroke);
    put_attr(f, "stroke-width", width);
    fputs(" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"", f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputc(' ', f);
        put_num(f, x[i]);
        fputc(',', f);
        put_num(f, y[i]);
    }
    fputs("\"/>\n", f);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid.
   Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_length(const unsigned char *s, size_t n, unsigned long *cp)
{
    size_t len;
    unsigned long c, min;
    if (s[0] < 0x80)
        return *cp = s[0], 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, c = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, c = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

void svg_escape(FILE *f, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned long cp;
        size_t n = utf8_length(s + i, len - i, &cp);
        if (n == 0) { /* not UTF-8: the replacement character */
            fputs("\xef\xbf\xbd", f);
            i++;
            continue;
        }
        switch (cp) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* XML 1.0 allows no other C0 controls, nor U+FFFE / U+FFFF. */
            if ((cp < 0x20 && cp != '\t') || cp == 0xfffe || cp == 0xffff)
                break;
            fwrite(s + i, 1, n, f);
        }
        i += n;
    }
}

double svg_text_width(const char *text, size_t len, double size)
{
    double w = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if ((c & 0xc0) == 0x80)
            continue; /* a continuation byte: counted with its lead */
        if (c >= 0x80)
            w += 0.9;
        else if (strchr("il.,:;'|!ft()[] ", c))
            w += 0.34;
        else if (c >= 'A' && c <= 'Z')
            w += 0.7;
        else if (strchr("mwMW%", c))
            w += 0.9;
        else
            w += 0.62;
    }
    return w * size;
}

void svg_text_n(FILE *f, double x, double y, double size, const char *anchor,
                const char *attrs, const char *text, size_t len)
{
    fputs("<text", f);
    if (attrs)
        fprintf(f, " %s", attrs);
    put_attr(f, "x", x);
    put_attr(f, "y", y);
    put_attr(f, "font-size", size);
    fprintf(f, " text-anchor=\"%s\">", anchor);
    svg_escape(f, text, len);
    fputs("</text>\n", f);
}

void svg_text(FILE *f, double x, double y, double size, const char *anchor,
              const char *attrs, const char *text)
{
    svg_text_n(f, x, y, size, anchor, attrs, text, strlen(text));
}

void svg_title_layout(svg_title *t, const char *text, double size, double min_size,
                      double max_width)
{
    size_t len = strlen(text);
    t->size = size;
    while (t->size > min_size && svg_text_width(text, len, t->size) > max_width)
        t->size = t->size - 0.5 < min_size ? min_size : t->size - 0.5;
    t->lines = 0;
    const char *p = text, *end = text + len;
    while (p < end && t->lines < SVG_TITLE_LINES) {
        while (p < end && *p == ' ')
            p++;
        size_t rest = (size_t)(end - p), take = rest;
        if (t->lines < SVG_TITLE_LINES - 1 &&
            svg_text_width(p, rest, t->size) > max_width) {
            /* The longest prefix ending after a space or comma that fits,
               else the shortest one (the line overflows). */
            size_t fit = 0, first = 0;
            for (size_t i = 0; i < rest; i++)
                if (p[i] == ' ' || p[i] == ',') {
                    if (!first)
                        first = i + 1;
                    if (svg_text_width(p, i + 1, t->size) <= max_width)
                        fit = i + 1;
                }
            take = fit ? fit : first ? first : rest;
        }
        size_t shown = take;
        while (shown > 0 && p[shown - 1] == ' ')
            shown--;
        if (shown > 0) {
            t->start[t->lines] = p;
            t->len[t->lines++] = shown;
        }
        p += take;
    }
}

double svg_title_height(const svg_title *t)
{
    return t->lines * t->size * 1.25;
}

void svg_title_draw(FILE *f, const svg_title *t, double cx, double y, const char *attrs)
{
    for (int i = 0; i < t->lines; i++)
        svg_text_n(f, cx, y + i * t->size * 1.25, t->size, "middle", attrs, t->start[i],
                   t->len[i]);
}

/* Nine colours evenly spaced along each map (ColorBrewer's sequential
   Blues and Reds, as matplotlib has them), interpolated linearly in sRGB
   between them (SVG gradients interpolate the same way). */
enum { ANCHORS = 9 };
static const svg_rgb colormap_anchor[2][ANCHORS] = {
    {{0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef}, {0x9e, 0xca, 0xe1},
     {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6}, {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c},
     {0x08, 0x30, 0x6b}},
    {{0xff, 0xf5, 0xf0}, {0xfe, 0xe0, 0xd2}, {0xfc, 0xbb, 0xa1}, {0xfc, 0x92, 0x72},
     {0xfb, 0x6a, 0x4a}, {0xef, 0x3b, 0x2c}, {0xcb, 0x18, 0x1d}, {0xa5, 0x0f, 0x15},
     {0x67, 0x00, 0x0d}},
};

static unsigned char mix(unsigned char a, unsigned char b, double w)
{
    return (unsigned char)lround(a + (b - a) * w);
}

svg_rgb svg_colormap(svg_map map, double t)
{
    if (!(t > 0)) /* NaN too */
        t = 0;
    if (t > 1)
        t = 1;
    double pos = t * (ANCHORS - 1);
    int i = (int)pos;
    if (i > ANCHORS - 2)
        i = ANCHORS - 2;
    double w = pos - i;
    const svg_rgb *a = &colormap_anchor[map][i], *b = &colormap_anchor[map][i + 1];
    return (svg_rgb){mix(a->r, b->r, w), mix(a->g, b->g, w), mix(a->b, b->b, w)};
}

void svg_colormap_gradient(FILE *f, const char *id, svg_map map, double t0, double t1)
{
    fprintf(f, "<defs><linearGradient id=\"%s\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n", id);
    /* A stop at t0, t1 and every anchor between: the bar matches the map. */
    for (int i = -1; i <= ANCHORS; i++) {
        double t = i < 0 ? t0 : i == ANCHORS ? t1 : (double)i / (ANCHORS - 1);
        if (i >= 0 && i < ANCHORS && (t <= t0 || t >= t1))
            continue;
        char hex[8];
        svg_hex(svg_colormap(map, t), hex);
        fprintf(f, "<stop offset=\"%.6f\" stop-color=\"%s\"/>\n",
                t1 > t0 ? (t - t0) / (t1 - t0) : 0.0, hex);
    }
    fputs("</linearGradient></defs>\n", f);
}

void svg_hex(svg_rgb c, char out[8])
{
    snprintf(out, 8, "#%02x%02x%02x", c.r, c.g, c.b);
}

static double linear(unsigned char v)
{
    double s = v / 255.0;
    return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
}

double svg_luminance(svg_rgb c)
{
    return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}

const char *svg_text_color_on(svg_rgb c)
{
    /* Where dark grey (#262626) and white give the same contrast ratio. */
    return svg_luminance(c) > 0.22 ? "#262626" : "#ffffff";
}

const char *svg_series_color(int i)
{
    static const char *tab10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    return tab10[(i % 10 + 10) % 10];
}

int svg_ticks(double lo, double hi, int max_ticks, double min_step, double *first,
              double *step)
{
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi) || max_ticks < 2) {
        *first = lo, *step = 1;
        return 1;
    }
    double base = pow(10, floor(log10((hi - lo) / max_ticks)) - 1);
    static const double mult[3] = {1, 2, 5};
    for (int k = 0; k < 60; k++) {
        double s = base * mult[k % 3] * pow(10, k / 3);
        if (s < min_step)
            continue;
        double a = ceil(lo / s - 1e-9), b = floor(hi / s + 1e-9);
        int n = (int)(b - a) + 1;
        if (n <= max_ticks) {
            *first = a * s, *step = s;
            return n < 0 ? 0 : n;
        }
    }
    *first = lo, *step = hi - lo;
    return 2;
}

void svg_tick_label(double v, double step, char *buf, size_t size)
{
    int decimals = 0;
    if (step > 0 && step < 1)
        decimals = (int)ceil(-log10(step) - 1e-9);
    if (decimals > 10)
        decimals = 10;
    if (fabs(v) < step * 1e-6)
        v = 0;
    snprintf(buf, size, "%.*f", decimals, v);
}

/* ---------------------------------------------------------------- output */

int svg_output_kind(const char *path)
{
    size_t n = strlen(path);
    if (!strcmp(path, "-"))
        return SVG_OUT_SVG;
    if (n > 4 && !strcasecmp(path + n - 4, ".svg"))
        return SVG_OUT_SVG;
    if (n > 4 && !strcasecmp(path + n - 4, ".png"))
        return SVG_OUT_PNG;
    return SVG_OUT_BAD;
}

/* The full path of an executable program found in $PATH, into out. */
static int find_program(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;; p++) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        struct stat st;
        if (len == 0)
            snprintf(out, size, "%s", name);
        else
            snprintf(out, size, "%.*s/%s", (int)len, p, name);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 1;
        if (!colon)
            return 0;
        p = colon;
    }
}

static const char converter[] = "rsvg-convert";

static int png_error(const char *path)
{
    cli_say("%s: PNG output needs %s (apt-get install librsvg2-bin)", path,
            converter);
    return -1;
}

int svg_output_check(const char *option, const char *path)
{
    int kind = svg_output_kind(path);
    if (kind == SVG_OUT_BAD || !strcmp(path, "-"))
        return cli_error(EXIT_USAGE, "%s: '%s' must end in .svg or .png", option, path);
    char prog[4096];
    if (kind == SVG_OUT_PNG && !find_program(converter, prog, sizeof prog)) {
        png_error(path);
        return EXIT_FAILURE_RUN;
    }
    return EXIT_OK;
}

/* A temporary file that is already unlinked (so nothing is left behind),
   close-on-exec, at descriptor 3 or above.  -1 with errno on failure. */
static int scratch_file(void)
{
    const char *dir = getenv("TMPDIR");
    char p[4096];
    snprintf(p, sizeof p, "%s/cnn-svg-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(p);
    if (fd < 0)
        return -1;
    unlink(p);
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    errno = e;
    return high;
}

/* The first line of what the converter wrote to its stderr (fd). */
static void first_line(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
}

/* Run the converter: SVG from svg_fd, PNG to out_fd.  0, or -1 after a
   one-line error naming path. */
static int convert(const char *path, int svg_fd, int out_fd)
{
    char prog[4096];
    if (!find_program(converter, prog, sizeof prog))
        return png_error(path);
    int err_fd = scratch_file();
    if (err_fd < 0) {
        cli_say("%s: cannot create a temporary file: %s", path,
                strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, svg_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    char arg0[] = "rsvg-convert", arg1[] = "--format=png";
    char *argv[] = {arg0, arg1, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(err_fd);
        cli_say("%s: cannot run %s: %s", path, prog, strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            close(err_fd);
            cli_say("%s: waiting for %s: %s", path, converter,
                    strerror(errno));
            return -1;
        }
    }
    struct stat st;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && fstat(out_fd, &st) == 0 &&
        st.st_size > 0) {
        close(err_fd);
        return 0;
    }
    char why[256];
    first_line(err_fd, why, sizeof why);
    close(err_fd);
    if (!why[0]) {
        if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
        else if (WIFEXITED(status) && WEXITSTATUS(status))
            snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
        else
            snprintf(why, sizeof why, "no output");
    }
    cli_say("%s: %s failed: %s", path, converter, why);
    return -1;
}

static int save_png(const char *path, svg_draw_fn draw, void *ctx)
{
    char prog[4096];
    if (!find_program(converter, prog, sizeof prog))
        return png_error(path);
    int svg_fd = scratch_file();
    FILE *f = svg_fd >= 0 ? fdopen(svg_fd, "w+") : NULL;
    if (!f) {
        cli_say("%s: cannot create a temporary file: %s", path,
                strerror(errno));
        if (svg_fd >= 0)
            close(svg_fd);
        return -1;
    }
    int rc = draw(f, ctx);
    if (rc == 0 && (fflush(f) != 0 || ferror(f) || lseek(svg_fd, 0, SEEK_SET) != 0)) {
        cli_say("%s: writing the temporary SVG: %s", path, strerror(errno));
        rc = -1;
    }
    outfile o;
    if (rc == 0 && outfile_open(&o, path) == 0) {
        /* The converter writes to the temporary output's descriptor. */
        int out_fd = fcntl(o.a.fd, F_DUPFD_CLOEXEC, 3);
        if (out_fd < 0) {
            cli_say("%s: %s", path, strerror(errno));
            rc = -1;
        } else {
            rc = convert(path, svg_fd, out_fd);
            close(out_fd);
        }
        if (rc == 0)
            rc = outfile_commit(&o);
        else
            outfile_abort(&o);
    } else {
        rc = -1;
    }
    fclose(f);
    return rc;
}

int svg_save(const char *path, svg_draw_fn draw, void *ctx)
{
    int kind = svg_output_kind(path);
    if (kind == SVG_OUT_BAD) {
        cli_say("%s: an image must end in .svg or .png", path);
        return -1;
    }
    if (kind == SVG_OUT_PNG)
        return save_png(path, draw, ctx);
    outfile o;
    if (outfile_open(&o, path) != 0)
        return -1;
    if (draw(o.f, ctx) != 0) {
        outfile_abort(&o);
        return -1;
    }
    return outfile_commit(&o);
}
