/*
 * test_files.c — what stands at a path: the atomic writer onto links,
 * devices, FIFOs, directories and missing directories (src/atomic.c),
 * inputs that must be regular files and file identity (src/files.c), and
 * the cnn command's signal handling around its files: a signal during a
 * save leaves no temporary file, an interrupted run never replaces a
 * checkpoint it was not told to write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "cnn.h"
#include "files.h"
#include "tests.h"

/* ------------------------------------------------------------ helpers */

static const char *cnn_bin_abs(void);

static const char *path_in(const char *dir, const char *name)
{
    static char buf[4][700];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* A fresh directory under the test's temporary one. */
static const char *fresh_dir(const char *name)
{
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    return dir;
}

/* Files in dir whose name holds ".tmp." */
static int temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Write text through the atomic writer; the status. */
static int write_atomic(const char *path, const char *text)
{
    cnn_atomic a;
    int st = cnn_atomic_open(&a, path);
    if (st != CNN_OK)
        return st;
    int err = cnn_write_all(a.fd, text, strlen(text)) != 0 ? errno : 0;
    return cnn_atomic_commit(&a, err);
}

static int read_back(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n >= 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ----------------------------------------------------- the atomic writer */

/* A link to a file: the target is replaced, the link stays a link. */
static void link_is_followed_and_kept(void)
{
    const char *dir = fresh_dir("link");
    const char *target = path_in(dir, "target.txt"), *link = path_in(dir, "link.txt");
    CHECK(write_atomic(target, "old") == CNN_OK, "%s", cnn_last_error());
    CHECK(symlink("target.txt", link) == 0, "symlink: %s", strerror(errno));
    CHECK(write_atomic(link, "new") == CNN_OK, "%s", cnn_last_error());
    struct stat st;
    char buf[64];
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    CHECK(read_back(target, buf, sizeof buf) && !strcmp(buf, "new"), "target holds '%s'", buf);
    CHECK(temporaries(dir) == 0, "a temporary file is left");
    const char *dangling = path_in(dir, "dangling");
    CHECK(symlink("nothing-there", dangling) == 0, "symlink: %s", strerror(errno));
    CHECK(write_atomic(dangling, "x") == CNN_ERR_IO && strstr(cnn_last_error(), "to nothing"),
          "a dangling link: %s", cnn_last_error());
    CHECK(cnn_atomic_check(dangling) == CNN_ERR_IO, "check passed a dangling link");
}

/* A FIFO is written into, not renamed over; without a reader the writer
   fails at once instead of waiting. */
static void fifo_is_written_directly(void)
{
    const char *dir = fresh_dir("fifo");
    const char *fifo = path_in(dir, "pipe");
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    double t0 = now_s();
    CHECK(write_atomic(fifo, "x") == CNN_ERR_IO && strstr(cnn_last_error(), "nothing reads"),
          "no reader: %s", cnn_last_error());
    CHECK(now_s() - t0 < 5, "the writer waited for a reader");
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    CHECK(rd >= 0, "open the reading end: %s", strerror(errno));
    CHECK(write_atomic(fifo, "through the pipe") == CNN_OK, "%s", cnn_last_error());
    char buf[64];
    ssize_t n = rd >= 0 ? read(rd, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = 0;
    CHECK(!strcmp(buf, "through the pipe"), "read '%s'", buf);
    if (rd >= 0)
        close(rd);
    struct stat st;
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    CHECK(temporaries(dir) == 0, "a temporary file is left");
}

/* What cannot be written is refused by the check and by the writer alike,
   and nothing is left behind. */
static void unwritable_destinations_are_refused(void)
{
    const char *dir = fresh_dir("refused");
    const char *sub = path_in(dir, "sub"), *file = path_in(dir, "file");
    mkdir(sub, 0755);
    CHECK(write_atomic(file, "x") == CNN_OK, "%s", cnn_last_error());
    const char *bad[] = {sub, path_in(dir, "missing/x"), path_in(dir, "file/x"), ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(cnn_atomic_check(bad[i]) != CNN_OK, "check passed '%s'", bad[i]);
        CHECK(write_atomic(bad[i], "x") != CNN_OK, "wrote '%s'", bad[i]);
    }
    CHECK(cnn_atomic_check(path_in(dir, "new")) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_atomic_check(file) == CNN_OK, "%s", cnn_last_error());
    CHECK(temporaries(dir) == 0, "a temporary file is left");
}

/* -o /dev/stdout with stdout a regular file: written into (appended),
   never renamed over; what the file held before stays. */
static void stdout_link_to_a_file_is_appended(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *file = path_in(fresh_dir("stdout"), "app.txt");
    FILE *f = fopen(file, "w");
    if (f)
        fputs("PRECIOUS\n", f), fclose(f);
    struct stat before, after;
    stat(file, &before);
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "%s summary --model logreg -o /dev/stdout >>%s", cnn_bin_abs(),
             file);
    CHECK(system(cmd) == 0, "%s failed", cmd);
    char buf[4096];
    CHECK(read_back(file, buf, sizeof buf) && !strncmp(buf, "PRECIOUS\n", 9) &&
              strstr(buf, "Total params"), "the file holds: %.60s", buf);
    CHECK(stat(file, &after) == 0 && after.st_ino == before.st_ino, "the file was replaced");
}

/* ----------------------------------------------- inputs and identity */

static void inputs_must_be_regular_files(void)
{
    const char *dir = fresh_dir("inputs");
    const char *fifo = path_in(dir, "fifo"), *file = path_in(dir, "file");
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    double t0 = now_s();
    CHECK(cnn_open_input(fifo, "test data", NULL) == -1 && strstr(cnn_last_error(), "a FIFO"),
          "a FIFO: %s", cnn_last_error());
    CHECK(now_s() - t0 < 5, "opening a FIFO waited for a writer");
    CHECK(cnn_open_input(dir, "test data", NULL) == -1 &&
              strstr(cnn_last_error(), "a directory"), "a directory: %s", cnn_last_error());
    CHECK(cnn_open_input("/dev/null", "test data", NULL) == -1 &&
              strstr(cnn_last_error(), "character device"), "/dev/null: %s", cnn_last_error());
    CHECK(write_atomic(file, "abc") == CNN_OK, "%s", cnn_last_error());
    struct stat st;
    int fd = cnn_open_input(file, "test data", &st);
    char buf[8] = {0};
    CHECK(fd >= 0 && st.st_size == 3 && read(fd, buf, 7) == 3, "a regular file: %s",
          cnn_last_error());
    CHECK(fd < 0 || !(fcntl(fd, F_GETFL) & O_NONBLOCK), "left non-blocking");
    if (fd >= 0)
        close(fd);
}

static void same_file_by_inode(void)
{
    const char *dir = fresh_dir("same");
    char a[700], hard[700], soft[700], other[700];
    snprintf(a, sizeof a, "%s", path_in(dir, "a"));
    snprintf(hard, sizeof hard, "%s", path_in(dir, "hard"));
    snprintf(soft, sizeof soft, "%s", path_in(dir, "soft"));
    snprintf(other, sizeof other, "%s", path_in(dir, "../same/a"));
    CHECK(write_atomic(a, "x") == CNN_OK, "%s", cnn_last_error());
    CHECK(link(a, hard) == 0 && symlink("a", soft) == 0, "links: %s", strerror(errno));
    CHECK(cnn_same_file(a, hard) && cnn_same_file(a, soft) && cnn_same_file(a, other),
          "one file by three names is not the same");
    CHECK(!cnn_same_file(a, path_in(dir, "new")), "an existing and a new file are the same");
    CHECK(cnn_same_file(path_in(dir, "new"), path_in(dir, "../same/new")),
          "one new name spelt twice differs");
    CHECK(!cnn_same_file(path_in(dir, "new1"), path_in(dir, "new2")), "two new names match");
}

/* ---------------------------------------------- signals around the files */

static const char *cnn_bin_abs(void)
{
    static char path[4096];
    const char *b = getenv("CNN_BIN");
    if (b && *b && b[0] == '/')
        return b;
    char cwd[2048];
    if (!getcwd(cwd, sizeof cwd))
        return "./cnn";
    snprintf(path, sizeof path, "%s/%s", cwd, b && *b ? b : "cnn");
    return path;
}

/* Start cnn in dir with args (NULL-terminated), stdout and stderr to
   dir/out and dir/err. */
static pid_t spawn_in(const char *dir, const char *const *args)
{
    const char *bin = cnn_bin_abs();
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        signal(SIGINT, SIG_DFL);
        int out = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open("err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, 1), dup2(err, 2);
        const char *argv[40] = {bin};
        for (int n = 1; *args && n < 39; args++)
            argv[n++] = *args;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* An MNIST-style set of 32 images 8x8 in dir (both splits). */
static void tiny_set(const char *dir)
{
    unsigned char img[16 + 32 * 64], lab[8 + 32];
    memset(img, 40, sizeof img), memset(lab, 0, sizeof lab);
    const unsigned char ih[16] = {0, 0, 8, 3, 0, 0, 0, 32, 0, 0, 0, 8, 0, 0, 0, 8};
    const unsigned char lh[8] = {0, 0, 8, 1, 0, 0, 0, 32};
    memcpy(img, ih, 16), memcpy(lab, lh, 8);
    for (int i = 0; i < 32; i++)
        lab[8 + i] = (unsigned char)(i % 4);
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int k = 0; k < 4; k++) {
        FILE *f = fopen(path_in(dir, names[k]), "wb");
        if (f) {
            fwrite(k % 2 ? lab : img, 1, k % 2 ? sizeof lab : sizeof img, f);
            fclose(f);
        }
    }
}

/* SIGTERM, once or twice at once, sent the moment the temporary weights
   file appears (a 13 MB model, so the write takes a while): no temporary
   file is left, and the weights file is either absent or whole.  A single
   signal lets the save finish (exit 143); a second one ends the process
   at once. */
static void signal_during_save_leaves_no_temporary(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *dir = fresh_dir("sigsave");
    tiny_set(dir);
    const char *args[] = {"train", "--data", ".", "--model", "flatten,dense:50000,dense:4,softmax",
                          "--epochs", "0", "--quiet", "--threads", "1", "--save", "w.st", NULL};
    int caught = 0;
    for (int k = 0; k < 6; k++) {
        unlink(path_in(dir, "w.st"));
        pid_t pid = spawn_in(dir, args);
        int status = 0, seen = 0;
        for (int i = 0; i < 200000 && !seen && waitpid(pid, &status, WNOHANG) == 0; i++)
            seen = temporaries(dir) > 0;
        if (seen) {
            caught++;
            kill(pid, SIGTERM);
            if (k % 2) { /* a pending signal is not queued twice: wait a little */
                sleep_s(0.002);
                kill(pid, SIGTERM);
            }
            waitpid(pid, &status, 0);
        } else if (waitpid(pid, &status, WNOHANG) == 0) {
            waitpid(pid, &status, 0);
        }
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        CHECK(code == 0 || code == 143, "run %d: exit %d", k, code);
        CHECK(!seen || k % 2 || code == 143, "run %d: exit %d after a signal mid-save", k, code);
        CHECK(temporaries(dir) == 0, "run %d (%s signal mid-save) left a temporary file", k,
              k % 2 ? "a double" : "one");
        cnn_model *m = NULL;
        if (access(path_in(dir, "w.st"), F_OK) == 0)
            CHECK(cnn_model_open(path_in(dir, "w.st"), &m) == CNN_OK, "run %d: %s", k,
                  cnn_last_error());
        cnn_model_free(m);
    }
    CHECK(caught >= 3, "the temporary file was seen in only %d of 6 runs", caught);
}

/* An interrupted run without --checkpoint picks a checkpoint name no file
   has, and says which; the file that was there is untouched. */
static void interrupted_run_never_replaces_a_file(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char data[2048];
    CHECK(realpath(dir, data) != NULL, "realpath %s", dir);
    const char *cwd = fresh_dir("interrupted");
    char mine[700];
    snprintf(mine, sizeof mine, "%s", path_in(cwd, "cnn-interrupted.ckpt"));
    FILE *f = fopen(mine, "w");
    if (f)
        fputs("another run's checkpoint\n", f), fclose(f);
    const char *args[] = {"train", "--data", data, "--model", "logreg", "--epochs", "1",
                          "--threads", "1", "--quiet", "--log", "l.csv", "--log-every", "5",
                          NULL};
    pid_t pid = spawn_in(cwd, args);
    for (int i = 0; i < 6000 && access(path_in(cwd, "l.csv"), F_OK) != 0; i++)
        sleep_s(0.01);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 143, "exit status %d", status);
    char buf[4096];
    CHECK(read_back(mine, buf, sizeof buf) && !strcmp(buf, "another run's checkpoint\n"),
          "the existing checkpoint was replaced");
    CHECK(read_back(path_in(cwd, "err"), buf, sizeof buf) &&
              strstr(buf, "checkpoint in cnn-interrupted-2.ckpt"), "stderr: %s", buf);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(path_in(cwd, "cnn-interrupted-2.ckpt"), &m, &s) == CNN_OK,
          "%s", cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
}

TEST_TABLE(files,
           {"link_is_followed_and_kept", link_is_followed_and_kept},
           {"fifo_is_written_directly", fifo_is_written_directly},
           {"unwritable_destinations_are_refused", unwritable_destinations_are_refused},
           {"stdout_link_to_a_file_is_appended", stdout_link_to_a_file_is_appended},
           {"inputs_must_be_regular_files", inputs_must_be_regular_files},
           {"same_file_by_inode", same_file_by_inode},
           {"signal_during_save_leaves_no_temporary", signal_during_save_leaves_no_temporary},
           {"interrupted_run_never_replaces_a_file", interrupted_run_never_replaces_a_file})
