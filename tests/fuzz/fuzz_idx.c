/*
 * fuzz_idx.c — libFuzzer harness for the IDX loader (src/data.c), raw and
 * gzip-compressed, through the public cnn_dataset_load_idx.
 *
 * Input layout:
 *   byte 0      flags: bit 0 gzip-wraps the image file, bit 1 the label
 *               file (compressed here with zlib, so the IDX parser behind
 *               the gzip path is reached; unwrapped bytes that begin with
 *               1f 8b reach the corrupt-gzip paths), bit 2 passes
 *               max_classes 10 instead of 0
 *   bytes 1-2   where the rest is split (little-endian, modulo its length)
 *   the rest    image file bytes, then label file bytes
 * Both files are written into a private temporary directory and loaded.
 * A successful load must describe a consistent data set; every failure
 * must set a message.  Seeds: tests/fuzz/corpus/fuzz_idx/ (made by
 * tests/fuzz/seeds.c).
 */
#include <zlib.h>

#include "cnn.h"
#include "fuzz_common.h"

static void write_gzip(const char *path, const uint8_t *data, size_t size)
{
    gzFile g = gzopen(path, "wb");
    if (!g || (size && gzwrite(g, data, (unsigned)size) != (int)size) ||
        gzclose(g) != Z_OK)
        abort();
}

static void write_one(const char *name, int gzip, const uint8_t *data,
                      size_t size, char *path, size_t cap)
{
    if (gzip) {
        snprintf(path, cap, "%s/%s", fuzz_tmpdir(), name);
        write_gzip(path, data, size);
    } else {
        fuzz_write_file(name, data, size, path, cap);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    unsigned flags = data[0];
    size_t rest = size - 3;
    size_t split = rest ? ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1) : 0;
    const uint8_t *body = data + 3;

    char images[512], labels[512];
    write_one("images", flags & 1, body, split, images, sizeof images);
    write_one("labels", flags & 2, body + split, rest - split, labels, sizeof labels);

    int max_classes = flags & 4 ? 10 : 0;
    cnn_dataset *ds = (cnn_dataset *)1;
    int st = cnn_dataset_load_idx(images, labels, max_classes, &ds);
    if (st != CNN_OK) {
        if (st > 0 || ds != NULL || !cnn_last_error()[0])
            abort(); /* failure without NULL output or message */
        return 0;
    }
    /* Success: the set must be what its headers said, every label in range. */
    if (!ds || ds->count < 1 || ds->height < 1 || ds->width < 1 ||
        ds->channels != 1 || ds->classes < 1 || ds->classes > 256 ||
        (max_classes && ds->classes > max_classes))
        abort();
    size_t pixels = (size_t)ds->count * ds->height * ds->width;
    unsigned sum = 0;
    for (size_t i = 0; i < pixels; i++)
        sum += ds->images[i];
    for (int i = 0; i < ds->count; i++)
        if (ds->labels[i] >= ds->classes)
            abort();
    if (sum == 0xdeadbeef)
        fputs("", stdout); /* keep the reads */
    cnn_dataset_free(ds);
    return 0;
}
