/*
 * data_cifar.c — loading CIFAR-10's binary format: the batch files of a
 * directory (data_batch_1.bin ... data_batch_5.bin for "train",
 * test_batch.bin for "test"), raw or gzip-compressed, into one NHWC data
 * set of 32x32x3 images.
 *
 * A batch file is a sequence of 3,073-byte records: one label byte (0 to
 * 9), then 3,072 pixel bytes, the 1,024 red ones first, then green, then
 * blue, each plane 32x32 row-major (CHW).  The data set stores a pixel's
 * three channels together (HWC), so record r's plane c, row y, column x
 * goes to image r's byte (y * 32 + x) * 3 + c.  The files have no header:
 * any whole, non-zero number of records is accepted (the distributed files
 * hold 10,000 each; smaller subsets load too).
 *
 * Checks, each a one-line message naming the file:
 *   - every file of the split is there (a missing one is named, with the
 *     names the split needs) before any is read;
 *   - only regular files are opened (cnn_open_input: a FIFO cannot block,
 *     a directory or device is named as such);
 *   - raw files: the length, before anything is allocated, must be a
 *     whole number of records; gzip files (first bytes 1f 8b, read by
 *     instream.c with every member's CRC and size checked): the data must
 *     end on a record boundary;
 *   - every label is below 10 and below max_classes (the record is
 *     named).
 * The buffers are allocated once when every file is raw; a gzip file's
 * records are only counted as they arrive, so the buffers then grow with
 * the data (a small file cannot make them large without holding the data).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "error.h"
#include "files.h"
#include "instream.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define PIXELS (3 * PLANE)
#define RECORD (1 + PIXELS)
#define CLASSES 10
/* Records read at once. */
#define CHUNK 64
/* Records the buffers first hold when a gzip file's size is unknown. */
#define GROW_START 4096
#define MAX_FILES 5

static const char *const train_names[MAX_FILES] = {
    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
    "data_batch_4.bin", "data_batch_5.bin"};
static const char *const test_names[1] = {"test_batch.bin"};
static const char needs[] = "a CIFAR-10 directory holds data_batch_1.bin "
                            "to data_batch_5.bin and test_batch.bin";

/* One open batch file. */
typedef struct batch {
    char *path;
    instream *in;
    uint64_t records; /* from a raw file's length; 0 for gzip (unknown) */
} batch;

/* The data set being filled. */
typedef struct filling {
    uint8_t *images, *labels;
    size_t count, cap; /* records held, records the buffers can hold */
    int limit;         /* labels must be below this */
    int largest;       /* the largest label so far */
} filling;

int cnn_cifar_in_dir(const char *dir)
{
    for (int i = 0; i < MAX_FILES; i++)
        if (cnn_data_present(dir, train_names[i]))
            return 1;
    return cnn_data_present(dir, test_names[0]);
}

/* Open b->path when it is a regular file, tell raw from gzip by its first
   bytes and check a raw file's length; b->in is the stream. */
static int batch_open(batch *b)
{
    struct stat st;
    int fd = cnn_open_input(b->path, "CIFAR-10 data", &st);
    if (fd < 0)
        return CNN_ERR_IO; /* the message names the path and what it is */
    uint64_t size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    unsigned char m[2];
    ssize_t n = size ? pread(fd, m, 2, 0) : 0;
    if (n < 0) {
        int e = errno;
        close(fd);
        return cnn_fail(CNN_ERR_IO, "%s: read error: %s", b->path,
                        strerror(e));
    }
    /* A raw batch starts with a label (0..9), never gzip's 1f 8b. */
    int gzip = n == 2 && m[0] == 0x1f && m[1] == 0x8b;
    int rc = CNN_OK;
    if (size == 0)
        rc = cnn_fail(CNN_ERR_FORMAT, "%s: empty file (expected CIFAR-10 "
                      "records of %d bytes)", b->path, RECORD);
    else if (!gzip && size % RECORD)
        rc = cnn_fail(CNN_ERR_FORMAT, "%s: truncated or not CIFAR-10 data: "
                      "%llu bytes is %llu whole %d-byte record%s and %llu "
                      "bytes over", b->path, (unsigned long long)size,
                      (unsigned long long)(size / RECORD), RECORD,
                      size / RECORD == 1 ? "" : "s",
                      (unsigned long long)(size % RECORD));
    if (rc != CNN_OK) {
        close(fd);
        return rc;
    }
    b->records = gzip ? 0 : size / RECORD;
    return cnn_instream_open(&b->in, fd, b->path, gzip);
}

/* Room for `more` records after f->count: exactly that many when exact
   (every file's size is known), else the buffers grow (doubling) only as
   records arrive that do not fit. */
static int make_room(filling *f, size_t more, int exact, const char *path)
{
    if (more <= f->cap - f->count)
        return CNN_OK;
    if (more > (size_t)INT_MAX - f->count)
        return cnn_fail(CNN_ERR_FORMAT, "%s: more than %d images in the "
                        "split", path, INT_MAX);
    size_t cap = exact ? f->count + more : f->cap ? f->cap : GROW_START;
    while (cap < f->count + more)
        cap = cap > (size_t)INT_MAX / 2 ? (size_t)INT_MAX : cap * 2;
    uint8_t *im = NULL, *lb = NULL;
    if (cap <= SIZE_MAX / PIXELS)
        im = realloc(f->images, cap * PIXELS);
    if (im)
        f->images = im;
    if (im && (lb = realloc(f->labels, cap)) != NULL)
        f->labels = lb;
    if (!im || !lb)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory for %zu CIFAR-10 "
                        "images", path, cap);
    f->cap = cap;
    return CNN_OK;
}

/* Record rec (the file's record number index, for messages) into the next
   image: its label checked, its planes interleaved. */
static int take_record(filling *f, const uint8_t *rec, uint64_t index,
                       const char *path)
{
    unsigned label = rec[0];
    if (label >= CLASSES || (int)label >= f->limit)
        return cnn_fail(CNN_ERR_MISMATCH, "%s: record %llu (byte %llu): "
                        "label %u is out of range (must be below %d)", path,
                        (unsigned long long)index,
                        (unsigned long long)(index * RECORD), label,
                        f->limit);
    uint8_t *img = f->images + f->count * PIXELS;
    const uint8_t *r = rec + 1, *g = r + PLANE, *b = g + PLANE;
    for (int p = 0; p < PLANE; p++) {
        img[3 * p] = r[p];
        img[3 * p + 1] = g[p];
        img[3 * p + 2] = b[p];
    }
    f->labels[f->count++] = (uint8_t)label;
    if ((int)label > f->largest)
        f->largest = (int)label;
    return CNN_OK;
}

/* Every record of b into f; the data must end on a record boundary. */
static int batch_read(batch *b, filling *f, uint8_t *chunk)
{
    uint64_t index = 0;
    for (;;) {
        size_t got = 0;
        int rc = cnn_instream_read(b->in, chunk, (size_t)CHUNK * RECORD, &got);
        if (rc != CNN_OK)
            return rc;
        size_t whole = got / RECORD;
        if (got % RECORD)
            return cnn_fail(CNN_ERR_FORMAT, "%s: truncated: the data ends "
                            "%zu bytes into record %llu (records are %d "
                            "bytes)", b->path, got % RECORD,
                            (unsigned long long)(index + whole), RECORD);
        if (index + whole == 0)
            return cnn_fail(CNN_ERR_FORMAT, "%s: no records (the gzip data "
                            "is empty)", b->path);
        if ((rc = make_room(f, whole, 0, b->path)) != CNN_OK)
            return rc;
        for (size_t i = 0; i < whole; i++, index++)
            if ((rc = take_record(f, chunk + i * RECORD, index, b->path)))
                return rc;
        if (got < (size_t)CHUNK * RECORD)
            return CNN_OK;
    }
}

/* The split's files found and opened (all of them before any is read),
   the buffers sized when every file is raw, the records read. */
static int load_files(const char *dir, const char *const *names, int n,
                      batch *files, filling *f)
{
    int rc = CNN_OK;
    for (int i = 0; i < n && rc == CNN_OK; i++)
        rc = cnn_data_find(dir, names[i], needs, &files[i].path);
    uint64_t known = 0;
    int all_raw = 1;
    for (int i = 0; i < n && rc == CNN_OK; i++) {
        rc = batch_open(&files[i]);
        known += files[i].records;
        all_raw &= files[i].records > 0;
    }
    if (rc != CNN_OK)
        return rc;
    if (known > INT_MAX)
        return cnn_fail(CNN_ERR_FORMAT, "%s: the split's files hold %llu "
                        "images, more than %d", dir,
                        (unsigned long long)known, INT_MAX);
    if (all_raw && (rc = make_room(f, (size_t)known, 1, files[0].path)))
        return rc;
    uint8_t *chunk = malloc((size_t)CHUNK * RECORD);
    if (!chunk)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", dir);
    for (int i = 0; i < n && rc == CNN_OK; i++) {
        rc = batch_read(&files[i], f, chunk);
        cnn_instream_close(files[i].in);
        files[i].in = NULL;
    }
    free(chunk);
    /* Grown buffers give back what the data did not fill. */
    if (rc == CNN_OK && f->cap > f->count) {
        uint8_t *im = realloc(f->images, f->count * PIXELS);
        uint8_t *lb = im ? realloc(f->labels, f->count) : NULL;
        f->images = im ? im : f->images;
        f->labels = lb ? lb : f->labels;
    }
    return rc;
}

int cnn_cifar_load(const char *dir, const char *split, int max_classes,
                   cnn_dataset **out)
{
    int train = strcmp(split, "train") == 0;
    const char *const *names = train ? train_names : test_names;
    int n = train ? MAX_FILES : 1;
    batch files[MAX_FILES];
    memset(files, 0, sizeof files);
    filling f = {NULL, NULL, 0, 0, 0, 0};
    f.limit = max_classes > 0 && max_classes < CLASSES ? max_classes : CLASSES;
    int rc = load_files(dir, names, n, files, &f);
    cnn_dataset *ds = NULL;
    if (rc == CNN_OK && !(ds = calloc(1, sizeof *ds)))
        rc = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", dir);
    if (rc == CNN_OK) {
        ds->count = (int)f.count;
        ds->height = ds->width = SIDE;
        ds->channels = 3;
        ds->classes = f.largest + 1;
        ds->images = f.images;
        ds->labels = f.labels;
        *out = ds;
    } else {
        free(f.images);
        free(f.labels);
    }
    for (int i = 0; i < n; i++) {
        cnn_instream_close(files[i].in);
        free(files[i].path);
    }
    return rc;
}
