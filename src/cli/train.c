/*
 * train.c — `cnn train`: check every input and output, load the training
 * and test splits, build, load or resume the model, train it with progress
 * on stderr (and a metrics log, checkpoints and the best model by test
 * accuracy when asked), save it, evaluate it on the test split.
 *
 * SIGINT and SIGTERM ask training to stop (signals.h): the step in flight
 * finishes, a checkpoint is written, the command that resumes is printed
 * and the exit status is 128 + the signal (130, 143).  After training the
 * handlers stay until the last file is written: a signal then lets the
 * checkpoint and weights be written and skips the evaluation.  A second
 * signal ends the process at once, temporary files removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "augment.h"
#include "cli.h"
#include "comm.h"
#include "confusion.h"
#include "group.h"
#include "metrics.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "paths.h"
#include "progress.h"
#include "signals.h"
#include "svg.h"

/* What the trainer's callbacks need. */
typedef struct run {
    const cli *c;
    cnn_model *m;
    cnn_train_state *state;
    progress_state ps;
    metrics_log *log;
    const char *ckpt;      /* checkpoint path, or NULL */
    char *best;            /* best-by-validation checkpoint path, or NULL */
    long last_ckpt_step;   /* global step of the last checkpoint written */
    int failed;            /* a log write failed (message printed): training
                              stops after the step, as if cancelled */
    cnn_dataset *train, *test;
    cnn_train_config cfg;
    char schedule[48];     /* a resumed run's schedule (cfg.schedule) */
    char augment[CNN_AUGMENT_TEXT]; /* its augmentation (cfg.augment) */
    int rc;                /* an exit code load() gave, else -1 */
    int threads;           /* the team's size */
} run;

static void on_progress(const cnn_progress *p, void *user)
{
    run *r = user;
    progress_print(p, &r->ps);
    if (r->log && !r->failed &&
        (p->epoch_done || (r->c->log_every && p->global_step % r->c->log_every == 0)))
        if ((r->failed = metrics_write(r->log, p) != 0))
            signals_cancel = 1;
}

/* Called on the schedule (checkpoint_due) and after a new best test
   accuracy (val_best): the best is saved whenever it happens. */
static int on_checkpoint(const cnn_progress *p, void *user)
{
    run *r = user;
    int st = CNN_OK;
    if (p->checkpoint_due && (st = cnn_checkpoint_save(r->m, r->state, r->ckpt)) == CNN_OK)
        r->last_ckpt_step = p->global_step;
    if (st == CNN_OK && r->best && p->validated && p->val_best)
        st = cnn_checkpoint_save(r->m, r->state, r->best);
    return st;
}

/* "run.ckpt" -> "run.best.ckpt"; "run" -> "run.best" (malloc'ed). */
static char *best_path(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == path || (slash && dot == slash + 1))
        dot = path + strlen(path);
    size_t stem = (size_t)(dot - path);
    char *out = malloc(strlen(path) + 6);
    if (out)
        sprintf(out, "%.*s.best%s", (int)stem, path, dot);
    return out;
}

/* Append " --opt value" to the command being built (cut when full). */
static void arg(char *buf, size_t size, const char *opt, const char *value)
{
    size_t at = strlen(buf);
    snprintf(buf + at, size - at, " %s%s%s", opt, value ? " " : "", value ? value : "");
}

/* The command that resumes the run (to stderr). */
static void print_resume(const cli *c, const char *ckpt)
{
    char cmd[4096] = "", num[32];
    if (c->set & OPTBIT(OPT_DATA))
        arg(cmd, sizeof cmd, "--data", c->data);
    if (c->set & OPTBIT(OPT_EPOCHS))
        snprintf(num, sizeof num, "%d", c->epochs), arg(cmd, sizeof cmd, "--epochs", num);
    if (c->validate)
        arg(cmd, sizeof cmd, "--validate", NULL);
    if (c->checkpoint && c->checkpoint != ckpt)
        arg(cmd, sizeof cmd, "--checkpoint", c->checkpoint);
    if (c->set & OPTBIT(OPT_CHECKPOINT_EVERY)) {
        snprintf(num, sizeof num, "%ld%s", c->checkpoint_every,
                 c->checkpoint_in_epochs ? "e" : "");
        arg(cmd, sizeof cmd, "--checkpoint-every", num);
    }
    if (c->log)
        arg(cmd, sizeof cmd, "--log", c->log);
    if (c->log_every)
        snprintf(num, sizeof num, "%ld", c->log_every), arg(cmd, sizeof cmd, "--log-every", num);
    if (c->save)
        arg(cmd, sizeof cmd, "--save", c->save);
    if (c->confusion)
        arg(cmd, sizeof cmd, "--confusion", c->confusion);
    if (c->isa) /* the same kernels give the same bits */
        arg(cmd, sizeof cmd, "--isa", c->isa);
    cli_say("resume with: cnn train --resume %s%s%s", ckpt, cmd,
            cnn_comm_size() > 1 ? "  (alone, or under mpirun with any number of ranks)" : "");
}

/* Options that cannot go with --resume (the checkpoint fixes them). */
static int check_resume_options(const cli *c)
{
    static const struct {
        int opt;
        const char *name;
    } fixed[] = {{OPT_MODEL, "--model"}, {OPT_LOAD, "--load"}, {OPT_SEED, "--seed"},
                 {OPT_SHUFFLE, "--shuffle"}, {OPT_INPUT, "--input"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (c->set & OPTBIT(fixed[i].opt))
            return cli_error(EXIT_USAGE, "--resume takes %s from the checkpoint; leave "
                             "it out", fixed[i].name + 2);
    return -1;
}

/* The optimizer's, the schedule's, augmentation's and label smoothing's
   settings of a new run. */
static void optimizer_config(const cli *c, cnn_train_config *cfg)
{
    cfg->optimizer = c->optimizer;
    cfg->momentum = c->momentum;
    cfg->nesterov = c->nesterov;
    /* without --weight-decay: the optimizer's own default (adamw:
       PyTorch's 0.01) */
    const cnn_optimizer *o = cnn_optimizer_find(c->optimizer);
    cfg->weight_decay = (c->set & OPTBIT(OPT_WEIGHT_DECAY)) ? c->weight_decay
                        : o ? o->default_weight_decay : 0;
    cfg->schedule = c->schedule;
    /* the option's parser keeps epochs within 1000000 */
    cfg->warmup_epochs = c->warmup_in_epochs ? (int)c->warmup : 0;
    cfg->warmup_steps = c->warmup_in_epochs ? 0 : c->warmup;
    cfg->augment = c->augment;
    cfg->label_smoothing = c->label_smoothing;
}

/* The options' own checks, before any file is looked at: -1 or an exit
   code. */
static int check_options(const cli *c)
{
    if (c->resume) {
        int rc = check_resume_options(c);
        if (rc >= 0)
            return rc;
    }
    if (c->log && !metrics_format_ok(c->log))
        return cli_error(EXIT_USAGE, "--log: '%s' must end in .csv, .jsonl or .json", c->log);
    if (c->confusion) {
        int rc = svg_output_check("--confusion", c->confusion);
        if (rc != EXIT_OK)
            return rc;
    }
    if (c->log_every && !c->log)
        return cli_error(EXIT_USAGE, "--log-every needs --log FILE");
    if (!c->resume) {
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        optimizer_config(c, &cfg);
        if (cnn_train_config_check(&cfg) != CNN_OK)
            return cli_error(EXIT_USAGE, "%s", cnn_last_error());
    }
    return -1;
}

/* Every output writable, none of them an input or another output. */
static int check_files(const cli *c, const run *r)
{
    cli_paths ps = {.n = 0};
    paths_data(&ps, c->data, "train");
    paths_data(&ps, c->data, "test");
    paths_input(&ps, "--load", c->load);
    paths_input(&ps, "--resume", c->resume);
    paths_output(&ps, "--checkpoint", r->ckpt, "--resume");
    paths_output(&ps, "--checkpoint (best)", r->best, "--resume");
    paths_output(&ps, "--save", c->save, NULL);
    paths_output(&ps, "--log", c->log, NULL);
    paths_output(&ps, "--confusion", c->confusion, NULL);
    return paths_check(&ps);
}

/* The checkpoint's schedule unless --schedule and --warmup are given. */
static void resume_schedule(const cli *c, const cnn_train_state_info *info, run *r)
{
    snprintf(r->schedule, sizeof r->schedule, "%s", info->schedule);
    if (c->set & OPTBIT(OPT_SCHEDULE)) { /* in canonical form, when it parses */
        cnn_schedule_params given = {0};
        if (cnn_schedule_parse(c->schedule, &given) == NULL)
            cnn_schedule_format(&given, r->schedule, sizeof r->schedule);
        else
            snprintf(r->schedule, sizeof r->schedule, "%s", c->schedule);
    }
    r->cfg.schedule = r->schedule;
    cnn_schedule_params p = {0};
    int warmup_ok = !cnn_schedule_parse(r->schedule, &p) && p.kind->warmup_ok;
    if (c->set & OPTBIT(OPT_WARMUP)) {
        r->cfg.warmup_epochs = c->warmup_in_epochs ? (int)c->warmup : 0;
        r->cfg.warmup_steps = c->warmup_in_epochs ? 0 : c->warmup;
    } else /* a new schedule that has its own warmup drops the old one */
        r->cfg.warmup_steps = warmup_ok ? info->warmup_steps : 0;
}

/* A warning for each setting given again with another value: the run goes
   on with it, and is no longer the one interrupted. */
static void warn_changed(const cli *c, const cnn_train_state_info *info, const run *r)
{
    const cnn_train_config *g = &r->cfg;
    long spe = info->steps_per_epoch;
    long warmup = cnn_schedule_warmup_steps(g->warmup_epochs, g->warmup_steps, spe);
    const char *changed[10];
    int n = 0;
    if (g->lr != info->lr)
        changed[n++] = "--lr";
    if (g->momentum != info->momentum || g->nesterov != info->nesterov)
        changed[n++] = g->momentum != info->momentum ? "--momentum" : "--nesterov";
    if (g->weight_decay != info->weight_decay)
        changed[n++] = "--weight-decay";
    if (strcmp(g->schedule, info->schedule) != 0)
        changed[n++] = "--schedule";
    if (warmup != info->warmup_steps)
        changed[n++] = "--warmup";
    cnn_schedule_params sp = {0};
    if (g->epochs != info->epochs && !cnn_schedule_parse(info->schedule, &sp) &&
        sp.kind->uses_total)
        changed[n++] = "--epochs (the schedule's length)";
    if (strcmp(g->augment, info->augment) != 0)
        changed[n++] = "--augment";
    if (g->label_smoothing != info->label_smoothing)
        changed[n++] = "--label-smoothing";
    for (int i = 0; i < n && !c->quiet; i++)
        cli_say("warning: %s differs from the checkpoint's; the resumed run follows it and "
                "is no longer the one interrupted", changed[i]);
}

/* Augmentation and label smoothing of a resumed run: the checkpoint's
   unless given again (the augmentation in canonical form). */
static void resume_extras(const cli *c, const cnn_train_state_info *info, run *r)
{
    snprintf(r->augment, sizeof r->augment, "%s", info->augment);
    cnn_augment a;
    const char *why;
    if ((c->set & OPTBIT(OPT_AUGMENT)) && cnn_augment_parse(c->augment, &a, &why) == 0)
        cnn_augment_format(&a, r->augment, sizeof r->augment);
    r->cfg.augment = r->augment;
    r->cfg.label_smoothing = (c->set & OPTBIT(OPT_LABEL_SMOOTHING)) ? c->label_smoothing
                                                                     : info->label_smoothing;
}

/* The optimizer of a resumed run: the checkpoint's; its settings too
   unless given again.  -1, or an exit code. */
static int resume_optimizer(const cli *c, const cnn_train_state_info *info, run *r)
{
    cnn_train_config *g = &r->cfg;
    if ((c->set & OPTBIT(OPT_OPTIMIZER)) && strcmp(c->optimizer, info->optimizer) != 0)
        return cli_error(EXIT_USAGE, "--optimizer %s: %s holds %s's state; leave --optimizer "
                         "out to go on with %s", c->optimizer, c->resume, info->optimizer,
                         info->optimizer);
    g->optimizer = info->optimizer;
    g->momentum = (c->set & OPTBIT(OPT_MOMENTUM)) ? c->momentum : info->momentum;
    g->nesterov = c->nesterov || info->nesterov;
    g->weight_decay = (c->set & OPTBIT(OPT_WEIGHT_DECAY)) ? c->weight_decay
                                                          : info->weight_decay;
    resume_schedule(c, info, r);
    resume_extras(c, info, r);
    if (cnn_train_config_check(g) != CNN_OK)
        return cli_error(EXIT_USAGE, "--resume %s: %s", c->resume, cnn_last_error());
    if ((g->momentum == 0) != (info->momentum == 0))
        return cli_error(EXIT_USAGE, "--momentum %g: %s's sgd has %s momentum; its state "
                         "cannot go on %s it", (double)g->momentum, c->resume,
                         info->momentum == 0 ? "no" : "a", info->momentum == 0 ? "with"
                                                                                : "without");
    warn_changed(c, info, r);
    return -1;
}

/* The resumed run's settings: from the checkpoint unless given again.
   -1, or an exit code. */
static int resume_config(const cli *c, run *r)
{
    cnn_train_state_info info;
    cnn_train_state_info_get(r->state, &info);
    r->cfg.epochs = (c->set & OPTBIT(OPT_EPOCHS)) ? c->epochs : info.epochs;
    r->cfg.batch = (c->set & OPTBIT(OPT_BATCH)) ? c->batch : info.batch;
    r->cfg.lr = (c->set & OPTBIT(OPT_LR)) ? c->lr : info.lr;
    r->cfg.beta1 = info.beta1, r->cfg.beta2 = info.beta2, r->cfg.eps = info.eps;
    r->cfg.threads = (c->set & OPTBIT(OPT_THREADS)) ? c->threads : info.threads;
    int rc = resume_optimizer(c, &info, r);
    if (rc >= 0)
        return rc;
    if (!c->quiet)
        cli_say("resuming %s at step %ld (epoch %d of %d, step %ld of %ld)", c->resume,
                info.steps, info.epoch, r->cfg.epochs, info.step, info.steps_per_epoch);
    return -1;
}

/* The augmentation's shift fits the training images: -1, or an exit
   code (before the header line, as the options' own checks). */
static int check_augment(const run *r)
{
    cnn_augment a;
    const char *why;
    if (cnn_augment_parse(r->cfg.augment, &a, &why) == 0 &&
        (why = cnn_augment_fits(&a, r->train->height, r->train->width)))
        return cli_error(EXIT_USAGE, "--%s", why);
    return -1;
}

/* Both splits, the model (new, loaded or resumed) and its state. */
static int load(const cli *c, run *r)
{
    int st;
    if ((st = cnn_dataset_load_dir(c->data, "train", 0, &r->train)) != CNN_OK)
        return st;
    if (c->resume) {
        if ((st = cnn_checkpoint_load(c->resume, &r->m, &r->state)) != CNN_OK ||
            (c->isa && (st = cnn_model_set_isa(r->m, c->isa)) != CNN_OK))
            return st;
        if ((r->rc = resume_config(c, r)) >= 0)
            return CNN_ERR_ARG;
    } else {
        const cnn_dataset *d = r->train;
        if ((st = cli_make_model(c, d->height, d->width, d->channels, &r->m)) ||
            (st = c->load ? cnn_model_load(r->m, c->load) : cnn_model_init(r->m, c->seed)) ||
            (st = cnn_train_state_create(&r->state)))
            return st;
        r->cfg.epochs = c->epochs;
        r->cfg.batch = c->batch;
        r->cfg.lr = c->lr;
        optimizer_config(c, &r->cfg);
        r->cfg.seed = c->seed;
        r->cfg.shuffle = c->shuffle;
        r->cfg.threads = c->threads;
    }
    if ((r->rc = check_augment(r)) >= 0)
        return CNN_ERR_ARG;
    /* The test split now, not after training: a missing or bad one must
       not cost the run.  Without --validate it is read again for the
       evaluation, after the training images are freed: the run never holds
       both. */
    if ((st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(r->m), &r->test)))
        return st;
    if (!c->validate) {
        cnn_dataset_free(r->test);
        r->test = NULL;
    }
    return cnn_train_state_check(r->state, r->m, r->train, r->cfg.batch);
}

/* The trainer's settings beyond the run's numbers. */
static void configure(const cli *c, run *r)
{
    cnn_train_config *cfg = &r->cfg;
    cfg->validation = c->validate ? r->test : NULL;
    cfg->max_steps = c->steps;
    cfg->state = r->state;
    cfg->progress = on_progress;
    cfg->user = r;
    cfg->cancel = &signals_cancel;
    if (r->ckpt) {
        cfg->checkpoint = on_checkpoint;
        if (c->checkpoint_in_epochs)
            cfg->checkpoint_epochs = (int)(c->checkpoint_every > 1000000 ? 1000000
                                                                          : c->checkpoint_every);
        else
            cfg->checkpoint_steps = c->checkpoint_every;
    }
}

/* A name in the working directory for an interrupted run's checkpoint
   that no file has yet, claimed by creating it empty (O_EXCL), so that two
   runs stopped at once cannot pick the same one: a file the user did not
   name is never replaced.  NULL (message printed) when none can be had. */
static const char *interrupted_path(char *buf, size_t size)
{
    snprintf(buf, size, "cnn-interrupted.ckpt");
    for (int i = 2; i <= 10000; i++) {
        int fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            return buf;
        }
        if (errno != EEXIST)
            break;
        snprintf(buf, size, "cnn-interrupted-%d.ckpt", i);
    }
    cli_say("%s: cannot create the interrupted run's checkpoint: %s", buf, strerror(errno));
    return NULL;
}

/* Rank 0 (or alone) after a stop: the checkpoint and the lines; the exit
   code. */
static int write_stopped(const cli *c, run *r, int sig)
{
    char name[64];
    const char *path = r->ckpt ? r->ckpt : interrupted_path(name, sizeof name);
    if (!path)
        return EXIT_FAILURE_RUN;
    cnn_train_state_info info;
    cnn_train_state_info_get(r->state, &info);
    int st = CNN_OK;
    if (r->last_ckpt_step != info.steps &&
        (st = cnn_checkpoint_save(r->m, r->state, path)) != CNN_OK) {
        if (!r->ckpt)
            unlink(path); /* the empty name it claimed */
        return cli_fail(st);
    }
    if (r->failed)
        cli_say("stopped after step %ld, the log could not be written; checkpoint in %s",
                info.steps, path);
    else {
        if (!r->ps.ended_line) /* past a ^C the terminal echoed */
            fputc('\n', stderr);
        cli_say("stopped by %s after step %ld; checkpoint in %s",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", info.steps, path);
    }
    print_resume(c, path);
    return r->failed ? EXIT_FAILURE_RUN : 128 + sig;
}

/* Training stopped by a signal or a failed log write (its message is
   printed): the work so far goes into a checkpoint.  Cancelled over ranks,
   all of them stopped after the same step (the trainer agrees on it): the
   signal one of them saw is every rank's exit status, and rank 0 writes
   the checkpoint. */
static int stop_early(const cli *c, run *r, int cancelled)
{
    int seen = cancelled ? group_first_set(signals_seen()) : signals_seen();
    int sig = seen ? seen : SIGINT;
    if (cnn_comm_rank() > 0) /* rank 0's code once it wrote the checkpoint */
        return group_rank0_code(EXIT_FAILURE_RUN);
    int code = write_stopped(c, r, sig);
    return cancelled ? group_rank0_code(code) : code;
}

/* After training: the last checkpoint and the weights. */
static int write_results(const cli *c, run *r, const cnn_train_result *res)
{
    int st;
    if (r->ckpt && res->steps) {
        cnn_train_state_info info;
        cnn_train_state_info_get(r->state, &info);
        if (r->last_ckpt_step != info.steps &&
            (st = cnn_checkpoint_save(r->m, r->state, r->ckpt)) != CNN_OK)
            return cli_fail(st);
        if (!c->quiet)
            cli_say("checkpoint in %s%s%s", r->ckpt, r->best ? ", best by test accuracy in " : "",
                    r->best ? r->best : "");
    }
    if (c->save) {
        if ((st = cnn_model_save(r->m, c->save)) != CNN_OK)
            return cli_fail(st);
        if (!c->quiet)
            cli_say("weights saved to %s", c->save);
    }
    return EXIT_OK;
}

/* The evaluation on the test split, and its heatmap. */
static int evaluate(const cli *c, run *r)
{
    cnn_eval_result er;
    int st = CNN_OK;
    if (!r->test) { /* read before training, and checked; freed during it */
        cnn_dataset_free(r->train);
        r->train = NULL;
        st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(r->m), &r->test);
    }
    if (st == CNN_OK)
        st = cnn_evaluate(r->m, r->test, c->threads, &er);
    if (st != CNN_OK)
        return cli_fail(st);
    cli_print_eval(&er);
    int rc = EXIT_OK;
    if (c->confusion) {
        char title[1024];
        snprintf(title, sizeof title, "Confusion matrix \xe2\x80\x94 %s, test accuracy %.2f%%",
                 cli_model_name(r->m), 100 * er.accuracy);
        if (confusion_write(c->confusion, &er, title) != 0)
            rc = EXIT_FAILURE_RUN;
        else if (!c->quiet)
            cli_say("confusion matrix drawn in %s", c->confusion);
    }
    cnn_eval_result_free(&er);
    return rc;
}

/* "" for Keras's Adam at a constant rate (the default), else "; " and
   the optimizer and schedule with their settings, for the header line. */
static void describe_optimizer(const cnn_train_config *g, char *buf, size_t size)
{
    char extra[96] = "";
    if (g->momentum)
        snprintf(extra, sizeof extra, " momentum %g%s", (double)g->momentum,
                 g->nesterov ? " nesterov" : "");
    if (g->weight_decay) {
        size_t n = strlen(extra);
        snprintf(extra + n, sizeof extra - n, " weight decay %g", (double)g->weight_decay);
    }
    long warmup = g->warmup_epochs ? g->warmup_epochs : g->warmup_steps;
    const char *sched = g->schedule ? g->schedule : "constant";
    if (!strcmp(g->optimizer, cnn_optimizers[0]->name) &&
        !strcmp(sched, cnn_schedules[0]->name) && !warmup && !*extra) {
        *buf = 0;
        return;
    }
    snprintf(buf, size, "; %s%s, lr %g %s", g->optimizer, extra, (double)g->lr, sched);
    if (warmup) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " warmup %ld%s", warmup, g->warmup_epochs ? "e" : "");
    }
}

/* "" without augmentation and label smoothing, else "; augment TEXT"
   and "; label smoothing E", for the header line. */
static void describe_extras(const cnn_train_config *g, char *buf, size_t size)
{
    cnn_augment a = {0, 0, 0, 0};
    const char *why;
    char text[CNN_AUGMENT_TEXT];
    cnn_augment_parse(g->augment, &a, &why); /* checked already */
    cnn_augment_format(&a, text, sizeof text);
    *buf = 0;
    if (cnn_augment_on(&a))
        snprintf(buf, size, "; augment %s", text);
    if (g->label_smoothing) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "; label smoothing %g", (double)g->label_smoothing);
    }
}

/* "trained N steps in S s (X images/s)", and over ranks the share of
   the training time spent in collectives. */
static void say_trained(const cnn_train_result *res, int batch)
{
    const double s = res->seconds > 0 ? res->seconds : 1;
    char comm[128] = "";
    if (cnn_comm_size() > 1)
        snprintf(comm, sizeof comm, "; %d ranks x %d thread%s, %.1f%% of it in collectives "
                 "(%.3f MB gathered a step)", cnn_comm_size(), res->threads,
                 res->threads == 1 ? "" : "s",
                 100 * res->comm_s / (s - res->validate_s > 0 ? s - res->validate_s : s),
                 res->comm_bytes / 1e6 / (double)res->steps);
    cli_say("trained %ld steps in %.1f s (%.0f images/s)%s", res->steps, res->seconds,
            (double)res->steps * batch / s, comm);
}

/* Train, then write and evaluate; the handlers stay until the end. */
static int train_and_finish(const cli *c, run *r)
{
    char ranks[300], desc[160], opt[200], extras[CNN_AUGMENT_TEXT + 64];
    group_hosts(ranks, sizeof ranks);
    cnn_threads_describe(r->cfg.threads, &r->threads, desc, sizeof desc);
    describe_optimizer(&r->cfg, opt, sizeof opt);
    describe_extras(&r->cfg, extras, sizeof extras);
    if (!c->quiet)
        cli_say("%s, %zu parameters, %s kernels; %d images %dx%dx%d; %s%s%s%s",
                cnn_model_spec(r->m), cnn_model_param_count(r->m), cnn_model_isa(r->m),
                r->train->count, r->train->height, r->train->width, r->train->channels, ranks,
                desc, opt, extras);
    cnn_train_result res;
    int st = cnn_train(r->m, r->train, &r->cfg, &res);
    progress_end(&r->ps);
    if (st == CNN_ERR_CANCELLED || (r->failed && st == CNN_OK))
        return stop_early(c, r, st == CNN_ERR_CANCELLED);
    if (st == CNN_ERR_NONFINITE && r->last_ckpt_step >= 0) {
        cli_say("%s; the last good checkpoint is %s (step %ld)", cnn_last_error(), r->ckpt,
                r->last_ckpt_step);
        return EXIT_FAILURE_RUN;
    }
    if (st != CNN_OK)
        return cli_fail(st);
    /* Over ranks, all of them got here after the same last step: a signal
       one of them saw since is every rank's, and rank 0 alone writes and
       evaluates. */
    const int sig = cnn_comm_size() > 1 ? group_first_set(signals_seen()) : signals_seen();
    if (cnn_comm_rank() > 0) {
        cnn_comm_end_together();
        return sig ? 128 + sig : EXIT_OK;
    }
    if (!res.bound && r->threads > 1 && !c->quiet)
        cli_say("warning: threads are not bound to cores (%s)", res.binding);
    if (!c->quiet && res.steps)
        say_trained(&res, r->cfg.batch);
    int rc = write_results(c, r, &res);
    if (rc == EXIT_OK && sig) {
        cli_say("stopped by %s after training; the evaluation is skipped",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
        cnn_comm_end_together(); /* the code every rank returns */
        return 128 + sig;
    }
    if (rc == EXIT_OK)
        rc = evaluate(c, r);
    if (rc == EXIT_OK && signals_seen()) { /* during the evaluation */
        cli_say("stopped by %s", signals_seen() == SIGTERM ? "SIGTERM" : "SIGINT");
        return 128 + signals_seen();
    }
    return rc;
}

/* A preset's recipe (cnn_preset_recipe) for each of its settings that no
   option gave (--optimizer, --momentum or --nesterov keep the default rate
   too, and --warmup the default schedule); not on --resume, which goes on
   with the checkpoint's. */
static void apply_recipe(cli *c)
{
    cnn_train_config r;
    cnn_train_config_default(&r);
    if (c->resume || !c->model || !cnn_preset_recipe(c->model, &r))
        return;
#define TAKE(opt, field, value)                                                \
    if (!(given & OPTBIT(opt)))                                                \
        c->field = value;
    /* An optimizer of the user's own keeps its own rate; a warmup, its own
       schedule. */
    uint64_t given = c->set;
    if (given & (OPTBIT(OPT_OPTIMIZER) | OPTBIT(OPT_MOMENTUM) | OPTBIT(OPT_NESTEROV)))
        given |= OPTBIT(OPT_LR) | OPTBIT(OPT_OPTIMIZER);
    if (given & OPTBIT(OPT_WARMUP))
        given |= OPTBIT(OPT_SCHEDULE);
    TAKE(OPT_EPOCHS, epochs, r.epochs)
    TAKE(OPT_BATCH, batch, r.batch)
    TAKE(OPT_OPTIMIZER, optimizer, r.optimizer)
    TAKE(OPT_LR, lr, r.lr)
    TAKE(OPT_SCHEDULE, schedule, r.schedule)
    TAKE(OPT_AUGMENT, augment, r.augment)
    TAKE(OPT_LABEL_SMOOTHING, label_smoothing, r.label_smoothing)
#undef TAKE
    if (!(c->set & OPTBIT(OPT_WEIGHT_DECAY)) && r.weight_decay > 0) {
        c->weight_decay = r.weight_decay;
        c->set |= OPTBIT(OPT_WEIGHT_DECAY);
    }
}

/* Over several ranks, rank 0 writes every file and every line; the others
   train alongside it (the same steps, the same bits) and keep quiet. */
static void rank_quiet(cli *c)
{
    c->quiet = 1;
    c->save = c->log = c->confusion = c->checkpoint = NULL;
}

/* Over ranks, before the first step: if a rank failed to load its files,
   every rank stops with its code (its line printed by it alone); else
   each must hold the same data and weights.  -1 to go on. */
static int same_start(const run *r, int rc)
{
    if ((rc = group_agree(rc)) < 0 && (rc = group_check_data(r->train, "training")) < 0 &&
        (!r->test || (rc = group_check_data(r->test, "test")) < 0))
        rc = group_check_start(r->m, r->state);
    return rc;
}

static int run_train(const cli *given)
{
    cli recipe = *given;
    apply_recipe(&recipe);
    const cli *c = &recipe;
    if (cnn_comm_rank() > 0) /* before the checks: rank 0 alone writes */
        rank_quiet(&recipe);
    group_hold_lines();
    int rc = group_agree(check_options(c));
    if (rc >= 0)
        return rc;
    run r = {.c = c, .last_ckpt_step = -1, .rc = -1};
    progress_begin(&r.ps, c->quiet);
    cnn_train_config_default(&r.cfg);
    /* Checkpoints go to --checkpoint, else back into the one resumed. */
    r.ckpt = c->checkpoint ? c->checkpoint : cnn_comm_rank() == 0 ? c->resume : NULL;
    if (r.ckpt && c->validate && !(r.best = best_path(r.ckpt)))
        return cli_error(EXIT_FAILURE_RUN, "out of memory");
    int st;
    signals_train_begin();
    group_hold_lines();
    if ((rc = check_files(c, &r)) < 0 && (st = load(c, &r)) != CNN_OK)
        rc = r.rc >= 0 ? r.rc : cli_fail(st);
    if ((rc = same_start(&r, rc)) >= 0)
        goto out;
    /* A resumed log is cut back to the checkpoint: only once the
       checkpoint is known to fit this data set and batch. */
    if (c->log) {
        cnn_train_state_info info;
        cnn_train_state_info_get(r.state, &info);
        if (!(r.log = metrics_open(c->log, c->resume ? info.steps : -1))) {
            rc = EXIT_FAILURE_RUN;
            goto out;
        }
    }
    configure(c, &r);
    rc = train_and_finish(c, &r);
out:
    if (r.log && metrics_close(r.log) != 0 && rc == EXIT_OK)
        rc = EXIT_FAILURE_RUN;
    progress_end(&r.ps);
    signals_train_end();
    free(r.best);
    cnn_train_state_free(r.state);
    cnn_model_free(r.m);
    cnn_dataset_free(r.train);
    cnn_dataset_free(r.test);
    return rc;
}

const cli_command cmd_train = {
    "train", "train a model on DIR/train-*, save it, evaluate on DIR/t10k-*",
    "usage: cnn train [options]\n\n"
    "Trains a model (with Adam unless --optimizer says otherwise) on the training\n"
    "split of --data, saves it with --save, and prints its loss, accuracy and\n"
    "confusion matrix on the test split.  A resumed run takes the optimizer, its\n"
    "settings, the schedule, the augmentation and the label smoothing from the\n"
    "checkpoint; --lr, --momentum, --nesterov, --weight-decay, --schedule,\n"
    "--warmup, --augment and --label-smoothing given again replace them (with a\n"
    "warning when the value differs).\n"
    "With --checkpoint, a resumable checkpoint is kept; SIGINT or SIGTERM finishes\n"
    "the current step, writes the checkpoint (to cnn-interrupted.ckpt without\n"
    "--checkpoint), prints the command that resumes and exits 130 or 143.\n"
    "Under mpirun -np N, every rank trains its part of each batch, with the bytes\n"
    "of one process; rank 0 writes every file and line.  A collective that waits\n"
    "CNN_MPI_TIMEOUT seconds (default 120, 0 for ever) for a stopped rank ends\n"
    "the job.\n"
    "On a terminal, progress is a bar redrawn in place, cut to the terminal's\n"
    "width (measured again when the terminal is resized), then a summary per\n"
    "epoch.  When stderr is not a terminal, or TERM is unset or dumb, only the\n"
    "summaries, one line each, with no carriage return or escape code, as in\n"
    "  epoch: 1/3  loss: 0.2240  acc: 0.9320  val_loss: 0.0824  val_acc: 0.9760\n"
    "  time: 3.2s  img/s: 18540\n"
    "(one line; val_* with --validate; time: the epoch's training seconds,\n"
    "validation excluded; img/s: its images over them).\n",
    OPTBIT(OPT_DATA) | OPTBIT(OPT_MODEL) | OPTBIT(OPT_EPOCHS) | OPTBIT(OPT_BATCH) |
        OPTBIT(OPT_LR) | OPTBIT(OPT_OPTIMIZER) | OPTBIT(OPT_MOMENTUM) | OPTBIT(OPT_NESTEROV) |
        OPTBIT(OPT_WEIGHT_DECAY) | OPTBIT(OPT_SCHEDULE) | OPTBIT(OPT_WARMUP) |
        OPTBIT(OPT_AUGMENT) | OPTBIT(OPT_LABEL_SMOOTHING) | OPTBIT(OPT_SEED) | OPTBIT(OPT_THREADS) | OPTBIT(OPT_STEPS) |
        OPTBIT(OPT_SHUFFLE) | OPTBIT(OPT_SAVE) | OPTBIT(OPT_LOAD) | OPTBIT(OPT_ISA) |
        OPTBIT(OPT_VALIDATE) | OPTBIT(OPT_QUIET) | OPTBIT(OPT_LOG) | OPTBIT(OPT_LOG_EVERY) |
        OPTBIT(OPT_CHECKPOINT) | OPTBIT(OPT_CHECKPOINT_EVERY) | OPTBIT(OPT_RESUME) |
        OPTBIT(OPT_CONFUSION),
    0, 0, run_train};
