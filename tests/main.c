/*
 * main.c — the test runner: runs every test table (or those whose names
 * contain the arguments) and ends with the line "N passed, N failed".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

void test_fill_uniform(float *p, size_t n, float lo, float hi, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)(*state >> 40) / 16777216.0f;
        p[i] = lo + (hi - lo) * u;
    }
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

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    atexit(remove_tmpdir);
    for (const test_table *t = all_tests; t->group; t++) {
        if (!t->cases)
            continue;
        for (size_t i = 0; t->cases[i].fn; i++) {
            const test_case *c = &t->cases[i];
            char full[160];
            snprintf(full, sizeof full, "%s/%s", t->group, c->name);
            if (!selected(full, argc, argv))
                continue;
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
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
