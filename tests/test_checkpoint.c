/*
 * test_checkpoint.c — nothing lost: checkpoints round-trip the whole
 * training state; a run stopped mid-epoch (by the cancel flag, with
 * validation on) and resumed from its checkpoint ends bitwise identical to
 * an uninterrupted one; corrupt, truncated and weights-only files are
 * refused; a checkpoint goes on only with the data it was trained on (its
 * images' and labels' CRC-32s), the same image size and count, and says
 * what differs; one written before the fingerprint resumes unchecked and
 * takes the data's fingerprint; augmentation and label smoothing are
 * checked and kept in canonical form; the NaN guard names the step and the layer
 * and leaves the weights finite; and through the cnn command: SIGINT mid-run writes a
 * checkpoint, exits 130 and resumes to the same weights, SIGTERM exits 143,
 * --lr 1e6 stops with the last good checkpoint kept, and SIGKILL during
 * checkpoint writes always leaves a loadable checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zlib.h>

#include "cnn.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train_state.h"
#include "tests.h"

#define SPEC "conv3x3:6:same,relu,conv3x3s2:8:same,relu,flatten,dense:3,softmax"

/* A learnable synthetic set: class = the brightest of three vertical bands. */
static cnn_dataset *bands(int count, int seed)
{
    cnn_dataset *ds = calloc(1, sizeof *ds);
    ds->count = count;
    ds->height = ds->width = 10;
    ds->channels = 1;
    ds->classes = 3;
    ds->images = malloc((size_t)count * 100);
    ds->labels = malloc((size_t)count);
    uint64_t s = (uint64_t)seed;
    for (int i = 0; i < count; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int label = (int)(s >> 62) % 3;
        ds->labels[i] = (uint8_t)label;
        for (int p = 0; p < 100; p++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            ds->images[(size_t)i * 100 + p] =
                (uint8_t)((int)(s >> 58) + ((p % 10) * 3 / 10 == label ? 150 : 30));
        }
    }
    return ds;
}

static int files_equal(const char *a, const char *b);

static const char *tmp_path(const char *name)
{
    static char buf[4][600];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return p;
}

static volatile sig_atomic_t cancel;
static long cancel_at;

static void cancel_progress(const cnn_progress *p, void *user)
{
    (void)user;
    if (p->global_step == cancel_at)
        cancel = 1;
}

/* The optimizer and schedule run() trains with (NULL: the defaults). */
typedef struct optim_case {
    const char *optimizer, *schedule;
    float lr, momentum, weight_decay;
    int nesterov;
    long warmup_steps;
    int warmup_epochs;
} optim_case;
static const optim_case *with;

/* A resumed run's settings, as the cnn command takes them: from the
   checkpoint. */
static void settings_of(const cnn_train_state *s, cnn_train_config *cfg)
{
    cnn_train_state_info info;
    cnn_train_state_info_get(s, &info);
    static char schedule[sizeof info.schedule], augment[sizeof info.augment];
    memcpy(schedule, info.schedule, sizeof schedule);
    memcpy(augment, info.augment, sizeof augment);
    cfg->lr = info.lr, cfg->beta1 = info.beta1, cfg->beta2 = info.beta2, cfg->eps = info.eps;
    cfg->optimizer = info.optimizer;
    cfg->momentum = info.momentum, cfg->nesterov = info.nesterov;
    cfg->weight_decay = info.weight_decay;
    cfg->schedule = schedule;
    cfg->warmup_steps = info.warmup_steps, cfg->warmup_epochs = 0;
    cfg->augment = augment, cfg->label_smoothing = info.label_smoothing;
}

/* Train SPEC on ds from seed for `epochs` with 2 threads and validation;
   stop after step `stop_at` (0: never) and resume from a checkpoint, with
   the optimizer settings the checkpoint holds.  The final parameters are
   copied to out. */
static int run(const cnn_dataset *ds, const cnn_dataset *val, int epochs, long stop_at,
               float *out, size_t n)
{
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_model_create(SPEC, 10, 10, 1, 3, &m) == CNN_OK, "%s", cnn_last_error());
    cnn_model_init(m, 42);
    cnn_train_state_create(&s);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = epochs;
    cfg.batch = 12;
    cfg.threads = 2;
    cfg.seed = 7;
    cfg.state = s;
    cfg.validation = val;
    cfg.cancel = &cancel;
    cfg.progress = cancel_progress;
    if (with) {
        cfg.optimizer = with->optimizer, cfg.schedule = with->schedule, cfg.lr = with->lr;
        cfg.momentum = with->momentum, cfg.weight_decay = with->weight_decay;
        cfg.nesterov = with->nesterov;
        cfg.warmup_steps = with->warmup_steps, cfg.warmup_epochs = with->warmup_epochs;
    }
    cancel = 0;
    cancel_at = stop_at;
    int st = cnn_train(m, ds, &cfg, NULL);
    if (stop_at) {
        CHECK(st == CNN_ERR_CANCELLED, "cancel: status %d (%s)", st, cnn_last_error());
        const char *ck = tmp_path("mid.ckpt");
        CHECK(cnn_checkpoint_save(m, s, ck) == CNN_OK, "save: %s", cnn_last_error());
        cnn_model_free(m);
        cnn_train_state_free(s);
        m = NULL, s = NULL;
        /* A new process would start from here: only the file carries over. */
        CHECK(cnn_checkpoint_load(ck, &m, &s) == CNN_OK, "load: %s", cnn_last_error());
        if (!m)
            return CNN_ERR_IO;
        cnn_train_state_info info;
        cnn_train_state_info_get(s, &info);
        CHECK(info.steps == stop_at, "state at step %ld, want %ld", info.steps, stop_at);
        CHECK(info.batch == 12 && info.threads == 2 && info.epochs == epochs,
              "settings batch %d threads %d epochs %d", info.batch, info.threads, info.epochs);
        cnn_train_config_default(&cfg);
        settings_of(s, &cfg);
        cfg.epochs = epochs, cfg.batch = 12, cfg.threads = 2, cfg.seed = 7;
        cfg.validation = val, cfg.cancel = &cancel, cfg.progress = cancel_progress;
        cfg.state = s;
        cancel_at = 0;
        cancel = 0;
        st = cnn_train(m, ds, &cfg, NULL);
    }
    CHECK(st == CNN_OK, "train: %s", cnn_last_error());
    CHECK(cnn_model_param_count(m) == n, "param count");
    memcpy(out, cnn_model_params(m), n * sizeof *out);
    cnn_model_free(m);
    cnn_train_state_free(s);
    return st;
}

static size_t spec_params(void)
{
    cnn_model *m;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    size_t n = cnn_model_param_count(m);
    cnn_model_free(m);
    return n;
}

static void resume_mid_epoch_is_bitwise_identical(void)
{
    cnn_dataset *ds = bands(250, 3), *val = bands(60, 9);
    size_t n = spec_params();
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
    /* 250 images, batch 12: 21 steps per epoch, the last one short. */
    run(ds, val, 3, 0, ref, n);
    const long stops[] = {1, 9, 21, 30, 62};
    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
        run(ds, val, 3, stops[k], got, n);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += memcmp(&ref[i], &got[i], sizeof(float)) != 0;
        CHECK(diff == 0, "stopped at step %ld: %zu of %zu parameters differ", stops[k], diff,
              n);
    }
    free(ref);
    free(got);
    cnn_dataset_free(ds);
    cnn_dataset_free(val);
}

/* Each optimizer and schedule, stopped mid-epoch and in the second epoch
   and resumed with the settings its checkpoint holds, ends bitwise where
   the uninterrupted run ends. */
static void resume_is_bitwise_for_each_optimizer_and_schedule(void)
{
    static const optim_case cases[] = {
        {"adam", "cosine", 0.003f, 0, 0, 0, 0, 0},
        {"adam", "step:1:0.5", 0.002f, 0, 0, 0, 0, 1},
        {"adamw", "cosine", 0.003f, 0, 0.01f, 0, 5, 0},
        {"sgd", "step:1:0.5", 0.05f, 0.9f, 0, 1, 0, 0},
        {"sgd", "onecycle", 0.05f, 0, 0, 0, 0, 0},
        {"sgd", "constant", 0.02f, 0.8f, 1e-3f, 0, 3, 0},
        {"adam", "onecycle", 0.003f, 0, 0, 0, 0, 0},
    };
    cnn_dataset *ds = bands(250, 3), *val = bands(60, 9);
    size_t n = spec_params();
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        with = &cases[c];
        run(ds, val, 3, 0, ref, n);
        const long stops[] = {9, 30};
        for (size_t k = 0; k < 2; k++) {
            run(ds, val, 3, stops[k], got, n);
            size_t diff = 0;
            for (size_t i = 0; i < n; i++)
                diff += memcmp(&ref[i], &got[i], sizeof(float)) != 0;
            CHECK(diff == 0, "%s %s: stopped at step %ld: %zu of %zu parameters differ",
                  cases[c].optimizer, cases[c].schedule, stops[k], diff, n);
        }
    }
    with = NULL;
    /* The guard: every listed optimizer and schedule has a resume case. */
    for (int i = 0; cnn_optimizers[i]; i++) {
        int found = 0;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            found |= !strcmp(cases[c].optimizer, cnn_optimizers[i]->name);
        CHECK(found, "optimizer %s has no resume case", cnn_optimizers[i]->name);
    }
    for (int i = 0; cnn_schedules[i]; i++) {
        int found = 0;
        size_t len = strlen(cnn_schedules[i]->name);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            found |= !strncmp(cases[c].schedule, cnn_schedules[i]->name, len) &&
                     (cases[c].schedule[len] == 0 || cases[c].schedule[len] == ':');
        CHECK(found, "schedule %s has no resume case", cnn_schedules[i]->name);
    }
    free(ref);
    free(got);
    cnn_dataset_free(ds);
    cnn_dataset_free(val);
}

/* The JSON header of a safetensors file (NULL when unreadable). */
static json_t *header_of(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char len[8];
    json_t *j = NULL;
    if (f && fread(len, 1, 8, f) == 8) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = n << 8 | len[i];
        char *text = n < (1u << 24) ? malloc(n + 1) : NULL;
        if (text && fread(text, 1, n, f) == n) {
            text[n] = 0;
            j = json_loads(text, 0, NULL);
        }
        free(text);
    }
    if (f)
        fclose(f);
    return j;
}

/* Train SPEC (seed 1, one thread) on ds as cfg says, into a fresh state,
   and write its checkpoint to path. */
static void train_and_checkpoint(const cnn_dataset *ds, cnn_train_config *cfg,
                                 const char *path)
{
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_model_init(m, 1);
    cnn_train_state_create(&s);
    cfg->threads = 1, cfg->state = s;
    CHECK(cnn_train(m, ds, cfg, NULL) == CNN_OK, "train: %s", cnn_last_error());
    CHECK(cnn_checkpoint_save(m, s, path) == CNN_OK, "save: %s", cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
}

/* Train 5 steps with an optimizer and save a checkpoint to path. */
static void optimizer_checkpoint(const cnn_dataset *ds, const optim_case *oc,
                                 const char *path)
{
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.optimizer = oc->optimizer, cfg.momentum = oc->momentum, cfg.nesterov = oc->nesterov;
    cfg.schedule = oc->schedule, cfg.warmup_steps = oc->warmup_steps;
    cfg.batch = 10, cfg.max_steps = 5;
    train_and_checkpoint(ds, &cfg, path);
}

/* A checkpoint holds the state tensors its optimizer declares, named
   "<optimizer>.<state>.<tensor>", and its settings; it goes on only with
   its own optimizer. */
static void checkpoint_holds_the_declared_state(void)
{
    cnn_dataset *ds = bands(40, 4);
    static const optim_case cases[] = {
        {"adam", NULL, 0, 0, 0, 0, 0, 0},
        {"sgd", "cosine", 0, 0.9f, 0, 1, 4, 0},
        {"sgd", "step:2:0.5", 0, 0, 0, 0, 0, 0},
    };
    static const char *const want[][3] = {
        {"adam.m.conv1.weight", "adam.v.dense1.bias", "sgd.velocity.conv1.weight"},
        {"sgd.velocity.conv1.weight", "sgd.velocity.dense1.bias", "adam.m.conv1.weight"},
        {NULL, NULL, "sgd.velocity.conv1.weight"},
    };
    for (int c = 0; c < 3; c++) {
        const char *path = tmp_path("optim.ckpt");
        optimizer_checkpoint(ds, &cases[c], path);
        json_t *h = header_of(path);
        CHECK(h != NULL, "cannot read %s", path);
        for (int k = 0; k < 2 && h; k++)
            CHECK(!want[c][k] || json_object_get(h, want[c][k]), "%s: no tensor %s",
                  cases[c].optimizer, want[c][k]);
        CHECK(h && !json_object_get(h, want[c][2]), "%s: a tensor %s", cases[c].optimizer,
              want[c][2]);
        json_t *meta = h ? json_object_get(h, "__metadata__") : NULL;
        const char *o = json_string_value(json_object_get(meta, "optimizer"));
        CHECK(o && !strcmp(o, cases[c].optimizer), "metadata optimizer %s", o ? o : "(none)");
        json_decref(h);
        cnn_model *m = NULL;
        cnn_train_state *s = NULL;
        CHECK(cnn_checkpoint_load(path, &m, &s) == CNN_OK, "load: %s", cnn_last_error());
        if (!s)
            continue;
        cnn_train_state_info info;
        cnn_train_state_info_get(s, &info);
        CHECK(!strcmp(info.optimizer, cases[c].optimizer) &&
              info.momentum == cases[c].momentum && info.nesterov == cases[c].nesterov &&
              info.warmup_steps == cases[c].warmup_steps &&
              !strcmp(info.schedule, c == 0 ? "constant" : cases[c].schedule),
              "settings read back: %s %g %d %s %ld", info.optimizer, (double)info.momentum,
              info.nesterov, info.schedule, info.warmup_steps);
        /* another optimizer (or sgd's momentum switched on) cannot go on */
        cnn_train_config cfg;
        cnn_train_config_default(&cfg);
        cfg.optimizer = c == 0 ? "adamw" : "sgd";
        cfg.momentum = c == 2 ? 0.9f : 0;
        cfg.batch = 10, cfg.threads = 1, cfg.epochs = 2, cfg.state = s;
        int st = cnn_train(m, ds, &cfg, NULL);
        CHECK(st == CNN_ERR_MISMATCH && strstr(cnn_last_error(), path),
              "case %d: status %d: %s", c, st, cnn_last_error());
        cnn_model_free(m);
        cnn_train_state_free(s);
    }
    cnn_dataset_free(ds);
}

#define FIXTURE "tests/fixtures/c3ed008"

/* A checkpoint written by c3ed008 (before the optimizer list; see
   tests/fixtures/c3ed008/make-fixture.sh) loads as Adam's with the
   constant schedule and resumes: through the library and through the
   command, to the same bits.  Since issue 13 the gradient is summed by the
   fixed tree over the batch's images (any thread count, the same bits),
   not per thread share, so the resumed steps end near, not on, c3ed008's
   uninterrupted run (1.5e-8 relative at most, measured; 1e-6 allowed). */
static void c3ed008_checkpoint_resumes(void)
{
    cnn_model *m = NULL, *full = NULL;
    cnn_train_state *s = NULL;
    cnn_dataset *ds = NULL;
    CHECK(cnn_checkpoint_load(FIXTURE "/stopped.ckpt", &m, &s) == CNN_OK, "load: %s",
          cnn_last_error());
    CHECK(cnn_model_open(FIXTURE "/full.safetensors", &full) == CNN_OK, "open: %s",
          cnn_last_error());
    CHECK(cnn_dataset_load_dir(FIXTURE, "train", 10, &ds) == CNN_OK, "data: %s",
          cnn_last_error());
    if (!m || !full || !ds)
        goto out;
    cnn_train_state_info info;
    cnn_train_state_info_get(s, &info);
    CHECK(info.steps == 11 && !strcmp(info.optimizer, "adam") &&
          !strcmp(info.schedule, "constant") && info.momentum == 0 && info.warmup_steps == 0,
          "read as step %ld, %s, %s", info.steps, info.optimizer, info.schedule);
    cnn_model_set_isa(m, "ref");
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    settings_of(s, &cfg);
    cfg.epochs = info.epochs, cfg.batch = info.batch, cfg.threads = info.threads;
    cfg.state = s;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "resume: %s", cnn_last_error());
    size_t n = cnn_model_param_count(m), at = 0;
    CHECK(n == cnn_model_param_count(full), "%zu parameters, c3ed008's %zu", n,
          cnn_model_param_count(full));
    double err = n == cnn_model_param_count(full)
                     ? test_max_rel_err(cnn_model_params(m), cnn_model_params(full), n, &at)
                     : 1;
    CHECK(err < 1e-6, "the resumed run is %.3g away from c3ed008's uninterrupted one at %zu",
          err, at);
    /* the command, from a copy (it writes the checkpoint back) */
    const char *ck = tmp_path("c3ed008.ckpt"), *out = tmp_path("c3ed008.safetensors");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp %s/stopped.ckpt %s", FIXTURE, ck);
    CHECK(system(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "train --data %s --resume %s --isa ref --quiet --save %s",
             FIXTURE, ck, out);
    cnn_model *cli = NULL;
    if (test_cnn("--version") != -1) {
        CHECK(test_cnn(cmd) == 0, "%s: %s", cmd, test_err);
        CHECK(cnn_model_open(out, &cli) == CNN_OK, "open: %s", cnn_last_error());
        CHECK(cli && cnn_model_param_count(cli) == n &&
                  !memcmp(cnn_model_params(cli), cnn_model_params(m), n * sizeof(float)),
              "cnn train --resume of c3ed008's checkpoint differs from the library's resume");
    }
    cnn_model_free(cli);
out:
    cnn_model_free(m);
    cnn_model_free(full);
    cnn_train_state_free(s);
    cnn_dataset_free(ds);
}

/* Augmentation and label smoothing: checked by the config's check (and
   the shift against the images by cnn_train), kept by the state and its
   checkpoint in canonical form, and read back by a load; a checkpoint
   without them (c3ed008's) has neither. */
static void augment_and_smoothing_reach_the_checkpoint(void)
{
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    const struct { const char *augment; float ls; const char *names; } bad[] = {
        {"shift=abc", 0, "shift"}, {"rotate=500", 0, "rotate"}, {"foo=1", 0, "foo"},
        {"shift=1,shift=2", 0, "twice"}, {NULL, 1.0f, "label smoothing"},
        {NULL, -0.1f, "label smoothing"}, {NULL, NAN, "label smoothing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.augment = bad[i].augment, cfg.label_smoothing = bad[i].ls;
        CHECK(cnn_train_config_check(&cfg) == CNN_ERR_ARG &&
                  strstr(cnn_last_error(), bad[i].names),
              "augment '%s', label smoothing %g: '%s'", bad[i].augment ? bad[i].augment : "",
              (double)bad[i].ls, cnn_last_error());
    }
    cnn_dataset *ds = bands(40, 5);
    cnn_model *m = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_model_init(m, 1);
    cnn_train_config_default(&cfg);
    cfg.augment = "shift=5.5", cfg.threads = 1, cfg.max_steps = 1;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_ERR_ARG && strstr(cnn_last_error(), "half"),
          "shift 5.5 on 10x10 images: '%s'", cnn_last_error());
    cnn_model_free(m);
    const char *path = tmp_path("augment.ckpt");
    cnn_train_config_default(&cfg);
    cfg.augment = "zoom=0.15,rotate=15,shift=2.5", cfg.label_smoothing = 0.1f;
    cfg.batch = 10, cfg.max_steps = 3;
    train_and_checkpoint(ds, &cfg, path);
    json_t *h = header_of(path), *meta = h ? json_object_get(h, "__metadata__") : NULL;
    const char *text = json_string_value(json_object_get(meta, "augment"));
    const char *ls = json_string_value(json_object_get(meta, "label_smoothing"));
    CHECK(text && !strcmp(text, "shift=2.5,rotate=15,zoom=0.15") && ls &&
              !strcmp(ls, "0.100000001"),
          "metadata augment '%s', label_smoothing '%s'", text ? text : "(none)",
          ls ? ls : "(none)");
    json_decref(h);
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(path, &m, &s) == CNN_OK, "load: %s", cnn_last_error());
    cnn_train_state_info info;
    if (s) {
        cnn_train_state_info_get(s, &info);
        CHECK(!strcmp(info.augment, "shift=2.5,rotate=15,zoom=0.15") &&
                  info.label_smoothing == 0.1f,
              "loaded: augment '%s', label smoothing %g", info.augment,
              (double)info.label_smoothing);
    }
    cnn_model_free(m);
    cnn_train_state_free(s);
    m = NULL, s = NULL;
    CHECK(cnn_checkpoint_load(FIXTURE "/stopped.ckpt", &m, &s) == CNN_OK, "load: %s",
          cnn_last_error());
    if (s) {
        cnn_train_state_info_get(s, &info);
        CHECK(!strcmp(info.augment, "none") && info.label_smoothing == 0,
              "c3ed008's: augment '%s', label smoothing %g", info.augment,
              (double)info.label_smoothing);
    }
    cnn_model_free(m);
    cnn_train_state_free(s);
    cnn_dataset_free(ds);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void corrupt_and_foreign_files_are_refused(void)
{
    cnn_dataset *ds = bands(60, 4);
    cnn_model *m = NULL, *m2 = NULL;
    cnn_train_state *s = NULL, *s2 = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_model_init(m, 1);
    cnn_train_state_create(&s);
    /* A state never used for training cannot be saved. */
    CHECK(cnn_checkpoint_save(m, s, tmp_path("unused.ckpt")) == CNN_ERR_ARG, "unused state");
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 1;
    cfg.batch = 8;
    cfg.threads = 1;
    cfg.max_steps = 3;
    cfg.state = s;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
    const char *ck = tmp_path("good.ckpt"), *w = tmp_path("weights.safetensors");
    CHECK(cnn_checkpoint_save(m, s, ck) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_model_save(m, w) == CNN_OK, "%s", cnn_last_error());

    /* A checkpoint reads as weights, and as a model. */
    cnn_model *plain = NULL;
    CHECK(cnn_model_open(ck, &plain) == CNN_OK, "open checkpoint as model: %s",
          cnn_last_error());
    if (plain)
        CHECK(memcmp(cnn_model_params(plain), cnn_model_params(m),
                     cnn_model_param_count(m) * sizeof(float)) == 0,
              "weights from the checkpoint differ");
    cnn_model_free(plain);

    /* Weights only are not a checkpoint. */
    CHECK(cnn_checkpoint_load(w, &m2, &s2) == CNN_ERR_FORMAT && !m2 && !s2,
          "weights accepted as a checkpoint");
    CHECK(strstr(cnn_last_error(), "not a checkpoint"), "message: %s", cnn_last_error());

    /* One flipped data byte: the checksum catches it. */
    FILE *f = fopen(ck, "rb");
    long size = file_size(ck);
    unsigned char *bytes = malloc((size_t)size);
    CHECK(f && fread(bytes, 1, (size_t)size, f) == (size_t)size, "read back");
    if (f)
        fclose(f);
    bytes[size - 5] ^= 0x40;
    const char *bad = test_write_file("flipped.ckpt", bytes, (size_t)size);
    CHECK(cnn_checkpoint_load(bad, &m2, &s2) == CNN_ERR_FORMAT && !m2, "flipped byte");
    CHECK(strstr(cnn_last_error(), "checksum"), "message: %s", cnn_last_error());
    bytes[size - 5] ^= 0x40;
    /* Truncated anywhere: refused, never a crash. */
    const long cuts[] = {0, 7, 8, 100, size / 2, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        bad = test_write_file("cut.ckpt", bytes, (size_t)cuts[k]);
        int st = cnn_checkpoint_load(bad, &m2, &s2);
        CHECK(st == CNN_ERR_FORMAT && !m2 && !s2, "cut at %ld: status %d", cuts[k], st);
        CHECK(!strchr(cnn_last_error(), '\n') && strstr(cnn_last_error(), "cut.ckpt"),
              "message: %s", cnn_last_error());
    }
    free(bytes);
    /* A resumed state must fit the data and batch. */
    cnn_dataset *other = bands(61, 4);
    cfg.max_steps = 1;
    CHECK(cnn_train(m, other, &cfg, NULL) == CNN_ERR_MISMATCH, "other data set accepted");
    cfg.batch = 9;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_ERR_MISMATCH, "other batch accepted");
    cnn_dataset_free(other);
    cnn_model_free(m);
    cnn_train_state_free(s);
    cnn_dataset_free(ds);
}

/* A copy of a data set (the caller frees it). */
static cnn_dataset *copy_of(const cnn_dataset *ds)
{
    cnn_dataset *c = malloc(sizeof *c);
    *c = *ds;
    size_t bytes = (size_t)ds->count * ds->height * ds->width * ds->channels;
    c->images = malloc(bytes);
    c->labels = malloc((size_t)ds->count);
    memcpy(c->images, ds->images, bytes);
    memcpy(c->labels, ds->labels, (size_t)ds->count);
    return c;
}

static unsigned long crc_of(const uint8_t *p, size_t n)
{
    return crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Train SPEC on ds for 3 steps (batch 8, one thread) into a state and
   write its checkpoint to path. */
static void checkpoint_on(const cnn_dataset *ds, const char *path)
{
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 2, cfg.batch = 8, cfg.max_steps = 3;
    train_and_checkpoint(ds, &cfg, path);
}

/* Load path and check it against ds with batch 8: the status, and the
   message in msg. */
static int resume_check(const char *path, const cnn_dataset *ds, char *msg, size_t size)
{
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    int st = cnn_checkpoint_load(path, &m, &s);
    if (st == CNN_OK)
        st = cnn_train_state_check(s, m, ds, 8);
    snprintf(msg, size, "%s", st == CNN_OK ? "" : cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
    return st;
}

/* A resume on data with one pixel or one label changed is refused, naming
   both fingerprints and which differs; on the same data it passes, and
   cnn_train itself refuses the other data too. */
static void resume_on_other_data_is_refused(void)
{
    cnn_dataset *ds = bands(60, 4);
    const char *ck = tmp_path("data.ckpt");
    checkpoint_on(ds, ck);
    const unsigned long images = crc_of(ds->images, 6000), labels = crc_of(ds->labels, 60);
    char msg[600], want[200];
    CHECK(resume_check(ck, ds, msg, sizeof msg) == CNN_OK, "same data refused: %s", msg);

    cnn_dataset *pixel = copy_of(ds);
    pixel->images[1234] ^= 1;
    CHECK(resume_check(ck, pixel, msg, sizeof msg) == CNN_ERR_MISMATCH, "one pixel changed "
          "accepted");
    snprintf(want, sizeof want, "this checkpoint was trained on other data (images crc32 "
             "%08lx, this data set's %08lx); resume with the same --data", images,
             crc_of(pixel->images, 6000));
    CHECK(strstr(msg, want) && strstr(msg, ck) && !strstr(msg, "labels"), "message: %s",
          msg);

    cnn_dataset *label = copy_of(ds);
    label->labels[17] = (uint8_t)((label->labels[17] + 1) % 3);
    CHECK(resume_check(ck, label, msg, sizeof msg) == CNN_ERR_MISMATCH, "one label changed "
          "accepted");
    snprintf(want, sizeof want, "(labels crc32 %08lx, this data set's %08lx)", labels,
             crc_of(label->labels, 60));
    CHECK(strstr(msg, want) && !strstr(msg, "images"), "message: %s", msg);

    cnn_dataset *both = copy_of(pixel);
    both->labels[17] = label->labels[17];
    CHECK(resume_check(ck, both, msg, sizeof msg) == CNN_ERR_MISMATCH, "both accepted");
    snprintf(want, sizeof want, "(images crc32 %08lx and labels crc32 %08lx, this data "
             "set's %08lx and %08lx)", images, labels, crc_of(both->images, 6000),
             crc_of(both->labels, 60));
    CHECK(strstr(msg, want), "message: %s", msg);

    /* cnn_train makes the same check, and leaves the state as it was. */
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(ck, &m, &s) == CNN_OK, "%s", cnn_last_error());
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 2;
    cfg.batch = 8;
    cfg.threads = 1;
    cfg.state = s;
    CHECK(cnn_train(m, pixel, &cfg, NULL) == CNN_ERR_MISMATCH &&
          strstr(cnn_last_error(), "other data"), "train on other data: %s",
          cnn_last_error());
    cnn_train_state_info info;
    cnn_train_state_info_get(s, &info);
    CHECK(info.steps == 3, "the refused run moved the state to step %ld", info.steps);
    /* A check, then cnn_train on the same data: it goes on. */
    CHECK(cnn_train_state_check(s, m, ds, 8) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "train on its data: %s",
          cnn_last_error());
    /* A state trained here (no file) belongs to its data as well. */
    CHECK(cnn_train(m, label, &cfg, NULL) == CNN_ERR_MISMATCH, "in-memory state on other "
          "data");
    cnn_model_free(m);
    cnn_train_state_free(s);
    s = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_train_state_create(&s);
    cfg.state = s;
    cfg.epochs = 1;
    cfg.max_steps = 1;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
    cfg.max_steps = 0;
    CHECK(cnn_train(m, label, &cfg, NULL) == CNN_ERR_MISMATCH, "in-memory state on other "
          "data");
    CHECK(strstr(cnn_last_error(), "train: this training state was trained on other data "
                 "(labels crc32") && !strstr(cnn_last_error(), "--data"),
          "message: %s", cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
    cnn_dataset_free(pixel);
    cnn_dataset_free(label);
    cnn_dataset_free(both);
    cnn_dataset_free(ds);
}

/* The fingerprint is zlib's CRC-32 of the bytes, computed independently
   here, on a 10 MB set with one byte changed near its end. */
static void fingerprint_is_the_crc32_of_the_bytes(void)
{
    const int count = 130001, h = 7, w = 11;
    const size_t bytes = (size_t)count * h * w;
    cnn_dataset *ds = calloc(1, sizeof *ds);
    ds->count = count;
    ds->height = h, ds->width = w, ds->channels = 1;
    ds->classes = 3;
    ds->images = malloc(bytes);
    ds->labels = malloc((size_t)count);
    uint64_t x = 5;
    for (size_t i = 0; i < bytes; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        ds->images[i] = (uint8_t)(x >> 56);
    }
    for (int i = 0; i < count; i++)
        ds->labels[i] = (uint8_t)(i % 3);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_model_create("flatten,dense:3,softmax", h, w, 1, 3, &m) == CNN_OK, "%s",
          cnn_last_error());
    cnn_model_init(m, 1);
    cnn_train_state_create(&s);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.batch = 8;
    cfg.threads = 1;
    cfg.max_steps = 1;
    cfg.state = s;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
    const char *ck = tmp_path("large.ckpt");
    CHECK(cnn_checkpoint_save(m, s, ck) == CNN_OK, "%s", cnn_last_error());
    cnn_dataset *changed = copy_of(ds);
    changed->images[bytes - 3] ^= 0x10;
    char msg[600], want[200];
    CHECK(resume_check(ck, changed, msg, sizeof msg) == CNN_ERR_MISMATCH, "changed accepted");
    snprintf(want, sizeof want, "(images crc32 %08lx, this data set's %08lx)",
             crc_of(ds->images, bytes), crc_of(changed->images, bytes));
    CHECK(strstr(msg, want), "want %s: %s", want, msg);
    cnn_model_free(m);
    cnn_train_state_free(s);
    cnn_dataset_free(changed);
    cnn_dataset_free(ds);
}

/* A state that does not fit says what differs, with both values. */
static void mismatch_says_what_differs(void)
{
    cnn_dataset *ds = bands(60, 4);
    const char *ck = tmp_path("fit.ckpt");
    checkpoint_on(ds, ck);
    char msg[600];
    cnn_dataset *more = bands(61, 4);
    CHECK(resume_check(ck, more, msg, sizeof msg) == CNN_ERR_MISMATCH, "61 images accepted");
    CHECK(strstr(msg, "this checkpoint cannot go on here: the image count differs "
                 "(checkpoint 60, data set 61)") && !strstr(msg, "model") &&
          !strstr(msg, "batch") && strstr(msg, ck), "message: %s", msg);
    /* The same bytes as 5x20 images. */
    cnn_dataset *wide = copy_of(ds);
    wide->height = 5;
    wide->width = 20;
    CHECK(resume_check(ck, wide, msg, sizeof msg) == CNN_ERR_MISMATCH, "5x20 accepted");
    CHECK(strstr(msg, "the image size differs (checkpoint 10x10x1, data set 5x20x1)") &&
          !strstr(msg, "count"), "message: %s", msg);
    /* Batch and model, from the API. */
    cnn_model *m = NULL, *other = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(ck, &m, &s) == CNN_OK, "%s", cnn_last_error());
    CHECK(cnn_train_state_check(s, m, more, 9) == CNN_ERR_MISMATCH &&
          strstr(cnn_last_error(), "the image count differs (checkpoint 60, data set 61); "
                 "the batch differs (checkpoint 8, this run 9)"),
          "message: %s", cnn_last_error());
    cnn_model_create("flatten,dense:3,softmax", 10, 10, 1, 3, &other);
    char text[300];
    snprintf(text, sizeof text, "the model differs (checkpoint '%s', this model '%s')",
             cnn_model_spec(m), cnn_model_spec(other));
    CHECK(cnn_train_state_check(s, other, ds, 8) == CNN_ERR_MISMATCH &&
          strstr(cnn_last_error(), text) && !strstr(cnn_last_error(), "image"),
          "message: %s", cnn_last_error());
    cnn_model_free(other);
    /* Another model with as many parameters: the spec tells them apart. */
    cnn_model_create("conv3x3:6:same,conv3x3s2:8:same,relu,flatten,dense:3,softmax", 10, 10, 1,
                     3, &other);
    CHECK(cnn_model_param_count(other) == cnn_model_param_count(m), "not as many parameters");
    CHECK(cnn_train_state_check(s, other, ds, 8) == CNN_ERR_MISMATCH &&
          strstr(cnn_last_error(), "the model differs"), "message: %s", cnn_last_error());
    cnn_model_free(m);
    cnn_model_free(other);
    cnn_train_state_free(s);
    cnn_dataset_free(wide);
    cnn_dataset_free(more);
    cnn_dataset_free(ds);
}

/* Rewrite the safetensors file in with its metadata edited by edit (the
   metadata checksum dropped, as other writers have none) into name. */
static const char *edit_metadata(const char *in, const char *name, void (*edit)(json_t *))
{
    FILE *f = fopen(in, "rb");
    long size = file_size(in);
    unsigned char *bytes = malloc((size_t)size);
    if (!f || fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        CHECK(0, "cannot read %s", in);
        if (f)
            fclose(f);
        free(bytes);
        return NULL;
    }
    fclose(f);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | bytes[i];
    json_t *root = json_loadb((const char *)bytes + 8, (size_t)n, 0, NULL);
    json_t *meta = json_object_get(root, "__metadata__");
    CHECK(meta, "no metadata in %s", in);
    json_object_del(meta, "meta_crc32");
    edit(meta);
    char *text = json_dumps(root, JSON_COMPACT);
    size_t len = strlen(text), out_size = 8 + len + (size_t)(size - 8 - (long)n);
    unsigned char *out = malloc(out_size);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)len >> (8 * i));
    memcpy(out + 8, text, len);
    memcpy(out + 8 + len, bytes + 8 + n, (size_t)(size - 8 - (long)n));
    const char *path = test_write_file(name, out, out_size);
    free(text);
    free(out);
    free(bytes);
    json_decref(root);
    return path;
}

static void drop_fingerprint(json_t *meta)
{
    json_object_del(meta, "images_crc32");
    json_object_del(meta, "labels_crc32");
}
static void drop_labels_crc(json_t *meta) { json_object_del(meta, "labels_crc32"); }
static void images_crc_not_hex(json_t *meta)
{
    json_object_set_new(meta, "images_crc32", json_string("0x12345z"));
}
static void images_crc_upper(json_t *meta)
{
    json_object_set_new(meta, "images_crc32", json_string("ABCDEF01"));
}
static void images_crc_number(json_t *meta)
{
    json_object_set_new(meta, "images_crc32", json_integer(12345678));
}

/* A checkpoint from before the fingerprint resumes on any data of its
   size, and the state takes the fingerprint of the data it goes on with;
   a malformed fingerprint is refused at load. */
static void old_checkpoint_resumes_unchecked(void)
{
    cnn_dataset *ds = bands(60, 4), *other = bands(60, 5);
    const char *ck = tmp_path("new.ckpt");
    checkpoint_on(ds, ck);
    const char *old = edit_metadata(ck, "old.ckpt", drop_fingerprint);
    char msg[600];
    CHECK(old && resume_check(old, other, msg, sizeof msg) == CNN_OK, "old checkpoint "
          "refused: %s", msg);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(old, &m, &s) == CNN_OK, "%s", cnn_last_error());
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 2;
    cfg.batch = 8;
    cfg.threads = 1;
    cfg.max_steps = 1;
    cfg.state = s;
    CHECK(cnn_train(m, other, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
    const char *again = tmp_path("again.ckpt");
    CHECK(cnn_checkpoint_save(m, s, again) == CNN_OK, "%s", cnn_last_error());
    CHECK(resume_check(again, other, msg, sizeof msg) == CNN_OK, "its new data: %s", msg);
    CHECK(resume_check(again, ds, msg, sizeof msg) == CNN_ERR_MISMATCH &&
          strstr(msg, "other data"), "after a resume on other data, the first data: %s",
          msg);
    cnn_model_free(m);
    cnn_train_state_free(s);

    const struct {
        void (*edit)(json_t *);
        const char *message;
    } bad[] = {{drop_labels_crc, "has images_crc32 but no labels_crc32"},
               {images_crc_not_hex, "images_crc32 is not 8 lowercase hex digits"},
               {images_crc_upper, "images_crc32 is not 8 lowercase hex digits"},
               {images_crc_number, "images_crc32 is not 8 lowercase hex digits"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *path = edit_metadata(ck, "badfp.ckpt", bad[k].edit);
        m = NULL, s = NULL;
        int st = path ? cnn_checkpoint_load(path, &m, &s) : CNN_OK;
        CHECK(st == CNN_ERR_FORMAT && !m && !s && strstr(cnn_last_error(), bad[k].message),
              "case %zu: status %d: %s", k, st, cnn_last_error());
    }
    cnn_dataset_free(ds);
    cnn_dataset_free(other);
}

static void nonfinite_step_is_not_applied_and_named(void)
{
    cnn_dataset *ds = bands(120, 5);
    cnn_model *m = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_model_init(m, 3);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    /* Steps of about lr: weights of 1e15 overflow float within three layers. */
    cfg.lr = 1e15f;
    cfg.epochs = 5;
    cfg.threads = 2;
    int st = cnn_train(m, ds, &cfg, NULL);
    const char *msg = cnn_last_error();
    CHECK(st == CNN_ERR_NONFINITE, "status %d: %s", st, msg);
    CHECK(strstr(msg, "step ") && (strstr(msg, "conv") || strstr(msg, "dense")),
          "no step or layer named: %s", msg);
    const float *p = cnn_model_params(m);
    size_t bad = 0;
    for (size_t i = 0; i < cnn_model_param_count(m); i++)
        bad += !isfinite(p[i]);
    CHECK(bad == 0, "%zu weights are not finite after the guard", bad);
    cnn_model_free(m);
    cnn_dataset_free(ds);
}

/* The checkpoint callback's calls: (global step, checkpoint_due, val_best). */
static long calls[32][3];
static int ncalls;

static int record_call(const cnn_progress *p, void *user)
{
    (void)user;
    if (ncalls < 32) {
        calls[ncalls][0] = p->global_step;
        calls[ncalls][1] = p->checkpoint_due;
        calls[ncalls][2] = p->val_best;
    }
    ncalls++;
    return CNN_OK;
}

/* A new best test accuracy reaches the checkpoint callback on its own
   step, not only when the schedule falls there. */
static void best_reaches_the_callback_off_schedule(void)
{
    cnn_dataset *ds = bands(120, 5), *val = bands(60, 9);
    cnn_model *m = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_model_init(m, 3);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 2;
    cfg.batch = 12; /* 10 steps an epoch */
    cfg.threads = 2;
    cfg.validation = val;
    cfg.checkpoint = record_call;
    cfg.checkpoint_steps = 7;
    ncalls = 0;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "train: %s", cnn_last_error());
    /* Step 7 and 14 on the schedule; step 10, the first validation, is a
       best by definition; step 20's validation may or may not be. */
    CHECK(ncalls >= 3 && ncalls <= 4, "%d calls", ncalls);
    CHECK(calls[0][0] == 7 && calls[0][1] == 1 && calls[0][2] == 0, "first call: step %ld "
          "due %ld best %ld", calls[0][0], calls[0][1], calls[0][2]);
    CHECK(calls[1][0] == 10 && calls[1][1] == 0 && calls[1][2] == 1, "second call: step %ld "
          "due %ld best %ld", calls[1][0], calls[1][1], calls[1][2]);
    CHECK(calls[2][0] == 14 && calls[2][1] == 1, "third call: step %ld due %ld", calls[2][0],
          calls[2][1]);
    CHECK(ncalls == 3 || (calls[3][0] == 20 && calls[3][1] == 0 && calls[3][2] == 1),
          "fourth call: step %ld due %ld best %ld", calls[3][0], calls[3][1], calls[3][2]);
    cnn_model_free(m);
    cnn_dataset_free(ds);
    cnn_dataset_free(val);
}

/* A non-finite first step of an epoch leaves the state where it was
   before that epoch's shuffle: its checkpoint is the same file. */
static void nonfinite_first_step_keeps_the_shuffle(void)
{
    cnn_dataset *ds = bands(120, 5);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    cnn_model_create(SPEC, 10, 10, 1, 3, &m);
    cnn_model_init(m, 3);
    cnn_train_state_create(&s);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.epochs = 2;
    cfg.max_steps = 10; /* the first epoch */
    cfg.batch = 12;
    cfg.threads = 2;
    cfg.state = s;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "epoch 1: %s", cnn_last_error());
    const char *before = tmp_path("before.ckpt"), *after = tmp_path("after.ckpt");
    CHECK(cnn_checkpoint_save(m, s, before) == CNN_OK, "save: %s", cnn_last_error());
    /* A NaN in the last bias reaches the loss (one in the first layer
       would be hidden by ReLU's max). */
    const size_t last = cnn_model_param_count(m) - 1;
    float *p = cnn_model_params(m), kept = p[last];
    p[last] = NAN;
    cfg.max_steps = 0;
    int st = cnn_train(m, ds, &cfg, NULL);
    CHECK(st == CNN_ERR_NONFINITE, "status %d: %s", st, cnn_last_error());
    p[last] = kept;
    CHECK(cnn_checkpoint_save(m, s, after) == CNN_OK, "save: %s", cnn_last_error());
    CHECK(files_equal(before, after), "the state changed in a step that was not applied");
    cnn_model_free(m);
    cnn_train_state_free(s);
    cnn_dataset_free(ds);
}

/* At an epoch's first step the diagnosis of a non-finite loss looks at the
   step's own images, in the order as shuffled (the shuffle is undone only
   after it): batch 1, every image black but the one the shuffle puts
   first, and a dense layer whose weights overflow on any lit pixel. */
static void nonfinite_first_step_names_the_shuffled_image(void)
{
    enum { N = 40 };
    cnn_dataset *ds = bands(N, 6);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    cnn_model_create("flatten,dense:3,softmax", 10, 10, 1, 3, &m);
    cnn_train_state_create(&s);
    cnn_train_config cfg;
    cnn_train_config_default(&cfg);
    cfg.batch = 1, cfg.threads = 1, cfg.state = s;
    memset(ds->images, 0, (size_t)N * 100);
    /* the image the first epoch's shuffle puts first: a state after one
       step of training on black images holds the shuffled order */
    cfg.max_steps = 1;
    CHECK(cnn_train(m, ds, &cfg, NULL) == CNN_OK, "%s", cnn_last_error());
    int first = (int)s->order[0];
    CHECK(first != 0, "the shuffle left image 0 first: choose another seed");
    cnn_train_state_free(s);
    cnn_train_state_create(&s);
    cfg.state = s, cfg.max_steps = 0;
    ds->images[(size_t)first * 100 + 55] = 255; /* two lit pixels: 2 * 3e38 overflows */
    ds->images[(size_t)first * 100 + 56] = 255;
    float *p = cnn_model_params(m);
    for (int i = 0; i < 300; i++)
        p[i] = 3e38f;
    int st = cnn_train(m, ds, &cfg, NULL);
    char want[64];
    snprintf(want, sizeof want, "the output of dense1 (image %d)", first);
    CHECK(st == CNN_ERR_NONFINITE && strstr(cnn_last_error(), want), "status %d: '%s' "
          "lacks '%s'", st, cnn_last_error(), want);
    cnn_model_free(m);
    cnn_train_state_free(s);
    cnn_dataset_free(ds);
}

/* ------------------------------------------------------- through ./cnn */

static const char *cnn_bin(void)
{
    const char *b = getenv("CNN_BIN");
    return b && *b ? b : "./cnn";
}

/* Start ./cnn with args (NULL-terminated), output to files in the temp dir;
   ignoring signal `ignored` (0: none) as a background job does SIGINT. */
static pid_t spawn_ignoring(const char *const *args, int ignored)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* The defaults first: a runner started as a background job has
           SIGINT ignored, which the child would keep. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (ignored)
            signal(ignored, SIG_IGN); /* kept across exec */
        int out = open(tmp_path("bg.out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(tmp_path("bg.err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, 1);
        dup2(err, 2);
        const char *argv[40];
        int n = 0;
        argv[n++] = cnn_bin();
        for (; *args && n < 39; args++)
            argv[n++] = *args;
        argv[n] = NULL;
        execv(cnn_bin(), (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static pid_t spawn(const char *const *args) { return spawn_ignoring(args, 0); }

static void read_bg_err(char *err, size_t size)
{
    err[0] = 0;
    FILE *f = fopen(tmp_path("bg.err"), "r");
    if (f) {
        size_t len = fread(err, 1, size - 1, f);
        err[len] = 0;
        fclose(f);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait (up to ~60 s) until path exists or the child is gone. */
static int wait_for_file(const char *path, pid_t pid)
{
    for (int i = 0; i < 6000; i++) {
        if (access(path, F_OK) == 0)
            return 1;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 0;
        sleep_ms(10);
    }
    return 0;
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void signal_writes_checkpoint_and_resume_matches(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char ref[600], got[600], ck[600], args[2400];
    snprintf(ref, sizeof ref, "%s", tmp_path("ref.safetensors"));
    snprintf(got, sizeof got, "%s", tmp_path("resumed.safetensors"));
    snprintf(ck, sizeof ck, "%s", tmp_path("sig.ckpt"));
    /* The reference: one uninterrupted epoch of the logreg model (fast). */
    snprintf(args, sizeof args, "train --data %s --model logreg --epochs 2 --threads 2 "
             "--quiet --save %s", dir, ref);
    CHECK(test_cnn(args) == 0, "reference run: %s", test_err);
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; k++) {
        unlink(ck);
        const char *a[] = {"train", "--data", dir, "--model", "logreg", "--epochs", "2",
                           "--threads", "2", "--quiet", "--checkpoint", ck,
                           "--checkpoint-every", "40", NULL};
        pid_t pid = spawn(a);
        int started = wait_for_file(ck, pid);
        CHECK(started, "no checkpoint appeared");
        kill(pid, sigs[k]);
        int status = 0;
        waitpid(pid, &status, 0);
        char err[4096];
        read_bg_err(err, sizeof err);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        CHECK(code == 128 + sigs[k], "exit %d after signal %d: %s", code, sigs[k], err);
        CHECK(strstr(err, "cnn train --resume") && strstr(err, ck), "no resume hint: %s", err);
        snprintf(args, sizeof args, "train --data %s --resume %s --quiet --save %s", dir, ck,
                 got);
        CHECK(test_cnn(args) == 0, "resume: %s", test_err);
        CHECK(files_equal(ref, got), "resumed weights differ from the uninterrupted run "
                                     "(signal %d)", sigs[k]);
    }
}

/* A SIGINT ignored on entry (a background job) stays ignored; SIGTERM
   still checkpoints. */
static void ignored_sigint_stays_ignored(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char ck[600];
    snprintf(ck, sizeof ck, "%s", tmp_path("bg.ckpt"));
    unlink(ck);
    const char *a[] = {"train", "--data", dir, "--model", "logreg", "--epochs", "3",
                       "--threads", "2", "--quiet", "--checkpoint", ck,
                       "--checkpoint-every", "40", NULL};
    pid_t pid = spawn_ignoring(a, SIGINT);
    CHECK(wait_for_file(ck, pid), "no checkpoint appeared");
    kill(pid, SIGINT);
    sleep_ms(300);
    int status = 0;
    CHECK(waitpid(pid, &status, WNOHANG) == 0, "an ignored SIGINT stopped the run");
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    char err[4096];
    read_bg_err(err, sizeof err);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECK(code == 143 && strstr(err, "stopped by SIGTERM"), "exit %d: %s", code, err);
}

/* With --validate, the best checkpoint is written when the best happens,
   even when the schedule does not fall on that step. */
static void best_checkpoint_is_written_off_schedule(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char args[1600], ck[600], best[600];
    snprintf(ck, sizeof ck, "%s", tmp_path("sched.ckpt"));
    snprintf(best, sizeof best, "%s", tmp_path("sched.best.ckpt"));
    unlink(best);
    snprintf(args, sizeof args, "train --data %s --model logreg --epochs 1 --quiet "
             "--validate --checkpoint %s --checkpoint-every 5e", dir, ck);
    CHECK(test_cnn(args) == 0, "train: %s", test_err);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(best, &m, &s) == CNN_OK, "best: %s", cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    for (int ch; f && (ch = fgetc(f)) != EOF;)
        n += ch == '\n';
    if (f)
        fclose(f);
    return f ? n : -1;
}

/* A resume that cannot go on (another batch size) fails before it cuts
   the metrics log back to the checkpoint. */
static void refused_resume_leaves_the_log(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char args[4096], ck[600], ck3[600], log[600];
    snprintf(ck, sizeof ck, "%s", tmp_path("log.ckpt"));
    snprintf(ck3, sizeof ck3, "%s", tmp_path("log3.ckpt"));
    snprintf(log, sizeof log, "%s", tmp_path("resume-log.csv"));
    unlink(log);
    snprintf(args, sizeof args, "train --data %s --model logreg --steps 3 --quiet "
             "--checkpoint %s --log %s --log-every 1", dir, ck, log);
    CHECK(test_cnn(args) == 0, "first 3 steps: %s", test_err);
    snprintf(args, sizeof args, "cp '%s' '%s'", ck, ck3);
    CHECK(system(args) == 0, "%s failed", args);
    snprintf(args, sizeof args, "train --data %s --resume %s --steps 3 --quiet --log %s "
             "--log-every 1", dir, ck, log);
    CHECK(test_cnn(args) == 0, "next 3 steps: %s", test_err);
    long lines = count_lines(log);
    CHECK(lines == 7, "%ld lines in the log after 6 steps", lines);
    snprintf(args, sizeof args, "train --data %s --resume %s --batch 64 --quiet --log %s",
             dir, ck3, log);
    int rc = test_cnn(args);
    CHECK(rc == 1 && strstr(test_err, "batch"), "exit %d: %s", rc, test_err);
    CHECK(count_lines(log) == lines, "the log went from %ld to %ld lines", lines,
          count_lines(log));
}

static void lr_1e6_stops_and_keeps_last_checkpoint(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char args[1600], ck[600];
    snprintf(ck, sizeof ck, "%s", tmp_path("nan.ckpt"));
    /* A sane first step is checkpointed, then the learning rate is huge. */
    snprintf(args, sizeof args, "train --data %s --steps 1 --quiet --checkpoint %s", dir, ck);
    CHECK(test_cnn(args) == 0, "first step: %s", test_err);
    snprintf(args, sizeof args, "train --data %s --resume %s --lr 1e6 --quiet "
             "--checkpoint-every 1", dir, ck);
    int rc = test_cnn(args);
    CHECK(rc == 1, "exit %d", rc);
    CHECK(strstr(test_err, "not finite at step") && strstr(test_err, ck),
          "message: %s", test_err);
    cnn_model *m = NULL;
    cnn_train_state *s = NULL;
    CHECK(cnn_checkpoint_load(ck, &m, &s) == CNN_OK, "last checkpoint: %s", cnn_last_error());
    cnn_model_free(m);
    cnn_train_state_free(s);
}

static void sigkill_during_checkpoints_leaves_a_loadable_one(void)
{
    const char *dir = test_mnist_dir();
    if (!dir || test_cnn("--version") == -1) {
        test_skip("needs ./cnn and MNIST");
        return;
    }
    char ck[600];
    snprintf(ck, sizeof ck, "%s", tmp_path("kill.ckpt"));
    /* A checkpoint after every step: most of the time is spent writing one. */
    for (int k = 0; k < 6; k++) {
        unlink(ck);
        const char *a[] = {"train", "--data", dir, "--model", "seed-dense", "--epochs", "1",
                           "--threads", "1", "--quiet", "--checkpoint", ck,
                           "--checkpoint-every", "1", NULL};
        pid_t pid = spawn(a);
        CHECK(wait_for_file(ck, pid), "no checkpoint appeared");
        sleep_ms(13 + 37 * k);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cnn_model *m = NULL;
        cnn_train_state *s = NULL;
        CHECK(cnn_checkpoint_load(ck, &m, &s) == CNN_OK, "after SIGKILL %d: %s", k,
              cnn_last_error());
        cnn_model_free(m);
        cnn_train_state_free(s);
    }
}

TEST_TABLE(checkpoint,
           {"resume_mid_epoch_is_bitwise_identical", resume_mid_epoch_is_bitwise_identical},
           {"resume_is_bitwise_for_each_optimizer_and_schedule",
            resume_is_bitwise_for_each_optimizer_and_schedule},
           {"checkpoint_holds_the_declared_state", checkpoint_holds_the_declared_state},
           {"c3ed008_checkpoint_resumes", c3ed008_checkpoint_resumes},
           {"augment_and_smoothing_reach_the_checkpoint",
            augment_and_smoothing_reach_the_checkpoint},
           {"corrupt_and_foreign_files_are_refused", corrupt_and_foreign_files_are_refused},
           {"resume_on_other_data_is_refused", resume_on_other_data_is_refused},
           {"fingerprint_is_the_crc32_of_the_bytes", fingerprint_is_the_crc32_of_the_bytes},
           {"mismatch_says_what_differs", mismatch_says_what_differs},
           {"old_checkpoint_resumes_unchecked", old_checkpoint_resumes_unchecked},
           {"nonfinite_step_is_not_applied_and_named", nonfinite_step_is_not_applied_and_named},
           {"best_reaches_the_callback_off_schedule", best_reaches_the_callback_off_schedule},
           {"nonfinite_first_step_keeps_the_shuffle", nonfinite_first_step_keeps_the_shuffle},
           {"nonfinite_first_step_names_the_shuffled_image",
            nonfinite_first_step_names_the_shuffled_image},
           {"signal_writes_checkpoint_and_resume_matches",
            signal_writes_checkpoint_and_resume_matches},
           {"ignored_sigint_stays_ignored", ignored_sigint_stays_ignored},
           {"best_checkpoint_is_written_off_schedule", best_checkpoint_is_written_off_schedule},
           {"refused_resume_leaves_the_log", refused_resume_leaves_the_log},
           {"lr_1e6_stops_and_keeps_last_checkpoint", lr_1e6_stops_and_keeps_last_checkpoint},
           {"sigkill_during_checkpoints_leaves_a_loadable_one",
            sigkill_during_checkpoints_leaves_a_loadable_one})
