/*
 * schedule.h — learning-rate schedules: one entry per schedule in one list
 * (schedule.c).  A schedule is a pure function of the step (0-based: the
 * steps taken before the one it is for), the run's total steps (epochs x
 * steps per epoch) and the steps per epoch, so a resumed run, which keeps
 * its settings in the training state, follows the same curve.
 */
#ifndef CNN_OPTIM_SCHEDULE_H
#define CNN_OPTIM_SCHEDULE_H

#include <stddef.h>

struct cnn_schedule;

/* A schedule with its settings, as the training state and checkpoint keep
   it. */
typedef struct cnn_schedule_params {
    const struct cnn_schedule *kind;   /* NULL: constant */
    int every;        /* step: epochs between multiplications */
    float factor;     /* step: the multiplier */
    long warmup;      /* steps of linear warmup from lr/warmup to lr (0: none) */
} cnn_schedule_params;

typedef struct cnn_schedule {
    const char *name;
    int warmup_ok;    /* 1: --warmup goes with it */
    int uses_total;   /* 1: its curve depends on the run's length (epochs) */
    /* Its settings after "name:" (NULL when none were given) into p;
       NULL when fine, else what it expects (static). */
    const char *(*parse)(const char *args, cnn_schedule_params *p);
    /* The learning rate at step s (0-based) of total, before warmup. */
    double (*lr)(const cnn_schedule_params *p, double base, long s, long total, long spe);
} cnn_schedule;

/* The list; NULL-terminated, the first (constant) the default. */
extern const cnn_schedule *const cnn_schedules[];

/* The warmup in steps: warmup_epochs epochs of spe steps, or warmup_steps. */
long cnn_schedule_warmup_steps(int warmup_epochs, long warmup_steps, long spe);

/* Parse "name[:settings]" (NULL or "": constant) into p, warmup left as
   it is; NULL when fine, else the message (static storage). */
const char *cnn_schedule_parse(const char *text, cnn_schedule_params *p);

/* The canonical text of p ("constant", "step:2:0.5", "cosine"). */
void cnn_schedule_format(const cnn_schedule_params *p, char *buf, size_t size);

/* The learning rate of step s (0-based) of a run of total steps, with
   warmup: base itself under the constant schedule without warmup. */
double cnn_schedule_lr(const cnn_schedule_params *p, double base, long s, long total,
                       long spe);

#endif /* CNN_OPTIM_SCHEDULE_H */
