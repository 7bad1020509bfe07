/*
 * data.c — loading labelled image sets from IDX files (MNIST's format),
 * raw or gzip-compressed: header and size validation before any
 * allocation, the image/label pairing checks, the directory loader (which
 * tells an MNIST-style directory from a CIFAR-10 one and hands the latter
 * to data_cifar.c), the split files' lookup and cnn_dataset_free (which
 * leaves a borrowed set's buffers to their owner).
 *
 * An IDX file is a 4-byte big-endian magic (0x00 0x00, element type, number
 * of dimensions), one big-endian uint32 per dimension, then the elements.
 * Only unsigned-byte files are accepted: images 0x00000803 (count, rows,
 * columns) and labels 0x00000801 (count).  A directory that holds
 * CIFAR-10's batch files instead is handed to data_cifar.c.
 *
 * Only a regular file is opened (cnn_open_input): a directory, FIFO,
 * socket or device gets one line saying what it is, and a FIFO cannot
 * block.  The first bytes decide the format (gzip's 1f 8b, else raw IDX),
 * and the IDX magic is checked before the dimensions are read.
 *
 * Sizes, before the data buffers are allocated:
 *   - raw: the header's size must equal the file's length;
 *   - gzip: a file may hold several members (what `cat a.gz b.gz` gives),
 *     and instream.c reads them all, each checked against its own CRC and
 *     ISIZE trailer (its size mod 2^32) as zlib decodes it: a member whose
 *     trailer lies is refused, and so are bytes after the last member that
 *     do not start another.  Only the last member's ISIZE can be read
 *     without decoding.  When it equals the header's size (the usual
 *     single-member file) the buffer is allocated at once; when it does
 *     not (several members, or a lie) nothing is refused yet: the buffer
 *     starts at GROW_START and doubles only as data actually arrives, so
 *     the real data decides and a lying header cannot allocate much more
 *     than the file holds.  Either way the header may not declare more
 *     than deflate's maximal ratio lets the file's length hold (a gzip
 *     bomb's header is refused at once).
 * Reading then confirms the size exactly: no short read, nothing after
 * the data.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cnn.h"
#include "data.h"
#include "error.h"
#include "files.h"
#include "instream.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_DIMS 3
/* First buffer size when the data size could not be confirmed in advance;
   the buffer then doubles as data actually arrives. */
#define GROW_START ((size_t)16 << 20)
/* Deflate cannot expand data by more than 1032:1; the slack covers the
   gzip header and trailer. */
#define DEFLATE_MAX_RATIO 1032u

/* One open IDX file, positioned just after its header. */
typedef struct idx_file {
    const char *path;
    instream *in;
    int gzip;
    int ndims;
    uint32_t dims[IDX_MAX_DIMS];
    char shape[48];         /* the dims as "60000x28x28" for messages */
    uint64_t header_bytes;  /* 4 + 4 * ndims */
    uint64_t data_bytes;    /* product of the dims */
    int size_known;         /* 1 when the whole data may be allocated at
                               once: the file's length (raw) or the last
                               gzip trailer agrees with the header */
} idx_file;

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[1] << 8) | (uint32_t)p[0];
}

static void idx_close(idx_file *f)
{
    cnn_instream_close(f->in);
    f->in = NULL;
}

/* Open path when it is a regular file (*fd) and tell raw from gzip by its
   first bytes; for gzip, *isize receives the last member's ISIZE.  The
   descriptor is left at offset 0. */
static int open_data_file(const char *path, const char *kind, int *fd,
                          int *gzip, uint64_t *file_size, uint32_t *isize)
{
    char what[32];
    snprintf(what, sizeof what, "IDX %s data", kind);
    struct stat st;
    *fd = cnn_open_input(path, what, &st);
    if (*fd < 0)
        return CNN_ERR_IO; /* the message names path and what it is */
    *file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    if (*file_size == 0)
        return cnn_fail(CNN_ERR_FORMAT, "%s: empty file (expected IDX %s "
                        "data)", path, kind);
    unsigned char m[4];
    ssize_t n = pread(*fd, m, 2, 0);
    *gzip = n == 2 && m[0] == 0x1f && m[1] == 0x8b;
    if (*gzip) {
        /* 10-byte header + empty deflate block + 8-byte trailer */
        if (*file_size < 20)
            return cnn_fail(CNN_ERR_FORMAT, "%s: truncated gzip file (%llu "
                            "bytes)", path, (unsigned long long)*file_size);
        n = pread(*fd, m, 4, (off_t)(*file_size - 4));
        if (n == 4)
            *isize = le32(m);
        else if (n >= 0)
            errno = EIO;
    }
    if (n < 0 || (*gzip && n != 4))
        return cnn_fail(CNN_ERR_IO, "%s: read error: %s", path,
                        strerror(errno));
    return CNN_OK;
}

/* The magic's checks: IDX, unsigned bytes, want_dims dimensions. */
static int check_magic(const idx_file *f, const unsigned char *hdr,
                       int want_dims, const char *kind)
{
    uint32_t magic = be32(hdr);
    uint32_t want_magic = (uint32_t)(IDX_TYPE_UBYTE << 8) | (uint32_t)want_dims;
    if (hdr[0] != 0 || hdr[1] != 0)
        return cnn_fail(CNN_ERR_FORMAT, "%s: not an IDX file (magic "
                        "0x%08x, expected 0x%08x)", f->path, (unsigned)magic,
                        (unsigned)want_magic);
    if (hdr[2] != IDX_TYPE_UBYTE)
        return cnn_fail(CNN_ERR_FORMAT, "%s: unsupported IDX element type "
                        "0x%02x (magic 0x%08x); only unsigned bytes (0x08) "
                        "are supported", f->path, (unsigned)hdr[2],
                        (unsigned)magic);
    if (hdr[3] != want_dims)
        return cnn_fail(CNN_ERR_FORMAT, "%s: IDX header has %d dimension%s "
                        "(magic 0x%08x) but %s files have %d", f->path,
                        (int)hdr[3], hdr[3] == 1 ? "" : "s", (unsigned)magic,
                        kind, want_dims);
    return CNN_OK;
}

/* The dimensions: non-zero, their product without overflow. */
static int check_dims(idx_file *f, const unsigned char *hdr, int want_dims)
{
    uint64_t product = 1;
    int overflow = 0;
    size_t len = 0;
    for (int i = 0; i < want_dims; i++) {
        f->dims[i] = be32(hdr + 4 + 4 * i);
        int n = snprintf(f->shape + len, sizeof f->shape - len, "%s%lu%s",
                         i ? "x" : "", (unsigned long)f->dims[i],
                         want_dims == 1 ? " labels" : "");
        if (n > 0 && (size_t)n < sizeof f->shape - len)
            len += (size_t)n;
        if (f->dims[i] != 0 && product > UINT64_MAX / f->dims[i])
            overflow = 1;
        else
            product *= f->dims[i];
    }
    for (int i = 0; i < want_dims; i++)
        if (f->dims[i] == 0)
            return cnn_fail(CNN_ERR_FORMAT, "%s: header declares %s: "
                            "dimension %d is zero", f->path, f->shape, i);
    if (overflow || product > UINT64_MAX - f->header_bytes)
        return cnn_fail(CNN_ERR_FORMAT, "%s: header declares %s, which is "
                        "too large", f->path, f->shape);
    f->data_bytes = product;
    return CNN_OK;
}

/* The file's size against the header, before anything is allocated. */
static int check_size(idx_file *f, uint64_t file_size, uint32_t isize)
{
    uint64_t total = f->header_bytes + f->data_bytes;
    if (!f->gzip) {
        if (file_size < total)
            return cnn_fail(CNN_ERR_FORMAT, "%s: truncated: header declares "
                            "%s (%llu bytes) but the file has %llu bytes",
                            f->path, f->shape, (unsigned long long)total,
                            (unsigned long long)file_size);
        if (file_size > total)
            return cnn_fail(CNN_ERR_FORMAT, "%s: %llu trailing byte%s: "
                            "header declares %s (%llu bytes) but the file has "
                            "%llu bytes", f->path,
                            (unsigned long long)(file_size - total),
                            file_size - total == 1 ? "" : "s", f->shape,
                            (unsigned long long)total,
                            (unsigned long long)file_size);
        f->size_known = 1;
    } else {
        /* All members together cannot expand beyond deflate's maximal
           ratio: a small file whose header claims gigabytes is refused
           before anything is allocated. */
        if (file_size <= (UINT64_MAX - 1024) / DEFLATE_MAX_RATIO &&
            total > file_size * DEFLATE_MAX_RATIO + 1024)
            return cnn_fail(CNN_ERR_FORMAT, "%s: truncated: header declares "
                            "%s (%llu bytes), more than a %llu-byte gzip "
                            "file can hold", f->path, f->shape,
                            (unsigned long long)total,
                            (unsigned long long)file_size);
        /* The last member's ISIZE (exact below 4 GiB) is the whole size
           when there is one member; when it differs the read grows. */
        f->size_known = total <= UINT32_MAX && (uint32_t)total == isize;
    }
    if (f->data_bytes > SIZE_MAX)
        return cnn_fail(CNN_ERR_NOMEM, "%s: header declares %s (%llu bytes), "
                        "more than this machine can address", f->path,
                        f->shape, (unsigned long long)total);
    return CNN_OK;
}

/* Open path, check its header against the expected number of dimensions
   and its size against the header, and leave it positioned at the data.
   Nothing is allocated but the stream's state (freed by idx_close). */
static int idx_open(idx_file *f, const char *path, int want_dims,
                    const char *kind)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    uint64_t file_size = 0;
    uint32_t isize = 0;
    int fd = -1;
    int rc = open_data_file(path, kind, &fd, &f->gzip, &file_size, &isize);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    rc = cnn_instream_open(&f->in, fd, path, f->gzip);
    if (rc)
        return rc;

    /* The magic first, then one big-endian uint32 per dimension. */
    unsigned char hdr[4 + 4 * IDX_MAX_DIMS];
    size_t got = 0;
    rc = cnn_instream_read(f->in, hdr, 4, &got);
    if (rc)
        return rc;
    if (got == 0)
        return cnn_fail(CNN_ERR_FORMAT, "%s: empty file (expected IDX %s "
                        "data)", path, kind);
    if (got < 4)
        return cnn_fail(CNN_ERR_FORMAT, "%s: truncated header (%zu bytes)",
                        path, got);
    rc = check_magic(f, hdr, want_dims, kind);
    if (rc)
        return rc;
    f->ndims = want_dims;
    f->header_bytes = 4 + 4 * (uint64_t)want_dims;
    rc = cnn_instream_read(f->in, hdr + 4, 4 * (size_t)want_dims, &got);
    if (rc)
        return rc;
    if (got < 4 * (size_t)want_dims)
        return cnn_fail(CNN_ERR_FORMAT, "%s: truncated header (%zu of %llu "
                        "bytes)", path, 4 + got,
                        (unsigned long long)f->header_bytes);
    rc = check_dims(f, hdr, want_dims);
    return rc ? rc : check_size(f, file_size, isize);
}

/* The message for data that ended before the header's size. */
static int truncated(const idx_file *f, size_t have)
{
    unsigned members = cnn_instream_members(f->in);
    unsigned long long want = f->header_bytes + f->data_bytes,
                       got = f->header_bytes + have;
    if (!f->gzip)
        return cnn_fail(CNN_ERR_FORMAT, "%s: truncated: header declares %s "
                        "(%llu bytes) but the file has %llu bytes", f->path,
                        f->shape, want, got);
    return cnn_fail(CNN_ERR_FORMAT, "%s: truncated: header declares %s (%llu "
                    "bytes) but the file's %u gzip member%s hold%s %llu "
                    "bytes", f->path, f->shape, want, members,
                    members == 1 ? "" : "s", members == 1 ? "s" : "", got);
}

/* Read the data into a new buffer (*out, malloc'd) and confirm the stream
   ends right after it.  When the size was not confirmed in advance the
   buffer grows as data arrives, so a lying header cannot make it allocate
   much more than the file really holds. */
static int idx_read(idx_file *f, uint8_t **out)
{
    *out = NULL;
    size_t need = (size_t)f->data_bytes;
    size_t cap = f->size_known || need <= GROW_START ? need : GROW_START;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory allocating %zu "
                        "bytes", f->path, cap);
    size_t have = 0;
    while (have < need) {
        if (have == cap) {
            size_t ncap = cap > need / 2 ? need : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory "
                                "allocating %zu bytes", f->path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = 0;
        int rc = cnn_instream_read(f->in, buf + have, cap - have, &got);
        have += got;
        if (rc || have < cap) {
            free(buf);
            return rc ? rc : truncated(f, have);
        }
    }
    /* Nothing may follow; reading to the end also checks the last
       member's CRC and size, and that no stray bytes follow it. */
    unsigned char extra[256];
    size_t got = 0;
    int rc = cnn_instream_read(f->in, extra, sizeof extra, &got);
    if (!rc && got)
        rc = cnn_fail(CNN_ERR_FORMAT, "%s: trailing bytes: header declares "
                      "%s (%llu bytes) but the file holds more data",
                      f->path, f->shape,
                      (unsigned long long)(f->header_bytes + f->data_bytes));
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return CNN_OK;
}

void cnn_dataset_free(cnn_dataset *ds)
{
    if (!ds)
        return;
    if (!ds->borrowed) {
        free(ds->images);
        free(ds->labels);
    }
    free(ds);
}

int cnn_dataset_load_idx(const char *images_path, const char *labels_path,
                         int max_classes, cnn_dataset **out)
{
    if (out)
        *out = NULL;
    if (!images_path || !labels_path || !out)
        return cnn_fail(CNN_ERR_ARG, "cnn_dataset_load_idx: NULL argument");
    if (max_classes < 0)
        return cnn_fail(CNN_ERR_ARG, "cnn_dataset_load_idx: max_classes %d "
                        "is negative", max_classes);
    int limit = max_classes == 0 || max_classes > 256 ? 256 : max_classes;

    idx_file im, lb;
    memset(&lb, 0, sizeof lb);
    uint8_t *pixels = NULL, *labels = NULL;
    cnn_dataset *ds = NULL;
    int rc = idx_open(&im, images_path, 3, "image");
    if (rc)
        goto done;
    rc = idx_open(&lb, labels_path, 1, "label");
    if (rc)
        goto done;
    if (im.dims[0] != lb.dims[0]) {
        rc = cnn_fail(CNN_ERR_MISMATCH, "%s has %lu images but %s has %lu "
                      "labels", images_path, (unsigned long)im.dims[0],
                      labels_path, (unsigned long)lb.dims[0]);
        goto done;
    }
    if (im.dims[0] > INT_MAX || im.dims[1] > INT_MAX ||
        im.dims[2] > INT_MAX ||
        (uint64_t)im.dims[1] * im.dims[2] > INT_MAX) {
        rc = cnn_fail(CNN_ERR_FORMAT, "%s: header declares %s, more images "
                      "or pixels per image than supported", images_path,
                      im.shape);
        goto done;
    }

    rc = idx_read(&im, &pixels);
    if (rc)
        goto done;
    rc = idx_read(&lb, &labels);
    if (rc)
        goto done;

    int largest = 0;
    for (uint32_t i = 0; i < lb.dims[0]; i++) {
        if (labels[i] >= limit) {
            rc = cnn_fail(CNN_ERR_MISMATCH, "%s: label %u at index %lu is "
                          "out of range (must be below %d)", labels_path,
                          (unsigned)labels[i], (unsigned long)i, limit);
            goto done;
        }
        if (labels[i] > largest)
            largest = labels[i];
    }

    ds = calloc(1, sizeof *ds);
    if (!ds) {
        rc = cnn_fail(CNN_ERR_NOMEM, "cnn_dataset_load_idx: out of memory");
        goto done;
    }
    ds->count = (int)im.dims[0];
    ds->height = (int)im.dims[1];
    ds->width = (int)im.dims[2];
    ds->channels = 1;
    ds->classes = largest + 1;
    ds->images = pixels;
    ds->labels = labels;
    pixels = labels = NULL;
    *out = ds;
    rc = CNN_OK;
done:
    idx_close(&im);
    idx_close(&lb);
    free(pixels);
    free(labels);
    return rc;
}

int cnn_data_present(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n + 4 >= sizeof path)
        return 0;
    if (lstat(path, &st) == 0)
        return 1;
    memcpy(path + n, ".gz", 4);
    return lstat(path, &st) == 0;
}

int cnn_data_find(const char *dir, const char *name, const char *needs,
                  char **path)
{
    *path = NULL;
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    size_t size = dl + 1 + strlen(name) + 4;
    char *p = malloc(size);
    if (!p)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", dir);
    snprintf(p, size, "%s%s%s", dir, slash ? "" : "/", name);
    struct stat st;
    if (stat(p, &st) == 0) {
        *path = p;
        return CNN_OK;
    }
    int e = errno;
    if (e == ENOENT) {
        size_t pl = strlen(p);
        memcpy(p + pl, ".gz", 4);
        if (stat(p, &st) == 0) {
            *path = p;
            return CNN_OK;
        }
        p[pl] = '\0';
        int rc = cnn_fail(CNN_ERR_IO, "%s: %s (nor %s.gz)%s%s", p,
                          strerror(e), name, needs ? "; " : "",
                          needs ? needs : "");
        free(p);
        return rc;
    }
    int rc = cnn_fail(CNN_ERR_IO, "%s: %s", p, strerror(e));
    free(p);
    return rc;
}

static const char *const mnist_names[] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* The directory's format: 1 for CIFAR-10 when it holds any of its batch
   files and none of MNIST's, 0 for MNIST otherwise (also when it holds
   neither: the missing MNIST file is named); a directory holding both
   sets is refused, since which one was meant cannot be told. */
static int dir_format(const char *dir, int *cifar)
{
    *cifar = 0;
    if (!cnn_cifar_in_dir(dir))
        return CNN_OK;
    for (int i = 0; i < 4; i++)
        if (cnn_data_present(dir, mnist_names[i]))
            return cnn_fail(CNN_ERR_IO, "%s: holds both MNIST (%s) and "
                            "CIFAR-10 (*_batch*.bin) files; keep one data "
                            "set per directory", dir, mnist_names[i]);
    *cifar = 1;
    return CNN_OK;
}

int cnn_dataset_load_dir(const char *dir, const char *split, int max_classes,
                         cnn_dataset **out)
{
    if (out)
        *out = NULL;
    if (!dir || !split || !out)
        return cnn_fail(CNN_ERR_ARG, "cnn_dataset_load_dir: NULL argument");
    int s;
    if (strcmp(split, "train") == 0)
        s = 0;
    else if (strcmp(split, "test") == 0)
        s = 2;
    else
        return cnn_fail(CNN_ERR_ARG, "unknown data split \"%s\" (expected "
                        "\"train\" or \"test\")", split);
    if (max_classes < 0)
        return cnn_fail(CNN_ERR_ARG, "cnn_dataset_load_dir: max_classes %d "
                        "is negative", max_classes);
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return cnn_fail(CNN_ERR_IO, "%s: no such directory", dir);
        return cnn_fail(CNN_ERR_IO, "%s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return cnn_fail(CNN_ERR_IO, "%s: not a directory", dir);
    int cifar, rc = dir_format(dir, &cifar);
    if (rc != CNN_OK)
        return rc;
    if (cifar)
        return cnn_cifar_load(dir, split, max_classes, out);

    char *images = NULL, *labels = NULL;
    rc = cnn_data_find(dir, mnist_names[s], NULL, &images);
    if (rc == CNN_OK)
        rc = cnn_data_find(dir, mnist_names[s + 1], NULL, &labels);
    if (rc == CNN_OK)
        rc = cnn_dataset_load_idx(images, labels, max_classes, out);
    free(images);
    free(labels);
    return rc;
}
