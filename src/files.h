/*
 * files.h — what stands at a path, for the readers and writers of files:
 * inputs are opened only when they are regular files (a FIFO cannot block
 * the open, a device cannot feed gigabytes), a file type has a name for
 * messages, and two paths can be told to be one file.
 */
#ifndef CNN_FILES_H
#define CNN_FILES_H

#include <sys/stat.h>

/* "a directory", "a FIFO", "a socket", "a character device", "a block
   device", "a regular file" or "a special file". */
const char *cnn_file_type(mode_t mode);

/* Open path for reading when it is a regular file: opened non-blocking
   (a FIFO then cannot hang the open), checked with fstat, made blocking
   again.  *st receives the fstat (st may be NULL).  Returns the
   descriptor, or -1 with the error message set (CNN_ERR_IO): it names
   path and, for something that is not a regular file, what it is.  kind
   ("IDX data", "weights") goes into that message. */
int cnn_open_input(const char *path, const char *kind, struct stat *st);

/* open(path, flags) without blocking on a FIFO or device (O_NONBLOCK for
   the open only, cleared after it), close-on-exec, never a controlling
   terminal.  The descriptor, or -1 with errno set. */
int cnn_open_now(const char *path, int flags);

/* The directory holding path ("." when it has no slash), malloc'ed; NULL
   when out of memory. */
char *cnn_dir_of(const char *path);

/* 1 when a and b name the same file: the same device and inode when both
   exist, the same directory and name when neither does (two outputs not
   yet written); else 0. */
int cnn_same_file(const char *a, const char *b);

#endif /* CNN_FILES_H */
