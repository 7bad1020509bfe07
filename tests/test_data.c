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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* Limit the process's address space to what it maps now plus extra
   bytes (not under a sanitizer, whose shadow memory needs terabytes). */
static void limit_address_space(size_t extra)
{
#ifndef UNDER_SANITIZER
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lu", &pages) == 1) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max =
            (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
        setrlimit(RLIMIT_AS, &rl);
    }
    if (f)
        fclose(f);
#else
    (void)extra;
#endif
}

/* Load im and lb in a child process that SIGALRM ends after 5 s, so a
   load that blocks fails the test instead of hanging the runner; with
   as_extra, the child may map only that many bytes more than it has.
   Returns the status (1 when the child timed out or died) and the message
   in msg. */
static int load_in_child(const char *im, const char *lb, size_t as_extra,
                         char *msg, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(2);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        close(fds[0]);
        alarm(5);
        if (as_extra)
            limit_address_space(as_extra);
        cnn_dataset *ds = NULL;
        int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
        char out[1024];
        int n = snprintf(out, sizeof out, "%d %s", rc,
                         rc ? cnn_last_error() : "");
        if (write(fds[1], out, n > 0 && (size_t)n < sizeof out ? (size_t)n
                                                                : 0) < 0)
            _exit(3);
        cnn_dataset_free(ds);
        _exit(0);
    }
    close(fds[1]);
    char buf[1024];
    size_t have = 0;
    ssize_t r;
    while (have < sizeof buf - 1 &&
           (r = read(fds[0], buf + have, sizeof buf - 1 - have)) > 0)
        have += (size_t)r;
    buf[have] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int rc = 1, off = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
        sscanf(buf, "%d %n", &rc, &off) == 1)
        snprintf(msg, cap, "%s", buf + off);
    else
        snprintf(msg, cap, "child %s %d", WIFSIGNALED(status) ? "killed by "
                 "signal" : "exited", WIFSIGNALED(status) ? WTERMSIG(status)
                 : WEXITSTATUS(status));
    return rc;
}

/* A special file as the images (or the labels): refused at once with
   CNN_ERR_IO and one line naming the path and what stands there. */
static void expect_refused(const char *im, const char *lb, const char *bad,
                           const char *type, const char *what)
{
    char msg[1024];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = load_in_child(im, lb, 0, msg, sizeof msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    CHECK(rc == CNN_ERR_IO, "%s: status %d, message: %s", what, rc, msg);
    CHECK(strstr(msg, bad) && strstr(msg, type) && !strchr(msg, '\n'),
          "%s: message does not name %s as %s: %s", what, bad, type, msg);
    CHECK(s < 2.0, "%s: took %.1f s", what, s);
}

/* Directories, FIFOs (no writer: opening one must not block), sockets
   and character devices are refused before anything is read. */
static void test_special_files(void)
{
    uint8_t ib[256];
    char im[512], lb[512], p[600];
    write_raw(im, sizeof im, "special-images", ib, good_images(ib));
    labels_path(lb, sizeof lb, "special-labels");

    snprintf(p, sizeof p, "%s/special-fifo", test_tmpdir());
    if (mkfifo(p, 0600) != 0) {
        perror(p);
        exit(2);
    }
    expect_refused(p, lb, p, "is a FIFO", "FIFO as images");
    expect_refused(im, p, p, "is a FIFO", "FIFO as labels");

    snprintf(p, sizeof p, "%s/special-dir", test_tmpdir());
    CHECK(mkdir(p, 0700) == 0, "mkdir %s", p);
    expect_refused(p, lb, p, "is a directory", "directory as images");
    expect_refused(im, p, p, "is a directory", "directory as labels");

    /* A character device, read only: /dev/null, directly and through a
       link (the message names the path given). */
    expect_refused("/dev/null", lb, "/dev/null", "is a character device",
                   "/dev/null as images");
    snprintf(p, sizeof p, "%s/special-null-link", test_tmpdir());
    CHECK(symlink("/dev/null", p) == 0, "symlink %s", p);
    expect_refused(im, p, p, "is a character device", "link to /dev/null");

    /* A socket cannot even be opened: the message still says what it is. */
    snprintf(p, sizeof p, "%s/special-socket", test_tmpdir());
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    int sock = strlen(p) < sizeof sa.sun_path
                   ? socket(AF_UNIX, SOCK_STREAM, 0) : -1;
    if (sock >= 0)
        memcpy(sa.sun_path, p, strlen(p) + 1);
    if (sock < 0 ||
        bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0) {
        test_skip("cannot make a socket in the temporary directory");
    } else {
        expect_refused(p, lb, p, "is a socket", "socket as images");
    }
    if (sock >= 0)
        close(sock);

    /* Through the directory loader: a FIFO named like the split's file. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/special-mnist", test_tmpdir());
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    write_raw(p, sizeof p, "special-mnist/train-images-idx3-ubyte", ib,
              good_images(ib));
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    CHECK(mkfifo(p, 0600) == 0, "mkfifo %s", p);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_dir(dir, "train", 10, &ds);
    check_fail(rc, ds, CNN_ERR_IO, p, "is a FIFO", "FIFO in a directory");
}

/* Write data as gzip members to name, cut at the ncut offsets (in
   order; a cut at 0, n or twice at one offset makes an empty member),
   compressed at level (0-9).  Path to out; returns the offset of the
   second member's first byte (0 when there is one member). */
static size_t write_members(char *out, size_t cap, const char *name,
                            const uint8_t *data, size_t n,
                            const size_t *cuts, int ncut, int level)
{
    snprintf(out, cap, "%s/%s", test_tmpdir(), name);
    size_t from = 0, second = 0;
    for (int i = 0; i <= ncut; i++) {
        size_t to = i < ncut && cuts[i] < n ? cuts[i] : n;
        char mode[4] = {i ? 'a' : 'w', 'b', (char)('0' + level), 0};
        gzFile gz = gzopen(out, mode); /* "a": a new member at the end */
        if (!gz || (to > from && gzwrite(gz, data + from,
                                         (unsigned)(to - from)) !=
                                     (int)(to - from)) ||
            gzclose(gz) != Z_OK) {
            fprintf(stderr, "cannot write %s\n", out);
            exit(2);
        }
        if (i == 0) {
            struct stat st;
            second = stat(out, &st) == 0 ? (size_t)st.st_size : 0;
        }
        from = to;
    }
    return ncut ? second : 0;
}

/* Files of several gzip members, the images or the labels, cut anywhere
   (inside the header too) and with empty members, load exactly as the
   one-member file does. */
static void test_gzip_members(void)
{
    uint8_t ib[256], lbuf[64];
    size_t n = good_images(ib), ln = good_label_file(lbuf);
    char im[512], lb[512], one[512], what[64];
    labels_path(lb, sizeof lb, "members-labels");
    write_gz(one, sizeof one, "members-one.gz", ib, n);
    cnn_dataset *ref = NULL;
    int rc = cnn_dataset_load_idx(one, lb, 10, &ref);
    CHECK(rc == CNN_OK && ref, "one member: %s", cnn_last_error());
    if (!ref)
        return;
    const struct {
        size_t cuts[3];
        int ncut;
    } cases[] = {
        {{16}, 1},         {{2}, 1},        {{40}, 1},   {{n - 1}, 1},
        {{3, 30}, 2},      {{0}, 1},        {{n}, 1},    {{20, 20}, 2},
        {{0, 9, n}, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        snprintf(what, sizeof what, "%d members, first cut at %zu",
                 cases[c].ncut + 1, cases[c].cuts[0]);
        write_members(im, sizeof im, "members-images.gz", ib, n,
                      cases[c].cuts, cases[c].ncut, 9);
        cnn_dataset *ds = NULL;
        rc = cnn_dataset_load_idx(im, lb, 10, &ds);
        CHECK(rc == CNN_OK, "%s: %s", what, cnn_last_error());
        check_good(ds, what);
        CHECK(ds && memcmp(ds->images, ref->images, n - 16) == 0 &&
                  memcmp(ds->labels, ref->labels, N_IMG) == 0 &&
                  ds->classes == ref->classes,
              "%s: differs from the one-member load", what);
        cnn_dataset_free(ds);
    }
    cnn_dataset_free(ref);

    /* The labels in three members, with gzip images in two. */
    size_t lcut[2] = {5, 10}, icut[1] = {50};
    write_members(lb, sizeof lb, "members-labels.gz", lbuf, ln, lcut, 2, 6);
    write_members(im, sizeof im, "members-images.gz", ib, n, icut, 1, 1);
    expect_good(im, lb, 10, "labels in three members");
}

/* Rewrite the 4-byte little-endian field at off in a gzip file. */
static void patch_le32(uint8_t *b, size_t off, uint32_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
    b[off + 2] = (uint8_t)(v >> 16);
    b[off + 3] = (uint8_t)(v >> 24);
}

/* Several members, each checked: a member whose own trailer lies (CRC or
   size), a corrupt or cut later member, bytes after the last member, and
   members that together hold more or less than the header declares. */
static void test_gzip_members_bad(void)
{
    uint8_t ib[256];
    size_t n = good_images(ib);
    char im[512], lb[512];
    labels_path(lb, sizeof lb, "mbad-labels");
    size_t cut[1] = {40};
    size_t second = write_members(im, sizeof im, "mbad-src.gz", ib, n, cut,
                                  1, 9);
    size_t gn;
    uint8_t *gz = slurp(im, &gn);
    uint8_t *b = malloc(gn + 64);
    CHECK(b != NULL && second > 20 && second < gn, "setup: %zu of %zu",
          second, gn);
    if (!b || second <= 20 || second >= gn) {
        free(b);
        free(gz);
        return;
    }
    const struct {
        const char *name, *word;
        size_t off;    /* byte to change */
        int how;       /* 0 flip, 1 ISIZE+1, 2 cut to off, 3 append */
        const char *extra;
        size_t extra_n;
    } cases[] = {
        {"mbad-isize1.gz", "size in its trailer", second - 4, 1, 0, 0},
        {"mbad-crc1.gz", "CRC", second - 8, 0, 0, 0},
        {"mbad-isize2.gz", "size in its trailer", gn - 4, 1, 0, 0},
        {"mbad-crc2.gz", "CRC", gn - 7, 0, 0, 0},
        {"mbad-mid2.gz", "member 2", second + 12, 0, 0, 0},
        {"mbad-magic2.gz", "trailing", second + 1, 0, 0, 0},
        {"mbad-method2.gz", "member 2", second + 2, 0, 0, 0},
        {"mbad-cut2.gz", "member 2", gn - 3, 2, 0, 0},
        {"mbad-cuthdr2.gz", "member 2", second + 5, 2, 0, 0},
        {"mbad-garbage.gz", "trailing", gn, 3, "garbage", 7},
        {"mbad-zeros.gz", "trailing", gn, 3, "\0\0\0\0", 4},
        {"mbad-1f.gz", "1 trailing byte", gn, 3, "\x1f", 1},
        {"mbad-halfmagic.gz", "member 3", gn, 3, "\x1f\x8b", 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memcpy(b, gz, gn);
        size_t bn = gn;
        if (cases[c].how == 0)
            b[cases[c].off] ^= 0x55;
        else if (cases[c].how == 1)
            patch_le32(b, cases[c].off, (uint32_t)(b[cases[c].off] + 1));
        else if (cases[c].how == 2)
            bn = cases[c].off;
        else {
            memcpy(b + gn, cases[c].extra, cases[c].extra_n);
            bn += cases[c].extra_n;
        }
        write_raw(im, sizeof im, cases[c].name, b, bn);
        cnn_dataset *ds = NULL;
        int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
        check_fail(rc, ds, CNN_ERR_FORMAT, im, cases[c].word, cases[c].name);
    }
    free(b);
    free(gz);

    /* A third member with more data than the header declares, and a file
       whose members hold one image less. */
    uint8_t more[300];
    memcpy(more, ib, n);
    memset(more + n, 9, 5);
    size_t cuts[2] = {40, n};
    write_members(im, sizeof im, "mbad-more.gz", more, n + 5, cuts, 2, 9);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "trailing", "members hold more");
    write_members(im, sizeof im, "mbad-less.gz", ib, n - IMG_PIX, cut, 1, 9);
    ds = NULL;
    rc = cnn_dataset_load_idx(im, lb, 10, &ds);
    check_fail(rc, ds, CNN_ERR_FORMAT, im, "2 gzip members hold",
               "members hold less");
}

/* When the last member's ISIZE does not give the size, the buffer grows
   as data arrives: 22000 images of 28x28 (17 MB, past the first buffer)
   in two members load exactly; the same bytes, stored uncompressed, under
   a header claiming 20 million images (15.7 GB, which the file's length
   allows at deflate's maximal ratio) fail as truncated in a process that
   may map only 256 MB more (outside the sanitizers). */
static void test_gzip_grow(void)
{
    enum { BIG = 22000 };
    size_t bn = 16 + (size_t)BIG * 784;
    uint8_t *big = malloc(bn);
    uint8_t *lbuf = calloc(8 + BIG, 1);
    CHECK(big && lbuf, "malloc");
    if (!big || !lbuf) {
        free(big);
        free(lbuf);
        return;
    }
    uint64_t st = 7;
    for (size_t i = 16; i < bn; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        big[i] = (uint8_t)(st >> 56);
    }
    uint32_t dims[3] = {BIG, 28, 28}, ld[1] = {BIG};
    make_idx(big, 0x00000803, dims, 3, NULL, 0);
    char p[512], lb[512];
    write_raw(lb, sizeof lb, "grow-labels", lbuf,
              make_idx(lbuf, 0x00000801, ld, 1, NULL, 0) + BIG);
    size_t cut[1] = {bn / 3};
    write_members(p, sizeof p, "grow.gz", big, bn, cut, 1, 0);
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_idx(p, lb, 10, &ds);
    CHECK(rc == CNN_OK, "two big members: %s", cnn_last_error());
    CHECK(ds && ds->count == BIG && memcmp(ds->images, big + 16, bn - 16) == 0,
          "two big members: wrong data");
    cnn_dataset_free(ds);

    dims[0] = ld[0] = 20000000;
    make_idx(big, 0x00000803, dims, 3, NULL, 0);
    write_members(p, sizeof p, "grow-lie.gz", big, bn, cut, 1, 0);
    /* The labels must pass their own checks for the images to be read:
       a (sparse) label file of the claimed size. */
    uint8_t lh[8];
    make_idx(lh, 0x00000801, ld, 1, NULL, 0);
    char lielb[512];
    snprintf(lielb, sizeof lielb, "%s/grow-lie-labels", test_tmpdir());
    FILE *f = fopen(lielb, "wb");
    int ok = f && fwrite(lh, 1, 8, f) == 8 &&
             fseek(f, (long)ld[0] - 1, SEEK_CUR) == 0 && fputc(0, f) == 0;
    if (f && fclose(f) != 0)
        ok = 0;
    CHECK(ok, "cannot write %s", lielb);
    char msg[1024];
    rc = load_in_child(p, lielb, (size_t)256 << 20, msg, sizeof msg);
    CHECK(rc == CNN_ERR_FORMAT && strstr(msg, p) && strstr(msg, "truncated"),
          "lying header: status %d: %s", rc, msg);
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
    {"special_files", test_special_files},
    {"gzip_members", test_gzip_members},
    {"gzip_members_bad", test_gzip_members_bad},
    {"gzip_grow", test_gzip_grow},
    {"fuzz_small", test_fuzz_small},
    {"mnist", test_mnist})
