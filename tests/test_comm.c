/*
 * test_comm.c — the process group (src/comm.h) in a process no launcher
 * started: rank 0 of 1, MPI not initialised, collectives as local copies,
 * the launcher's environment read right, and cnn_comm_abort's one line
 * and exit code.  tests/mpi.sh checks the same calls over two ranks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comm.h"
#include "tests.h"

static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"};

static void clear_launcher(void)
{
    for (size_t i = 0; i < sizeof launcher_vars / sizeof *launcher_vars; i++)
        unsetenv(launcher_vars[i]);
}

static void alone(void)
{
    clear_launcher();
    int argc = 1;
    char *args[] = {"test-runner", NULL}, **argv = args;
    CHECK(cnn_comm_init(&argc, &argv) == 0, "init without a launcher failed");
    CHECK(cnn_comm_rank() == 0 && cnn_comm_size() == 1, "rank %d of %d", cnn_comm_rank(),
          cnn_comm_size());
    CHECK(!cnn_comm_active(), "MPI initialised without a launcher");
    CHECK(cnn_comm_host() && cnn_comm_host()[0], "no host name");
    CHECK(cnn_comm_end(3) == 3 && cnn_comm_end(0) == 0, "cnn_comm_end changed the code");
}

static void collectives_alone(void)
{
    int mine[3] = {7, 8, 9}, all[3] = {0};
    cnn_comm_gather_bytes(mine, sizeof mine, all);
    CHECK(!memcmp(mine, all, sizeof mine), "gather of one rank is not a copy");
    cnn_comm_gather_bytes(all, sizeof all, all); /* in place */
    CHECK(all[0] == 7 && all[2] == 9, "gather in place changed the data");
    char word[6] = "alone";
    cnn_comm_bcast_bytes(word, sizeof word, 0);
    CHECK(!strcmp(word, "alone"), "bcast alone changed the data");
    cnn_comm_barrier();
    CHECK(cnn_comm_same_u64(0) && cnn_comm_same_u64(~0ULL), "same_u64 alone is false");
    const char *host = NULL;
    CHECK(cnn_comm_first_differing(5, &host) == -1, "a rank differs from itself");
}

static void args_hash(void)
{
    char *a[] = {"cnn", "train", "a b"}, *b[] = {"cnn", "train", "a", "b"},
         *c[] = {"cnn", "train", "ab"}, *d[] = {"other", "train", "a b"};
    uint64_t ha = cnn_comm_args_hash(3, a, 1);
    CHECK(ha != cnn_comm_args_hash(4, b, 1), "'a b' hashes as 'a' 'b'");
    CHECK(ha != cnn_comm_args_hash(3, c, 1), "'a b' hashes as 'ab'");
    CHECK(ha == cnn_comm_args_hash(3, d, 1), "argv[0] counted");
    CHECK(ha != cnn_comm_args_hash(2, a, 1), "the last argument not counted");
}

static void launcher_environment(void)
{
    clear_launcher();
    CHECK(cnn_comm_launched_size() == 0, "a launcher seen in a clean environment");
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    CHECK(cnn_comm_launched_size() == 3, "OMPI_COMM_WORLD_SIZE=3: %d", cnn_comm_launched_size());
    setenv("OMPI_COMM_WORLD_SIZE", "3x", 1);
    CHECK(cnn_comm_launched_size() == 0, "OMPI_COMM_WORLD_SIZE=3x accepted");
    clear_launcher();
    setenv("PMI_SIZE", "4", 1);
    CHECK(cnn_comm_launched_size() == 4, "PMI_SIZE=4: %d", cnn_comm_launched_size());
    clear_launcher();
    setenv("PMIX_RANK", "0", 1);
    CHECK(cnn_comm_launched_size() == 1, "PMIX_RANK alone: %d", cnn_comm_launched_size());
    clear_launcher();
}

/* Registered last in the child, so run first by exit: it ends the child
   with exit's status before the runner's handlers (which would remove
   the runner's temporary directory). */
static void leave_now(int status, void *unused)
{
    (void)unused;
    _exit(status);
}

/* Alone, cnn_comm_abort prints "cnn: MESSAGE" as one line and exits with
   the code. */
static void abort_alone(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        on_exit(leave_now, NULL);
        dup2(fds[1], 2);
        close(fds[0]);
        cnn_comm_abort(5, "two\nlines %d", 42);
    }
    close(fds[1]);
    char err[256] = "";
    ssize_t n = read(fds[0], err, sizeof err - 1);
    err[n > 0 ? n : 0] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5, "exit status %d", status);
    CHECK(!strcmp(err, "cnn: two lines 42\n"), "stderr: '%s'", err);
}

TEST_TABLE(comm, {"alone", alone}, {"collectives_alone", collectives_alone},
           {"args_hash", args_hash}, {"launcher_environment", launcher_environment},
           {"abort_alone", abort_alone})
