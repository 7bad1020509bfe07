/*
 * weights.c — saving and loading a model's parameters as safetensors.
 *
 * File layout (https://github.com/huggingface/safetensors):
 *   8 bytes   N, the header length, unsigned little-endian
 *   N bytes   UTF-8 JSON object, padded with spaces so the data starts at
 *             an 8-byte-aligned offset
 *   the rest  the data section: raw little-endian float32 tensors
 *
 * Each parameter tensor of the model (cnn_model_tensors: "conv1.weight"
 * [k][k][in_c][out_c], "conv1.bias" [out_c], ..., "dense1.weight" [in][out],
 * "dense1.bias" [out]) is one header entry
 *   "conv1.weight": {"dtype":"F32","shape":[3,3,1,32],"data_offsets":[b,e]}
 * with byte offsets relative to the start of the data section; the writer
 * stores them in model order, back to back.  The "__metadata__" entry holds
 * strings: "format" ("cnn"), "spec" (the canonical model spec), "input"
 * ("HxWxC") and "crc32" (8 lowercase hex digits, zlib's CRC-32 of the whole
 * data section).
 *
 * Saving is atomic: a temporary file in the same directory is written,
 * synced and renamed over the destination, then the directory is synced.
 * Loading validates the header (JSON parsed with jansson), every tensor's
 * dtype, shape and offsets, the coverage of the data section and the
 * checksum before a single parameter of the model is changed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkstemp, fsync, fchmod, O_CLOEXEC, O_DIRECTORY */
#endif
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cnn.h"
#include "error.h"
#include "model.h"

/* Largest header accepted by the loader (as the safetensors library). */
#define MAX_HEADER_BYTES 100000000ull

/* Floats converted per chunk when streaming the data section. */
#define CHUNK_FLOATS 4096

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

static void floats_to_le(unsigned char *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        dst[4 * i] = (unsigned char)u;
        dst[4 * i + 1] = (unsigned char)(u >> 8);
        dst[4 * i + 2] = (unsigned char)(u >> 16);
        dst[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

static void floats_from_le(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = src + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&dst[i], &u, 4);
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

/* --------------------------------------------------------------- helpers */

/* The model's tensor list in a fresh array (NULL when out of memory). */
static cnn_tensor_info *model_tensors(const cnn_model *m, int *n)
{
    *n = cnn_model_tensors(m, NULL, 0);
    cnn_tensor_info *t = calloc(*n > 0 ? (size_t)*n : 1, sizeof *t);
    if (t)
        cnn_model_tensors(m, t, *n);
    return t;
}

/* write(2) all of buf, retrying partial writes and interruptions. */
static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
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

/* --------------------------------------------------------------- saving */

/* The data section in chunks: either folded into *crc (fd < 0) or written
   to fd.  Returns 0, or -1 with errno set by write. */
static int emit_data(const cnn_model *m, const cnn_tensor_info *t, int n,
                     int fd, uint32_t *crc)
{
    unsigned char buf[CHUNK_FLOATS * 4];
    for (int i = 0; i < n; i++) {
        const float *src = m->params + t[i].offset;
        for (size_t done = 0; done < t[i].count;) {
            size_t k = t[i].count - done;
            if (k > CHUNK_FLOATS)
                k = CHUNK_FLOATS;
            floats_to_le(buf, src + done, k);
            if (fd < 0)
                *crc = crc32_update(*crc, buf, 4 * k);
            else if (write_all(fd, buf, 4 * k) != 0)
                return -1;
            done += k;
        }
    }
    return 0;
}

/* The JSON header for the model's tensors and metadata, as a malloc'ed
   compact string (NULL when out of memory). */
static char *build_header(const cnn_model *m, const cnn_tensor_info *t, int n,
                          uint32_t crc)
{
    char input[64], crc_hex[16];
    snprintf(input, sizeof input, "%dx%dx%d", m->in_h, m->in_w, m->in_c);
    snprintf(crc_hex, sizeof crc_hex, "%08lx", (unsigned long)crc);
    json_t *root = json_object();
    json_t *meta = json_object();
    int bad = !root || !meta;
    bad |= !meta || json_object_set_new(meta, "format", json_string("cnn"));
    bad |= !meta || json_object_set_new(meta, "spec", json_string(m->spec));
    bad |= !meta || json_object_set_new(meta, "input", json_string(input));
    bad |= !meta || json_object_set_new(meta, "crc32", json_string(crc_hex));
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
        json_t *entry = json_pack("{s:s, s:o*, s:[I,I]}", "dtype", "F32",
                                  "shape", shape, "data_offsets",
                                  (json_int_t)pos, (json_int_t)end);
        bad |= !shape || !entry || json_object_set_new(root, t[i].name, entry);
        pos = end;
    }
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

/* The directory part of path ("." when there is none), malloc'ed. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, path, len);
        d[len] = 0;
    }
    return d;
}

int cnn_model_save(const cnn_model *m, const char *path)
{
    if (!m || !path || !*path)
        return cnn_fail(CNN_ERR_ARG, "save weights: no model or no path");
    int n;
    cnn_tensor_info *t = model_tensors(m, &n);
    if (!t)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);

    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    emit_data(m, t, n, -1, &crc);
    char *json = build_header(m, t, n, crc);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dir = dir_of(path);
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
    if (!header || !tmp || !dir) {
        free(header), free(tmp), free(dir), free(t);
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }

    int st = CNN_OK;
    const char *step = "cannot create a temporary file";
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = cnn_fail(CNN_ERR_IO, "%s: %s: %s", path, step, strerror(errno));
    } else {
        /* mkstemp makes the file 0600; weights are not secret.  Keep the
           mode of a file being replaced, else use rw-r--r--. */
        struct stat old;
        mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644;
        int err = 0;
        if (fchmod(fd, mode) != 0) {
            /* not fatal: the weights are still written, mode 0600 */
        }
        if (write_all(fd, header, 8 + hlen) != 0 || emit_data(m, t, n, fd, NULL) != 0)
            err = errno, step = "write failed";
        else if (fsync(fd) != 0)
            err = errno, step = "fsync failed";
        if (close(fd) != 0 && !err)
            err = errno, step = "close failed";
        if (!err && rename(tmp, path) != 0)
            err = errno, step = "rename failed";
        if (err) {
            unlink(tmp);
            st = cnn_fail(CNN_ERR_IO, "%s: %s: %s", path, step, strerror(err));
        } else {
            /* Make the rename itself durable.  File systems that cannot
               sync a directory say EINVAL; that is not an error. */
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP))
                st = cnn_fail(CNN_ERR_IO, "%s: syncing directory %s: %s", path,
                              dir, strerror(errno));
            if (dfd >= 0)
                close(dfd);
        }
    }
    free(header), free(tmp), free(dir), free(t);
    return st;
}

/* -------------------------------------------------------------- loading */

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

/* Check one header entry against model tensor t; fills *sp. */
static int check_tensor(const char *path, const cnn_tensor_info *t,
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
    if (strcmp(json_string_value(dtype), "F32") != 0) {
        char found[40];
        printable(found, sizeof found, json_string_value(dtype));
        return cnn_fail(CNN_ERR_MISMATCH, "%s: tensor %s has dtype %s, the model "
                        "expects F32", path, name, found);
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

/* Check "__metadata__"; *crc_text receives its "crc32" (NULL if none). */
static int check_metadata(const char *path, json_t *meta, const char **crc_text)
{
    *crc_text = NULL;
    if (!json_is_object(meta))
        return cnn_fail(CNN_ERR_FORMAT, "%s: __metadata__ is not a JSON object", path);
    json_t *crc = json_object_get(meta, "crc32");
    if (!crc)
        return CNN_OK;
    const char *s = json_string_value(crc);
    int ok = s && strlen(s) == 8;
    for (int i = 0; ok && i < 8; i++)
        ok = strchr("0123456789abcdefABCDEF", s[i]) != NULL;
    if (!ok)
        return cnn_fail(CNN_ERR_FORMAT, "%s: __metadata__ crc32 is not a string of "
                        "8 hex digits", path);
    *crc_text = s;
    return CNN_OK;
}

/* Validate the parsed header against the model: every model tensor once,
   nothing else, no overlaps, the data section exactly covered. */
static int check_header(const char *path, json_t *root, const cnn_tensor_info *t,
                        int n, uint64_t data_size, span *spans,
                        const char **crc_text)
{
    *crc_text = NULL;
    if (!json_is_object(root))
        return cnn_fail(CNN_ERR_FORMAT, "%s: header is not a JSON object", path);
    for (int i = 0; i < n; i++)
        spans[i].tensor = -1;
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
    span *sorted = malloc((n > 0 ? (size_t)n : 1) * sizeof *sorted);
    if (!sorted)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    memcpy(sorted, spans, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, span_cmp);
    uint64_t covered = 0;
    int st = CNN_OK;
    for (int i = 0; i < n && st == CNN_OK; i++) {
        if (i > 0 && sorted[i].begin < sorted[i - 1].end)
            st = cnn_fail(CNN_ERR_FORMAT, "%s: tensors %s and %s overlap in the data "
                          "section", path, t[sorted[i - 1].tensor].name,
                          t[sorted[i].tensor].name);
        covered += sorted[i].end - sorted[i].begin;
    }
    free(sorted);
    if (st == CNN_OK && covered != data_size)
        st = cnn_fail(CNN_ERR_FORMAT, "%s: the data section is %llu bytes but the "
                      "tensors cover %llu", path, (unsigned long long)data_size,
                      (unsigned long long)covered);
    return st;
}

/* Open a safetensors file and parse its header: *fd is left positioned at
   the data section, *root holds the parsed JSON and *data_size the bytes
   after the header.  On error everything is released. */
static int open_header(const char *path, int *fdp, json_t **rootp, uint64_t *data_sizep)
{
    *rootp = NULL;
    *fdp = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno));
    int st = CNN_OK;
    char *header = NULL;
    json_t *root = NULL;
    struct stat sb;
    unsigned char len8[8];
    uint64_t size = 0, hlen = 0;
    ssize_t got;

    if (fstat(fd, &sb) != 0) {
        st = cnn_fail(CNN_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = cnn_fail(CNN_ERR_IO, "%s: %s", path,
                      S_ISDIR(sb.st_mode) ? strerror(EISDIR) : "not a regular file");
        goto out;
    }
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
    if (hlen == 0) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: header length is 0", path);
        goto out;
    }
    if (hlen > size - 8) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: header length %llu exceeds the file "
                      "size %llu (less its 8-byte length field)", path,
                      (unsigned long long)hlen, (unsigned long long)size);
        goto out;
    }
    if (hlen > MAX_HEADER_BYTES) {
        st = cnn_fail(CNN_ERR_FORMAT, "%s: header length %llu exceeds the limit of "
                      "%llu bytes", path, (unsigned long long)hlen, MAX_HEADER_BYTES);
        goto out;
    }
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

int cnn_model_load(cnn_model *m, const char *path)
{
    if (!m || !path || !*path)
        return cnn_fail(CNN_ERR_ARG, "load weights: no model or no path");
    int fd, st, n = 0;
    unsigned char *data = NULL;
    cnn_tensor_info *t = NULL;
    span *spans = NULL;
    json_t *root = NULL;
    uint64_t data_size = 0;
    ssize_t got;
    if ((st = open_header(path, &fd, &root, &data_size)) != CNN_OK)
        return st;
    t = model_tensors(m, &n);
    spans = malloc((n > 0 ? (size_t)n : 1) * sizeof *spans);
    if (!t || !spans) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    const char *crc_text;
    st = check_header(path, root, t, n, data_size, spans, &crc_text);
    if (st != CNN_OK)
        goto out;

    /* data_size now equals the bytes the model's tensors need. */
    data = malloc(data_size > 0 ? (size_t)data_size : 1);
    if (!data) {
        st = cnn_fail(CNN_ERR_NOMEM, "%s: out of memory for %llu bytes of weights",
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
    /* Everything checked: only now touch the model. */
    for (int i = 0; i < n; i++)
        floats_from_le(m->params + t[i].offset, data + spans[i].begin, t[i].count);

out:
    json_decref(root);
    free(data);
    free(spans);
    free(t);
    close(fd);
    return st;
}

int cnn_model_open(const char *path, cnn_model **out)
{
    if (!path || !*path || !out)
        return cnn_fail(CNN_ERR_ARG, "open model: no path");
    *out = NULL;
    int fd, st;
    json_t *root;
    uint64_t data_size;
    if ((st = open_header(path, &fd, &root, &data_size)) != CNN_OK)
        return st;
    close(fd);
    json_t *meta = json_object_get(root, "__metadata__");
    const char *spec = json_string_value(json_object_get(meta, "spec"));
    const char *input = json_string_value(json_object_get(meta, "input"));
    int h, w, c;
    char tail;
    if (!spec || !input)
        st = cnn_fail(CNN_ERR_FORMAT, "%s: metadata has no model spec and input shape "
                      "(give --model)", path);
    else if (sscanf(input, "%dx%dx%d%c", &h, &w, &c, &tail) != 3 || h < 1 || w < 1 ||
             c < 1 || h > 65536 || w > 65536 || c > 65536)
        st = cnn_fail(CNN_ERR_FORMAT, "%s: metadata input shape is not HxWxC", path);
    else {
        st = cnn_model_create(spec, h, w, c, 0, out);
        if (st == CNN_ERR_SPEC || st == CNN_ERR_ARG) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", cnn_last_error());
            st = cnn_fail(CNN_ERR_FORMAT, "%s: the model spec in the metadata is "
                          "invalid: %s", path, msg);
        }
    }
    json_decref(root);
    if (st == CNN_OK)
        st = cnn_model_load(*out, path);
    if (st != CNN_OK) {
        cnn_model_free(*out);
        *out = NULL;
    }
    return st;
}
