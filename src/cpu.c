/*
 * cpu.c — detects the CPU's brand string and SIMD support.  On x86-64 an
 * instruction set counts only when the CPU has it (cpuid) and the operating
 * system saves its registers on a context switch (xgetbv's XCR0): AVX2 needs
 * AVX, AVX2 and FMA with the SSE and YMM state; AVX-512 needs AVX-512F and
 * VL with the opmask and both ZMM states as well.
 */
#include "cpu.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void detect(cnn_cpu *c)
{
    unsigned a, b, cx, d;
    unsigned max = (unsigned)__get_cpuid_max(0, NULL);
    if ((unsigned)__get_cpuid_max(0x80000000, NULL) >= 0x80000004u) {
        unsigned w[12];
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &w[leaf * 4], &w[leaf * 4 + 1], &w[leaf * 4 + 2],
                        &w[leaf * 4 + 3]);
        memcpy(c->model, w, sizeof w);
        c->model[48] = 0;
    }
    if (max < 7 || !__get_cpuid(1, &a, &b, &cx, &d))
        return;
    int fma = (cx >> 12) & 1, osxsave = (cx >> 27) & 1, avx = (cx >> 28) & 1;
    if (!osxsave || !avx)
        return;
    unsigned long long xcr0 = read_xcr0();
    int ymm_state = (xcr0 & 0x6) == 0x6;
    int zmm_state = (xcr0 & 0xe6) == 0xe6;
    __cpuid_count(7, 0, a, b, cx, d);
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512vl = (b >> 31) & 1;
    c->avx2 = avx2 && fma && ymm_state;
    c->avx512 = c->avx2 && avx512f && avx512vl && zmm_state;
}
#elif defined(__aarch64__)
static void detect(cnn_cpu *c)
{
    c->neon = 1;
    strcpy(c->model, "AArch64");
}
#else
static void detect(cnn_cpu *c) { (void)c; }
#endif

const cnn_cpu *cnn_cpu_get(void)
{
    static cnn_cpu cpu;
    static int done;
    /* Detection is idempotent, so a race only repeats the same writes; the
       first call happens before any thread team starts. */
    if (!done) {
        cnn_cpu c;
        memset(&c, 0, sizeof c);
        detect(&c);
        /* Trim the brand string's padding. */
        char *s = c.model;
        while (*s == ' ')
            s++;
        memmove(c.model, s, strlen(s) + 1);
        for (size_t n = strlen(c.model); n && c.model[n - 1] == ' ';)
            c.model[--n] = 0;
        cpu = c;
        done = 1;
    }
    return &cpu;
}
