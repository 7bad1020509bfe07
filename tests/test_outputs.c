/*
 * test_outputs.c — the cnn command's pictures and logs: the confusion-matrix
 * heatmap of `cnn eval --confusion` (well-formed SVG, one cell and one
 * count per matrix entry, counts equal to the printed table, the diagonal
 * darker by row share and the errors darker by count (empty ones white),
 * readable annotations, PNG output, bad and unwritable
 * paths), the curves of `cnn plot` (from hand-written CSV and JSON Lines
 * logs, escaped file names, one-line errors for bad logs), and the metrics
 * log of `cnn train --log` (columns, records, and a resumed run's log cut
 * back to its checkpoint).  Runs ./cnn on small synthetic IDX sets.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"

/* ------------------------------------------------------------ helpers */

static int have_cnn(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return 0;
    }
    return 1;
}

static int have_program(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* The whole file (malloc'ed, NUL-terminated), or NULL. */
static char *read_text(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (size)
            *size = (size_t)n;
    }
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A path in the temporary directory (static storage, eight in rotation:
   copy one that must outlive eight more calls). */
static const char *tmp_path(const char *name)
{
    static char buf[8][600];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return p;
}

/* Files in dir (not . or ..). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* An MNIST-style directory of count 8x8 images of `classes` classes, both
   splits: class k lights a band of columns, and about noise_pct percent of
   the pixels are flipped so that a small model is not perfect. */
static const char *write_idx_set(const char *name, int count, int classes, int noise_pct)
{
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    static const char *split[2] = {"train", "t10k"};
    unsigned long long rng = 12345;
    for (int s = 0; s < 2; s++) {
        size_t isize = 16 + (size_t)count * 64, lsize = 8 + (size_t)count;
        unsigned char *img = calloc(1, isize), *lab = calloc(1, lsize);
        put_be32(img, 0x803), put_be32(img + 4, (unsigned)count);
        put_be32(img + 8, 8), put_be32(img + 12, 8);
        put_be32(lab, 0x801), put_be32(lab + 4, (unsigned)count);
        for (int i = 0; i < count; i++) {
            int k = i % classes;
            lab[8 + i] = (unsigned char)k;
            for (int p = 0; p < 64; p++) {
                int lit = (p % 8) * classes / 8 == k;
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                if ((int)((rng >> 33) % 100) < noise_pct)
                    lit = !lit;
                img[16 + (size_t)i * 64 + p] = (unsigned char)(lit ? 220 : 15);
            }
        }
        char path[700];
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", name, split[s]);
        test_write_file(path, img, isize);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", name, split[s]);
        test_write_file(path, lab, lsize);
        free(img);
        free(lab);
    }
    return dir;
}

/* ------------------------------------------------ XML well-formedness */

static int is_name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' ||
           c >= 0x80;
}

static int is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* After '&': a predefined or numeric entity ending in ';'. */
static const char *skip_entity(const char *p)
{
    static const char *named[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
    for (size_t i = 0; i < 5; i++)
        if (!strncmp(p, named[i], strlen(named[i])))
            return p + strlen(named[i]);
    if (*p == '#') {
        const char *q = p + 1;
        int hex = *q == 'x';
        q += hex;
        const char *digits = q;
        while (hex ? strchr("0123456789abcdefABCDEF", *q) && *q : (*q >= '0' && *q <= '9'))
            q++;
        if (q > digits && *q == ';')
            return q + 1;
    }
    return NULL;
}

static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3
                : (*s & 0xf8) == 0xf0 ? 4 : 0;
        if (!n)
            return 0;
        for (int i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

/* A small check of XML well-formedness: declaration, DOCTYPE and comments
   skipped; tags nested and matched; attributes quoted, unique enough not
   to matter; '&' only in entities; one root element.  NULL when well
   formed, else what is wrong. */
static const char *xml_problem(const char *doc)
{
    if (!valid_utf8((const unsigned char *)doc))
        return "invalid UTF-8";
    const char *stack[256];
    size_t len[256];
    int depth = 0, roots = 0;
    const char *p = doc;
    while (*p) {
        if (*p != '<') {
            if (*p == '&') {
                if (!(p = skip_entity(p + 1)))
                    return "bare & in text";
                continue;
            }
            if (*p == '>')
                return "bare > in text";
            if (depth == 0 && !strchr(" \t\r\n", *p))
                return "text outside the root element";
            p++;
            continue;
        }
        if (!strncmp(p, "<?", 2)) {
            if (!(p = strstr(p, "?>")))
                return "unterminated <?";
            p += 2;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            if (!(p = strstr(p, "-->")))
                return "unterminated comment";
            p += 3;
            continue;
        }
        if (!strncmp(p, "<!DOCTYPE", 9)) {
            if (depth || roots || !(p = strchr(p, '>')))
                return "misplaced DOCTYPE";
            p++;
            continue;
        }
        int closing = p[1] == '/';
        const char *name = p + 1 + closing, *q = name;
        if (!is_name_start((unsigned char)*q))
            return "bad tag name";
        while (is_name_char((unsigned char)*q))
            q++;
        size_t n = (size_t)(q - name);
        if (closing) {
            while (*q == ' ' || *q == '\n')
                q++;
            if (*q != '>' || depth == 0 || len[depth - 1] != n ||
                strncmp(stack[depth - 1], name, n))
                return "mismatched closing tag";
            depth--;
            p = q + 1;
            continue;
        }
        /* attributes */
        for (;;) {
            const char *ws = q;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            if (*q == '>' || (q[0] == '/' && q[1] == '>'))
                break;
            if (q == ws || !is_name_start((unsigned char)*q))
                return "bad attribute";
            while (is_name_char((unsigned char)*q))
                q++;
            if (*q++ != '=')
                return "attribute without =";
            char quote = *q++;
            if (quote != '"' && quote != '\'')
                return "unquoted attribute";
            while (*q && *q != quote) {
                if (*q == '<')
                    return "< in an attribute";
                if (*q == '&') {
                    if (!(q = skip_entity(q + 1)))
                        return "bare & in an attribute";
                    continue;
                }
                q++;
            }
            if (!*q)
                return "unterminated attribute";
            q++;
        }
        if (depth == 0 && roots++)
            return "more than one root element";
        if (*q == '/') {
            p = q + 2;
            continue;
        }
        if (depth == 256)
            return "nesting too deep";
        stack[depth] = name, len[depth++] = n;
        p = q + 1;
    }
    if (depth)
        return "unclosed element";
    if (!roots)
        return "no root element";
    return NULL;
}

/* The SVG at path is well-formed XML (checked here, and by xmllint when it
   is installed) with a sized root; returns its text (malloc'ed) or NULL. */
static char *check_svg(const char *path)
{
    char *svg = read_text(path, NULL);
    CHECK(svg != NULL, "%s was not written", path);
    if (!svg)
        return NULL;
    const char *why = xml_problem(svg);
    CHECK(why == NULL, "%s is not well-formed: %s", path, why);
    if (have_program("xmllint")) {
        char cmd[800];
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>/dev/null", path);
        CHECK(system(cmd) == 0, "xmllint rejects %s", path);
    }
    const char *root = strstr(svg, "<svg ");
    CHECK(root && strstr(root, "xmlns=\"http://www.w3.org/2000/svg\"") &&
              strstr(root, " width=\"") && strstr(root, " height=\"") &&
              strstr(root, " viewBox=\"0 0 "),
          "%s: no sized SVG root", path);
    return svg;
}

/* ------------------------------------------------------- heatmap tests */

/* Relative luminance of "#rrggbb" (WCAG 2). */
static double luminance(const char *hex)
{
    unsigned v[3];
    if (sscanf(hex, "#%2x%2x%2x", &v[0], &v[1], &v[2]) != 3)
        return -1;
    double l[3];
    for (int i = 0; i < 3; i++) {
        double s = v[i] / 255.0;
        l[i] = s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}

static double contrast(double a, double b)
{
    return a > b ? (a + 0.05) / (b + 0.05) : (b + 0.05) / (a + 0.05);
}

/* The confusion matrix printed by eval (test_out) into m; its size. */
static int printed_matrix(long *m, int max)
{
    const char *p = strstr(test_out, "confusion matrix");
    if (!p || !(p = strchr(p, '\n')) || !(p = strchr(p + 1, '\n')))
        return 0;
    p++;
    int n = 0;
    /* The header line listed the classes; count the rows. */
    const char *header = strstr(test_out, "confusion matrix");
    header = strchr(header, '\n') + 1;
    for (const char *h = header; *h != '\n'; h++)
        if (*h >= '0' && *h <= '9' && (h[1] == ' ' || h[1] == '\n'))
            n++;
    if (n > max)
        return 0;
    for (int i = 0; i < n; i++) {
        char *end;
        long row = strtol(p, &end, 10);
        if (row != i)
            return 0;
        p = end;
        for (int j = 0; j < n; j++) {
            m[i * n + j] = strtol(p, &end, 10);
            if (end == p)
                return 0;
            p = end;
        }
    }
    return n;
}

/* Cells and annotations of a heatmap, in document order. */
typedef struct cells {
    int n;
    char fill[64][8], text_fill[64][8];
    long count[64];
} cells;

static void read_cells(const char *svg, cells *c)
{
    c->n = 0;
    for (const char *p = svg; (p = strstr(p, "class=\"cell\"")) && c->n < 64; p++) {
        const char *end = strchr(p, '>'), *fill = strstr(p, "fill=\"");
        const char *text = strstr(p, "class=\"count\"");
        if (!end || !fill || fill > end || !text)
            break;
        const char *tf = strstr(text, "fill=\""), *gt = strchr(text, '>');
        if (!tf || !gt || tf > gt)
            break;
        snprintf(c->fill[c->n], 8, "%.7s", fill + 6);
        snprintf(c->text_fill[c->n], 8, "%.7s", tf + 6);
        c->count[c->n] = strtol(gt + 1, NULL, 10);
        c->n++;
    }
}

/* Check a heatmap against the matrix eval printed: one cell and count per
   entry, counts equal, readable annotations, and its two scales: on the
   diagonal a higher share of the row drawn darker (blues); off it, an
   empty cell white and a larger count drawn darker (reds), the largest
   error count the darkest cell of them.  Returns the number of pairs of
   cells whose order was checked. */
static int check_heatmap(const char *path, const long *m, int n)
{
    char *svg = check_svg(path);
    if (!svg)
        return 0;
    CHECK(count_of(svg, "class=\"cell\"") == n * n, "%d cells, expected %d",
          count_of(svg, "class=\"cell\""), n * n);
    CHECK(count_of(svg, "class=\"count\"") == n * n, "%d counts, expected %d",
          count_of(svg, "class=\"count\""), n * n);
    CHECK(strstr(svg, ">Predicted label<") && strstr(svg, ">True label<"), "axis titles");
    CHECK(count_of(svg, "class=\"colorbar\"") == 2 && count_of(svg, "<linearGradient") == 2,
          "two colour bars");
    cells c;
    read_cells(svg, &c);
    CHECK(c.n == n * n, "read %d cells", c.n);
    double rate[64];
    long most = 0;
    for (int i = 0; i < n && c.n == n * n; i++) {
        long total = 0;
        for (int j = 0; j < n; j++)
            total += m[i * n + j];
        for (int j = 0; j < n; j++) {
            int k = i * n + j;
            rate[k] = total ? (double)m[k] / (double)total : 0;
            if (i != j && m[k] > most)
                most = m[k];
            CHECK(c.count[k] == m[k], "cell (%d,%d): %ld in the SVG, %ld printed", i, j,
                  c.count[k], m[k]);
            double lc = luminance(c.fill[k]), lt = luminance(c.text_fill[k]);
            CHECK(lc >= 0 && lt >= 0, "bad colours %s %s", c.fill[k], c.text_fill[k]);
            CHECK(contrast(lc, lt) >= 4.0, "cell (%d,%d): text %s on %s is hard to read", i, j,
                  c.text_fill[k], c.fill[k]);
            if (i != j && m[k] == 0)
                CHECK(!strcmp(c.fill[k], "#ffffff"), "empty cell (%d,%d) drawn %s", i, j,
                      c.fill[k]);
            if (i != j && m[k] > 0)
                CHECK(luminance(c.fill[k]) < 0.8, "error cell (%d,%d) of %ld drawn %s: too pale",
                      i, j, m[k], c.fill[k]);
        }
    }
    int ordered = 0;
    for (int a = 0; a < c.n && c.n == n * n; a++)
        for (int b = 0; b < c.n; b++) {
            int da = a / n == a % n, db = b / n == b % n;
            if (da != db)
                continue;
            double va = da ? rate[a] : (double)m[a], vb = db ? rate[b] : (double)m[b];
            if (va > vb + 1e-9) {
                ordered++;
                CHECK(luminance(c.fill[a]) < luminance(c.fill[b]),
                      "%s %.3f drawn %s, not darker than %.3f drawn %s",
                      da ? "share" : "error count", va, c.fill[a], vb, c.fill[b]);
            }
            if (!da && m[a] == most && most > 0 && m[b] < most)
                CHECK(luminance(c.fill[a]) < luminance(c.fill[b]),
                      "the largest error count %ld (%s) is not the darkest error", most,
                      c.fill[a]);
        }
    free(svg);
    return ordered;
}

static const char *tiny_spec = "conv3x3:4:same,relu,flatten,dense:4,softmax";

static void heatmap_matches_eval(void)
{
    if (!have_cnn())
        return;
    const char *dir = write_idx_set("heat", 80, 4, 18);
    const char *w0 = tmp_path("heat-init.safetensors"), *w1 = tmp_path("heat-trained.safetensors");
    char args[2000];
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 0 --save %s --quiet", dir,
             tiny_spec, w0);
    CHECK(test_cnn(args) == 0, "save initial weights: %s", test_err);
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 6 --batch 8 --save %s --quiet",
             dir, tiny_spec, w1);
    CHECK(test_cnn(args) == 0, "train: %s", test_err);

    /* Untrained: a mixed matrix. */
    const char *svg0 = tmp_path("heat0.svg");
    snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s", dir, w0, svg0);
    CHECK(test_cnn(args) == 0, "eval --confusion: %s", test_err);
    long m[64];
    int n = printed_matrix(m, 8);
    CHECK(n == 4, "printed matrix of %d classes:\n%s", n, test_out);
    int ordered = n == 4 ? check_heatmap(svg0, m, n) : 0;
    CHECK(ordered > 0, "all values equal: the colour order was not tested");

    /* Trained: both scales again. */
    const char *svg1 = tmp_path("heat1.svg");
    snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s", dir, w1, svg1);
    CHECK(test_cnn(args) == 0, "eval --confusion: %s", test_err);
    double accuracy = 0;
    const char *acc = strstr(test_out, "test accuracy: ");
    if (acc)
        accuracy = strtod(acc + 15, NULL);
    n = printed_matrix(m, 8);
    CHECK(n == 4, "printed matrix of %d classes", n);
    if (n == 4) {
        check_heatmap(svg1, m, n);
        char *svg = read_text(svg1, NULL);
        char want[64];
        snprintf(want, sizeof want, "test accuracy %.2f%%", 100 * accuracy);
        CHECK(svg && strstr(svg, want), "title lacks '%s'", want);
        free(svg);
    }
}

static void heatmap_png_and_bad_paths(void)
{
    if (!have_cnn())
        return;
    const char *dir = write_idx_set("heatpng", 24, 3, 10);
    char w[600];
    snprintf(w, sizeof w, "%s", tmp_path("heatpng.safetensors"));
    char args[2000];
    snprintf(args, sizeof args,
             "train --data %s --model conv3x3:2:same,relu,flatten,dense:3,softmax --epochs 0 "
             "--save %s --quiet", dir, w);
    CHECK(test_cnn(args) == 0, "save: %s", test_err);

    if (have_program("rsvg-convert")) {
        const char *png = tmp_path("heat.png");
        snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s --quiet", dir, w,
                 png);
        CHECK(test_cnn(args) == 0, "eval --confusion png: %s", test_err);
        size_t size = 0;
        char *data = read_text(png, &size);
        CHECK(data && size > 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8), "no PNG signature");
        free(data);
    } else {
        test_skip("rsvg-convert not installed: PNG output not checked");
    }

    /* Without rsvg-convert on PATH: a one-line error, exit 1, no file. */
    const char *png2 = tmp_path("nopath.png");
    char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent-bin", 1);
    snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s", dir, w, png2);
    int rc = test_cnn(args);
    if (saved)
        setenv("PATH", saved, 1);
    free(saved);
    CHECK(rc == 1, "missing rsvg-convert exit %d", rc);
    CHECK_ONE_LINE_ERROR("rsvg-convert");
    CHECK(strstr(test_err, "librsvg2-bin"), "no install hint: %s", test_err);
    CHECK(!exists(png2), "%s was created", png2);

    /* Another extension: bad usage naming the option. */
    snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s", dir, w,
             tmp_path("heat.jpg"));
    CHECK(test_cnn(args) == 2, "bad extension exit");
    CHECK_ONE_LINE_ERROR("--confusion");

    /* An unwritable destination: exit 1, one line naming it, nothing left. */
    snprintf(args, sizeof args, "eval --data %s --load %s --confusion /nonexistent/dir/c.svg",
             dir, w);
    CHECK(test_cnn(args) == 1, "unwritable exit");
    CHECK_ONE_LINE_ERROR("/nonexistent/dir/c.svg");

    /* A destination that cannot be replaced (a directory): the temporary
       file is removed. */
    const char *box = tmp_path("box");
    mkdir(box, 0755);
    char target[700];
    snprintf(target, sizeof target, "%s/c.svg", box);
    mkdir(target, 0755);
    snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s", dir, w, target);
    CHECK(test_cnn(args) == 1, "unreplaceable exit");
    CHECK_ONE_LINE_ERROR(target);
    CHECK(dir_entries(box) == 1, "something was left in %s", box);
    if (have_program("rsvg-convert")) {
        snprintf(target, sizeof target, "%s/c.png", box);
        mkdir(target, 0755);
        snprintf(args, sizeof args, "eval --data %s --load %s --confusion %s", dir, w, target);
        CHECK(test_cnn(args) == 1, "unreplaceable png exit");
        CHECK_ONE_LINE_ERROR(target);
        CHECK(dir_entries(box) == 2, "something was left in %s", box);
    }
}

/* --------------------------------------------------------- curve tests */

static const char *csv_header =
    "kind,epoch,step,epoch_fraction,loss,accuracy,val_loss,val_accuracy,images_per_s,wall_s\n";

/* A hand-written log of 3 epochs of 4 steps, step records every 2 steps,
   validation after each epoch, as CSV or JSON Lines. */
static const char *write_log(const char *name, int json)
{
    static const double loss[6] = {1.9, 0.9, 0.6, 0.45, 0.4, 0.3};
    static const double val_loss[3] = {0.7, 0.5, 0.42};
    char text[4096];
    size_t at = 0;
    if (!json)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s", csv_header);
    for (int k = 0; k < 6; k++) {
        int epoch = k / 2 + 1, done = k % 2 == 1;
        long step = 2L * (k + 1);
        double frac = epoch - 1 + (done ? 1.0 : 0.5), acc = 1 - loss[k] / 2;
        if (json) {
            char val[128] = "\"val_loss\":null,\"val_accuracy\":null";
            if (done)
                snprintf(val, sizeof val, "\"val_loss\":%g,\"val_accuracy\":%g",
                         val_loss[k / 2], 1 - val_loss[k / 2] / 2);
            at += (size_t)snprintf(text + at, sizeof text - at,
                                   "{\"kind\":\"%s\",\"epoch\":%d,\"step\":%ld,"
                                   "\"epoch_fraction\":%g,\"loss\":%g,\"accuracy\":%g,%s,"
                                   "\"images_per_s\":1000,\"wall_s\":%d}\n",
                                   done ? "epoch" : "step", epoch, step, frac, loss[k], acc,
                                   val, k);
        } else {
            char val[64] = ",";
            if (done)
                snprintf(val, sizeof val, "%g,%g", val_loss[k / 2], 1 - val_loss[k / 2] / 2);
            at += (size_t)snprintf(text + at, sizeof text - at, "%s,%d,%ld,%g,%g,%g,%s,1000,%d\n",
                                   done ? "epoch" : "step", epoch, step, frac, loss[k], acc,
                                   val, k);
        }
    }
    return test_write_file(name, text, at);
}

/* The points="..." of the n-th polyline of class cls (static storage). */
static const char *polyline_points(const char *svg, const char *cls, int n)
{
    static char buf[4096];
    char needle[64];
    snprintf(needle, sizeof needle, "<polyline class=\"%s\"", cls);
    const char *p = svg;
    for (int i = 0; i <= n; i++) {
        if (!(p = strstr(p, needle)))
            return NULL;
        p += strlen(needle);
    }
    const char *pts = strstr(p, "points=\"");
    if (!pts)
        return NULL;
    pts += 8;
    size_t len = strcspn(pts, "\"");
    snprintf(buf, sizeof buf, "%.*s", (int)len, pts);
    return buf;
}

static void curves_from_handwritten_logs(void)
{
    if (!have_cnn())
        return;
    const char *csv = write_log("run.csv", 0);
    char args[2000], csv_path[600], jsonl_path[600];
    snprintf(csv_path, sizeof csv_path, "%s", csv);
    snprintf(jsonl_path, sizeof jsonl_path, "%s", write_log("run.jsonl", 1));

    /* Default output: the log's name with .svg. */
    snprintf(args, sizeof args, "plot %s", csv_path);
    CHECK(test_cnn(args) == 0, "plot: %s", test_err);
    char *a = check_svg(tmp_path("run.svg"));
    snprintf(args, sizeof args, "plot %s -o %s", jsonl_path, tmp_path("run-jsonl.svg"));
    CHECK(test_cnn(args) == 0, "plot jsonl: %s", test_err);
    char *b = check_svg(tmp_path("run-jsonl.svg"));
    if (a && b) {
        /* Markers: 3 epoch records and 3 validations, in both panels. */
        CHECK(count_of(a, "class=\"train-marker\"") == 6, "train markers: %d",
              count_of(a, "class=\"train-marker\""));
        CHECK(count_of(a, "class=\"test-marker\"") == 6, "test markers");
        /* Step records: one thin line per epoch and panel. */
        CHECK(count_of(a, "<polyline class=\"train-steps\"") == 6, "step lines: %d",
              count_of(a, "<polyline class=\"train-steps\""));
        CHECK(strstr(a, ">loss<") && strstr(a, ">accuracy<") && strstr(a, ">epoch<"),
              "axis labels");
        CHECK(strstr(a, "class=\"legend\""), "no legend");
        /* The epoch axis has whole epochs only (twice: both panels). */
        int ticks = 0;
        for (const char *p = a; (p = strstr(p, "class=\"xtick\"")); p++) {
            const char *gt = strchr(p, '>');
            char *end;
            long v = gt ? strtol(gt + 1, &end, 10) : -1;
            CHECK(gt && end != gt + 1 && *end == '<' && v >= 0, "epoch tick '%.12s'",
                  gt ? gt + 1 : "");
            ticks++;
        }
        CHECK(ticks >= 4, "%d epoch ticks", ticks);
        /* Each epoch's step line ends at its epoch record. */
        for (int e = 0; e < 3; e++) {
            const char *st = polyline_points(a, "train-steps", e);
            const char *last = st ? strrchr(st, ' ') : NULL;
            double sx = last ? strtod(last + 1, NULL) : -1, ex = -2;
            const char *ep = polyline_points(a, "train", 0);
            for (int k = 0; ep && k <= e; k++, ep = strchr(ep, ' '), ep = ep ? ep + 1 : NULL)
                ex = strtod(ep, NULL);
            CHECK(fabs(sx - ex) < 0.01, "epoch %d's step line ends at x %g, its record at %g",
                  e + 1, sx, ex);
        }
        /* Both readers give the same curves. */
        for (int i = 0; i < 2; i++) {
            const char *pa = polyline_points(a, "train", i);
            char keep[4096];
            snprintf(keep, sizeof keep, "%s", pa ? pa : "");
            const char *pb = polyline_points(b, "train", i);
            CHECK(pa && pb && !strcmp(keep, pb), "CSV and JSONL curves differ: %s | %s", keep,
                  pb ? pb : "");
        }
        /* The loss panel's train line falls as the loss does: pixel y
           grows (1.9... then 0.9, 0.45, 0.3 at the epoch ends). */
        const char *pts = polyline_points(a, "train", 0);
        double x[3], y[3];
        int got = pts ? sscanf(pts, "%lf,%lf %lf,%lf %lf,%lf", &x[0], &y[0], &x[1], &y[1], &x[2],
                               &y[2]) : 0;
        CHECK(got == 6 && x[0] < x[1] && x[1] < x[2] && y[0] < y[1] && y[1] < y[2],
              "loss line points: %s", pts ? pts : "none");
        if (got == 6)
            CHECK(fabs((y[1] - y[0]) / (y[2] - y[1]) - (0.9 - 0.45) / (0.45 - 0.3)) < 0.05,
                  "loss line is not to scale: %s", pts);
    }
    free(a);
    free(b);

    /* A name that needs escaping, and PNG output. */
    char odd[600];
    snprintf(odd, sizeof odd, "%s/r&d <1>'s.csv", test_tmpdir());
    rename(csv_path, odd);
    snprintf(args, sizeof args, "plot \"%s\" -o %s --quiet", odd, tmp_path("odd.svg"));
    CHECK(test_cnn(args) == 0, "plot odd name: %s", test_err);
    char *c = check_svg(tmp_path("odd.svg"));
    CHECK(c && strstr(c, "r&amp;d &lt;1&gt;&apos;s.csv"), "file name not escaped");
    free(c);
    if (have_program("rsvg-convert")) {
        snprintf(args, sizeof args, "plot %s -o %s --quiet", jsonl_path, tmp_path("curves.png"));
        CHECK(test_cnn(args) == 0, "plot png: %s", test_err);
        size_t size = 0;
        char *png = read_text(tmp_path("curves.png"), &size);
        CHECK(png && size > 8 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8), "no PNG signature");
        free(png);
    }
}

/* Plot a log holding text; expect exit 1 and a one-line error with want. */
static void expect_bad_log(const char *name, const char *text, const char *want)
{
    const char *path = test_write_file(name, text, strlen(text));
    char args[1400], mention[700];
    snprintf(mention, sizeof mention, "%s%s", path, want);
    snprintf(args, sizeof args, "plot %s -o %s", path, tmp_path("bad.svg"));
    CHECK(test_cnn(args) == 1, "%s: exit not 1", name);
    CHECK(test_count_lines(test_err) == 1 && strstr(test_err, mention),
          "%s: expected one line with '%s', got '%s'", name, mention, test_err);
    CHECK(!exists(tmp_path("bad.svg")), "%s: an image was written", name);
}

static void bad_logs_give_one_line_errors(void)
{
    if (!have_cnn())
        return;
    char args[1400], row[256];
    snprintf(args, sizeof args, "plot %s/missing.csv", test_tmpdir());
    CHECK(test_cnn(args) == 1, "missing log exit");
    CHECK_ONE_LINE_ERROR("missing.csv");
    expect_bad_log("empty.csv", "", ": empty");
    expect_bad_log("blank.jsonl", "\n\n  \n", ": empty");
    expect_bad_log("header.csv", csv_header, ": no records");
    snprintf(row, sizeof row, "%sstep,1,2,0.5,0.9,0.6,,,100,1\nstep,1,4,0.9\n", csv_header);
    expect_bad_log("short.csv", row, ":3:");
    snprintf(row, sizeof row, "%sstep,1,2,0.5,0.9,0.6,,,100,1\n\nstep,1,4,1,abc,0.7,,,100,2\n",
             csv_header);
    expect_bad_log("number.csv", row, ":4:");
    snprintf(row, sizeof row, "%sjump,1,2,0.5,0.9,0.6,,,100,1\n", csv_header);
    expect_bad_log("kind.csv", row, ":2:");
    snprintf(row, sizeof row, "%sstep,1,2,\"0.5,0.9,0.6,,,100,1\n", csv_header);
    expect_bad_log("quote.csv", row, ":2:");
    expect_bad_log("noheader.csv", "step,1,2,0.5,0.9,0.6,,,100,1\n", ":1:");
    expect_bad_log("json.jsonl",
                   "{\"kind\":\"step\",\"epoch\":1,\"step\":2,\"loss\":1,\"accuracy\":0.5}\n"
                   "{\"kind\":\"step\",\"epoch\":1,\"step\":\n", ":2:");
    expect_bad_log("nostep.jsonl", "{\"kind\":\"epoch\",\"epoch\":1,\"loss\":1,\"accuracy\":0.5}\n",
                   ":1:");
    expect_bad_log("type.json",
                   "{\"kind\":\"epoch\",\"epoch\":1,\"step\":3,\"loss\":\"low\",\"accuracy\":0.5}\n",
                   ":1:");
    expect_bad_log("array.jsonl", "[1,2,3]\n", ":1:");

    /* Usage errors: no log, an output that is no image. */
    CHECK(test_cnn("plot") == 2, "plot without a log");
    CHECK(test_count_lines(test_err) == 1, "stderr: %s", test_err);
    const char *good = write_log("good.csv", 0);
    snprintf(args, sizeof args, "plot %s -o %s", good, tmp_path("curves.gif"));
    CHECK(test_cnn(args) == 2, "bad output extension");
    CHECK_ONE_LINE_ERROR("--output");
    snprintf(args, sizeof args, "plot %s -o /nonexistent/dir/curves.svg", good);
    CHECK(test_cnn(args) == 1, "unwritable output");
    CHECK_ONE_LINE_ERROR("/nonexistent/dir/curves.svg");
}

/* ------------------------------------------------------ metrics log tests */

/* Split a CSV line in place at commas (no quotes in cnn's logs). */
static int split_csv(char *line, char **field, int max)
{
    int n = 0;
    field[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = 0;
            field[n++] = p + 1;
        }
    return n;
}

/* Check a CSV log of `epochs` epochs with validation; returns its record
   count (0 when it was not written, the test then skipped). */
static int check_csv_log(const char *path, int epochs)
{
    char *text = read_text(path, NULL);
    if (!text)
        return 0;
    CHECK(!strncmp(text, csv_header, strlen(csv_header)), "header: %.120s", text);
    int records = 0, epoch_records = 0;
    long last_step = 0;
    char *save = NULL;
    for (char *line = strtok_r(text + strlen(csv_header), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[16];
        int n = split_csv(line, f, 16);
        records++;
        CHECK(n == 10, "record %d has %d fields", records, n);
        if (n != 10)
            break;
        int is_epoch = !strcmp(f[0], "epoch");
        CHECK(is_epoch || !strcmp(f[0], "step"), "kind '%s'", f[0]);
        long step = atol(f[2]);
        CHECK(step > last_step, "steps not increasing: %ld after %ld", step, last_step);
        last_step = step;
        double frac = atof(f[3]), loss = atof(f[4]), acc = atof(f[5]);
        CHECK(frac > atoi(f[1]) - 1 && frac <= atoi(f[1]) + 1e-9, "epoch_fraction %s in epoch %s",
              f[3], f[1]);
        CHECK(isfinite(loss) && loss > 0 && acc >= 0 && acc <= 1, "loss %s accuracy %s", f[4],
              f[5]);
        CHECK(is_epoch ? (*f[6] && *f[7]) : (!*f[6] && !*f[7]),
              "validation columns '%s' '%s' on a %s record", f[6], f[7], f[0]);
        CHECK(atof(f[8]) > 0 && atof(f[9]) > 0, "speed '%s' wall '%s'", f[8], f[9]);
        if (is_epoch) {
            epoch_records++;
            CHECK(fabs(frac - atoi(f[1])) < 1e-9, "epoch record at fraction %s", f[3]);
        }
    }
    CHECK(epoch_records == epochs, "%d epoch records, expected %d", epoch_records, epochs);
    free(text);
    return records;
}

static void train_writes_logs(void)
{
    if (!have_cnn())
        return;
    const char *dir = write_idx_set("logs", 40, 4, 10);
    const char *csv = tmp_path("train.csv");
    char args[2000];
    /* 40 images, batch 8: 5 steps an epoch; a step record every 2. */
    snprintf(args, sizeof args,
             "train --data %s --model %s --epochs 2 --batch 8 --validate --log %s "
             "--log-every 2 --threads 1 --quiet", dir, tiny_spec, csv);
    CHECK(test_cnn(args) == 0, "train --log: %s", test_err);
    CHECK(exists(csv), "train --log wrote no log");
    if (!exists(csv))
        return;
    /* Steps 2, 4, 5 (epoch), 6, 8, 10 (epoch). */
    CHECK(check_csv_log(csv, 2) == 6, "record count");

    const char *jsonl = tmp_path("train.jsonl");
    snprintf(args, sizeof args,
             "train --data %s --model %s --epochs 2 --batch 8 --validate --log %s "
             "--log-every 2 --threads 1 --quiet", dir, tiny_spec, jsonl);
    CHECK(test_cnn(args) == 0, "train --log jsonl: %s", test_err);
    char *text = read_text(jsonl, NULL);
    CHECK(text != NULL, "no JSON log");
    int n = 0, epochs = 0;
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        n++;
        CHECK(json_is_object(o), "line %d is not a JSON object: %s", n, err.text);
        if (!o)
            continue;
        int is_epoch = !strcmp(json_string_value(json_object_get(o, "kind")) ?
                               json_string_value(json_object_get(o, "kind")) : "", "epoch");
        epochs += is_epoch;
        CHECK(json_is_integer(json_object_get(o, "step")) &&
                  json_is_integer(json_object_get(o, "epoch")) &&
                  json_is_number(json_object_get(o, "loss")) &&
                  json_is_number(json_object_get(o, "accuracy")) &&
                  json_is_number(json_object_get(o, "epoch_fraction")) &&
                  json_is_number(json_object_get(o, "images_per_s")) &&
                  json_is_number(json_object_get(o, "wall_s")),
              "line %d: fields missing", n);
        CHECK(is_epoch ? json_is_number(json_object_get(o, "val_accuracy"))
                       : json_is_null(json_object_get(o, "val_accuracy")),
              "line %d: val_accuracy", n);
        json_decref(o);
    }
    CHECK(n == 6 && epochs == 2, "%d JSON records, %d epochs", n, epochs);
    free(text);

    /* Both plot. */
    snprintf(args, sizeof args, "plot %s --quiet", csv);
    CHECK(test_cnn(args) == 0, "plot csv: %s", test_err);
    free(check_svg(tmp_path("train.svg")));
    snprintf(args, sizeof args, "plot %s -o %s --quiet", jsonl, tmp_path("train-j.svg"));
    CHECK(test_cnn(args) == 0, "plot jsonl: %s", test_err);
    free(check_svg(tmp_path("train-j.svg")));

    /* An unknown log format is bad usage. */
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 1 --log %s --quiet", dir,
             tiny_spec, tmp_path("train.txt"));
    CHECK(test_cnn(args) == 2, "--log .txt accepted");
    CHECK_ONE_LINE_ERROR("--log");
    CHECK(!exists(tmp_path("train.txt")), "a .txt log was written");
}

/* The step, loss and accuracy columns of a CSV log's records (the run's
   numbers, not its timings, nor its kind: a run stopped by --steps marks
   its last step as an epoch's end), "step:loss:accuracy" a line
   (malloc'ed). */
static char *log_numbers(const char *path)
{
    char *text = read_text(path, NULL);
    if (!text)
        return NULL;
    char *out = calloc(1, strlen(text) + 1);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[16];
        if (split_csv(line, f, 16) == 10 && strcmp(f[0], "kind"))
            sprintf(out + strlen(out), "%s:%s:%s\n", f[2], f[4], f[5]);
    }
    free(text);
    return out;
}

static void resumed_log_is_cut_back(void)
{
    if (!have_cnn())
        return;
    const char *dir = write_idx_set("resume", 40, 4, 10);
    const char *full = tmp_path("full.csv"), *log = tmp_path("resumed.csv");
    const char *ckpt = tmp_path("run.ckpt");
    char args[2400];
    /* The uninterrupted run. */
    snprintf(args, sizeof args,
             "train --data %s --model %s --epochs 3 --batch 8 --log %s --log-every 1 "
             "--threads 1 --quiet", dir, tiny_spec, full);
    CHECK(test_cnn(args) == 0, "full run: %s", test_err);
    CHECK(exists(full), "train --log wrote no log");
    if (!exists(full))
        return;
    /* Stopped after 7 steps with a checkpoint... */
    snprintf(args, sizeof args,
             "train --data %s --model %s --epochs 3 --batch 8 --log %s --log-every 1 "
             "--threads 1 --steps 7 --checkpoint %s --quiet", dir, tiny_spec, log, ckpt);
    CHECK(test_cnn(args) == 0, "first part: %s", test_err);
    /* ...and a log that went further than the checkpoint, ending in a
       line cut short. */
    FILE *f = fopen(log, "a");
    if (f) {
        fputs("step,2,8,1.6,123,0.5,,,1000,9\nstep,2,9,1.8,123,0.5,,,1000,9\nstep,2,10,", f);
        fclose(f);
    }
    snprintf(args, sizeof args, "train --data %s --resume %s --log %s --log-every 1 --quiet", dir,
             ckpt, log);
    CHECK(test_cnn(args) == 0, "resumed: %s", test_err);
    char *a = log_numbers(full), *b = log_numbers(log);
    CHECK(a && b && !strcmp(a, b), "resumed log differs from the uninterrupted one:\n%s\nvs\n%s",
          b ? b : "", a ? a : "");
    CHECK(test_count_lines(a ? a : "") == 15, "full run: %d records", test_count_lines(a ? a : ""));
    free(a);
    free(b);
    char *text = read_text(log, NULL);
    CHECK(text && !strstr(text, ",123,"), "stale records kept");
    CHECK(text && count_of(text, "kind,") == 1, "header repeated");
    free(text);
}

TEST_TABLE(outputs, {"heatmap_matches_eval", heatmap_matches_eval},
           {"heatmap_png_and_bad_paths", heatmap_png_and_bad_paths},
           {"curves_from_handwritten_logs", curves_from_handwritten_logs},
           {"bad_logs_give_one_line_errors", bad_logs_give_one_line_errors},
           {"train_writes_logs", train_writes_logs},
           {"resumed_log_is_cut_back", resumed_log_is_cut_back})
