/*
 * test_weights.c — tests of safetensors weights I/O (src/weights.c): bitwise
 * round trips of the three presets; the header's JSON (names, shapes,
 * offsets, metadata, checksum, alignment); atomic saving (no temporary
 * files left, a missing directory fails cleanly); and files that must be
 * rejected with the right status, a one-line message naming the file and
 * the model untouched — short, empty, bad header lengths, non-JSON and
 * non-object headers, missing, extra and duplicate tensors, wrong dtype and
 * shape, bad, out-of-range and overlapping offsets, truncated data,
 * trailing bytes, checksum mismatches — plus hand-built and randomly
 * mutated files that must not crash; the metadata checksum (a changed value
 * refused, files without one still loading), the check that a file is not
 * replaced between reading its metadata and its tensors, and a checkpoint
 * claiming more training images than it holds; NaN and infinities in
 * weights and checkpoints (Adam's moments too) refused with the tensor and
 * index, extreme finite values kept; metadata declaring a model larger
 * than the file refused before allocating; FIFOs and devices refused
 * without blocking; a described model given its parameters by a load;
 * buffer tensors (non-trainable) counted, listed, initialised, saved and
 * loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cnn.h"
#include "model.h"
#include "safetensors.h"
#include "test.h"
#include "tests.h"
#include "train_state.h"
#include "weights.h"

#define ALT_SPEC                                                             \
    "conv3x3:32:same,relu,conv1x1:8,relu,conv3x3s2:64:same,relu,"            \
    "conv1x1:16,relu,conv3x3s2:32:same,relu,conv1x1:16,relu,flatten,"        \
    "dense:10,softmax"

/* ---------------------------------------------------------------- helpers */

static cnn_model *new_model(const char *spec, uint64_t seed)
{
    cnn_model *m = NULL;
    int st = cnn_model_create(spec, 28, 28, 1, 10, &m);
    CHECK(st == CNN_OK, "create %s: %s", spec, cnn_last_error());
    if (m && seed)
        cnn_model_init(m, seed);
    return m;
}

static size_t block_bytes(const cnn_model *m) { return m->block * sizeof(float); }

/* Path of name in the test directory, copied into out. */
static char *tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", test_tmpdir(), name);
    return out;
}

/* Whole file into a malloc'ed buffer (NULL if unreadable). */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = n > 0 ? (size_t)n : 0;
    return buf;
}

/* A parsed safetensors file: the header object and the data section. */
typedef struct sft {
    unsigned char *bytes;
    size_t size;
    uint64_t hlen;
    json_t *hdr;
    unsigned char *data; /* into bytes */
    size_t dlen;
} sft;

static int sft_read(sft *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->bytes = read_file(path, &f->size);
    if (!f->bytes || f->size < 8)
        return -1;
    for (int i = 0; i < 8; i++)
        f->hlen |= (uint64_t)f->bytes[i] << (8 * i);
    if (f->hlen > f->size - 8)
        return -1;
    json_error_t err;
    f->hdr = json_loadb((const char *)f->bytes + 8, (size_t)f->hlen, 0, &err);
    f->data = f->bytes + 8 + f->hlen;
    f->dlen = f->size - 8 - (size_t)f->hlen;
    return f->hdr ? 0 : -1;
}

static void sft_free(sft *f)
{
    json_decref(f->hdr);
    free(f->bytes);
}

/* Write a safetensors file from a header text and data; path into out. */
static void write_raw_sft(char *out, size_t cap, const char *name,
                          const char *json, const void *data, size_t dlen)
{
    size_t jlen = strlen(json), hlen = (jlen + 7) & ~(size_t)7;
    unsigned char *buf = malloc(8 + hlen + dlen + 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, json, jlen);
    memset(buf + 8 + jlen, ' ', hlen - jlen);
    if (dlen)
        memcpy(buf + 8 + hlen, data, dlen);
    snprintf(out, cap, "%s", test_write_file(name, buf, 8 + hlen + dlen));
    free(buf);
}

static void write_sft(char *out, size_t cap, const char *name, json_t *hdr,
                      const void *data, size_t dlen)
{
    char *json = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    write_raw_sft(out, cap, name, json, data, dlen);
    free(json);
}

static uint32_t crc_of(const void *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void set_crc(json_t *hdr, const void *data, size_t dlen)
{
    char hex[16];
    snprintf(hex, sizeof hex, "%08lx", (unsigned long)crc_of(data, dlen));
    json_object_set_new(json_object_get(hdr, "__metadata__"), "crc32",
                        json_string(hex));
}

/*
 * Load path into m and expect failure with status want: the message names
 * the file, is one line and contains needle (when not NULL), and the
 * parameters are bitwise unchanged.
 */
static void expect_fail_at(int line, cnn_model *m, const char *path, int want,
                           const char *needle)
{
    size_t bytes = block_bytes(m);
    float *before = malloc(bytes);
    memcpy(before, m->params, bytes);
    int st = cnn_model_load(m, path);
    const char *msg = cnn_last_error();
    CHECK(st == want, "line %d: load %s gave %d (%s), expected %d", line, path, st,
          msg, want);
    CHECK(strstr(msg, path) != NULL, "line %d: message does not name the file: %s",
          line, msg);
    CHECK(strchr(msg, '\n') == NULL, "line %d: message is not one line: %s", line,
          msg);
    CHECK(!needle || strstr(msg, needle), "line %d: message lacks '%s': %s", line,
          needle, msg);
    CHECK(memcmp(before, m->params, bytes) == 0,
          "line %d: parameters changed by a failed load", line);
    free(before);
}
#define EXPECT_FAIL(m, path, want, needle) expect_fail_at(__LINE__, m, path, want, needle)

/* A saved seed model (seed 42) read back: its file's path and contents. */
static cnn_model *saved_seed(char *path, size_t cap, const char *name, sft *f)
{
    cnn_model *m = new_model("seed", 42);
    tmp_path(path, cap, name);
    int st = cnn_model_save(m, path);
    CHECK(st == CNN_OK, "save: %s", cnn_last_error());
    CHECK(sft_read(f, path) == 0, "cannot read back %s", path);
    return m;
}

/* ------------------------------------------------------------ round trips */

static void round_trip(const char *spec)
{
    char path[512], path2[512], name[64];
    snprintf(name, sizeof name, "rt-%s.safetensors", spec);
    cnn_model *a = new_model(spec, 1234), *b = new_model(spec, 0);
    if (!a || !b)
        goto done;
    tmp_path(path, sizeof path, name);
    CHECK(cnn_model_save(a, path) == CNN_OK, "save: %s", cnn_last_error());
    CHECK(memcmp(a->params, b->params, block_bytes(a)) != 0, "models already equal");
    CHECK(cnn_model_load(b, path) == CNN_OK, "load: %s", cnn_last_error());
    CHECK(memcmp(a->params, b->params, block_bytes(a)) == 0,
          "%s: loaded parameters differ", spec);
    /* Saving the loaded model gives the same bytes. */
    snprintf(name, sizeof name, "rt2-%s.safetensors", spec);
    tmp_path(path2, sizeof path2, name);
    CHECK(cnn_model_save(b, path2) == CNN_OK, "save: %s", cnn_last_error());
    size_t n1 = 0, n2 = 0;
    unsigned char *f1 = read_file(path, &n1), *f2 = read_file(path2, &n2);
    CHECK(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0,
          "%s: re-saved file differs", spec);
    free(f1);
    free(f2);
done:
    cnn_model_free(a);
    cnn_model_free(b);
}

static void test_round_trip_seed(void) { round_trip("seed"); }
static void test_round_trip_seed_dense(void) { round_trip("seed-dense"); }
static void test_round_trip_logreg(void) { round_trip("logreg"); }

/* Tensors in any order in the data section load the same. */
static void test_reordered_tensors(void)
{
    char path[512];
    sft f;
    cnn_model *m = saved_seed(path, sizeof path, "reorder.safetensors", &f);
    cnn_model *b = new_model("seed", 0);
    cnn_tensor_info t[32];
    int n = cnn_model_tensors(m, t, 32);
    unsigned char *data = malloc(f.dlen);
    json_t *hdr = json_object();
    json_object_set(hdr, "__metadata__", json_object_get(f.hdr, "__metadata__"));
    size_t pos = 0;
    for (int i = n - 1; i >= 0; i--) { /* reverse order, keys too */
        json_t *e = json_object_get(f.hdr, t[i].name);
        json_int_t b0 = json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
        memcpy(data + pos, f.data + b0, t[i].count * 4);
        json_t *ne = json_deep_copy(e);
        json_object_set_new(ne, "data_offsets",
                            json_pack("[I,I]", (json_int_t)pos,
                                      (json_int_t)(pos + t[i].count * 4)));
        json_object_set_new(hdr, t[i].name, ne);
        pos += t[i].count * 4;
    }
    CHECK(pos == f.dlen, "data size");
    set_crc(hdr, data, f.dlen);
    write_sft(path, sizeof path, "reversed.safetensors", hdr, data, f.dlen);
    CHECK(cnn_model_load(b, path) == CNN_OK, "load reversed: %s", cnn_last_error());
    CHECK(memcmp(m->params, b->params, block_bytes(m)) == 0, "reversed file differs");
    json_decref(hdr);
    free(data);
    sft_free(&f);
    cnn_model_free(m);
    cnn_model_free(b);
}

/* ---------------------------------------------------------- header format */

static void test_header_json(void)
{
    static const struct {
        const char *name;
        int nd, shape[4];
    } want[] = {
        {"conv1.weight", 4, {3, 3, 1, 32}}, {"conv1.bias", 1, {32}},
        {"conv2.weight", 4, {1, 1, 32, 16}}, {"conv2.bias", 1, {16}},
        {"conv3.weight", 4, {3, 3, 16, 64}}, {"conv3.bias", 1, {64}},
        {"conv4.weight", 4, {1, 1, 64, 16}}, {"conv4.bias", 1, {16}},
        {"conv5.weight", 4, {3, 3, 16, 32}}, {"conv5.bias", 1, {32}},
        {"conv6.weight", 4, {1, 1, 32, 16}}, {"conv6.bias", 1, {16}},
        {"dense1.weight", 2, {784, 10}},     {"dense1.bias", 1, {10}},
    };
    const int nwant = (int)(sizeof want / sizeof *want);
    char path[512];
    sft f;
    cnn_model *m = saved_seed(path, sizeof path, "header.safetensors", &f);
    if (!f.hdr)
        goto done;
    CHECK((8 + f.hlen) % 8 == 0, "data starts at %llu, not 8-aligned",
          (unsigned long long)(8 + f.hlen));
    const char *text = (const char *)f.bytes + 8;
    size_t jlen = (size_t)f.hlen;
    while (jlen > 0 && text[jlen - 1] == ' ')
        jlen--;
    CHECK(jlen > 0 && text[0] == '{' && text[jlen - 1] == '}' && f.hlen - jlen < 8,
          "header padding is not at most 7 trailing spaces");
    CHECK(json_object_size(f.hdr) == (size_t)nwant + 1, "header has %zu entries",
          json_object_size(f.hdr));

    /* Entries in model order, back to back, covering the data section. */
    void *it = json_object_iter(f.hdr);
    CHECK(it && strcmp(json_object_iter_key(it), "__metadata__") == 0,
          "__metadata__ is not first");
    if (it)
        it = json_object_iter_next(f.hdr, it);
    json_int_t pos = 0;
    for (int i = 0; i < nwant; i++, it = it ? json_object_iter_next(f.hdr, it) : NULL) {
        CHECK(it && strcmp(json_object_iter_key(it), want[i].name) == 0,
              "entry %d is %s, expected %s", i, it ? json_object_iter_key(it) : "none",
              want[i].name);
        json_t *e = json_object_get(f.hdr, want[i].name);
        CHECK(json_is_object(e), "%s missing", want[i].name);
        if (!json_is_object(e))
            continue;
        CHECK(json_object_size(e) == 3, "%s has %zu fields", want[i].name,
              json_object_size(e));
        CHECK(json_is_string(json_object_get(e, "dtype")) &&
              strcmp(json_string_value(json_object_get(e, "dtype")), "F32") == 0,
              "%s dtype", want[i].name);
        json_t *shape = json_object_get(e, "shape");
        CHECK(json_array_size(shape) == (size_t)want[i].nd, "%s rank", want[i].name);
        json_int_t count = 1;
        for (int d = 0; d < want[i].nd; d++) {
            CHECK(json_integer_value(json_array_get(shape, (size_t)d)) == want[i].shape[d],
                  "%s dim %d", want[i].name, d);
            count *= want[i].shape[d];
        }
        json_t *off = json_object_get(e, "data_offsets");
        json_int_t b = json_integer_value(json_array_get(off, 0));
        json_int_t en = json_integer_value(json_array_get(off, 1));
        CHECK(json_array_size(off) == 2 && b == pos && en == pos + 4 * count,
              "%s offsets [%lld,%lld], expected [%lld,%lld]", want[i].name,
              (long long)b, (long long)en, (long long)pos, (long long)(pos + 4 * count));
        pos += 4 * count;
    }
    CHECK((size_t)pos == f.dlen, "data section is %zu bytes, tensors cover %lld",
          f.dlen, (long long)pos);
    CHECK(f.dlen == cnn_model_param_count(m) * 4, "data size vs param count");

    /* The data are the parameters, little-endian, in model order. */
    cnn_tensor_info t[32];
    int n = cnn_model_tensors(m, t, 32);
    size_t at = 0;
    int same = 1;
    for (int i = 0; i < n && at + t[i].count * 4 <= f.dlen; i++)
        for (size_t j = 0; j < t[i].count; j++, at += 4) {
            uint32_t u;
            memcpy(&u, &m->params[t[i].offset + j], 4);
            const unsigned char *p = f.data + at;
            same &= p[0] == (u & 0xff) && p[1] == ((u >> 8) & 0xff) &&
                    p[2] == ((u >> 16) & 0xff) && p[3] == (u >> 24);
        }
    CHECK(same && at == f.dlen, "data section is not the parameters");

    /* Metadata: strings only. */
    json_t *meta = json_object_get(f.hdr, "__metadata__");
    CHECK(json_is_object(meta), "no __metadata__");
    const char *key;
    json_t *val;
    json_object_foreach(meta, key, val)
        CHECK(json_is_string(val), "metadata %s is not a string", key);
    const char *fmt = json_string_value(json_object_get(meta, "format"));
    const char *spec = json_string_value(json_object_get(meta, "spec"));
    const char *input = json_string_value(json_object_get(meta, "input"));
    const char *crc = json_string_value(json_object_get(meta, "crc32"));
    CHECK(fmt && strcmp(fmt, "cnn") == 0, "format %s", fmt ? fmt : "(none)");
    CHECK(spec && strcmp(spec, cnn_model_spec(m)) == 0, "spec %s", spec ? spec : "(none)");
    CHECK(input && strcmp(input, "28x28x1") == 0, "input %s", input ? input : "(none)");
    char hex[16];
    snprintf(hex, sizeof hex, "%08lx", (unsigned long)crc_of(f.data, f.dlen));
    CHECK(crc && strcmp(crc, hex) == 0, "crc32 %s, data gives %s", crc ? crc : "(none)",
          hex);
done:
    sft_free(&f);
    cnn_model_free(m);
}

/* ----------------------------------------------------------------- saving */

static void test_no_temp_files(void)
{
    char dir[512], path[600];
    tmp_path(dir, sizeof dir, "save-clean");
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    cnn_model *m = new_model("logreg", 5);
    CHECK(cnn_model_save(m, path) == CNN_OK, "save: %s", cnn_last_error());
    cnn_model_init(m, 6);
    CHECK(cnn_model_save(m, path) == CNN_OK, "overwrite: %s", cnn_last_error());
    DIR *d = opendir(dir);
    int entries = 0, found = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        found |= strcmp(e->d_name, "w.safetensors") == 0;
        CHECK(strcmp(e->d_name, "w.safetensors") == 0, "stray file %s", e->d_name);
    }
    if (d)
        closedir(d);
    CHECK(entries == 1 && found, "directory holds %d entries", entries);
    /* The overwrite took effect. */
    cnn_model *b = new_model("logreg", 0);
    CHECK(cnn_model_load(b, path) == CNN_OK, "load: %s", cnn_last_error());
    CHECK(memcmp(m->params, b->params, block_bytes(m)) == 0, "overwrite lost");
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0444) == 0444,
          "saved file is not readable by all (mode %o)", (unsigned)sb.st_mode & 0777);
    cnn_model_free(m);
    cnn_model_free(b);
}

static void test_save_missing_dir(void)
{
    char dir[512], path[600];
    tmp_path(dir, sizeof dir, "no-such-dir");
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    cnn_model *m = new_model("logreg", 5);
    int st = cnn_model_save(m, path);
    CHECK(st == CNN_ERR_IO, "save into a missing directory gave %d", st);
    CHECK(strstr(cnn_last_error(), path) != NULL, "message: %s", cnn_last_error());
    CHECK(strchr(cnn_last_error(), '\n') == NULL, "message is not one line");
    struct stat sb;
    CHECK(stat(dir, &sb) != 0 && stat(path, &sb) != 0, "something was created");
    /* Saving onto a directory fails too, and leaves no temporary file. */
    char sub[512], tmpl[600];
    tmp_path(sub, sizeof sub, "is-a-dir");
    CHECK(mkdir(sub, 0755) == 0, "mkdir");
    st = cnn_model_save(m, sub);
    CHECK(st == CNN_ERR_IO, "save onto a directory gave %d", st);
    DIR *d = opendir(test_tmpdir());
    struct dirent *e;
    snprintf(tmpl, sizeof tmpl, "is-a-dir.tmp.");
    while (d && (e = readdir(d)))
        CHECK(strncmp(e->d_name, tmpl, strlen(tmpl)) != 0, "left %s", e->d_name);
    if (d)
        closedir(d);
    cnn_model_free(m);
}

/* A write that fails part way (file size limit) leaves the old file whole
   and no temporary file behind. */
static void test_save_write_error(void)
{
    char dir[512], path[600];
    tmp_path(dir, sizeof dir, "save-fail");
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    cnn_model *m = new_model("logreg", 5);
    CHECK(cnn_model_save(m, path) == CNN_OK, "save: %s", cnn_last_error());
    size_t n0 = 0, n1 = 0;
    unsigned char *before = read_file(path, &n0);

    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
    lim = old;
    lim.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    cnn_model_init(m, 6);
    int set = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    int st = set ? cnn_model_save(m, path) : CNN_ERR_IO;
    char msg[700];
    snprintf(msg, sizeof msg, "%s", cnn_last_error());
    if (set)
        setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    if (!set) {
        test_skip("cannot lower RLIMIT_FSIZE");
    } else {
        CHECK(st == CNN_ERR_IO, "save past the size limit gave %d (%s)", st, msg);
        CHECK(strstr(msg, path) && !strchr(msg, '\n'), "message: %s", msg);
    }
    unsigned char *after = read_file(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0,
          "the old file was changed by a failed save");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        CHECK(e->d_name[0] == '.' || strcmp(e->d_name, "w.safetensors") == 0,
              "stray file %s", e->d_name);
    if (d)
        closedir(d);
    free(before);
    free(after);
    cnn_model_free(m);
}

/* ---------------------------------------------------------- bad files */

static void test_load_missing_file(void)
{
    char path[512];
    cnn_model *m = new_model("logreg", 3);
    EXPECT_FAIL(m, tmp_path(path, sizeof path, "does-not-exist.safetensors"),
                CNN_ERR_IO, NULL);
    EXPECT_FAIL(m, test_tmpdir(), CNN_ERR_IO, NULL); /* a directory */
    cnn_model_free(m);
}

static void test_load_short_files(void)
{
    char path[512];
    cnn_model *m = new_model("logreg", 3);
    snprintf(path, sizeof path, "%s", test_write_file("empty.safetensors", "", 0));
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, NULL);
    snprintf(path, sizeof path, "%s", test_write_file("four.safetensors", "\x10\0\0\0", 4));
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, NULL);
    unsigned char zero[16] = {0};
    snprintf(path, sizeof path, "%s", test_write_file("zero-len.safetensors", zero, 16));
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, NULL);
    cnn_model_free(m);
}

static void test_load_bad_header_length(void)
{
    char path[512];
    cnn_model *m = new_model("logreg", 3);
    unsigned char buf[64];
    memset(buf, ' ', sizeof buf);
    /* Length equal to the file size: 8 bytes too long. */
    buf[0] = 64, buf[1] = buf[2] = buf[3] = buf[4] = buf[5] = buf[6] = buf[7] = 0;
    snprintf(path, sizeof path, "%s", test_write_file("long.safetensors", buf, 64));
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, "exceeds the file size 64");
    /* 2^63 and 2^64 - 1. */
    memset(buf, 0, 8);
    buf[7] = 0x80;
    snprintf(path, sizeof path, "%s", test_write_file("huge.safetensors", buf, 64));
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, "9223372036854775808");
    memset(buf, 0xff, 8);
    snprintf(path, sizeof path, "%s", test_write_file("huge2.safetensors", buf, 64));
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, NULL);
    cnn_model_free(m);
}

static void test_load_not_json(void)
{
    char path[512];
    cnn_model *m = new_model("logreg", 3);
    static const char *bad[] = {
        "this is not json",      "[1,2,3]",       "\"a string\"",
        "{\"a\":1",              "{}{}",          "42",
        "{\"x\": \"\xff\xfe\"}", "{\"a\":1,\"a\":2}",
        "{\"__metadata__\":[]}", "{\"__metadata__\":{\"crc32\":\"xyz\"}}",
        "{\"__metadata__\":{\"crc32\":7}}",
        "{\"__metadata__\":{\"crc32\":\"1234567g\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_raw_sft(path, sizeof path, "notjson.safetensors", bad[i], NULL, 0);
        EXPECT_FAIL(m, path, CNN_ERR_FORMAT, NULL);
    }
    write_raw_sft(path, sizeof path, "array.safetensors", "[1,2]", NULL, 0);
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, "not a JSON object");
    write_raw_sft(path, sizeof path, "garbage.safetensors", "{\"a\" 1}", NULL, 0);
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, "line 1");
    /* An empty object: every tensor is missing. */
    write_raw_sft(path, sizeof path, "emptyobj.safetensors", "{}", NULL, 0);
    EXPECT_FAIL(m, path, CNN_ERR_MISMATCH, "dense1.weight");
    cnn_model_free(m);
}

static void test_load_missing_extra_tensor(void)
{
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "base.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr)
        goto done;
    json_t *h = json_deep_copy(f.hdr);
    json_object_del(h, "dense1.bias");
    write_sft(path2, sizeof path2, "missing.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_MISMATCH, "dense1.bias");
    json_decref(h);

    h = json_deep_copy(f.hdr);
    json_object_set_new(h, "conv9.weight",
                        json_pack("{s:s,s:[i],s:[i,i]}", "dtype", "F32", "shape", 1,
                                  "data_offsets", 0, 4));
    write_sft(path2, sizeof path2, "extra.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_MISMATCH, "conv9.weight");
    json_decref(h);

    /* An entry that is no object. */
    h = json_deep_copy(f.hdr);
    json_object_set_new(h, "conv1.bias", json_string("oops"));
    write_sft(path2, sizeof path2, "notobj.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "conv1.bias");
    json_decref(h);

    /* Without metadata the file still loads (other writers omit it). */
    h = json_deep_copy(f.hdr);
    json_object_del(h, "__metadata__");
    write_sft(path2, sizeof path2, "nometa.safetensors", h, f.data, f.dlen);
    CHECK(cnn_model_load(m, path2) == CNN_OK, "no metadata: %s", cnn_last_error());
    CHECK(memcmp(m->params, src->params, block_bytes(m)) == 0, "no metadata: differs");
    json_decref(h);
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

static void test_load_wrong_dtype_shape(void)
{
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "base2.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr)
        goto done;
    json_t *h = json_deep_copy(f.hdr);
    json_object_set_new(json_object_get(h, "conv3.weight"), "dtype", json_string("F16"));
    write_sft(path2, sizeof path2, "f16.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_MISMATCH, "F16");
    json_decref(h);

    h = json_deep_copy(f.hdr);
    json_object_set_new(json_object_get(h, "conv3.weight"), "dtype", json_integer(1));
    write_sft(path2, sizeof path2, "dtype-int.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "conv3.weight");
    json_decref(h);

    /* Another model's weights. */
    cnn_model *alt = new_model(ALT_SPEC, 9);
    char msg[700];
    snprintf(msg, sizeof msg, "%s: tensor conv2.weight has shape [1,1,32,16], the "
             "model expects [1,1,32,8]", path);
    EXPECT_FAIL(alt, path, CNN_ERR_MISMATCH, msg);
    cnn_model_free(alt);
    alt = new_model("seed-dense", 9);
    EXPECT_FAIL(alt, path, CNN_ERR_MISMATCH, NULL);
    cnn_model_free(alt);

    /* Shapes edited in the header. */
    static const struct {
        const char *shape;
        int status;
    } shapes[] = {
        {"[3,3,1,33]", CNN_ERR_MISMATCH},
        {"[3,3,32]", CNN_ERR_MISMATCH},
        {"[288]", CNN_ERR_MISMATCH},
        {"[3,3,1,32,1]", CNN_ERR_MISMATCH},
        {"[]", CNN_ERR_MISMATCH},
        {"[9223372036854775807,3,1,32]", CNN_ERR_MISMATCH},
        {"[-3,3,1,32]", CNN_ERR_FORMAT},
        {"[3.0,3,1,32]", CNN_ERR_FORMAT},
        {"[\"3\",3,1,32]", CNN_ERR_FORMAT},
        {"[null,3,1,32]", CNN_ERR_FORMAT},
        {"\"3x3x1x32\"", CNN_ERR_FORMAT},
        {"{}", CNN_ERR_FORMAT},
        {"null", CNN_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        h = json_deep_copy(f.hdr);
        json_error_t err;
        json_t *s = json_loads(shapes[i].shape, JSON_DECODE_ANY, &err);
        CHECK(s != NULL, "test shape %s", shapes[i].shape);
        json_object_set_new(json_object_get(h, "conv1.weight"), "shape", s);
        write_sft(path2, sizeof path2, "shape.safetensors", h, f.data, f.dlen);
        EXPECT_FAIL(m, path2, shapes[i].status, "conv1.weight");
        json_decref(h);
    }
    h = json_deep_copy(f.hdr);
    json_object_del(json_object_get(h, "conv1.weight"), "shape");
    write_sft(path2, sizeof path2, "noshape.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "conv1.weight");
    json_decref(h);
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

static void test_load_bad_offsets(void)
{
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "base3.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr)
        goto done;
    /* dense1.bias is the last tensor, at [dlen-40, dlen). */
    char past[64], shortr[64], longr[64];
    snprintf(past, sizeof past, "[%zu,%zu]", f.dlen, f.dlen + 40);
    snprintf(shortr, sizeof shortr, "[%zu,%zu]", f.dlen - 40, f.dlen - 4);
    snprintf(longr, sizeof longr, "[%zu,%zu]", f.dlen - 44, f.dlen);
    const struct {
        const char *offsets, *needle;
    } bad[] = {
        {past, "run past"},
        {"[9223372036854775000,9223372036854775040]", "run past"},
        {"[0,40]", "overlap"}, /* onto conv1.weight */
        {shortr, "hold 36 bytes"},
        {longr, "hold 44 bytes"},
        {"[-40,0]", "dense1.bias: data_offsets"},
        {"[40,0]", "dense1.bias: data_offsets"},
        {"[0.0,40.0]", "dense1.bias: data_offsets"},
        {"[\"0\",\"40\"]", "dense1.bias: data_offsets"},
        {"[0,40,80]", "dense1.bias: data_offsets"},
        {"[0]", "dense1.bias: data_offsets"},
        {"[]", "dense1.bias: data_offsets"},
        {"null", "dense1.bias: data_offsets"},
        {"\"0-40\"", "dense1.bias: data_offsets"},
        {"[0,99999999999999999999]", "not valid JSON"}, /* integer overflow */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *h = json_deep_copy(f.hdr);
        json_error_t err;
        json_t *o = json_loads(bad[i].offsets, JSON_DECODE_ANY, &err);
        if (o) {
            json_object_set_new(json_object_get(h, "dense1.bias"), "data_offsets", o);
            write_sft(path2, sizeof path2, "offsets.safetensors", h, f.data, f.dlen);
        } else { /* not representable in jansson: splice the text in */
            char *text = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
            char *at = strstr(text, "\"dense1.bias\"");
            char *off = at ? strstr(at, "\"data_offsets\":") : NULL;
            char *close = off ? strchr(off, ']') : NULL;
            CHECK(close != NULL, "cannot find dense1.bias offsets");
            if (close) {
                char *edited = malloc(strlen(text) + strlen(bad[i].offsets) + 1);
                size_t head = (size_t)(off - text) + strlen("\"data_offsets\":");
                sprintf(edited, "%.*s%s%s", (int)head, text, bad[i].offsets, close + 1);
                write_raw_sft(path2, sizeof path2, "offsets.safetensors", edited,
                              f.data, f.dlen);
                free(edited);
            }
            free(text);
        }
        EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, bad[i].needle);
        json_decref(h);
    }
    /* Two tensors swapped onto the same bytes. */
    json_t *h = json_deep_copy(f.hdr);
    json_object_set(json_object_get(h, "conv2.bias"), "data_offsets",
                    json_object_get(json_object_get(h, "conv4.bias"), "data_offsets"));
    write_sft(path2, sizeof path2, "overlap.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "overlap");
    json_decref(h);
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

static void test_load_bad_data(void)
{
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "base4.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr)
        goto done;
    /* Cut short by one byte. */
    snprintf(path2, sizeof path2, "%s",
             test_write_file("cut.safetensors", f.bytes, f.size - 1));
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, NULL);
    /* Cut inside the header. */
    snprintf(path2, sizeof path2, "%s",
             test_write_file("cut2.safetensors", f.bytes, 8 + (size_t)f.hlen / 2));
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "exceeds the file size");
    /* Trailing bytes nothing refers to. */
    unsigned char *longer = malloc(f.size + 8);
    memcpy(longer, f.bytes, f.size);
    memset(longer + f.size, 0, 8);
    snprintf(path2, sizeof path2, "%s",
             test_write_file("trailing.safetensors", longer, f.size + 8));
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "cover");
    free(longer);
    /* One flipped bit in the data. */
    unsigned char *flip = malloc(f.size);
    memcpy(flip, f.bytes, f.size);
    flip[8 + f.hlen + f.dlen / 2] ^= 0x10;
    snprintf(path2, sizeof path2, "%s",
             test_write_file("flipped.safetensors", flip, f.size));
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "checksum mismatch");
    /* Without a crc32 in the metadata the same file loads. */
    json_t *h = json_deep_copy(f.hdr);
    json_object_del(json_object_get(h, "__metadata__"), "crc32");
    write_sft(path2, sizeof path2, "nocrc.safetensors", h, flip + 8 + f.hlen, f.dlen);
    CHECK(cnn_model_load(m, path2) == CNN_OK, "no crc: %s", cnn_last_error());
    CHECK(memcmp(m->params, src->params, block_bytes(m)) != 0, "flip not loaded");
    json_decref(h);
    free(flip);
    /* Uppercase hex is accepted. */
    h = json_deep_copy(f.hdr);
    char hex[16];
    snprintf(hex, sizeof hex, "%08lX", (unsigned long)crc_of(f.data, f.dlen));
    json_object_set_new(json_object_get(h, "__metadata__"), "crc32", json_string(hex));
    write_sft(path2, sizeof path2, "upper.safetensors", h, f.data, f.dlen);
    CHECK(cnn_model_load(m, path2) == CNN_OK, "upper-case crc: %s", cnn_last_error());
    CHECK(memcmp(m->params, src->params, block_bytes(m)) == 0, "upper: differs");
    json_decref(h);
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

/* A header written by hand whose checksum is right but whose shape is a
   string; also a duplicate key, which JSON objects do not allow here. */
static void test_hand_built_corrupt(void)
{
    char path[512], json[1024];
    cnn_model *m = new_model("logreg", 3);
    size_t dlen = (784 * 10 + 10) * 4;
    unsigned char *data = calloc(1, dlen);
    unsigned long crc = (unsigned long)crc_of(data, dlen);
    snprintf(json, sizeof json,
             "{\"__metadata__\":{\"crc32\":\"%08lx\"},"
             "\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":\"784x10\","
             "\"data_offsets\":[0,31360]},"
             "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[10],"
             "\"data_offsets\":[31360,31400]}}", crc);
    write_raw_sft(path, sizeof path, "hand.safetensors", json, data, dlen);
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, "dense1.weight");

    /* The same, valid: loads zeros. */
    snprintf(json, sizeof json,
             "{\"__metadata__\":{\"crc32\":\"%08lx\"},"
             "\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[784,10],"
             "\"data_offsets\":[0,31360]},"
             "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[10],"
             "\"data_offsets\":[31360,31400]}}", crc);
    write_raw_sft(path, sizeof path, "hand-ok.safetensors", json, data, dlen);
    CHECK(cnn_model_load(m, path) == CNN_OK, "hand-built: %s", cnn_last_error());
    int zeros = 1;
    for (size_t i = 0; i < m->block; i++)
        zeros &= m->params[i] == 0.0f;
    CHECK(zeros, "hand-built zeros not loaded");
    cnn_model_init(m, 3);

    /* Duplicate tensor. */
    snprintf(json, sizeof json,
             "{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[784,10],"
             "\"data_offsets\":[0,31360]},"
             "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[10],"
             "\"data_offsets\":[31360,31400]},"
             "\"dense1.bias\":{\"dtype\":\"F32\",\"shape\":[10],"
             "\"data_offsets\":[31360,31400]}}");
    write_raw_sft(path, sizeof path, "dup.safetensors", json, data, dlen);
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, "dense1.bias");

    /* A tensor name with a newline in it stays on one line. */
    snprintf(json, sizeof json,
             "{\"dense1.weight\\nx\":{\"dtype\":\"F32\",\"shape\":[784,10],"
             "\"data_offsets\":[0,31360]}}");
    write_raw_sft(path, sizeof path, "newline.safetensors", json, data, dlen);
    EXPECT_FAIL(m, path, CNN_ERR_MISMATCH, "dense1.weight?x");

    /* Deeply nested JSON. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = 0;
    write_raw_sft(path, sizeof path, "deep.safetensors", deep, NULL, 0);
    EXPECT_FAIL(m, path, CNN_ERR_FORMAT, NULL);
    free(deep);
    free(data);
    cnn_model_free(m);
}

/* ------------------------------------------------------ metadata checksum */

/* Recompute "meta_crc32" as the writer does: CRC-32 of the metadata,
   without crc32 and meta_crc32, as compact JSON with sorted keys. */
static void set_meta_crc(json_t *hdr)
{
    json_t *meta = json_object_get(hdr, "__metadata__");
    json_t *copy = json_copy(meta);
    json_object_del(copy, "crc32");
    json_object_del(copy, "meta_crc32");
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    char hex[16];
    snprintf(hex, sizeof hex, "%08lx", (unsigned long)crc_of(text, strlen(text)));
    json_object_set_new(meta, "meta_crc32", json_string(hex));
    free(text);
    json_decref(copy);
}

/* Replace the first from in buf (size bytes) with to, of the same length;
   returns whether it was found. */
static int patch_bytes(unsigned char *buf, size_t size, const char *from, const char *to)
{
    unsigned char *at = memmem(buf, size, from, strlen(from));
    if (at)
        memcpy(at, to, strlen(to));
    return at != NULL;
}

/* A small checkpoint of a logreg model: count images, batch 2, no steps
   taken; its path into path. */
static void save_checkpoint(char *path, size_t cap, const char *name, long count)
{
    cnn_model *m = new_model("logreg", 7);
    cnn_train_state *s = NULL;
    tmp_path(path, cap, name);
    CHECK(cnn_train_state_create(&s) == CNN_OK, "state: %s", cnn_last_error());
    if (m && s && cnn_train_state_alloc(s, m->block, count) == CNN_OK) {
        s->epochs = 1, s->batch = 2, s->threads = 1, s->shuffle = 1;
        s->lr = 0.001f, s->beta1 = 0.9f, s->beta2 = 0.999f, s->eps = 1e-8f;
        s->seed = 1, s->rng.state = 12345, s->rng.inc = 1;
        s->ready = 1;
        CHECK(cnn_checkpoint_save(m, s, path) == CNN_OK, "save: %s", cnn_last_error());
    }
    cnn_train_state_free(s);
    cnn_model_free(m);
}

/* Load a checkpoint expecting failure with status want and needle in a
   one-line message naming the file. */
static void expect_checkpoint_fail(int line, const char *path, int want, const char *needle)
{
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    int st = cnn_checkpoint_load(path, &m, &s);
    const char *msg = cnn_last_error();
    CHECK(st == want && !m && !s, "line %d: load %s gave %d (%s), expected %d", line,
          path, st, msg, want);
    CHECK(strstr(msg, path) && !strchr(msg, '\n') && strstr(msg, needle),
          "line %d: message lacks '%s' or the file, or is not one line: %s", line,
          needle, msg);
    cnn_model_free(m);
    cnn_train_state_free(s);
}

/* The metadata carries its own checksum; a value changed in place (JSON
   still valid, same length) is refused, in weights and checkpoints. */
static void test_metadata_checksum(void)
{
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "meta.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr)
        goto done;
    json_t *meta = json_object_get(f.hdr, "__metadata__");
    const char *mc = json_string_value(json_object_get(meta, "meta_crc32"));
    CHECK(mc && strlen(mc) == 8, "no meta_crc32 in a saved file");
    json_t *h = json_deep_copy(f.hdr);
    set_meta_crc(h);
    CHECK(json_equal(h, f.hdr), "meta_crc32 is not the CRC-32 of the canonical metadata");
    json_decref(h);

    /* "28x28x1" to "28x28x2": refused by the checksum, not the shape. */
    unsigned char *bytes = malloc(f.size);
    memcpy(bytes, f.bytes, f.size);
    CHECK(patch_bytes(bytes, 8 + (size_t)f.hlen, "\"28x28x1\"", "\"28x28x2\""),
          "input not found in the header");
    snprintf(path2, sizeof path2, "%s", test_write_file("meta-flip.safetensors", bytes,
                                                        f.size));
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "metadata checksum mismatch");
    cnn_model *opened = NULL;
    CHECK(cnn_model_open(path2, &opened) == CNN_ERR_FORMAT && !opened &&
          strstr(cnn_last_error(), "metadata checksum mismatch"),
          "open: %s", cnn_last_error());
    free(bytes);

    /* meta_crc32 must be 8 hex digits. */
    h = json_deep_copy(f.hdr);
    json_object_set_new(json_object_get(h, "__metadata__"), "meta_crc32",
                        json_string("12345"));
    write_sft(path2, sizeof path2, "meta-short.safetensors", h, f.data, f.dlen);
    EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "meta_crc32 is not a string of 8 hex digits");
    json_decref(h);

    /* A checkpoint whose batch is changed from 2 to 1 would otherwise load
       (its scalars stay consistent). */
    save_checkpoint(path, sizeof path, "meta.ckpt", 6);
    size_t size = 0;
    bytes = read_file(path, &size);
    cnn_model *cm = NULL;
    cnn_train_state *cs = NULL;
    CHECK(cnn_checkpoint_load(path, &cm, &cs) == CNN_OK, "load: %s", cnn_last_error());
    cnn_model_free(cm);
    cnn_train_state_free(cs);
    CHECK(bytes && patch_bytes(bytes, size, "\"batch\":\"2\"", "\"batch\":\"1\""),
          "batch not found in the checkpoint header");
    if (bytes) {
        snprintf(path2, sizeof path2, "%s", test_write_file("meta-flip.ckpt", bytes, size));
        expect_checkpoint_fail(__LINE__, path2, CNN_ERR_FORMAT, "metadata checksum mismatch");
    }
    free(bytes);
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

/* Files without meta_crc32 (older versions, other tools) still load, as
   weights, as a model and as a checkpoint. */
static void test_load_without_meta_crc(void)
{
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "nometa.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr)
        goto done;
    json_t *h = json_deep_copy(f.hdr);
    json_object_del(json_object_get(h, "__metadata__"), "meta_crc32");
    /* A value changed too: nothing notices it without the checksum. */
    json_object_set_new(json_object_get(h, "__metadata__"), "note", json_string("x"));
    write_sft(path2, sizeof path2, "nometa2.safetensors", h, f.data, f.dlen);
    json_decref(h);
    CHECK(cnn_model_load(m, path2) == CNN_OK, "load: %s", cnn_last_error());
    CHECK(memcmp(m->params, src->params, block_bytes(m)) == 0, "loaded params differ");
    cnn_model *opened = NULL;
    CHECK(cnn_model_open(path2, &opened) == CNN_OK, "open: %s", cnn_last_error());
    CHECK(opened && memcmp(opened->params, src->params, block_bytes(src)) == 0,
          "opened params differ");
    cnn_model_free(opened);

    save_checkpoint(path, sizeof path, "nometa.ckpt", 6);
    sft c;
    if (sft_read(&c, path) == 0) {
        json_object_del(json_object_get(c.hdr, "__metadata__"), "meta_crc32");
        write_sft(path2, sizeof path2, "nometa2.ckpt", c.hdr, c.data, c.dlen);
        cnn_model *cm = NULL;
        cnn_train_state *cs = NULL;
        CHECK(cnn_checkpoint_load(path2, &cm, &cs) == CNN_OK, "checkpoint: %s",
              cnn_last_error());
        cnn_model_free(cm);
        cnn_train_state_free(cs);
    } else {
        CHECK(0, "cannot read back %s", path);
    }
    sft_free(&c);
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

/* A checkpoint claiming 2^31-1 training images in a few kilobytes is
   refused before the state (8 GB of order) is allocated; under the
   sanitizers such an allocation would abort the run. */
static void test_checkpoint_huge_count(void)
{
    char path[512], path2[512];
    save_checkpoint(path, sizeof path, "count.ckpt", 6);
    sft c;
    if (sft_read(&c, path) != 0) {
        CHECK(0, "cannot read back %s", path);
        sft_free(&c);
        return;
    }
    json_t *meta = json_object_get(c.hdr, "__metadata__");
    json_object_set_new(meta, "count", json_string("2147483647"));
    set_meta_crc(c.hdr);
    write_sft(path2, sizeof path2, "huge-count.ckpt", c.hdr, c.data, c.dlen);
    expect_checkpoint_fail(__LINE__, path2, CNN_ERR_FORMAT,
                           "truncated: metadata claims 2147483647 training images");
    /* One image more than the file holds is caught the same way. */
    json_object_set_new(meta, "count", json_string("7"));
    set_meta_crc(c.hdr);
    write_sft(path2, sizeof path2, "count7.ckpt", c.hdr, c.data, c.dlen);
    expect_checkpoint_fail(__LINE__, path2, CNN_ERR_FORMAT,
                           "truncated: metadata claims 7 training images");
    sft_free(&c);
}

/* cnn_st_read refuses a file whose metadata is not the one read before (the
   file replaced between the two opens). */
static void test_read_expect_meta(void)
{
    char path[512], other[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "expect.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    int n = cnn_weights_tensors(m, NULL, "", NULL);
    st_tensor *t = calloc((size_t)n, sizeof *t);
    json_t *meta = NULL;
    uint64_t data_size = 0;
    if (!f.hdr || !t || cnn_weights_tensors(m, m->params, "", t) != n)
        goto done;
    CHECK(cnn_st_read_metadata(path, &meta, &data_size) == CNN_OK, "metadata: %s",
          cnn_last_error());
    CHECK(data_size == f.dlen, "data size %llu, file has %zu",
          (unsigned long long)data_size, f.dlen);
    size_t bytes = block_bytes(m);
    float *before = malloc(bytes);
    memcpy(before, m->params, bytes);

    /* Other metadata than the file's. */
    json_t *changed = json_deep_copy(meta);
    json_object_set_new(changed, "input", json_string("28x28x2"));
    int st = cnn_st_read(path, t, n, 0, changed);
    CHECK(st == CNN_ERR_FORMAT && strstr(cnn_last_error(), path) &&
          strstr(cnn_last_error(), "changed while it was being read"),
          "different metadata: %d %s", st, cnn_last_error());
    CHECK(memcmp(before, m->params, bytes) == 0, "params changed by a refused read");
    json_decref(changed);
    changed = json_object();
    CHECK(cnn_st_read(path, t, n, 0, changed) == CNN_ERR_FORMAT, "empty metadata accepted");
    json_decref(changed);

    /* The file replaced by another save (other weights, so another crc32). */
    cnn_model *o = new_model("seed", 43);
    tmp_path(other, sizeof other, "expect-other.safetensors");
    CHECK(o && cnn_model_save(o, other) == CNN_OK, "save: %s", cnn_last_error());
    CHECK(rename(other, path) == 0, "rename: %s", strerror(errno));
    st = cnn_st_read(path, t, n, 0, meta);
    CHECK(st == CNN_ERR_FORMAT && strstr(cnn_last_error(), "changed while"),
          "replaced file: %d %s", st, cnn_last_error());
    CHECK(memcmp(before, m->params, bytes) == 0, "params changed by a refused read");
    /* With its own metadata, or none expected, it reads. */
    CHECK(cnn_st_read(path, t, n, 0, NULL) == CNN_OK, "no expectation: %s", cnn_last_error());
    CHECK(memcmp(o->params, m->params, bytes) == 0, "replacement not read");
    json_decref(meta);
    meta = NULL;
    CHECK(cnn_st_read_metadata(path, &meta, NULL) == CNN_OK &&
          cnn_st_read(path, t, n, 0, meta) == CNN_OK, "own metadata: %s", cnn_last_error());
    cnn_model_free(o);
    free(before);
done:
    json_decref(meta);
    free(t);
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

/* Random mutations of a small valid file: never a crash, and on failure
   the model is untouched. */
static void test_fuzz(void)
{
    char path[512];
    cnn_model *m = new_model("logreg", 3);
    tmp_path(path, sizeof path, "fuzz-base.safetensors");
    CHECK(cnn_model_save(m, path) == CNN_OK, "save: %s", cnn_last_error());
    size_t size = 0;
    unsigned char *base = read_file(path, &size);
    if (!base || size < 16)
        goto done;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)base[i] << (8 * i);
    unsigned char *buf = malloc(size);
    size_t bytes = block_bytes(m);
    float *before = malloc(bytes);
    uint64_t rng = 88172645463325252ull;
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 600; iter++) {
        memcpy(buf, base, size);
        size_t len = size;
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = iter % 10 == 0 ? rng % 8 : 8 + rng % (size_t)hlen;
            static const char pool[] = "{}[]\":,0123456789-.e \\Fx";
            buf[at] = (rng >> 32) % 3 ? (unsigned char)pool[(rng >> 40) % (sizeof pool - 1)]
                                      : (unsigned char)(rng >> 48);
        }
        if (iter % 7 == 0)
            len = (size_t)(rng % size);
        snprintf(path, sizeof path, "%s", test_write_file("fuzz.safetensors", buf, len));
        memcpy(before, m->params, bytes);
        int st = cnn_model_load(m, path);
        CHECK(st == CNN_OK || st == CNN_ERR_FORMAT || st == CNN_ERR_MISMATCH,
              "fuzz %d: status %d (%s)", iter, st, cnn_last_error());
        if (st != CNN_OK) {
            failed++;
            CHECK(memcmp(before, m->params, bytes) == 0, "fuzz %d: params changed", iter);
            CHECK(strstr(cnn_last_error(), path) && !strchr(cnn_last_error(), '\n'),
                  "fuzz %d: message %s", iter, cnn_last_error());
        } else {
            ok++;
        }
    }
    CHECK(failed > 0, "no mutation was rejected (%d loaded)", ok);
    free(before);
    free(buf);
done:
    free(base);
    cnn_model_free(m);
}

/* ------------------------------------------------- values, sizes, types */

/* A copy of f's data with value index of tensor name set to the float
   whose bits are u, and the data checksum made right again, written to
   name; its path into out.  Returns 0, or -1 when the tensor is not in f. */
static int write_with_value(char *out, size_t cap, const char *name, const sft *f,
                            const char *tensor, size_t index, uint32_t u)
{
    json_t *offs = json_object_get(json_object_get(f->hdr, tensor), "data_offsets");
    size_t at = (size_t)json_integer_value(json_array_get(offs, 0)) + 4 * index;
    if (!offs || at + 4 > f->dlen)
        return -1;
    unsigned char *data = malloc(f->dlen);
    json_t *hdr = json_deep_copy(f->hdr);
    memcpy(data, f->data, f->dlen);
    for (int b = 0; b < 4; b++)
        data[at + b] = (unsigned char)(u >> (8 * b));
    set_crc(hdr, data, f->dlen);
    write_sft(out, cap, name, hdr, data, f->dlen);
    json_decref(hdr);
    free(data);
    return 0;
}

/* One value written into a tensor, and the message that must refuse it. */
typedef struct {
    const char *tensor;
    size_t index;
    uint32_t bits;
    const char *what;
} bad_value;

/* A NaN or an infinity anywhere in the weights, with correct checksums, is
   refused naming the tensor and the first bad index; the model is
   untouched and cnn_model_open gives nothing.  Extreme finite values load
   bit for bit. */
static void test_load_nonfinite(void)
{
    static const bad_value bad[] = {
        {"conv1.weight", 17, 0x7fc00000u, "tensor conv1.weight holds NaN at index 17"},
        {"conv1.weight", 0, 0xffc00000u, "tensor conv1.weight holds NaN at index 0"},
        {"conv3.weight", 5, 0x7f800001u, "tensor conv3.weight holds NaN at index 5"},
        {"dense1.weight", 2879, 0x7f800000u, "tensor dense1.weight holds +Inf at index 2879"},
        {"conv2.weight", 99, 0xff800000u, "tensor conv2.weight holds -Inf at index 99"},
        {"conv4.bias", 3, 0x7fc00000u, "tensor conv4.bias holds NaN at index 3"},
        {"dense1.bias", 9, 0xff800000u, "tensor dense1.bias holds -Inf at index 9"},
    };
    char path[512], path2[512];
    sft f;
    cnn_model *src = saved_seed(path, sizeof path, "nonfinite.safetensors", &f);
    cnn_model *m = new_model("seed", 9);
    if (!f.hdr || !m)
        goto done;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "nonfinite-%zu.safetensors", i);
        CHECK(write_with_value(path2, sizeof path2, name, &f, bad[i].tensor, bad[i].index,
                               bad[i].bits) == 0, "no tensor %s", bad[i].tensor);
        EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, bad[i].what);
        cnn_model *opened = (cnn_model *)1;
        int st = cnn_model_open(path2, &opened);
        CHECK(st == CNN_ERR_FORMAT && !opened && strstr(cnn_last_error(), bad[i].what),
              "open %s: %d %s", name, st, cnn_last_error());
    }
    /* Two bad values: the first one in model order is named. */
    CHECK(write_with_value(path2, sizeof path2, "nonfinite-two.safetensors", &f,
                           "conv2.bias", 1, 0x7f800000u) == 0, "no conv2.bias");
    sft g;
    if (sft_read(&g, path2) == 0) {
        CHECK(write_with_value(path2, sizeof path2, "nonfinite-two.safetensors", &g,
                               "conv2.weight", 40, 0x7fc00000u) == 0, "no conv2.weight");
        EXPECT_FAIL(m, path2, CNN_ERR_FORMAT, "tensor conv2.weight holds NaN at index 40");
    }
    sft_free(&g);
    /* The largest, smallest and negative-zero floats are finite: they load. */
    static const uint32_t fine[] = {0x7f7fffffu, 0xff7fffffu, 0x00000001u, 0x80000000u};
    for (size_t i = 0; i < 4; i++) {
        CHECK(write_with_value(path2, sizeof path2, "finite.safetensors", &f, "conv1.weight",
                               i, fine[i]) == 0, "no conv1.weight");
        CHECK(cnn_model_load(m, path2) == CNN_OK, "finite %08x: %s", fine[i],
              cnn_last_error());
        uint32_t got;
        memcpy(&got, &m->params[m->layers[0].t_off[0] + i], 4);
        CHECK(got == fine[i], "value %08x read as %08x", fine[i], got);
    }
done:
    sft_free(&f);
    cnn_model_free(src);
    cnn_model_free(m);
}

/* A checkpoint holding a NaN or an infinity, in its weights or in Adam's
   moments, is refused naming the tensor and the index. */
static void test_checkpoint_nonfinite(void)
{
    static const bad_value bad[] = {
        {"adam.m.dense1.weight", 0, 0x7fc00000u, "tensor adam.m.dense1.weight holds NaN at index 0"},
        {"adam.v.dense1.bias", 3, 0x7f800000u, "tensor adam.v.dense1.bias holds +Inf at index 3"},
        {"adam.m.dense1.bias", 9, 0xff800000u, "tensor adam.m.dense1.bias holds -Inf at index 9"},
        {"dense1.weight", 7000, 0x7fc00000u, "tensor dense1.weight holds NaN at index 7000"},
    };
    char path[512], path2[512];
    save_checkpoint(path, sizeof path, "nonfinite.ckpt", 6);
    sft c;
    if (sft_read(&c, path) != 0) {
        CHECK(0, "cannot read back %s", path);
        sft_free(&c);
        return;
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "nonfinite-%zu.ckpt", i);
        CHECK(write_with_value(path2, sizeof path2, name, &c, bad[i].tensor, bad[i].index,
                               bad[i].bits) == 0, "no tensor %s", bad[i].tensor);
        expect_checkpoint_fail(__LINE__, path2, CNN_ERR_FORMAT, bad[i].what);
    }
    /* The same file with its values intact loads. */
    CHECK(write_with_value(path2, sizeof path2, "finite.ckpt", &c, "adam.v.dense1.bias", 3,
                           0x3f800000u) == 0, "no adam.v.dense1.bias");
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(path2, &m, &s) == CNN_OK, "finite: %s", cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
    sft_free(&c);
}

/* Metadata declaring a model larger than the file's data section is
   refused, naming the file and both sizes, before anything is allocated
   for the model (a 1.1e12-parameter model would need 4.4 TB). */
static void test_declared_model_too_large(void)
{
    char path[512];
    float ten[10] = {0};
    json_t *hdr = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:[i], s:[i,i]}}", "__metadata__",
                            "format", "cnn", "spec", "flatten,dense:1048576,softmax",
                            "input", "1024x1024x1", "dense1.bias", "dtype", "F32",
                            "shape", 10, "data_offsets", 0, 40);
    set_crc(hdr, ten, sizeof ten);
    set_meta_crc(hdr);
    write_sft(path, sizeof path, "declares-huge.safetensors", hdr, ten, sizeof ten);
    cnn_model *m = (cnn_model *)1;
    int st = cnn_model_open(path, &m);
    const char *msg = cnn_last_error();
    CHECK(st == CNN_ERR_FORMAT && !m && strstr(msg, path) &&
          strstr(msg, "declares a model of 1,099,512,676,352 parameters, "
                      "4,398,050,705,408 bytes (4.0 TiB) of tensors") &&
          strstr(msg, "holds only 40 bytes"), "huge model: %d %s", st, msg);

    /* As a checkpoint (its scalars valid): 12 bytes a parameter. */
    char ck[512];
    save_checkpoint(ck, sizeof ck, "declares.ckpt", 6);
    sft c;
    if (sft_read(&c, ck) == 0) {
        json_t *meta = json_object_get(c.hdr, "__metadata__");
        json_object_set_new(meta, "spec", json_string("flatten,dense:1048576,softmax"));
        json_object_set_new(meta, "input", json_string("1024x1024x1"));
        set_meta_crc(c.hdr);
        write_sft(path, sizeof path, "declares-huge.ckpt", c.hdr, c.data, c.dlen);
        expect_checkpoint_fail(__LINE__, path, CNN_ERR_FORMAT,
                               "declares a model of 1,099,512,676,352 parameters, "
                               "13,194,152,116,224 bytes (12.0 TiB) of tensors with "
                               "Adam's moments");
    } else {
        CHECK(0, "cannot read back %s", ck);
    }
    sft_free(&c);
    json_decref(hdr);

    /* One tensor short of the model (a bias and its 40 bytes cut off): the
       declared size is checked before the tensors are. */
    sft f;
    cnn_model *src = new_model("logreg", 5);
    tmp_path(path, sizeof path, "short-by-one.safetensors");
    CHECK(cnn_model_save(src, path) == CNN_OK, "save: %s", cnn_last_error());
    if (sft_read(&f, path) == 0) {
        json_object_del(f.hdr, "dense1.bias");
        set_crc(f.hdr, f.data, f.dlen - 40);
        write_sft(path, sizeof path, "short-by-one.safetensors", f.hdr, f.data, f.dlen - 40);
        m = (cnn_model *)1;
        st = cnn_model_open(path, &m);
        CHECK(st == CNN_ERR_FORMAT && !m && strstr(cnn_last_error(), "7,850 parameters") &&
              strstr(cnn_last_error(), "31,400 bytes of tensors, but the file holds only 31,360 bytes"), "short: %d %s", st,
              cnn_last_error());
    }
    sft_free(&f);
    cnn_model_free(src);
}

/* A described model (no parameters yet) gets them from a load, once the
   file is long enough for it; a file too short is refused before. */
static void test_load_into_described_model(void)
{
    char path[512], small[512];
    cnn_model *src = new_model("seed", 11), *d = NULL, *l = NULL;
    tmp_path(path, sizeof path, "described.safetensors");
    tmp_path(small, sizeof small, "described-small.safetensors");
    CHECK(src && cnn_model_save(src, path) == CNN_OK, "save: %s", cnn_last_error());
    l = new_model("logreg", 2);
    CHECK(l && cnn_model_save(l, small) == CNN_OK, "save: %s", cnn_last_error());
    CHECK(cnn_model_describe("seed", 28, 28, 1, 10, &d) == CNN_OK, "%s", cnn_last_error());
    if (!d || !src)
        goto done;
    CHECK(cnn_model_params(d) == NULL, "a described model has parameters");
    CHECK(cnn_model_save(d, path) == CNN_ERR_ARG, "saved a model without parameters");
    int st = cnn_model_load(d, small);
    CHECK(st == CNN_ERR_MISMATCH && cnn_model_params(d) == NULL &&
          strstr(cnn_last_error(), small) && strstr(cnn_last_error(), "24,186 parameters"),
          "too small a file: %d %s", st, cnn_last_error());
    CHECK(cnn_model_load(d, path) == CNN_OK, "load: %s", cnn_last_error());
    CHECK(cnn_model_params(d) && memcmp(d->params, src->params, block_bytes(src)) == 0,
          "loaded parameters differ");
done:
    cnn_model_free(src);
    cnn_model_free(l);
    cnn_model_free(d);
}

/* Weights and checkpoints are read only from regular files: a FIFO with no
   writer, a device and a directory are refused at once, named. */
static void test_load_not_regular(void)
{
    char fifo[512];
    cnn_model *m = new_model("logreg", 3);
    tmp_path(fifo, sizeof fifo, "weights.fifo");
    if (!m || mkfifo(fifo, 0600) != 0) {
        CHECK(0, "mkfifo %s: %s", fifo, strerror(errno));
        cnn_model_free(m);
        return;
    }
    alarm(20); /* a blocking open would hang: die instead */
    EXPECT_FAIL(m, fifo, CNN_ERR_IO, "is a FIFO");
    EXPECT_FAIL(m, "/dev/null", CNN_ERR_IO, "is a character device");
    EXPECT_FAIL(m, test_tmpdir(), CNN_ERR_IO, "is a directory");
    cnn_model *o = (cnn_model *)1;
    CHECK(cnn_model_open(fifo, &o) == CNN_ERR_IO && !o && strstr(cnn_last_error(), "FIFO"),
          "open: %s", cnn_last_error());
    expect_checkpoint_fail(__LINE__, fifo, CNN_ERR_IO, "is a FIFO");
    json_t *meta = NULL;
    CHECK(cnn_st_read_metadata(fifo, &meta, NULL) == CNN_ERR_IO && !meta, "metadata: %s",
          cnn_last_error());
    alarm(0);
    cnn_model_free(m);
}

/* A kind with a buffer tensor, as batch norm's moving statistics will be:
   dense plus "moving" [out], initialised to ones, saved and loaded but not
   trainable. */
static cnn_layer_op dense_buffer;

static int dense_buffer_tensors(const cnn_layer *L, cnn_tensor_decl *t)
{
    const cnn_layer_op *dense = NULL;
    for (int k = 0; cnn_layer_ops[k]; k++)
        if (!strcmp(cnn_layer_ops[k]->name, "dense"))
            dense = cnn_layer_ops[k];
    int n = dense->tensors(L, t);
    t[n] = (cnn_tensor_decl){"moving", 1, {L->g.out_c}, (size_t)L->g.out_c,
                             CNN_TENSOR_BUFFER, CNN_INIT_ONES, 0, 0};
    return n + 1;
}

/* flatten,dense:3 on 4x4x1 with the dense layer given a buffer, seeded. */
static cnn_model *buffered_model(uint64_t seed)
{
    cnn_model *m = NULL;
    CHECK(cnn_model_describe("flatten,dense:3,softmax", 4, 4, 1, 3, &m) == CNN_OK, "%s",
          cnn_last_error());
    if (!m)
        return NULL;
    dense_buffer = *m->layers[1].op;
    dense_buffer.tensors = dense_buffer_tensors;
    m->layers[1].op = &dense_buffer;
    CHECK(cnn_model_layout(m) == CNN_OK && cnn_model_init(m, seed) == CNN_OK, "%s",
          cnn_last_error());
    return m;
}

/* Buffers count as non-trainable, are listed with their role, initialised
   as declared, saved and loaded with the weights. */
static void test_buffer_tensors(void)
{
    cnn_model *a = buffered_model(5), *b = buffered_model(6);
    if (!a || !b)
        goto done;
    CHECK(cnn_model_param_count(a) == 51 && cnn_model_buffer_count(a) == 3, "%zu + %zu",
          cnn_model_param_count(a), cnn_model_buffer_count(a));
    char table[4096];
    cnn_model_summary(a, table, sizeof table);
    CHECK(strstr(table, "Total params: 54\nTrainable params: 51\nNon-trainable params: 3"),
          "%s", table);
    cnn_layer_info info;
    CHECK(cnn_model_layer(a, 1, &info) == CNN_OK && info.params == 54 && info.trainable == 51,
          "layer: %zu %zu", info.params, info.trainable);
    cnn_tensor_info t[4];
    CHECK(cnn_model_tensors(a, t, 4) == 3 && !strcmp(t[2].name, "dense1.moving") &&
              t[2].role == CNN_TENSOR_BUFFER && t[0].role == CNN_TENSOR_PARAM,
          "tensors: %s", t[2].name);
    CHECK(a->params[t[2].offset] == 1.0f && a->params[t[2].offset + 2] == 1.0f, "not ones");
    a->params[t[2].offset + 1] = 0.25f;
    char path[512];
    tmp_path(path, sizeof path, "buffer.safetensors");
    CHECK(cnn_model_save(a, path) == CNN_OK, "save: %s", cnn_last_error());
    CHECK(cnn_model_load(b, path) == CNN_OK, "load: %s", cnn_last_error());
    CHECK(memcmp(a->params, b->params, block_bytes(a)) == 0, "loaded tensors differ");
    cnn_model *plain = NULL;
    CHECK(cnn_model_create("flatten,dense:3,softmax", 4, 4, 1, 3, &plain) == CNN_OK, "%s",
          cnn_last_error());
    CHECK(plain && cnn_model_load(plain, path) != CNN_OK && strstr(cnn_last_error(), "moving"),
          "a file with a buffer loaded into a model without: %s", cnn_last_error());
    cnn_model_free(plain);
done:
    cnn_model_free(a);
    cnn_model_free(b);
}

/* Buffers are not the optimizer's: AdamW's weight decay (which would
   shrink any value it touched) leaves them as they were, and a checkpoint
   holds state tensors for the trainable tensors only. */
static void test_buffers_not_trained(void)
{
    cnn_model *m = buffered_model(7);
    cnn_train_state *s = NULL;
    if (!m || cnn_train_state_create(&s) != CNN_OK)
        goto done;
    enum { N = 12 };
    uint8_t images[N * 16], labels[N];
    for (int i = 0; i < N * 16; i++)
        images[i] = (uint8_t)(i * 37 % 251);
    for (int i = 0; i < N; i++)
        labels[i] = (uint8_t)(i % 3);
    cnn_dataset ds = {N, 4, 4, 1, 3, images, labels, 1};
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 2, cfg.batch = 4, cfg.threads = 2, cfg.bind = 0, cfg.state = s;
    cfg.optimizer = "adamw", cfg.weight_decay = 0.5f, cfg.lr = 0.1f;
    size_t w = m->layers[1].t_off[0], moving = m->layers[1].t_off[2];
    float w0 = m->params[w];
    CHECK(cnn_train(m, &ds, &cfg, NULL) == CNN_OK, "train: %s", cnn_last_error());
    CHECK(m->params[w] != w0, "the weights did not change");
    for (int i = 0; i < 3; i++)
        CHECK(m->params[moving + i] == 1.0f, "buffer value %d trained: %g", i,
              m->params[moving + i]);
    char path[512];
    tmp_path(path, sizeof path, "buffer.ckpt");
    CHECK(cnn_checkpoint_save(m, s, path) == CNN_OK, "save: %s", cnn_last_error());
    size_t len = 0;
    unsigned char *file = read_file(path, &len);
    CHECK(file && memmem(file, len, "adamw.m.dense1.weight", 21) &&
              memmem(file, len, "\"dense1.moving\"", 15) &&
              !memmem(file, len, "adamw.m.dense1.moving", 21) &&
              !memmem(file, len, "adamw.v.dense1.moving", 21),
          "checkpoint tensors: state for the buffer, or weights missing");
    free(file);
done:
    cnn_train_state_free(s);
    cnn_model_free(m);
}

TEST_TABLE(weights,
           {"round_trip_seed", test_round_trip_seed},
           {"buffer_tensors", test_buffer_tensors},
           {"buffers_not_trained", test_buffers_not_trained},
           {"round_trip_seed_dense", test_round_trip_seed_dense},
           {"round_trip_logreg", test_round_trip_logreg},
           {"reordered_tensors", test_reordered_tensors},
           {"header_json", test_header_json},
           {"no_temp_files", test_no_temp_files},
           {"save_missing_dir", test_save_missing_dir},
           {"save_write_error", test_save_write_error},
           {"load_missing_file", test_load_missing_file},
           {"load_short_files", test_load_short_files},
           {"load_bad_header_length", test_load_bad_header_length},
           {"load_not_json", test_load_not_json},
           {"load_missing_extra_tensor", test_load_missing_extra_tensor},
           {"load_wrong_dtype_shape", test_load_wrong_dtype_shape},
           {"load_bad_offsets", test_load_bad_offsets},
           {"load_bad_data", test_load_bad_data},
           {"hand_built_corrupt", test_hand_built_corrupt},
           {"metadata_checksum", test_metadata_checksum},
           {"load_without_meta_crc", test_load_without_meta_crc},
           {"checkpoint_huge_count", test_checkpoint_huge_count},
           {"read_expect_meta", test_read_expect_meta},
           {"fuzz", test_fuzz},
           {"load_nonfinite", test_load_nonfinite},
           {"checkpoint_nonfinite", test_checkpoint_nonfinite},
           {"declared_model_too_large", test_declared_model_too_large},
           {"load_into_described_model", test_load_into_described_model},
           {"load_not_regular", test_load_not_regular})
