/*
 * widest.h — WIDEST, for element-wise loops whose bits do not depend on the
 * vector width (no reduction, no contraction: the Makefile gives
 * -ffp-contract=off): on x86-64 gcc and clang also compile the function for
 * AVX2 and AVX-512 and pick the widest the CPU has when the program loads.
 * Elsewhere, and under a sanitizer, it is nothing.
 */
#ifndef CNN_WIDEST_H
#define CNN_WIDEST_H

/* Not under a sanitizer: the clones' resolver runs while the program is
   loaded, before the sanitizer's runtime is up (TSan crashes there). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CNN_WIDEST_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CNN_WIDEST_OFF 1
#endif
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(CNN_WIDEST_OFF)
#define WIDEST __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDEST
#endif

#endif /* CNN_WIDEST_H */
