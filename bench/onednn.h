/*
 * onednn.h — the oneDNN side of the kernel benchmark (bench/onednn.c).
 *
 * bench/onednn.c is compiled only where <dnnl.h> is installed; the Makefile
 * then defines CNN_HAVE_DNNL for every bench file, and bench/kernels.c
 * calls these functions only under that macro.  The pass numbers are
 * shared with bench/kernels.c.
 *
 * oneDNN runs each seed layer over the whole batch in one call, on one
 * thread, activations NHWC, weights in the layout oneDNN picks (format
 * "any", reordered from ours once, outside any timing):
 *   forward           convolution (inner product for dense) with bias, ReLU
 *                     as an eltwise post-op when relu is set
 *   backward-data     convolution backward-data (no ReLU mask: oneDNN has
 *                     no fused one)
 *   backward-weights  convolution backward-weights with the bias gradient
 *                     (oneDNN overwrites dw and db, ours accumulate)
 */
#ifndef CNN_BENCH_ONEDNN_H
#define CNN_BENCH_ONEDNN_H

#include <stddef.h>

#include "kernels.h"

enum bench_pass { BENCH_FORWARD, BENCH_BACKWARD_DATA, BENCH_BACKWARD_WEIGHTS };

/* The benchmark's buffers for one layer, in its layouts: x, y, dy, dx NHWC
   (batch images), w [k][k][in_c][out_c] or [in][out], b and db [out_c],
   dw as w.  A pass reads and writes only its own:
     forward x, w, b -> y;  backward-data dy, w -> dx;
     backward-weights x, dy -> dw, db. */
typedef struct bench_onednn_args {
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db;
} bench_onednn_args;

typedef struct bench_onednn_case bench_onednn_case;

/* Creates the CPU engine and stream and limits oneDNN to one thread.
   Returns 0, or -1 with a one-line reason in err. */
int bench_onednn_init(char *err, size_t errlen);

/* "2.6.3", and how oneDNN was limited to one thread, for the output. */
const char *bench_onednn_version(void);
const char *bench_onednn_threading(void);

/* How many threads the process has now (from /proc/self/task; -1 when
   unknown): checked after the oneDNN runs to show they used one. */
int bench_onednn_os_threads(void);

/* One layer and pass over batch images: g is the convolution's geometry,
   or NULL for a dense layer of dense_in -> dense_out.  Buffers are wrapped,
   not copied: they must outlive the case.  NULL, with a reason in err, when
   oneDNN cannot do it. */
bench_onednn_case *bench_onednn_create(const cnn_conv_geom *g, int dense_in, int dense_out,
                                       int pass, int relu, int batch, const bench_onednn_args *a,
                                       char *err, size_t errlen);

/* One call: the whole batch.  Allocation-free; returns 0 or -1. */
int bench_onednn_run(bench_onednn_case *c);

/* After a run, copies results oneDNN keeps in its own layout into the
   caller's buffers (backward-weights' dw); a no-op for the other passes.
   Returns 0 or -1. */
int bench_onednn_fetch(bench_onednn_case *c);

/* oneDNN's implementation name for the case, e.g. "jit:avx512_core". */
const char *bench_onednn_impl(const bench_onednn_case *c);

void bench_onednn_destroy(bench_onednn_case *c);

/* Releases the engine and stream. */
void bench_onednn_shutdown(void);

#endif /* CNN_BENCH_ONEDNN_H */
