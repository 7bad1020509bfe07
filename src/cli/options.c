/*
 * options.c — strict numeric and on/off option parsing for the cnn command:
 * the whole string must be a number in range, else a one-line error.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The error line; bytes that could break it (control characters, such as
   a newline inside the value) are shown as \xNN. */
static int bad(const char *opt, const char *s, const char *what)
{
    fprintf(stderr, "cnn: %s: expected %s, got '", opt, what);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputs("'\n", stderr);
    return 0;
}

int opt_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char what[96], *end;
    snprintf(what, sizeof what, "an integer from %ld to %ld", lo, hi);
    if (isspace((unsigned char)*s))
        return bad(opt, s, what);
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return bad(opt, s, what);
    *out = v;
    return 1;
}

int opt_long_unit(const char *opt, const char *s, char unit, long lo, long hi, long *out,
                  int *with_unit)
{
    char what[128], *end;
    snprintf(what, sizeof what, "N or N%c with N an integer from %ld to %ld", unit, lo, hi);
    if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+')
        return bad(opt, s, what);
    errno = 0;
    long v = strtol(s, &end, 10);
    int has = *end == unit && end > s;
    if (end == s || errno || v < lo || v > hi || end[has] != 0)
        return bad(opt, s, what);
    *out = v;
    *with_unit = has;
    return 1;
}

/* A whole decimal number of at most max from *s, which is moved past it;
   -1 when there is no digit or it is too large. */
static long dimension(const char **s, long max)
{
    long v = 0;
    if (!isdigit((unsigned char)**s))
        return -1;
    for (; isdigit((unsigned char)**s); (*s)++) {
        v = v * 10 + (**s - '0');
        if (v > max)
            return -1;
    }
    return v;
}

int opt_shape(const char *opt, const char *s, int max, int dims[3])
{
    char what[96];
    snprintf(what, sizeof what, "HxWxC such as 28x28x1 (each 1 to %d)", max);
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        long v = dimension(&p, max);
        if (v < 1 || *p != (i < 2 ? 'x' : 0))
            return bad(opt, s, what);
        dims[i] = (int)v;
        p += i < 2;
    }
    return 1;
}

int opt_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    long v;
    if (!opt_long(opt, s, lo, hi, &v))
        return 0;
    *out = (int)v;
    return 1;
}

int opt_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return bad(opt, s, "a non-negative integer");
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return bad(opt, s, "a non-negative integer below 2^64");
    *out = (uint64_t)v;
    return 1;
}

int opt_float(const char *opt, const char *s, double lo, double hi, float *out)
{
    char what[96], *end;
    snprintf(what, sizeof what, "a number in (%g, %g]", lo, hi);
    errno = 0;
    if (!*s || isspace((unsigned char)*s))
        return bad(opt, s, what);
    double v = strtod(s, &end);
    /* the range holds for the float that is stored, too: 1e-50 would
       round to 0 */
    float f = (float)v;
    if (*end || errno || !isfinite(v) || v <= lo || v > hi || !isfinite(f) ||
        (double)f <= lo || (double)f > hi)
        return bad(opt, s, what);
    *out = f;
    return 1;
}

int opt_fraction(const char *opt, const char *s, float *out)
{
    const char *what = "a number from 0 to below 1";
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s))
        return bad(opt, s, what);
    double v = strtod(s, &end);
    float f = (float)v;
    if (*end || errno || !(v >= 0 && v < 1) || !(f >= 0 && f < 1))
        return bad(opt, s, what);
    *out = f;
    return 1;
}

int opt_onoff(const char *opt, const char *s, int *out)
{
    if (strcmp(s, "on") == 0)
        *out = 1;
    else if (strcmp(s, "off") == 0)
        *out = 0;
    else
        return bad(opt, s, "on or off");
    return 1;
}
