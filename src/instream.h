/*
 * instream.h — the bytes of an input file read in order, either as they
 * stand or decompressed from gzip, member after member (what `cat a.gz
 * b.gz` gives), with every member's CRC and size checked and nothing but
 * whole members allowed in the file.
 */
#ifndef CNN_INSTREAM_H
#define CNN_INSTREAM_H

#include <stddef.h>

typedef struct instream instream;

/* A stream over fd, read from its current offset: raw bytes when gzip is
   0, else gzip members.  fd passes to the stream (closed by
   cnn_instream_close, also on failure); path names the file in messages.
   Returns CNN_OK, or CNN_ERR_NOMEM (fd closed, *out NULL). */
int cnn_instream_open(instream **out, int fd, const char *path, int gzip);

/* Up to n bytes into buf; *got receives the number read, less than n only
   when the data has ended where a file may end (for gzip: after a whole
   member).  Errors, with the message naming the file: CNN_ERR_IO (a read
   failed), CNN_ERR_FORMAT (corrupt or truncated gzip data, a member whose
   CRC or size trailer does not match its data, or bytes after the last
   member that do not start another), CNN_ERR_NOMEM.  For gzip the message
   names the member (and its first byte) when it is not the first. */
int cnn_instream_read(instream *s, void *buf, size_t n, size_t *got);

/* The number of gzip members begun so far (0 for a raw stream). */
unsigned cnn_instream_members(const instream *s);

/* Close the file and free the stream (s may be NULL). */
void cnn_instream_close(instream *s);

#endif /* CNN_INSTREAM_H */
