/*
 * safetensors.c — the safetensors container (https://github.com/huggingface/safetensors)
 * for weights and checkpoints.
 *
 * File layout:
 *   8 bytes   N, the header length, unsigned little-endian
 *   N bytes   UTF-8 JSON object, padded with spaces so the data starts at
 *             an 8-byte-aligned offset
 *   the rest  the data section: raw little-endian tensors
 *
 * Each tensor is one header entry
 *   "conv1.weight": {"dtype":"F32","shape":[3,3,1,32],"data_offsets":[b,e]}
 * with byte offsets relative to the start of the data section; the writer
 * stores them in list order, back to back.  "__metadata__" maps strings to
 * strings; "crc32" is 8 lowercase hex digits, zlib's CRC-32 of the whole
 * data section; "meta_crc32" the same of the metadata itself, without
 * those two keys, as compact JSON with sorted keys.  Files from elsewhere
 * may lack either; then it is not checked.
 *
 * Writing is atomic (src/atomic.c).  Reading opens only a regular file
 * (files.h: a FIFO or device is refused, never read or waited on) and
 * validates the header (parsed with jansson), every tensor's dtype, shape
 * and offsets, the coverage of the data section, the checksums and then
 * every F32 value (a NaN or infinity is refused, naming the tensor and the
 * first bad index) before a single value is stored.
 */
#include "safetensors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic.h"
#include "cnn.h"
#include "error.h"
#include "files.h"

/* Largest header accepted (as the safetensors library). */
#define MAX_HEADER_BYTES 100000000ull

/* Elements converted per chunk when streaming the data section. */
#define CHUNK 4096

static const char *dtype_name(st_dtype d) { return d == ST_I32 ? "I32" : "F32"; }

/* ------------------------------------------------------------ byte order */

/* These build and take apart little-endian values byte by byte, so they are
   right on any host; compilers turn them into plain loads and stores on
   little-endian machines. */

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* 4-byte values (float or int32) to and from little-endian bytes. */
static void words_to_le(unsigned char *dst, const void *src, size_t n)
{
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, s + 4 * i, 4);
        dst[4 * i] = (unsigned char)u;
        dst[4 * i + 1] = (unsigned char)(u >> 8);
        dst[4 * i + 2] = (unsigned char)(u >> 16);
        dst[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

static void words_from_le(void *dst, const unsigned char *src, size_t n)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = src + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(d + 4 * i, &u, 4);
    }
}

/* zlib's crc32 over any length (its length argument is a uInt). */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    uLong c = crc;
    while (n > 0) {
        uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, part);
        p += part;
        n -= part;
    }
    return (uint32_t)c;
}

/* CRC-32 of meta's canonical text: compact, keys sorted, without "crc32"
   and "meta_crc32".  Returns 0, or -1 when out of memory. */
static int metadata_crc(json_t *meta, uint32_t *crc)
{
    json_t *copy = json_copy(meta);
    if (!copy)
        return -1;
    json_object_del(copy, "crc32");
    json_object_del(copy, "meta_crc32");
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    if (!text)
        return -1;
    *crc = crc32_update((uint32_t)crc32(0L, Z_NULL, 0), (const unsigned char *)text,
                        strlen(text));
    free(text);
    return 0;
}

/* read(2) up to len bytes; returns the count read (short only at end of
   file) or -1 on error. */
static ssize_t read_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, p + got, len - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* --------------------------------------------------------------- writing */

/* The data section in chunks: either folded into *crc (fd < 0) or written
   to fd.  Returns 0, or -1 with errno set by write. */
static int emit_data(const st_tensor *t, int n, int fd, uint32_t *crc)
{
    unsigned char buf[CHUNK * 4];
    for (int i = 0; i < n; i++) {
        const unsigned char *src = t[i].data;
        for (size_t done = 0; done < t[i].count;) {
            size_t k = t[i].count - done;
            if (k > CHUNK)
                k = CHUNK;
            words_to_le(buf, src + 4 * done, k);
            if (fd < 0)
                *crc = crc32_update(*crc, buf, 4 * k);
            else if (cnn_write_all(fd, buf, 4 * k) != 0)
                return -1;
            done += k;
        }
    }
    return 0;
}

/* The JSON header, as a malloc'ed compact string (NULL when out of
   memory); meta is consumed. */
static char *build_header(const st_tensor *t, int n, json_t *meta, uint32_t crc)
{
    char crc_hex[16], meta_hex[16];
    uint32_t mcrc = 0;
    snprintf(crc_hex, sizeof crc_hex, "%08lx", (unsigned long)crc);
    json_t *root = json_object();
    int bad = !root || !meta || metadata_crc(meta, &mcrc) != 0;
    snprintf(meta_hex, sizeof meta_hex, "%08lx", (unsigned long)mcrc);
    bad = bad || json_object_set_new(meta, "crc32", json_string(crc_hex)) ||
          json_object_set_new(meta, "meta_crc32", json_string(meta_hex));
    if (root && meta)
        bad |= json_object_set_new(root, "__metadata__", meta);
    else
        json_decref(meta);
    json_int_t pos = 0;
    for (int i = 0; i < n && !bad; i++) {
        json_t *shape = json_array();
        for (int d = 0; shape && d < t[i].ndim; d++)
            bad |= json_array_append_new(shape, json_integer(t[i].shape[d]));
        json_int_t end = pos + (json_int_t)t[i].count * 4;
        json_t *entry = json_pack("{s:s, s:o*, s:[I,I]}", "dtype", dtype_name(t[i].dtype),
                                  "shape", shape, "data_offsets",
                                  (json_int_t)pos, (json_int_t)end);
        bad |= !shape || !entry || json_object_set_new(root, t[i].name, entry);
        pos = end;
    }
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

int cnn_st_write(const char *path, const st_tensor *t, int n, json_t *meta)
{
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    emit_data(t, n, -1, &crc);
    char *json = build_header(t, n, meta, crc);
    unsigned char *header = NULL;
    size_t hlen = 0;
    if (json) {
        /* Pad with spaces so that 8 + hlen is a multiple of 8. */
        size_t jlen = strlen(json);
        hlen = (jlen + 7) & ~(size_t)7;
        header = malloc(8 + hlen);
        if (header) {
            put_le64(header, (uint64_t)hlen);
            memcpy(header + 8, json, jlen);
            memset(header + 8 + jlen, ' ', hlen - jlen);
        }
    }
    free(json);
    if (!header)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    cnn_atomic a;
    int st = cnn_atomic_open(&a, path);
    if (st == CNN_OK) {
        int err = 0;
        if (cnn_write_all(a.fd, header, 8 + hlen) != 0 || emit_data(t, n, a.fd, NULL) != 0)
            err = errno;
        st = cnn_atomic_commit(&a, err);
    }
    free(header);
    return st;
}

/* --------------------------------------------------------------- reading */

/* A name from the file, made safe for a one-line message. */
static void printable(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < cap; s++)
        out[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (*s) { /* too long: end with "..." (cap >= 4 here) */
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}

/* "[3,3,32,16]" from the model's shape. */
static void format_dims(char *out, size_t cap, const int *dims, int nd)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < nd && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, "%s%d", d ? "," : "", dims[d]);
    if (o < cap)
        snprintf(out + o, cap - o, "]");
}

/* The same from a JSON array of integers (validated), shortened if long. */
static void format_json_dims(char *out, size_t cap, const json_t *arr)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    size_t nd = json_array_size(arr);
    for (size_t d = 0; d < nd && o < cap; d++) {
        if (o + 24 >= cap) {
            o += (size_t)snprintf(out + o, cap - o, ",...");
            break;
        }
        o += (size_t)snprintf(out + o, cap - o, "%s%" JSON_INTEGER_FORMAT,
                              d ? "," : "", json_integer_value(json_array_get(arr, d)));
    }
    if (o < cap)
        snprintf(out + o, cap - o, "]");
}

/* Where one model tensor lies in the data section. */
typedef struct span {
    uint64_t begin, end;
    int tensor;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1
         : x->end < y->end ? -1 : x->end > y->end;
}

/* Check one header entry against tensor t; fills *sp. */
static int check_tensor(const char *path, const st_tensor *t,
                        json_t *entry, uint64_t data_size, span *sp)
{
    const char *name = t->name;
    if (!json_is_object(entry))
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: entry is not a JSON object",
                        path, name);
    json_t *dtype = json_object_get(entry, "dtype");
    json_t *shape = json_object_get(entry, "shape");
    json_t *offs = json_object_get(entry, "data_offsets");
    if (!json_is_string(dtype))
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: dtype is missing or not "
                        "a string", path, name);
    if (strcmp(json_string_value(dtype), dtype_name(t->dtype)) != 0) {
        char found[40];
        printable(found, sizeof found, json_string_value(dtype));
        return cnn_fail(CNN_ERR_MISMATCH, "%s: tensor %s has dtype %s, the model "
                        "expects %s", path, name, found, dtype_name(t->dtype));
    }
    if (!json_is_array(shape))
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: shape is missing or not "
                        "an array", path, name);
    size_t nd = json_array_size(shape);
    for (size_t d = 0; d < nd; d++) {
        json_t *v = json_array_get(shape, d);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: shape must be a list of "
                            "non-negative integers", path, name);
    }
    int same = nd == (size_t)t->ndim;
    for (size_t d = 0; same && d < nd; d++)
        same = json_integer_value(json_array_get(shape, d)) == t->shape[d];
    if (!same) {
        char found[96], want[64];
        format_json_dims(found, sizeof found, shape);
        format_dims(want, sizeof want, t->shape, t->ndim);
        return cnn_fail(CNN_ERR_MISMATCH, "%s: tensor %s has shape %s, the model "
                        "expects %s", path, name, found, want);
    }
    json_t *jb = json_array_get(offs, 0), *je = json_array_get(offs, 1);
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(jb) ||
        !json_is_integer(je) || json_integer_value(jb) < 0 ||
        json_integer_value(je) < json_integer_value(jb))
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: data_offsets must be two "
                        "integers 0 <= begin <= end", path, name);
    uint64_t b = (uint64_t)json_integer_value(jb), e = (uint64_t)json_integer_value(je);
    if (e - b != (uint64_t)t->count * 4)
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: data_offsets [%llu,%llu] "
                        "hold %llu bytes, its shape needs %llu", path, name,
                        (unsigned long long)b, (unsigned long long)e,
                        (unsigned long long)(e - b),
                        (unsigned long long)t->count * 4);
    if (e > data_size)
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: data_offsets [%llu,%llu] run "
                        "past the %llu-byte data section (file truncated?)", path,
                        name, (unsigned long long)b, (unsigned long long)e,
                        (unsigned long long)data_size);
    sp->begin = b;
    sp->end = e;
    return CNN_OK;
}

/* Bytes per element of a safetensors dtype name; 0 when unknown. */
static int dtype_size(const char *s)
{
    static const struct { const char *name; int size; } known[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
        {"I16", 2}, {"I8", 1}, {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},
        {"BOOL", 1},
    };
    for (size_t i = 0; s && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i].name) == 0)
            return known[i].size;
    return 0;
}

/* Check an entry the reader does not want (allowed extras): a known dtype,
   a shape of non-negative integers and offsets that match it. */
static int check_extra(const char *path, const char *key, json_t *entry,
                       uint64_t data_size, span *sp)
{
    char name[72];
    printable(name, sizeof name, key);
    int size = json_is_object(entry)
                   ? dtype_size(json_string_value(json_object_get(entry, "dtype"))) : 0;
    json_t *shape = json_object_get(entry, "shape");
    json_t *offs = json_object_get(entry, "data_offsets");
    json_t *jb = json_array_get(offs, 0), *je = json_array_get(offs, 1);
    if (!size || !json_is_array(shape) || json_array_size(shape) > 8 ||
        json_array_size(offs) != 2 || !json_is_integer(jb) || !json_is_integer(je) ||
        json_integer_value(jb) < 0 || json_integer_value(je) < json_integer_value(jb))
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: bad dtype, shape or "
                        "data_offsets", path, name);
    uint64_t count = 1;
    for (size_t d = 0; d < json_array_size(shape); d++) {
        json_t *v = json_array_get(shape, d);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) > data_size)
            return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: bad shape", path, name);
        count *= (uint64_t)json_integer_value(v);
        if (count > data_size)
            return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: shape exceeds the data "
                            "section", path, name);
    }
    uint64_t b = (uint64_t)json_integer_value(jb), e = (uint64_t)json_integer_value(je);
    if (e - b != count * (uint64_t)size || e > data_size)
        return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s: data_offsets [%llu,%llu] do not "
                        "fit its shape or the data section", path, name,
                        (unsigned long long)b, (unsigned long long)e);
    sp->begin = b;
    sp->end = e;
    return CNN_OK;
}

/* Whether s is a string of 8 hex digits. */
static int is_hex8(const char *s)
{
    int ok = s && strlen(s) == 8;
    for (int i = 0; ok && i < 8; i++)
        ok = strchr("0123456789abcdefABCDEF", s[i]) != NULL;
    return ok;
}

/* Check the metadata object against its "meta_crc32", when it has one. */
static int check_meta_crc(const char *path, json_t *meta)
{
    json_t *v = json_object_get(meta, "meta_crc32");
    if (!v)
        return CNN_OK;
    const char *s = json_string_value(v);
    if (!is_hex8(s))
        return cnn_fail(CNN_ERR_FORMAT, "%s: __metadata__ meta_crc32 is not a string of "
                        "8 hex digits", path);
    uint32_t want = (uint32_t)strtoul(s, NULL, 16), have;
    if (metadata_crc(meta, &have) != 0)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    if (want != have)
        return cnn_fail(CNN_ERR_FORMAT, "%s: metadata checksum mismatch (file says %08lx, "
                        "metadata gives %08lx)", path, (unsigned long)want,
                        (unsigned long)have);
    return CNN_OK;
}

/* Check "__metadata__"; *crc_text receives its "crc32" (NULL if none). */
static int check_metadata(const char *path, json_t *meta, const char **crc_text)
{
    *crc_text = NULL;
    if (!json_is_object(meta))
        return cnn_fail(CNN_ERR_FORMAT, "%s: __metadata__ is not a JSON object", path);
    json_t *crc = json_object_get(meta, "crc32");
    const char *s = json_string_value(crc);
    if (crc && !is_hex8(s))
        return cnn_fail(CNN_ERR_FORMAT, "%s: __metadata__ crc32 is not a string of "
                        "8 hex digits", path);
    int st = check_meta_crc(path, meta);
    if (st == CNN_OK)
        *crc_text = s;
    return st;
}

/* Validate the parsed header against the wanted tensors: each once,
   nothing else (unless allow_extra), no overlaps, the data section exactly
   covered.  spans has room for one entry per header key. */
static int check_header(const char *path, json_t *root, const st_tensor *t,
                        int n, int allow_extra, uint64_t data_size, span *spans,
                        const char **crc_text)
{
    *crc_text = NULL;
    if (!json_is_object(root))
        return cnn_fail(CNN_ERR_FORMAT, "%s: header is not a JSON object", path);
    for (int i = 0; i < n; i++)
        spans[i].tensor = -1;
    int total = n; /* spans[n..total) hold the extras */
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        int st;
        if (strcmp(key, "__metadata__") == 0) {
            if ((st = check_metadata(path, value, crc_text)) != CNN_OK)
                return st;
            continue;
        }
        int i = 0;
        while (i < n && strcmp(key, t[i].name) != 0)
            i++;
        if (i == n && allow_extra) {
            if ((st = check_extra(path, key, value, data_size, &spans[total])) != CNN_OK)
                return st;
            spans[total].tensor = total;
            total++;
            continue;
        }
        if (i == n) {
            char name[72];
            printable(name, sizeof name, key);
            return cnn_fail(CNN_ERR_MISMATCH, "%s: tensor %s is not in the model",
                            path, name);
        }
        if (spans[i].tensor >= 0) /* only reachable if duplicates parsed */
            return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s appears twice", path,
                            t[i].name);
        if ((st = check_tensor(path, &t[i], value, data_size, &spans[i])) != CNN_OK)
            return st;
        spans[i].tensor = i;
    }
    for (int i = 0; i < n; i++)
        if (spans[i].tensor < 0)
            return cnn_fail(CNN_ERR_MISMATCH, "%s: tensor %s is missing", path,
                            t[i].name);
    span *sorted = malloc((total > 0 ? (size_t)total : 1) * sizeof *sorted);
    if (!sorted)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    memcpy(sorted, spans, (size_t)total * sizeof *sorted);
    qsort(sorted, (size_t)total, sizeof *sorted, span_cmp);
    uint64_t covered = 0;
    int st = CNN_OK;
    for (int i = 0; i < total && st == CNN_OK; i++) {
        if (i > 0 && sorted[i].begin < sorted[i - 1].end)
            st = cnn_fail(CNN_ERR_FORMAT, "%s: tensors %s and %s overlap in the data "
                          "section", path,
                          sorted[i - 1].tensor < n ? t[sorted[i - 1].tensor].name : "(extra)",
                          sorted[i].tensor < n ? t[sorted[i].tensor].name : "(extra)");
        covered += sorted[i].end - sorted[i].begin;
    }
    free(sorted);
    if (st == CNN_OK && covered != data_size)
        st = cnn_fail(CNN_ERR_FORMAT, "%s: the data section is %llu bytes but the "
                      "tensors cover %llu", path, (unsigned long long)data_size,
                      (unsigned long long)covered);
    return st;
}

/* The first value of F32 tensor t (its little-endian bytes at src) that
   is a NaN or an infinity is refused, naming t and its index. */
static int check_finite(const char *path, const st_tensor *t, const unsigned char *src)
{
    if (t->dtype != ST_F32)
        return CNN_OK;
    for (size_t i = 0; i < t->count; i++) {
        const unsigned char *p = src + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        if ((u & 0x7f800000u) == 0x7f800000u) /* exponent all ones */
            return cnn_fail(CNN_ERR_FORMAT, "%s: tensor %s holds %s at index %zu", path,
                            t->name, (u & 0x007fffffu) ? "NaN"
                                     : (u >> 31)       ? "-Inf" : "+Inf", i);
    }
    return CNN_OK;
}

/* The header length field against the file's size and the limit. */
static int check_header_length(const char *path, uint64_t hlen, uint64_t size)
{
    if (hlen == 0)
        return cnn_fail(CNN_ERR_FORMAT, "%s: header length is 0", path);
    if (hlen > size - 8)
        return cnn_fail(CNN_ERR_FORMAT, "%s: header length %llu exceeds the file "
                        "size %llu (less its 8-byte length field)", path,
                        (unsigned long long)hlen, (unsigned long long)size);
    if (hlen > MAX_HEADER_BYTES)
        return cnn_fail(CNN_ERR_FORMAT, "%s: header length %llu exceeds the limit of "
                        "%llu bytes", path, (unsigned long long)hlen, MAX_HEADER_BYTES);
    return CNN_OK;
}

/* Open a safetensors file and parse its header: *fd is left positioned at
   the data section, *root holds the parsed JSON and *data_size the bytes
   after the header.  On error everything is released. */
static int open_header(const char *path, int *fdp, json_t **rootp, uint64_t *data_sizep)
{
    *rootp = NULL;
    *fdp = -1;
    struct stat sb;
    int fd = cnn_open_input(path, "weights", &sb);
    if (fd < 0)
        return CNN_ERR_IO;
    int st = CNN_OK;
    char *header = NULL;
    json_t *root = NULL;
    unsigned char len8[8];
    uint64_t size = 0, hlen = 0;
    ssize_t got;

    size = (uint64_t)sb.st_size;
    if (size < 8) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: file is %llu bytes, too short for a "
                      "safetensors header", path, (unsigned long long)size);
        goto out;
    }
    if ((got = read_all(fd, len8, 8)) != 8) {
        st = got < 0 ? cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno))
                     : cnn_fail(CNN_ERR_FORMAT, "%s: file is truncated", path);
        goto out;
    }
    hlen = get_le64(len8);
    if ((st = check_header_length(path, hlen, size)) != CNN_OK)
        goto out;
    header = malloc((size_t)hlen + 1);
    if (!header) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory for a %llu-byte header", path,
                      (unsigned long long)hlen);
        goto out;
    }
    if ((got = read_all(fd, header, (size_t)hlen)) != (ssize_t)hlen) {
        st = got < 0 ? cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno))
                     : cnn_fail(CNN_ERR_FORMAT, "%s: file is truncated", path);
        goto out;
    }
    header[hlen] = 0;

    json_error_t jerr;
    root = json_loadb(header, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char text[JSON_ERROR_TEXT_LENGTH];
        printable(text, sizeof text, jerr.text);
        st = cnn_fail(CNN_ERR_FORMAT, "%s: header is not valid JSON: %s (line %d, "
                      "column %d)", path, text, jerr.line, jerr.column);
        goto out;
    }
    if (!json_is_object(root)) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: header is not a JSON object", path);
        goto out;
    }
out:
    free(header);
    if (st != CNN_OK) {
        json_decref(root);
        close(fd);
        return st;
    }
    *fdp = fd;
    *rootp = root;
    *data_sizep = size - 8 - hlen;
    return CNN_OK;
}

int cnn_st_read_metadata(const char *path, json_t **meta, uint64_t *data_size)
{
    int fd, st;
    json_t *root;
    uint64_t size;
    *meta = NULL;
    if ((st = open_header(path, &fd, &root, &size)) != CNN_OK)
        return st;
    close(fd);
    json_t *m = json_object_get(root, "__metadata__");
    if (json_is_object(m) && (st = check_meta_crc(path, m)) != CNN_OK) {
        json_decref(root);
        return st;
    }
    *meta = json_is_object(m) ? json_incref(m) : json_object();
    json_decref(root);
    if (!*meta)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    if (data_size)
        *data_size = size;
    return CNN_OK;
}

int cnn_st_read(const char *path, st_tensor *t, int n, int allow_extra,
            const json_t *expect_meta)
{
    int fd, st;
    unsigned char *data = NULL;
    span *spans = NULL;
    json_t *root = NULL;
    uint64_t data_size = 0;
    ssize_t got;
    if ((st = open_header(path, &fd, &root, &data_size)) != CNN_OK)
        return st;
    /* The metadata read before must be this file's (cnn_st_read_metadata gave
       an empty object for none, or one that is not an object, which
       check_header refuses). */
    json_t *fm = json_object_get(root, "__metadata__");
    if (expect_meta && (json_is_object(fm) ? !json_equal(fm, expect_meta)
                                           : json_object_size(expect_meta) != 0)) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: changed while it was being read (its metadata "
                      "differs from the first read); try again", path);
        goto out;
    }
    size_t keys = json_object_size(root);
    spans = malloc((keys + (size_t)n + 1) * sizeof *spans);
    if (!spans) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    const char *crc_text;
    st = check_header(path, root, t, n, allow_extra, data_size, spans, &crc_text);
    if (st != CNN_OK)
        goto out;

    /* data_size now equals the bytes the tensors cover. */
    data = malloc(data_size > 0 ? (size_t)data_size : 1);
    if (!data) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory for %llu bytes of tensors",
                      path, (unsigned long long)data_size);
        goto out;
    }
    if ((got = read_all(fd, data, (size_t)data_size)) != (ssize_t)data_size) {
        st = got < 0 ? cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno))
                     : cnn_fail(CNN_ERR_FORMAT, "%s: file is truncated", path);
        goto out;
    }
    if (crc_text) {
        uint32_t want = (uint32_t)strtoul(crc_text, NULL, 16);
        uint32_t have = crc32_update((uint32_t)crc32(0L, Z_NULL, 0), data,
                                     (size_t)data_size);
        if (want != have) {
            st = cnn_fail(CNN_ERR_FORMAT, "%s: checksum mismatch (file says %08lx, "
                          "data gives %08lx)", path, (unsigned long)want,
                          (unsigned long)have);
            goto out;
        }
    }
    for (int i = 0; i < n; i++)
        if ((st = check_finite(path, &t[i], data + spans[i].begin)) != CNN_OK)
            goto out;
    /* Everything checked: only now store the values. */
    for (int i = 0; i < n; i++)
        words_from_le(t[i].data, data + spans[i].begin, t[i].count);

out:
    json_decref(root);
    free(data);
    free(spans);
    close(fd);
    return st;
}
