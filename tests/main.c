/*
 * main.c — the test runner: runs every test table (or the tests whose
 * names contain one of the filters given) and ends with the line
 * "N passed, N failed"; --list prints the names, --help the usage, and a
 * filter that selects no test is an error (exit 2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cnn.h"
#include "test.h"
#include "tests.h"

int test_failures;
static const char *current_test;

void test_report(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  FAIL %s (%s:%d): ", current_test, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void test_skip(const char *why)
{
    fprintf(stderr, "  skip %s: %s\n", current_test, why);
}

char test_out[1 << 16], test_err[1 << 14];

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

int test_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

int test_cnn(const char *args)
{
    const char *bin = getenv("CNN_BIN");
    if (!bin || !*bin)
        bin = "./cnn";
    if (access(bin, X_OK) != 0)
        return -1;
    size_t len = strlen(args) + strlen(bin) + 1200;
    char *cmd = malloc(len), out[512], err[512];
    if (!cmd)
        return -2;
    snprintf(out, sizeof out, "%s/cli.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/cli.err", test_tmpdir());
    snprintf(cmd, len, "%s %s >%s 2>%s </dev/null", bin, args, out, err);
    int status = system(cmd);
    free(cmd);
    slurp(out, test_out, sizeof test_out);
    slurp(err, test_err, sizeof test_err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

struct cnn_dataset *test_bands(int count, int h, int w, int classes, uint64_t seed)
{
    cnn_dataset *ds = calloc(1, sizeof *ds);
    ds->count = count;
    ds->height = h, ds->width = w, ds->channels = 1;
    ds->classes = classes;
    ds->images = malloc((size_t)count * h * w);
    ds->labels = malloc((size_t)count);
    uint64_t s = seed;
    for (int i = 0; i < count; i++) {
        const int label = i % classes;
        ds->labels[i] = (uint8_t)label;
        for (int p = 0; p < h * w; p++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int band = (p % w) * classes / w;
            ds->images[(size_t)i * h * w + p] =
                (uint8_t)((int)(s >> 58) + (band == label ? 180 : 20));
        }
    }
    return ds;
}

void test_fill_uniform(float *p, size_t n, float lo, float hi, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)(*state >> 40) / 16777216.0f;
        p[i] = lo + (hi - lo) * u;
    }
}

uint32_t test_below(uint64_t *state, uint32_t bound)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33) % bound;
}

#define GUARD_VALUE 12345.0f /* what the guard floats hold */

float *test_alloc_guarded(size_t count, float fill)
{
    float *p = malloc((count + TEST_GUARD) * sizeof *p);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    for (size_t i = 0; i < count; i++)
        p[i] = fill;
    for (size_t i = 0; i < TEST_GUARD; i++)
        p[count + i] = GUARD_VALUE;
    return p;
}

int test_guard_intact(const float *p, size_t count)
{
    for (size_t i = 0; i < TEST_GUARD; i++)
        if (p[count + i] != GUARD_VALUE)
            return 0;
    return 1;
}

int test_bits_equal(const float *a, const float *b, size_t count)
{
    return memcmp(a, b, count * sizeof *a) == 0;
}

double test_max_rel_err(const float *a, const float *b, size_t n, size_t *where)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        if (d < 0) d = -d;
        double s = b[i] < 0 ? -(double)b[i] : (double)b[i];
        double e = d / (s > 1 ? s : 1);
        if (e > worst || e != e) {
            worst = e;
            at = i;
            if (e != e) break;
        }
    }
    if (where) *where = at;
    return worst;
}

static char tmpdir_path[256];

const char *test_tmpdir(void)
{
    if (!tmpdir_path[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir_path, sizeof tmpdir_path, "%s/cnn-test-XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir_path)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir_path;
}

const char *test_write_file(const char *name, const void *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size)) {
        perror(path);
        exit(2);
    }
    fclose(f);
    return path;
}

const char *test_mnist_dir(void)
{
    static const char *candidates[] = {"data/mnist", "../data/mnist"};
    const char *env = getenv("CNN_MNIST_DIR");
    if (env && *env)
        return env;
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        char p[256];
        struct stat st;
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", candidates[i]);
        if (stat(p, &st) == 0)
            return candidates[i];
    }
    return NULL;
}

static void remove_tmpdir(void)
{
    if (tmpdir_path[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir_path);
    }
}

/* The full name "group/name" of a test case, in buf. */
static const char *full_name(char *buf, size_t cap, const test_table *t,
                             const test_case *c)
{
    snprintf(buf, cap, "%s/%s", t->group, c->name);
    return buf;
}

/* Whether the test is selected by the filters (every test when there are
   none): its full name contains one of them. */
static int selected(const char *name, int nfilters, char **filters)
{
    if (nfilters == 0)
        return 1;
    for (int i = 0; i < nfilters; i++)
        if (strstr(name, filters[i]))
            return 1;
    return 0;
}

/* The number of linked tests whose full names contain filter. */
static int matches(const char *filter)
{
    int n = 0;
    char full[160];
    for (const test_table *t = all_tests; t->group; t++)
        for (size_t i = 0; t->cases && t->cases[i].fn; i++)
            n += strstr(full_name(full, sizeof full, t, &t->cases[i]),
                        filter) != NULL;
    return n;
}

static void usage(FILE *to, const char *prog)
{
    fprintf(to,
            "usage: %s [--list] [FILTER]...\n"
            "Runs the tests whose names (group/name, as --list prints them)\n"
            "contain one of the FILTERs, or every test when none is given,\n"
            "and ends with the line \"N passed, N failed\"; exits 1 when a\n"
            "test failed.  A FILTER that selects no test is an error (exit 2).\n"
            "  --list   print the selected tests' names, one a line, and run none\n"
            "  --help   print this text\n"
            "Environment: CNN_BIN (the command the CLI tests run, default ./cnn),\n"
            "CNN_MNIST_DIR (MNIST for the real-data tests), TMPDIR.\n",
            prog);
}

/* Parse the options (they may stand anywhere; "--" ends them) and move
   the filters to the front of argv.  Returns the number of filters, or -1
   after --help, or -2 after a bad option (message printed). */
static int parse_args(int argc, char **argv, int *list)
{
    int n = 0, options = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && strcmp(a, "--") == 0) {
            options = 0;
        } else if (options && (strcmp(a, "--help") == 0 ||
                               strcmp(a, "-h") == 0)) {
            return -1;
        } else if (options && strcmp(a, "--list") == 0) {
            *list = 1;
        } else if (options && a[0] == '-' && a[1]) {
            fprintf(stderr, "%s: unknown option '%s' (--help lists them)\n",
                    argv[0], a);
            return -2;
        } else if (!a[0]) {
            fprintf(stderr, "%s: an empty filter selects every test; give "
                    "none instead\n", argv[0]);
            return -2;
        } else {
            argv[1 + n++] = argv[i];
        }
    }
    return n;
}

/* Every filter must select a test: a mistyped name is an error, not a
   run of nothing that reports success.  Prints one line naming the
   filters that select none; returns their number. */
static int unmatched_filters(int nfilters, char **filters, const char *prog)
{
    int bad = 0;
    for (int i = 0; i < nfilters; i++) {
        if (matches(filters[i]))
            continue;
        if (!bad++)
            fprintf(stderr, "%s: no test matches", prog);
        fprintf(stderr, "%s '%s'", bad > 1 ? "," : "", filters[i]);
    }
    if (bad)
        fprintf(stderr, " (--list prints the names)\n");
    return bad;
}

int main(int argc, char **argv)
{
    int list = 0;
    int nfilters = parse_args(argc, argv, &list);
    if (nfilters == -1) {
        usage(stdout, argv[0]);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    if (nfilters < 0)
        return 2;
    char **filters = argv + 1;
    if (unmatched_filters(nfilters, filters, argv[0]))
        return 2;

    int passed = 0, failed = 0;
    atexit(remove_tmpdir);
    for (const test_table *t = all_tests; t->group; t++) {
        if (!t->cases)
            continue;
        for (size_t i = 0; t->cases[i].fn; i++) {
            const test_case *c = &t->cases[i];
            char full[160];
            full_name(full, sizeof full, t, c);
            if (!selected(full, nfilters, filters))
                continue;
            if (list) {
                printf("%s\n", full);
                continue;
            }
            current_test = full;
            test_failures = 0;
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            c->fn();
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
            if (test_failures) {
                failed++;
                fprintf(stderr, "FAIL %s (%.2fs)\n", full, s);
            } else {
                passed++;
                fprintf(stderr, "ok   %s (%.2fs)\n", full, s);
            }
        }
    }
    if (list)
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
