/*
 * onednn.c — runs the seed network's layer shapes through oneDNN, for the
 * side-by-side rows of bench/kernels (see onednn.h for what each pass
 * does).  Written for the oneDNN 2.x C API (Debian bookworm ships 2.6.3:
 * operation descriptors, dnnl_primitive_desc_create); against 3.x it
 * builds a stub whose init reports that.
 *
 * One thread: Debian's libdnnl2 uses the OpenMP runtime (libgomp), which
 * reads OMP_NUM_THREADS when the library loads, before main, so the
 * environment cannot be set from inside; omp_set_num_threads(1) is called
 * instead before any primitive exists, and bench/kernels counts the
 * process's threads after the oneDNN runs.  Scratchpads are the user's
 * (allocated when a case is created), so a run allocates nothing.
 */
#include "onednn.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>

int bench_onednn_os_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

#if DNNL_VERSION_MAJOR >= 3

/* oneDNN 3.x removed the operation descriptors this file is written
   against; report it instead of failing the build. */
int bench_onednn_init(char *err, size_t errlen)
{
    snprintf(err, errlen, "oneDNN %d.%d: bench/onednn.c supports the 2.x C API only",
             DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR);
    return -1;
}
const char *bench_onednn_version(void) { return "3.x (unsupported)"; }
const char *bench_onednn_threading(void) { return "-"; }
bench_onednn_case *bench_onednn_create(const cnn_conv_geom *g, int dense_in, int dense_out,
                                       int pass, int relu, int batch, const bench_onednn_args *a,
                                       char *err, size_t errlen)
{
    (void)g, (void)dense_in, (void)dense_out, (void)pass, (void)relu, (void)batch, (void)a;
    snprintf(err, errlen, "oneDNN 3.x is not supported");
    return NULL;
}
int bench_onednn_run(bench_onednn_case *c)
{
    (void)c;
    return -1;
}
int bench_onednn_fetch(bench_onednn_case *c)
{
    (void)c;
    return -1;
}
const char *bench_onednn_impl(const bench_onednn_case *c)
{
    (void)c;
    return "-";
}
void bench_onednn_destroy(bench_onednn_case *c) { (void)c; }
void bench_onednn_shutdown(void) {}

#else

#define MAX_MEMS 8
#define MAX_ARGS 8

struct bench_onednn_case {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[MAX_ARGS];
    int nargs;
    dnnl_memory_t mems[MAX_MEMS]; /* every memory object the case owns */
    int nmems;
    /* backward-weights: oneDNN's dw -> the caller's [k][k][in_c][out_c] */
    dnnl_primitive_t dw_reorder;
    dnnl_memory_t dw_ours, dw_user;
    char impl[96];
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static char version[32], threading[160];

/* On failure: the reason into err, and off to the function's cleanup. */
#define TRY(call, what)                                                                            \
    do {                                                                                           \
        dnnl_status_t st_ = (call);                                                                \
        if (st_ != dnnl_success) {                                                                 \
            snprintf(err, errlen, "oneDNN: %s: %s", what, dnnl_status2str(st_));                   \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

int bench_onednn_init(char *err, size_t errlen)
{
    const dnnl_version_t *v = dnnl_version();
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    omp_set_num_threads(1);
    snprintf(threading, sizeof threading,
             "%s runtime, omp_set_num_threads(1): omp_get_max_threads() = %d",
             v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "non-OpenMP", omp_get_max_threads());
    if (v->cpu_runtime != DNNL_RUNTIME_OMP && v->cpu_runtime != DNNL_RUNTIME_SEQ) {
        snprintf(err, errlen, "oneDNN %s: CPU runtime %u cannot be limited to one thread here",
                 version, v->cpu_runtime);
        return -1;
    }
    if (v->cpu_runtime == DNNL_RUNTIME_SEQ)
        snprintf(threading, sizeof threading, "sequential runtime");
    TRY(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
    return 0;
fail:
    bench_onednn_shutdown();
    return -1;
}

const char *bench_onednn_version(void) { return version; }
const char *bench_onednn_threading(void) { return threading; }

void bench_onednn_shutdown(void)
{
    if (stream)
        dnnl_stream_destroy(stream);
    if (engine)
        dnnl_engine_destroy(engine);
    stream = NULL;
    engine = NULL;
}

/* A memory object the case owns: over the caller's buffer, or allocated by
   oneDNN when data is NULL. */
static dnnl_status_t own_memory(bench_onednn_case *c, dnnl_memory_t *m,
                                const dnnl_memory_desc_t *md, const float *data)
{
    if (c->nmems == MAX_MEMS)
        return dnnl_out_of_memory;
    dnnl_status_t st =
        dnnl_memory_create(m, md, engine, data ? (void *)data : DNNL_MEMORY_ALLOCATE);
    if (st == dnnl_success)
        c->mems[c->nmems++] = *m;
    return st;
}

static void add_arg(bench_onednn_case *c, int arg, dnnl_memory_t m)
{
    c->args[c->nargs].arg = arg;
    c->args[c->nargs].memory = m;
    c->nargs++;
}

/* Runs a reorder from one memory object to another, once. */
static dnnl_status_t reorder_once(dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_memory_desc_t *fmd, *tmd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_status_t st = dnnl_memory_get_memory_desc(from, &fmd);
    if (st == dnnl_success)
        st = dnnl_memory_get_memory_desc(to, &tmd);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&pd, fmd, engine, tmd, engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&p, pd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        st = dnnl_primitive_execute(p, stream, 2, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(stream);
    if (p)
        dnnl_primitive_destroy(p);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st;
}

/* The weights the primitive reads, in its layout want: the caller's own
   buffer when the layouts agree, else a reordered copy. */
static dnnl_status_t weights_for(bench_onednn_case *c, dnnl_memory_t *m,
                                 const dnnl_memory_desc_t *want, const dnnl_memory_desc_t *user_md,
                                 const float *w)
{
    if (dnnl_memory_desc_equal(want, user_md))
        return own_memory(c, m, user_md, w);
    dnnl_memory_t user;
    dnnl_status_t st = own_memory(c, &user, user_md, w);
    if (st == dnnl_success)
        st = own_memory(c, m, want, NULL);
    if (st == dnnl_success)
        st = reorder_once(user, *m);
    return st;
}

/* The operation descriptor of one layer and pass (forward ones for the
   backward passes' hints too). */
typedef union op_desc {
    dnnl_convolution_desc_t conv;
    dnnl_inner_product_desc_t ip;
} op_desc;

bench_onednn_case *bench_onednn_create(const cnn_conv_geom *g, int dense_in, int dense_out,
                                       int pass, int relu, int batch, const bench_onednn_args *a,
                                       char *err, size_t errlen)
{
    bench_onednn_case *c = calloc(1, sizeof *c);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!engine) {
        snprintf(err, errlen, "oneDNN: not initialised");
        goto fail;
    }

    /* Memory descriptors: ours (NHWC, [k][k][in][out] = hwio) and "any"
       for the weights oneDNN lays out itself. */
    dnnl_memory_desc_t src, dst, w_user, w_any, bias;
    dnnl_dims_t strides = {0}, pad_l = {0}, pad_r = {0};
    int out_c;
    if (g) {
        out_c = g->out_c;
        dnnl_dims_t sd = {batch, g->in_c, g->in_h, g->in_w};
        dnnl_dims_t dd = {batch, g->out_c, g->out_h, g->out_w};
        dnnl_dims_t wd = {g->out_c, g->in_c, g->k, g->k};
        TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_nhwc), "src md");
        TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nhwc), "dst md");
        TRY(dnnl_memory_desc_init_by_tag(&w_user, 4, wd, dnnl_f32, dnnl_hwio), "weights md");
        TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any),
            "weights md");
        strides[0] = strides[1] = g->stride;
        pad_l[0] = g->pad_top;
        pad_l[1] = g->pad_left;
        /* TF "same": whatever the output size needs below and right. */
        pad_r[0] = (dnnl_dim_t)(g->out_h - 1) * g->stride + g->k - g->in_h - g->pad_top;
        pad_r[1] = (dnnl_dim_t)(g->out_w - 1) * g->stride + g->k - g->in_w - g->pad_left;
    } else {
        out_c = dense_out;
        dnnl_dims_t sd = {batch, dense_in}, dd = {batch, dense_out};
        dnnl_dims_t wd = {dense_out, dense_in};
        TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_nc), "src md");
        TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_nc), "dst md");
        TRY(dnnl_memory_desc_init_by_tag(&w_user, 2, wd, dnnl_f32, dnnl_io), "weights md");
        TRY(dnnl_memory_desc_init_by_tag(&w_any, 2, wd, dnnl_f32, dnnl_format_tag_any),
            "weights md");
    }
    dnnl_dims_t bd = {out_c};
    TRY(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x), "bias md");

    TRY(dnnl_primitive_attr_create(&attr), "attributes");
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad");

    /* The forward descriptor: the primitive itself, or the backward
       passes' hint. */
    op_desc fwd, op;
    if (g)
        TRY(dnnl_convolution_forward_desc_init(&fwd.conv, dnnl_forward_training,
                                               dnnl_convolution_direct, &src, &w_any, &bias, &dst,
                                               strides, pad_l, pad_r),
            "convolution forward");
    else
        TRY(dnnl_inner_product_forward_desc_init(&fwd.ip, dnnl_forward_training, &src, &w_any,
                                                 &bias, &dst),
            "inner product forward");

    if (pass == BENCH_FORWARD) {
        if (relu) {
            TRY(dnnl_post_ops_create(&post_ops), "post-ops");
            TRY(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f),
                "ReLU post-op");
            TRY(dnnl_primitive_attr_set_post_ops(attr, post_ops), "post-ops");
        }
        TRY(dnnl_primitive_desc_create(&pd, &fwd, attr, engine, NULL), "forward primitive");
        dnnl_memory_t m;
        TRY(own_memory(c, &m, &src, a->x), "src");
        add_arg(c, DNNL_ARG_SRC, m);
        TRY(weights_for(c, &m, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &w_user,
                        a->w),
            "weights");
        add_arg(c, DNNL_ARG_WEIGHTS, m);
        TRY(own_memory(c, &m, &bias, a->b), "bias");
        add_arg(c, DNNL_ARG_BIAS, m);
        TRY(own_memory(c, &m, &dst, a->y), "dst");
        add_arg(c, DNNL_ARG_DST, m);
    } else {
        TRY(dnnl_primitive_desc_create(&hint, &fwd, NULL, engine, NULL), "forward hint");
        if (pass == BENCH_BACKWARD_DATA) {
            if (g)
                TRY(dnnl_convolution_backward_data_desc_init(&op.conv, dnnl_convolution_direct,
                                                             &src, &w_any, &dst, strides, pad_l,
                                                             pad_r),
                    "convolution backward-data");
            else
                TRY(dnnl_inner_product_backward_data_desc_init(&op.ip, &src, &w_any, &dst),
                    "inner product backward-data");
            TRY(dnnl_primitive_desc_create(&pd, &op, attr, engine, hint),
                "backward-data primitive");
            dnnl_memory_t m;
            TRY(own_memory(c, &m, &dst, a->dy), "diff dst");
            add_arg(c, DNNL_ARG_DIFF_DST, m);
            TRY(weights_for(c, &m, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                            &w_user, a->w),
                "weights");
            add_arg(c, DNNL_ARG_WEIGHTS, m);
            TRY(own_memory(c, &m, &src, a->dx), "diff src");
            add_arg(c, DNNL_ARG_DIFF_SRC, m);
        } else {
            if (g)
                TRY(dnnl_convolution_backward_weights_desc_init(&op.conv, dnnl_convolution_direct,
                                                                &src, &w_any, &bias, &dst, strides,
                                                                pad_l, pad_r),
                    "convolution backward-weights");
            else
                TRY(dnnl_inner_product_backward_weights_desc_init(&op.ip, &src, &w_any, &bias,
                                                                  &dst),
                    "inner product backward-weights");
            TRY(dnnl_primitive_desc_create(&pd, &op, attr, engine, hint),
                "backward-weights primitive");
            dnnl_memory_t m;
            TRY(own_memory(c, &m, &src, a->x), "src");
            add_arg(c, DNNL_ARG_SRC, m);
            TRY(own_memory(c, &m, &dst, a->dy), "diff dst");
            add_arg(c, DNNL_ARG_DIFF_DST, m);
            const dnnl_memory_desc_t *dw_md =
                dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
            if (dnnl_memory_desc_equal(dw_md, &w_user)) {
                TRY(own_memory(c, &c->dw_ours, &w_user, a->dw), "diff weights");
            } else {
                dnnl_primitive_desc_t rpd;
                TRY(own_memory(c, &c->dw_ours, dw_md, NULL), "diff weights");
                TRY(own_memory(c, &c->dw_user, &w_user, a->dw), "diff weights");
                TRY(dnnl_reorder_primitive_desc_create(&rpd, dw_md, engine, &w_user, engine, NULL),
                    "diff weights reorder");
                dnnl_status_t st = dnnl_primitive_create(&c->dw_reorder, rpd);
                dnnl_primitive_desc_destroy(rpd);
                TRY(st, "diff weights reorder");
            }
            add_arg(c, DNNL_ARG_DIFF_WEIGHTS, c->dw_ours);
            TRY(own_memory(c, &m, &bias, a->db), "diff bias");
            add_arg(c, DNNL_ARG_DIFF_BIAS, m);
        }
    }

    const dnnl_memory_desc_t *scratch =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (scratch && dnnl_memory_desc_get_size(scratch) > 0) {
        dnnl_memory_t m;
        TRY(own_memory(c, &m, scratch, NULL), "scratchpad");
        add_arg(c, DNNL_ARG_SCRATCHPAD, m);
    }
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(c->impl, sizeof c->impl, "%s", impl);
    else
        snprintf(c->impl, sizeof c->impl, "?");
    TRY(dnnl_primitive_create(&c->prim, pd), "primitive");

    dnnl_primitive_desc_destroy(pd);
    if (hint)
        dnnl_primitive_desc_destroy(hint);
    if (post_ops)
        dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    return c;

fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (hint)
        dnnl_primitive_desc_destroy(hint);
    if (post_ops)
        dnnl_post_ops_destroy(post_ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    bench_onednn_destroy(c);
    return NULL;
}

int bench_onednn_run(bench_onednn_case *c)
{
    if (dnnl_primitive_execute(c->prim, stream, c->nargs, c->args) != dnnl_success)
        return -1;
    return dnnl_stream_wait(stream) == dnnl_success ? 0 : -1;
}

int bench_onednn_fetch(bench_onednn_case *c)
{
    if (!c->dw_reorder)
        return 0;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, c->dw_ours}, {DNNL_ARG_TO, c->dw_user}};
    if (dnnl_primitive_execute(c->dw_reorder, stream, 2, args) != dnnl_success)
        return -1;
    return dnnl_stream_wait(stream) == dnnl_success ? 0 : -1;
}

const char *bench_onednn_impl(const bench_onednn_case *c) { return c->impl; }

void bench_onednn_destroy(bench_onednn_case *c)
{
    if (!c)
        return;
    if (c->prim)
        dnnl_primitive_destroy(c->prim);
    if (c->dw_reorder)
        dnnl_primitive_destroy(c->dw_reorder);
    for (int i = 0; i < c->nmems; i++)
        dnnl_memory_destroy(c->mems[i]);
    free(c);
}

#endif /* DNNL_VERSION_MAJOR */
