/*
 * summary.c — `cnn summary`: the model's layers, output shapes and
 * parameter counts as a Keras-style table, or with --dot as a Graphviz DOT
 * graph like Keras's model_to_dot: a record node per layer (the input, each
 * layer of the model, the softmax output) with its name, Keras type,
 * settings, input and output shapes and parameters, as cnn_model_layer
 * describes them, edges from input to output, top to bottom, under a
 * title no wider than the graph (the preset's name, the spec broken after
 * commas, the parameter count).  The model comes from --model (and --input) or
 * from the metadata of a --load file; the text goes to stdout or -o FILE.
 * A --model spec is only described (cnn_model_describe): no parameter
 * block is allocated for it, so any spec the grammar accepts gets its
 * table at once, even one far too large to train.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "outfile.h"
#include "paths.h"

/* Keras's shape notation: 4-D for images, 2-D for vectors. */
static void shape_text(int flat, int h, int w, int c, char *buf, size_t size)
{
    if (flat)
        snprintf(buf, size, "(None, %d)", c);
    else
        snprintf(buf, size, "(None, %d, %d, %d)", h, w, c);
}

/* A record-shaped node: "name: type", an optional settings line, the
   input and output shapes side by side, the parameter count.  None of the
   texts holds a character that record labels reserve ({ } | < > " \). */
static void dot_node(FILE *f, const char *name, const char *type, const char *settings,
                     const char *in, const char *out, size_t params)
{
    char num[32];
    cli_with_commas(params, num, sizeof num);
    fprintf(f, "  \"%s\" [label=\"{%s: %s|", name, name, type);
    if (settings && *settings)
        fprintf(f, "%s|", settings);
    fprintf(f, "{input:|output:}|{%s|%s}|params: %s}\"];\n", in, out, num);
}

/* The graph's title: the preset's name when the model is one, then the
   spec broken after commas into lines of at most DOT_TITLE_COLS characters
   (a layer longer than that has a line of its own), so the title is no
   wider than the graph; each line ends with DOT's "\\n".  The canonical
   spec holds letters, digits, '.', '_', ':' and ',' only. */
enum { DOT_TITLE_COLS = 36 };
static void write_title(FILE *f, const cnn_model *m)
{
    const char *spec = cnn_model_spec(m), *name = cli_model_name(m);
    if (strcmp(name, spec) != 0)
        fprintf(f, "%s\\n", name);
    size_t col = 0;
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        len += p[len] == ','; /* the comma stays with its layer */
        if (col > 0 && col + len > DOT_TITLE_COLS) {
            fputs("\\n", f);
            col = 0;
        }
        fprintf(f, "%.*s", (int)len, p);
        col += len, p += len;
    }
    fputs("\\n", f);
}

static void write_dot(FILE *f, const cnn_model *m)
{
    int n = cnn_model_layer_count(m);
    cnn_layer_info L;
    char total[32], in[48], out[48];
    cli_with_commas(cnn_model_param_count(m) + cnn_model_buffer_count(m), total,
                    sizeof total);
    fputs("digraph model {\n", f);
    fputs("  graph [rankdir=TB, labelloc=t, fontname=\"Helvetica\", fontsize=12, label=\"", f);
    write_title(f, m);
    fprintf(f, "%s parameters\"];\n", total);
    fputs("  node [shape=record, fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [arrowsize=0.7];\n", f);
    cnn_model_layer(m, 0, &L);
    shape_text(0, L.in_h, L.in_w, L.in_c, in, sizeof in);
    dot_node(f, "input", "InputLayer", NULL, in, in, 0);
    const char *prev = "input";
    char prev_name[sizeof L.name];
    for (int i = 0; i < n; i++) {
        cnn_model_layer(m, i, &L);
        shape_text(L.flat_in, L.in_h, L.in_w, L.in_c, in, sizeof in);
        shape_text(L.flat_out, L.out_h, L.out_w, L.out_c, out, sizeof out);
        dot_node(f, L.name, L.keras, L.settings, in, out, L.params);
        fprintf(f, "  \"%s\" -> \"%s\";\n", prev, L.name);
        snprintf(prev_name, sizeof prev_name, "%s", L.name);
        prev = prev_name;
    }
    /* The softmax that ends every model (no layer of its own). */
    dot_node(f, "softmax", "Softmax", NULL, out, out, 0);
    fprintf(f, "  \"%s\" -> \"softmax\";\n}\n", prev);
}

/* A preset's recipe under its table, as the options `cnn train --model
   NAME` takes in their place (any of them given overrides its own). */
static void write_recipe(FILE *f, const char *name)
{
    cnn_train_config r;
    cnn_train_config_default(&r);
    if (!name || !cnn_preset_recipe(name, &r))
        return;
    fprintf(f, "Recipe (cnn train --model %s; options override it):\n"
               "  --epochs %d --batch %d --optimizer %s --lr %g", name, r.epochs, r.batch,
            r.optimizer, (double)r.lr);
    if (r.weight_decay > 0)
        fprintf(f, " --weight-decay %g", (double)r.weight_decay);
    fprintf(f, " --schedule %s\n", r.schedule ? r.schedule : "constant");
    if ((r.augment && *r.augment) || r.label_smoothing > 0) {
        fputs(" ", f);
        if (r.augment && *r.augment)
            fprintf(f, " --augment %s", r.augment);
        if (r.label_smoothing > 0)
            fprintf(f, " --label-smoothing %g", (double)r.label_smoothing);
        fputs("\n", f);
    }
}

static int write_table(FILE *f, const cnn_model *m, const char *preset)
{
    size_t len = cnn_model_summary(m, NULL, 0);
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    cnn_model_summary(m, buf, len + 1);
    fputs(buf, f);
    free(buf);
    write_recipe(f, preset);
    return 0;
}

/* The model to print: the one stored in --load's file (read and checked
   whole) when --model is not given; else --model's, described without
   its parameters unless --load's weights are to be checked against it. */
static int summary_model(const cli *c, cnn_model **m)
{
    if (c->load && !(c->set & OPTBIT(OPT_MODEL)))
        return cli_open_model(c, c->in_h, c->in_w, c->in_c, m);
    int st = cnn_model_describe(c->model, c->in_h, c->in_w, c->in_c, 0, m);
    if (st == CNN_OK && c->isa)
        st = cnn_model_set_isa(*m, c->isa);
    if (st == CNN_OK && c->load)
        st = cnn_model_load(*m, c->load);
    if (st != CNN_OK) {
        cnn_model_free(*m);
        *m = NULL;
    }
    return st;
}

static int run(const cli *c)
{
    cli_paths ps = {.n = 0};
    paths_input(&ps, "--load", c->load);
    paths_output(&ps, "--output", c->output, NULL);
    int rc = paths_check(&ps);
    if (rc >= 0)
        return rc;
    cnn_model *m = NULL;
    int st = summary_model(c, &m);
    if (st != CNN_OK)
        return cli_fail(st);
    rc = EXIT_FAILURE_RUN;
    outfile o;
    if (outfile_open(&o, c->output ? c->output : "-") == 0) {
        if (c->dot) {
            write_dot(o.f, m);
            rc = EXIT_OK;
        } else if (write_table(o.f, m, (c->set & OPTBIT(OPT_MODEL)) ? c->model : NULL) == 0) {
            rc = EXIT_OK;
        } else {
            cli_error(rc, "out of memory");
        }
        if (rc != EXIT_OK)
            outfile_abort(&o);
        else if (outfile_commit(&o) != 0)
            rc = EXIT_FAILURE_RUN;
    }
    cnn_model_free(m);
    return rc;
}

const cli_command cmd_summary = {
    "summary", "print the model's layers, output shapes and parameters",
    "usage: cnn summary [options]\n\n"
    "Prints the model's layers, their output shapes and parameter counts as a\n"
    "Keras-style table, or with --dot as a Graphviz graph (render it with\n"
    "'dot -Tsvg'); -o FILE writes either to FILE.  With --load FILE and no\n"
    "--model, the model stored in FILE.  A preset designed with a training\n"
    "recipe (bn, bn-fashion) has it shown under the table: cnn train applies\n"
    "it unless an option says otherwise.\n",
    OPTBIT(OPT_MODEL) | OPTBIT(OPT_INPUT) | OPTBIT(OPT_ISA) | OPTBIT(OPT_DOT) |
        OPTBIT(OPT_LOAD) | OPTBIT(OPT_OUTPUT),
    0, 0, run};
