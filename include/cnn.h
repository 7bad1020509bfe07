/*
 * cnn.h — the whole public API of the cnn training engine.
 *
 * cnn trains small convolutional networks on multicore CPUs.  A model is
 * built from a one-line spec string, trained by an OpenMP batch-parallel
 * trainer (Adam by default; AdamW or SGD, with an LR schedule), evaluated on
 * a labelled data set and saved to or loaded from a safetensors file.
 *
 * Conventions
 *   - Every function that can fail returns a status code (cnn_status); CNN_OK
 *     is zero, every error is negative.  On error, cnn_last_error() returns a
 *     one-line, human-readable message naming the problem (and the file, when
 *     there is one).  The library never prints to stdout and never exits.
 *   - Activations are NHWC float32; conv weights [kh][kw][cin][cout] and dense
 *     weights [in][out], as Keras stores them.
 *   - Objects are opaque; each has a create and a free function.  Free
 *     functions accept NULL.
 */
#ifndef CNN_H
#define CNN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header: MAJOR.MINOR.PATCH.  The shared library's
   soname carries the major number (libcnn.so.0); cnn_version() gives the
   version of the library actually linked, which a program may compare. */
#define CNN_VERSION_MAJOR 0
#define CNN_VERSION_MINOR 1
#define CNN_VERSION_PATCH 0
#define CNN_VERSION "0.1.0"

/**
 * The version of the library linked in, as CNN_VERSION spells it.
 * @return a static string, e.g. "0.1.0"; never NULL
 */
const char *cnn_version(void);

/* Status codes.  Zero is success; every error is negative. */
typedef enum cnn_status {
    CNN_OK = 0,
    CNN_ERR_ARG = -1,         /* invalid argument or option value */
    CNN_ERR_NOMEM = -2,       /* memory allocation failed */
    CNN_ERR_IO = -3,          /* a file could not be opened, read or written */
    CNN_ERR_FORMAT = -4,      /* a file's contents are malformed or truncated */
    CNN_ERR_SPEC = -5,        /* the model spec string is invalid */
    CNN_ERR_MISMATCH = -6,    /* data or weights do not fit the model */
    CNN_ERR_UNSUPPORTED = -7, /* valid request this build or CPU cannot do */
    CNN_ERR_NONFINITE = -8,   /* training produced a NaN or infinity */
    CNN_ERR_CANCELLED = -9    /* training stopped by cnn_train_config.cancel */
} cnn_status;

/**
 * Short name of a status code ("ok", "invalid argument", ...).
 * @param status a cnn_status value
 * @return a static string, never NULL
 */
const char *cnn_status_str(int status);

/**
 * Message describing the last error raised on the calling thread.
 * @return a thread-local string; "" when no error has been raised
 */
const char *cnn_last_error(void);

/* ------------------------------------------------------------------ data */

/* A labelled image set held as uint8 pixels, NHWC.  Made by the loaders
   below or by cnn_dataset_from_memory; the library only reads it. */
typedef struct cnn_dataset {
    int count;             /* number of images */
    int height, width, channels;
    int classes;           /* 1 + the largest label, or more */
    uint8_t *images;       /* count * height * width * channels bytes */
    uint8_t *labels;       /* count bytes */
    int borrowed;          /* 1: images and labels belong to the caller and
                              cnn_dataset_free leaves them; 0: the data set
                              owns them (the loaders' and a copy's) */
} cnn_dataset;

/* cnn_dataset_from_memory's flags. */
#define CNN_DATASET_COPY 0   /* copy the caller's buffers */
#define CNN_DATASET_BORROW 1 /* keep pointers to the caller's buffers */

/**
 * A data set over images and labels in the caller's memory.
 * Ownership: with CNN_DATASET_COPY the data set gets its own copies, so
 * the caller may change or free its buffers as soon as the call returns,
 * and cnn_dataset_free frees the copies.  With CNN_DATASET_BORROW nothing
 * is copied: the data set points at the caller's buffers (borrowed = 1),
 * which must stay valid and unchanged until cnn_dataset_free, which frees
 * only the cnn_dataset itself and never the caller's buffers.
 * @param images count * height * width * channels bytes, NHWC (pixel
 *        values 0..255; training and evaluation divide them by 255)
 * @param labels count bytes, each below classes
 * @param count number of images, at least 1
 * @param height,width,channels the shape of one image, each at least 1
 * @param classes the class count, 1..256; 0 for 1 + the largest label
 * @param flags CNN_DATASET_COPY or CNN_DATASET_BORROW
 * @param out receives the data set; freed with cnn_dataset_free
 * @return CNN_OK; CNN_ERR_ARG (NULL pointer, a count, shape, class count
 *         or flag out of range, an image larger than INT_MAX values);
 *         CNN_ERR_MISMATCH (a label not below classes, the message naming
 *         its index); CNN_ERR_NOMEM
 */
int cnn_dataset_from_memory(const uint8_t *images, const uint8_t *labels, int count,
                            int height, int width, int channels, int classes,
                            int flags, cnn_dataset **out);

/**
 * Load an IDX image file and its label file (raw or gzip-compressed; a
 * gzip file may hold several members, as `cat a.gz b.gz` gives, each
 * checked against its own CRC and size trailer).
 * Only regular files are read: a directory, FIFO, socket or device is
 * refused before any read (a FIFO cannot block).  Validates magic
 * numbers, dimension counts, file sizes against headers before allocating
 * (for gzip: deflate's maximal ratio, and a buffer that grows with the
 * data when the last trailer does not give the size), equal counts, and
 * labels below max_classes.
 * @param images_path path of an idx3-ubyte file (optionally .gz)
 * @param labels_path path of an idx1-ubyte file (optionally .gz)
 * @param max_classes labels must be below this; 0 for no limit (256)
 * @param out receives the data set; freed with cnn_dataset_free
 * @return CNN_OK; CNN_ERR_IO (missing, unreadable, or not a regular file:
 *         the message says what it is); CNN_ERR_FORMAT (malformed,
 *         truncated or corrupt, bytes after the data or after the last
 *         gzip member); CNN_ERR_MISMATCH; CNN_ERR_NOMEM
 */
int cnn_dataset_load_idx(const char *images_path, const char *labels_path,
                         int max_classes, cnn_dataset **out);

/**
 * Load one split of a data directory, MNIST-style or CIFAR-10 binary.
 * MNIST: "train" reads train-images-idx3-ubyte and train-labels-idx1-ubyte,
 * "test" reads t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.
 * CIFAR-10 (when the directory holds any of its batch files and none of
 * MNIST's): "train" reads data_batch_1.bin ... data_batch_5.bin in order,
 * "test" reads test_batch.bin; each file is whole 3,073-byte records (a
 * label 0..9, then the red, green and blue 32x32 planes), any non-zero
 * number of them, and the images come out 32x32x3 NHWC.  A missing batch
 * file is refused by name, as is a directory holding both sets.  Each name
 * may also carry a .gz suffix.  Only regular files are read.
 * @param dir directory holding the files
 * @param split "train" or "test"
 * @param max_classes as for cnn_dataset_load_idx
 * @param out receives the data set
 * @return as cnn_dataset_load_idx; CNN_ERR_IO when the directory or a file
 *         is missing, or the directory holds both MNIST and CIFAR-10 files
 */
int cnn_dataset_load_dir(const char *dir, const char *split, int max_classes,
                         cnn_dataset **out);

/**
 * Free a data set (NULL is fine): the cnn_dataset, and its images and
 * labels unless borrowed is set.  Meant for data sets the library made
 * (a struct on the caller's stack must not be passed here).
 */
void cnn_dataset_free(cnn_dataset *ds);

/* ----------------------------------------------------------------- model */

typedef struct cnn_model cnn_model;

/**
 * Expand a preset name ("seed", "seed-dense", "logreg", "bn", "bn-fashion",
 * "cifar") to its spec string.
 * @param name_or_spec a preset name or a spec
 * @return the preset's spec, or name_or_spec itself when it is no preset
 */
const char *cnn_model_preset(const char *name_or_spec);

/**
 * The presets' names, in order.
 * @param i 0, 1, ...
 * @return preset i's name, or NULL past the last
 */
const char *cnn_model_preset_name(int i);

/**
 * Build a model from a spec string for a given input shape and class count.
 * Spec grammar (see README): layers separated by commas, e.g.
 *   "conv3x3:32:same,relu,conv3x3s2:64:same,relu,flatten,dense:10,softmax".
 * The model's parameters are zero until cnn_model_init or a load.  Same as
 * cnn_model_describe followed by cnn_model_alloc: a parameter block larger
 * than the machine's physical memory is refused before it is allocated.
 * @param spec spec string or preset name
 * @param height,width,channels input image shape
 * @param classes number of output classes, which the last dense layer must
 *        match; 0 takes the last dense layer's width
 * @param out receives the model; freed with cnn_model_free
 * @return CNN_OK, CNN_ERR_SPEC, CNN_ERR_ARG, CNN_ERR_NOMEM (also for a
 *         parameter block beyond physical memory, the message naming both
 *         sizes); CNN_ERR_ARG or CNN_ERR_UNSUPPORTED when $CNN_ISA names an
 *         unusable kernel set
 */
int cnn_model_create(const char *spec, int height, int width, int channels,
                     int classes, cnn_model **out);

/**
 * Build a model's description only: its layers, shapes, parameter counts
 * and kernel set, with no parameter block, so it costs a few kilobytes
 * whatever the spec.  Such a model serves cnn_model_summary,
 * cnn_model_layer, cnn_model_layer_count, cnn_model_param_count,
 * cnn_model_spec, cnn_model_classes and cnn_model_set_isa;
 * cnn_model_params gives NULL and cnn_model_save refuses it until it has
 * parameters: from cnn_model_alloc, cnn_model_init or cnn_model_load
 * (each allocates the block first).  cnn_train, cnn_evaluate and
 * cnn_predict need a model with parameters.
 * @param spec,height,width,channels,classes,out as cnn_model_create
 * @return as cnn_model_create
 */
int cnn_model_describe(const char *spec, int height, int width, int channels,
                       int classes, cnn_model **out);

/**
 * Give a described model its parameter block, zeroed (nothing to do when
 * it has one).  The bound: the block (4 bytes a parameter, each tensor
 * aligned to 64 bytes) must not exceed the machine's physical memory,
 * sysconf(_SC_PHYS_PAGES) times the page size; a larger one is refused
 * before any allocation, with a message naming both sizes ("model needs
 * 145.4 GiB for its 39,032,913,930 parameters, more than this machine's
 * 23.5 GiB of memory").  The bound is on the parameters alone, so that
 * evaluation and prediction of any model that fits are possible; training
 * needs more blocks besides (the optimizer's state, e.g. Adam's two
 * moments; a gradient block a thread; repacked weights), allocated by cnn_train, which fails with
 * CNN_ERR_NOMEM when they cannot be had.
 * @return CNN_OK, CNN_ERR_NOMEM, CNN_ERR_ARG (NULL model)
 */
int cnn_model_alloc(cnn_model *m);

/** Free a model (NULL is fine). */
void cnn_model_free(cnn_model *m);

/**
 * Choose the kernel set a model runs on.  A new model uses $CNN_ISA when
 * set, else the best set the CPU supports (avx512, avx2, neon, scalar).
 * @param isa "avx512", "avx2", "neon", "scalar" (portable C) or "ref"
 *        (naive reference loops)
 * @return CNN_OK; CNN_ERR_ARG for an unknown name; CNN_ERR_UNSUPPORTED when
 *         the set is not in this build or the CPU lacks it
 */
int cnn_model_set_isa(cnn_model *m, const char *isa);

/**
 * Check a kernel set before any model is made: a name as for
 * cnn_model_set_isa, or NULL for the default ($CNN_ISA when set, whose
 * message then names CNN_ISA).
 * @return CNN_OK; CNN_ERR_ARG for an unknown name; CNN_ERR_UNSUPPORTED when
 *         the set is not in this build or the CPU lacks it
 */
int cnn_isa_check(const char *isa);

/** @return the name of the kernel set the model runs on */
const char *cnn_model_isa(const cnn_model *m);

/**
 * Initialise the parameters as Keras does: Glorot-uniform kernels, zero
 * biases, drawn from the engine's PRNG (PCG32, stream 1) seeded with seed.
 * A described model (cnn_model_describe) gets its parameter block first.
 * @return CNN_OK; CNN_ERR_NOMEM as cnn_model_alloc
 */
int cnn_model_init(cnn_model *m, uint64_t seed);

/** @return the number of trainable parameters */
size_t cnn_model_param_count(const cnn_model *m);

/** @return the number of non-trainable values (buffer tensors, saved and
 *  loaded with the weights but not optimized; 0 for today's kinds) */
size_t cnn_model_buffer_count(const cnn_model *m);

/** @return the canonical spec string of the model */
const char *cnn_model_spec(const cnn_model *m);

/** @return the number of output classes */
int cnn_model_classes(const cnn_model *m);

/**
 * Write a Keras-style summary table (layer, output shape, parameters,
 * totals: all, trainable, non-trainable) into buf.
 * @param buf destination, NUL-terminated on return when size > 0
 * @param size capacity of buf
 * @return the length the full text needs (excluding NUL), like snprintf
 */
size_t cnn_model_summary(const cnn_model *m, char *buf, size_t size);

/* One layer as cnn_model_layer describes it.  A relu that follows a conv
   or dense layer is fused into it (relu = 1) and is no layer of its own;
   elsewhere a relu is a layer.  The final softmax is not a layer. */
typedef struct cnn_layer_info {
    char name[24];        /* "conv1", "flatten1", "dense1", "relu1" */
    char type[16];        /* the kind's spec keyword: "conv", "flatten",
                             "dense", "relu" */
    char keras[24];       /* the Keras class it matches: "Conv2D", "Flatten",
                             "Dense", "ReLU" */
    char settings[80];    /* its settings in words, fused ReLU included,
                             e.g. "3x3 kernel, stride 2, same padding +
                             ReLU", "10 units"; "" when it has none */
    int kernel, stride;   /* conv: kernel size and stride; else 0 */
    int same;             /* conv: 1 for 'same' padding, 0 for 'valid' */
    int relu;             /* 1 when a ReLU is fused into its output */
    int flat_in, flat_out; /* 1 when its input / output is a vector */
    int in_h, in_w, in_c; /* input shape (a vector: 1 x 1 x n) */
    int out_h, out_w, out_c; /* output shape (a vector: 1 x 1 x n) */
    size_t params;        /* floats in all its tensors (weights, biases,
                             buffers) */
    size_t trainable;     /* of which trainable parameters */
} cnn_layer_info;

/** @return the number of layers (cnn_model_layer's indices) */
int cnn_model_layer_count(const cnn_model *m);

/**
 * Describe layer i (0-based, input to output).
 * @return CNN_OK, or CNN_ERR_ARG when i is out of range
 */
int cnn_model_layer(const cnn_model *m, int i, cnn_layer_info *out);

/**
 * The flat parameter block: every tensor of the model, one after another.
 * Order: layer by layer from input to output (cnn_model_layer's order),
 * and within a layer its tensors in this order:
 *   conv:  weight [k][k][in_c][out_c], then bias [out_c];
 *   dense: weight [in][out], then bias [out];
 *   bn:    gamma [c], beta [c] (trainable), then moving_mean [c] and
 *          moving_variance [c] (buffers: saved and loaded, not trained);
 *   relu, maxpool, avgpool, gap, flatten, dropout: no tensors.
 * Each tensor is row-major float32 in the shape shown (the safetensors
 * file holds the same tensors under "<layer>.<tensor>" names, e.g.
 * "conv1.weight", "bn1.moving_mean").  Each tensor starts on a 64-byte
 * boundary: tensor t starts at float offset
 *   off(t) = off(t-1) + count(t-1) rounded up to a multiple of 16,
 * off(0) = 0, and the block (cnn_model_params_size floats) ends at the
 * last tensor's end rounded the same way.  The floats between tensors are
 * padding that no layer reads.  The block itself is 64-byte aligned.  A
 * dense layer after flatten reads the image in NHWC order: its weight row
 * for pixel (y, x), channel ch is (y * width + x) * channels + ch.
 * @return a pointer to the block; NULL for a model that is only described
 *         (cnn_model_describe)
 */
float *cnn_model_params(cnn_model *m);

/**
 * The length of the flat parameter block in floats: the trainable
 * parameters, the buffer values and the padding between tensors (so at
 * least cnn_model_param_count + cnn_model_buffer_count).
 */
size_t cnn_model_params_size(const cnn_model *m);

/**
 * Save the parameters as safetensors (tensor names in the README),
 * atomically: a temporary file is written, synced and renamed.
 * @return CNN_OK, CNN_ERR_IO, CNN_ERR_NOMEM, CNN_ERR_ARG (NULL argument,
 *         or a model without parameters: only described)
 */
int cnn_model_save(const cnn_model *m, const char *path);

/**
 * Load parameters from a safetensors file written for the same model.
 * path must be a regular file (a FIFO, device or directory is refused
 * without reading or blocking).  Every tensor's name, dtype, shape and
 * offsets are checked, then both checksums, then every value: a NaN or an
 * infinity is refused (CNN_ERR_FORMAT, the message naming the file, the
 * tensor and the first bad index, e.g. "w.safetensors: tensor
 * conv1.weight holds NaN at index 17"; FORMAT, not CNN_ERR_NONFINITE,
 * which reports training that diverged).  Nothing is changed in the model
 * unless the whole file is valid.  A described model (cnn_model_describe)
 * gets its parameter block first, once the file is known to hold enough
 * bytes for it (CNN_ERR_MISMATCH if not).
 * @return CNN_OK, CNN_ERR_IO, CNN_ERR_FORMAT, CNN_ERR_MISMATCH, CNN_ERR_NOMEM,
 *         CNN_ERR_ARG (NULL argument)
 */
int cnn_model_load(cnn_model *m, const char *path);

/**
 * Create a model from a file written by cnn_model_save or
 * cnn_checkpoint_save: the spec and input shape come from the file's
 * metadata, the weights are loaded, the kernel set is the default one.
 * Before anything is allocated, the model the metadata declares is
 * checked against the file: its values (4 bytes each; in a checkpoint 4
 * more a trainable parameter for each of its optimizer's state tensors: 12
 * with Adam's moments, 4 with plain SGD) must fit in the file's data section,
 * else CNN_ERR_FORMAT naming the file and both sizes.  Values are checked
 * as cnn_model_load checks them (no NaN or infinity).
 * @param out receives the model; freed with cnn_model_free
 * @return as cnn_model_load and cnn_model_create; CNN_ERR_FORMAT when the
 *         metadata lacks the spec or input shape or declares a model the
 *         file cannot hold
 */
int cnn_model_open(const char *path, cnn_model **out);

/* ------------------------------------------------------------- training */

/* What the progress callback is told after each optimizer step. */
typedef struct cnn_progress {
    int epoch;            /* 1-based */
    int epochs;
    long step;            /* step within the epoch, 1-based */
    long steps_per_epoch;
    long global_step;     /* steps since training began: a run resumed from
                             a checkpoint goes on counting from it */
    double loss;          /* mean loss over the epoch so far */
    double accuracy;      /* accuracy over the epoch so far */
    double elapsed_s;     /* seconds since the epoch started */
    int epoch_done;       /* 1 on the epoch's last step */
    long images;          /* images seen in this epoch so far */
    double train_s;       /* training seconds since training began (a
                             resumed run goes on counting), without the
                             validation passes */
    int validated;        /* 1 when val_* hold this epoch's validation */
    double val_loss, val_accuracy;
    int val_best;         /* 1 when this validation's accuracy is the best of
                             the run so far (a resumed run included) */
    int checkpoint_due;   /* 1 when the checkpoint schedule falls on this step */
    int batch;            /* the configured batch size */
    long run_images;      /* images trained on by this call of cnn_train */
    double run_s;         /* its training seconds (no validation) */
} cnn_progress;

/*
 * Everything besides the weights that a run needs to go on exactly where it
 * stopped: the optimizer's state (Adam's moments, SGD's velocity) and step
 * count, the shuffling PRNG's state, the shuffled order of the current
 * epoch and the position in it, the epoch's running loss and accuracy, the
 * best validation accuracy so far, and the hyper-parameters it was started
 * with (the optimizer's and the schedule's included).  Pass one in cnn_train_config.state
 * to keep it; cnn_train then starts from it (fresh, or loaded from a
 * checkpoint) and leaves it at the point where training stopped.
 */
typedef struct cnn_train_state cnn_train_state;

/** Create an empty state (a run from step 0).  @return CNN_OK, CNN_ERR_NOMEM */
int cnn_train_state_create(cnn_train_state **out);

/** Free a state (NULL is fine). */
void cnn_train_state_free(cnn_train_state *s);

/* Where a state stands, and the settings of the run it belongs to. */
typedef struct cnn_train_state_info {
    long steps;           /* optimizer steps taken (0: fresh) */
    int epoch;            /* the epoch the next step belongs to, 1-based */
    long step;            /* steps of that epoch already taken */
    long steps_per_epoch;
    int epochs;           /* the run's total epochs */
    int batch, threads, shuffle;
    float lr, beta1, beta2, eps;
    const char *optimizer;  /* "adam", "adamw" or "sgd" (static storage) */
    float momentum;         /* sgd's (0: none) */
    int nesterov;
    float weight_decay;
    char schedule[48];      /* "constant", "step:E:F", "cosine" or "onecycle" */
    long warmup_steps;      /* the schedule's linear warmup, in steps */
    uint64_t seed;
    double best_val_accuracy; /* -1 when never validated */
    char augment[128];      /* canonical text ("none", "shift=2,rotate=10") */
    float label_smoothing;
} cnn_train_state_info;

/** Describe a state.  @return CNN_OK */
int cnn_train_state_info_get(const cnn_train_state *s, cnn_train_state_info *out);

/**
 * Whether a state can go on training this model on this data set with this
 * batch size (a fresh state always can): the check cnn_train makes first,
 * for a caller that wants the answer before it changes anything else.
 * A state belongs to the data it was trained on: its model (spec and
 * parameters), image size, image count and batch must be the same, and so
 * must the data's fingerprint, zlib's CRC-32 of the pixel bytes and of the
 * label bytes (cnn_train records it on a state's first run; a checkpoint
 * carries it).  A mismatch names what differs with both values ("the image
 * count differs (checkpoint 64, data set 60)"; "this checkpoint was trained
 * on other data (images crc32 1a2b3c4d, this data set's 5e6f7a8b)"),
 * starting with the checkpoint's path for a state cnn_checkpoint_load made.
 * A state without a fingerprint (a checkpoint written before cnn kept one)
 * is accepted unchecked, and cnn_train gives it the fingerprint of the data
 * it goes on with.  The fingerprint costs one pass over the images (on
 * several threads for a large set); the next check of the same state on the
 * same data set (cnn_train's own, when it comes right after) reuses the one
 * this check computed, so the data must not change in place between the
 * two.
 * @return CNN_OK, CNN_ERR_ARG, CNN_ERR_MISMATCH (with a message saying why)
 */
int cnn_train_state_check(const cnn_train_state *s, const cnn_model *m,
                          const cnn_dataset *train, int batch);

/**
 * Write a checkpoint: the model's weights (under the same tensor names as
 * cnn_model_save, so cnn_model_load and cnn_model_open read it as weights)
 * and the training state with the fingerprint of its training data
 * (metadata images_crc32 and labels_crc32), as safetensors with a CRC-32
 * in the metadata, atomically (temporary file, fsync, rename, directory
 * fsync).
 * @return CNN_OK, CNN_ERR_ARG (a state never used for training),
 *         CNN_ERR_IO, CNN_ERR_NOMEM
 */
int cnn_checkpoint_save(const cnn_model *m, const cnn_train_state *s,
                        const char *path);

/**
 * Read a checkpoint: creates the model it holds (spec and input shape from
 * its metadata, default kernel set) with its weights, and the training
 * state.  Nothing is returned unless the whole file is valid.  As for
 * cnn_model_open, the declared model and image count are checked against
 * the file's length before anything is allocated for them, and a NaN or
 * an infinity in any tensor (the weights or the optimizer's state) is
 * refused, naming the tensor and the first bad index.  The state keeps the
 * fingerprint of its training data, which cnn_train_state_check (and
 * cnn_train) compare with the data set it goes on with; a checkpoint
 * without one (written before cnn kept it) loads, and resumes unchecked.
 * @return CNN_OK, CNN_ERR_IO (also a path that is not a regular file),
 *         CNN_ERR_FORMAT (including a checksum mismatch, a non-finite
 *         value, a model or count larger than the file, a file that is
 *         weights only, and a fingerprint that is not 8 lowercase hex
 *         digits or has only one of its two CRCs), CNN_ERR_NOMEM
 */
int cnn_checkpoint_load(const char *path, cnn_model **model,
                        cnn_train_state **state);

typedef struct cnn_train_config {
    int epochs;           /* default 3 */
    int batch;            /* default 32 */
    float lr;             /* default 0.001; the schedule's base (onecycle:
                             its peak) */
    float beta1, beta2;   /* adam, adamw: default 0.9, 0.999 */
    float eps;            /* adam, adamw: default 1e-7 (Keras) */
    /* The optimizer: "adam" (default; NULL too): Keras's Adam, bias
       correction in the step size, eps outside the square root; "adamw":
       the same with decoupled weight decay, PyTorch's order: every
       parameter p *= 1 - lr*weight_decay (lr the scheduled rate), then the
       Adam step; "sgd": PyTorch's SGD, v = momentum*v + g, p -= lr*v (with
       nesterov p -= lr*(g + momentum*v); momentum 0: p -= lr*g, no state),
       weight decay added to the gradient (g += weight_decay*p).  Weight
       decay applies to every parameter, biases included. */
    const char *optimizer;
    float momentum;       /* sgd: in [0, 1); default 0 */
    int nesterov;         /* sgd with momentum > 0: Nesterov momentum */
    float weight_decay;   /* adamw, sgd: in [0, 1); default 0 (adam: must be 0) */
    /* The learning-rate schedule over the run's epochs x steps-per-epoch
       steps: "constant" (default; NULL too); "step:E:F", lr * F^(epoch/E)
       rounded down, epochs from 0 ("step" alone: step:1:0.95); "cosine",
       from lr down to 0 by half a cosine after the warmup; "onecycle",
       PyTorch's OneCycleLR defaults (peak lr, pct_start 0.3, div_factor
       25, final_div_factor 1e4, cosine annealing; beta1 and momentum not
       cycled).  The warmup (constant, step, cosine; not onecycle)
       multiplies step s's rate (0-based) by (s+1)/W for s < W, W given in
       steps or in epochs (not both). */
    const char *schedule;
    long warmup_steps;
    int warmup_epochs;
    uint64_t seed;        /* shuffling seed (PCG32 stream 2); default 1151998 */
    int threads;          /* 0: OMP_NUM_THREADS if set, else physical cores */
    long max_steps;       /* stop after this many steps; 0 for no limit */
    int shuffle;          /* 1: reshuffle every epoch (default); 0: file order */
    int bind;             /* 1: pin threads one per core with hwloc (default) */
    void (*progress)(const cnn_progress *p, void *user);
    void *user;
    /* When non-NULL and set (by a signal handler, say), stop after the
       step in flight.  The library installs no handler. */
    volatile sig_atomic_t *cancel;
    /* When not NULL, evaluated by the training threads after each epoch
       (and after the last step); the results reach the progress callback. */
    const cnn_dataset *validation;
    /* When not NULL, training starts from this state and leaves it where
       it stopped (see cnn_train_state).  A state that has taken steps must
       belong to the same model, data set (its fingerprint) and batch, as
       cnn_train_state_check says, and go on with the same optimizer (sgd:
       with momentum or without, as before; else CNN_ERR_MISMATCH); the
       optimizer's and schedule's settings, augment and label_smoothing
       here replace the state's (take them from cnn_train_state_info to go
       on unchanged).  The epoch count here is the total, so a resumed run
       ends where the uninterrupted one would. */
    cnn_train_state *state;
    /* When not NULL, called by one thread with every thread's update done
       (so the model and state are consistent, e.g. for
       cnn_checkpoint_save) after every checkpoint_steps-th step (counting
       from the start of training) and after every checkpoint_epochs-th
       epoch (0: never), with p->checkpoint_due set; and after every
       validation that sets a new best (p->val_best set, checkpoint_due
       0 unless the schedule falls on the same step).  A non-zero return
       stops training with that status. */
    int (*checkpoint)(const cnn_progress *p, void *user);
    long checkpoint_steps;
    int checkpoint_epochs;
    /* Data augmentation, as text: NULL, "" or "none" for none, else
       "shift=P,rotate=D,zoom=Z,flip=F", any subset in any order, each at
       most once.  Each training image, after conversion to floats, is moved by
       dx and dy pixels drawn uniformly in [-P, P] (P at most half the
       image's smaller side), turned by an angle drawn in [-D, D] degrees
       (D in [0, 180]) and zoomed by a sampling scale drawn in [1-Z, 1+Z]
       (Z in [0, 0.5]; above 1 zooms out, as in Keras), about its centre,
       and mirrored left to right with probability F (in [0, 1]), sampled
       bilinearly with zero outside.  The draw of an image comes
       from (seed, epoch, the image's index in the data set), so it is the
       same whatever the threads.  Not applied to validation. */
    const char *augment;
    /* Label smoothing in [0, 1): the training loss's target is
       (1 - label_smoothing) onehot + label_smoothing / classes (Keras's
       and PyTorch's meaning); default 0.  Reported validation and
       evaluation losses stay the plain cross-entropy. */
    float label_smoothing;
} cnn_train_config;

/** Fill a config with the defaults listed above. */
void cnn_train_config_default(cnn_train_config *cfg);

/**
 * A preset's recipe: the training settings it was designed with, written
 * over cfg (after cnn_train_config_default, say): epochs, batch,
 * optimizer, lr, weight_decay, schedule (no warmup), momentum 0, augment
 * and label_smoothing; every other field is left as it is.  `cnn train
 * --model NAME` applies them unless an option sets one.
 * @param name a preset name ("bn", ...)
 * @return 1 when the preset has a recipe (cfg written), else 0 (cfg
 *         untouched: the preset trains with the defaults)
 */
int cnn_preset_recipe(const char *name, cnn_train_config *cfg);

/**
 * Check a config's optimizer and schedule settings on their own (cnn_train
 * checks them too): an unknown optimizer or schedule, a value out of range,
 * or a setting the optimizer or schedule does not use ("nesterov needs a
 * momentum above 0", "momentum and nesterov are sgd's", "adam takes no
 * weight decay", warmup with onecycle or in both steps and epochs).
 * @return CNN_OK, CNN_ERR_ARG (with a message saying why)
 */
int cnn_train_config_check(const cnn_train_config *cfg);

/* What cnn_train reports when it returns. */
typedef struct cnn_train_result {
    int threads;          /* threads used */
    int cores;            /* physical cores found by hwloc (0 if unknown) */
    int bound;            /* 1 if threads were pinned to cores */
    long steps;           /* optimizer steps taken */
    double seconds;       /* wall time of training, validation included */
    double validate_s;    /* of which validation passes */
    int validated;        /* 1 when val_* hold the last validation */
    double val_loss, val_accuracy;
    double final_loss;    /* mean loss over the last epoch */
    double final_accuracy;
    /* Where thread 0's time went, in seconds over the whole run: converting
       images, forward (with the loss), backward, waiting for the other
       threads at the barrier, and the update: its part of repacking the
       weights, of the gradient sums and of the optimizer (with the step's
       bookkeeping and the barriers between them). */
    double data_s, forward_s, backward_s, wait_s, update_s;
    /* The share of the team's forward/backward thread-time lost waiting
       for the slowest thread of each step (1 - busy / (threads x slowest)):
       uneven shares, or a thread that lost its core. */
    double idle;
    /* Under mpirun (the cnn command over several ranks): seconds thread 0
       spent in collectives, the gathers of what the other ranks made
       (inside wait_s, and forward_s/backward_s for batch norm's sums);
       0 alone.  comm_bytes: what those gathers brought together on this
       rank (every rank's part).  Validation's gathers are not counted. */
    double comm_s, comm_bytes;
    char binding[160];    /* one-line description of threads and binding */
} cnn_train_result;

/**
 * Train the model on a data set with mean softmax cross-entropy and the
 * configured optimizer and learning-rate schedule.
 * The model must have been initialised or loaded.  Results are bitwise
 * reproducible for the same seed, batch and kernel set, whatever the thread
 * count: the
 * batch is cut into one chunk per image and the chunks' gradients are
 * summed by one fixed pairwise tree, whichever thread computed them.
 * @param result may be NULL
 * Threads: cfg->threads, else OMP_NUM_THREADS, else the physical cores;
 * then capped, as cnn_threads_check says, at what the machine runs well
 * and at the images of one step, min(batch, images) (a thread more would
 * have nothing to do).  result->threads and result->binding give the count
 * used, which is also what a checkpoint records.  Every buffer is sized by
 * min(batch, images), so a batch larger than the data set trains as one
 * step per epoch.
 * Memory bound: before allocating anything, the buffers the run needs (each
 * thread's workspace and chunk buffers, the step's gradient, the optimizer's
 * state, the shuffled order, the validation results) are checked against the machine's
 * physical memory (sysconf(_SC_PHYS_PAGES) pages); beyond it the call
 * fails with CNN_ERR_NOMEM and a message naming both figures.
 * A step whose loss or gradient is not finite is not applied: training
 * stops with CNN_ERR_NONFINITE, a message naming the step and the layer,
 * and the weights and state of the step before.
 * @return CNN_OK, CNN_ERR_ARG (also: cfg->threads is 0 and OMP_NUM_THREADS
 *         is malformed), CNN_ERR_MISMATCH, CNN_ERR_NOMEM (also: beyond the
 *         memory bound), CNN_ERR_UNSUPPORTED (OpenMP started fewer threads
 *         than asked, e.g. when called inside a parallel region),
 *         CNN_ERR_NONFINITE, CNN_ERR_CANCELLED, or a checkpoint callback's
 *         status
 */
int cnn_train(cnn_model *m, const cnn_dataset *train,
              const cnn_train_config *cfg, cnn_train_result *result);

/**
 * Thread setup the trainer would use for a requested count: it writes the
 * count chosen, capped as cnn_threads_check says (training and evaluation
 * may use fewer still: no more than the images of a step), and a one-line
 * description (threads, "(4096 asked for)" when capped, cores, binding).
 * @param requested 0 for the default (OMP_NUM_THREADS, else the cores)
 * @param threads receives the count (may be NULL)
 * @param desc receives the description (may be NULL)
 * @return CNN_OK; CNN_ERR_ARG when requested is 0 and OMP_NUM_THREADS is
 *         malformed (the count and description are then the cores')
 */
int cnn_threads_describe(int requested, int *threads, char *desc, size_t size);

/**
 * Check the thread settings before a run, for a caller that warns.  A team
 * never has more than 4 threads per hardware thread this process may use
 * (omp_get_num_procs), but always up to 64, so that a run made elsewhere
 * with that many threads can be repeated or resumed bit for bit; nor more
 * than OMP_THREAD_LIMIT.  OMP_NUM_THREADS must be a list of whole numbers
 * from 1 separated by commas (the first is used); an empty one counts as
 * unset.  A malformed value is taken out of the environment when the
 * program starts, before libgomp would print its own complaint, and
 * reported here and by cnn_train and cnn_evaluate (when they are given 0
 * threads).
 * @param requested the count asked for, 0 for the default
 * @param warning receives "" or, when the count is capped, one line (no
 *        newline) saying what was asked for and what will run
 * @return CNN_OK; CNN_ERR_ARG when requested is 0 and OMP_NUM_THREADS is
 *         malformed (the message names it)
 */
int cnn_threads_check(int requested, char *warning, size_t size);

/**
 * The system report of `cnn info`: CPU model and features, the kernel sets
 * usable here and the one chosen, the hwloc topology and the default
 * threads.  Written into buf like snprintf.
 * @return the length the full text needs (excluding NUL)
 */
size_t cnn_info(char *buf, size_t size);

/* ------------------------------------------------------------ evaluation */

typedef struct cnn_eval_result {
    int count;            /* images evaluated */
    int classes;
    double loss;          /* mean cross-entropy */
    double accuracy;
    long *confusion;      /* classes*classes counts, true label by row */
} cnn_eval_result;

/**
 * Evaluate a model on a labelled data set.
 * @param threads 0 for the default (OMP_NUM_THREADS, else the cores);
 *        capped as cnn_threads_check says and at the number of images
 * @param out filled in; release with cnn_eval_result_free
 * Memory bound: the threads' buffers and the per-image results are checked
 * against the machine's physical memory before anything is allocated, as
 * for cnn_train.
 * @return CNN_OK, CNN_ERR_MISMATCH, CNN_ERR_NOMEM (also: beyond the memory
 *         bound), CNN_ERR_ARG (threads is 0 and OMP_NUM_THREADS is
 *         malformed)
 */
int cnn_evaluate(cnn_model *m, const cnn_dataset *ds, int threads,
                 cnn_eval_result *out);

/** Release the arrays of an evaluation result. */
void cnn_eval_result_free(cnn_eval_result *r);

/**
 * Class probabilities of one image given as floats in [0,1], NHWC.  The
 * model is only read: calls from several threads at once on one model are
 * safe.
 * @param x height*width*channels floats
 * @param probs receives classes floats
 * @return CNN_OK or CNN_ERR_NOMEM (also when one image's activations
 *         exceed the machine's physical memory)
 */
int cnn_predict(cnn_model *m, const float *x, float *probs);

/**
 * Class probabilities of n images at once, split across threads: image i
 * is x + i*height*width*channels (floats in [0,1], NHWC, the images one
 * after another) and its probabilities go to probs + i*classes.  Each
 * image's probabilities are bit for bit those cnn_predict gives it,
 * whatever n and the thread count.  The model is only read.  Threads are
 * not pinned to cores (the calling program has threads of its own).
 * @param n number of images; 0 does nothing
 * @param probs receives n * classes floats
 * @param threads 0 for the default (OMP_NUM_THREADS, else the cores),
 *        found at the first such call and kept; capped as
 *        cnn_threads_check says and at n.  A call costs microseconds
 *        beyond the images' own work, so calls of a few images are fine.
 * @return CNN_OK; CNN_ERR_ARG (a NULL model, NULL x or probs with n > 0, n or threads
 *         negative, a model only described, threads 0 and
 *         OMP_NUM_THREADS malformed);
 *         CNN_ERR_NOMEM (also when the threads' activations exceed the
 *         machine's physical memory)
 */
int cnn_predict_batch(cnn_model *m, const float *x, int n, float *probs, int threads);

#ifdef __cplusplus
}
#endif
#endif /* CNN_H */
