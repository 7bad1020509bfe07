/*
 * test_optim.c — the optimizers and schedules against their formulas:
 * each optimizer (through the list, after the trainer's reduction of three
 * thread buffers) step for step over 10 steps against a plain double
 * implementation written from its formula, within 1e-6 relative; each
 * schedule at chosen steps against its closed form; the settings each
 * refuses; the schedule's text read back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "tests.h"

enum { P = 301, T = 3, STEPS = 10 };

/* The names checked against a formula, so that the guards below can ask
   that every listed optimizer and schedule was (docs/architecture.md). */
static const char *checked[16];
static int nchecked;

static void note_checked(const char *name)
{
    for (int i = 0; i < nchecked; i++)
        if (!strcmp(checked[i], name))
            return;
    if (nchecked < 16)
        checked[nchecked++] = name;
}

static int was_checked(const char *name)
{
    for (int i = 0; i < nchecked; i++)
        if (!strcmp(checked[i], name))
            return 1;
    return 0;
}

/* The reference: one optimizer's update of every parameter in double. */
typedef void (*ref_update)(const cnn_optim_params *h, long t, double lr, double *p,
                           const double *g, double *s0, double *s1);

static void ref_adam(const cnn_optim_params *h, long t, double lr, double *p,
                     const double *g, double *m, double *v)
{
    double b1 = h->beta1, b2 = h->beta2;
    double lr_t = lr * sqrt(1 - pow(b2, (double)t)) / (1 - pow(b1, (double)t));
    for (int i = 0; i < P; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= lr_t * m[i] / (sqrt(v[i]) + h->eps);
    }
}

/* PyTorch's AdamW order: decay first, then the Adam step. */
static void ref_adamw(const cnn_optim_params *h, long t, double lr, double *p,
                      const double *g, double *m, double *v)
{
    for (int i = 0; i < P; i++)
        p[i] *= 1 - lr * h->weight_decay;
    ref_adam(h, t, lr, p, g, m, v);
}

static void ref_sgd(const cnn_optim_params *h, long t, double lr, double *p,
                    const double *g, double *vel, double *unused)
{
    (void)t, (void)unused;
    for (int i = 0; i < P; i++) {
        double d = g[i] + h->weight_decay * p[i];
        if (h->momentum == 0) {
            p[i] -= lr * d;
            continue;
        }
        vel[i] = h->momentum * vel[i] + d;
        p[i] -= lr * (h->nesterov ? d + h->momentum * vel[i] : vel[i]);
    }
}

/* Worst relative error (max(1, |ref|) below) of n floats against doubles. */
static double worst(const float *a, const double *b, size_t n, size_t *at)
{
    float *bf = malloc(n * sizeof *bf);
    for (size_t i = 0; i < n; i++)
        bf[i] = (float)b[i];
    double e = test_max_rel_err(a, bf, n, at);
    free(bf);
    return e;
}

/* Run opt with settings h for 10 steps (lr changing every step, as under
   a schedule) on three gradient buffers, summed as the trainer sums
   them, against ref. */
static void check_optimizer(const char *name, const cnn_optim_params *h, ref_update ref,
                            int want_states)
{
    const cnn_optimizer *o = cnn_optimizer_find(name);
    CHECK(o != NULL, "%s: not in the list", name);
    if (!o)
        return;
    note_checked(o->name);
    const char *names[CNN_OPTIM_MAX_STATE];
    int ns = o->states(h, names);
    CHECK(ns == want_states, "%s: %d state tensors, want %d", name, ns, want_states);
    CHECK(o->check(h) == NULL, "%s refuses good settings: %s", name, o->check(h));
    static float p[P], *g[T], *state[CNN_OPTIM_MAX_STATE];
    static double pd[P], gd[P], s0[P], s1[P];
    uint64_t seed = 17;
    test_fill_uniform(p, P, -1, 1, &seed);
    for (int i = 0; i < P; i++)
        pd[i] = p[i], s0[i] = 0, s1[i] = 0;
    for (int t = 0; t < T; t++)
        g[t] = calloc(P, sizeof(float));
    for (int k = 0; k < ns; k++)
        state[k] = calloc(P, sizeof(float));
    for (long step = 1; step <= STEPS; step++) {
        for (int i = 0; i < P; i++)
            gd[i] = 0;
        for (int t = 0; t < T; t++) {
            test_fill_uniform(g[t], P, -0.5f, 0.5f, &seed);
            for (int i = 0; i < P; i++)
                gd[i] += g[t][i];
        }
        for (int t = 1; t < T; t++) /* summed, as the trainer sums chunks */
            for (int i = 0; i < P; i++)
                g[0][i] += g[t][i], g[t][i] = 0;
        double lr = h->lr * (1 + 0.1 * (double)step);
        cnn_optim_step os = {h, step, lr, 0}, streamed = {h, step, lr, 1};
        /* two slices, as two threads would update them, the second with
           the hint of a big layer's rows (streamed stores, the same values) */
        o->update(&os, p, g[0], state, 0, 128);
        o->update(&streamed, p, g[0], state, 128, P);
        ref(h, step, lr, pd, gd, s0, s1);
        size_t at;
        double e = worst(p, pd, P, &at);
        CHECK(e < 1e-6, "%s step %ld: parameter %zu %.9g, formula %.9g", name, step, at,
              (double)p[at], pd[at]);
        for (int k = 0; k < ns; k++) {
            e = worst(state[k], k ? s1 : s0, P, &at);
            CHECK(e < 1e-6, "%s step %ld: %s[%zu] %.9g, formula %.9g", name, step, names[k],
                  at, (double)state[k][at], (k ? s1 : s0)[at]);
        }
    }
    for (int t = 0; t < T; t++)
        free(g[t]);
    for (int k = 0; k < ns; k++)
        free(state[k]);
}

/* Adam with the streaming hint gives the same bits as without, at every
   alignment and length (the head before a 16-byte boundary, 64-float
   blocks, the tail). */
static void adam_streamed_same_bits(void)
{
    enum { N = 1000 };
    static float p0[N + 8], g0[N + 8], m0[N + 8], v0[N + 8];
    static float p1[N + 8], g1[N + 8], m1[N + 8], v1[N + 8];
    const cnn_optim_params h = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f};
    uint64_t seed = 5;
    for (int off = 0; off < 4; off++)
        for (int len = 0; len <= 300; len += 37) {
            test_fill_uniform(p0, N + 8, -1, 1, &seed);
            test_fill_uniform(g0, N + 8, -1, 1, &seed);
            test_fill_uniform(m0, N + 8, -1, 1, &seed);
            test_fill_uniform(v0, N + 8, 0, 1, &seed);
            memcpy(p1, p0, sizeof p0), memcpy(g1, g0, sizeof g0);
            memcpy(m1, m0, sizeof m0), memcpy(v1, v0, sizeof v0);
            cnn_optim_step a = {&h, 3, 0.01, 0}, b = {&h, 3, 0.01, 1};
            cnn_adam_slice(&a, p0, g0, m0, v0, (size_t)off, (size_t)(off + 3 * len));
            cnn_adam_slice(&b, p1, g1, m1, v1, (size_t)off, (size_t)(off + 3 * len));
            CHECK(!memcmp(p0, p1, sizeof p0) && !memcmp(m0, m1, sizeof m0) &&
                      !memcmp(v0, v1, sizeof v0) && !memcmp(g0, g1, sizeof g0),
                  "streamed Adam differs at offset %d, length %d", off, 3 * len);
        }
}

static void optimizers_match_their_formulas(void)
{
    const cnn_optim_params adam = {.lr = 0.001f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f};
    check_optimizer("adam", &adam, ref_adam, 2);
    cnn_optim_params adamw = adam;
    adamw.weight_decay = 0.05f;
    adamw.lr = 0.01f;
    check_optimizer("adamw", &adamw, ref_adamw, 2);
    const cnn_optim_params plain = {.lr = 0.01f};
    check_optimizer("sgd", &plain, ref_sgd, 0);
    cnn_optim_params mom = plain;
    mom.momentum = 0.9f;
    check_optimizer("sgd", &mom, ref_sgd, 1);
    mom.nesterov = 1;
    check_optimizer("sgd", &mom, ref_sgd, 1);
    mom.weight_decay = 1e-3f;
    check_optimizer("sgd", &mom, ref_sgd, 1);
    /* The guard: a new optimizer in the list needs its reference here. */
    for (int i = 0; cnn_optimizers[i]; i++)
        CHECK(was_checked(cnn_optimizers[i]->name), "optimizer %s is listed but not "
              "checked against a reference", cnn_optimizers[i]->name);
}

/* AdamW without decay is Adam, bit for bit; Adam's state names are the
   checkpoint's "m" and "v". */
static void adamw_without_decay_is_adam(void)
{
    const cnn_optim_params h = {.lr = 0.001f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f};
    float pa[P], pw[P], ga[P], gw[P], ma[P] = {0}, va[P] = {0}, mw[P] = {0}, vw[P] = {0};
    uint64_t seed = 3;
    test_fill_uniform(pa, P, -1, 1, &seed);
    memcpy(pw, pa, sizeof pa);
    float *sa[2] = {ma, va}, *sw[2] = {mw, vw};
    for (long t = 1; t <= 5; t++) {
        test_fill_uniform(ga, P, -1, 1, &seed);
        memcpy(gw, ga, sizeof ga);
        cnn_optim_step os = {&h, t, h.lr, 0};
        cnn_optim_adam.update(&os, pa, ga, sa, 0, P);
        cnn_optim_adamw.update(&os, pw, gw, sw, 0, P);
    }
    CHECK(memcmp(pa, pw, sizeof pa) == 0, "adamw with weight decay 0 differs from adam");
    const char *names[CNN_OPTIM_MAX_STATE];
    CHECK(cnn_optim_adam.states(&h, names) == 2 && !strcmp(names[0], "m") &&
          !strcmp(names[1], "v"), "adam's state is not m, v");
    CHECK(cnn_optimizer_find(NULL) == &cnn_optim_adam && cnn_optimizer_find("") ==
          &cnn_optim_adam && !cnn_optimizer_find("Adam"), "the default or lookup is wrong");
}

/* Settings each optimizer refuses, through cnn_train_config_check. */
static void meaningless_settings_are_refused(void)
{
    static const struct {
        const char *optimizer, *schedule;
        float momentum, wd;
        int nesterov;
        long warmup;
        int warmup_epochs;
        const char *needle;
    } bad[] = {
        {"adam", NULL, 0.9f, 0, 0, 0, 0, "sgd's"},
        {"adam", NULL, 0, 0.1f, 0, 0, 0, "adamw"},
        {"adamw", NULL, 0, 0, 1, 0, 0, "sgd's"},
        {"sgd", NULL, 0, 0, 1, 0, 0, "nesterov needs a momentum"},
        {"sgd", NULL, 1.0f, 0, 0, 0, 0, "momentum"},
        {"sgd", NULL, 0, 1.5f, 0, 0, 0, "weight decay"},
        {"rmsprop", NULL, 0, 0, 0, 0, 0, "unknown optimizer"},
        {"adam", "onecycle", 0, 0, 0, 10, 0, "no warmup"},
        {"adam", "cosine", 0, 0, 0, 10, 1, "not both"},
        {"adam", "step:0:0.5", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "step:2:0", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "step:2", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "step:2:0.5x", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "step:\t2:0.5", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "step:2: 0.5", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "step:+2:0.5", 0, 0, 0, 0, 0, "step:E:F"},
        {"adam", "cosine:2", 0, 0, 0, 0, 0, "no settings"},
        {"adam", "linear", 0, 0, 0, 0, 0, "unknown schedule"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.optimizer = bad[i].optimizer, cfg.schedule = bad[i].schedule;
        cfg.momentum = bad[i].momentum, cfg.weight_decay = bad[i].wd;
        cfg.nesterov = bad[i].nesterov, cfg.warmup_steps = bad[i].warmup;
        cfg.warmup_epochs = bad[i].warmup_epochs;
        int st = cnn_train_config_check(&cfg);
        CHECK(st == CNN_ERR_ARG && strstr(cnn_last_error(), bad[i].needle),
              "case %zu: status %d, message '%s' lacks '%s'", i, st, cnn_last_error(),
              bad[i].needle);
    }
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.optimizer = "sgd", cfg.momentum = 0.9f, cfg.nesterov = 1, cfg.weight_decay = 1e-4f;
    cfg.schedule = "step:3:0.5", cfg.warmup_epochs = 1;
    CHECK(cnn_train_config_check(&cfg) == CNN_OK, "good settings refused: %s",
          cnn_last_error());
}

/* The rate of schedule text at step s of total (10 steps an epoch). */
static double rate(const char *text, long warmup, double base, long s, long total)
{
    cnn_schedule_params p = {0};
    const char *why = cnn_schedule_parse(text, &p);
    CHECK(why == NULL, "%s: %s", text, why);
    p.warmup = warmup;
    note_checked(p.kind ? p.kind->name : cnn_schedules[0]->name);
    return cnn_schedule_lr(&p, base, s, total, 10);
}

#define CLOSE(a, b) (fabs((a) - (b)) <= 1e-12 * fabs(b) + 1e-18)

static void schedules_match_their_formulas(void)
{
    const double lr = 0.003;
    CHECK(rate("constant", 0, lr, 0, 100) == lr && rate(NULL, 0, lr, 77, 100) == lr,
          "constant is not the base rate itself");
    CHECK(CLOSE(rate("constant", 5, lr, 0, 100), lr / 5) &&
          CLOSE(rate("constant", 5, lr, 3, 100), lr * 4 / 5) &&
          rate("constant", 5, lr, 5, 100) == lr, "constant with warmup");
    /* step:2:0.5 at 10 steps an epoch: halved every 20 steps */
    CHECK(rate("step:2:0.5", 0, lr, 19, 100) == lr &&
          CLOSE(rate("step:2:0.5", 0, lr, 20, 100), lr / 2) &&
          CLOSE(rate("step:2:0.5", 0, lr, 45, 100), lr / 4), "step:2:0.5");
    CHECK(CLOSE(rate("step", 0, lr, 35, 100), lr * pow(0.95f, 3)), "step (1:0.95)");
    /* cosine after 10 warmup steps of 110 */
    CHECK(CLOSE(rate("cosine", 10, lr, 4, 110), lr * 5 / 10), "cosine in warmup");
    /* a warmup as long as the run: the ramp, not a rate of 0 */
    CHECK(CLOSE(rate("cosine", 110, lr, 54, 110), lr / 2) &&
          CLOSE(rate("cosine", 200, lr, 99, 110), lr / 2), "cosine, warmup the whole run");
    CHECK(CLOSE(rate("cosine", 10, lr, 10, 110), lr) &&
          CLOSE(rate("cosine", 10, lr, 60, 110), lr / 2) &&
          CLOSE(rate("cosine", 10, lr, 109, 110), lr * 0.5 * (1 + cos(M_PI * 0.99))),
          "cosine");
    /* onecycle of 100 steps: up to step 29, down to step 99 */
    double initial = lr / 25, final = initial / 1e4;
    CHECK(CLOSE(rate("onecycle", 0, lr, 0, 100), initial), "onecycle start");
    CHECK(CLOSE(rate("onecycle", 0, lr, 29, 100), lr), "onecycle peak");
    CHECK(CLOSE(rate("onecycle", 0, lr, 99, 100), final), "onecycle end");
    CHECK(CLOSE(rate("onecycle", 0, lr, 64, 100), (lr + final) / 2), "onecycle halfway down");
    double up = initial + (lr - initial) / 2 * (1 - cos(M_PI * 10 / 29.0));
    CHECK(CLOSE(rate("onecycle", 0, lr, 10, 100), up), "onecycle going up: %.12g vs %.12g",
          rate("onecycle", 0, lr, 10, 100), up);
    /* The guard: a new schedule in the list needs its closed form here. */
    for (int i = 0; cnn_schedules[i]; i++)
        CHECK(was_checked(cnn_schedules[i]->name), "schedule %s is listed but not checked "
              "against its formula", cnn_schedules[i]->name);
}

static void schedule_text_reads_back(void)
{
    static const char *const cases[][2] = {
        {"constant", "constant"}, {"step", "step:1:0.95"}, {"step:3:0.5", "step:3:0.5"},
        {"step:2:0.123456789", "step:2:0.12345679"}, {"cosine", "cosine"},
        {"onecycle", "onecycle"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cnn_schedule_params p = {0}, q = {0};
        char text[64];
        CHECK(cnn_schedule_parse(cases[i][0], &p) == NULL, "%s refused", cases[i][0]);
        cnn_schedule_format(&p, text, sizeof text);
        CHECK(!strcmp(text, cases[i][1]), "%s written as %s, want %s", cases[i][0], text,
              cases[i][1]);
        CHECK(cnn_schedule_parse(text, &q) == NULL && q.kind == p.kind &&
              q.every == p.every && q.factor == p.factor, "%s does not read back", text);
    }
}

TEST_TABLE(optim, {"optimizers_match_their_formulas", optimizers_match_their_formulas},
           {"adam_streamed_same_bits", adam_streamed_same_bits},
           {"adamw_without_decay_is_adam", adamw_without_decay_is_adam},
           {"meaningless_settings_are_refused", meaningless_settings_are_refused},
           {"schedules_match_their_formulas", schedules_match_their_formulas},
           {"schedule_text_reads_back", schedule_text_reads_back})
