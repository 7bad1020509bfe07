/*
 * fuzz_common.h — helpers shared by the libFuzzer harnesses in tests/fuzz/:
 * a private temporary directory per fuzzing process (the public loaders take
 * paths, so each input is written to a file there and loaded back), the
 * allocator settings the harnesses run under, and a way to keep the
 * library's and the CLI's stderr messages out of the fuzzer's output while
 * sanitizer reports still reach file descriptor 2.
 *
 * Header-only on purpose: each harness is one translation unit linked with
 * build-fuzz/libcnn.a by scripts/fuzz.sh.
 */
#ifndef CNN_FUZZ_COMMON_H
#define CNN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Allocations larger than 512 MiB return NULL instead of aborting, so a
 * header or spec that asks for terabytes exercises the library's
 * out-of-memory path (it must then fail with CNN_ERR_NOMEM, not crash).
 * libFuzzer's own -malloc_limit_mb still flags anything between that and
 * its limit.  Kept in the binary so a reproducer behaves the same when run
 * by hand.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=512:"
           "detect_leaks=1";
}

/* The directory, created on first use and removed at exit. */
static char fuzz_dir[256];

static void fuzz_cleanup(void)
{
    char cmd[300];
    if (fuzz_dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
        if (system(cmd) != 0) {
            /* nothing to do: leaving a temp dir behind is harmless */
        }
    }
}

static const char *fuzz_tmpdir(void)
{
    if (fuzz_dir[0])
        return fuzz_dir;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/cnn-fuzz.XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    return fuzz_dir;
}

/* fuzz_tmpdir()/name, written with size bytes of data; aborts on I/O
   failure (a harness problem, not a finding). */
static const char *fuzz_write_file(const char *name, const void *data,
                                   size_t size, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* Swap stderr (the stdio stream, not descriptor 2) for /dev/null, so
   messages printed with fprintf(stderr, ...) vanish while ASan, UBSan and
   libFuzzer, which write to descriptor 2 directly, are still heard. */
static void fuzz_quiet_stderr(void)
{
    static FILE *null_stream;
    if (!null_stream) {
        null_stream = fopen("/dev/null", "w");
        if (!null_stream)
            abort();
    }
    stderr = null_stream;
}

/* The input as a NUL-terminated string (the caller frees it). */
static char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif /* CNN_FUZZ_COMMON_H */
