/*
 * instream.c — reading an input file in order, raw or gzip (instream.h).
 *
 * A gzip file is one or more members, each a header, a deflate stream and
 * an 8-byte trailer (CRC-32 and ISIZE, the member's uncompressed size mod
 * 2^32).  zlib's inflate, set to the gzip wrapper, decodes one member and
 * checks that member's own CRC and ISIZE against the bytes it produced;
 * this file starts it again on each member that follows.  After a member
 * the file must end or hold the next member's magic (1f 8b): anything else
 * is reported as trailing bytes (zlib's gzread would silently ignore it).
 */
#include "instream.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cnn.h"
#include "error.h"

#define IN_BUF (128 * 1024)
/* Largest single read() or inflate() output request. */
#define MAX_CHUNK ((size_t)1 << 30)

struct instream {
    int fd;
    const char *path;
    int gzip;
    int eof;               /* read() returned 0 */
    int between;           /* a member has ended; another or the end next */
    int ended;             /* the data has ended cleanly */
    unsigned members;      /* members begun */
    uint64_t member_start; /* file offset of the current member */
    uint64_t in_read;      /* bytes read from the file */
    z_stream z;
    int z_ready;
    unsigned char in[IN_BUF];
};

int cnn_instream_open(instream **out, int fd, const char *path, int gzip)
{
    *out = NULL;
    instream *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory opening the file",
                        path);
    }
    s->fd = fd;
    s->path = path;
    s->gzip = gzip;
    if (gzip) {
        /* 16 + 15: the gzip wrapper only, the largest window */
        if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
            cnn_instream_close(s);
            return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory in zlib",
                            path);
        }
        s->z_ready = 1;
        s->members = 1;
    }
    *out = s;
    return CNN_OK;
}

void cnn_instream_close(instream *s)
{
    if (!s)
        return;
    if (s->z_ready)
        inflateEnd(&s->z);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

unsigned cnn_instream_members(const instream *s)
{
    return s->members;
}

/* One read() of at most n bytes (retried on EINTR) into buf; *got
   receives the count, eof is set at the end of the file. */
static int read_once(instream *s, unsigned char *buf, size_t n, size_t *got)
{
    ssize_t r;
    do
        r = read(s->fd, buf, n);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return cnn_fail(CNN_ERR_IO, "%s: read error: %s", s->path, strerror(errno));
    if (r == 0)
        s->eof = 1;
    s->in_read += (uint64_t)r;
    *got = (size_t)r;
    return CNN_OK;
}

/* read() until n bytes or the end of the file; *got receives the count. */
static int read_full(instream *s, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n && !s->eof) {
        size_t want = n - *got < MAX_CHUNK ? n - *got : MAX_CHUNK, r;
        int st = read_once(s, buf + *got, want, &r);
        if (st != CNN_OK)
            return st;
        *got += r;
    }
    return CNN_OK;
}

/* Move the unread input to the front of the buffer and fill the rest
   with one read() (at the end of the file: none, and eof set). */
static int refill(instream *s)
{
    size_t left = s->z.avail_in;
    if (left && s->z.next_in != s->in)
        memmove(s->in, s->z.next_in, left);
    s->z.next_in = s->in;
    size_t r;
    int st = read_once(s, s->in + left, IN_BUF - left, &r);
    if (st != CNN_OK)
        return st;
    s->z.avail_in = (uInt)(left + r);
    return CNN_OK;
}

/* The offset in the file of the next input byte inflate has not used. */
static uint64_t in_offset(const instream *s)
{
    return s->in_read - s->z.avail_in;
}

/* " in member N (from byte B)" for members after the first, else "". */
static const char *member_where(const instream *s, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (s->members <= 1)
        return buf;
    snprintf(buf, cap, " in member %u (from byte %llu)", s->members,
             (unsigned long long)s->member_start);
    return buf;
}

/* What inflate's status zr means, as the stream's error. */
static int inflate_failure(instream *s, int zr)
{
    char where[64];
    member_where(s, where, sizeof where);
    if (zr == Z_MEM_ERROR)
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory in zlib", s->path);
    if (zr == Z_BUF_ERROR)
        return cnn_fail(CNN_ERR_FORMAT, "%s: truncated gzip data: the file "
                        "ends%s%s", s->path, where[0] ? "" : " inside the "
                        "gzip member", where);
    const char *msg = s->z.msg ? s->z.msg : "invalid data";
    if (strcmp(msg, "incorrect length check") == 0)
        msg = "the size in its trailer does not match its data "
              "(incorrect length check)";
    else if (strcmp(msg, "incorrect data check") == 0)
        msg = "the CRC in its trailer does not match its data "
              "(incorrect data check)";
    return cnn_fail(CNN_ERR_FORMAT, "%s: corrupt gzip data%s: %s", s->path,
                    where, msg);
}

/* After a member: the end of the file, or the next member's magic. */
static int next_member(instream *s)
{
    if (s->z.avail_in < 2 && !s->eof) {
        int rc = refill(s);
        if (rc)
            return rc;
        return next_member(s);
    }
    if (s->z.avail_in == 0) {
        s->ended = 1;
        return CNN_OK;
    }
    if (s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f &&
        s->z.next_in[1] == 0x8b) {
        if (inflateReset(&s->z) != Z_OK)
            return cnn_fail(CNN_ERR_FORMAT, "%s: zlib could not start the "
                            "next gzip member", s->path);
        s->members++;
        s->member_start = in_offset(s);
        s->between = 0;
        return CNN_OK;
    }
    /* the rest of the file: what is buffered and what is not yet read */
    off_t end = lseek(s->fd, 0, SEEK_END);
    uint64_t rest = end >= 0 && (uint64_t)end >= in_offset(s)
                        ? (uint64_t)end - in_offset(s)
                        : s->z.avail_in;
    return cnn_fail(CNN_ERR_FORMAT, "%s: %llu trailing byte%s from byte "
                    "%llu, after gzip member %u, %s not another gzip member",
                    s->path, (unsigned long long)rest, rest == 1 ? "" : "s",
                    (unsigned long long)in_offset(s), s->members,
                    rest == 1 ? "is" : "are");
}

static int gzip_read(instream *s, unsigned char *buf, size_t n, size_t *got)
{
    while (*got < n && !s->ended) {
        int rc = CNN_OK;
        if (s->between)
            rc = next_member(s);
        else if (s->z.avail_in == 0 && !s->eof)
            rc = refill(s);
        if (rc)
            return rc;
        if (s->ended || s->between || (s->z.avail_in == 0 && !s->eof))
            continue;
        size_t want = n - *got < MAX_CHUNK ? n - *got : MAX_CHUNK;
        s->z.next_out = buf + *got;
        s->z.avail_out = (uInt)want;
        int zr = inflate(&s->z, Z_NO_FLUSH);
        *got += want - s->z.avail_out;
        if (zr == Z_STREAM_END)
            s->between = 1;
        else if (zr != Z_OK)
            return inflate_failure(s, zr);
    }
    return CNN_OK;
}

int cnn_instream_read(instream *s, void *buf, size_t n, size_t *got)
{
    *got = 0;
    if (!s->gzip) {
        int rc = read_full(s, buf, n, got);
        if (*got < n)
            s->ended = 1;
        return rc;
    }
    return gzip_read(s, buf, n, got);
}
