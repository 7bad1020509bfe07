/*
 * omp_env.h — OMP_NUM_THREADS read the way cnn reads it, and kept away
 * from libgomp when it is malformed.
 *
 * libgomp parses OMP_NUM_THREADS in a constructor, before main, and
 * prints its own complaint ("\nlibgomp: Invalid value ...") about a bad
 * value.  omp_env.c registers a pre-initialiser (ELF .preinit_array: it
 * runs before any shared library's constructor) that takes a malformed
 * value out of the environment before libgomp looks and keeps it here, so
 * that the thread setup can report it as a cnn error instead.  An empty
 * value is taken out as if it were not set.  The shared library (built
 * with CNN_SHARED_LIB) has no pre-initialiser: libgomp complains first,
 * then cnn's thread setup reports the value as well.
 */
#ifndef CNN_OMP_ENV_H
#define CNN_OMP_ENV_H

/* Parse an OMP_NUM_THREADS value: optional spaces, a list of counts
   separated by commas (libgomp's nested teams), each a whole number from 1
   to 2^31 - 1 with an optional '+'.  Returns 1 and the first count in
   *first when the value is well formed, else 0. */
int cnn_omp_env_parse(const char *value, int *first);

/* The malformed OMP_NUM_THREADS taken out of the environment at start-up
   (at most 63 bytes of it), or NULL when there was none. */
const char *cnn_omp_env_rejected(void);

#endif /* CNN_OMP_ENV_H */
