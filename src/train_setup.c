/*
 * train_setup.c — before the first step: the config's defaults and checks
 * (the optimizer's, the schedule's, augmentation's and label smoothing's
 * settings among them), the memory the run needs against the machine's,
 * and the training state set up for the run (fresh) or checked against it
 * (resumed).
 */
#include <math.h>
#include <string.h>

#include "augment.h"
#include "error.h"
#include "model.h"
#include "optim/schedule.h"
#include "trainer.h"

void cnn_train_config_default(cnn_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 3;
    cfg->batch = 32;
    cfg->lr = 0.001f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-7f;
    cfg->seed = 1151998;
    cfg->shuffle = 1;
    cfg->bind = 1;
}

/* The optimizer's settings from a config. */
static cnn_optim_params params_of(const cnn_train_config *c)
{
    return (cnn_optim_params){.lr = c->lr, .beta1 = c->beta1, .beta2 = c->beta2,
                              .eps = c->eps, .momentum = c->momentum,
                              .nesterov = c->nesterov, .weight_decay = c->weight_decay};
}

int cnn_train_config_check(const cnn_train_config *c)
{
    if (!c)
        return cnn_fail(CNN_ERR_ARG, "train: no config");
    const cnn_optimizer *o = cnn_optimizer_find(c->optimizer);
    if (!o) {
        char names[128];
        cnn_optimizer_names(names, sizeof names);
        return cnn_fail(CNN_ERR_ARG, "train: unknown optimizer '%.40s' (%s)", c->optimizer,
                        names);
    }
    cnn_optim_params p = params_of(c);
    const char *why = o->check(&p);
    if (why)
        return cnn_fail(CNN_ERR_ARG, "train: %s", why);
    cnn_schedule_params sp = {0};
    if ((why = cnn_schedule_parse(c->schedule, &sp)))
        return cnn_fail(CNN_ERR_ARG, "train: %s", why);
    if (c->warmup_steps < 0 || c->warmup_epochs < 0 || (c->warmup_steps && c->warmup_epochs))
        return cnn_fail(CNN_ERR_ARG, "train: the warmup is a count of steps or of epochs, "
                        "not negative, not both");
    if ((c->warmup_steps || c->warmup_epochs) && !sp.kind->warmup_ok)
        return cnn_fail(CNN_ERR_ARG, "train: %s takes no warmup (it warms up itself)",
                        sp.kind->name);
    cnn_augment a;
    if (cnn_augment_parse(c->augment, &a, &why) != 0)
        return cnn_fail(CNN_ERR_ARG, "train: %s", why);
    if (!(c->label_smoothing >= 0 && c->label_smoothing < 1))
        return cnn_fail(CNN_ERR_ARG, "train: label smoothing must be from 0 to below 1, got "
                        "%g", (double)c->label_smoothing);
    return CNN_OK;
}

int cnn_train_check(const cnn_model *m, const cnn_dataset *ds, const cnn_train_config *c)
{
    if (c->epochs < 0 || c->batch < 1 || c->threads < 0 || c->max_steps < 0)
        return cnn_fail(CNN_ERR_ARG, "train: epochs, batch, threads and steps must be "
                                     "non-negative (batch at least 1)");
    if (!(c->lr > 0) || !(c->beta1 >= 0 && c->beta1 < 1) ||
        !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0) || !isfinite(c->lr))
        return cnn_fail(CNN_ERR_ARG, "train: need lr > 0, 0 <= beta1, beta2 < 1, eps > 0");
    int st = cnn_train_config_check(c);
    if (st == CNN_OK)
        st = cnn_eval_check(m, ds, "train");
    if (st != CNN_OK)
        return st;
    if (ds->count < 1)
        return cnn_fail(CNN_ERR_ARG, "train: the data set is empty");
    cnn_augment a;
    const char *why;
    cnn_augment_parse(c->augment, &a, &why); /* checked above */
    if ((why = cnn_augment_fits(&a, ds->height, ds->width)))
        return cnn_fail(CNN_ERR_ARG, "train: %s", why);
    if (c->validation)
        return cnn_eval_check(m, c->validation, "validation");
    return CNN_OK;
}

/* The state tensors the config's optimizer declares. */
static int state_count(const cnn_train_config *c)
{
    const char *names[CNN_OPTIM_MAX_STATE];
    cnn_optim_params p = params_of(c);
    return cnn_optimizer_find(c->optimizer)->states(&p, names);
}

int cnn_train_check_memory(const cnn_model *m, const cnn_dataset *ds,
                           const cnn_train_config *cfg, int T, long per_step)
{
    double bytes = cnn_train_bytes(m, per_step, ds->count, T) + T * sizeof(thread_stats);
    double shared = (double)ds->count * sizeof(int32_t) + (double)T * sizeof(float *);
    if (cfg->validation)
        shared += (double)cfg->validation->count * (sizeof(double) + sizeof(int));
    if (!cfg->state || !cfg->state->ready) /* the optimizer's state and the order */
        shared += state_count(cfg) * (double)m->block * sizeof(float) +
                  (double)ds->count * sizeof(int32_t);
    return cnn_memory_check(bytes + shared, T, "train", "training");
}

/* The config's optimizer, schedule, augmentation and label smoothing
   settings into the state (the warmup in steps of this data set and
   batch). */
static void take_settings(cnn_train_state *s, const cnn_train_config *cfg, long spe)
{
    s->optim = cnn_optimizer_find(cfg->optimizer);
    s->lr = cfg->lr, s->beta1 = cfg->beta1, s->beta2 = cfg->beta2, s->eps = cfg->eps;
    s->momentum = cfg->momentum, s->nesterov = cfg->nesterov;
    s->weight_decay = cfg->weight_decay;
    cnn_schedule_parse(cfg->schedule, &s->sched); /* checked already */
    s->sched.warmup = cnn_schedule_warmup_steps(cfg->warmup_epochs, cfg->warmup_steps, spe);
    const char *why;
    cnn_augment_parse(cfg->augment, &s->augment, &why); /* checked already */
    s->label_smoothing = cfg->label_smoothing;
}

/* A used state goes on only with its own optimizer and state tensors. */
static int check_optimizer(const cnn_train_state *s, const cnn_train_config *cfg)
{
    const cnn_optimizer *was = cnn_train_state_optim(s), *is = cnn_optimizer_find(cfg->optimizer);
    const char *who = s->source ? s->source : "train";
    const char *what = s->source ? "checkpoint" : "training state";
    if (was != is)
        return cnn_fail(CNN_ERR_MISMATCH, "%s: this %s holds %s's state; it cannot go on "
                        "with %s", who, what, was->name, is->name);
    if (state_count(cfg) != s->nopt)
        return cnn_fail(CNN_ERR_MISMATCH, "%s: this %s's %s has %s momentum; it cannot go "
                        "on with momentum %g", who, what, was->name,
                        s->nopt ? "a" : "no", (double)cfg->momentum);
    return CNN_OK;
}

int cnn_train_prepare_state(cnn_train_state *s, const cnn_model *m, const cnn_dataset *ds,
                            const cnn_train_config *cfg, int threads)
{
    const long spe = (ds->count + cfg->batch - 1) / cfg->batch;
    if (s->ready) {
        int st = cnn_train_state_check(s, m, ds, cfg->batch);
        if (st == CNN_OK)
            st = check_optimizer(s, cfg);
        if (st != CNN_OK)
            return st;
        take_settings(s, cfg, spe);
        s->threads = threads;
        s->epochs = cfg->epochs;
        return CNN_OK;
    }
    take_settings(s, cfg, spe);
    int st = cnn_train_state_alloc(s, m->block, ds->count);
    if (st != CNN_OK)
        return st;
    cnn_rng_seed(&s->rng, cfg->seed, CNN_RNG_STREAM_SHUFFLE);
    s->t = 0;
    s->epochs = cfg->epochs;
    s->batch = cfg->batch;
    s->threads = threads;
    s->shuffle = cfg->shuffle;
    s->seed = cfg->seed;
    s->loss_sum = 0, s->correct = 0, s->seen = 0, s->train_s = 0;
    s->best_val = -1;
    s->ready = 1;
    return CNN_OK;
}
