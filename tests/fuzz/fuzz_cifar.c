/*
 * fuzz_cifar.c — libFuzzer harness for the CIFAR-10 binary loader
 * (src/data_cifar.c), raw and gzip-compressed, through the public
 * cnn_dataset_load_dir on a directory of batch files.
 *
 * Input layout:
 *   byte 0      flags: bit 0 loads the "test" split (one file,
 *               test_batch.bin) instead of "train" (data_batch_1.bin ...
 *               data_batch_5.bin), bit 1 passes max_classes 10 and bit 2
 *               max_classes 4 (both: 0), bits 3-7 gzip-wrap file 1 to 5
 *               (written as NAME.gz, compressed here with zlib, so the
 *               record parser behind the gzip path is reached; unwrapped
 *               bytes that begin with 1f 8b reach the corrupt-gzip paths)
 *   bytes 1-8   the train split's four cut points between its five files
 *               (little-endian uint16 each, modulo the rest's length + 1,
 *               taken in increasing order)
 *   the rest    the files' bytes, one after another
 * The files are written into a private temporary directory (the other
 * name of each, raw or .gz, removed) and the split is loaded.  A
 * successful load must describe a consistent data set: 32x32x3, the
 * record count that the raw files' lengths give, labels in range, and the
 * first image's first pixel taken from the first record's three planes.
 * Every failure must set a message.  Seeds: tests/fuzz/corpus/fuzz_cifar/
 * (made by tests/fuzz/seeds.c).
 */
#include <sys/stat.h>
#include <zlib.h>

#include "cnn.h"
#include "fuzz_common.h"

#define REC 3073

static const char *const names[6] = {"data_batch_1.bin", "data_batch_2.bin",
                                     "data_batch_3.bin", "data_batch_4.bin",
                                     "data_batch_5.bin", "test_batch.bin"};

/* dir/name (gzip-compressed to dir/name.gz when gz) holding data; the
   other of the two names removed. */
static void write_batch(const char *dir, const char *name, int gz, const uint8_t *data,
                        size_t size)
{
    char path[600], other[600];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    snprintf(other, sizeof other, "%s/%s%s", dir, name, gz ? "" : ".gz");
    unlink(other);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || (size && gzwrite(g, data, (unsigned)size) != (int)size) ||
            gzclose(g) != Z_OK)
            abort();
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The success invariants; first is the first file's bytes as the loader
   reads them (NULL: not known here). */
static void check_set(const cnn_dataset *ds, int max_classes, size_t raw_records,
                      const uint8_t *first)
{
    if (!ds || ds->count < 1 || ds->height != 32 || ds->width != 32 || ds->channels != 3 ||
        ds->classes < 1 || ds->classes > 10 || (max_classes && ds->classes > max_classes))
        abort();
    if (raw_records && (size_t)ds->count != raw_records)
        abort(); /* every file raw: their lengths give the count */
    for (int i = 0; i < ds->count; i++)
        if (ds->labels[i] >= ds->classes)
            abort();
    if (first && (ds->labels[0] != first[0] || ds->images[0] != first[1] ||
                  ds->images[1] != first[1 + 1024] || ds->images[2] != first[1 + 2048]))
        abort(); /* the first record, interleaved */
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)ds->count * 3072; i++)
        sum += ds->images[i];
    if (sum == 0xdeadbeef)
        fputs("", stdout); /* keep the reads */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/cifar", fuzz_tmpdir());
        if (mkdir(dir, 0700) != 0)
            abort();
        fuzz_quiet_stderr();
    }
    unsigned flags = data[0];
    int test = flags & 1, nfiles = test ? 1 : 5;
    int max_classes = (flags & 6) == 2 ? 10 : (flags & 6) == 4 ? 4 : 0;
    const uint8_t *body = data + 9;
    size_t rest = size - 9, cut[6] = {0};
    for (int i = 0; i < 4; i++)
        cut[i + 1] = test ? rest : ((size_t)data[1 + 2 * i] | (size_t)data[2 + 2 * i] << 8) %
                                       (rest + 1);
    qsort(cut + 1, 4, sizeof *cut, cmp_size);
    cut[nfiles] = rest;
    size_t raw_records = 0;
    int all_raw = 1, first_plain = 0;
    for (int f = 0; f < nfiles; f++) {
        int gz = flags >> (3 + f) & 1;
        size_t n = cut[f + 1] - cut[f];
        write_batch(dir, names[test ? 5 : f], gz, body + cut[f], n);
        /* raw bytes that begin with gzip's magic are read as gzip */
        int magic = n >= 2 && body[cut[f]] == 0x1f && body[cut[f] + 1] == 0x8b;
        all_raw &= !gz && !magic;
        raw_records += n / REC;
        if (f == 0)
            first_plain = gz || !magic; /* the loader sees body's bytes */
    }
    cnn_dataset *ds = (cnn_dataset *)1;
    int st = cnn_dataset_load_dir(dir, test ? "test" : "train", max_classes, &ds);
    if (st != CNN_OK) {
        if (st > 0 || ds != NULL || !cnn_last_error()[0])
            abort(); /* failure without NULL output or message */
        return 0;
    }
    check_set(ds, max_classes, all_raw ? raw_records : 0, first_plain ? body : NULL);
    cnn_dataset_free(ds);
    return 0;
}
