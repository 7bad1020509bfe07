/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors reader
 * (src/safetensors.c) behind the weights and checkpoint loaders
 * (src/weights.c, src/checkpoint.c).
 *
 * Each input is written to a file in a private temporary directory, then
 *   - cnn_model_load reads it into a small fixed model (FUZZ_ST_SPEC on a
 *     FUZZ_ST_H x FUZZ_ST_W x 1 input, the shape tests/fuzz/seeds.c saves);
 *     a failed load must leave the parameters untouched;
 *   - cnn_model_open builds whatever model its metadata describes and, when
 *     that model is small, runs one prediction through it;
 *   - cnn_checkpoint_load reads it as a checkpoint.
 * Every failure must leave a message and NULL outputs.  Seeds:
 * tests/fuzz/corpus/fuzz_safetensors/ (weights and a checkpoint of the
 * small model, from tests/fuzz/seeds.c).
 */
#include "cnn.h"
#include "fuzz_common.h"
#include "fuzz_shapes.h"

static cnn_model *small;
static float *saved;
static size_t nparams;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (cnn_model_create(FUZZ_ST_SPEC, FUZZ_ST_H, FUZZ_ST_W, 1, 0, &small) != CNN_OK)
        abort();
    cnn_model_init(small, 7);
    nparams = cnn_model_param_count(small);
    saved = malloc(nparams * sizeof *saved);
    if (!saved)
        abort();
    memcpy(saved, cnn_model_params(small), nparams * sizeof *saved);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write_file("weights.safetensors", data, size, path, sizeof path);

    /* Into the fixed model: all or nothing. */
    int st = cnn_model_load(small, path);
    if (st != CNN_OK) {
        if (st > 0 || !cnn_last_error()[0])
            abort();
        if (memcmp(saved, cnn_model_params(small), nparams * sizeof *saved) != 0)
            abort(); /* a failed load changed the model */
    } else {
        memcpy(saved, cnn_model_params(small), nparams * sizeof *saved);
    }

    /* Whatever model the file describes. */
    cnn_model *m = (cnn_model *)1;
    st = cnn_model_open(path, &m);
    if (st != CNN_OK) {
        if (st > 0 || m != NULL || !cnn_last_error()[0])
            abort();
    } else {
        cnn_layer_info first;
        if (cnn_model_layer(m, 0, &first) != CNN_OK)
            abort();
        size_t in = (size_t)first.in_h * first.in_w * first.in_c;
        if (cnn_model_param_count(m) < 100000 && in < 100000) {
            float *x = calloc(in, sizeof *x);
            float *p = calloc((size_t)cnn_model_classes(m), sizeof *p);
            if (!x || !p)
                abort();
            cnn_predict(m, x, p);
            free(x);
            free(p);
        }
        cnn_model_free(m);
    }

    /* As a checkpoint. */
    cnn_model *cm = (cnn_model *)1;
    cnn_train_state *cs = (cnn_train_state *)1;
    st = cnn_checkpoint_load(path, &cm, &cs);
    if (st != CNN_OK) {
        if (st > 0 || cm != NULL || cs != NULL || !cnn_last_error()[0])
            abort();
    } else {
        cnn_train_state_info info;
        cnn_train_state_info_get(cs, &info);
        cnn_train_state_free(cs);
        cnn_model_free(cm);
    }
    return 0;
}
