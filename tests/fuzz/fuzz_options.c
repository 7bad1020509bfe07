/*
 * fuzz_options.c — libFuzzer harness for the cnn command's numeric and
 * on/off option parsers (src/cli/options.c).
 *
 * Input: byte 0 picks the parser (and, for the ranged ones, one of the
 * ranges the command uses), the rest is the value as a NUL-terminated
 * string.  An accepted value must lie in its range (floats finite, in
 * (lo, hi]) and print nothing; a rejected one must print exactly one line
 * starting with "cnn: " and leave the output untouched.  Messages are
 * captured in memory, not shown.  Seeds: tests/fuzz/corpus/fuzz_options/.
 */
#include <math.h>

#include "fuzz_common.h"
#include "options.h"

static const struct {
    long lo, hi;
} long_ranges[] = {{0, 1000000}, {1, 1 << 20}, {1, 4096}, {1, 1L << 40}, {-5, 5}};
static const struct {
    double lo, hi;
} float_ranges[] = {{0, 1e9}, {0, 1}, {-1, 1}};

/* The longest message: 1023 control bytes shown as \xNN each, plus the
   option and the range, fits with room to spare. */
static char msg[8192];

/* The captured message must be one "cnn: " line (rejected) or empty. */
static void check_message(int accepted, size_t len)
{
    if (accepted) {
        if (len != 0)
            abort();
        return;
    }
    if (len < 6 || strncmp(msg, "cnn: ", 5) != 0 || msg[len - 1] != '\n' ||
        memchr(msg, '\n', len - 1) != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1024)
        return 0;
    unsigned pick = data[0];
    char *s = fuzz_cstring(data + 1, size - 1);

    FILE *saved = stderr;
    memset(msg, 0, sizeof msg);
    FILE *cap = fmemopen(msg, sizeof msg - 1, "w");
    if (!cap)
        abort();
    stderr = cap;

    int ok;
    switch (pick % 5) {
    case 0: {
        unsigned r = (pick / 5) % (sizeof long_ranges / sizeof *long_ranges);
        long v = 12345;
        ok = opt_long("--steps", s, long_ranges[r].lo, long_ranges[r].hi, &v);
        if (ok ? v < long_ranges[r].lo || v > long_ranges[r].hi : v != 12345)
            abort();
        break;
    }
    case 1: {
        unsigned r = (pick / 5) % (sizeof long_ranges / sizeof *long_ranges);
        long lo = long_ranges[r].lo, hi = long_ranges[r].hi > 1000000 ? 1000000 : long_ranges[r].hi;
        int v = 12345;
        ok = opt_int("--epochs", s, (int)lo, (int)hi, &v);
        if (ok ? v < lo || v > hi : v != 12345)
            abort();
        break;
    }
    case 2: {
        uint64_t v = 12345;
        ok = opt_u64("--seed", s, &v);
        if (!ok && v != 12345)
            abort();
        break;
    }
    case 3: {
        unsigned r = (pick / 5) % (sizeof float_ranges / sizeof *float_ranges);
        float v = 0.5f;
        ok = opt_float("--lr", s, float_ranges[r].lo, float_ranges[r].hi, &v);
        /* the float may round up to hi's float, never past it */
        if (ok ? !isfinite(v) || !(v >= (float)float_ranges[r].lo) ||
                     v > (float)float_ranges[r].hi
               : v != 0.5f)
            abort();
        break;
    }
    default: {
        int v = 7;
        ok = opt_onoff("--shuffle", s, &v);
        if (ok ? (v != 0 && v != 1) || (strcmp(s, "on") && strcmp(s, "off")) : v != 7)
            abort();
        break;
    }
    }
    fflush(cap);
    long len = ftell(cap);
    fclose(cap);
    stderr = saved;
    check_message(ok, len > 0 ? (size_t)len : 0);
    free(s);
    return 0;
}
