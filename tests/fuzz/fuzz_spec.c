/*
 * fuzz_spec.c — libFuzzer harness for the model spec parser (src/spec.c)
 * and the layout that follows it (src/model.c), through the public
 * cnn_model_create.
 *
 * The input is taken as a NUL-terminated spec string (presets included)
 * and built for a few input shapes, with the class count taken from the
 * spec and with 10 classes.  A model that builds must round-trip: its
 * canonical spec must build again to the same parameter count, and its
 * layer table and summary must be readable.  Every failure must set a
 * message.  Seeds: tests/fuzz/corpus/fuzz_spec/ (presets, valid and
 * near-valid specs).
 */
#include "cnn.h"
#include "fuzz_common.h"

static const int shapes[][3] = {{28, 28, 1}, {1, 1, 1}, {7, 5, 3}, {64, 2, 4}};

static void check(const char *spec, int h, int w, int c, int classes)
{
    cnn_model *m = (cnn_model *)1;
    int st = cnn_model_create(spec, h, w, c, classes, &m);
    if (st != CNN_OK) {
        if (st > 0 || m != NULL || !cnn_last_error()[0])
            abort();
        return;
    }
    size_t params = cnn_model_param_count(m);
    int layers = cnn_model_layer_count(m);
    if (layers < 1 || (classes && cnn_model_classes(m) != classes))
        abort();
    for (int i = 0; i < layers; i++) {
        cnn_layer_info L;
        if (cnn_model_layer(m, i, &L) != CNN_OK || L.out_h < 1 || L.out_w < 1 ||
            L.out_c < 1)
            abort();
    }
    cnn_layer_info none;
    if (cnn_model_layer(m, layers, &none) == CNN_OK || cnn_model_layer(m, -1, &none) == CNN_OK)
        abort();
    char table[256];
    size_t need = cnn_model_summary(m, table, sizeof table);
    char *full = malloc(need + 1);
    if (!full)
        abort();
    if (cnn_model_summary(m, full, need + 1) != need || strlen(full) != need)
        abort();
    free(full);

    /* The canonical spec builds the same model. */
    char *canon = strdup(cnn_model_spec(m));
    cnn_model *again = NULL;
    if (!canon || cnn_model_create(canon, h, w, c, classes, &again) != CNN_OK ||
        cnn_model_param_count(again) != params ||
        strcmp(cnn_model_spec(again), canon) != 0)
        abort();
    if (params < 200000)
        cnn_model_init(m, 1);
    free(canon);
    cnn_model_free(again);
    cnn_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *spec = fuzz_cstring(data, size);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check(spec, shapes[i][0], shapes[i][1], shapes[i][2], 0);
        check(spec, shapes[i][0], shapes[i][1], shapes[i][2], 10);
    }
    free(spec);
    return 0;
}
