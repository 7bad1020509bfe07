/*
 * cli.h — what the cnn command's files share: the parsed command line, the
 * command table entry type, and helpers for errors, models and data.
 * Each command lives in its own file (train.c, eval.c, summary.c, ...);
 * main.c parses the options and dispatches.
 */
#ifndef CNN_CLI_H
#define CNN_CLI_H

#include <stdint.h>

#include "cnn.h"
#include "options.h"

/* Every option of every command; a command accepts a subset (cli_command). */
typedef enum cli_option {
    OPT_DATA, OPT_MODEL, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_OPTIMIZER, OPT_MOMENTUM,
    OPT_NESTEROV, OPT_WEIGHT_DECAY, OPT_SCHEDULE, OPT_WARMUP, OPT_AUGMENT,
    OPT_LABEL_SMOOTHING, OPT_SEED, OPT_THREADS,
    OPT_STEPS, OPT_SHUFFLE, OPT_SAVE, OPT_LOAD, OPT_INPUT, OPT_ISA, OPT_VALIDATE,
    OPT_QUIET, OPT_LOG, OPT_LOG_EVERY, OPT_CHECKPOINT, OPT_CHECKPOINT_EVERY,
    OPT_RESUME, OPT_CONFUSION, OPT_DOT, OPT_OUTPUT, OPT_MODELS, OPT_COUNT
} cli_option;

#define OPTBIT(o) (1ull << (o))

/* Most positional arguments a command line may hold. */
#define CLI_MAX_ARGS 4096

/* The parsed command line.  `set` has a bit per option given. */
typedef struct cli {
    const char *command;
    uint64_t set;
    const char *data, *model, *save, *load, *isa;
    const char *log, *checkpoint, *resume, *confusion, *output, *models;
    int epochs, batch, threads, shuffle, quiet, validate, dot;
    int in_h, in_w, in_c;
    long steps, log_every;
    long checkpoint_every;     /* a count of steps, or of epochs when */
    int checkpoint_in_epochs;  /* this is 1 ("--checkpoint-every 2e") */
    float lr;
    const char *optimizer;     /* --optimizer: adam, adamw, sgd */
    float momentum, weight_decay;
    int nesterov;
    const char *schedule;      /* --schedule as given */
    long warmup;               /* --warmup: steps, or epochs when */
    int warmup_in_epochs;      /* this is 1 ("--warmup 2e") */
    const char *augment;       /* --augment as given (checked) */
    float label_smoothing;
    uint64_t seed;
    int nargs;                 /* positional arguments */
    char **args;
} cli;

/* One command: its name, a one-line summary for `cnn --help`, its usage
   text for `cnn COMMAND --help`, the options it accepts, how many
   positional arguments it takes, and the function that runs it. */
typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *usage;
    uint64_t options;
    int min_args, max_args;
    int (*run)(const cli *c);
} cli_command;

extern const cli_command cmd_train, cmd_eval, cmd_summary, cmd_info,
    cmd_predict, cmd_compare, cmd_plot;

/* Print "cnn: <last error>" and return the exit code for status. */
int cli_fail(int status);

/* Print "cnn: <printf message>" to stderr, as one line with what does not
   print escaped (cli_escape), and return code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same line for a note, a warning or an error without an exit code. */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Create c->model for an input shape on c->isa's kernel set. */
int cli_make_model(const cli *c, int h, int w, int ch, cnn_model **m);

/* The model a command works on: with --load FILE and no --model, the
   model stored in FILE (spec and input shape from its metadata); else
   --model for input h x w x ch, with FILE's weights loaded when --load is
   given.  On the kernel set of --isa. */
int cli_open_model(const cli *c, int h, int w, int ch, cnn_model **m);

/* v rounded to an integer with thousands separators ("24,186"). */
void cli_with_commas(double v, char *buf, size_t size);

/* A preset's name ("seed") when the model is one, else its spec. */
const char *cli_model_name(const cnn_model *m);

/* Load the test split of c->data (labels checked against the model),
   evaluate; the caller frees *r with cnn_eval_result_free. */
int cli_evaluate(const cli *c, cnn_model *m, cnn_eval_result *r);

/* Print an evaluation: loss, accuracy and the confusion matrix. */
void cli_print_eval(const cnn_eval_result *r);

#endif /* CNN_CLI_H */
