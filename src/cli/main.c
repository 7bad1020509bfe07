/*
 * main.c — the cnn command: a thin client of include/cnn.h.
 *
 *   cnn train    [options]   train a model, save it, evaluate it on the test set
 *   cnn eval     [options]   evaluate saved weights on the test set
 *   cnn summary  [options]   print the model's layer table
 *   cnn info                 CPU, kernel sets, topology
 *
 * Results go to stdout; progress, warnings and errors to stderr.  Exit codes:
 * 0 success, 1 the work failed (bad file, I/O, training error), 2 bad usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnn.h"
#include "options.h"
#include "progress.h"

static const char usage_text[] =
    "usage: cnn COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  train     train a model on DIR/train-*, save it, evaluate on DIR/t10k-*\n"
    "  eval      evaluate saved weights on DIR/t10k-*\n"
    "  summary   print the model's layers, output shapes and parameters\n"
    "  info      print the CPU, its SIMD features, the kernel set chosen and the topology\n"
    "\n"
    "options:\n"
    "  --data DIR         MNIST-style IDX files, raw or .gz (default data/mnist)\n"
    "  --model SPEC       spec string or preset: seed, seed-dense, logreg (default seed)\n"
    "  --epochs N         passes over the training set (default 3)\n"
    "  --batch N          samples per optimizer step (default 32)\n"
    "  --lr X             Adam learning rate (default 0.001)\n"
    "  --seed N           seed of initialisation and shuffling (default 1151998)\n"
    "  --threads N        threads (default: OMP_NUM_THREADS, else physical cores)\n"
    "  --steps N          stop after N optimizer steps\n"
    "  --shuffle on|off   reshuffle every epoch (default on; off keeps file order)\n"
    "  --save FILE        write the trained weights (safetensors)\n"
    "  --load FILE        start from (train) or evaluate (eval) saved weights\n"
    "  --input HxWxC      input shape for summary (default 28x28x1)\n"
    "  --isa SET          kernels: avx512, avx2, neon, scalar or ref (default: $CNN_ISA,\n"
    "                     else the best the CPU supports)\n"
    "  --validate         evaluate on the test split after every epoch\n"
    "  --quiet            no progress output\n"
    "  --help, --version\n"
    "\n"
    "exit status: 0 success, 1 failure (bad file, I/O, training error), 2 bad usage\n";

typedef struct cli {
    const char *command;
    const char *data, *model, *save, *load, *isa;
    int epochs, batch, threads, shuffle, quiet, validate;
    int in_h, in_w, in_c;
    long steps;
    float lr;
    uint64_t seed;
} cli;

static int fail(int status)
{
    fprintf(stderr, "cnn: %s\n", cnn_last_error());
    return status == CNN_ERR_ARG ? EXIT_USAGE : EXIT_FAILURE_RUN;
}

static int parse_shape(const char *s, cli *c)
{
    char tail;
    if (sscanf(s, "%dx%dx%d%c", &c->in_h, &c->in_w, &c->in_c, &tail) != 3 || c->in_h < 1 ||
        c->in_w < 1 || c->in_c < 1) {
        fprintf(stderr, "cnn: --input: expected HxWxC such as 28x28x1, got '%s'\n", s);
        return 0;
    }
    return 1;
}

/* Parse argv[2..]; returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, cli *c)
{
    enum { O_DATA = 256, O_MODEL, O_EPOCHS, O_BATCH, O_LR, O_SEED, O_THREADS, O_STEPS,
           O_SHUFFLE, O_SAVE, O_LOAD, O_INPUT, O_QUIET, O_HELP, O_ISA, O_VALIDATE };
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA},     {"model", required_argument, 0, O_MODEL},
        {"epochs", required_argument, 0, O_EPOCHS}, {"batch", required_argument, 0, O_BATCH},
        {"lr", required_argument, 0, O_LR},         {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS},
        {"steps", required_argument, 0, O_STEPS},   {"shuffle", required_argument, 0, O_SHUFFLE},
        {"save", required_argument, 0, O_SAVE},     {"load", required_argument, 0, O_LOAD},
        {"input", required_argument, 0, O_INPUT},   {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, O_HELP},           {"isa", required_argument, 0, O_ISA},
        {"validate", no_argument, 0, O_VALIDATE},   {0, 0, 0, 0},
    };
    opterr = 0;
    optind = 2;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int ok = 1;
        switch (o) {
        case O_DATA: c->data = optarg; break;
        case O_MODEL: c->model = optarg; break;
        case O_EPOCHS: ok = opt_int("--epochs", optarg, 0, 1000000, &c->epochs); break;
        case O_BATCH: ok = opt_int("--batch", optarg, 1, 1 << 20, &c->batch); break;
        case O_LR: ok = opt_float("--lr", optarg, 0, 1e9, &c->lr); break;
        case O_SEED: ok = opt_u64("--seed", optarg, &c->seed); break;
        case O_THREADS: ok = opt_int("--threads", optarg, 1, 4096, &c->threads); break;
        case O_STEPS: ok = opt_long("--steps", optarg, 1, 1L << 40, &c->steps); break;
        case O_SHUFFLE: ok = opt_onoff("--shuffle", optarg, &c->shuffle); break;
        case O_SAVE: c->save = optarg; break;
        case O_LOAD: c->load = optarg; break;
        case O_INPUT: ok = parse_shape(optarg, c); break;
        case O_QUIET: c->quiet = 1; break;
        case O_ISA: c->isa = optarg; break;
        case O_VALIDATE: c->validate = 1; break;
        case O_HELP: fputs(usage_text, stdout); return EXIT_OK;
        case ':':
            fprintf(stderr, "cnn: option %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "cnn: unknown option '%s' (see cnn --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
        if (!ok)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "cnn: unexpected argument '%s' (see cnn --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    return -1;
}

static void print_eval(const cnn_eval_result *r)
{
    printf("test loss: %.4f, test accuracy: %.4f (%d images)\n", r->loss, r->accuracy,
           r->count);
    printf("confusion matrix (rows: true label, columns: predicted)\n      ");
    for (int j = 0; j < r->classes; j++)
        printf("%6d", j);
    printf("\n");
    for (int i = 0; i < r->classes; i++) {
        printf("%6d", i);
        for (int j = 0; j < r->classes; j++)
            printf("%6ld", r->confusion[(size_t)i * r->classes + j]);
        printf("\n");
    }
}

/* Load the test split (labels checked against the model) and evaluate. */
static int evaluate(const cli *c, cnn_model *m)
{
    cnn_dataset *test = NULL;
    int st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(m), &test);
    if (st != CNN_OK)
        return fail(st);
    cnn_eval_result r;
    st = cnn_evaluate(m, test, c->threads, &r);
    cnn_dataset_free(test);
    if (st != CNN_OK)
        return fail(st);
    print_eval(&r);
    cnn_eval_result_free(&r);
    return EXIT_OK;
}

/* Create the model for the given input shape on the chosen kernel set. */
static int make_model(const cli *c, int h, int w, int ch, cnn_model **m)
{
    int st = cnn_model_create(c->model, h, w, ch, 0, m);
    if (st == CNN_OK && c->isa)
        st = cnn_model_set_isa(*m, c->isa);
    if (st != CNN_OK) {
        cnn_model_free(*m);
        *m = NULL;
    }
    return st;
}

static int cmd_train(const cli *c)
{
    cnn_dataset *train = NULL;
    cnn_model *m = NULL;
    int st = cnn_dataset_load_dir(c->data, "train", 0, &train);
    if (st == CNN_OK)
        st = make_model(c, train->height, train->width, train->channels, &m);
    if (st == CNN_OK)
        st = c->load ? cnn_model_load(m, c->load) : cnn_model_init(m, c->seed);
    if (st != CNN_OK) {
        cnn_dataset_free(train);
        cnn_model_free(m);
        return fail(st);
    }
    cnn_dataset *val = NULL;
    if (c->validate && (st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(m), &val))) {
        cnn_dataset_free(train);
        cnn_model_free(m);
        return fail(st);
    }
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.validation = val;
    cfg.epochs = c->epochs;
    cfg.batch = c->batch;
    cfg.lr = c->lr;
    cfg.seed = c->seed;
    cfg.threads = c->threads;
    cfg.max_steps = c->steps;
    cfg.shuffle = c->shuffle;
    progress_state ps = {isatty(STDERR_FILENO), c->quiet, 0};
    cfg.progress = progress_print;
    cfg.user = &ps;

    char desc[160];
    int threads;
    cnn_threads_describe(c->threads, &threads, desc, sizeof desc);
    if (!c->quiet)
        fprintf(stderr, "cnn: %s, %zu parameters, %s kernels; %d images %dx%dx%d; %s\n",
                cnn_model_spec(m), cnn_model_param_count(m), cnn_model_isa(m), train->count,
                train->height, train->width, train->channels, desc);
    cnn_train_result res;
    st = cnn_train(m, train, &cfg, &res);
    cnn_dataset_free(train);
    cnn_dataset_free(val);
    if (st == CNN_OK && !res.bound && threads > 1 && !c->quiet)
        fprintf(stderr, "cnn: warning: threads are not bound to cores (%s)\n", res.binding);
    if (st == CNN_OK && !c->quiet && res.steps)
        fprintf(stderr, "cnn: trained %ld steps in %.1f s (%.0f images/s)\n", res.steps,
                res.seconds, (double)res.steps * c->batch / (res.seconds > 0 ? res.seconds : 1));
    if (st == CNN_OK && c->save) {
        st = cnn_model_save(m, c->save);
        if (st == CNN_OK && !c->quiet)
            fprintf(stderr, "cnn: weights saved to %s\n", c->save);
    }
    int rc = st == CNN_OK ? evaluate(c, m) : fail(st);
    cnn_model_free(m);
    return rc;
}

static int cmd_eval(const cli *c)
{
    if (!c->load) {
        fprintf(stderr, "cnn: eval needs --load FILE\n");
        return EXIT_USAGE;
    }
    cnn_dataset *test = NULL;
    cnn_model *m = NULL;
    /* The model's shape comes from the test images. */
    int st = cnn_dataset_load_dir(c->data, "test", 0, &test);
    if (st == CNN_OK)
        st = make_model(c, test->height, test->width, test->channels, &m);
    cnn_dataset_free(test);
    if (st == CNN_OK)
        st = cnn_model_load(m, c->load);
    int rc = st == CNN_OK ? evaluate(c, m) : fail(st);
    cnn_model_free(m);
    return rc;
}

static int cmd_summary(const cli *c)
{
    cnn_model *m = NULL;
    int st = make_model(c, c->in_h, c->in_w, c->in_c, &m);
    if (st != CNN_OK)
        return fail(st);
    size_t len = cnn_model_summary(m, NULL, 0);
    char *buf = malloc(len + 1);
    if (!buf) {
        cnn_model_free(m);
        fprintf(stderr, "cnn: out of memory\n");
        return EXIT_FAILURE_RUN;
    }
    cnn_model_summary(m, buf, len + 1);
    fputs(buf, stdout);
    free(buf);
    cnn_model_free(m);
    return EXIT_OK;
}

static int cmd_info(const cli *c)
{
    (void)c;
    size_t len = cnn_info(NULL, 0);
    char *buf = malloc(len + 1);
    if (!buf) {
        fprintf(stderr, "cnn: out of memory\n");
        return EXIT_FAILURE_RUN;
    }
    cnn_info(buf, len + 1);
    fputs(buf, stdout);
    free(buf);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cnn %s\n", CNN_VERSION);
        return EXIT_OK;
    }
    cli c = {.command = argv[1], .data = "data/mnist", .model = "seed", .epochs = 3,
             .batch = 32, .shuffle = 1, .lr = 0.001f, .seed = 1151998,
             .in_h = 28, .in_w = 28, .in_c = 1};
    int (*run)(const cli *) = NULL;
    if (!strcmp(c.command, "train"))
        run = cmd_train;
    else if (!strcmp(c.command, "eval"))
        run = cmd_eval;
    else if (!strcmp(c.command, "summary"))
        run = cmd_summary;
    else if (!strcmp(c.command, "info"))
        run = cmd_info;
    else {
        fprintf(stderr, "cnn: unknown command '%s' (see cnn --help)\n", c.command);
        return EXIT_USAGE;
    }
    int rc = parse(argc, argv, &c);
    if (rc >= 0)
        return rc;
    return run(&c);
}
