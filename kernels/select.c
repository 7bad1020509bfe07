/*
 * select.c — the kernel tables (cnn_kernels_ref, _portable, _avx2,
 * _avx512, _neon), derived from the kernel lists of list.c: a table's
 * select_conv walks the conv lists for its ISA (list.h says how), its
 * dense kernels are its ISA's entry of the dense list.
 */
#include <string.h>

#include "list.h"

const char *cnn_kernels_fallback(const char *isa)
{
    static const char *const simd[] = {"avx2", "avx512", "neon"};
    for (size_t i = 0; i < sizeof simd / sizeof *simd; i++)
        if (!strcmp(isa, simd[i]))
            return "scalar";
    return NULL;
}

int cnn_conv_entry_has(const cnn_conv_entry *e, int p)
{
    switch (p) {
    case CNN_PASS_FORWARD:
        return e->k.forward != NULL;
    case CNN_PASS_BACKWARD_DATA:
        return e->k.backward_data != NULL;
    default:
        return e->k.backward_weights != NULL;
    }
}

/* Fills the passes of c still missing from e (which fits the geometry). */
static void take(cnn_conv_choice *c, const cnn_conv_entry *e)
{
    if (!c->k.forward && e->k.forward) {
        c->k.forward = e->k.forward;
        c->from[CNN_PASS_FORWARD] = e;
    }
    if (!c->k.backward_data && e->k.backward_data) {
        c->k.backward_data = e->k.backward_data;
        c->k.pack_backward_data = e->k.pack_backward_data;
        c->from[CNN_PASS_BACKWARD_DATA] = e;
    }
    if (!c->k.backward_weights && e->k.backward_weights) {
        c->k.backward_weights = e->k.backward_weights;
        c->from[CNN_PASS_BACKWARD_WEIGHTS] = e;
    }
}

static int complete(const cnn_conv_choice *c)
{
    return c->k.forward && c->k.backward_data && c->k.backward_weights;
}

cnn_conv_choice cnn_conv_choose(const char *isa, const cnn_conv_geom *g)
{
    cnn_conv_choice c;
    memset(&c, 0, sizeof c);
    for (const char *set = isa; set && !complete(&c);
         set = cnn_kernels_fallback(set))
        for (int f = 0; cnn_conv_families[f] && !complete(&c); f++)
            for (const cnn_conv_entry *e = cnn_conv_families[f]; e->isa; e++)
                if (!strcmp(e->isa, set) && e->fits(g))
                    take(&c, e);
    return c;
}

const cnn_dense_entry *cnn_dense_entry_of(const char *isa)
{
    for (const cnn_dense_entry *e = cnn_dense_list; e->isa; e++)
        if (!strcmp(e->isa, isa))
            return e;
    return NULL;
}

/* ------------------------------------------------------------- tables */

/* The table of one ISA: select_conv by the lists, dense from the dense
   list's macro (a table is a constant, so it names the functions the
   dense entry names; tests/test_kernels.c checks that they agree). */
#define CNN_TABLE(var, name, dense_isa)                                        \
    static cnn_conv_kernels select_##dense_isa(const cnn_conv_geom *g)         \
    {                                                                          \
        return cnn_conv_choose(name, g).k;                                     \
    }                                                                          \
    const cnn_kernel_table var = {                                             \
        .isa = name,                                                           \
        .select_conv = select_##dense_isa,                                     \
        .dense = CNN_DENSE_KERNELS(dense_isa),                                 \
    }

CNN_TABLE(cnn_kernels_ref, "ref", ref);
CNN_TABLE(cnn_kernels_portable, "scalar", scalar);
#if defined(__x86_64__)
CNN_TABLE(cnn_kernels_avx2, "avx2", avx2);
CNN_TABLE(cnn_kernels_avx512, "avx512", avx512);
#endif
#if defined(__aarch64__)
CNN_TABLE(cnn_kernels_neon, "neon", neon);
#endif
