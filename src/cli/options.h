/*
 * options.h — strict parsing of numeric and on/off command-line values for
 * the cnn command; each parser prints a one-line error naming the option
 * and returns 0 when the value is bad.
 */
#ifndef CNN_CLI_OPTIONS_H
#define CNN_CLI_OPTIONS_H

#include <stdint.h>

/* Exit codes of the cnn command. */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUN = 1, /* the work failed: bad file, I/O, training error */
    EXIT_USAGE = 2        /* bad command line */
};

int opt_long(const char *opt, const char *s, long lo, long hi, long *out);
/* N, or N followed by the one character unit ("2e"): the whole string,
   N from lo to hi; *with_unit tells which. */
int opt_long_unit(const char *opt, const char *s, char unit, long lo, long hi, long *out,
                  int *with_unit);
/* HxWxC: three whole decimal numbers from 1 to max separated by 'x'. */
int opt_shape(const char *opt, const char *s, int max, int dims[3]);
int opt_int(const char *opt, const char *s, int lo, int hi, int *out);
int opt_u64(const char *opt, const char *s, uint64_t *out);
int opt_float(const char *opt, const char *s, double lo, double hi, float *out);
/* A number from 0 to below 1 (a momentum, a weight decay): the whole
   string, also as the float stored. */
int opt_fraction(const char *opt, const char *s, float *out);
int opt_onoff(const char *opt, const char *s, int *out);

#endif /* CNN_CLI_OPTIONS_H */
