/*
 * kernels.c — the kernel benchmark, bench/kernels (`make bench`).
 *
 * For every kernel set this binary holds and the CPU supports (ref left
 * out unless asked for with --isa), every layer of the model (--model seed,
 * the default, seed-dense or conv5; kernels-layers.h) and every pass — forward (bias + ReLU fused; the dense layer, which feeds
 * softmax, without ReLU), backward-data (ReLU mask of the layer's input,
 * weights packed first by the set's pack_backward_data when it packs the
 * layer's shape, the dense pack timed with the row (see below);
 * none for conv1) and backward-weights (with db; dense: rows [0, in)) — it prints milliseconds
 * per batch of 32 images, GFLOP/s (2 x multiply-adds / time; every pass
 * counts the forward pass's multiply-adds, GUIDE.md's figures, taps on
 * padding included) and the percentage of this core's FP32 peak for that
 * ISA, measured in the same run by the loops of bench/peak-*.c.
 *
 * Conv calls follow the trainer: n images per call (--n, default 1, the
 * seed network's group size), ceil(32 / n) calls per batch on buffers of n
 * images reused by every call, as a thread's workspace is.  Dense rows run
 * the whole batch in one call (n = 32, as oneDNN), whatever --n says.
 * Packing conv weights (once per batch in the trainer, after Adam) is not
 * timed; a dense backward-data row includes its pack (the whole transposed
 * copy, once per batch as in the trainer) when the set packs that shape
 * (cnn_dense_reads_packed), so that it compares fairly with oneDNN, which
 * reads w as it is, and with the sets that read w in dot products.
 *
 * Each kernel is first checked against the reference set on the same
 * inputs (|out - ref| <= 1e-4 max(1, |ref|); outputs pre-filled with NaN,
 * backward-weights accumulating onto random dw and db, nothing written past
 * the images of the call): a mismatch is reported and the exit status is 1.
 *
 * Timing: one thread pinned to the CPU it started on; warm-up, then reps
 * of whole batches (a rep runs several batches when one is shorter than
 * 100 us), at least 7 reps and enough for ~50 ms per row (--reps,
 * --time-ms); the median is reported, and the minimum.  The machine may
 * be shared: a rep during which the thread lost its CPU (wall time more
 * than 3% above the thread's CPU time) is dropped and run again.  No
 * allocation happens between the clock reads.
 *
 * Each row names the kernel that ran it, as family/isa of its entry in
 * the kernel lists (kernels/list.c, --list prints them); the layers are
 * those of kernels-layers.h, which tests/test_kernels.c checks cover every
 * entry.
 *
 * Where oneDNN is installed (bench/onednn.c, CNN_HAVE_DNNL), the same
 * shapes run through it, the whole batch in one call on one thread, rows
 * with isa "onednn" (percent of the best ISA's peak) and the ratio of our
 * best set's speed to oneDNN's.  Its backward-data applies no ReLU mask
 * (ours does, fused) and its outputs are checked against the reference too.
 */
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn.h"
#include "cpu.h"
#include "dispatch.h"
#include "kernels-layers.h"
#include "list.h"
#include "onednn.h"
#include "peak.h"

/* Only the current architecture's peak loops are linked in. */
extern const bench_peak_loop bench_peak_avx512 __attribute__((weak));
extern const bench_peak_loop bench_peak_avx2 __attribute__((weak));
extern const bench_peak_loop bench_peak_scalar __attribute__((weak));
extern const bench_peak_loop bench_peak_neon __attribute__((weak));

#define PROG "bench/kernels"
#define BATCH 32
#define TOL 1e-4
#define GUARD 16             /* floats after every buffer's used part */
#define GUARD_VALUE 12345.0f /* what they hold */
#define MAX_SETS 8
#define MIN_REPS 7
#define MAX_REPS 100000
#define REP_MIN_S 100e-6 /* shortest rep: whole batches for at least this */
#define WARMUP_S 10e-3
#define PEAK_SAMPLES 15
#define PEAK_SAMPLE_S 2e-3

/* ---- options ---------------------------------------------------------- */

static struct {
    const model_spec *model; /* --model */
    const char *isa;   /* NULL: every supported set but ref */
    const char *layer; /* NULL: all */
    const char *pass;  /* NULL: all */
    int n;             /* images per call */
    int reps;          /* 0: automatic */
    double time_s;     /* automatic reps: time per row */
    int json, onednn, pin;
} opt = {&bench_models[0], NULL, NULL, NULL, 1, 0, 50e-3, 0, 1, 1};

static const char *const pass_names[3] = {"forward", "backward-data", "backward-weights"};

static size_t in_size(const layer_spec *L) /* floats per image */
{
    return L->dense ? (size_t)L->in : (size_t)L->g.in_h * L->g.in_w * L->g.in_c;
}
static size_t out_size(const layer_spec *L)
{
    return L->dense ? (size_t)L->out : (size_t)L->g.out_h * L->g.out_w * L->g.out_c;
}
static int out_channels(const layer_spec *L) { return L->dense ? L->out : L->g.out_c; }
static size_t weight_count(const layer_spec *L)
{
    return L->dense ? (size_t)L->in * L->out : (size_t)L->g.k * L->g.k * L->g.in_c * L->g.out_c;
}
static double macs_per_image(const layer_spec *L)
{
    return L->dense ? (double)L->in * L->out
                    : (double)L->g.out_h * L->g.out_w * L->g.out_c * L->g.k * L->g.k * L->g.in_c;
}

/* ---- buffers ------------------------------------------------------------ */

/* A float buffer of cap floats (plus GUARD), 64-byte aligned. */
static float *alloc_floats(size_t cap)
{
    size_t bytes = ((cap + GUARD) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (!p) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

/* Everything one layer's passes read and write, for BATCH images. */
typedef struct layer_bufs {
    size_t in, out, wn;               /* floats per image in and out, weights */
    float *x, *dy, *w, *b;            /* inputs; x is also backward-data's mask */
    float *y, *dx, *dw, *db, *packed; /* outputs */
    float *y_ref, *dx_ref, *dw_ref, *db_ref;
    float *dw0, *db0; /* backward-weights' starting dw and db */
} layer_bufs;

static uint32_t rng_state = 0x2545f491u;
static float uniform(void) /* [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float)(rng_state >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

static void layer_bufs_init(layer_bufs *B, const layer_spec *L, int first)
{
    B->in = in_size(L);
    B->out = out_size(L);
    B->wn = weight_count(L);
    size_t oc = (size_t)out_channels(L);
    B->x = alloc_floats(BATCH * B->in);
    B->dy = alloc_floats(BATCH * B->out);
    B->w = alloc_floats(B->wn);
    B->b = alloc_floats(oc);
    B->y = alloc_floats(BATCH * B->out);
    B->dx = alloc_floats(BATCH * B->in);
    B->dw = alloc_floats(B->wn);
    B->db = alloc_floats(oc);
    B->packed = alloc_floats(B->wn);
    B->y_ref = alloc_floats(BATCH * B->out);
    B->dx_ref = alloc_floats(BATCH * B->in);
    B->dw_ref = alloc_floats(B->wn);
    B->db_ref = alloc_floats(oc);
    B->dw0 = alloc_floats(B->wn);
    B->db0 = alloc_floats(oc);
    /* The image for conv1, else a ReLU output (about half zeros). */
    for (size_t i = 0; i < BATCH * B->in; i++) {
        float v = uniform();
        B->x[i] = first ? 0.5f * (v + 1.0f) : (v > 0 ? v : 0.0f);
    }
    /* dy carries the layer's own ReLU mask where it has one. */
    for (size_t i = 0; i < BATCH * B->out; i++) {
        float v = uniform();
        B->dy[i] = L->relu && uniform() < 0 ? 0.0f : v;
    }
    size_t fan_in = B->wn / oc;
    float scale = 1.0f / sqrtf((float)fan_in);
    for (size_t i = 0; i < B->wn; i++) {
        B->w[i] = scale * uniform();
        B->dw0[i] = uniform();
    }
    for (size_t i = 0; i < oc; i++) {
        B->b[i] = 0.1f * uniform();
        B->db0[i] = uniform();
    }
}

static void layer_bufs_free(layer_bufs *B)
{
    float *all[] = {B->x,      B->dy,    B->w,      B->b,      B->y,      B->dx,  B->dw, B->db,
                    B->packed, B->y_ref, B->dx_ref, B->dw_ref, B->db_ref, B->dw0, B->db0};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

/* ---- running a pass ------------------------------------------------------- */

/* One layer, pass and kernel set (or oneDNN), ready to run a batch. */
typedef struct run_ctx {
    const layer_spec *L;
    layer_bufs *B;
    int pass;
    cnn_conv_kernels ck;
    cnn_dense_kernels dk;
    const float *wd; /* backward-data's weights: packed or w */
    int n;           /* images per call */
    bench_onednn_case *dnnl;
} run_ctx;

/* One call of our kernels on nn images. */
static void call_ours(const run_ctx *c, int nn)
{
    const layer_spec *L = c->L;
    layer_bufs *B = c->B;
    if (L->dense) {
        switch (c->pass) {
        case BENCH_FORWARD:
            c->dk.forward(nn, L->in, L->out, B->x, B->w, B->b, B->y, L->relu);
            break;
        case BENCH_BACKWARD_DATA:
            if (c->wd == B->packed) /* the trainer packs once per batch */
                c->dk.pack_backward_data(L->in, L->out, B->w, B->packed, 0, L->out);
            c->dk.backward_data(nn, L->in, L->out, B->dy, c->wd, B->x, B->dx);
            break;
        default:
            c->dk.backward_weights(nn, L->in, L->out, B->x, B->dy, 0, L->in, 0, B->dw, B->db);
        }
        return;
    }
    switch (c->pass) {
    case BENCH_FORWARD:
        c->ck.forward(&L->g, nn, B->x, B->w, B->b, B->y, L->relu);
        break;
    case BENCH_BACKWARD_DATA:
        c->ck.backward_data(&L->g, nn, B->dy, c->wd, B->x, B->dx);
        break;
    default:
        c->ck.backward_weights(&L->g, nn, B->x, B->dy, B->dw, B->db);
    }
}

/* The reference on nn images, into the *_ref buffers (mask: backward-data
   applies x as the ReLU mask; oneDNN's has none). */
static void call_ref(const run_ctx *c, int nn, int mask)
{
    const layer_spec *L = c->L;
    layer_bufs *B = c->B;
    const float *m = mask ? B->x : NULL;
    if (L->dense) {
        switch (c->pass) {
        case BENCH_FORWARD:
            cnn_dense_forward_ref(nn, L->in, L->out, B->x, B->w, B->b, B->y_ref, L->relu);
            break;
        case BENCH_BACKWARD_DATA:
            cnn_dense_backward_data_ref(nn, L->in, L->out, B->dy, B->w, m, B->dx_ref);
            break;
        default:
            cnn_dense_backward_weights_ref(nn, L->in, L->out, B->x, B->dy, 0, L->in, 0, B->dw_ref,
                                           B->db_ref);
        }
        return;
    }
    switch (c->pass) {
    case BENCH_FORWARD:
        cnn_conv_forward_ref(&L->g, nn, B->x, B->w, B->b, B->y_ref, L->relu);
        break;
    case BENCH_BACKWARD_DATA:
        cnn_conv_backward_data_ref(&L->g, nn, B->dy, B->w, m, B->dx_ref);
        break;
    default:
        cnn_conv_backward_weights_ref(&L->g, nn, B->x, B->dy, B->dw_ref, B->db_ref);
    }
}

/* A batch: ceil(BATCH / n) calls, the last one with what is left. */
static void batch_ours(void *p)
{
    const run_ctx *c = p;
    for (int done = 0; done < BATCH; done += c->n)
        call_ours(c, BATCH - done < c->n ? BATCH - done : c->n);
}

#ifdef CNN_HAVE_DNNL
static void batch_onednn(void *p)
{
    const run_ctx *c = p;
    bench_onednn_run(c->dnnl);
}
#endif

/* ---- checking against the reference ------------------------------------- */

/* Marks buf[used, cap + GUARD) as not to be written, and buf[0, used) as
   unwritten (NaN) when nan is set. */
static void arm(float *buf, size_t used, size_t cap, int nan)
{
    if (nan)
        for (size_t i = 0; i < used; i++)
            buf[i] = NAN;
    for (size_t i = used; i < cap + GUARD; i++)
        buf[i] = GUARD_VALUE;
}

static int untouched(const float *buf, size_t used, size_t cap)
{
    for (size_t i = used; i < cap + GUARD; i++)
        if (memcmp(&buf[i], &(float){GUARD_VALUE}, sizeof(float)) != 0)
            return 0;
    return 1;
}

typedef struct check_result {
    int ok;
    double max_err; /* largest |out - ref| / max(1, |ref|) */
    char what[96];  /* on failure: where */
} check_result;

static void compare(check_result *r, const char *name, const float *out, const float *ref,
                    size_t count, size_t used, size_t cap)
{
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)out[i] - ref[i]) / fmax(1.0, fabs((double)ref[i]));
        if (!(d <= r->max_err)) /* NaN included */
            r->max_err = isnan(d) ? INFINITY : d;
        if (!(d <= TOL) && r->ok) {
            r->ok = 0;
            snprintf(r->what, sizeof r->what, "%s[%zu] = %g, reference %g", name, i, (double)out[i],
                     (double)ref[i]);
        }
    }
    if (!untouched(out, used, cap) && r->ok) {
        r->ok = 0;
        snprintf(r->what, sizeof r->what, "wrote past the end of %s", name);
    }
}

/* Runs our kernels once on nn images and compares with the reference. */
static void check_ours(check_result *r, const run_ctx *c, int nn)
{
    layer_bufs *B = c->B;
    size_t oc = (size_t)out_channels(c->L);
    switch (c->pass) {
    case BENCH_FORWARD:
        call_ref(c, nn, 1);
        arm(B->y, nn * B->out, BATCH * B->out, 1);
        call_ours(c, nn);
        compare(r, "y", B->y, B->y_ref, nn * B->out, nn * B->out, BATCH * B->out);
        break;
    case BENCH_BACKWARD_DATA:
        call_ref(c, nn, 1);
        arm(B->dx, nn * B->in, BATCH * B->in, 1);
        call_ours(c, nn);
        compare(r, "dx", B->dx, B->dx_ref, nn * B->in, nn * B->in, BATCH * B->in);
        break;
    default:
        memcpy(B->dw_ref, B->dw0, B->wn * sizeof(float));
        memcpy(B->db_ref, B->db0, oc * sizeof(float));
        call_ref(c, nn, 1);
        memcpy(B->dw, B->dw0, B->wn * sizeof(float));
        memcpy(B->db, B->db0, oc * sizeof(float));
        arm(B->dw, B->wn, B->wn, 0);
        arm(B->db, oc, oc, 0);
        call_ours(c, nn);
        compare(r, "dw", B->dw, B->dw_ref, B->wn, B->wn, B->wn);
        compare(r, "db", B->db, B->db_ref, oc, oc, oc);
    }
}

#ifdef CNN_HAVE_DNNL
/* Runs oneDNN once on the batch and compares with the reference. */
static void check_onednn(check_result *r, const run_ctx *c)
{
    layer_bufs *B = c->B;
    size_t oc = (size_t)out_channels(c->L);
    switch (c->pass) {
    case BENCH_FORWARD:
        call_ref(c, BATCH, 0);
        arm(B->y, BATCH * B->out, BATCH * B->out, 1);
        break;
    case BENCH_BACKWARD_DATA:
        call_ref(c, BATCH, 0);
        arm(B->dx, BATCH * B->in, BATCH * B->in, 1);
        break;
    default:
        memset(B->dw_ref, 0, B->wn * sizeof(float));
        memset(B->db_ref, 0, oc * sizeof(float));
        call_ref(c, BATCH, 0);
        arm(B->dw, B->wn, B->wn, 1);
        arm(B->db, oc, oc, 1);
    }
    if (bench_onednn_run(c->dnnl) != 0 || bench_onednn_fetch(c->dnnl) != 0) {
        r->ok = 0;
        snprintf(r->what, sizeof r->what, "oneDNN execution failed");
        return;
    }
    switch (c->pass) {
    case BENCH_FORWARD:
        compare(r, "y", B->y, B->y_ref, BATCH * B->out, BATCH * B->out, BATCH * B->out);
        break;
    case BENCH_BACKWARD_DATA:
        compare(r, "dx", B->dx, B->dx_ref, BATCH * B->in, BATCH * B->in, BATCH * B->in);
        break;
    default:
        compare(r, "dw", B->dw, B->dw_ref, B->wn, B->wn, B->wn);
        compare(r, "db", B->db, B->db_ref, oc, oc, oc);
    }
}
#endif

/* ---- timing ------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct timing {
    double median_s, min_s; /* per batch, over the clean reps */
    int reps, inner;        /* reps used, batches per rep */
    int preempted;          /* reps dropped: the thread lost the CPU */
} timing;

/* The thread's CPU time: a rep whose wall time exceeds it by more than
   3% was descheduled (the machine is shared) and is timed again. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define CLEAN(wall, cpu) ((cpu) >= 0.97 * (wall))
#define MAX_TRIES(reps) (4 * (reps) + 8)

static double *rep_times, *dirty_times; /* MAX_TRIES(MAX_REPS) each, from main */

/* Times reps of whole batches; keeps the clean ones, or when fewer than
   3 are clean after MAX_TRIES, all of them. */
static timing measure(void (*batch)(void *), void *ctx)
{
    timing t;
    long k = 0;
    double t0 = now(), el;
    do {
        batch(ctx);
        k++;
    } while ((el = now() - t0) < WARMUP_S || k < 2);
    double est = el / (double)k;
    t.inner = est >= REP_MIN_S ? 1 : (int)ceil(REP_MIN_S / est);
    int want;
    if (opt.reps > 0) {
        want = opt.reps;
    } else {
        double r = ceil(opt.time_s / (est * t.inner));
        want = r < MIN_REPS ? MIN_REPS : r > MAX_REPS ? MAX_REPS : (int)r;
    }
    int clean = 0, dirty = 0;
    for (int tries = 0; clean < want && tries < MAX_TRIES(want); tries++) {
        double c0 = cpu_now(), s = now();
        for (int i = 0; i < t.inner; i++)
            batch(ctx);
        double e = now(), c1 = cpu_now();
        if (CLEAN(e - s, c1 - c0))
            rep_times[clean++] = (e - s) / t.inner;
        else
            dirty_times[dirty++] = (e - s) / t.inner;
    }
    t.preempted = dirty;
    if (clean < 3 && clean < want) { /* the CPU is never ours: use all */
        memcpy(rep_times + clean, dirty_times, (size_t)dirty * sizeof *rep_times);
        clean += dirty;
        t.preempted = 0;
    }
    t.reps = clean;
    t.median_s = median(rep_times, clean);
    t.min_s = rep_times[0];
    return t;
}

/* ---- peaks ------------------------------------------------------------- */

typedef struct peak_entry {
    const char *isa;             /* the kernel set */
    const bench_peak_loop *loop; /* NULL: none for it */
    double gflops;               /* median; 0 until measured */
} peak_entry;

static peak_entry peaks[MAX_SETS + 1];
static int npeaks;

static volatile float peak_mul = 1.0f, peak_add = 0.0f, peak_sink;

static const bench_peak_loop *peak_loop_for(const char *isa)
{
    const cnn_cpu *cpu = cnn_cpu_get();
    if (!strcmp(isa, "avx512"))
        return cpu->avx512 ? &bench_peak_avx512 : NULL;
    if (!strcmp(isa, "avx2"))
        return cpu->avx2 ? &bench_peak_avx2 : NULL;
    if (!strcmp(isa, "neon"))
        return cpu->neon ? &bench_peak_neon : NULL;
    return &bench_peak_scalar; /* scalar, ref */
}

/* Median GFLOP/s of PEAK_SAMPLES clean runs of about PEAK_SAMPLE_S. */
static double measure_peak(const bench_peak_loop *loop)
{
    long iters = 1000;
    double el;
    for (;;) { /* calibrate (and warm up) */
        double t0 = now();
        peak_sink = loop->run(iters, peak_mul, peak_add);
        el = now() - t0;
        if (el >= PEAK_SAMPLE_S)
            break;
        iters *= 2;
    }
    iters = (long)((double)iters * PEAK_SAMPLE_S / el) + 1;
    double g[PEAK_SAMPLES], any[PEAK_SAMPLES];
    int clean = 0, tries = 0;
    for (; clean < PEAK_SAMPLES && tries < MAX_TRIES(PEAK_SAMPLES); tries++) {
        double c0 = cpu_now(), t0 = now();
        peak_sink = loop->run(iters, peak_mul, peak_add);
        double e = now() - t0, c = cpu_now() - c0;
        double gf = loop->flops_per_iter * (double)iters / e * 1e-9;
        any[tries % PEAK_SAMPLES] = gf;
        if (CLEAN(e, c))
            g[clean++] = gf;
    }
    if (clean < 3)
        return median(any, tries < PEAK_SAMPLES ? tries : PEAK_SAMPLES);
    return median(g, clean);
}

/* The peak entry for an ISA (added and measured on first use). */
static const peak_entry *peak_for(const char *isa)
{
    for (int i = 0; i < npeaks; i++)
        if (!strcmp(peaks[i].isa, isa))
            return &peaks[i];
    peak_entry *p = &peaks[npeaks++];
    p->isa = isa;
    p->loop = peak_loop_for(isa); /* weak and absent: NULL */
    p->gflops = p->loop ? measure_peak(p->loop) : 0;
    return p;
}

/* ---- results ------------------------------------------------------------ */

typedef struct row {
    const char *layer, *pass;
    char isa[16];
    int n, calls;
    timing t;
    double gflops, peak, pct;
    const char *peak_isa; /* whose peak: the set's own, or the best for oneDNN */
    check_result check;
    char impl[96];    /* oneDNN's implementation */
    double ours_over; /* oneDNN rows: our best / oneDNN (0: none) */
    const char *ours_isa;
} row;

static row *rows;
static int nrows;

static void add_row(const run_ctx *c, const char *isa, const peak_entry *peak, int n, int calls,
                    timing t, const check_result *chk, const char *impl)
{
    row *r = &rows[nrows++];
    memset(r, 0, sizeof *r);
    r->layer = c->L->name;
    r->pass = pass_names[c->pass];
    snprintf(r->isa, sizeof r->isa, "%s", isa);
    r->n = n;
    r->calls = calls;
    r->t = t;
    r->gflops = 2.0 * macs_per_image(c->L) * BATCH / t.median_s * 1e-9;
    r->peak = peak ? peak->gflops : 0;
    r->peak_isa = peak ? peak->isa : "";
    r->pct = r->peak > 0 ? 100.0 * r->gflops / r->peak : 0;
    r->check = *chk;
    snprintf(r->impl, sizeof r->impl, "%s", impl ? impl : "");
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json(void)
{
    const char *cpu = cnn_cpu_get()->model;
    printf("[");
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        printf("%s\n  {\"layer\": \"%s\", \"pass\": \"%s\", \"isa\": \"%s\", \"n\": %d, "
               "\"calls_per_batch\": %d, \"batch\": %d, \"ms_per_batch\": %.6g, "
               "\"ms_min\": %.6g, \"reps\": %d, \"preempted\": %d, \"gflops\": %.6g, "
               "\"peak_gflops\": %.6g, \"peak_isa\": \"%s\", "
               "\"peak_pct\": %.4g, \"check\": \"%s\", \"max_rel_err\": %.3g",
               i ? "," : "", r->layer, r->pass, r->isa, r->n, r->calls, BATCH, 1e3 * r->t.median_s,
               1e3 * r->t.min_s, r->t.reps, r->t.preempted, r->gflops, r->peak, r->peak_isa, r->pct,
               r->check.ok ? "ok" : "mismatch", isinf(r->check.max_err) ? 1e308 : r->check.max_err);
        if (*r->impl) {
            printf(", \"impl\": ");
            print_json_string(r->impl);
        }
        if (r->ours_over > 0)
            printf(", \"ours_over_onednn\": %.4g, \"ours_best_isa\": \"%s\"", r->ours_over,
                   r->ours_isa);
        printf(", \"cpu\": ");
        print_json_string(*cpu ? cpu : "unknown");
        printf("}");
    }
    printf("\n]\n");
}

static void print_table(void)
{
    printf("%-6s %-16s %-7s %3s %5s %9s %9s %8s %6s  %s\n", "layer", "pass", "isa", "n", "calls",
           "ms/batch", "min ms", "GFLOP/s", "%peak", "check");
    const char *last = NULL;
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (last && strcmp(last, r->layer) != 0)
            printf("\n");
        last = r->layer;
        char pct[16] = "-";
        if (r->peak > 0)
            snprintf(pct, sizeof pct, "%.1f%%", r->pct);
        printf("%-6s %-16s %-7s %3d %5d %9.4f %9.4f %8.2f %6s  ", r->layer, r->pass, r->isa, r->n,
               r->calls, 1e3 * r->t.median_s, 1e3 * r->t.min_s, r->gflops, pct);
        if (r->check.ok)
            printf("ok");
        else
            printf("MISMATCH (%.2g)", r->check.max_err);
        if (*r->impl)
            printf("  %s", r->impl);
        if (r->ours_over > 0)
            printf("  ours/oneDNN %.2fx (%s)", r->ours_over, r->ours_isa);
        printf("\n");
    }
}

/* The whole training step per ISA: every layer and pass above summed (a
   full step only when no --layer or --pass narrowed the rows). */
static void print_totals(void)
{
    const char *seen[MAX_SETS + 2];
    int nseen = 0;
    printf("\n%s per batch of %d, by isa:\n",
           opt.layer || opt.pass ? "sum of the rows above"
                                 : "kernels of one training step (all rows summed)",
           BATCH);
    for (int i = 0; i < nrows; i++) {
        int known = 0;
        for (int j = 0; j < nseen; j++)
            known |= !strcmp(seen[j], rows[i].isa);
        if (known || nseen == MAX_SETS + 2)
            continue;
        seen[nseen++] = rows[i].isa;
        double t = 0, flops = 0, peak = rows[i].peak;
        for (int j = i; j < nrows; j++)
            if (!strcmp(rows[j].isa, rows[i].isa)) {
                t += rows[j].t.median_s;
                flops += rows[j].gflops * 1e9 * rows[j].t.median_s;
            }
        printf("  %-7s %9.4f ms %8.2f GFLOP/s", rows[i].isa, 1e3 * t, flops / t * 1e-9);
        if (peak > 0)
            printf(" %6.1f%%", 100.0 * flops / t * 1e-9 / peak);
        if (!opt.layer && !opt.pass)
            printf("  %8.0f images/s", BATCH / t);
        printf("\n");
    }
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [options]\n"
            "Times a network's layers (batch %d, one thread) with every kernel set\n"
            "the CPU supports, checks them against the reference first, and compares\n"
            "with oneDNN where it is built in.\n"
            "  --model NAME   the network: seed (default), seed-dense, or conv5 (the\n"
            "                 5x5 layers of issue 14: c1-M first layers, cC-M,\n"
            "                 s2-C-M stride 2; 'same' padding)\n"
            "  --isa NAME     only this kernel set (avx512, avx2, neon, scalar, ref), or\n"
            "                 onednn for oneDNN alone\n"
            "  --layer NAME   only this layer of the model (seed: conv1..conv6, dense;\n"
            "                 seed-dense: conv1..conv3, dense1, dense2; conv5: the\n"
            "                 row names above)\n"
            "  --pass NAME    only this pass (forward, backward-data, backward-weights)\n"
            "  --n N          images per conv kernel call, 1..%d (default 1, as the\n"
            "                 trainer); dense rows always take the batch in one call\n"
            "  --reps N       timed repeats per row (default: >= %d and ~50 ms per row)\n"
            "  --time-ms MS   time per row for the automatic repeat count (default 50)\n"
            "  --no-onednn    leave oneDNN out\n"
            "  --no-pin       do not pin the thread to its CPU\n"
            "  --json         print a JSON array of rows instead of the table\n"
            "  --list         print the kernel lists (kernels/list.c) this binary holds\n"
            "  --help         this text\n"
            "Exit status: 0, 1 when a kernel disagrees with the reference or fails,\n"
            "2 for a bad option or an unusable --isa.\n",
            BATCH, BATCH, MIN_REPS);
}

/* --list: every entry of the kernel lists, the passes it provides (f:
   forward, d: backward data, w: backward weights, p: packs the weights). */
static void print_list(void)
{
    printf("%-10s %-7s %-5s %-s\n%27s%s\n", "family", "isa", "pass", "shape class",
           "", "register tile");
    for (int f = 0; cnn_conv_families[f]; f++)
        for (const cnn_conv_entry *e = cnn_conv_families[f]; e->isa; e++)
            printf("%-10s %-7s %c%c%c%c  %s\n%27s%s\n", e->family, e->isa,
                   e->k.forward ? 'f' : '-', e->k.backward_data ? 'd' : '-',
                   e->k.backward_weights ? 'w' : '-', e->k.pack_backward_data ? 'p' : '-',
                   e->shape, "", e->tile);
    for (const cnn_dense_entry *e = cnn_dense_list; e->isa; e++)
        printf("%-10s %-7s fdw%c  any\n%27s%s\n", "dense", e->isa,
               e->k.pack_backward_data ? 'p' : '-', "", e->tile);
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Parses argv into opt; returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        int takes = !strcmp(name, "--isa") || !strcmp(name, "--layer") ||
                    !strcmp(name, "--pass") || !strcmp(name, "--model") ||
                    !strcmp(name, "--n") || !strcmp(name, "--reps") || !strcmp(name, "--time-ms");
        if (takes && !val) {
            if (i + 1 >= argc)
                return bad("option '%s' needs a value", name);
            val = argv[++i];
        } else if (!takes && val) {
            return bad("option '%s' takes no value", name);
        }
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(name, "--list")) {
            print_list();
            return 0;
        } else if (!strcmp(name, "--json")) {
            opt.json = 1;
        } else if (!strcmp(name, "--no-onednn")) {
            opt.onednn = 0;
        } else if (!strcmp(name, "--no-pin")) {
            opt.pin = 0;
        } else if (!strcmp(name, "--isa")) {
            opt.isa = val;
        } else if (!strcmp(name, "--model")) {
            opt.model = NULL;
            for (int m = 0; m < NMODELS; m++)
                if (!strcmp(val, bench_models[m].name))
                    opt.model = &bench_models[m];
            if (!opt.model)
                return bad("unknown model '%s' (seed, seed-dense, conv5)", val);
        } else if (!strcmp(name, "--layer")) {
            opt.layer = val;
        } else if (!strcmp(name, "--pass")) {
            int found = 0;
            for (int p = 0; p < 3; p++)
                found |= !strcmp(val, pass_names[p]);
            if (!found)
                return bad("unknown pass '%s' (forward, backward-data, backward-weights)", val);
            opt.pass = val;
        } else if (!strcmp(name, "--n")) {
            if (parse_int(val, 1, BATCH, &opt.n))
                return bad("--n wants an integer from 1 to 32, not '%s'", val);
        } else if (!strcmp(name, "--reps")) {
            if (parse_int(val, 1, MAX_REPS, &opt.reps))
                return bad("--reps wants an integer from 1 to 100000, not '%s'", val);
        } else if (!strcmp(name, "--time-ms")) {
            int ms;
            if (parse_int(val, 1, 60000, &ms))
                return bad("--time-ms wants an integer from 1 to 60000, not '%s'", val);
            opt.time_s = ms * 1e-3;
        } else {
            return bad("unknown option '%s'", a);
        }
    }
    int found = !opt.layer;
    for (int l = 0; l < opt.model->nlayers && !found; l++)
        found = !strcmp(opt.layer, opt.model->layers[l].name);
    if (!found)
        return bad("unknown layer '%s' for this --model", opt.layer);
    return -1;
}

/* Pins the calling thread to the CPU it runs on; returns the CPU or -1. */
static int pin_here(void)
{
    int cpu = sched_getcpu();
    if (cpu < 0)
        return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

int main(int argc, char **argv)
{
    int st = parse_args(argc, argv);
    if (st >= 0)
        return st;

    /* The kernel sets to time. */
    const cnn_kernel_table *sets[MAX_SETS];
    int nsets = 0, onednn_only = opt.isa && !strcmp(opt.isa, "onednn");
    if (onednn_only) {
#ifndef CNN_HAVE_DNNL
        fprintf(stderr, PROG ": oneDNN is not built in (install libdnnl-dev and rebuild)\n");
        return 2;
#else
        if (!opt.onednn)
            return bad("%s: --isa onednn with --no-onednn leaves nothing to run", "options");
#endif
    } else if (opt.isa) {
        int status;
        const cnn_kernel_table *t = cnn_kernels_by_name(opt.isa, &status);
        if (!t) {
            fprintf(stderr, PROG ": %s\n", cnn_last_error());
            return 2;
        }
        sets[nsets++] = t;
    } else {
        const cnn_kernel_table *all[MAX_SETS];
        int n = cnn_kernels_available(all, MAX_SETS);
        for (int i = 0; i < n && i < MAX_SETS; i++)
            if (all[i] != &cnn_kernels_ref)
                sets[nsets++] = all[i];
    }

    int cpu_pinned = opt.pin ? pin_here() : -1;
    rep_times = malloc(MAX_TRIES(MAX_REPS) * sizeof *rep_times);
    dirty_times = malloc(MAX_TRIES(MAX_REPS) * sizeof *dirty_times);
    rows = calloc((size_t)opt.model->nlayers * 3 * (MAX_SETS + 1), sizeof *rows);
    if (!rep_times || !dirty_times || !rows) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }

    /* oneDNN, and the peak its rows are measured against: the best ISA
       this CPU has. */
    int use_onednn = 0;
    char onednn_note[256];
#ifdef CNN_HAVE_DNNL
    if (opt.onednn) {
        char err[200];
        if (bench_onednn_init(err, sizeof err) == 0) {
            use_onednn = 1;
            snprintf(onednn_note, sizeof onednn_note, "oneDNN %s: %s", bench_onednn_version(),
                     bench_onednn_threading());
        } else {
            snprintf(onednn_note, sizeof onednn_note, "oneDNN: unavailable: %s", err);
            if (onednn_only) {
                fprintf(stderr, PROG ": %s\n", onednn_note);
                return 2;
            }
        }
    } else {
        snprintf(onednn_note, sizeof onednn_note, "oneDNN: left out (--no-onednn)");
    }
#else
    snprintf(onednn_note, sizeof onednn_note, "oneDNN: not built (install libdnnl-dev)");
#endif
    const cnn_cpu *cpu = cnn_cpu_get();
    const char *best_isa = cpu->avx512 && &bench_peak_avx512 ? "avx512"
                           : cpu->avx2 && &bench_peak_avx2   ? "avx2"
                           : cpu->neon && &bench_peak_neon   ? "neon"
                                                             : "scalar";

    /* Peaks first, while nothing else has warmed the core up. */
    for (int s = 0; s < nsets; s++)
        peak_for(sets[s]->isa);
    const peak_entry *onednn_peak = use_onednn ? peak_for(best_isa) : NULL;

    if (!opt.json) {
        printf("cnn kernel benchmark: %s, one thread", *cpu->model ? cpu->model : "unknown CPU");
        if (cpu_pinned >= 0)
            printf(" pinned to CPU %d", cpu_pinned);
        int calls = (BATCH + opt.n - 1) / opt.n;
        printf("\nmodel %s, batch %d; our conv kernels: %d image%s per call, %d call%s per "
               "batch; dense: the batch in one call; median of %s%d reps (",
               opt.model->name, BATCH, opt.n, opt.n > 1 ? "s" : "", calls, calls > 1 ? "s" : "",
               opt.reps ? "" : ">= ", opt.reps ? opt.reps : MIN_REPS);
        if (opt.reps)
            printf("--reps");
        else
            printf("about %.0f ms per row", opt.time_s * 1e3);
        printf("; reps preempted by other work are redone)\n");
        printf("GFLOP/s = 2 x the forward multiply-adds (padding taps included, so kernels that "
               "skip them can pass 100%%) / time\n");
        printf("FP32 peak per core (median of %d runs of %.0f ms):\n", PEAK_SAMPLES,
               PEAK_SAMPLE_S * 1e3);
        for (int i = 0; i < npeaks; i++) {
            if (peaks[i].loop)
                printf("  %-7s %8.1f GFLOP/s  %s\n", peaks[i].isa, peaks[i].gflops,
                       peaks[i].loop->what);
            else
                printf("  %-7s        -          no peak loop in this build\n", peaks[i].isa);
        }
        if (onednn_peak)
            printf("  (oneDNN rows: the %s peak)\n", onednn_peak->isa);
        /* Sets the CPU could run that this binary lacks. */
        const char *simd[] = {"avx512", "avx2", "neon"};
        int cpu_has[] = {cpu->avx512, cpu->avx2, cpu->neon};
        for (int i = 0; i < 3 && !opt.isa; i++)
            if (cpu_has[i] && !cnn_kernels_by_name(simd[i], NULL))
                printf("note: %s kernels not benchmarked: %s\n", simd[i], cnn_last_error());
        printf("%s\n\n", onednn_note);
        fflush(stdout);
    }

    int failures = 0;
    for (int l = 0; l < opt.model->nlayers; l++) {
        const layer_spec *L = &opt.model->layers[l];
        if (opt.layer && strcmp(opt.layer, L->name) != 0)
            continue;
        layer_bufs B;
        layer_bufs_init(&B, L, l == 0);
        for (int p = 0; p < 3; p++) {
            if (opt.pass && strcmp(opt.pass, pass_names[p]) != 0)
                continue;
            if (p == BENCH_BACKWARD_DATA && !L->has_bwd_data)
                continue;
            int first_row = nrows;
            for (int s = 0; s < nsets; s++) {
                const cnn_kernel_table *t = sets[s];
                run_ctx c = {.L = L, .B = &B, .pass = p, .n = L->dense ? BATCH : opt.n,
                             .wd = B.w};
                char kernel[64]; /* the list entry that runs this row */
                if (L->dense) {
                    c.dk = t->dense;
                    snprintf(kernel, sizeof kernel, "dense/%s", t->isa);
                    if (p == BENCH_BACKWARD_DATA &&
                        cnn_dense_reads_packed(&c.dk, L->in, L->out)) {
                        arm(B.packed, B.wn, B.wn, 1);
                        c.dk.pack_backward_data(L->in, L->out, B.w, B.packed, 0, L->out);
                        c.wd = B.packed;
                    }
                } else {
                    c.ck = t->select_conv(&L->g);
                    const cnn_conv_entry *e = cnn_conv_choose(t->isa, &L->g).from[p];
                    snprintf(kernel, sizeof kernel, "%s/%s", e ? e->family : "?",
                             e ? e->isa : "?");
                    if (p == BENCH_BACKWARD_DATA && c.ck.pack_backward_data) {
                        arm(B.packed, B.wn, B.wn, 1);
                        c.ck.pack_backward_data(&L->g, B.w, B.packed);
                        c.wd = B.packed;
                    }
                }
                /* A set must have every pass (kernels.h). */
                int has;
                if (L->dense)
                    has = p == BENCH_FORWARD         ? c.dk.forward != NULL
                          : p == BENCH_BACKWARD_DATA ? c.dk.backward_data != NULL
                                                     : c.dk.backward_weights != NULL;
                else
                    has = p == BENCH_FORWARD         ? c.ck.forward != NULL
                          : p == BENCH_BACKWARD_DATA ? c.ck.backward_data != NULL
                                                     : c.ck.backward_weights != NULL;
                if (!has) {
                    failures++;
                    fprintf(stderr, PROG ": %s %s %s: the set has no kernel for it\n", t->isa,
                            L->name, pass_names[p]);
                    continue;
                }
                /* Check every call size a batch uses. */
                check_result chk = {1, 0, ""};
                check_ours(&chk, &c, c.n);
                if (BATCH % c.n)
                    check_ours(&chk, &c, BATCH % c.n);
                if (c.wd == B.packed && !untouched(B.packed, B.wn, B.wn) && chk.ok) {
                    chk.ok = 0;
                    snprintf(chk.what, sizeof chk.what, "pack_backward_data wrote past its end");
                }
                if (!chk.ok) {
                    failures++;
                    fprintf(stderr, PROG ": %s %s %s: mismatch: %s (max rel. error %.3g)\n", t->isa,
                            L->name, pass_names[p], chk.what, chk.max_err);
                }
                timing tm = measure(batch_ours, &c);
                add_row(&c, t->isa, peak_for(t->isa), c.n, (BATCH + c.n - 1) / c.n, tm, &chk,
                        kernel);
            }
#ifdef CNN_HAVE_DNNL
            if (use_onednn) {
                run_ctx c = {.L = L, .B = &B, .pass = p, .n = BATCH};
                bench_onednn_args a = {B.x, B.w, B.b, B.dy, B.y, B.dx, B.dw, B.db};
                char err[200];
                c.dnnl = bench_onednn_create(L->dense ? NULL : &L->g, L->in, L->out, p, L->relu,
                                             BATCH, &a, err, sizeof err);
                if (!c.dnnl) {
                    fprintf(stderr, PROG ": oneDNN %s %s: %s\n", L->name, pass_names[p], err);
                } else {
                    check_result chk = {1, 0, ""};
                    check_onednn(&chk, &c);
                    if (!chk.ok) {
                        failures++;
                        fprintf(stderr, PROG ": onednn %s %s: mismatch: %s (max rel. error %.3g)\n",
                                L->name, pass_names[p], chk.what, chk.max_err);
                    }
                    timing tm = measure(batch_onednn, &c);
                    add_row(&c, "onednn", onednn_peak, BATCH, 1, tm, &chk,
                            bench_onednn_impl(c.dnnl));
                    row *r = &rows[nrows - 1];
                    for (int i = first_row; i < nrows - 1; i++)
                        if (rows[i].gflops / r->gflops > r->ours_over) {
                            r->ours_over = rows[i].gflops / r->gflops;
                            r->ours_isa = rows[i].isa;
                        }
                    bench_onednn_destroy(c.dnnl);
                }
            }
#else
            (void)first_row;
#endif
        }
        layer_bufs_free(&B);
    }

#ifdef CNN_HAVE_DNNL
    if (use_onednn) {
        int threads = bench_onednn_os_threads();
        if (threads != 1)
            fprintf(stderr, PROG ": warning: the process had %d threads after the oneDNN runs\n",
                    threads);
        else if (!opt.json)
            snprintf(onednn_note, sizeof onednn_note,
                     "oneDNN ran on 1 thread (1 OS thread in "
                     "the process after its runs)");
        bench_onednn_shutdown();
    }
#endif

    if (opt.json) {
        print_json();
    } else {
        print_table();
        if (nrows)
            print_totals();
        if (use_onednn)
            printf("\n%s\n", onednn_note);
        if (failures)
            printf("\n%d kernel%s disagree%s with the reference (see stderr)\n", failures,
                   failures > 1 ? "s" : "", failures > 1 ? "" : "s");
    }
    free(rep_times);
    free(dirty_times);
    free(rows);
    return failures ? 1 : 0;
}
