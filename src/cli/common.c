/*
 * common.c — helpers shared by the cnn command's commands: error exits,
 * model creation on the chosen kernel set, evaluation on the test split.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "comm.h"
#include "group.h"
#include "escape.h"

/* "cnn: " and the message, escaped (names and text from files may hold
   anything), as one line.  Under mpirun, a rank other than 0 (which
   prints only what goes wrong) names itself and its host (group.c). */
static void print_line(const char *msg)
{
    char shown[2048];
    cli_escape(msg, shown, sizeof shown);
    if (cnn_comm_rank() > 0)
        group_print_line(shown);
    else
        fprintf(stderr, "cnn: %s\n", shown);
}

int cli_fail(int status)
{
    print_line(cnn_last_error());
    /* A bad option value or --model spec is a usage error; a spec read
       from a file comes back as CNN_ERR_FORMAT (cnn_model_open). */
    return status == CNN_ERR_ARG || status == CNN_ERR_SPEC ? EXIT_USAGE : EXIT_FAILURE_RUN;
}

static void vsay(const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    print_line(msg);
}

void cli_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    return code;
}

int cli_make_model(const cli *c, int h, int w, int ch, cnn_model **m)
{
    int st = cnn_model_create(c->model, h, w, ch, 0, m);
    if (st == CNN_OK && c->isa)
        st = cnn_model_set_isa(*m, c->isa);
    if (st != CNN_OK) {
        cnn_model_free(*m);
        *m = NULL;
    }
    return st;
}

int cli_evaluate(const cli *c, cnn_model *m, cnn_eval_result *r)
{
    cnn_dataset *test = NULL;
    int st = cnn_dataset_load_dir(c->data, "test", cnn_model_classes(m), &test);
    if (st == CNN_OK)
        st = cnn_evaluate(m, test, c->threads, r);
    cnn_dataset_free(test);
    return st;
}

void cli_print_eval(const cnn_eval_result *r)
{
    printf("test loss: %.4f, test accuracy: %.4f (%d images)\n", r->loss, r->accuracy,
           r->count);
    printf("confusion matrix (rows: true label, columns: predicted)\n      ");
    for (int j = 0; j < r->classes; j++)
        printf("%6d", j);
    printf("\n");
    for (int i = 0; i < r->classes; i++) {
        printf("%6d", i);
        for (int j = 0; j < r->classes; j++)
            printf("%6ld", r->confusion[(size_t)i * r->classes + j]);
        printf("\n");
    }
}

int cli_open_model(const cli *c, int h, int w, int ch, cnn_model **m)
{
    int st;
    if (c->load && !(c->set & OPTBIT(OPT_MODEL))) {
        st = cnn_model_open(c->load, m);
        if (st == CNN_OK && c->isa)
            st = cnn_model_set_isa(*m, c->isa);
        if (st != CNN_OK) {
            cnn_model_free(*m);
            *m = NULL;
        }
        return st;
    }
    st = cli_make_model(c, h, w, ch, m);
    if (st == CNN_OK && c->load)
        st = cnn_model_load(*m, c->load);
    if (st != CNN_OK) {
        cnn_model_free(*m);
        *m = NULL;
    }
    return st;
}

const char *cli_model_name(const cnn_model *m)
{
    const char *spec = cnn_model_spec(m), *name;
    for (int i = 0; (name = cnn_model_preset_name(i)); i++)
        if (!strcmp(cnn_model_preset(name), spec))
            return name;
    return spec;
}

void cli_with_commas(double v, char *buf, size_t size)
{
    char digits[48];
    int len = snprintf(digits, sizeof digits, "%.0f", v > 0 ? v : 0), o = 0;
    for (int i = 0; i < len && (size_t)o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
}
