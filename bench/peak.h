/*
 * peak.h — the per-ISA FP32 peak loops of the kernel benchmark.
 *
 * Each bench/peak-<isa>.c defines one bench_peak_loop: a loop of independent
 * vector accumulator chains (no loads, no stores) that keeps the core's
 * floating-point pipes busy with the instructions that ISA's kernels use.
 * bench/kernels.c times it and calls FLOP/s of the median run the "peak"
 * of that ISA.  Only the current architecture's files are built, so the
 * loops are declared weak there and a missing one reads as NULL.
 */
#ifndef CNN_BENCH_PEAK_H
#define CNN_BENCH_PEAK_H

typedef struct bench_peak_loop {
    const char *isa;       /* kernel set it stands for: "avx512", "avx2", ... */
    const char *what;      /* what the loop runs, printed with the peak */
    double flops_per_iter; /* floating-point operations per iteration */
    /* Runs iters iterations; mul and add are 1 and 0 at run time (read
       from a volatile, so the compiler cannot fold them) and the result is
       a checksum the caller keeps, so the loop cannot be dropped. */
    float (*run)(long iters, float mul, float add);
} bench_peak_loop;

extern const bench_peak_loop bench_peak_avx512; /* peak-avx512.c */
extern const bench_peak_loop bench_peak_avx2;   /* peak-avx2.c */
extern const bench_peak_loop bench_peak_scalar; /* peak-scalar.c */
extern const bench_peak_loop bench_peak_neon;   /* peak-neon.c */

#endif /* CNN_BENCH_PEAK_H */
