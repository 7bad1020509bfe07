/*
 * seeds.c — writes the seed corpora of the libFuzzer harnesses:
 *   seeds DIR   creates DIR/fuzz_idx, DIR/fuzz_cifar, DIR/fuzz_safetensors,
 *               DIR/fuzz_spec, DIR/fuzz_options and DIR/fuzz_image (PGM, PPM,
 *               PNG) and fills each with a
 *               few small valid and near-valid inputs in the layout its
 *               harness expects (see the comment at the top of each).
 * The committed tests/fuzz/corpus/ was made with it; scripts/fuzz.sh runs
 * it again on every run so the weights and checkpoint seeds always match
 * the current writer.  Built against libcnn.a (any build of it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cnn.h"
#include "fuzz_shapes.h"

static const char *root;

static void put(const char *harness, const char *name, const void *data, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, harness);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* In-memory gzip of data (the caller frees *out). */
static size_t gzip_bytes(const unsigned char *data, size_t size, unsigned char **out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(1);
    size_t cap = deflateBound(&z, size) + 32;
    *out = malloc(cap);
    z.next_in = (unsigned char *)data;
    z.avail_in = (unsigned)size;
    z.next_out = *out;
    z.avail_out = (unsigned)cap;
    if (!*out || deflate(&z, Z_FINISH) != Z_STREAM_END)
        exit(1);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

/* ------------------------------------------------------------------ IDX */

/* flags, split, images, labels: the fuzz_idx layout. */
static void idx_seed(const char *name, unsigned flags, const unsigned char *im, size_t imn,
                     const unsigned char *lb, size_t lbn)
{
    unsigned char buf[1024];
    buf[0] = (unsigned char)flags;
    buf[1] = (unsigned char)imn, buf[2] = (unsigned char)(imn >> 8);
    memcpy(buf + 3, im, imn);
    memcpy(buf + 3 + imn, lb, lbn);
    put("fuzz_idx", name, buf, 3 + imn + lbn);
}

static void idx_seeds(void)
{
    unsigned char im[16 + 3 * 4 * 4], lb[8 + 3];
    be32(im, 0x803), be32(im + 4, 3), be32(im + 8, 4), be32(im + 12, 4);
    for (int i = 0; i < 48; i++)
        im[16 + i] = (unsigned char)(i * 5);
    be32(lb, 0x801), be32(lb + 4, 3);
    lb[8] = 0, lb[9] = 9, lb[10] = 4;
    idx_seed("raw", 0, im, sizeof im, lb, sizeof lb);
    idx_seed("gzip-wrapped", 3, im, sizeof im, lb, sizeof lb);
    idx_seed("classes10", 4, im, sizeof im, lb, sizeof lb);
    idx_seed("truncated-images", 0, im, sizeof im - 5, lb, sizeof lb);
    idx_seed("header-only", 2, im, 16, lb, 8);
    unsigned char bad[sizeof lb];
    memcpy(bad, lb, sizeof lb);
    bad[10] = 200;
    idx_seed("label-range", 4, im, sizeof im, bad, sizeof bad);
    /* gzip bytes as they are (not wrapped by the harness): the corrupt and
       truncated gzip paths start from these. */
    unsigned char *gz;
    size_t gzn = gzip_bytes(im, sizeof im, &gz);
    unsigned char *gl;
    size_t gln = gzip_bytes(lb, sizeof lb, &gl);
    idx_seed("gzip-raw", 0, gz, gzn, gl, gln);
    gz[gzn / 2] ^= 0x55;
    idx_seed("gzip-corrupt", 0, gz, gzn, gl, gln);
    idx_seed("gzip-truncated", 0, gz, gzn - 6, gl, gln);
    free(gz);
    free(gl);
}

/* -------------------------------------------------------------- CIFAR-10 */

/* flags, the four cuts, the files' bytes: the fuzz_cifar layout. */
static void cifar_seed(const char *name, unsigned flags, const size_t cuts[4],
                       const unsigned char *body, size_t n)
{
    unsigned char *buf = malloc(9 + n);
    if (!buf)
        exit(1);
    buf[0] = (unsigned char)flags;
    for (int i = 0; i < 4; i++)
        buf[1 + 2 * i] = (unsigned char)cuts[i], buf[2 + 2 * i] = (unsigned char)(cuts[i] >> 8);
    memcpy(buf + 9, body, n);
    put("fuzz_cifar", name, buf, 9 + n);
    free(buf);
}

static void cifar_seeds(void)
{
    enum { REC = 3073 };
    static unsigned char recs[6 * REC];
    for (int r = 0; r < 6; r++) {
        recs[r * REC] = (unsigned char)(r * 3 % 10);
        for (int p = 1; p < REC; p++)
            recs[r * REC + p] = (unsigned char)(r * 40 + p / 1024 * 80 + p % 32);
    }
    const size_t one[4] = {REC, 2 * REC, 3 * REC, 4 * REC};
    cifar_seed("train-raw", 0, one, recs, 5 * REC);
    cifar_seed("train-gzip", 0xf8, one, recs, 5 * REC);
    cifar_seed("train-classes4", 4, one, recs, 5 * REC);
    cifar_seed("test-two", 1 | 2, one, recs, 2 * REC);
    cifar_seed("test-gzip", 1 | 8, one, recs, 3 * REC);
    cifar_seed("test-cut-record", 1, one, recs, REC + 700);
    const size_t empty[4] = {0, 2 * REC, 3 * REC, 4 * REC};
    cifar_seed("train-empty-batch", 0, empty, recs, 5 * REC);
    recs[2 * REC] = 10;
    cifar_seed("train-label-10", 0, one, recs, 5 * REC);
    /* gzip bytes as they are (not wrapped by the harness) */
    unsigned char *gz;
    size_t gzn = gzip_bytes(recs, 2 * REC, &gz);
    cifar_seed("test-gzip-raw", 1, one, gz, gzn);
    cifar_seed("test-gzip-truncated", 1, one, gz, gzn - 9);
    free(gz);
}

/* ---------------------------------------------------------- safetensors */

static void file_seed(const char *harness, const char *name, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    put(harness, name, buf, n);
    remove(path);
}

static void safetensors_seeds(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/seed.tmp", root);
    cnn_model *m;
    if (cnn_model_create(FUZZ_ST_SPEC, FUZZ_ST_H, FUZZ_ST_W, 1, 0, &m) != CNN_OK) {
        fprintf(stderr, "seeds: %s\n", cnn_last_error());
        exit(1);
    }
    cnn_model_init(m, 3);
    if (cnn_model_save(m, path) != CNN_OK)
        exit(1);
    file_seed("fuzz_safetensors", "weights", path);

    /* A checkpoint after two steps on four synthetic images. */
    uint8_t pixels[4 * FUZZ_ST_H * FUZZ_ST_W], labels[4] = {0, 1, 2, 1};
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 37);
    cnn_dataset ds = {4, FUZZ_ST_H, FUZZ_ST_W, 1, 3, pixels, labels, 1};
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 1, cfg.batch = 2, cfg.threads = 1, cfg.max_steps = 2, cfg.bind = 0;
    cnn_train_state *s;
    if (cnn_train_state_create(&s) != CNN_OK)
        exit(1);
    cfg.state = s;
    if (cnn_train(m, &ds, &cfg, NULL) != CNN_OK ||
        cnn_checkpoint_save(m, s, path) != CNN_OK) {
        fprintf(stderr, "seeds: %s\n", cnn_last_error());
        exit(1);
    }
    file_seed("fuzz_safetensors", "checkpoint", path);
    cnn_train_state_free(s);
    cnn_model_free(m);

    /* Another model (cnn_model_open builds it from the metadata). */
    if (cnn_model_create("logreg", 2, 2, 1, 0, &m) != CNN_OK)
        exit(1);
    cnn_model_init(m, 1);
    if (cnn_model_save(m, path) != CNN_OK)
        exit(1);
    file_seed("fuzz_safetensors", "logreg-2x2", path);
    cnn_model_free(m);

    const char *tiny = "{\"__metadata__\":{\"format\":\"pt\"}}";
    unsigned char buf[128] = {0};
    size_t n = strlen(tiny);
    buf[0] = (unsigned char)n;
    memcpy(buf + 8, tiny, n);
    put("fuzz_safetensors", "empty-header", buf, 8 + n);
}

/* ----------------------------------------------------------------- spec */

static void spec_seeds(void)
{
    static const char *specs[][2] = {
        {"seed", "seed"},
        {"seed-dense", "seed-dense"},
        {"logreg", "logreg"},
        {"full", "conv3x3:32:same,relu,conv1x1:16,relu,conv3x3s2:64:same,relu,"
                 "conv5x5s3:8:valid,relu,flatten,dense:10,softmax"},
        {"dense-chain", "flatten,dense:32,relu,dense:16,dense:10,softmax"},
        {"spaces", " conv2x2 : 3 , relu,flatten , dense:10 ,softmax "},
        {"no-softmax", "flatten,dense:10"},
        {"empty-item", "conv3x3:8,,flatten,dense:10,softmax"},
        {"bad-kernel", "conv3x4:8,flatten,dense:10,softmax"},
        {"huge", "flatten,dense:1048576,relu,dense:1048576,dense:10,softmax"},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        put("fuzz_spec", specs[i][0], specs[i][1], strlen(specs[i][1]));
}

/* -------------------------------------------------------------- options */

static void options_seeds(void)
{
    static const char *values[][2] = {
        {"long", "\0" "32"},     {"long-neg", "\x14" "-3"},  {"int", "\x01" "1000000"},
        {"u64", "\x02" "18446744073709551615"},            {"u64-big", "\x02" "18446744073709551616"},
        {"float", "\x03" "0.001"}, {"float-exp", "\x08" "1e-3"}, {"float-hex", "\x03" "0x1p-10"},
        {"float-inf", "\x03" "inf"}, {"onoff", "\x04" "on"},   {"space", "\x00" " 5"},
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        put("fuzz_options", values[i][0], values[i][1], 1 + strlen(values[i][1] + 1));
}

/* ---------------------------------------------------------------- image */

static void png_chunk(unsigned char **p, const char *type, const unsigned char *data,
                      uint32_t n)
{
    be32(*p, n);
    memcpy(*p + 4, type, 4);
    if (n)
        memcpy(*p + 8, data, n);
    be32(*p + 8 + n, (uint32_t)crc32(0, *p + 4, 4 + n));
    *p += 12 + n;
}

/* A w x h PNG of the given colour type (0 gray, 2 RGB, 6 RGBA) and depth 8. */
static void png_seed(const char *name, int w, int h, int color)
{
    int ch = color == 0 ? 1 : color == 2 ? 3 : 4;
    unsigned char raw[64 * 65], z[2048], out[4096], ihdr[13], *p = out;
    size_t rn = 0;
    for (int y = 0; y < h; y++) {
        raw[rn++] = 0; /* filter: none */
        for (int x = 0; x < w * ch; x++)
            raw[rn++] = (unsigned char)(x * 17 + y * 31);
    }
    uLongf zn = sizeof z;
    if (compress(z, &zn, raw, rn) != Z_OK)
        exit(1);
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p += 8;
    be32(ihdr, (uint32_t)w), be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = (unsigned char)color, ihdr[10] = ihdr[11] = ihdr[12] = 0;
    png_chunk(&p, "IHDR", ihdr, 13);
    png_chunk(&p, "IDAT", z, (uint32_t)zn);
    png_chunk(&p, "IEND", NULL, 0);
    put("fuzz_image", name, out, (size_t)(p - out));
}

static void image_seeds(void)
{
    unsigned char pgm[64];
    int n = snprintf((char *)pgm, sizeof pgm, "P5\n# c\n4 3\n255\n");
    for (int i = 0; i < 12; i++)
        pgm[n + i] = (unsigned char)(i * 20);
    put("fuzz_image", "p5", pgm, (size_t)n + 12);
    put("fuzz_image", "p5-truncated", pgm, (size_t)n + 7);
    const char *p2 = "P2\n3 2\n15\n0 3 6\n9 12 15\n";
    put("fuzz_image", "p2", p2, strlen(p2));
    n = snprintf((char *)pgm, sizeof pgm, "P5 2 2 65535\n");
    memset(pgm + n, 0x7f, 8);
    put("fuzz_image", "p5-16bit", pgm, (size_t)n + 8);
    const char *p3 = "P3\n2 1\n255\n255 0 0 0 128 255\n";
    put("fuzz_image", "p3", p3, strlen(p3));
    n = snprintf((char *)pgm, sizeof pgm, "P6\n2 2\n255\n");
    memset(pgm + n, 0x40, 12);
    put("fuzz_image", "p6", pgm, (size_t)n + 12);
    png_seed("png-gray", 5, 4, 0);
    png_seed("png-rgb", 3, 3, 2);
    png_seed("png-rgba", 28, 28, 6);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0777) != 0 && errno != EEXIST) {
        perror(root);
        return 1;
    }
    idx_seeds();
    cifar_seeds();
    safetensors_seeds();
    spec_seeds();
    options_seeds();
    image_seeds();
    return 0;
}
