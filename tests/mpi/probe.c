/*
 * probe.c — tests/mpi.sh's helper, built with MPI only (build/mpi-probe):
 * run by mpirun on two or more ranks, it checks comm.c's collectives in
 * the MPI build, or plays one fault for the script to time.
 *
 *   mpi-probe collectives   bcast, gather order, same_u64, first-differing
 *   mpi-probe kill          the last rank dies by SIGKILL while the others
 *                           wait in a barrier (the runtime must end them)
 *   mpi-probe abort         the last rank fails (cnn_comm_abort, code 3)
 *                           while the others wait in a barrier
 *   mpi-probe gather BYTES  (for bench/mpi.sh) the median time of a gather
 *                           of BYTES in all, each rank an equal part, over
 *                           201 rounds that start together: the transfer
 *                           alone, no rank late
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "mpi-probe: rank %d: %s\n", cnn_comm_rank(), what);
        failures++;
    }
}

static void collectives(void)
{
    const int rank = cnn_comm_rank(), size = cnn_comm_size();
    expect(cnn_comm_active() && size >= 2, "not in a group of two or more ranks");
    char word[8] = "";
    if (rank == size - 1)
        strcpy(word, "bcast");
    cnn_comm_bcast_bytes(word, sizeof word, size - 1);
    expect(strcmp(word, "bcast") == 0, "bcast from the last rank");
    /* A large one too: past the eager limit, through the transport's
       large-message path (CMA or copies). */
    const size_t big = (size_t)4 << 20;
    unsigned char *buf = malloc(big);
    for (size_t i = 0; i < big; i++)
        buf[i] = rank == 0 ? (unsigned char)(i * 7 + 1) : 0;
    cnn_comm_bcast_bytes(buf, big, 0);
    size_t bad = 0;
    for (size_t i = 0; i < big; i++)
        bad += buf[i] != (unsigned char)(i * 7 + 1);
    expect(bad == 0, "4 MiB bcast from rank 0");
    free(buf);
    int32_t mine[2] = {rank, 100 + rank}, *all = calloc((size_t)size * 2, sizeof *all);
    cnn_comm_gather_bytes(mine, sizeof mine, all);
    for (int r = 0; r < size; r++)
        expect(all[2 * r] == r && all[2 * r + 1] == 100 + r, "gather out of rank order");
    free(all);
    expect(cnn_comm_same_u64(0x1234567890abcdefULL), "same_u64 of equal values");
    expect(!cnn_comm_same_u64(rank == size - 1 ? 7 : 5), "same_u64 of different values");
    expect(!cnn_comm_same_u64(rank ? ~0ULL : 0), "same_u64 of 0 and ~0");
    const char *host = NULL;
    expect(cnn_comm_first_differing(42, &host) == -1, "first_differing of equal values");
    int r = cnn_comm_first_differing(rank >= 1 ? 9 : 8, &host);
    expect(r == 1 && host && strcmp(host, cnn_comm_host()) == 0, "first_differing != rank 1");
    cnn_comm_barrier();
    printf("mpi-probe: rank %d of %d: %s\n", rank, size, failures ? "FAILED" : "ok");
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int gather_time(const char *arg)
{
    enum { ROUNDS = 201 };
    const int size = cnn_comm_size();
    char *end;
    long long bytes = strtoll(arg ? arg : "", &end, 10);
    if (!arg || *end || bytes < size || bytes > (1LL << 30)) {
        fprintf(stderr, "mpi-probe: gather BYTES: a byte count up to 1 GiB\n");
        return 2;
    }
    size_t *counts = malloc((size_t)size * sizeof *counts);
    char *buf = calloc((size_t)bytes, 1);
    double t[ROUNDS];
    for (int r = 0; r < size; r++)
        counts[r] = (size_t)(bytes * (r + 1) / size - bytes * r / size);
    for (int i = 0; i < ROUNDS; i++) {
        cnn_comm_barrier();
        double t0 = seconds();
        cnn_comm_gatherv_bytes(NULL, buf, counts);
        t[i] = seconds() - t0;
    }
    qsort(t, ROUNDS, sizeof *t, by_value);
    if (cnn_comm_rank() == 0)
        printf("gather %lld bytes: median %.1f us\n", bytes, t[ROUNDS / 2] * 1e6);
    free(counts);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (cnn_comm_init(&argc, &argv) != 0)
        return 1;
    const char *mode = argc > 1 ? argv[1] : "";
    const int last = cnn_comm_rank() == cnn_comm_size() - 1;
    if (!strcmp(mode, "collectives")) {
        collectives();
        return failures != 0;
    }
    if (!strcmp(mode, "gather"))
        return gather_time(argv[2]);
    cnn_comm_barrier(); /* every rank is up */
    if (!strcmp(mode, "kill") && last)
        kill(getpid(), SIGKILL);
    else if (!strcmp(mode, "abort") && last)
        cnn_comm_abort(3, "probe failure, as asked");
    else if (strcmp(mode, "kill") && strcmp(mode, "abort")) {
        fprintf(stderr, "usage: mpirun -np 2 mpi-probe collectives|kill|abort|gather BYTES\n");
        return 2;
    }
    cnn_comm_barrier(); /* the last rank never comes */
    fprintf(stderr, "mpi-probe: rank %d passed a barrier its peer left\n", cnn_comm_rank());
    return 1;
}
