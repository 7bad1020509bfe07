/*
 * workspace.c — per-thread buffers for forward/backward on a group of
 * samples, their size against the machine's memory, group sizing, and
 * uint8-to-float image conversion.
 */
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

int cnn_workspace_alloc(cnn_workspace *w, const cnn_model *m, int group,
                        int with_backward)
{
    memset(w, 0, sizeof *w);
    w->group = group;
    w->x = cnn_aligned_calloc((size_t)group * cnn_model_input_size(m) * sizeof(float));
    w->acts = cnn_aligned_calloc((size_t)group * m->act_floats * sizeof(float));
    int ok = w->x && w->acts;
    if (with_backward) {
        w->scratch = cnn_aligned_calloc(2 * (size_t)group * m->max_act * sizeof(float));
        w->dlogits = cnn_aligned_calloc((size_t)group * m->classes * sizeof(float));
        ok = ok && w->scratch && w->dlogits;
    }
    if (!ok) {
        cnn_workspace_free(w);
        return CNN_ERR_NOMEM;
    }
    return CNN_OK;
}

void cnn_workspace_free(cnn_workspace *w)
{
    cnn_aligned_free(w->x);
    cnn_aligned_free(w->acts);
    cnn_aligned_free(w->scratch);
    cnn_aligned_free(w->dlogits);
    memset(w, 0, sizeof *w);
}

/* Bytes of a cnn_aligned_calloc of floats (rounded up to 64 bytes). */
static double aligned_floats(double floats)
{
    return floats > 0 ? 64.0 * ceil(floats * sizeof(float) / 64.0) : 0;
}

double cnn_workspace_bytes(const cnn_model *m, int group, int with_backward)
{
    double g = group;
    double bytes = aligned_floats(g * (double)cnn_model_input_size(m)) +
                   aligned_floats(g * (double)m->act_floats);
    if (with_backward) {
        bytes += aligned_floats(2 * g * (double)m->max_act) +
                 aligned_floats(g * (double)m->classes);
    }
    return bytes;
}

double cnn_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (double)pages * (double)page : 0;
}

/* "23.4 GiB", "512 KiB", "100 bytes" */
static void format_bytes(double bytes, char *out, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(out, size, "%.0f bytes", bytes);
        return;
    }
    int u = 0;
    bytes /= 1024;
    while (bytes >= 1024 && u + 1 < (int)(sizeof units / sizeof *units)) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, size, "%.1f %s", bytes, units[u]);
}

int cnn_memory_check(double bytes, int threads, const char *who, const char *what)
{
    double have = cnn_memory_bytes();
    if (have <= 0 || bytes <= have)
        return CNN_OK;
    char need[32], mem[32];
    format_bytes(bytes, need, sizeof need);
    format_bytes(have, mem, sizeof mem);
    return cnn_fail(CNN_ERR_NOMEM, "%s: %s needs %s of buffers for %d thread%s, more than "
                    "this machine's %s of memory", who, what, need, threads,
                    threads == 1 ? "" : "s", mem);
}

static void prefetch_image(const uint8_t *p, size_t size)
{
    for (size_t j = 0; j < size; j += 64)
        __builtin_prefetch(p + j);
}

void cnn_gather_images(const cnn_model *m, const uint8_t *images,
                       const int32_t *idx, long first, int n, float *x)
{
    size_t size = cnn_model_input_size(m);
    /* The images are scattered over the data set (out of cache): their
       lines are asked for AHEAD images before they are read, so the loads
       overlap. */
    enum { AHEAD = 64 };
    for (int i = 0; i < n + AHEAD; i++) {
        if (i < n)
            prefetch_image(images + (size_t)(idx ? idx[first + i] : first + i) * size, size);
        if (i < AHEAD)
            continue;
        const int k = i - AHEAD;
        const uint8_t *p = images + (size_t)(idx ? idx[first + k] : first + k) * size;
        float *q = x + (size_t)k * size;
        for (size_t j = 0; j < size; j++)
            q[j] = (float)p[j] / 255.0f;
    }
}

int cnn_group_size(const cnn_model *m, int share)
{
    size_t act_bytes = m->act_floats * sizeof(float);
    size_t streamed = 0; /* largest weight tensor a kind streams */
    for (int i = 0; i < m->nlayers; i++) {
        const cnn_layer *L = &m->layers[i];
        if (L->op->streams_weights && L->t_count[0] > streamed)
            streamed = L->t_count[0];
    }
    int group = act_bytes ? (int)((256u << 10) / act_bytes) : share;
    /* Weights a kind streams once per call (dense), beyond L2: take the
       whole share at once. */
    if (streamed * sizeof(float) > (1u << 20))
        group = share;
    if (group > share)
        group = share;
    return group < 1 ? 1 : group;
}
