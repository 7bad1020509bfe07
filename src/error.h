/*
 * error.h — internal helpers for status codes, the thread-local error
 * message and aligned allocation.
 */
#ifndef CNN_ERROR_H
#define CNN_ERROR_H

#include <stddef.h>

#include "cnn.h"

/* Record a printf-style message as the calling thread's last error and
   return status, so callers can write `return cnn_fail(CNN_ERR_IO, ...)`. */
int cnn_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 64-byte aligned, zero-filled allocation of bytes (NULL on failure or
   when bytes is 0); release with cnn_aligned_free. */
void *cnn_aligned_calloc(size_t bytes);
void cnn_aligned_free(void *p);

#endif /* CNN_ERROR_H */
