/*
 * paths.c — the checks of a command's files before its work (paths.h).
 */
#include "paths.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "cli.h"
#include "files.h"

static void add(cli_paths *ps, const char *option, const char *path, const char *may_be,
                int output)
{
    if (!path || ps->n == PATHS_MAX)
        return;
    ps->p[ps->n].option = option;
    ps->p[ps->n].path = path;
    ps->p[ps->n].may_be = may_be;
    ps->p[ps->n].output = output;
    ps->n++;
}

void paths_input(cli_paths *ps, const char *option, const char *path)
{
    add(ps, option, path, NULL, 0);
}

void paths_output(cli_paths *ps, const char *option, const char *path, const char *may_be)
{
    if (path && strcmp(path, "-") != 0)
        add(ps, option, path, may_be, 1);
}

void paths_data(cli_paths *ps, const char *dir, const char *split)
{
    /* kept for the life of the command: at most one call per split */
    static char names[2][4][4096];
    static const char *const files[2][2] = {
        {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
        {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}};
    int s = strcmp(split, "train") != 0;
    for (int i = 0; i < 4; i++) {
        char *name = names[s][i];
        snprintf(name, sizeof names[s][i], "%s/%s%s", dir, files[s][i / 2],
                 i % 2 ? ".gz" : "");
        struct stat st;
        if (stat(name, &st) == 0)
            add(ps, "--data", name, NULL, 0);
    }
}

/* The line for two paths that are one file. */
static int same(const char *what, const char *a_opt, const char *a, const char *b_opt,
                const char *b)
{
    return cli_error(EXIT_USAGE, "%s %s is the same file as %s %s; %s", a_opt, a, b_opt, b,
                     what);
}

int paths_check(const cli_paths *ps)
{
    for (int i = 0; i < ps->n; i++) {
        if (!ps->p[i].output)
            continue;
        int st = cnn_atomic_check(ps->p[i].path);
        if (st != CNN_OK) /* an empty name is a bad command line */
            return cli_error(st == CNN_ERR_ARG ? EXIT_USAGE : EXIT_FAILURE_RUN, "%s: %s",
                             ps->p[i].option, cnn_last_error());
        for (int j = 0; j < ps->n; j++) {
            if (j == i || !cnn_same_file(ps->p[i].path, ps->p[j].path))
                continue;
            if (!ps->p[j].output) {
                if (ps->p[i].may_be && !strcmp(ps->p[i].may_be, ps->p[j].option))
                    continue;
                return same("an input is never overwritten", ps->p[i].option,
                            ps->p[i].path, ps->p[j].option, ps->p[j].path);
            }
            struct stat st; /* /dev/null may take any number of outputs */
            if (j < i && !(stat(ps->p[i].path, &st) == 0 && S_ISCHR(st.st_mode)))
                return same("each output needs a file of its own", ps->p[j].option,
                            ps->p[j].path, ps->p[i].option, ps->p[i].path);
        }
    }
    return -1;
}
