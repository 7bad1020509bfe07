/*
 * optimizer.h — the optimizer interface: one entry per optimizer in one
 * list (list.c), each in a file of its own (adam.c, adamw.c, sgd.c).
 *
 * An optimizer declares its per-parameter state tensors by name (Adam: "m"
 * and "v"; SGD with momentum: "velocity"; plain SGD: none).  The training
 * state allocates one block of the model's size for each, and a checkpoint
 * stores each as "<optimizer>.<state>.<tensor>" (Adam's "adam.m.conv1.weight").
 * Its update works on one slice [begin, end) of the parameter block, after
 * the trainer has made the step's gradient in grad (train_grads.c), and
 * clears grad on that slice.
 */
#ifndef CNN_OPTIM_OPTIMIZER_H
#define CNN_OPTIM_OPTIMIZER_H

#include <stddef.h>

/* Most state tensors an optimizer may declare. */
#define CNN_OPTIM_MAX_STATE 4

/* Every optimizer's hyper-parameters (each uses the ones it needs). */
typedef struct cnn_optim_params {
    float lr;            /* base learning rate, before the schedule */
    float beta1, beta2, eps;
    float momentum;      /* sgd */
    int nesterov;        /* sgd, with momentum > 0 */
    float weight_decay;  /* adamw: decoupled; sgd: added to the gradient */
} cnn_optim_params;

/* One step's update of a slice: step t (1-based, the step being taken) at
   the scheduled learning rate lr (schedule.h; the base lr itself, as a
   double, under the constant schedule). */
typedef struct cnn_optim_step {
    const cnn_optim_params *p;
    long t;
    double lr;
    int stream;          /* a hint: other threads read these parameters
                            next (a big layer's rows); an optimizer may
                            write them with non-temporal stores.  The
                            values never depend on it. */
} cnn_optim_step;

typedef struct cnn_optimizer {
    const char *name;    /* as --optimizer and the checkpoint name it */
    /* Its state tensors' names for these settings into names (at most
       CNN_OPTIM_MAX_STATE); returns how many. */
    int (*states)(const cnn_optim_params *p, const char **names);
    /* The settings it refuses: NULL when fine, else why (a static
       string). */
    const char *(*check)(const cnn_optim_params *p);
    /* params[j] for j in [begin, end) from grad[j] (then cleared) and the
       state blocks state[0..states-1], in the order states() names them. */
    void (*update)(const cnn_optim_step *s, float *params, float *grad,
                   float *const *state, size_t begin, size_t end);
    /* The weight decay the command uses when --weight-decay is not given
       (the library's default is 0 for every optimizer). */
    float default_weight_decay;
} cnn_optimizer;

extern const cnn_optimizer cnn_optim_adam, cnn_optim_adamw, cnn_optim_sgd;

/* The list, in the order `cnn train --help` names them; NULL-terminated.
   The first is the default. */
extern const cnn_optimizer *const cnn_optimizers[];

/* The optimizer called name (NULL or "": the default, Adam); NULL when
   none is. */
const cnn_optimizer *cnn_optimizer_find(const char *name);

/* The listed names for a message: "adam, adamw or sgd". */
void cnn_optimizer_names(char *buf, size_t size);

/* Keras's Adam step for the slice, shared by adam.c and adamw.c:
   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); then with g = grad[j]
   (cleared): m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
   p -= lr_t * m / (sqrt(v) + eps). */
void cnn_adam_slice(const cnn_optim_step *s, float *params, float *grad, float *m, float *v,
                    size_t begin, size_t end);

/* Shared by adam and adamw: the state tensors "m" and "v"; the check of
   beta1, beta2, eps and the absence of sgd's settings (NULL when fine). */
int cnn_adam_states(const cnn_optim_params *p, const char **names);
const char *cnn_adam_check_common(const cnn_optim_params *p);

#endif /* CNN_OPTIM_OPTIMIZER_H */
