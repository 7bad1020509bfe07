/*
 * version.c — the version of the library as built (the header's
 * CNN_VERSION when this file was compiled), for a program that wants to
 * know which shared library it runs against.
 */
#include "cnn.h"

const char *cnn_version(void) { return CNN_VERSION; }
