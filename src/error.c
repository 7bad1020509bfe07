/*
 * error.c — status-code names, the thread-local last-error message and the
 * aligned allocator shared by the library.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[512];

const char *cnn_status_str(int status)
{
    switch (status) {
    case CNN_OK: return "ok";
    case CNN_ERR_ARG: return "invalid argument";
    case CNN_ERR_NOMEM: return "out of memory";
    case CNN_ERR_IO: return "I/O error";
    case CNN_ERR_FORMAT: return "malformed file";
    case CNN_ERR_SPEC: return "invalid model spec";
    case CNN_ERR_MISMATCH: return "does not match the model";
    case CNN_ERR_UNSUPPORTED: return "unsupported";
    case CNN_ERR_NONFINITE: return "non-finite value";
    case CNN_ERR_CANCELLED: return "cancelled";
    default: return "unknown status";
    }
}

const char *cnn_last_error(void) { return last_error; }

int cnn_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void *cnn_aligned_calloc(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        return NULL;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

void cnn_aligned_free(void *p) { free(p); }
