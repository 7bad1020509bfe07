/*
 * test_predict.c — `cnn predict`, `cnn summary --dot` and `cnn compare` as a
 * user meets them, on a small synthetic IDX set written here: the CSV of
 * the test split (one row per image, probabilities that sum to 1, the
 * accuracy of `cnn eval`), test images written as PGM (P5, P2, 16-bit) and
 * PNG (built here with zlib) classified as their CSV rows say, one-line
 * errors for wrong-size, truncated and corrupt images, the DOT graph
 * against the summary table (and through `dot -Tsvg` and `xmllint` when
 * installed), the comparison table against `cnn train`, and (when
 * python3-torch is installed) bench/twin_check.py: the PyTorch twin of
 * bench/ gives `cnn predict`'s probabilities for a batch-norm model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "tests.h"

enum { SIDE = 8, NCLASS = 3, NTRAIN = 120, NTEST = 30 };
#define SPEC "conv3x3:4:same,bn,relu,maxpool2,dropout:0.2,flatten,dense:3,softmax"

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A one-line error on stderr that mentions `what`. */
#define CHECK_ERROR_LINE(what)                                               \
    CHECK(count_lines(test_err) == 1 && strstr(test_err, what), "stderr: '%s'", test_err)

static void be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Image i of a split: a bright band of rows that depends on the label,
   over a faint pattern. */
static void synth_image(int i, int split, unsigned char *px)
{
    int label = i % NCLASS;
    for (int p = 0; p < SIDE * SIDE; p++) {
        int row = p / SIDE, noise = (i * 7 + p * 13 + split * 5) % 40;
        px[p] = (unsigned char)(row / 3 == label ? 180 + noise : 10 + noise);
    }
}

static unsigned char test_images[NTEST][SIDE * SIDE];

/* The synthetic MNIST-style directory (train and t10k splits). */
static const char *write_data(void)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/pdata", test_tmpdir());
    mkdir(dir, 0755);
    static const char *const names[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        int n = s ? NTEST : NTRAIN;
        size_t isz = 16 + (size_t)n * SIDE * SIDE;
        unsigned char *img = calloc(1, isz), *lab = calloc(1, 8 + (size_t)n);
        be32(img, 0x803), be32(img + 4, (unsigned long)n), be32(img + 8, SIDE);
        be32(img + 12, SIDE), be32(lab, 0x801), be32(lab + 4, (unsigned long)n);
        for (int i = 0; i < n; i++) {
            lab[8 + i] = (unsigned char)(i % NCLASS);
            synth_image(i, s, img + 16 + (size_t)i * SIDE * SIDE);
            if (s)
                memcpy(test_images[i], img + 16 + (size_t)i * SIDE * SIDE, SIDE * SIDE);
        }
        char path[128];
        snprintf(path, sizeof path, "pdata/%s-images-idx3-ubyte", names[s]);
        test_write_file(path, img, isz);
        snprintf(path, sizeof path, "pdata/%s-labels-idx1-ubyte", names[s]);
        test_write_file(path, lab, 8 + (size_t)n);
        free(img);
        free(lab);
    }
    return dir;
}

/* The data directory and weights trained on it (made once); NULL, with a
   skip note, when ./cnn is missing. */
static const char *data_dir, *weights;
static int fixture(void)
{
    static char w[512];
    static int state; /* 0: not tried, 1: ready, -1: failed */
    if (state)
        return state > 0;
    state = -1;
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return 0;
    }
    data_dir = write_data();
    snprintf(w, sizeof w, "%s/pweights.safetensors", test_tmpdir());
    char args[1400];
    snprintf(args, sizeof args,
             "train --data %s --model %s --epochs 3 --batch 8 --threads 1 --save %s --quiet",
             data_dir, SPEC, w);
    int rc = test_cnn(args);
    CHECK(rc == 0, "training the fixture failed (%d): %s", rc, test_err);
    if (rc != 0)
        return 0;
    weights = w;
    state = 1;
    return 1;
}

/* The whole text of a file (static buffer), or NULL. */
static const char *read_text(const char *path)
{
    static char buf[1 << 17];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* ------------------------------------------------------------ CSV mode */

/* A file's text, "" when it is missing. */
static const char *saved_copy(const char *path)
{
    const char *t = read_text(path);
    return t ? t : "";
}

/* One parsed CSV row. */
typedef struct csv_row {
    int index, label, predicted;
    double p[NCLASS];
} csv_row;

static csv_row rows[NTEST];

/* Parse the predictions CSV into rows[]; returns the number of rows, -1
   when the header or a row is malformed. */
static int parse_csv(const char *text)
{
    const char *header = "index,label,predicted,p0,p1,p2\n";
    if (strncmp(text, header, strlen(header)) != 0)
        return -1;
    const char *s = text + strlen(header);
    int n = 0;
    while (*s) {
        if (n == NTEST)
            return -1;
        csv_row *r = &rows[n];
        int used = 0;
        if (sscanf(s, "%d,%d,%d,%lf,%lf,%lf%n", &r->index, &r->label, &r->predicted, &r->p[0],
                   &r->p[1], &r->p[2], &used) != 6 || s[used] != '\n')
            return -1;
        s += used + 1;
        n++;
    }
    return n;
}

static void predict_writes_one_csv_row_per_test_image(void)
{
    if (!fixture())
        return;
    char args[1400], csv[600];
    snprintf(csv, sizeof csv, "%s/pred.csv", test_tmpdir());
    snprintf(args, sizeof args, "predict --load %s --data %s -o %s", weights, data_dir, csv);
    CHECK(test_cnn(args) == 0, "predict: %s", test_err);
    CHECK(count_lines(test_err) == 1 && strstr(test_err, "accuracy"), "stderr: %s", test_err);
    double printed = -1;
    const char *acc = strstr(test_err, "accuracy ");
    if (acc)
        printed = atof(acc + 9);
    const char *text = read_text(csv);
    CHECK(text != NULL, "no CSV at %s", csv);
    if (!text)
        return;
    CHECK(count_lines(text) == 1 + NTEST, "%d lines, want %d", count_lines(text), 1 + NTEST);
    static char saved[1 << 17];
    snprintf(saved, sizeof saved, "%s", text);
    int n = parse_csv(saved);
    CHECK(n == NTEST, "parsed %d rows of:\n%s", n, saved);
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const csv_row *r = &rows[i];
        double sum = 0;
        int best = 0;
        for (int k = 0; k < NCLASS; k++) {
            sum += r->p[k];
            CHECK(r->p[k] >= 0 && r->p[k] <= 1, "row %d p%d = %g", i, k, r->p[k]);
            if (r->p[k] > r->p[best])
                best = k;
        }
        CHECK(fabs(sum - 1) < 1e-4, "row %d: probabilities sum to %.7f", i, sum);
        CHECK(r->index == i && r->label == i % NCLASS, "row %d: index %d label %d", i,
              r->index, r->label);
        CHECK(r->predicted == best, "row %d: predicted %d, most probable %d", i, r->predicted,
              best);
        correct += r->predicted == r->label;
    }
    /* The accuracy printed is the CSV's, and `cnn eval`'s. */
    CHECK(fabs(printed - (double)correct / NTEST) < 6e-5, "accuracy %.4f, CSV %d/%d", printed,
          correct, NTEST);
    snprintf(args, sizeof args, "eval --load %s --data %s", weights, data_dir);
    CHECK(test_cnn(args) == 0, "eval: %s", test_err);
    const char *ev = strstr(test_out, "test accuracy: ");
    CHECK(ev && fabs(atof(ev + 15) - printed) < 1e-9, "eval says %s", test_out);
    /* stdout without -o: the same text; --quiet: nothing on stderr. */
    snprintf(args, sizeof args, "predict --load %s --data %s --quiet --threads 2", weights,
             data_dir);
    CHECK(test_cnn(args) == 0 && strcmp(test_out, saved_copy(csv)) == 0,
          "stdout differs from the file: %s", test_out);
    CHECK(test_err[0] == 0, "--quiet stderr: %s", test_err);
    /* An unwritable destination: one line, exit 1. */
    snprintf(args, sizeof args, "predict --load %s --data %s -o /nonexistent/dir/p.csv",
             weights, data_dir);
    CHECK(test_cnn(args) == 1, "unwritable -o accepted");
    CHECK_ERROR_LINE("/nonexistent/dir/p.csv");
    CHECK(test_cnn("predict --data /nonexistent") == 2, "predict without --load");
    CHECK_ERROR_LINE("--load");
}

/* ---------------------------------------------------------- image mode */

static size_t put_chunk(unsigned char *out, const char *type, const unsigned char *data,
                        size_t len)
{
    be32(out, (unsigned long)len);
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    be32(out + 8 + len, crc32(crc32(0, NULL, 0), out + 4, (uInt)(len + 4)));
    return len + 12;
}

/* A PNG of a grey SIDE x SIDE image: 8-bit grey, or RGB with R = G = B.
   Returns its size in out (at least 4096 bytes). */
static size_t make_png(const unsigned char *px, int rgb, unsigned char *out)
{
    int ch = rgb ? 3 : 1;
    unsigned char raw[SIDE * (1 + SIDE * 3)], ihdr[13], z[2048];
    size_t r = 0;
    for (int y = 0; y < SIDE; y++) {
        raw[r++] = 0; /* filter: none */
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < ch; c++)
                raw[r++] = px[y * SIDE + x];
    }
    uLongf zlen = sizeof z;
    compress2(z, &zlen, raw, (uLong)r, 9);
    be32(ihdr, SIDE), be32(ihdr + 4, SIDE);
    ihdr[8] = 8, ihdr[9] = rgb ? 2 : 0, ihdr[10] = ihdr[11] = ihdr[12] = 0;
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    size_t n = 8;
    n += put_chunk(out + n, "IHDR", ihdr, sizeof ihdr);
    n += put_chunk(out + n, "IDAT", z, zlen);
    n += put_chunk(out + n, "IEND", NULL, 0);
    return n;
}

/* A test image as a binary PGM: 8-bit, or 16-bit big-endian with maxval
   1020 (samples 4v, which scale back to v exactly). */
static size_t make_pgm(const unsigned char *px, int wide, unsigned char *out)
{
    int n = sprintf((char *)out, "P5\n# test image\n%d %d\n%d\n", SIDE, SIDE,
                    wide ? 1020 : 255);
    for (int p = 0; p < SIDE * SIDE; p++) {
        if (wide) {
            out[n++] = (unsigned char)(px[p] >> 6), out[n++] = (unsigned char)(px[p] << 2);
        } else {
            out[n++] = px[p];
        }
    }
    return (size_t)n;
}

/* A test image as an ASCII PGM with comments, maxval 510 (samples 2v). */
static size_t make_ascii_pgm(const unsigned char *px, unsigned char *out)
{
    int n = sprintf((char *)out, "P2 %d %d # size\n510\n", SIDE, SIDE);
    for (int p = 0; p < SIDE * SIDE; p++)
        n += sprintf((char *)out + n, "%d%c", 2 * px[p], p % SIDE == SIDE - 1 ? '\n' : ' ');
    return (size_t)n;
}

/* The text of an image-mode line after "PATH: ". */
static const char *after_path(const char *line, const char *path)
{
    size_t n = strlen(path);
    return strncmp(line, path, n) == 0 && line[n] == ':' ? line + n + 2 : NULL;
}

static void predict_classifies_image_files_like_the_csv(void)
{
    if (!fixture())
        return;
    char args[1400], csv[600];
    snprintf(csv, sizeof csv, "%s/pred2.csv", test_tmpdir());
    snprintf(args, sizeof args, "predict --load %s --data %s -o %s --quiet", weights, data_dir,
             csv);
    CHECK(test_cnn(args) == 0, "predict: %s", test_err);
    const char *text = read_text(csv);
    if (!text || parse_csv(text) != NTEST) {
        CHECK(0, "no CSV");
        return;
    }
    static const int picks[] = {0, 1, 2, 7};
    for (size_t t = 0; t < sizeof picks / sizeof picks[0]; t++) {
        int i = picks[t];
        static unsigned char buf[8192];
        static const char *const suffix[5] = {".pgm", "-16bit.pgm", "-ascii.pgm", ".png",
                                              "-rgb.png"};
        char name[5][64], paths[5][600], args2[4096];
        int used = snprintf(args2, sizeof args2, "predict --load %s", weights);
        for (int f = 0; f < 5; f++) {
            size_t size = f == 0 ? make_pgm(test_images[i], 0, buf)
                        : f == 1 ? make_pgm(test_images[i], 1, buf)
                        : f == 2 ? make_ascii_pgm(test_images[i], buf)
                                 : make_png(test_images[i], f == 4, buf);
            snprintf(name[f], sizeof name[f], "img%d%s", i, suffix[f]);
            snprintf(paths[f], sizeof paths[f], "%s", test_write_file(name[f], buf, size));
            if (used < (int)sizeof args2)
                used += snprintf(args2 + used, sizeof args2 - (size_t)used, " %s", paths[f]);
        }
        CHECK(test_cnn(args2) == 0, "predict images: %s", test_err);
        CHECK(count_lines(test_out) == 5, "image %d: %s", i, test_out);
        /* Each line: "PATH: C (p=P)  probabilities: 0:P0 ..."; the same
           pixels in every format give the same line. */
        const char *line = test_out, *first = NULL;
        for (int f = 0; f < 5 && *line; f++) {
            const char *rest = after_path(line, paths[f]);
            CHECK(rest != NULL, "line for %s: %.200s", paths[f], line);
            if (!rest)
                break;
            const char *eol = strchr(rest, '\n');
            size_t len = eol ? (size_t)(eol - rest) : strlen(rest);
            if (!first)
                first = rest;
            else
                CHECK(strncmp(first, rest, len) == 0, "%s differs: %.*s", name[f], (int)len,
                      rest);
            int cls = -1;
            double p = -1;
            CHECK(sscanf(rest, "%d (p=%lf)", &cls, &p) == 2, "unparsable: %.*s", (int)len, rest);
            CHECK(cls == rows[i].predicted, "%s: class %d, CSV row %d says %d", name[f], cls, i,
                  rows[i].predicted);
            if (cls >= 0 && cls < NCLASS)
                CHECK(fabs(p - rows[i].p[cls]) < 6e-5, "%s: p=%.4f, CSV %g", name[f], p,
                      rows[i].p[cls]);
            char copy[512];
            snprintf(copy, sizeof copy, "%.*s", (int)(len < 500 ? len : 500), rest);
            CHECK(strstr(copy, "  probabilities: 0:") && strstr(copy, " 2:"), "%s", copy);
            /* Every probability as the CSV row has it (the model normalises
               with its moving statistics: one image alone as in a batch). */
            const char *q = strstr(copy, "probabilities:");
            for (int k = 0; q && k < NCLASS; k++) {
                char key[8];
                snprintf(key, sizeof key, " %d:", k);
                const char *at = strstr(q, key);
                double pk = at ? atof(at + strlen(key)) : -1;
                CHECK(fabs(pk - rows[i].p[k]) <= 1e-5, "%s: p%d=%g, CSV %g", name[f], k, pk,
                      rows[i].p[k]);
            }
            line = eol ? eol + 1 : rest + len;
        }
    }
}

/* `cnn predict --load W PATH...` fails with one line mentioning `what`. */
static void check_image_error(const char *name, const void *bytes, size_t size,
                              const char *what)
{
    const char *path = test_write_file(name, bytes, size);
    char args[1400], p[600];
    snprintf(p, sizeof p, "%s", path);
    snprintf(args, sizeof args, "predict --load %s %s", weights, p);
    CHECK(test_cnn(args) == 1, "%s accepted: %s", name, test_out);
    CHECK_ERROR_LINE(what);
    CHECK(strstr(test_err, p), "%s: error does not name the file: %s", name, test_err);
    CHECK(test_out[0] == 0, "%s: stdout: %s", name, test_out);
}

static void predict_refuses_bad_images_with_one_line(void)
{
    if (!fixture())
        return;
    static unsigned char buf[8192];
    /* Wrong size: both sizes named. */
    int n = sprintf((char *)buf, "P5 5 5 255\n");
    memset(buf + n, 100, 25);
    check_image_error("small.pgm", buf, (size_t)n + 25, "5x5");
    CHECK(strstr(test_err, "8x8"), "model size not named: %s", test_err);
    /* Truncated binary and ASCII PGM. */
    size_t len = make_pgm(test_images[0], 0, buf);
    check_image_error("cut.pgm", buf, len - 10, "truncated");
    len = make_ascii_pgm(test_images[0], buf);
    check_image_error("cut-ascii.pgm", buf, len - 8, "truncated");
    /* A header that claims far more pixels than the file holds. */
    check_image_error("huge.pgm", "P5 16384 16384 255\n", 19, "truncated");
    check_image_error("wide.pgm", "P5 99999 2 255\n", 15, "16384");
    check_image_error("maxval0.pgm", "P2 1 1 0\n0\n", 11, "maxval");
    check_image_error("above.pgm", "P2 1 1 10\n11\n", 13, "maxval");
    check_image_error("text.pgm", "hello world\n", 12, "not a PGM");
    check_image_error("empty.pgm", "", 0, "empty");
    /* PNG: a bad checksum, a cut file, a signature and nothing else. */
    len = make_png(test_images[0], 0, buf);
    buf[29] ^= 1; /* inside IHDR's CRC */
    check_image_error("crc.png", buf, len, "PNG");
    buf[29] ^= 1;
    check_image_error("cut.png", buf, len / 2, "PNG");
    check_image_error("sig.png", buf, 8, "PNG");
    /* A huge PNG header over a tiny file is refused before allocating. */
    unsigned char big[128];
    memcpy(big, buf, 33); /* signature, IHDR */
    be32(big + 16, 16384), be32(big + 20, 16384);
    be32(big + 29, crc32(crc32(0, NULL, 0), big + 12, 17));
    size_t bn = 33;
    bn += put_chunk(big + bn, "IDAT", (const unsigned char *)"\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
    bn += put_chunk(big + bn, "IEND", NULL, 0);
    check_image_error("huge.png", big, bn, "cannot hold 16384x16384");
    /* The good image next to a bad one is still classified; exit 1. */
    len = make_pgm(test_images[0], 0, buf);
    char good[600], args[1400];
    snprintf(good, sizeof good, "%s", test_write_file("good.pgm", buf, len));
    snprintf(args, sizeof args, "predict --load %s %s %s/nonexistent.pgm", weights, good,
             test_tmpdir());
    CHECK(test_cnn(args) == 1, "missing file accepted");
    CHECK_ERROR_LINE("nonexistent.pgm");
    CHECK(count_lines(test_out) == 1 && strstr(test_out, good), "stdout: %s", test_out);
    /* With -o, a failure leaves no file. */
    char out[600];
    snprintf(out, sizeof out, "%s/never.txt", test_tmpdir());
    snprintf(args, sizeof args, "predict --load %s -o %s %s %s/nonexistent.pgm", weights, out,
             good, test_tmpdir());
    CHECK(test_cnn(args) == 1, "missing file accepted with -o");
    CHECK(read_text(out) == NULL, "%s written despite the failure", out);
    snprintf(args, sizeof args, "predict --load %s -o %s %s", weights, out, good);
    CHECK(test_cnn(args) == 0 && read_text(out) && strstr(read_text(out), good),
          "-o with a good image: %s", test_err);
}

/* ----------------------------------------------------------- summary --dot */

#define MAX_SHAPES 64

/* The "(None, ...)" shapes of a summary table, in order. */
static int table_shapes(const char *text, char shapes[][48])
{
    int n = 0;
    for (const char *s = strstr(text, "(None"); s && n < MAX_SHAPES; s = strstr(s + 1, "(None")) {
        const char *e = strchr(s, ')');
        if (!e)
            break;
        snprintf(shapes[n++], 48, "%.*s", (int)(e - s + 1), s);
    }
    return n;
}

/* The nodes of a DOT text (lines '  "id" [label=...'), each one's output
   shape (the last shape of its label); returns the node count and the
   edge count in *edges. */
static int dot_nodes(const char *text, char shapes[][48], int *edges)
{
    int n = 0;
    *edges = 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (strstr(buf, "->"))
            ++*edges;
        else if (strncmp(buf, "  \"", 3) == 0 && strstr(buf, "[label=") && n < MAX_SHAPES) {
            const char *last = NULL;
            for (const char *s = strstr(buf, "(None"); s; s = strstr(s + 1, "(None"))
                last = s;
            const char *e = last ? strchr(last, ')') : NULL;
            snprintf(shapes[n++], 48, "%.*s", e ? (int)(e - last + 1) : 0, last ? last : "");
        }
        line = eol ? eol + 1 : line + len;
    }
    return n;
}

static int have(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* `summary ARGS --dot` against `summary ARGS`; the graph rendered when dot
   is installed. */
static void check_dot(const char *model_args)
{
    char args[1400], table[MAX_SHAPES][48], nodes[MAX_SHAPES][48];
    snprintf(args, sizeof args, "summary %s", model_args);
    CHECK(test_cnn(args) == 0, "%s: %s", args, test_err);
    int nt = table_shapes(test_out, table), edges;
    CHECK(nt >= 2, "%s: no shapes in %s", args, test_out);
    char dot[600];
    snprintf(dot, sizeof dot, "%s/model.dot", test_tmpdir());
    snprintf(args, sizeof args, "summary %s --dot -o %s", model_args, dot);
    CHECK(test_cnn(args) == 0, "%s: %s", args, test_err);
    const char *text = read_text(dot);
    CHECK(text && strncmp(text, "digraph", 7) == 0 && strstr(text, "rankdir=TB"), "%s: %s",
          args, text ? text : "(no file)");
    if (!text)
        return;
    int nn = dot_nodes(text, nodes, &edges);
    /* input + layers + softmax, the table shows input + layers */
    CHECK(nn == nt + 1, "%s: %d nodes, table has %d layers", model_args, nn, nt - 1);
    CHECK(edges == nn - 1, "%s: %d edges for %d nodes", model_args, edges, nn);
    for (int i = 0; i < nt && i < nn; i++)
        CHECK(strcmp(nodes[i], table[i]) == 0, "%s: node %d shape %s, table %s", model_args, i,
              nodes[i], table[i]);
    if (nn == nt + 1)
        CHECK(strcmp(nodes[nn - 1], table[nt - 1]) == 0, "softmax shape %s", nodes[nn - 1]);
    if (!have("dot"))
        return;
    char cmd[1400], svg[600];
    snprintf(svg, sizeof svg, "%s/model.svg", test_tmpdir());
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o %s 2>/dev/null", dot, svg);
    CHECK(system(cmd) == 0, "%s: dot -Tsvg failed", model_args);
    if (have("xmllint")) {
        snprintf(cmd, sizeof cmd, "xmllint --noout %s 2>/dev/null", svg);
        CHECK(system(cmd) == 0, "%s: the SVG does not parse", model_args);
    }
    const char *s = read_text(svg);
    int svg_nodes = 0;
    for (; s && (s = strstr(s, "class=\"node\"")); s++)
        svg_nodes++;
    CHECK(svg_nodes == nt + 1, "%s: the SVG has %d nodes, want %d", model_args, svg_nodes,
          nt + 1);
}

static void summary_dot_matches_the_table(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    if (!have("dot"))
        test_skip("dot not installed: the graph is checked as text only");
    check_dot("--model seed");
    check_dot("--model seed-dense");
    check_dot("--model logreg");
    check_dot("--model conv5x5s2:6:valid,relu,conv1x1:3,flatten,dense:20,relu,dense:4,softmax "
              "--input 17x13x2");
    /* relu as a layer of its own: first, and after flatten */
    check_dot("--model relu,conv3x3:4,flatten,relu,dense:5,softmax --input 9x9x1");
    /* Each layer's settings and the total show in the graph. */
    CHECK(test_cnn("summary --model seed --dot") == 0 &&
              strstr(test_out, "3x3 kernel, stride 2, same padding + ReLU") &&
              strstr(test_out, "10 units") && strstr(test_out, "24,186 parameters"),
          "seed graph: %s", test_out);
    CHECK(test_cnn("summary --dot -o /nonexistent/dir/m.dot") == 1, "unwritable -o");
    CHECK_ERROR_LINE("/nonexistent/dir/m.dot");
    if (!fixture())
        return;
    /* --load: the model stored in the file, the same as its spec. */
    char args[1400];
    snprintf(args, sizeof args, "summary --model %s --input %dx%dx1 --dot", SPEC, SIDE, SIDE);
    CHECK(test_cnn(args) == 0, "%s", test_err);
    static char expect[sizeof test_out];
    snprintf(expect, sizeof expect, "%s", test_out);
    snprintf(args, sizeof args, "summary --load %s --dot", weights);
    CHECK(test_cnn(args) == 0 && strcmp(test_out, expect) == 0, "--load graph: %s %s", test_out,
          test_err);
    snprintf(args, sizeof args, "summary --load %s", weights);
    CHECK(test_cnn(args) == 0 && strstr(test_out, "(None, 8, 8, 4)"), "--load table: %s",
          test_out);
}

/* --------------------------------------------------------------- compare */

/* The row of the compare table that starts with name; NULL if none. */
static const char *table_row(const char *text, const char *name)
{
    for (const char *line = text; line && *line;) {
        if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ' ')
            return line;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NULL;
}

static void compare_prints_one_row_per_model(void)
{
    if (!fixture())
        return;
    const char *dense = "flatten,dense:3,softmax";
    char args[1400];
    snprintf(args, sizeof args,
             "compare --data %s --epochs 2 --batch 8 --threads 1 --models '%s;%s'", data_dir,
             dense, SPEC);
    CHECK(test_cnn(args) == 0, "compare: %s", test_err);
    CHECK(count_lines(test_out) == 3, "want a header and 2 rows: %s", test_out);
    CHECK(strstr(test_out, "model") && strstr(test_out, "parameters") &&
              strstr(test_out, "test accuracy") && strstr(test_out, "images/s"),
          "header: %s", test_out);
    CHECK(count_lines(test_err) == 3, "stderr (a line, then one per model): %s", test_err);
    static const struct {
        const char *spec;
        size_t params;
    } models[2] = {{"flatten,dense:3,softmax", 8 * 8 * 3 + 3},
                   {SPEC, 3 * 3 * 4 + 4 + 2 * 4 + 4 * 4 * 4 * 3 + 3}};
    static char table[sizeof test_out];
    snprintf(table, sizeof table, "%s", test_out);
    for (int i = 0; i < 2; i++) {
        const char *row = table_row(table, models[i].spec);
        CHECK(row != NULL, "no row for %s in %s", models[i].spec, table);
        if (!row)
            continue;
        size_t params = 0;
        int epochs = 0;
        double loss = -1, acc = -1, secs = -1;
        char num[32];
        CHECK(sscanf(row + strlen(models[i].spec), " %31s %d %lf %lf %lf", num, &epochs, &loss,
                     &acc, &secs) == 5, "row: %.200s", row);
        for (const char *d = num; *d; d++)
            if (*d >= '0' && *d <= '9')
                params = params * 10 + (size_t)(*d - '0');
        CHECK(params == models[i].params, "%s: %zu parameters, want %zu", models[i].spec,
              params, models[i].params);
        CHECK(epochs == 2 && acc >= 0 && acc <= 1 && loss > 0 && secs >= 0, "row: %.200s", row);
        /* The same run as `cnn train` with the same settings. */
        snprintf(args, sizeof args,
                 "train --data %s --model %s --epochs 2 --batch 8 --threads 1 --quiet", data_dir,
                 models[i].spec);
        CHECK(test_cnn(args) == 0, "train: %s", test_err);
        double tl = -2, ta = -2;
        const char *s = strstr(test_out, "test loss: ");
        CHECK(s && sscanf(s, "test loss: %lf, test accuracy: %lf", &tl, &ta) == 2 &&
                  fabs(tl - loss) < 6e-5 && fabs(ta - acc) < 6e-5,
              "%s: compare %.4f %.4f, train %s", models[i].spec, loss, acc, test_out);
    }
    /* Presets separated by commas; --steps; --quiet. */
    snprintf(args, sizeof args, "compare --data %s --models logreg,logreg --steps 3 --quiet",
             data_dir);
    CHECK(test_cnn(args) == 0 && count_lines(test_out) == 3 && table_row(test_out, "logreg"),
          "presets: %s %s", test_out, test_err);
    CHECK(test_err[0] == 0, "--quiet: %s", test_err);
    /* Bad lists. */
    snprintf(args, sizeof args, "compare --data %s --models 'logreg;;seed'", data_dir);
    CHECK(test_cnn(args) == 2, "empty item accepted");
    CHECK_ERROR_LINE("--models");
    snprintf(args, sizeof args, "compare --data %s --models 'logreg;conv3x3:4,flatten'",
             data_dir);
    CHECK(test_cnn(args) == 2, "bad spec accepted");
    CHECK_ERROR_LINE("softmax");
    CHECK(test_out[0] == 0, "bad spec: stdout %s", test_out);
    snprintf(args, sizeof args, "compare --data %s --models 'logreg;flatten,dense:2,softmax'",
             data_dir);
    CHECK(test_cnn(args) == 1, "too few classes accepted");
    CHECK_ERROR_LINE("2 classes");
}

/* The PyTorch twin (bench/pytorch_seed.py) loads a batch-norm model cnn
   trained for 60 steps and gives the probabilities of `cnn predict` within
   1e-4 in eval mode; its schedules and augmentation follow cnn's
   (bench/twin_check.py, a few seconds).  Skipped without python3-torch
   (the script exits 3) or MNIST. */
static void predict_matches_the_pytorch_twin(void)
{
    const char *mnist = test_mnist_dir(), *bin = getenv("CNN_BIN");
    if (!mnist || access("/usr/bin/python3", X_OK) != 0 ||
        access("bench/twin_check.py", R_OK) != 0) {
        test_skip("no MNIST, /usr/bin/python3 or bench/twin_check.py");
        return;
    }
    char out[600], cmd[1600];
    snprintf(out, sizeof out, "%s/twin_check.out", test_tmpdir());
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/twin_check.py --data '%s' --cnn '%s' "
             ">'%s' 2>&1 </dev/null", mnist, bin && *bin ? bin : "./cnn", out);
    int status = system(cmd);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    if (rc == 3) {
        test_skip("python3-torch not installed (make bench-deps)");
        return;
    }
    char text[4096] = "";
    FILE *f = fopen(out, "rb");
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = 0;
        fclose(f);
    }
    CHECK(rc == 0, "bench/twin_check.py exited %d:\n%s", rc, text);
}

TEST_TABLE(predict,
           {"predict_writes_one_csv_row_per_test_image", predict_writes_one_csv_row_per_test_image},
           {"predict_classifies_image_files_like_the_csv",
            predict_classifies_image_files_like_the_csv},
           {"predict_refuses_bad_images_with_one_line", predict_refuses_bad_images_with_one_line},
           {"summary_dot_matches_the_table", summary_dot_matches_the_table},
           {"compare_prints_one_row_per_model", compare_prints_one_row_per_model},
           {"predict_matches_the_pytorch_twin", predict_matches_the_pytorch_twin})
