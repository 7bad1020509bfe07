/*
 * widest.h — WIDEST, for element-wise loops whose bits do not depend on the
 * vector width (no reduction, no contraction: -std=c11 keeps
 * -ffp-contract=off): on x86-64 gcc and clang also compile the function for
 * AVX2 and AVX-512 and pick the widest the CPU has when the program loads.
 * Elsewhere it is nothing.
 */
#ifndef CNN_WIDEST_H
#define CNN_WIDEST_H

#if defined(__x86_64__) && defined(__GNUC__)
#define WIDEST __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDEST
#endif

#endif /* CNN_WIDEST_H */
