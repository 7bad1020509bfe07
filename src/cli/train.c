/*
 * train.c — `cnn train`: load the training split, build, load or resume the
 * model, train it with progress on stderr (and a metrics log, checkpoints
 * and the best model by test accuracy when asked), save it, evaluate it on
 * the test split.
 *
 * SIGINT and SIGTERM set the trainer's cancel flag: the step in flight
 * finishes, a checkpoint is written, the command that resumes is printed
 * and the exit status is 128 + the signal (130, 143).  A second signal
 * ends the process at once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "confusion.h"
#include "metrics.h"
#include "progress.h"
#include "svg.h"

/* Set by the signal handler (and by a failed log write). */
static volatile sig_atomic_t cancel_flag;
static volatile sig_atomic_t signal_seen;
/* The actions in force before cnn train installed its own. */
static struct sigaction old_int, old_term;

static void on_signal(int sig)
{
    if (signal_seen) { /* the second one: stop now, as the default would */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    signal_seen = sig;
    cancel_flag = 1;
}

/* A signal ignored on entry (a background job's SIGINT) stays ignored. */
static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    if (old_int.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    if (old_term.sa_handler != SIG_IGN)
        sigaction(SIGTERM, &sa, NULL);
}

static void restore_handlers(void)
{
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

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
} run;

static void on_progress(const cnn_progress *p, void *user)
{
    run *r = user;
    progress_print(p, &r->ps);
    if (r->log && !r->failed &&
        (p->epoch_done || (r->c->log_every && p->global_step % r->c->log_every == 0)))
        if ((r->failed = metrics_write(r->log, p) != 0))
            cancel_flag = 1;
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

/* The command that resumes the run (to stderr). */
static void print_resume(const cli *c, const char *ckpt)
{
    fprintf(stderr, "cnn: resume with: cnn train --resume %s", ckpt);
    if (c->set & OPTBIT(OPT_DATA))
        fprintf(stderr, " --data %s", c->data);
    if (c->set & OPTBIT(OPT_EPOCHS))
        fprintf(stderr, " --epochs %d", c->epochs);
    if (c->validate)
        fprintf(stderr, " --validate");
    if (c->checkpoint && c->checkpoint != ckpt)
        fprintf(stderr, " --checkpoint %s", c->checkpoint);
    if (c->set & OPTBIT(OPT_CHECKPOINT_EVERY))
        fprintf(stderr, " --checkpoint-every %ld%s", c->checkpoint_every,
                c->checkpoint_in_epochs ? "e" : "");
    if (c->log)
        fprintf(stderr, " --log %s", c->log);
    if (c->log_every)
        fprintf(stderr, " --log-every %ld", c->log_every);
    if (c->save)
        fprintf(stderr, " --save %s", c->save);
    if (c->confusion)
        fprintf(stderr, " --confusion %s", c->confusion);
    if (c->isa) /* the same kernels give the same bits */
        fprintf(stderr, " --isa %s", c->isa);
    fputc('\n', stderr);
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

static int run_train(const cli *c)
{
    if (c->resume) {
        int rc = check_resume_options(c);
        if (rc >= 0)
            return rc;
    }
    if (c->log && !metrics_format_ok(c->log))
        return cli_error(EXIT_USAGE, "--log: '%s' must end in .csv, .jsonl or .json", c->log);
    if (c->confusion) { /* before the work: a bad path fails at once */
        int rc = svg_output_check("--confusion", c->confusion);
        if (rc != EXIT_OK)
            return rc;
    }
    if (c->log_every && !c->log)
        return cli_error(EXIT_USAGE, "--log-every needs --log FILE");

    cnn_dataset *train = NULL, *val = NULL;
    cnn_model *m = NULL;
    cnn_train_state *state = NULL;
    run r = {.c = c, .ps = {isatty(STDERR_FILENO), c->quiet, 0}, .last_ckpt_step = -1};
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    int st, rc = EXIT_OK;

    if ((st = cnn_dataset_load_dir(c->data, "train", 0, &train)) != CNN_OK)
        goto fail;
    if (c->resume) {
        if ((st = cnn_checkpoint_load(c->resume, &m, &state)) != CNN_OK)
            goto fail;
        if (c->isa && (st = cnn_model_set_isa(m, c->isa)) != CNN_OK)
            goto fail;
        /* The run's settings come from the checkpoint unless given again. */
        cnn_train_state_info info;
        cnn_train_state_info_get(state, &info);
        cfg.epochs = (c->set & OPTBIT(OPT_EPOCHS)) ? c->epochs : info.epochs;
        cfg.batch = (c->set & OPTBIT(OPT_BATCH)) ? c->batch : info.batch;
        cfg.lr = (c->set & OPTBIT(OPT_LR)) ? c->lr : info.lr;
        cfg.beta1 = info.beta1, cfg.beta2 = info.beta2, cfg.eps = info.eps;
        cfg.threads = (c->set & OPTBIT(OPT_THREADS)) ? c->threads : info.threads;
        if (!c->quiet)
            fprintf(stderr, "cnn: resuming %s at step %ld (epoch %d of %d, step %ld of %ld)\n",
                    c->resume, info.steps, info.epoch, cfg.epochs, info.step,
                    info.steps_per_epoch);
    } else {
        if ((st = cli_make_model(c, train->height, train->width, train->channels, &m)) ||
            (st = c->load ? cnn_model_load(m, c->load) : cnn_model_init(m, c->seed)) ||
            (st = cnn_train_state_create(&state)))
            goto fail;
        cfg.epochs = c->epochs;
        cfg.batch = c->batch;
        cfg.lr = c->lr;
        cfg.seed = c->seed;
        cfg.shuffle = c->shuffle;
        cfg.threads = c->threads;
    }
    if (c->validate &&
        (st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(m), &val)) != CNN_OK)
        goto fail;

    r.m = m;
    r.state = state;
    /* Checkpoints go to --checkpoint, else back into the one resumed. */
    r.ckpt = c->checkpoint ? c->checkpoint : c->resume;
    if (r.ckpt && c->validate && !(r.best = best_path(r.ckpt))) {
        rc = cli_error(EXIT_FAILURE_RUN, "out of memory");
        goto out;
    }
    /* A resumed log is cut back to the checkpoint: only once the
       checkpoint is known to fit this data set and batch. */
    if ((st = cnn_train_state_check(state, m, train, cfg.batch)) != CNN_OK)
        goto fail;
    if (c->log) {
        cnn_train_state_info info;
        cnn_train_state_info_get(state, &info);
        r.log = metrics_open(c->log, c->resume ? info.steps : -1);
        if (!r.log) {
            rc = EXIT_FAILURE_RUN;
            goto out;
        }
    }
    cfg.validation = val;
    cfg.max_steps = c->steps;
    cfg.state = state;
    cfg.progress = on_progress;
    cfg.user = &r;
    cfg.cancel = &cancel_flag;
    if (r.ckpt) {
        cfg.checkpoint = on_checkpoint;
        if (c->checkpoint_in_epochs)
            cfg.checkpoint_epochs = (int)(c->checkpoint_every > 1000000 ? 1000000
                                                                         : c->checkpoint_every);
        else
            cfg.checkpoint_steps = c->checkpoint_every;
    }

    char desc[160];
    int threads;
    cnn_threads_describe(cfg.threads, &threads, desc, sizeof desc);
    if (!c->quiet)
        fprintf(stderr, "cnn: %s, %zu parameters, %s kernels; %d images %dx%dx%d; %s\n",
                cnn_model_spec(m), cnn_model_param_count(m), cnn_model_isa(m), train->count,
                train->height, train->width, train->channels, desc);
    install_handlers();
    cnn_train_result res;
    st = cnn_train(m, train, &cfg, &res);
    restore_handlers();
    /* Stopped by a signal or by a failed log write (its message is
       printed): the work so far goes into a checkpoint. */
    if (st == CNN_ERR_CANCELLED || (r.failed && st == CNN_OK)) {
        const char *path = r.ckpt ? r.ckpt : "cnn-interrupted.ckpt";
        int sig = signal_seen ? signal_seen : SIGINT;
        cnn_train_state_info info;
        cnn_train_state_info_get(state, &info);
        if (r.last_ckpt_step != info.steps &&
            (st = cnn_checkpoint_save(m, state, path)) != CNN_OK)
            goto fail;
        if (r.failed)
            fprintf(stderr, "cnn: stopped after step %ld, the log could not be written; "
                    "checkpoint in %s\n", info.steps, path);
        else
            fprintf(stderr, "\ncnn: stopped by %s after step %ld; checkpoint in %s\n",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT", info.steps, path);
        print_resume(c, path);
        rc = r.failed ? EXIT_FAILURE_RUN : 128 + sig;
        goto out;
    }
    if (st != CNN_OK) {
        if (st == CNN_ERR_NONFINITE && r.last_ckpt_step >= 0) {
            fprintf(stderr, "cnn: %s; the last good checkpoint is %s (step %ld)\n",
                    cnn_last_error(), r.ckpt, r.last_ckpt_step);
            rc = EXIT_FAILURE_RUN;
            goto out;
        }
        goto fail;
    }
    if (!res.bound && threads > 1 && !c->quiet)
        fprintf(stderr, "cnn: warning: threads are not bound to cores (%s)\n", res.binding);
    if (!c->quiet && res.steps)
        fprintf(stderr, "cnn: trained %ld steps in %.1f s (%.0f images/s)\n", res.steps,
                res.seconds, (double)res.steps * cfg.batch / (res.seconds > 0 ? res.seconds : 1));
    if (r.ckpt && res.steps) {
        cnn_train_state_info info;
        cnn_train_state_info_get(state, &info);
        if (r.last_ckpt_step != info.steps &&
            (st = cnn_checkpoint_save(m, state, r.ckpt)) != CNN_OK)
            goto fail;
        if (!c->quiet)
            fprintf(stderr, "cnn: checkpoint in %s%s%s\n", r.ckpt,
                    r.best ? ", best by test accuracy in " : "", r.best ? r.best : "");
    }
    if (c->save) {
        if ((st = cnn_model_save(m, c->save)) != CNN_OK)
            goto fail;
        if (!c->quiet)
            fprintf(stderr, "cnn: weights saved to %s\n", c->save);
    }
    cnn_eval_result er;
    if ((st = cli_evaluate(c, m, &er)) != CNN_OK)
        goto fail;
    cli_print_eval(&er);
    if (c->confusion) {
        char title[1024];
        snprintf(title, sizeof title, "Confusion matrix \xe2\x80\x94 %s, test accuracy %.2f%%",
                 cli_model_name(m), 100 * er.accuracy);
        if (confusion_write(c->confusion, &er, title) != 0)
            rc = EXIT_FAILURE_RUN;
        else if (!c->quiet)
            fprintf(stderr, "cnn: confusion matrix drawn in %s\n", c->confusion);
    }
    cnn_eval_result_free(&er);
    goto out;
fail:
    rc = cli_fail(st);
out:
    if (r.log && metrics_close(r.log) != 0 && rc == EXIT_OK)
        rc = EXIT_FAILURE_RUN;
    free(r.best);
    cnn_train_state_free(state);
    cnn_model_free(m);
    cnn_dataset_free(train);
    cnn_dataset_free(val);
    return rc;
}

const cli_command cmd_train = {
    "train", "train a model on DIR/train-*, save it, evaluate on DIR/t10k-*",
    "usage: cnn train [options]\n\n"
    "Trains a model with Adam on the training split of --data, saves it with\n"
    "--save, and prints its loss, accuracy and confusion matrix on the test split.\n"
    "With --checkpoint, a resumable checkpoint is kept; SIGINT or SIGTERM finishes\n"
    "the current step, writes the checkpoint (to cnn-interrupted.ckpt without\n"
    "--checkpoint), prints the command that resumes and exits 130 or 143.\n",
    OPTBIT(OPT_DATA) | OPTBIT(OPT_MODEL) | OPTBIT(OPT_EPOCHS) | OPTBIT(OPT_BATCH) |
        OPTBIT(OPT_LR) | OPTBIT(OPT_SEED) | OPTBIT(OPT_THREADS) | OPTBIT(OPT_STEPS) |
        OPTBIT(OPT_SHUFFLE) | OPTBIT(OPT_SAVE) | OPTBIT(OPT_LOAD) | OPTBIT(OPT_ISA) |
        OPTBIT(OPT_VALIDATE) | OPTBIT(OPT_QUIET) | OPTBIT(OPT_LOG) | OPTBIT(OPT_LOG_EVERY) |
        OPTBIT(OPT_CHECKPOINT) | OPTBIT(OPT_CHECKPOINT_EVERY) | OPTBIT(OPT_RESUME) |
        OPTBIT(OPT_CONFUSION),
    0, 0, run_train};
