/*
 * comm.c — the process group (comm.h): joining it when a launcher started
 * this process, rank/size/host, aborting the job with one line, and thin
 * collectives over MPI_COMM_WORLD.  One file for both builds: the MPI
 * calls sit in #ifdef CNN_HAVE_MPI blocks beside the single-process
 * behaviour they replace, so the two cannot drift apart, and the Makefile
 * needs no per-build file list (only this file gets the MPI flags).
 */
#include "comm.h"
#include "comm_watch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CNN_HAVE_MPI
#include <mpi.h>
#endif

enum { HOST_MAX = 256 };

static int comm_rank, comm_size = 1, comm_active, comm_together;
static char comm_host[HOST_MAX];

int cnn_comm_rank(void) { return comm_rank; }
int cnn_comm_size(void) { return comm_size; }
int cnn_comm_active(void) { return comm_active; }

const char *cnn_comm_host(void)
{
    if (!comm_host[0] && gethostname(comm_host, sizeof comm_host - 1) != 0)
        strcpy(comm_host, "unknown-host");
    return comm_host;
}

/* A positive count from the environment variable name, else 0. */
static int env_count(const char *name)
{
    const char *s = getenv(name);
    char *end;
    long v = s && *s ? strtol(s, &end, 10) : 0;
    return v > 0 && v < 1 << 24 && !*end ? (int)v : 0;
}

int cnn_comm_launched_size(void)
{
    int n = env_count("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = env_count("PMI_SIZE");
    if (!n && getenv("PMIX_RANK"))
        n = 1; /* started by a PMIx launcher that did not say how many */
    return n;
}

/* vsnprintf into buf, newlines and other control characters turned into
   spaces, so the message stays one line. */
static void format_line(char *buf, size_t size, const char *fmt, va_list ap)
{
    vsnprintf(buf, size, fmt, ap);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
}

#ifdef CNN_HAVE_MPI
/* A failed MPI call ends the job, naming the call and MPI's reason. */
static void check(int rc, const char *call)
{
    if (rc == MPI_SUCCESS)
        return;
    char why[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, why, &len);
    cnn_comm_abort(1, "%s failed: %s", call, why);
}

const char *cnn_comm_library(void)
{
    static char name[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!name[0] && MPI_Get_library_version(name, &len) == MPI_SUCCESS)
        name[strcspn(name, ",\n")] = 0; /* "Open MPI v4.1.4, package: ..." */
    return name[0] ? name : "MPI (unknown version)";
}

static int start_mpi(int *argc, char ***argv)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "cnn: MPI_Init_thread failed on %s\n", cnn_comm_host());
        return -1;
    }
    comm_active = 1;
    /* Errors come back to check(), which names the call. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &comm_rank), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &comm_size), "MPI_Comm_size");
    if (provided < MPI_THREAD_FUNNELED)
        cnn_comm_abort(1, "MPI gives thread level %d, cnn needs MPI_THREAD_FUNNELED", provided);
    double limit;
    if (cnn_comm_watch_limit(&limit) != 0)
        cnn_comm_abort_once(2, "CNN_MPI_TIMEOUT='%s' is not a number of seconds (0 for no "
                            "limit)", getenv("CNN_MPI_TIMEOUT"));
    if (comm_size > 1)
        cnn_comm_watch_start(limit, comm_rank, cnn_comm_host());
    return 0;
}
#else
const char *cnn_comm_library(void) { return NULL; }

static int start_mpi(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0; /* alone: the caller checks cnn_comm_launched_size */
}
#endif

int cnn_comm_init(int *argc, char ***argv)
{
    static int registered;
    cnn_comm_host();
    if (!registered && atexit(cnn_comm_finalize) == 0)
        registered = 1;
    if (comm_active || !cnn_comm_launched_size())
        return 0;
    return start_mpi(argc, argv);
}

int cnn_comm_end(int code)
{
#ifdef CNN_HAVE_MPI
    if (code != 0 && comm_active && comm_size > 1 && !comm_together) {
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#endif
    return code;
}

void cnn_comm_end_together(void) { comm_together = 1; }

void cnn_comm_finalize(void)
{
#ifdef CNN_HAVE_MPI
    int done = 0;
    if (comm_active && MPI_Finalized(&done) == MPI_SUCCESS && !done) {
        /* Waits for every rank: watched like a collective. */
        cnn_comm_watch_enter("MPI_Finalize", 0);
        MPI_Finalize();
        cnn_comm_watch_leave();
    }
#endif
    comm_active = 0;
}

_Noreturn void cnn_comm_abort(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    format_line(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (comm_active)
        fprintf(stderr, "cnn: rank %d on %s: %s\n", comm_rank, cnn_comm_host(), msg);
    else
        fprintf(stderr, "cnn: %s\n", msg);
    fflush(stderr);
#ifdef CNN_HAVE_MPI
    if (comm_active)
        MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}

_Noreturn void cnn_comm_abort_once(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    format_line(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!comm_active || comm_rank == 0) {
        fprintf(stderr, "cnn: %s\n", msg);
        fflush(stderr);
    }
#ifdef CNN_HAVE_MPI
    if (comm_active && comm_rank == 0)
        MPI_Abort(MPI_COMM_WORLD, code);
    if (comm_active) {
        /* Rank 0 never joins this barrier: its abort ends the wait.  Should
           the barrier return an error first, give the abort time, then
           abort from here. */
        MPI_Barrier(MPI_COMM_WORLD);
        sleep(30);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#endif
    exit(code);
}

void cnn_comm_bcast_bytes(void *buf, size_t n, int root)
{
#ifdef CNN_HAVE_MPI
    /* MPI counts are ints: large buffers go in 1 GiB pieces. */
    const size_t piece = (size_t)1 << 30;
    for (size_t at = 0; comm_active && comm_size > 1 && at < n; at += piece) {
        size_t len = n - at < piece ? n - at : piece;
        cnn_comm_watch_enter("MPI_Bcast", len);
        check(MPI_Bcast((char *)buf + at, (int)len, MPI_BYTE, root, MPI_COMM_WORLD),
              "MPI_Bcast");
        cnn_comm_watch_leave();
    }
#else
    (void)buf, (void)n, (void)root;
#endif
}

void cnn_comm_gather_bytes(const void *mine, size_t n, void *all)
{
#ifdef CNN_HAVE_MPI
    if (comm_active && comm_size > 1) {
        if (n > (size_t)1 << 30)
            cnn_comm_abort(1, "gather of %zu bytes per rank: over 1 GiB", n);
        cnn_comm_watch_enter("MPI_Allgather", n * (size_t)comm_size);
        check(MPI_Allgather(mine, (int)n, MPI_BYTE, all, (int)n, MPI_BYTE, MPI_COMM_WORLD),
              "MPI_Allgather");
        cnn_comm_watch_leave();
        return;
    }
#endif
    if (all != mine)
        memmove(all, mine, n);
}

void cnn_comm_gatherv_bytes(const void *mine, void *all, const size_t *counts)
{
#ifdef CNN_HAVE_MPI
    if (comm_active && comm_size > 1) {
        int *cnt = malloc(2 * (size_t)comm_size * sizeof *cnt);
        if (!cnt)
            cnn_comm_abort(1, "gather: out of memory");
        size_t at = 0;
        for (int r = 0; r < comm_size; r++) {
            if (counts[r] > (size_t)1 << 30 || at > (size_t)1 << 30)
                cnn_comm_abort(1, "gather of %zu bytes from rank %d: over 1 GiB", counts[r], r);
            cnt[r] = (int)counts[r];
            cnt[comm_size + r] = (int)at;
            at += counts[r];
        }
        cnn_comm_watch_enter("MPI_Allgatherv", at);
        check(MPI_Allgatherv(mine ? mine : MPI_IN_PLACE, cnt[comm_rank], MPI_BYTE, all, cnt,
                             cnt + comm_size, MPI_BYTE, MPI_COMM_WORLD),
              "MPI_Allgatherv");
        cnn_comm_watch_leave();
        free(cnt);
        return;
    }
#endif
    if (mine && all != mine)
        memmove(all, mine, counts[0]);
}

void cnn_comm_barrier(void)
{
#ifdef CNN_HAVE_MPI
    if (comm_active && comm_size > 1) {
        cnn_comm_watch_enter("MPI_Barrier", 0);
        check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
        cnn_comm_watch_leave();
    }
#endif
}

int cnn_comm_same_u64(uint64_t v)
{
#ifdef CNN_HAVE_MPI
    if (comm_active && comm_size > 1) {
        /* One reduction for both ends: max(v) and max(~v) = ~min(v). */
        uint64_t m[2] = {v, ~v};
        cnn_comm_watch_enter("MPI_Allreduce", sizeof m);
        check(MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD),
              "MPI_Allreduce");
        cnn_comm_watch_leave();
        return m[0] == ~m[1];
    }
#endif
    (void)v;
    return 1;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t cnn_comm_args_hash(int argc, char **argv, int first)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = first; i < argc; i++) {
        uint64_t len = strlen(argv[i]);
        h = fnv1a(h, &len, sizeof len);
        h = fnv1a(h, argv[i], len);
    }
    return h;
}

int cnn_comm_first_differing(uint64_t v, const char **host)
{
    static char hosts[HOST_MAX];
    if (cnn_comm_same_u64(v))
        return -1;
    uint64_t *all = malloc((size_t)comm_size * sizeof *all);
    char *names = malloc((size_t)comm_size * HOST_MAX), mine[HOST_MAX] = "";
    if (!all || !names)
        cnn_comm_abort(1, "out of memory comparing %d ranks", comm_size);
    snprintf(mine, sizeof mine, "%s", cnn_comm_host());
    cnn_comm_gather_bytes(&v, sizeof v, all);
    cnn_comm_gather_bytes(mine, HOST_MAX, names);
    int r = 1;
    while (r < comm_size && all[r] == all[0])
        r++;
    memcpy(hosts, names + (size_t)r * HOST_MAX, HOST_MAX);
    free(all);
    free(names);
    *host = hosts;
    return r;
}
