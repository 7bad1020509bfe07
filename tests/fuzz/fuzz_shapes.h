/*
 * fuzz_shapes.h — the small model the safetensors harness loads into and
 * tests/fuzz/seeds.c writes its seed files for; kept in one place so the
 * seeds always match the harness.
 */
#ifndef CNN_FUZZ_SHAPES_H
#define CNN_FUZZ_SHAPES_H

#define FUZZ_ST_SPEC "conv3x3:4,relu,conv1x1s2:2:same,flatten,dense:3,softmax"
#define FUZZ_ST_H 6
#define FUZZ_ST_W 5

#endif /* CNN_FUZZ_SHAPES_H */
