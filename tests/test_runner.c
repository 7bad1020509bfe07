/*
 * test_runner.c — tests of the test runner's own command line, run on the
 * runner binary itself (/proc/self/exe): --help and --list exit 0, a
 * filter that selects no test and an unknown option are one-line errors
 * with exit 2, and --list prints exactly the tests a filter selects.
 * Every call names filters that select no runner test, so a runner that
 * ignored an option would run a few fast tests, not itself again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "tests.h"

/* Run this runner with args; its stdout and stderr go to test_out and
   test_err.  Returns the exit status, or -1 when it could not run. */
static int run_self(const char *args)
{
    char self[1024], cmd[3200], out[512], err[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    snprintf(out, sizeof out, "%s/runner.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/runner.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s' </dev/null", self, args,
             out, err);
    int status = system(cmd);
    FILE *f = fopen(out, "rb");
    size_t got = f ? fread(test_out, 1, sizeof test_out - 1, f) : 0;
    test_out[got] = 0;
    if (f)
        fclose(f);
    f = fopen(err, "rb");
    got = f ? fread(test_err, 1, sizeof test_err - 1, f) : 0;
    test_err[got] = 0;
    if (f)
        fclose(f);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_help(void)
{
    int rc = run_self("--help data/raw_valid");
    CHECK(rc == 0, "--help: exit %d", rc);
    CHECK(strstr(test_out, "usage:") && strstr(test_out, "--list"),
          "--help: stdout '%s'", test_out);
    CHECK(!strstr(test_out, "1 passed"), "--help ran a test: '%s'", test_out);
    CHECK(test_err[0] == 0, "--help: stderr '%s'", test_err);
}

static void test_no_match(void)
{
    int rc = run_self("nonexistent_name");
    CHECK(rc == 2, "unmatched filter: exit %d", rc);
    CHECK_ONE_LINE_ERROR("nonexistent_name");
    CHECK(test_out[0] == 0, "unmatched filter: stdout '%s'", test_out);

    /* One good filter does not excuse a mistyped one. */
    rc = run_self("--list runner/help runner/nope");
    CHECK(rc == 2, "one unmatched filter of two: exit %d", rc);
    CHECK_ONE_LINE_ERROR("runner/nope");
    CHECK(!strstr(test_err, "runner/help"), "names a good filter: '%s'",
          test_err);

    rc = run_self("--bogus");
    CHECK(rc == 2, "unknown option: exit %d", rc);
    CHECK_ONE_LINE_ERROR("--bogus");
}

static void test_list(void)
{
    /* Exactly the selected names, in the order they run, and no test. */
    int rc = run_self("--list data/raw_valid kernels/");
    CHECK(rc == 0, "--list: exit %d: %s", rc, test_err);
    CHECK(strncmp(test_out, "kernels/", 8) == 0 &&
              strstr(test_out, "\ndata/raw_valid\n") &&
              !strstr(test_out, "data/gzip") && !strstr(test_out, "runner/"),
          "--list: '%.300s'", test_out);
    CHECK(!strstr(test_out, " passed, "), "--list ran tests");
    /* Options may follow the filters. */
    rc = run_self("data/raw_valid --list");
    CHECK(rc == 0 && strcmp(test_out, "data/raw_valid\n") == 0,
          "filter then --list: exit %d, '%s'", rc, test_out);
    /* "--" ends the options: what follows is a filter. */
    rc = run_self("data/raw_valid -- --help");
    CHECK(rc == 2, "'--help' after '--' is a filter: exit %d", rc);
}

TEST_TABLE(runner,
    {"help", test_help},
    {"no_match", test_no_match},
    {"list_selected", test_list})
