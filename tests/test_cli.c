/*
 * test_cli.c — the cnn command as a user meets it: summary parameter counts,
 * one-line errors and exit codes for a missing data directory, a truncated
 * IDX file and bad options, and a save / load / eval round trip on a small
 * synthetic IDX set.  Runs ./cnn from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"

/* The runner's helper, under the names this file's checks use. */
#define out_text test_out
#define err_text test_err
#define cnn test_cnn

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Write a synthetic MNIST-style directory dir (inside the temp dir) with
   count 8x8 images; truncate_images cuts the image file short. */
static const char *write_idx_dir(const char *name, int count, int truncate_images)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    const char *splits[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        size_t isz = 16 + (size_t)count * 64, lsz = 8 + (size_t)count;
        unsigned char *img = calloc(1, isz), *lab = calloc(1, lsz);
        put_be32(img, 0x803), put_be32(img + 4, (unsigned)count);
        put_be32(img + 8, 8), put_be32(img + 12, 8);
        put_be32(lab, 0x801), put_be32(lab + 4, (unsigned)count);
        for (int i = 0; i < count; i++) {
            int label = i % 3;
            lab[8 + i] = (unsigned char)label;
            for (int p = 0; p < 64; p++)
                img[16 + i * 64 + p] = (unsigned char)((p % 8) / 3 == label ? 200 : 10);
        }
        char path[600];
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", name, splits[s]);
        test_write_file(path, img, truncate_images ? isz - 100 : isz);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", name, splits[s]);
        test_write_file(path, lab, lsz);
        free(img);
        free(lab);
    }
    return dir;
}

static void summary_shows_parameter_counts(void)
{
    if (cnn("summary --model seed") == -1) {
        test_skip("./cnn not built");
        return;
    }
    CHECK(strstr(out_text, "Total params: 24,186"), "seed: %s", out_text);
    CHECK(cnn("summary --model seed-dense") == 0 && strstr(out_text, "Total params: 1,249,962"),
          "seed-dense: %s", out_text);
    CHECK(cnn("summary --model logreg") == 0 && strstr(out_text, "Total params: 7,850"),
          "logreg: %s", out_text);
}

static void bad_input_gets_one_line_and_nonzero_exit(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    CHECK(cnn("train --data /nonexistent/mnist --quiet") == 1, "missing dir exit");
    CHECK_ONE_LINE_ERROR("/nonexistent/mnist");
    const char *dir = write_idx_dir("truncated", 40, 1);
    char args[700];
    snprintf(args, sizeof args, "train --data %s --quiet", dir);
    CHECK(cnn(args) == 1, "truncated exit");
    CHECK_ONE_LINE_ERROR("train-images-idx3-ubyte");
    CHECK(cnn("train --epochs abc") == 2, "bad number exit");
    CHECK_ONE_LINE_ERROR("--epochs");
    CHECK(cnn("train --shuffle maybe") == 2, "bad on/off exit");
    CHECK_ONE_LINE_ERROR("--shuffle");
    CHECK(cnn("train --frobnicate") == 2, "unknown option exit");
    CHECK_ONE_LINE_ERROR("--frobnicate");
    CHECK(cnn("fly") == 2, "unknown command exit");
    CHECK_ONE_LINE_ERROR("fly");
    CHECK(cnn("summary --model conv3x3:8,flatten") == 2, "bad spec exit");
    CHECK_ONE_LINE_ERROR("softmax");
    CHECK(cnn("eval --data /nonexistent") == 2, "eval without --load");
    CHECK_ONE_LINE_ERROR("--load");
    CHECK(cnn("summary --isa avx9") == 2, "unknown ISA exit");
    CHECK_ONE_LINE_ERROR("avx9");
    CHECK(cnn("info") == 0 && strstr(out_text, "kernels:") && strstr(out_text, "topology:"),
          "info: %s", out_text);
}

static void save_load_eval_round_trip(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *dir = write_idx_dir("tiny", 60, 0);
    const char *spec = "conv3x3:4:same,relu,flatten,dense:3,softmax";
    char args[1200], w0[600], w1[600];
    snprintf(w0, sizeof w0, "%s/init.safetensors", test_tmpdir());
    snprintf(w1, sizeof w1, "%s/trained.safetensors", test_tmpdir());
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 0 --save %s --quiet", dir,
             spec, w0);
    CHECK(cnn(args) == 0, "epochs 0 save: %s", err_text);
    CHECK(strstr(out_text, "test accuracy"), "no evaluation printed: %s", out_text);
    /* Training from the saved initial weights equals training from the seed. */
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 2 --batch 8 --save %s --quiet",
             dir, spec, w1);
    CHECK(cnn(args) == 0, "train: %s", err_text);
    static char trained[sizeof out_text];
    strcpy(trained, out_text);
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 2 --batch 8 --load %s --quiet",
             dir, spec, w0);
    CHECK(cnn(args) == 0, "train from loaded: %s", err_text);
    CHECK(strcmp(out_text, trained) == 0, "loaded start differs:\n%s\nvs\n%s", out_text, trained);
    snprintf(args, sizeof args, "eval --data %s --model %s --load %s", dir, spec, w1);
    CHECK(cnn(args) == 0, "eval: %s", err_text);
    CHECK(strcmp(out_text, trained) == 0, "eval differs:\n%s\nvs\n%s", out_text, trained);
    /* Weights for another model are refused. */
    snprintf(args, sizeof args, "eval --data %s --model conv3x3:5:same,relu,flatten,dense:3,softmax --load %s",
             dir, w1);
    CHECK(cnn(args) == 1, "wrong model accepted");
    CHECK_ONE_LINE_ERROR("conv1.weight");
    /* An unwritable destination leaves nothing behind. */
    snprintf(args, sizeof args, "train --data %s --model %s --epochs 0 --save /nonexistent/w.st --quiet",
             dir, spec);
    CHECK(cnn(args) == 1, "unwritable save exit");
    CHECK_ONE_LINE_ERROR("/nonexistent/w.st");
}

/* docs/cli.md is generated from the --help texts and must match them. */
static void manual_matches_help(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *bin = getenv("CNN_BIN");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sh scripts/cli-doc.sh %s | cmp -s - docs/cli.md",
             bin && *bin ? bin : "./cnn");
    CHECK(system(cmd) == 0, "docs/cli.md is out of step with --help: run "
                            "scripts/cli-doc.sh > docs/cli.md");
}

TEST_TABLE(cli, {"manual_matches_help", manual_matches_help}, {"summary_shows_parameter_counts", summary_shows_parameter_counts},
           {"bad_input_gets_one_line_and_nonzero_exit", bad_input_gets_one_line_and_nonzero_exit},
           {"save_load_eval_round_trip", save_load_eval_round_trip})
