/*
 * main.c — the cnn command's entry point: finds the command, parses its
 * options with getopt_long (each command accepts its own subset), prints
 * `cnn --help` and `cnn COMMAND --help`, and runs the command.
 *
 * Results go to stdout; progress, warnings and errors to stderr.  Exit codes
 * (docs/cli.md): 0 success, 1 the work failed (bad file, I/O, training
 * error), 2 bad usage, 130 / 143 training stopped by SIGINT / SIGTERM (a
 * checkpoint was written).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Each option once: its long name, its value's name (NULL: a flag) and its
   help line.  Indexed by cli_option. */
static const struct {
    const char *name, *arg, *help;
} option_help[OPT_COUNT] = {
    [OPT_DATA] = {"data", "DIR", "MNIST-style IDX files, raw or .gz (default data/mnist)"},
    [OPT_MODEL] = {"model", "SPEC",
                   "spec string or preset: seed, seed-dense, logreg (default seed;\n"
                   "with --load, the spec stored in the file)"},
    [OPT_EPOCHS] = {"epochs", "N", "passes over the training set (default 3)"},
    [OPT_BATCH] = {"batch", "N", "samples per optimizer step (default 32)"},
    [OPT_LR] = {"lr", "X", "Adam learning rate (default 0.001)"},
    [OPT_SEED] = {"seed", "N", "seed of initialisation and shuffling (default 1151998)"},
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
    [OPT_OUTPUT] = {"output", "FILE", "where to write the result (-o)"},
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
          "       cnn COMMAND --help     options of one command\n"
          "       cnn --version\n\ncommands:\n", f);
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
    snprintf(left, sizeof left, "--%s%s%s%s", option_help[o].name,
             option_help[o].arg ? " " : "", option_help[o].arg ? option_help[o].arg : "",
             o == OPT_OUTPUT ? ", -o" : "");
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
    printf("  %-24s%s\n", "--help", "this text");
}

/* The checkpoint interval: "500" steps or "2e" epochs. */
static int parse_every(const char *s, cli *c)
{
    char buf[32];
    size_t n = strlen(s);
    int epochs = n > 0 && s[n - 1] == 'e';
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n - (size_t)epochs);
    buf[n - (size_t)epochs] = 0;
    if (!opt_long("--checkpoint-every", epochs ? buf : s, 1, 1L << 40, &c->checkpoint_every))
        return 0;
    c->checkpoint_in_epochs = epochs;
    return 1;
}

static int parse_shape(const char *s, cli *c)
{
    char tail;
    if (sscanf(s, "%dx%dx%d%c", &c->in_h, &c->in_w, &c->in_c, &tail) != 3 || c->in_h < 1 ||
        c->in_w < 1 || c->in_c < 1 || c->in_h > 4096 || c->in_w > 4096 || c->in_c > 4096) {
        fprintf(stderr, "cnn: --input: expected HxWxC such as 28x28x1 (each 1 to 4096), "
                        "got '%s'\n", s);
        return 0;
    }
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

/* Parse argv[2..] for cmd; returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, const cli_command *cmd, cli *c)
{
    enum { O_HELP = OPT_COUNT + 1 };
    struct option opts[OPT_COUNT + 2];
    int n = 0;
    for (int o = 0; o < OPT_COUNT; o++)
        opts[n++] = (struct option){option_help[o].name,
                                    option_help[o].arg ? required_argument : no_argument,
                                    0, o + 1}; /* getopt's values start at 1 */
    opts[n++] = (struct option){"help", no_argument, 0, O_HELP};
    opts[n] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 2;
    int v;
    /* "+": stop at the first positional so that e.g. "-" is an argument;
       options may still follow the positionals (handled below). */
    while ((v = getopt_long(argc, argv, "+:o:h", opts, NULL)) != -1 || optind < argc) {
        if (v == -1) { /* a positional argument */
            if (c->nargs == CLI_MAX_ARGS)
                return cli_error(EXIT_USAGE, "more than %d arguments", CLI_MAX_ARGS);
            c->args[c->nargs++] = argv[optind++];
            continue;
        }
        if (v == O_HELP || v == 'h') {
            print_command_help(cmd);
            return EXIT_OK;
        }
        if (v == ':')
            return cli_error(EXIT_USAGE, "option %s needs a value", argv[optind - 1]);
        if (v == '?')
            return cli_error(EXIT_USAGE, "unknown option '%s' (see cnn %s --help)",
                             argv[optind - 1], cmd->name);
        int o = v == 'o' ? OPT_OUTPUT : v - 1;
        if (!(cmd->options & OPTBIT(o)))
            return cli_error(EXIT_USAGE, "cnn %s does not take --%s (see cnn %s --help)",
                             cmd->name, option_help[o].name, cmd->name);
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

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        print_main_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cnn %s\n", CNN_VERSION);
        return EXIT_OK;
    }
    const cli_command *cmd = NULL;
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i]->name))
            cmd = commands[i];
    if (!cmd)
        return cli_error(EXIT_USAGE, "unknown command '%s' (see cnn --help)", argv[1]);
    char *args[CLI_MAX_ARGS];
    cli c = {.command = cmd->name, .data = "data/mnist", .model = "seed", .epochs = 3,
             .batch = 32, .shuffle = 1, .lr = 0.001f, .seed = 1151998,
             .in_h = 28, .in_w = 28, .in_c = 1, .checkpoint_every = 1,
             .checkpoint_in_epochs = 1, .args = args};
    int rc = parse(argc, argv, cmd, &c);
    if (rc >= 0)
        return rc;
    return cmd->run(&c);
}
