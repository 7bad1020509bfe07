/*
 * cpu.h — CPU identification and the SIMD features the kernels need,
 * detected once (cpuid and xgetbv on x86-64; NEON is part of AArch64).
 */
#ifndef CNN_CPU_H
#define CNN_CPU_H

typedef struct cnn_cpu {
    char model[64];  /* brand string, e.g. "AMD EPYC 9R14 96-Core Processor" */
    int avx2;        /* AVX2 + FMA instructions and the OS saves YMM state */
    int avx512;      /* AVX-512F + VL and the OS saves opmask and ZMM state */
    int neon;        /* AArch64 Advanced SIMD */
} cnn_cpu;

/* The features of the CPU this process runs on (detected on first use). */
const cnn_cpu *cnn_cpu_get(void);

#endif /* CNN_CPU_H */
