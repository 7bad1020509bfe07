/*
 * test.h — the tiny test framework: test cases as (name, function) pairs
 * grouped in per-file tables, CHECK macros that count failures, helpers for
 * random data and temporary files.
 */
#ifndef CNN_TEST_H
#define CNN_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Whether the runner is built with a sanitizer, which makes training many
   times slower (and LLVM's libomp under ASan leaks as teams grow). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/* Failed checks of the test now running (reset per test by the runner). */
extern int test_failures;

void test_report(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CHECK(cond, printf-args...): record a failure with a message. */
#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            test_failures++;                                                 \
            test_report(__FILE__, __LINE__, __VA_ARGS__);                    \
        }                                                                    \
    } while (0)

/* A learnable synthetic one-channel set of h x w images: image i has
   class i % classes, the brightest of `classes` vertical bands, with noise
   from a PRNG started at seed.  Free with cnn_dataset_free. */
struct cnn_dataset *test_bands(int count, int h, int w, int classes, uint64_t seed);

/* Fill with uniform floats in [lo, hi) from a small deterministic PRNG. */
void test_fill_uniform(float *p, size_t n, float lo, float hi, uint64_t *state);
/* A draw below bound from the same generator. */
uint32_t test_below(uint64_t *state, uint32_t bound);
/* An output buffer of count floats, pre-filled with fill (NaN shows any
   element left unwritten), followed by TEST_GUARD guard floats; exits 2
   when out of memory.  test_guard_intact: whether its guard still holds. */
enum { TEST_GUARD = 16 };
float *test_alloc_guarded(size_t count, float fill);
int test_guard_intact(const float *p, size_t count);
/* Whether count floats have the same bits. */
int test_bits_equal(const float *a, const float *b, size_t count);
/* Largest |a-b| / max(1, |b|) over n floats; its index in *where. */
double test_max_rel_err(const float *a, const float *b, size_t n, size_t *where);
/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the runner
   removes it at exit.  Returns its path (static storage). */
const char *test_tmpdir(void);
/* Write bytes to dir/name; returns the full path (static storage, reused). */
const char *test_write_file(const char *name, const void *data, size_t size);
/* MNIST directory for tests that need real data, or NULL (then skip). */
const char *test_mnist_dir(void);
/* Run "./cnn ARGS" ($CNN_BIN instead of ./cnn when set) from the repository root with stdin from /dev/null;
   returns its exit status (-1 when ./cnn is missing, -2 when it did not
   exit normally, e.g. killed by a signal).  Its stdout and stderr are left
   in test_out and test_err (NUL-terminated, truncated if long). */
int test_cnn(const char *args);
extern char test_out[1 << 16], test_err[1 << 14];
/* The number of newlines in s. */
int test_count_lines(const char *s);
/* A one-line error on stderr (test_err) that mentions `what`. */
#define CHECK_ONE_LINE_ERROR(what)                                           \
    CHECK(test_count_lines(test_err) == 1 && strstr(test_err, what), "stderr: '%s'", test_err)
/* Print a skip note for the running test. */
void test_skip(const char *why);

#endif /* CNN_TEST_H */
