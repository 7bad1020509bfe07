/*
 * test_cifar.c — tests of the CIFAR-10 binary loader (src/data_cifar.c)
 * through cnn_dataset_load_dir, on small generated batch files: the
 * CHW-to-NHWC order pixel by pixel and the files' order, raw and gzip
 * (one or several members, and more records than the buffers first
 * hold); missing batches, a directory holding both
 * MNIST and CIFAR-10 files, wrong sizes, truncated gzip data, bad labels,
 * a FIFO and a directory in place of a file, each refused with one line
 * naming the file; and a small model, and the "cifar" preset, training on
 * generated 32x32x3 data through the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cnn.h"
#include "tests.h"

#define REC 3073
#define PLANE 1024

/* Records in each generated file: data_batch_1..5, then test_batch. */
static const int file_records[6] = {3, 2, 4, 1, 2, 3};
static const char *const file_names[6] = {
    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
    "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

/* Pixel (channel c, row y, column x) of image i of a split, and its label:
   every position gives a different value, so any misplaced byte shows. */
static uint8_t px(int i, int c, int y, int x)
{
    return (uint8_t)(i * 71 + c * 101 + y * 13 + x * 7 + 5);
}
static uint8_t label_of(int i) { return (uint8_t)((i * 3 + 1) % 10); }

/* n records of images first..first+n-1 in CIFAR-10's layout, in buf. */
static size_t make_records(uint8_t *buf, int first, int n)
{
    for (int r = 0; r < n; r++) {
        uint8_t *rec = buf + (size_t)r * REC;
        rec[0] = label_of(first + r);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    rec[1 + c * PLANE + y * 32 + x] = px(first + r, c, y, x);
    }
    return (size_t)n * REC;
}

/* gzip of data written to path, cut into `members` gzip members. */
static void write_gz(const char *path, const uint8_t *data, size_t size, int members)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f)
        return;
    size_t at = 0;
    for (int m = 0; m < members; m++) {
        size_t part = m == members - 1 ? size - at : size / (size_t)members;
        uLongf cap = compressBound((uLong)part) + 32;
        uint8_t *out = malloc(cap);
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)(data + at);
        z.avail_in = (uInt)part;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
        fwrite(out, 1, z.total_out, f);
        deflateEnd(&z);
        free(out);
        at += part;
    }
    fclose(f);
}

/* A fresh directory name under the temporary directory, created. */
static const char *fresh_dir(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    return dir;
}

/* The path of dir/name, in static storage. */
static const char *at(const char *dir, const char *name)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* The six generated files in dir; gz: 0 raw, 1 gzip (.bin.gz), 2 every
   other file gzip in three members. */
static void write_cifar_dir(const char *dir, int gz)
{
    int first[2] = {0, 0};
    for (int f = 0; f < 6; f++) {
        int split = f == 5;
        int n = file_records[f];
        uint8_t *buf = malloc((size_t)n * REC);
        size_t size = make_records(buf, first[split], n);
        first[split] += n;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, file_names[f]);
        if (gz == 1 || (gz == 2 && f % 2)) {
            strcat(path, ".gz");
            write_gz(path, buf, size, gz == 2 ? 3 : 1);
        } else {
            FILE *o = fopen(path, "wb");
            CHECK(o && fwrite(buf, 1, size, o) == size && fclose(o) == 0, "write %s", path);
        }
        free(buf);
    }
}

/* ds holds images 0..count-1 as make_records made them, NHWC. */
static void check_split(const cnn_dataset *ds, int count, const char *what)
{
    CHECK(ds != NULL, "%s: no data set", what);
    if (!ds)
        return;
    CHECK(ds->count == count && ds->height == 32 && ds->width == 32 && ds->channels == 3,
          "%s: shape %dx%dx%dx%d", what, ds->count, ds->height, ds->width, ds->channels);
    if (ds->count != count)
        return;
    int largest = 0, bad = 0;
    for (int i = 0; i < count; i++)
        largest = label_of(i) > largest ? label_of(i) : largest;
    for (int i = 0; i < count && !bad; i++) {
        CHECK(ds->labels[i] == label_of(i), "%s: image %d: label %d, want %d", what, i,
              ds->labels[i], label_of(i));
        const uint8_t *img = ds->images + (size_t)i * 3 * PLANE;
        for (int y = 0; y < 32 && !bad; y++)
            for (int x = 0; x < 32 && !bad; x++)
                for (int c = 0; c < 3 && !bad; c++) {
                    uint8_t got = img[(y * 32 + x) * 3 + c], want = px(i, c, y, x);
                    if (got != want) {
                        bad = 1;
                        CHECK(0, "%s: image %d channel %d at (%d,%d): %d, want %d", what, i, c,
                              y, x, got, want);
                    }
                }
    }
    CHECK(ds->classes == largest + 1, "%s: classes %d, want %d", what, ds->classes,
          largest + 1);
}

static void expect_splits(const char *dir, const char *what)
{
    cnn_dataset *ds = NULL;
    int rc = cnn_dataset_load_dir(dir, "train", 0, &ds);
    CHECK(rc == CNN_OK, "%s train: %s", what, cnn_last_error());
    check_split(ds, 12, what);
    cnn_dataset_free(ds);
    ds = NULL;
    rc = cnn_dataset_load_dir(dir, "test", 10, &ds);
    CHECK(rc == CNN_OK, "%s test: %s", what, cnn_last_error());
    check_split(ds, 3, what);
    cnn_dataset_free(ds);
}

static void loads_in_nhwc_order(void)
{
    const char *dir = fresh_dir("cifar-raw");
    write_cifar_dir(dir, 0);
    expect_splits(dir, "raw");
    /* A trailing slash, and max_classes that every label fits. */
    char slashed[600];
    snprintf(slashed, sizeof slashed, "%s/", dir);
    cnn_dataset *ds = NULL;
    CHECK(cnn_dataset_load_dir(slashed, "train", 10, &ds) == CNN_OK, "%s", cnn_last_error());
    check_split(ds, 12, "slash");
    cnn_dataset_free(ds);
}

static void loads_gzip(void)
{
    const char *dir = fresh_dir("cifar-gz");
    write_cifar_dir(dir, 1);
    expect_splits(dir, "gzip");
    dir = fresh_dir("cifar-mixed");
    write_cifar_dir(dir, 2);
    expect_splits(dir, "raw and gzip members");
}

/* A gzip batch holding more records than the loader's first guess (4,096):
   the buffers grow as the records arrive, and every pixel lands. */
static void gzip_buffers_grow(void)
{
    const char *dir = fresh_dir("cifar-grow");
    enum { BIG = 5000 };
    uint8_t *buf = malloc((size_t)BIG * REC);
    write_gz(at(dir, "data_batch_1.bin.gz"), buf, make_records(buf, 0, BIG), 2);
    for (int f = 1; f < 6; f++) {
        make_records(buf, f < 5 ? BIG + f - 1 : 0, 1);
        FILE *o = fopen(at(dir, file_names[f]), "wb");
        CHECK(o && fwrite(buf, 1, REC, o) == REC && fclose(o) == 0, "write");
    }
    free(buf);
    cnn_dataset *ds = NULL;
    CHECK(cnn_dataset_load_dir(dir, "train", 0, &ds) == CNN_OK, "%s", cnn_last_error());
    check_split(ds, BIG + 4, "grown");
    cnn_dataset_free(ds);
}

/* A failed load: the status, no data set, one line naming `file` and
   holding `word`. */
static void expect_fail(const char *dir, const char *split, int max_classes, int want,
                        const char *file, const char *word, const char *what)
{
    cnn_dataset *ds = (cnn_dataset *)1;
    int rc = cnn_dataset_load_dir(dir, split, max_classes, &ds);
    const char *msg = cnn_last_error();
    CHECK(rc == want, "%s: status %d (%s), want %d; %s", what, rc, cnn_status_str(rc), want,
          msg);
    CHECK(ds == NULL, "%s: data set returned on failure", what);
    if (rc == CNN_OK)
        cnn_dataset_free(ds);
    CHECK(strstr(msg, file) && strstr(msg, word) && !strchr(msg, '\n'),
          "%s: message should name %s and say \"%s\": %s", what, file, word, msg);
}

static void missing_batches_are_named(void)
{
    const char *dir = fresh_dir("cifar-partial");
    write_cifar_dir(dir, 0);
    unlink(at(dir, "data_batch_4.bin"));
    expect_fail(dir, "train", 0, CNN_ERR_IO, "data_batch_4.bin", "data_batch_1.bin to "
                "data_batch_5.bin", "fourth batch missing");
    cnn_dataset *ds = NULL;
    CHECK(cnn_dataset_load_dir(dir, "test", 0, &ds) == CNN_OK, "test split alone: %s",
          cnn_last_error());
    cnn_dataset_free(ds);
    unlink(at(dir, "test_batch.bin"));
    expect_fail(dir, "test", 0, CNN_ERR_IO, "test_batch.bin", "No such file", "test missing");

    /* Only the test batch: the train split names its first file. */
    dir = fresh_dir("cifar-test-only");
    write_cifar_dir(dir, 0);
    for (int f = 0; f < 5; f++)
        unlink(at(dir, file_names[f]));
    expect_fail(dir, "train", 0, CNN_ERR_IO, "data_batch_1.bin", "nor data_batch_1.bin.gz",
                "train batches missing");
}

static void both_formats_are_refused(void)
{
    const char *dir = fresh_dir("cifar-and-mnist");
    write_cifar_dir(dir, 0);
    FILE *f = fopen(at(dir, "t10k-labels-idx1-ubyte.gz"), "wb");
    CHECK(f && fclose(f) == 0, "write");
    expect_fail(dir, "train", 0, CNN_ERR_IO, "t10k-labels-idx1-ubyte", "both MNIST",
                "both sets");
}

/* dir's file name rewritten with n bytes of data. */
static void rewrite(const char *dir, const char *name, const void *data, size_t n)
{
    FILE *f = fopen(at(dir, name), "wb");
    CHECK(f && (n == 0 || fwrite(data, 1, n, f) == n) && fclose(f) == 0, "write %s", name);
}

static void bad_sizes_are_refused(void)
{
    uint8_t *buf = malloc(4 * REC);
    make_records(buf, 0, 4);
    const char *dir = fresh_dir("cifar-sizes");
    write_cifar_dir(dir, 0);
    rewrite(dir, "data_batch_3.bin", buf, 2 * REC + 100);
    expect_fail(dir, "train", 0, CNN_ERR_FORMAT, "data_batch_3.bin",
                "2 whole 3073-byte records and 100 bytes over", "cut record");
    rewrite(dir, "data_batch_3.bin", buf, 4 * REC - 1);
    expect_fail(dir, "train", 0, CNN_ERR_FORMAT, "data_batch_3.bin", "truncated",
                "one byte short");
    rewrite(dir, "data_batch_3.bin", buf, 0);
    expect_fail(dir, "train", 0, CNN_ERR_FORMAT, "data_batch_3.bin", "empty file", "empty");
    rewrite(dir, "data_batch_3.bin", buf, REC);
    unlink(at(dir, "test_batch.bin"));
    char gz[700];
    snprintf(gz, sizeof gz, "%s", at(dir, "test_batch.bin.gz"));
    write_gz(gz, buf, 3 * REC + 500, 1);
    expect_fail(dir, "test", 0, CNN_ERR_FORMAT, "test_batch.bin.gz",
                "ends 500 bytes into record 3", "gzip cut record");
    write_gz(gz, buf, 0, 1);
    expect_fail(dir, "test", 0, CNN_ERR_FORMAT, "test_batch.bin.gz", "no records",
                "gzip of nothing");
    /* A gzip file cut short is refused by the stream (instream.c). */
    write_gz(gz, buf, 4 * REC, 1);
    struct stat st;
    CHECK(stat(gz, &st) == 0 && truncate(gz, st.st_size / 2) == 0, "truncate %s", gz);
    expect_fail(dir, "test", 0, CNN_ERR_FORMAT, "test_batch.bin.gz", "truncated",
                "gzip cut short");
    free(buf);
}

static void bad_labels_are_refused(void)
{
    uint8_t *buf = malloc(4 * REC);
    const char *dir = fresh_dir("cifar-labels");
    write_cifar_dir(dir, 0);
    make_records(buf, 0, 4);
    buf[2 * REC] = 10;
    rewrite(dir, "data_batch_2.bin", buf, 4 * REC);
    expect_fail(dir, "train", 0, CNN_ERR_MISMATCH, "data_batch_2.bin",
                "record 2 (byte 6146): label 10 is out of range (must be below 10)",
                "label 10");
    buf[2 * REC] = 255;
    rewrite(dir, "data_batch_2.bin", buf, 4 * REC);
    expect_fail(dir, "train", 0, CNN_ERR_MISMATCH, "data_batch_2.bin", "label 255",
                "label 255");
    /* Every label below 10, but a model with 4 classes asks for fewer. */
    make_records(buf, 0, 4);
    rewrite(dir, "data_batch_2.bin", buf, 4 * REC);
    expect_fail(dir, "train", 4, CNN_ERR_MISMATCH, "data_batch_1.bin",
                "record 1 (byte 3073): label 4 is out of range (must be below 4)",
                "max_classes");
    free(buf);
}

static void special_files_are_refused(void)
{
    const char *dir = fresh_dir("cifar-special");
    write_cifar_dir(dir, 0);
    unlink(at(dir, "data_batch_2.bin"));
    CHECK(mkfifo(at(dir, "data_batch_2.bin"), 0600) == 0, "mkfifo");
    expect_fail(dir, "train", 0, CNN_ERR_IO, "data_batch_2.bin", "is a FIFO", "FIFO");
    unlink(at(dir, "data_batch_2.bin"));
    CHECK(mkdir(at(dir, "data_batch_2.bin"), 0700) == 0, "mkdir");
    expect_fail(dir, "train", 0, CNN_ERR_IO, "data_batch_2.bin", "is a directory",
                "directory");
    rmdir(at(dir, "data_batch_2.bin"));
    CHECK(symlink("/dev/zero", at(dir, "test_batch.bin.gz")) == 0 &&
              unlink(at(dir, "test_batch.bin")) == 0, "symlink");
    expect_fail(dir, "test", 0, CNN_ERR_IO, "test_batch.bin.gz", "character device",
                "device");
}

/* A learnable generated split in dir: class k lights channel k % 3 in the
   band of rows (k / 3) * 8 .. +8, over noise. */
static void write_learnable(const char *dir, int per_file)
{
    uint64_t s = 12345;
    uint8_t *buf = malloc((size_t)per_file * REC);
    for (int f = 0; f < 6; f++) {
        for (int r = 0; r < per_file; r++) {
            uint8_t *rec = buf + (size_t)r * REC;
            int k = (r + f) % 10;
            rec[0] = (uint8_t)k;
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < PLANE; p++) {
                    s = s * 6364136223846793005ull + 1442695040888963407ull;
                    int lit = c == k % 3 && p / 32 / 8 == k / 3;
                    rec[1 + c * PLANE + p] = (uint8_t)((s >> 58) + (lit ? 180 : 20));
                }
        }
        rewrite(dir, file_names[f], buf, (size_t)per_file * REC);
    }
    free(buf);
}

/* Train spec on the generated data for epochs; accuracy before and after. */
static void trains(const char *spec, int epochs, const char *what)
{
    const char *dir = fresh_dir(what);
    write_learnable(dir, 20);
    cnn_dataset *train = NULL, *test = NULL;
    CHECK(cnn_dataset_load_dir(dir, "train", 10, &train) == CNN_OK &&
              cnn_dataset_load_dir(dir, "test", 10, &test) == CNN_OK,
          "%s", cnn_last_error());
    cnn_model *m = NULL;
    int st = train ? cnn_model_create(spec, 32, 32, 3, 0, &m) : CNN_ERR_ARG;
    CHECK(st == CNN_OK, "%s: %s", what, cnn_last_error());
    if (st == CNN_OK && test) {
        cnn_model_init(m, 7);
        cnn_eval_result before, after;
        CHECK(cnn_evaluate(m, train, 1, &before) == CNN_OK, "%s", cnn_last_error());
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.epochs = epochs;
        cfg.batch = 10;
        cfg.lr = 0.003f;
        cfg.threads = 2;
        cnn_train_result r;
        CHECK(cnn_train(m, train, &cfg, &r) == CNN_OK, "%s: %s", what, cnn_last_error());
        CHECK(r.steps == epochs * 10L, "%s: %ld steps", what, r.steps);
        CHECK(cnn_evaluate(m, train, 1, &after) == CNN_OK, "%s", cnn_last_error());
        CHECK(after.loss < 0.5 * before.loss && after.accuracy >= 0.9,
              "%s: loss %.3f -> %.3f, accuracy %.2f -> %.2f", what, before.loss, after.loss,
              before.accuracy, after.accuracy);
        cnn_eval_result_free(&after);
        CHECK(cnn_evaluate(m, test, 1, &after) == CNN_OK && after.count == 20, "%s test: %s",
              what, cnn_last_error());
        cnn_eval_result_free(&before);
        cnn_eval_result_free(&after);
    }
    cnn_model_free(m);
    cnn_dataset_free(train);
    cnn_dataset_free(test);
}

static void small_model_trains(void)
{
    trains("conv3x3:8:same,relu,conv3x3s2:16:same,relu,flatten,dense:10,softmax", 8,
           "cifar-small-model");
}

static void cifar_preset_trains(void) { trains("cifar", 8, "cifar-preset"); }

TEST_TABLE(cifar,
    {"loads_in_nhwc_order", loads_in_nhwc_order},
    {"loads_gzip", loads_gzip},
    {"gzip_buffers_grow", gzip_buffers_grow},
    {"missing_batches_are_named", missing_batches_are_named},
    {"both_formats_are_refused", both_formats_are_refused},
    {"bad_sizes_are_refused", bad_sizes_are_refused},
    {"bad_labels_are_refused", bad_labels_are_refused},
    {"special_files_are_refused", special_files_are_refused},
    {"small_model_trains", small_model_trains},
    {"cifar_preset_trains", cifar_preset_trains})
