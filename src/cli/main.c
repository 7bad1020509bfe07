/*
 * main.c — the cnn command's entry point: finds the command, parses its
 * options with getopt_long (each command accepts its own subset), prints
 * `cnn --help`, `cnn COMMAND --help` (or `cnn help COMMAND`) and the
 * version (--version or -V, before or after any command), names what it
 * may have meant for a mistyped command or option (suggest.h), and runs
 * the command.
 *
 * Results go to stdout; progress, warnings and errors to stderr.  Exit codes
 * (docs/cli.md): 0 success, 1 the work failed (bad file, I/O, training
 * error), 2 bad usage, 130 / 143 training stopped by SIGINT / SIGTERM (a
 * checkpoint was written).
 *
 * Under mpirun every rank runs main: it joins the process group first
 * (src/comm.h), and group.c's checks run before the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "augment.h"
#include "cli.h"
#include "comm.h"
#include "dispatch.h"
#include "group.h"
#include "signals.h"
#include "suggest.h"

/* Each option once: its long name, its value's name (NULL: a flag) and its
   help line.  Indexed by cli_option. */
static const struct {
    const char *name, *arg, *help;
} option_help[OPT_COUNT] = {
    [OPT_DATA] = {"data", "DIR", "MNIST-style IDX files or CIFAR-10 binary batches, raw or\n"
                                 ".gz (default data/mnist)"},
    [OPT_MODEL] = {"model", "SPEC",
                   "spec string or preset: seed, seed-dense, logreg, bn, bn-fashion,\n"
                   "cifar (default seed; with --load, the spec stored in the file)"},
    [OPT_EPOCHS] = {"epochs", "N", "passes over the training set (default 3)"},
    [OPT_BATCH] = {"batch", "N", "samples per optimizer step (default 32)"},
    [OPT_LR] = {"lr", "X", "learning rate (default 0.001; onecycle's peak)"},
    [OPT_OPTIMIZER] = {"optimizer", "NAME",
                       "adam (Keras's, the default), adamw (Adam with decoupled weight\n"
                       "decay) or sgd (PyTorch's, with --momentum and --nesterov)"},
    [OPT_MOMENTUM] = {"momentum", "M", "sgd's momentum, from 0 to below 1 (default 0: none)"},
    [OPT_NESTEROV] = {"nesterov", NULL, "Nesterov momentum (sgd with --momentum above 0)"},
    [OPT_WEIGHT_DECAY] = {"weight-decay", "W",
                          "from 0 to below 1: adamw's decoupled decay, p *= 1 - lr*W\n"
                          "(default 0.01), or sgd's, W*p added to the gradient (default\n"
                          "0); every parameter, biases included"},
    [OPT_SCHEDULE] = {"schedule", "NAME",
                      "learning rate over the run: constant (default), step[:E:F]\n"
                      "(times F every E epochs; step alone is step:1:0.95), cosine\n"
                      "(down to 0), onecycle (PyTorch's OneCycleLR, peak --lr)"},
    [OPT_WARMUP] = {"warmup", "N[e]",
                    "raise the rate linearly over the first N steps, or N epochs with\n"
                    "a trailing e (constant, step and cosine schedules)"},
    [OPT_AUGMENT] = {"augment", "SPEC",
                     "augment training images: shift=P,rotate=D,zoom=Z,flip=F, any\n"
                     "of them: move by up to P pixels in x and y, turn by up to D\n"
                     "degrees, sample at a scale from 1-Z to 1+Z (above 1 zooms out),\n"
                     "each drawn uniformly per image and epoch, mirror left to right\n"
                     "with probability F; bilinear, zero outside (default none; P up\n"
                     "to half the image, D to 180, Z to 0.5, F to 1)"},
    [OPT_LABEL_SMOOTHING] = {"label-smoothing", "E",
                             "train towards (1-E) on the label and E/classes on every\n"
                             "class, from 0 (default) to below 1; the training loss shown\n"
                             "is the smoothed one, validation and test losses are not"},
    [OPT_SEED] = {"seed", "N",
                  "seed of initialisation, shuffling, dropout and augmentation\n"
                  "(default 1151998)"},
    [OPT_THREADS] = {"threads", "N", "threads (default: OMP_NUM_THREADS, else physical cores)"},
    [OPT_STEPS] = {"steps", "N", "stop after N optimizer steps"},
    [OPT_SHUFFLE] = {"shuffle", "on|off", "reshuffle every epoch (default on; off keeps file order)"},
    [OPT_SAVE] = {"save", "FILE", "write the trained weights (safetensors)"},
    [OPT_LOAD] = {"load", "FILE", "weights (or a checkpoint) to start from or to use"},
    [OPT_INPUT] = {"input", "HxWxC", "input shape (default 28x28x1)"},
    [OPT_ISA] = {"isa", "SET",
                 "kernels: avx512, avx2, neon, scalar or ref (default: $CNN_ISA,\n"
                 "else the best the CPU supports)"},
    [OPT_VALIDATE] = {"validate", NULL, "evaluate on the test split after every epoch"},
    [OPT_QUIET] = {"quiet", NULL, "no progress output"},
    [OPT_LOG] = {"log", "FILE", "metrics log, CSV or JSON Lines by extension (.csv, .jsonl)"},
    [OPT_LOG_EVERY] = {"log-every", "N", "also log every N steps (default: once per epoch)"},
    [OPT_CHECKPOINT] = {"checkpoint", "FILE",
                        "keep a resumable checkpoint in FILE (with --validate, the\n"
                        "best by test accuracy too, in FILE with .best before the extension)"},
    [OPT_CHECKPOINT_EVERY] = {"checkpoint-every", "N[e]",
                              "checkpoint every N steps, or every N epochs with a\n"
                              "trailing e (default 1e)"},
    [OPT_RESUME] = {"resume", "FILE", "continue an interrupted run from its checkpoint"},
    [OPT_CONFUSION] = {"confusion", "FILE",
                       "write the confusion-matrix heatmap (.svg, or .png through\n"
                       "rsvg-convert)"},
    [OPT_DOT] = {"dot", NULL, "print the model as a Graphviz graph instead of a table"},
    [OPT_OUTPUT] = {"output", "FILE", "where to write the result"},
    [OPT_MODELS] = {"models", "LIST",
                    "presets separated by ',', or presets and specs separated by ';'\n"
                    "(default logreg,seed,seed-dense)"},
};

static const cli_command *const commands[] = {
    &cmd_train, &cmd_eval, &cmd_predict, &cmd_summary, &cmd_compare, &cmd_plot, &cmd_info,
};
#define NCOMMANDS (int)(sizeof commands / sizeof commands[0])

static void print_main_help(FILE *f)
{
    fputs("usage: cnn COMMAND [options]\n"
          "       cnn help COMMAND       options of one command (or cnn COMMAND --help)\n"
          "       cnn --version, -V      the version (after any command, too)\n\n"
          "commands:\n", f);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\nexit status: 0 success, 1 failure (bad file, I/O, training error), 2 bad\n"
          "usage, 130/143 training interrupted by SIGINT/SIGTERM (checkpoint written)\n",
          f);
}

/* Help of one option, continuation lines indented under the first. */
static void print_option(FILE *f, int o)
{
    char left[48];
    snprintf(left, sizeof left, "%s--%s%s%s", o == OPT_OUTPUT ? "-o, " : "",
             option_help[o].name, option_help[o].arg ? " " : "",
             option_help[o].arg ? option_help[o].arg : "");
    fprintf(f, "  %-24s", left);
    for (const char *s = option_help[o].help; *s; s++) {
        fputc(*s, f);
        if (*s == '\n')
            fprintf(f, "  %-24s", "");
    }
    fputc('\n', f);
}

static void print_command_help(const cli_command *cmd)
{
    fputs(cmd->usage, stdout);
    printf("\noptions:\n");
    for (int o = 0; o < OPT_COUNT; o++)
        if (cmd->options & OPTBIT(o))
            print_option(stdout, o);
    printf("  %-24s%s\n", "-h, --help", "this text");
    printf("  %-24s%s\n", "-V, --version", "print the version (cnn " CNN_VERSION ")");
}

static int print_version(void)
{
    printf("cnn %s\n", CNN_VERSION);
    return EXIT_OK;
}

/* The checkpoint interval: "500" steps or "2e" epochs, the whole value. */
static int parse_every(const char *s, cli *c)
{
    return opt_long_unit("--checkpoint-every", s, 'e', 1, 1L << 40, &c->checkpoint_every,
                         &c->checkpoint_in_epochs);
}

static int parse_shape(const char *s, cli *c)
{
    int dims[3];
    if (!opt_shape("--input", s, 4096, dims))
        return 0;
    c->in_h = dims[0], c->in_w = dims[1], c->in_c = dims[2];
    return 1;
}

/* The warmup: "100" steps or "1e" epochs, the whole value. */
static int parse_warmup(const char *s, cli *c)
{
    if (!opt_long_unit("--warmup", s, 'e', 0, 1L << 40, &c->warmup, &c->warmup_in_epochs))
        return 0;
    if (c->warmup_in_epochs && c->warmup > 1000000) {
        cli_error(EXIT_USAGE, "--warmup: at most 1000000 epochs (as --epochs), got '%s'", s);
        return 0;
    }
    return 1;
}

/* The augmentation's settings, checked whole ("augment 'TEXT': ..."
   is the reason). */
static int parse_augment(const char *s, cli *c)
{
    cnn_augment a;
    const char *why;
    if (cnn_augment_parse(s, &a, &why) != 0) {
        cli_error(EXIT_USAGE, "--%s", why);
        return 0;
    }
    c->augment = s;
    return 1;
}

/* A name that must not be empty (--optimizer, --schedule). */
static int parse_name(const char *opt, const char *s, const char **out)
{
    if (!*s) {
        cli_error(EXIT_USAGE, "%s: expected a name, got ''", opt);
        return 0;
    }
    *out = s;
    return 1;
}

/* One option's value into c; 0 when it is bad (message printed). */
static int take(cli *c, int o, const char *v)
{
    switch (o) {
    case OPT_DATA: c->data = v; return 1;
    case OPT_MODEL: c->model = v; return 1;
    case OPT_EPOCHS: return opt_int("--epochs", v, 0, 1000000, &c->epochs);
    case OPT_BATCH: return opt_int("--batch", v, 1, 1 << 20, &c->batch);
    case OPT_LR: return opt_float("--lr", v, 0, 1e9, &c->lr);
    case OPT_OPTIMIZER: return parse_name("--optimizer", v, &c->optimizer);
    case OPT_MOMENTUM: return opt_fraction("--momentum", v, &c->momentum);
    case OPT_NESTEROV: c->nesterov = 1; return 1;
    case OPT_WEIGHT_DECAY: return opt_fraction("--weight-decay", v, &c->weight_decay);
    case OPT_SCHEDULE: return parse_name("--schedule", v, &c->schedule);
    case OPT_WARMUP: return parse_warmup(v, c);
    case OPT_AUGMENT: return parse_augment(v, c);
    case OPT_LABEL_SMOOTHING: return opt_fraction("--label-smoothing", v, &c->label_smoothing);
    case OPT_SEED: return opt_u64("--seed", v, &c->seed);
    case OPT_THREADS: return opt_int("--threads", v, 1, 4096, &c->threads);
    case OPT_STEPS: return opt_long("--steps", v, 1, 1L << 40, &c->steps);
    case OPT_SHUFFLE: return opt_onoff("--shuffle", v, &c->shuffle);
    case OPT_SAVE: c->save = v; return 1;
    case OPT_LOAD: c->load = v; return 1;
    case OPT_INPUT: return parse_shape(v, c);
    case OPT_ISA: c->isa = v; return 1;
    case OPT_VALIDATE: c->validate = 1; return 1;
    case OPT_QUIET: c->quiet = 1; return 1;
    case OPT_LOG: c->log = v; return 1;
    case OPT_LOG_EVERY: return opt_long("--log-every", v, 1, 1L << 40, &c->log_every);
    case OPT_CHECKPOINT: c->checkpoint = v; return 1;
    case OPT_CHECKPOINT_EVERY: return parse_every(v, c);
    case OPT_RESUME: c->resume = v; return 1;
    case OPT_CONFUSION: c->confusion = v; return 1;
    case OPT_DOT: c->dot = 1; return 1;
    case OPT_OUTPUT: c->output = v; return 1;
    case OPT_MODELS: c->models = v; return 1;
    }
    return 0;
}

/* The options every command takes besides its own, after OPT_COUNT. */
enum { O_HELP = OPT_COUNT, O_VERSION, O_LAST = O_VERSION };

/* An option's long name, O_HELP and O_VERSION included. */
static const char *long_name(int o)
{
    return o == O_HELP ? "help" : o == O_VERSION ? "version" : option_help[o].name;
}

/* The message for an unknown long option --NAME (n bytes of name), with
   the command's options closest to it. */
static int unknown_long(const cli_command *cmd, const char *name, int n)
{
    const char *names[O_LAST + 1];
    char word[64], near[200], dashed[220] = "";
    int count = 0;
    for (int o = 0; o <= O_LAST; o++)
        if (o >= OPT_COUNT || (cmd->options & OPTBIT(o)))
            names[count++] = long_name(o);
    snprintf(word, sizeof word, "%.*s", n, name);
    if (cnn_suggest(word, names, count, near, sizeof near) > 0) {
        /* 'quiet' or 'seed' -> '--quiet' or '--seed' */
        size_t len = 0;
        for (const char *p = near; *p && len + 3 < sizeof dashed; p++) {
            int opening = *p == '\'' && (p == near || p[-1] == ' ');
            dashed[len++] = *p;
            if (opening)
                dashed[len++] = '-', dashed[len++] = '-';
        }
        dashed[len] = 0;
        return cli_error(EXIT_USAGE, "unknown option '--%.*s'; did you mean %s? (see cnn %s "
                         "--help)", n, name, dashed, cmd->name);
    }
    return cli_error(EXIT_USAGE, "unknown option '--%.*s' (see cnn %s --help)", n, name,
                     cmd->name);
}

/* The message for an element getopt refused ('?'), named as typed: an
   unknown short option alone ("-q" of "-qo"); a long option that is
   unknown, an abbreviation of several, or a flag given a value. */
static int refused(const cli_command *cmd, const char *arg, int short_opt)
{
    if (arg[1] != '-') {
        if (short_opt > ' ' && short_opt < 0x7f)
            return cli_error(EXIT_USAGE, "unknown option '-%c' (see cnn %s --help)", short_opt,
                             cmd->name);
        return cli_error(EXIT_USAGE, "unknown option in '%s' (see cnn %s --help)", arg,
                         cmd->name);
    }
    const char *name = arg + 2;
    int n = (int)strcspn(name, "="), count = 0, exact = -1, first = -1, second = -1;
    for (int o = 0; o <= O_LAST; o++) {
        if (strncmp(long_name(o), name, (size_t)n) != 0)
            continue;
        if (long_name(o)[n] == 0)
            exact = o;
        second = count++ == 1 ? o : second;
        first = first < 0 ? o : first;
    }
    int o = exact >= 0 ? exact : count == 1 ? first : -1;
    if (o >= 0 && name[n] == '=')
        return cli_error(EXIT_USAGE, "option --%s takes no value, got '%s'", long_name(o), arg);
    if (o < 0 && count > 1)
        return cli_error(EXIT_USAGE, "option '--%.*s' is ambiguous: --%s, --%s%s (see cnn %s "
                         "--help)", n, name, long_name(first), long_name(second),
                         count > 2 ? ", ..." : "", cmd->name);
    return unknown_long(cmd, name, n);
}

/* One more positional argument; 0 when there are too many (message printed). */
static int positional(cli *c, char *arg)
{
    if (c->nargs == CLI_MAX_ARGS) {
        cli_error(EXIT_USAGE, "more than %d arguments", CLI_MAX_ARGS);
        return 0;
    }
    c->args[c->nargs++] = arg;
    return 1;
}

/* Parse argv[2..] for cmd; returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, const cli_command *cmd, cli *c)
{
    struct option opts[O_LAST + 2];
    for (int o = 0; o <= O_LAST; o++) /* getopt's values start at 1 */
        opts[o] = (struct option){long_name(o),
                                  o < OPT_COUNT && option_help[o].arg ? required_argument
                                                                      : no_argument, 0, o + 1};
    opts[O_LAST + 1] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 2;
    /* "+": stop at the first positional so that e.g. "-" is an argument;
       options may still follow the positionals (handled below). */
    while (optind < argc) {
        /* "--" ends the options.  getopt never sees it: after one it moves
           optind back to the first positional it passed over. */
        if (!strcmp(argv[optind], "--")) {
            while (++optind < argc)
                if (!positional(c, argv[optind]))
                    return EXIT_USAGE;
            break;
        }
        int at = optind; /* the element getopt reads from (also within "-xy") */
        int v = getopt_long(argc, argv, "+:o:hV", opts, NULL);
        if (v == -1) { /* a positional argument, or the end */
            if (optind < argc && !positional(c, argv[optind++]))
                return EXIT_USAGE;
            continue;
        }
        if (v == O_HELP + 1 || v == 'h') {
            print_command_help(cmd);
            return EXIT_OK;
        }
        if (v == O_VERSION + 1 || v == 'V')
            return print_version();
        if (v == ':') {
            if (optopt == 'o')
                return cli_error(EXIT_USAGE, "option -o needs a value");
            return cli_error(EXIT_USAGE, "option --%s needs a value", long_name(optopt - 1));
        }
        if (v == '?')
            return refused(cmd, argv[at], optopt);
        int o = v == 'o' ? OPT_OUTPUT : v - 1;
        if (!(cmd->options & OPTBIT(o)))
            return cli_error(EXIT_USAGE, "cnn %s does not take %s%s (see cnn %s --help)",
                             cmd->name, v == 'o' ? "-" : "--", v == 'o' ? "o" : long_name(o),
                             cmd->name);
        c->set |= OPTBIT(o);
        if (!take(c, o, optarg))
            return EXIT_USAGE;
    }
    if (c->nargs > cmd->max_args)
        return cli_error(EXIT_USAGE, "unexpected argument '%s' (see cnn %s --help)",
                         c->args[cmd->max_args], cmd->name);
    if (c->nargs < cmd->min_args)
        return cli_error(EXIT_USAGE, "cnn %s needs %s (see cnn %s --help)", cmd->name,
                         cmd->min_args == 1 ? "an argument" : "more arguments", cmd->name);
    return -1;
}

/* A standard descriptor closed at start (`cnn eval >&-`) would be taken by
   the next file opened, which would then receive the results or the
   errors.  Each gets /dev/null (or "/") opened read-only: reads see the
   end, and writes fail with EBADF, so a closed stdout is reported. */
static void fill_closed_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int got = open("/dev/null", O_RDONLY);
        if (got < 0)
            got = open("/", O_RDONLY);
        if (got >= 0 && got != fd) {
            dup2(got, fd);
            close(got);
        }
    }
}

/* The kernel set, checked before any work: --isa overrides $CNN_ISA (it
   becomes the default of every model of the run); without
   it a bad $CNN_ISA is refused, naming it.  -1 to go on, else an exit code. */
static int check_isa(const cli_command *cmd, const cli *c)
{
    if (!(cmd->options & OPTBIT(OPT_ISA)))
        return -1;
    int st = cnn_isa_check(c->isa);
    if (st != CNN_OK && c->isa)
        return cli_error(st == CNN_ERR_ARG ? EXIT_USAGE : EXIT_FAILURE_RUN, "--isa: %s",
                         cnn_last_error());
    if (st != CNN_OK)
        return cli_fail(st);
    cnn_kernels_set_default(c->isa);
    return -1;
}

/* The thread count a command will use: a malformed OMP_NUM_THREADS is an
   error, a count beyond what the machine can use is capped with a warning.
   -1 to go on, else an exit code. */
static int check_threads(const cli_command *cmd, const cli *c)
{
    if (!(cmd->options & OPTBIT(OPT_THREADS)) && cmd != &cmd_info)
        return -1;
    char warning[200];
    if (cnn_threads_check(c->threads, warning, sizeof warning) != CNN_OK)
        return cli_fail(CNN_ERR_ARG);
    if (*warning)
        cli_say("warning: %s", warning);
    return -1;
}

/* Results on stdout must have arrived: flush and close it; a write error
   makes a successful command fail (one that failed already said why, e.g.
   predict and summary check their own output).  A write that failed
   before the final flush left no reason behind: then none is given. */
static int finish_stdout(int rc)
{
    errno = 0;
    int failed = fflush(stdout) != 0 || ferror(stdout), err = failed ? errno : 0;
    errno = 0;
    if (fclose(stdout) != 0 && !failed)
        failed = 1, err = errno;
    if (!failed || rc != EXIT_OK)
        return rc;
    if (!err)
        return cli_error(EXIT_FAILURE_RUN, "stdout: write failed");
    return cli_error(EXIT_FAILURE_RUN, "stdout: write failed: %s", strerror(err));
}

static const cli_command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i]->name))
            return commands[i];
    return NULL;
}

/* The message for an unknown command, or an unknown option before the
   command, with the names closest to it. */
static int unknown_command(const char *arg)
{
    const char *names[NCOMMANDS + 2], *what = arg[0] == '-' ? "option" : "command";
    int n = 0;
    if (arg[0] == '-')
        names[n++] = "--help", names[n++] = "--version";
    else {
        for (int i = 0; i < NCOMMANDS; i++)
            names[n++] = commands[i]->name;
        names[n++] = "help";
    }
    char near[200];
    if (cnn_suggest(arg, names, n, near, sizeof near) > 0)
        return cli_error(EXIT_USAGE, "unknown %s '%s'; did you mean %s? (see cnn --help)",
                         what, arg, near);
    return cli_error(EXIT_USAGE, "unknown %s '%s' (see cnn --help)", what, arg);
}

/* What comes before a command: help, the version, `cnn help [COMMAND]`,
   or no command.  -1 when argv[1] names a command (*cmd), else an exit
   code. */
static int top_level(int argc, char **argv, const cli_command **cmd)
{
    if (argc < 2) {
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    const char *a = argv[1], *b = argc > 2 ? argv[2] : "";
    const int help = !strcmp(a, "help");
    if (!strcmp(a, "--help") || !strcmp(a, "-h") ||
        (help && (argc == 2 || !strcmp(b, "--help") || !strcmp(b, "-h") ||
                  !strcmp(b, "help")))) {
        print_main_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(a, "--version") || !strcmp(a, "-V") ||
        (help && (!strcmp(b, "--version") || !strcmp(b, "-V"))))
        return print_version();
    if (!strcmp(a, "help")) {
        if (argc > 3)
            return cli_error(EXIT_USAGE, "unexpected argument '%s' (cnn help takes one "
                             "command)", argv[3]);
        if (!(*cmd = find_command(argv[2])))
            return unknown_command(argv[2]);
        print_command_help(*cmd);
        return EXIT_OK;
    }
    if (!(*cmd = find_command(a)))
        return unknown_command(a);
    return -1;
}

static int run(int argc, char **argv)
{
    const cli_command *cmd = NULL;
    int top = top_level(argc, argv, &cmd);
    if (top >= 0)
        return top;
    char *args[CLI_MAX_ARGS];
    cli c = {.command = cmd->name, .data = "data/mnist", .model = "seed", .epochs = 3,
             .batch = 32, .shuffle = 1, .lr = 0.001f, .optimizer = "adam",
             .schedule = "constant", .seed = 1151998,
             .in_h = 28, .in_w = 28, .in_c = 1, .checkpoint_every = 1,
             .checkpoint_in_epochs = 1, .args = args};
    int rc = group_command(cmd);
    if (rc < 0)
        rc = parse(argc, argv, cmd, &c);
    if (rc < 0)
        rc = check_isa(cmd, &c);
    if (rc < 0)
        rc = check_threads(cmd, &c);
    if (rc >= 0)
        return rc;
    return cmd->run(&c);
}

int main(int argc, char **argv)
{
    fill_closed_std_fds();
    if (cnn_comm_init(&argc, &argv) != 0) /* before the handlers: ours win */
        return EXIT_FAILURE_RUN;
    signals_install_cleanup(); /* a fatal signal leaves no temporary file */
    group_check_args(argc, argv);
    return cnn_comm_end(finish_stdout(run(argc, argv)));
}
