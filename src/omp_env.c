/*
 * omp_env.c — the OMP_NUM_THREADS parser, and the pre-initialiser that
 * takes a malformed or empty OMP_NUM_THREADS out of the environment before
 * libgomp's constructor can complain about it (see omp_env.h).
 *
 * The pre-initialiser runs before the C library is fully set up, so it and
 * the parser use no library function: plain loops over the bytes.
 */
#include "omp_env.h"

#include <limits.h>
#include <stddef.h>

static char rejected[64];
static int have_rejected;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* One count at *p (spaces, optional '+', digits, spaces); advances *p. */
static int parse_count(const char **p, int *out)
{
    const char *s = *p;
    while (is_space(*s))
        s++;
    if (*s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return 0;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (v > INT_MAX)
            return 0;
    }
    while (is_space(*s))
        s++;
    if (v < 1)
        return 0;
    *p = s;
    *out = (int)v;
    return 1;
}

int cnn_omp_env_parse(const char *value, int *first)
{
    const char *p = value;
    int n;
    if (!parse_count(&p, first))
        return 0;
    while (*p == ',') {
        p++;
        if (!parse_count(&p, &n))
            return 0;
    }
    return *p == 0;
}

const char *cnn_omp_env_rejected(void) { return have_rejected ? rejected : NULL; }

/* Not in the shared library (CNN_SHARED_LIB): a DSO can have no
   .preinit_array, and libgomp, which it loads, has read the variable
   before any constructor of its own could run (see omp_env.h). */
#if defined(__ELF__) && !defined(CNN_SHARED_LIB)
/* Take every leading malformed OMP_NUM_THREADS entry out of envp (the
   array the C library's environ points at), remembering the first; getenv
   then finds the next well-formed one, or none.  An empty value goes
   silently. */
static void scrub_omp_num_threads(int argc, char **argv, char **envp)
{
    static const char name[] = "OMP_NUM_THREADS=";
    (void)argc, (void)argv;
    if (!envp)
        return;
    for (char **e = envp; *e;) {
        size_t k = 0;
        while (name[k] && (*e)[k] == name[k])
            k++;
        if (name[k]) {
            e++;
            continue;
        }
        const char *value = *e + k;
        int first;
        if (cnn_omp_env_parse(value, &first))
            return; /* the one getenv finds is good */
        if (*value && !have_rejected) {
            size_t i = 0;
            for (; value[i] && i + 1 < sizeof rejected; i++)
                rejected[i] = value[i];
            rejected[i] = 0;
            have_rejected = 1;
        }
        for (char **d = e; *d; d++) /* remove *e, keep the order */
            d[0] = d[1];
    }
}

__attribute__((section(".preinit_array"), used)) static void (*const scrub_entry)(
    int, char **, char **) = scrub_omp_num_threads;
#endif
