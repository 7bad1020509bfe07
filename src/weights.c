/*
 * weights.c — a model's parameters as a safetensors file (safetensors.c):
 * saving, loading into a model, and creating a model from a file.
 *
 * Each parameter tensor of the model (cnn_model_tensors: "conv1.weight"
 * [k][k][in_c][out_c], "conv1.bias" [out_c], ..., "dense1.weight" [in][out],
 * "dense1.bias" [out]) is one F32 tensor, in model order.  The metadata
 * holds "format" ("cnn"; "cnn-checkpoint" for checkpoints, which carry
 * more tensors, see checkpoint.c), "spec" (the canonical model spec),
 * "input" ("HxWxC"), "crc32" and "meta_crc32".  Loading reads the metadata
 * first, then the tensors from a second open; the second read checks that
 * the metadata is still the same, so the two agree even if the file was
 * replaced in between.  A model built from a file's metadata is only
 * described until the file is known to be long enough for it; then its
 * parameters are allocated (model.c's memory bound applies) and read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "checkpoint.h"
#include "error.h"
#include "memlimit.h"
#include "model.h"
#include "safetensors.h"
#include "weights.h"

/* The model's tensors, all of them or only the trainable ones. */
static int list_tensors(const cnn_model *m, float *params, const char *prefix,
                        int trainable_only, st_tensor *out)
{
    int n = cnn_model_tensors(m, NULL, 0);
    cnn_tensor_info *t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    if (!t)
        return -1;
    cnn_model_tensors(m, t, n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (trainable_only && t[i].role != CNN_TENSOR_PARAM)
            continue;
        if (out) {
            memset(&out[k], 0, sizeof out[k]);
            snprintf(out[k].name, sizeof out[k].name, "%s%s", prefix, t[i].name);
            out[k].dtype = ST_F32;
            out[k].ndim = t[i].ndim;
            memcpy(out[k].shape, t[i].shape, sizeof out[k].shape);
            out[k].count = t[i].count;
            out[k].data = params + t[i].offset;
        }
        k++;
    }
    free(t);
    return k;
}

int cnn_weights_tensors(const cnn_model *m, float *params, const char *prefix,
                        st_tensor *out)
{
    return out ? list_tensors(m, params, prefix, 0, out) : cnn_model_tensors(m, NULL, 0);
}

int cnn_weights_param_tensors(const cnn_model *m, float *params, const char *prefix,
                              st_tensor *out)
{
    return list_tensors(m, params, prefix, 1, out);
}

json_t *cnn_weights_metadata(const cnn_model *m, const char *format)
{
    char input[64];
    snprintf(input, sizeof input, "%dx%dx%d", m->in_h, m->in_w, m->in_c);
    json_t *meta = json_pack("{s:s, s:s, s:s}", "format", format, "spec", m->spec,
                             "input", input);
    return meta;
}

int cnn_model_save(const cnn_model *m, const char *path)
{
    if (!m || !path || !*path)
        return cnn_fail(CNN_ERR_ARG, "save weights: no model or no path");
    if (!m->params)
        return cnn_fail(CNN_ERR_ARG, "%s: the model has no parameters to save (only "
                        "described)", path);
    int n = cnn_weights_tensors(m, NULL, "", NULL);
    st_tensor *t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    json_t *meta = cnn_weights_metadata(m, "cnn");
    if (!t || !meta || cnn_weights_tensors(m, m->params, "", t) < 0) {
        free(t);
        json_decref(meta);
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    int st = cnn_st_write(path, t, n, meta);
    free(t);
    return st;
}

/* Load m's tensors from path, whose metadata (read before) is meta. */
static int load_tensors(cnn_model *m, const char *path, const json_t *meta)
{
    /* A checkpoint holds the weights and the optimizer's state: only the
       weights are wanted here. */
    const char *format = json_string_value(json_object_get(meta, "format"));
    int checkpoint = format && strcmp(format, "cnn-checkpoint") == 0;
    int n = cnn_weights_tensors(m, NULL, "", NULL);
    st_tensor *t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    if (!t || cnn_weights_tensors(m, m->params, "", t) < 0) {
        free(t);
        return cnn_fail(CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    int st = cnn_st_read(path, t, n, checkpoint, meta);
    free(t);
    return st;
}

/* "31,400 bytes", or "4,398,050,705,408 bytes (4.0 TiB)" from a mebibyte
   on, into out (64 bytes). */
static void bytes_text(uint64_t bytes, char *out, size_t cap)
{
    char count[32], size[32] = "";
    cnn_with_commas(bytes, count);
    if (bytes >= (1u << 20))
        cnn_mem_format(bytes, size, sizeof size);
    snprintf(out, cap, "%s bytes%s%s%s", count, *size ? " (" : "", size, *size ? ")" : "");
}

/* Give a described model its parameters once the file's data_size bytes
   of tensors can hold them. */
static int alloc_for_file(cnn_model *m, const char *path, uint64_t data_size)
{
    if (m->params)
        return CNN_OK;
    uint64_t need = (uint64_t)(m->nparams + m->nbuffers) * sizeof(float);
    if (data_size < need) {
        char count[32], has[64], needs[64];
        cnn_with_commas(m->nparams + m->nbuffers, count);
        bytes_text(data_size, has, sizeof has);
        bytes_text(need, needs, sizeof needs);
        return cnn_fail(CNN_ERR_MISMATCH, "%s: holds only %s of tensors, the model's %s "
                        "parameters need %s", path, has, count, needs);
    }
    int st = cnn_model_alloc(m);
    if (st != CNN_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", cnn_last_error());
        st = cnn_fail(st, "%s: %s", path, msg);
    }
    return st;
}

int cnn_model_load(cnn_model *m, const char *path)
{
    if (!m || !path || !*path)
        return cnn_fail(CNN_ERR_ARG, "load weights: no model or no path");
    json_t *meta;
    uint64_t data_size;
    int st = cnn_st_read_metadata(path, &meta, &data_size);
    if (st != CNN_OK)
        return st;
    st = alloc_for_file(m, path, data_size);
    if (st == CNN_OK)
        st = load_tensors(m, path, meta);
    json_decref(meta);
    return st;
}

int cnn_weights_create_model(const char *path, json_t *meta, uint64_t data_size,
                             cnn_model **out)
{
    *out = NULL;
    const char *spec = json_string_value(json_object_get(meta, "spec"));
    const char *input = json_string_value(json_object_get(meta, "input"));
    int h, w, c;
    char tail;
    if (!spec || !input)
        return cnn_fail(CNN_ERR_FORMAT, "%s: metadata has no model spec and input shape "
                        "(give --model)", path);
    if (sscanf(input, "%dx%dx%d%c", &h, &w, &c, &tail) != 3 || h < 1 || w < 1 || c < 1 ||
        h > 65536 || w > 65536 || c > 65536)
        return cnn_fail(CNN_ERR_FORMAT, "%s: metadata input shape is not HxWxC", path);
    int st = cnn_model_describe(spec, h, w, c, 0, out);
    if (st == CNN_ERR_SPEC || st == CNN_ERR_ARG) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", cnn_last_error());
        return cnn_fail(CNN_ERR_FORMAT, "%s: the model spec in the metadata is invalid: %s",
                        path, msg);
    }
    if (st != CNN_OK)
        return st;
    /* The file must hold what its metadata declares before a byte is
       allocated for it: 4 bytes a value (parameters and buffers), and 4
       more a trainable parameter for each state tensor of a checkpoint's
       optimizer (8 with Adam's two moments). */
    const char *format = json_string_value(json_object_get(meta, "format"));
    int checkpoint = format && strcmp(format, "cnn-checkpoint") == 0;
    const char *optim = "adam";
    int states = checkpoint ? cnn_checkpoint_state_tensors(meta, &optim) : 0;
    uint64_t need = cnn_checkpoint_tensor_bytes(*out, states, 0);
    if (data_size < need) {
        char count[32], has[64], needs[64];
        cnn_with_commas((*out)->nparams + (*out)->nbuffers, count);
        bytes_text(data_size, has, sizeof has);
        bytes_text(need, needs, sizeof needs);
        char with[64] = "";
        if (checkpoint)
            snprintf(with, sizeof with, strcmp(optim, "adam") ? " with %s's state"
                                                              : " with Adam's moments", optim);
        st = cnn_fail(CNN_ERR_FORMAT, "%s: metadata declares a model of %s parameters, "
                      "%s of tensors%s, but the file holds only %s", path, count, needs,
                      with, has);
    } else {
        st = alloc_for_file(*out, path, data_size);
    }
    if (st != CNN_OK) {
        cnn_model_free(*out);
        *out = NULL;
    }
    return st;
}

int cnn_model_open(const char *path, cnn_model **out)
{
    if (!path || !*path || !out)
        return cnn_fail(CNN_ERR_ARG, "open model: no path");
    *out = NULL;
    json_t *meta;
    uint64_t data_size;
    int st = cnn_st_read_metadata(path, &meta, &data_size);
    if (st != CNN_OK)
        return st;
    st = cnn_weights_create_model(path, meta, data_size, out);
    if (st == CNN_OK)
        st = load_tensors(*out, path, meta);
    json_decref(meta);
    if (st != CNN_OK) {
        cnn_model_free(*out);
        *out = NULL;
    }
    return st;
}
