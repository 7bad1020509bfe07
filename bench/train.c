/*
 * train.c — end-to-end training benchmark (bench/train): trains a model
 * (default the seed network) on real MNIST for a fixed number of steps after
 * a warm-up and reports images/s, the time per step split into data
 * preparation, forward, backward, barrier wait and gradient sums + the
 * optimizer, the idle share of the team (time lost waiting for the slowest
 * thread's share) and the process's peak RSS; --sweep repeats it for 1,
 * 2, ... threads and adds the speed-up over 1 thread and the parallel
 * efficiency.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cnn.h"

typedef struct options {
    const char *data, *model, *isa;
    int threads, batch, json, sweep, max_threads;
    long steps, warmup;
} options;

typedef struct row {
    int threads;
    double images_per_s, us_step, us_data, us_forward, us_backward, us_wait, us_update;
    double idle;
    char isa[16], binding[160];
} row;

static void usage(FILE *f)
{
    fputs("usage: bench/train [--data DIR] [--model SPEC] [--isa SET] [--threads N]\n"
          "                   [--batch N] [--steps N] [--warmup N] [--sweep [--max-threads N]]\n"
          "                   [--json]\n"
          "Trains on DIR/train-* for --steps optimizer steps (default 400) after --warmup\n"
          "steps (default 50) and reports images/s and microseconds per step by phase.\n"
          "--sweep runs 1, 2, ... up to --max-threads (default: the physical cores).\n",
          f);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static int measure(const options *o, const cnn_dataset *train, int threads, row *r)
{
    cnn_model *m = NULL;
    int st = cnn_model_create(o->model, train->height, train->width, train->channels, 0, &m);
    if (st == CNN_OK && o->isa)
        st = cnn_model_set_isa(m, o->isa);
    if (st != CNN_OK) {
        fprintf(stderr, "bench/train: %s\n", cnn_last_error());
        cnn_model_free(m);
        return 1;
    }
    cnn_model_init(m, 1151998);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.threads = threads;
    cfg.batch = o->batch;
    cfg.epochs = 1000000;
    cnn_train_result res;
    cfg.max_steps = o->warmup;
    if (o->warmup)
        st = cnn_train(m, train, &cfg, &res);
    cfg.max_steps = o->steps;
    if (st == CNN_OK)
        st = cnn_train(m, train, &cfg, &res);
    if (st != CNN_OK) {
        fprintf(stderr, "bench/train: %s\n", cnn_last_error());
        cnn_model_free(m);
        return 1;
    }
    double per_step = 1e6 / (double)res.steps;
    r->threads = res.threads;
    r->images_per_s = (double)res.steps * o->batch / res.seconds;
    r->us_step = res.seconds * per_step;
    r->us_data = res.data_s * per_step;
    r->us_forward = res.forward_s * per_step;
    r->us_backward = res.backward_s * per_step;
    r->us_wait = res.wait_s * per_step;
    r->us_update = res.update_s * per_step;
    r->idle = res.idle;
    snprintf(r->isa, sizeof r->isa, "%s", cnn_model_isa(m));
    snprintf(r->binding, sizeof r->binding, "%s", res.binding);
    cnn_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    options o = {"data/mnist", "seed", NULL, 0, 32, 0, 0, 0, 400, 50};
    enum { O_DATA = 256, O_MODEL, O_ISA, O_THREADS, O_BATCH, O_STEPS, O_WARMUP, O_SWEEP,
           O_MAXT, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA},       {"model", required_argument, 0, O_MODEL},
        {"isa", required_argument, 0, O_ISA},         {"threads", required_argument, 0, O_THREADS},
        {"batch", required_argument, 0, O_BATCH},     {"steps", required_argument, 0, O_STEPS},
        {"warmup", required_argument, 0, O_WARMUP},   {"sweep", no_argument, 0, O_SWEEP},
        {"max-threads", required_argument, 0, O_MAXT}, {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        long v = optarg ? strtol(optarg, &end, 10) : 0;
        int numeric = c == O_THREADS || c == O_BATCH || c == O_STEPS || c == O_WARMUP ||
                      c == O_MAXT;
        if (numeric && (!*optarg || *end || v < (c == O_WARMUP ? 0 : 1) || v > 1000000)) {
            fprintf(stderr, "bench/train: %s: expected a positive integer, got '%s'\n",
                    argv[optind - 1], optarg);
            return 2;
        }
        switch (c) {
        case O_DATA: o.data = optarg; break;
        case O_MODEL: o.model = optarg; break;
        case O_ISA: o.isa = optarg; break;
        case O_THREADS: o.threads = (int)v; break;
        case O_BATCH: o.batch = (int)v; break;
        case O_STEPS: o.steps = v; break;
        case O_WARMUP: o.warmup = v; break;
        case O_SWEEP: o.sweep = 1; break;
        case O_MAXT: o.max_threads = (int)v; break;
        case O_JSON: o.json = 1; break;
        case O_HELP: usage(stdout); return 0;
        default:
            fprintf(stderr, "bench/train: unknown option '%s'\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench/train: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    cnn_dataset *train = NULL;
    if (cnn_dataset_load_dir(o.data, "train", 0, &train) != CNN_OK) {
        fprintf(stderr, "bench/train: %s\n", cnn_last_error());
        return 1;
    }
    int cores;
    cnn_threads_describe(0, &cores, NULL, 0);
    int first = o.sweep ? 1 : o.threads, last = o.sweep ? (o.max_threads ? o.max_threads : cores)
                                                        : o.threads;
    row rows[256];
    int nrows = 0, rc = 0;
    for (int t = first; t <= last && nrows < 256; t = o.sweep ? t + 1 : last + 1) {
        if ((rc = measure(&o, train, t, &rows[nrows])) != 0)
            break;
        nrows++;
    }
    cnn_dataset_free(train);
    if (rc)
        return rc;
    long rss = peak_rss_kib();
    double base = rows[0].threads == 1 ? rows[0].images_per_s : 0;
    if (o.json) {
        printf("[");
        for (int i = 0; i < nrows; i++) {
            const row *r = &rows[i];
            printf("%s\n {\"model\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"batch\": %d, "
                   "\"steps\": %ld, \"images_per_s\": %.1f, \"us_per_step\": %.1f, "
                   "\"us_data\": %.1f, \"us_forward\": %.1f, \"us_backward\": %.1f, "
                   "\"us_wait\": %.1f, \"us_update\": %.1f, \"speedup\": %.3f, "
                   "\"efficiency\": %.3f, \"idle\": %.4f, \"peak_rss_kib\": %ld}",
                   i ? "," : "", o.model, r->isa, r->threads, o.batch, o.steps, r->images_per_s,
                   r->us_step, r->us_data, r->us_forward, r->us_backward, r->us_wait,
                   r->us_update, base ? r->images_per_s / base : 0,
                   base ? r->images_per_s / base / r->threads : 0, r->idle, rss);
        }
        printf("\n]\n");
        return 0;
    }
    printf("model %s, batch %d, %ld steps after %ld warm-up, %s kernels\n", o.model, o.batch,
           o.steps, o.warmup, rows[0].isa);
    printf("%7s %10s %9s %8s %8s %9s %8s %8s %6s %8s %6s\n", "threads", "images/s", "us/step",
           "data", "forward", "backward", "wait", "update", "idle", "speedup", "eff");
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        printf("%7d %10.0f %9.1f %8.1f %8.1f %9.1f %8.1f %8.1f %5.1f%%", r->threads,
               r->images_per_s, r->us_step, r->us_data, r->us_forward, r->us_backward, r->us_wait,
               r->us_update, 100 * r->idle);
        if (base)
            printf(" %7.2fx %5.0f%%\n", r->images_per_s / base,
                   100 * r->images_per_s / base / r->threads);
        else
            printf(" %8s %6s\n", "-", "-");
    }
    printf("phases are thread 0's microseconds per step; idle: the team's share time lost "
           "waiting for the slowest share; peak RSS %.1f MiB; %s\n",
           (double)rss / 1024, rows[nrows - 1].binding);
    return 0;
}
