/*
 * test_data.c — tests of the IDX data loader: small synthetic files, raw
 * and gzip-compressed, that must load exactly; malformed, truncated,
 * oversized, mismatched and corrupt files that must fail with the right
 * status and a message naming the file; the directory loader; and, when
 * MNIST is present, both real splits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cnn.h"
#include "test.h"
#include "tests.h"

#define N_IMG 5
#define IMG_H 3
#define IMG_W 4
#define IMG_PIX (IMG_H * IMG_W)

static const uint8_t good_labels[N_IMG] = {0, 2, 1, 2, 0};

/* Store v big-endian at p. */
static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX file in buf: magic, nd dims, then n data bytes; returns its size. */
static size_t make_idx(uint8_t *buf, uint32_t magic, const uint32_t *dims,
                       int nd, const uint8_t *data, size_t n)
{
    put_be32(buf, magic);
    for (int i = 0; i < nd; i++)
        put_be32(buf + 4 + 4 * i, dims[i]);
    if (n)
        memcpy(buf + 4 + 4 * nd, data, n);
    return 4 + 4 * (size_t)nd + n;
}

static uint8_t pixel(int i, int j) { return (uint8_t)(i * 37 + j * 11 + 3); }

/* The good image file (5 images of 3x4) in buf; returns its size. */
static size_t good_images(uint8_t *buf)
{
    uint8_t px[N_IMG * IMG_PIX];
    for (int i = 0; i < N_IMG; i++)
        for (int j = 0; j < IMG_PIX; j++)
            px[i * IMG_PIX + j] = pixel(i, j);
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    return make_idx(buf, 0x00000803, dims, 3, px, sizeof px);
}

static size_t good_label_file(uint8_t *buf)
{
    uint32_t dims[1] = {N_IMG};
    return make_idx(buf, 0x00000801, dims, 1, good_labels, N_IMG);
}

/* Write data to name in the temporary directory; copy the path to out. */
static void write_raw(char *out, size_t cap, const char *name,
                      const void *data, size_t size)
{
    snprintf(out, cap, "%s", test_write_file(name, data, size));
}

/* Write data gzip-compressed (zlib gzopen "wb") to name; path to out. */
static void write_gz(char *out, size_t cap, const char *name,
                     const void *data, size_t size)
{
    snprintf(out, cap, "%s/%s", test_tmpdir(), name);
    gzFile gz = gzopen(out, "wb9");
    if (!gz || (size && gzwrite(gz, data, (unsigned)size) != (int)size) ||
        gzclose(gz) != Z_OK) {
        fprintf(stderr, "cannot write %s\n", out);
        exit(2);
    }
}

/* Whole contents of path into a malloc'd buffer (size in *size). */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* A good label file's path (written once per name). */
static void labels_path(char *out, size_t cap, const char *name)
{
    uint8_t buf[64];
    write_raw(out, cap, name, buf, good_label_file(buf));
}

static void check_good(const cnn_dataset *ds, const char *what)
{
    CHECK(ds != NULL, "%s: no data set", what);
    if (!ds)
        return;
    CHECK(ds->count == N_IMG && ds->height == IMG_H && ds->width == IMG_W &&
              ds->channels == 1,
          "%s: shape %dx%dx%dx%d", what, ds->count, ds->height, ds->width,
          ds->channels);
    CHECK(ds->classes == 3, "%s: classes %d, want 3", what, ds->classes);
    int bad = 0;
    for (int i = 0; i < N_IMG && !bad; i++) {
        bad |= ds->labels[i] != good_labels[i];
        for (int j = 0; j < IMG_PIX; j++)
            bad |= ds->images[i * IMG_PIX + j] != pixel(i, j);
    }
    CHECK(!bad, "%s: pixels or labels differ", what);
}

/* A failed load: the status, no data set, and a message naming the file
   (and containing `word` when non-NULL). */
static void check_fail(int rc, cnn_dataset *ds, int want, const char *file,
                       const char *word, const char *what)
{
    const char *msg = cnn_last_error();
    CHECK(rc == want, "%s: status %d (%s), want %d (%s); message: %s", what,
          rc, cnn_status_str(rc), want, cnn_status_str(want), msg);
    CHECK(ds == NULL, "%s: data set returned on failure", what);
    CHECK(strstr(msg, file) != NULL, "%s: message does not name %s: %s",
          what, file, msg);
    if (word)
        CHECK(strstr(msg, word) != NULL, "%s: message lacks \"%s\": %s",
              what, word, msg);
    CHECK(strchr(msg, '\n') == NULL, "%s: message is not one line: %s",
          what, msg);
    cnn_dataset_free(ds);
}

/* Load images and labels and check the result is the good data set. */
static void expect_good(const char *im, const char *lb, int max_classes,
                        const char *what)
{
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, max_classes, &ds);
    CHECK(rc == CNN_OK, "%s: %s", what, cnn_last_error());
    check_good(ds, what);
    cnn_dataset_free(ds);
}

static void test_raw_valid(void)
{
    uint8_t buf[256];
    char im[512], lb[512];
    write_raw(im, sizeof im, "raw-images", buf, good_images(buf));
    labels_path(lb, sizeof lb, "raw-labels");
    expect_good(im, lb, 10, "raw");
    /* No limit, and exactly 3 (the largest label is 2), both fit. */
    expect_good(im, lb, 0, "raw, max_classes 0");
    expect_good(im, lb, 3, "raw, max_classes 3");
    cnn_dataset_free(NULL);
}

static void test_gzip_valid(void)
{
    uint8_t ib[256], lbuf[64];
    size_t in = good_images(ib), ln = good_label_file(lbuf);
    char im[512], lb[512], rawlb[512];
    write_gz(im, sizeof im, "gz-images.gz", ib, in);
    write_gz(lb, sizeof lb, "gz-labels.gz", lbuf, ln);
    labels_path(rawlb, sizeof rawlb, "gz-raw-labels");
    expect_good(im, lb, 10, "gzip");
    expect_good(im, rawlb, 10, "gzip images, raw labels");
}

static void test_dir_valid(void)
{
    uint8_t ib[256], lbuf[64];
    size_t in = good_images(ib), ln = good_label_file(lbuf);
    char p[512], dir[512];

    /* .gz names only, both splits. */
    snprintf(dir, sizeof dir, "%s/gzdir", test_tmpdir());
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    write_gz(p, sizeof p, "gzdir/train-images-idx3-ubyte.gz", ib, in);
    write_gz(p, sizeof p, "gzdir/train-labels-idx1-ubyte.gz", lbuf, ln);
    write_gz(p, sizeof p, "gzdir/t10k-images-idx3-ubyte.gz", ib, in);
    write_gz(p, sizeof p, "gzdir/t10k-labels-idx1-ubyte.gz", lbuf, ln);
    const char *splits[] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        cnn_dataset *ds = NULL;
        int rc = cnn_dataset_load_dir(dir, splits[s], 10, &ds);
        CHECK(rc == CNN_OK, "gz dir %s: %s", splits[s], cnn_last_error());
        check_good(ds, splits[s]);
        cnn_dataset_free(ds);
    }
    /* A trailing slash on the directory is fine. */
    char slashed[520];
    snprintf(slashed, sizeof slashed, "%s/", dir);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_dir(slashed, "train", 10, &ds);
    CHECK(rc == CNN_OK, "dir with slash: %s", cnn_last_error());
    cnn_dataset_free(ds);

    /* Plain and .gz both present: the plain file wins (the .gz is junk). */
    snprintf(dir, sizeof dir, "%s/bothdir", test_tmpdir());
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    write_raw(p, sizeof p, "bothdir/train-images-idx3-ubyte", ib, in);
    write_raw(p, sizeof p, "bothdir/train-labels-idx1-ubyte", lbuf, ln);
    write_raw(p, sizeof p, "bothdir/train-images-idx3-ubyte.gz", "junk", 4);
    write_raw(p, sizeof p, "bothdir/train-labels-idx1-ubyte.gz", "junk", 4);
    ds = NULL;
    rc = cnn_dataset_load_dir(dir, "train", 10, &ds);
    CHECK(rc == CNN_OK, "plain preferred: %s", cnn_last_error());
    check_good(ds, "plain preferred");
    cnn_dataset_free(ds);

    /* No test split there: the message names the expected file. */
    ds = NULL;
    rc = cnn_dataset_load_dir(dir, "test", 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, "t10k-images-idx3-ubyte", NULL,
               "missing split file");

    ds = NULL;
    rc = cnn_dataset_load_dir(dir, "validation", 10, &ds);
    CHECK(rc == CNN_ERR_ARG, "bad split: status %d", rc);
    CHECK(ds == NULL, "bad split: data set returned");
}

static void test_bad_magic(void)
{
    uint8_t buf[256];
    char im[512], lb[512];
    labels_path(lb, sizeof lb, "magic-labels");
    size_t n = good_images(buf);

    put_be32(buf, 0x12345678);
    write_raw(im, sizeof im, "magic-junk", buf, n);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "magic", "junk magic");

    put_be32(buf, 0x00000D03); /* float elements */
    write_raw(im, sizeof im, "magic-float", buf, n);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "type", "float element type");

    /* A text file. */
    const char *text = "hello, world\n";
    write_raw(im, sizeof im, "magic-text", text, strlen(text));
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, "text file");
}

static void test_bad_dims(void)
{
    uint8_t ib[256], lbuf[64];
    char im[512], lb[512], goodim[512], goodlb[512];
    write_raw(goodim, sizeof goodim, "dims-good-images", ib, good_images(ib));
    labels_path(goodlb, sizeof goodlb, "dims-good-labels");

    /* Images file whose magic says 1 dimension (a label file). */
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(goodlb, goodlb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, goodlb, "dimension",
               "label file as images");

    /* Labels file with 3 dimensions (the images and labels swapped). */
    ds = NULL;
    rc = cnn_dataset_load_idx(goodim, goodim, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, goodim, "dimension",
               "image file as labels");

    /* 4 dimensions. */
    uint32_t d4[4] = {N_IMG, IMG_H, IMG_W, 1};
    uint8_t px[N_IMG * IMG_PIX] = {0};
    size_t n = make_idx(ib, 0x00000804, d4, 4, px, sizeof px);
    write_raw(im, sizeof im, "dims-four", ib, n);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, goodlb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "dimension", "4 dimensions");

    /* A zero dimension. */
    uint32_t dz[3] = {N_IMG, 0, IMG_W};
    n = make_idx(ib, 0x00000803, dz, 3, px, 0);
    write_raw(im, sizeof im, "dims-zero", ib, n);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, goodlb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "zero", "zero dimension");

    /* Zero labels. */
    uint32_t l0[1] = {0};
    n = make_idx(lbuf, 0x00000801, l0, 1, NULL, 0);
    write_raw(lb, sizeof lb, "dims-zero-labels", lbuf, n);
    ds = NULL;
    rc = cnn_dataset_load_idx(goodim, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, lb, "zero", "zero labels");

    /* Header cut inside the dimensions. */
    write_raw(im, sizeof im, "dims-short-header", ib, 9);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, goodlb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "truncated", "short header");
}

static void test_truncated(void)
{
    uint8_t ib[256];
    size_t n = good_images(ib);
    char im[512], lb[512];
    labels_path(lb, sizeof lb, "trunc-labels");

    write_raw(im, sizeof im, "trunc-raw", ib, n - 1);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "truncated", "raw truncated");

    /* Well-formed gzip of a truncated IDX file. */
    write_gz(im, sizeof im, "trunc-content.gz", ib, n - 7);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, "gzip of truncated data");

    /* A gzip file cut short (its trailer lost). */
    char full[512];
    write_gz(full, sizeof full, "trunc-whole.gz", ib, n);
    size_t gn;
    uint8_t *gz = slurp(full, &gn);
    write_raw(im, sizeof im, "trunc-cut.gz", gz, gn / 2);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, "cut gzip");

    /* The deflate stream cut short but the trailer kept, so ISIZE still
       matches the header. */
    uint8_t cut[512];
    memcpy(cut, gz, gn / 2);
    memcpy(cut + gn / 2, gz + gn - 8, 8);
    write_raw(im, sizeof im, "trunc-keep-trailer.gz", cut, gn / 2 + 8);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "gzip", "cut stream, trailer kept");

    /* Only the last trailer byte missing. */
    write_raw(im, sizeof im, "trunc-cut1.gz", gz, gn - 1);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, "gzip missing 1 byte");
    free(gz);

    /* Truncated labels. */
    uint8_t lbuf[64];
    size_t ln = good_label_file(lbuf);
    char goodim[512];
    write_raw(goodim, sizeof goodim, "trunc-good-images", ib, n);
    write_raw(lb, sizeof lb, "trunc-short-labels", lbuf, ln - 2);
    ds = NULL;
    rc = cnn_dataset_load_idx(goodim, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, lb, "truncated", "labels truncated");
}

static void test_trailing(void)
{
    uint8_t ib[256], lbuf[64];
    size_t n = good_images(ib), ln = good_label_file(lbuf);
    ib[n] = 0xAA;
    ib[n + 1] = 0xBB;
    char im[512], lb[512], goodim[512];
    labels_path(lb, sizeof lb, "trail-labels");

    write_raw(im, sizeof im, "trail-raw", ib, n + 2);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "trailing", "raw trailing");

    write_gz(im, sizeof im, "trail.gz", ib, n + 2);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, "gzip trailing");

    lbuf[ln] = 1;
    write_raw(goodim, sizeof goodim, "trail-good-images", ib, n);
    write_raw(lb, sizeof lb, "trail-long-labels", lbuf, ln + 1);
    ds = NULL;
    rc = cnn_dataset_load_idx(goodim, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, lb, "trailing", "labels trailing");
}

/* Headers claiming huge sizes in tiny files fail at once; under the
   sanitizers an attempt to allocate such sizes would abort the run. */
static void test_absurd_dims(void)
{
    uint8_t ib[64];
    char im[512], lb[512];
    labels_path(lb, sizeof lb, "absurd-labels");
    uint8_t px[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct {
        uint32_t dims[3];
        const char *word;
    } cases[] = {
        {{0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, "too large"},
        {{0xFFFFFFFFu, 0xFFFFFFFFu, 1}, "truncated"},
        {{0x7FFFFFFFu, 28, 28}, "truncated"},
        {{60000, 28, 28}, "60000x28x28"},
        {{1, 0x80000000u, 0x80000000u}, "truncated"},
    };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = make_idx(ib, 0x00000803, cases[c].dims, 3, px, sizeof px);
        char name[64], what[64];
        snprintf(name, sizeof name, "absurd-%zu", c);
        snprintf(what, sizeof what, "absurd raw %zu", c);
        write_raw(im, sizeof im, name, ib, n);
        cnn_dataset *ds = NULL;
        int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
        check_fail(rc, ds, CNN_ERR_FORMAT, im, cases[c].word, what);

        snprintf(name, sizeof name, "absurd-%zu.gz", c);
        snprintf(what, sizeof what, "absurd gzip %zu", c);
        write_gz(im, sizeof im, name, ib, n);
        ds = NULL;
        rc = cnn_dataset_load_idx(im, lb, 10, &ds);
        check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, what);
    }
    /* Labels claiming 4 billion entries. */
    uint32_t big[1] = {0xFFFFFFFFu};
    size_t n = make_idx(ib, 0x00000801, big, 1, px, sizeof px);
    write_raw(lb, sizeof lb, "absurd-big-labels", ib, n);
    char goodim[512];
    uint8_t gb[256];
    write_raw(goodim, sizeof goodim, "absurd-good-images", gb,
              good_images(gb));
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(goodim, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, lb, "truncated", "absurd labels");

    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) +
               1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(s < 2.0, "absurd headers took %.2f s", s);
}

static void test_count_mismatch(void)
{
    uint8_t ib[256], lbuf[64];
    char im[512], lb[512];
    write_raw(im, sizeof im, "count-images", ib, good_images(ib));
    uint32_t d[1] = {N_IMG - 1};
    size_t n = make_idx(lbuf, 0x00000801, d, 1, good_labels, N_IMG - 1);
    write_raw(lb, sizeof lb, "count-labels", lbuf, n);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_MISMATCH, im, NULL, "count mismatch");
    CHECK(strstr(cnn_last_error(), lb) != NULL, "message lacks %s: %s", lb,
          cnn_last_error());
}

static void test_label_range(void)
{
    uint8_t ib[256], lbuf[64];
    char im[512], lb[512];
    write_raw(im, sizeof im, "range-images", ib, good_images(ib));
    uint8_t labels[N_IMG] = {0, 9, 1, 10, 2};
    uint32_t d[1] = {N_IMG};
    size_t n = make_idx(lbuf, 0x00000801, d, 1, labels, N_IMG);
    write_raw(lb, sizeof lb, "range-labels", lbuf, n);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_MISMATCH, lb, "index 3", "label 10");
    CHECK(strstr(cnn_last_error(), "10") != NULL, "value not named: %s",
          cnn_last_error());

    /* With no limit the same file loads; classes is 1 + the largest. */
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 0, &ds);
    CHECK(rc == CNN_OK, "no limit: %s", cnn_last_error());
    CHECK(ds && ds->classes == 11, "classes %d, want 11",
          ds ? ds->classes : -1);
    cnn_dataset_free(ds);

    /* Label 255 is fine without a limit. */
    labels[0] = 255;
    n = make_idx(lbuf, 0x00000801, d, 1, labels, N_IMG);
    write_raw(lb, sizeof lb, "range-labels-255", lbuf, n);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 0, &ds);
    CHECK(rc == CNN_OK && ds && ds->classes == 256, "label 255: rc %d: %s",
          rc, cnn_last_error());
    cnn_dataset_free(ds);

    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, -1, &ds);
    CHECK(rc == CNN_ERR_ARG && ds == NULL, "negative max_classes: rc %d", rc);
}

static void test_missing(void)
{
    char lb[512], im[512];
    labels_path(lb, sizeof lb, "missing-labels");
    snprintf(im, sizeof im, "%s/no-such-images", test_tmpdir());
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, im, "No such file or directory",
               "missing images");

    char nolb[512];
    uint8_t ib[256];
    write_raw(im, sizeof im, "missing-good-images", ib, good_images(ib));
    snprintf(nolb, sizeof nolb, "%s/no-such-labels.gz", test_tmpdir());
    ds = NULL;
    rc = cnn_dataset_load_idx(im, nolb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, nolb, "No such file or directory",
               "missing labels");

    /* A directory where a file should be. */
    ds = NULL;
    rc = cnn_dataset_load_idx(test_tmpdir(), lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, test_tmpdir(), NULL, "directory as file");

    char dir[512];
    snprintf(dir, sizeof dir, "%s/no-such-dir", test_tmpdir());
    ds = NULL;
    rc = cnn_dataset_load_dir(dir, "train", 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, dir, "no such directory",
               "missing directory");

    /* A file given as the directory. */
    ds = NULL;
    rc = cnn_dataset_load_dir(lb, "train", 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, lb, "not a directory", "file as dir");

    /* An empty directory: the message names the expected file. */
    snprintf(dir, sizeof dir, "%s/empty-dir", test_tmpdir());
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    ds = NULL;
    rc = cnn_dataset_load_dir(dir, "train", 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, "train-images-idx3-ubyte", dir,
               "empty directory");
}

static void test_empty(void)
{
    char im[512], lb[512], goodim[512];
    uint8_t ib[256];
    labels_path(lb, sizeof lb, "empty-good-labels");
    write_raw(im, sizeof im, "empty-images", "", 0);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "empty", "empty images");

    write_raw(goodim, sizeof goodim, "empty-good-images", ib,
              good_images(ib));
    write_raw(lb, sizeof lb, "empty-labels", "", 0);
    ds = NULL;
    rc = cnn_dataset_load_idx(goodim, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, lb, "empty", "empty labels");

    /* gzip of nothing. */
    write_gz(im, sizeof im, "empty.gz", "", 0);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, NULL, "empty gzip");
}

/* A larger gzip image file with one byte in the middle of its deflate
   stream flipped. */
static void test_gzip_corrupt(void)
{
    enum { N = 64, H = 28, W = 28 };
    size_t n = 16 + (size_t)N * H * W;
    uint8_t *buf = malloc(n);
    uint8_t lbuf[16 + N];
    CHECK(buf != NULL, "malloc");
    if (!buf)
        return;
    uint64_t st = 42;
    uint8_t px[N * H * W];
    for (size_t i = 0; i < sizeof px; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        px[i] = (uint8_t)((st >> 59) * 8); /* compressible but irregular */
    }
    uint32_t dims[3] = {N, H, W};
    make_idx(buf, 0x00000803, dims, 3, px, sizeof px);
    uint8_t labels[N] = {0};
    uint32_t ld[1] = {N};
    char im[512], lb[512];
    write_raw(lb, sizeof lb, "corrupt-labels", lbuf,
              make_idx(lbuf, 0x00000801, ld, 1, labels, N));
    write_gz(im, sizeof im, "corrupt-good.gz", buf, n);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    CHECK(rc == CNN_OK, "uncorrupted: %s", cnn_last_error());
    cnn_dataset_free(ds);

    size_t gn;
    uint8_t *gz = slurp(im, &gn);
    gz[gn / 2] ^= 0xFF;
    write_raw(im, sizeof im, "corrupt-mid.gz", gz, gn);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "gzip", "corrupt mid-stream");

    /* Broken CRC in the trailer. */
    gz[gn / 2] ^= 0xFF;
    gz[gn - 8] ^= 0x01;
    write_raw(im, sizeof im, "corrupt-crc.gz", gz, gn);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "gzip", "bad CRC");
    free(gz);
    free(buf);
}

/* Serve data through a new FIFO named name (a child process writes it);
   load it as the image file and return the status. */
static int load_via_fifo(const char *name, const uint8_t *data, size_t size,
                         const char *labels, char *path, size_t cap,
                         cnn_dataset **ds)
{
    snprintf(path, cap, "%s/%s", test_tmpdir(), name);
    if (mkfifo(path, 0600) != 0) {
        perror(path);
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(data, 1, size, f); /* EPIPE once the reader gives up */
            fclose(f);
        }
        _exit(0);
    }
    int rc = cnn_dataset_load_idx(path, labels, 10, ds);
    int status;
    waitpid(pid, &status, 0);
    return rc;
}

/* Non-regular files (a FIFO) have no size to check in advance: the data
   is read into a buffer that grows as it arrives, and a header claiming
   more than arrives fails as truncated. */
static void test_fifo(void)
{
    uint8_t ib[256];
    size_t n = good_images(ib);
    char lb[512], p[512], gzp[512];
    labels_path(lb, sizeof lb, "fifo-labels");
    cnn_dataset *ds = NULL;
    int rc = load_via_fifo("fifo-raw", ib, n, lb, p, sizeof p, &ds);
    CHECK(rc == CNN_OK, "raw fifo: %s", cnn_last_error());
    check_good(ds, "raw fifo");
    cnn_dataset_free(ds);

    write_gz(gzp, sizeof gzp, "fifo-src.gz", ib, n);
    size_t gn;
    uint8_t *gz = slurp(gzp, &gn);
    ds = NULL;
    rc = load_via_fifo("fifo-gz", gz, gn, lb, p, sizeof p, &ds);
    CHECK(rc == CNN_OK, "gzip fifo: %s", cnn_last_error());
    check_good(ds, "gzip fifo");
    cnn_dataset_free(ds);
    free(gz);

    ds = NULL;
    rc = load_via_fifo("fifo-short", ib, n - 3, lb, p, sizeof p, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, p, "truncated", "short fifo");

    ib[n] = 7;
    ds = NULL;
    rc = load_via_fifo("fifo-long", ib, n + 1, lb, p, sizeof p, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, p, "trailing", "long fifo");

    /* 22000 images of 28x28 (17 MB, past the first buffer), then the same
       bytes under a header claiming a million images (784 MB). */
    enum { BIG = 22000 };
    size_t bn = 16 + (size_t)BIG * 784;
    uint8_t *big = calloc(bn, 1);
    CHECK(big != NULL, "calloc");
    if (!big)
        return;
    for (size_t i = 16; i < bn; i++)
        big[i] = (uint8_t)(i * 7);
    uint32_t dims[3] = {BIG, 28, 28};
    make_idx(big, 0x00000803, dims, 3, NULL, 0);
    uint8_t *lbuf = calloc(8 + BIG, 1);
    CHECK(lbuf != NULL, "calloc");
    if (!lbuf) {
        free(big);
        return;
    }
    uint32_t ld[1] = {BIG};
    char biglb[512];
    write_raw(biglb, sizeof biglb, "fifo-big-labels", lbuf,
              make_idx(lbuf, 0x00000801, ld, 1, NULL, 0) + BIG);
    ds = NULL;
    rc = load_via_fifo("fifo-big", big, bn, biglb, p, sizeof p, &ds);
    CHECK(rc == CNN_OK, "big fifo: %s", cnn_last_error());
    CHECK(ds && ds->count == BIG && ds->images[784 * 1000 + 5] ==
                                        (uint8_t)((16 + 784 * 1000 + 5) * 7),
          "big fifo: wrong data");
    cnn_dataset_free(ds);

    dims[0] = 1000000;
    make_idx(big, 0x00000803, dims, 3, NULL, 0);
    ld[0] = 1000000;
    uint8_t lh[8];
    char lielb[512];
    make_idx(lh, 0x00000801, ld, 1, NULL, 0);
    /* The labels must pass their own checks for the images to be read:
       a (sparse) label file of the claimed size. */
    snprintf(lielb, sizeof lielb, "%s/fifo-lie-labels", test_tmpdir());
    FILE *f = fopen(lielb, "wb");
    int ok = f && fwrite(lh, 1, 8, f) == 8 &&
             fseek(f, 1000000 - 1, SEEK_CUR) == 0 && fputc(0, f) == 0;
    if (f && fclose(f) != 0)
        ok = 0;
    CHECK(ok, "cannot write %s", lielb);
    ds = NULL;
    rc = load_via_fifo("fifo-lie", big, bn, lielb, p, sizeof p, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, p, "truncated", "lying fifo header");
    free(lbuf);
    free(big);
}

/* Load every proper prefix of file (n bytes) as the image file: each must
   fail as malformed.  Returns the number that did not. */
static int check_prefixes(const uint8_t *file, size_t n, const char *name,
                          const char *labels)
{
    char im[512];
    int bad = 0;
    for (size_t k = 0; k < n && bad < 5; k++) {
        write_raw(im, sizeof im, name, file, k);
        cnn_dataset *ds = NULL;
        int rc = cnn_dataset_load_idx(im, labels, 10, &ds);
        if (rc != CNN_ERR_FORMAT || ds || !strstr(cnn_last_error(), im)) {
            bad++;
            CHECK(0, "%s, %zu-byte prefix: rc %d: %s", name, k, rc,
                  cnn_last_error());
        }
        cnn_dataset_free(ds);
    }
    return bad;
}

/* Every prefix of the good files, raw and gzip, and every single-byte
   corruption of the gzip file: never a crash, never a bogus success. */
static void test_fuzz_small(void)
{
    uint8_t ib[256];
    size_t n = good_images(ib);
    char im[512], lb[512], gzpath[512];
    labels_path(lb, sizeof lb, "fuzz-labels");
    int bad = check_prefixes(ib, n, "fuzz-prefix", lb);
    write_gz(gzpath, sizeof gzpath, "fuzz-good.gz", ib, n);
    size_t gn;
    uint8_t *gz = slurp(gzpath, &gn);
    bad += check_prefixes(gz, gn, "fuzz-gz-prefix", lb);
    for (size_t k = 0; k < gn && bad < 5; k++) {
        for (int flip = 0; flip < 2; flip++) {
            gz[k] ^= flip ? 0x80 : 0x01;
            write_raw(im, sizeof im, "fuzz-gz-flip", gz, gn);
            cnn_dataset *ds = NULL;
            int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
            /* Flips in the gzip header's flags, time or OS fields may be
               harmless; any success must give the exact data. */
            if (rc == CNN_OK)
                check_good(ds, "harmless flip");
            else if (ds || !strstr(cnn_last_error(), im)) {
                bad++;
                CHECK(0, "flip at %zu: rc %d: %s", k, rc, cnn_last_error());
            }
            cnn_dataset_free(ds);
            gz[k] ^= flip ? 0x80 : 0x01;
        }
    }
    free(gz);
}

static void test_mnist(void)
{
    const char *dir = test_mnist_dir();
    if (!dir) {
        test_skip("no MNIST (run make data or set CNN_MNIST_DIR)");
        return;
    }
    const struct {
        const char *split;
        int count;
        int first_label;
    } want[] = {{"train", 60000, 5}, {"test", 10000, 7}};
    for (int s = 0; s < 2; s++) {
        cnn_dataset *ds = NULL;
        int rc = cnn_dataset_load_dir(dir, want[s].split, 10, &ds);
        CHECK(rc == CNN_OK, "%s: %s", want[s].split, cnn_last_error());
        if (rc != CNN_OK || !ds)
            continue;
        CHECK(ds->count == want[s].count && ds->height == 28 &&
                  ds->width == 28 && ds->channels == 1,
              "%s: shape %dx%dx%dx%d", want[s].split, ds->count, ds->height,
              ds->width, ds->channels);
        CHECK(ds->classes == 10, "%s: %d classes", want[s].split,
              ds->classes);
        CHECK(ds->labels[0] == want[s].first_label, "%s: first label %d",
              want[s].split, ds->labels[0]);
        long hist[10] = {0};
        for (int i = 0; i < ds->count; i++)
            hist[ds->labels[i] % 10]++;
        for (int c = 0; c < 10; c++)
            CHECK(hist[c] > ds->count / 20, "%s: class %d has %ld images",
                  want[s].split, c, hist[c]);
        cnn_dataset_free(ds);
    }
}

TEST_TABLE(data,
    {"raw_valid", test_raw_valid},
    {"gzip_valid", test_gzip_valid},
    {"dir_valid", test_dir_valid},
    {"bad_magic", test_bad_magic},
    {"bad_dims", test_bad_dims},
    {"truncated", test_truncated},
    {"trailing", test_trailing},
    {"absurd_dims", test_absurd_dims},
    {"count_mismatch", test_count_mismatch},
    {"label_range", test_label_range},
    {"missing", test_missing},
    {"empty", test_empty},
    {"gzip_corrupt", test_gzip_corrupt},
    {"fifo", test_fifo},
    {"fuzz_small", test_fuzz_small},
    {"mnist", test_mnist})
