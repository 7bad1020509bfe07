/*
 * test_cli.c — the cnn command as a user meets it: summary parameter counts,
 * one-line errors and exit codes for a missing data directory, a truncated
 * IDX file and bad options, a save / load / eval round trip on a small
 * synthetic IDX set, training on generated CIFAR-10 batch files, and an
 * optimizer and schedule, augmentation and label smoothing kept by a
 * checkpoint, `cnn help CMD`, --version on every command and "did you
 * mean".  Runs ./cnn from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cnn.h"
#include "suggest.h"
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

/* A preset's recipe: shown by summary as options, applied by train where
   no option is given; a user's optimizer keeps its own default rate. */
static void preset_recipe_shown_and_applied(void)
{
    if (cnn("summary --model bn") == -1) {
        test_skip("./cnn not built");
        return;
    }
    CHECK(strstr(out_text, "--epochs 15 --batch 64 --optimizer adam --lr 0.003 --schedule "
                           "onecycle") && strstr(out_text, "--label-smoothing 0.1"),
          "bn's recipe: %s", out_text);
    CHECK(cnn("summary --model seed") == 0 && !strstr(out_text, "Recipe"), "seed: %s",
          out_text);
    const char *dir = write_idx_dir("recipe", 60, 0);
    char args[1024];
    snprintf(args, sizeof args, "train --data %s --model bn --steps 1 --lr 0.01", dir);
    CHECK(cnn(args) == 0, "%s", err_text);
    CHECK(strstr(err_text, "adam, lr 0.01 onecycle; augment shift=2,rotate=10,zoom=0.1; label "
                           "smoothing 0.1"), "header: %s", err_text);
    snprintf(args, sizeof args, "train --data %s --model bn --steps 1 --optimizer sgd", dir);
    CHECK(cnn(args) == 0 && strstr(err_text, "sgd, lr 0.001 onecycle"), "header: %s", err_text);
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

/* A CIFAR-10 binary directory (dir inside the temp dir): count records of
   32x32x3 per file, each class lighting its own channel and band of rows;
   the planes are stored CHW, as CIFAR-10's files hold them. */
static const char *write_cifar_dir(const char *name, int count)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    const char *files[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                            "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    unsigned char *buf = calloc((size_t)count, 3073);
    for (int f = 0; f < 6; f++) {
        for (int i = 0; i < count; i++) {
            unsigned char *rec = buf + (size_t)i * 3073;
            int label = (i + f) % 10;
            rec[0] = (unsigned char)label;
            for (int p = 0; p < 3072; p++)
                rec[1 + p] = (p / 1024 == label % 3 && p % 1024 / 256 == label / 3) ? 200 : 30;
        }
        char path[600];
        snprintf(path, sizeof path, "%s/%s", name, files[f]);
        test_write_file(path, buf, (size_t)count * 3073);
    }
    free(buf);
    return dir;
}

/* `cnn train --data DIR` on generated CIFAR-10 files: a small model and the
   cifar preset train and are evaluated on test_batch.bin; a missing batch
   is one line naming it. */
static void cifar_directory_trains(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *dir = write_cifar_dir("cifar", 16);
    char args[1200];
    snprintf(args, sizeof args, "train --data %s --model conv3x3:8:same,relu,conv3x3s2:16:"
             "same,relu,flatten,dense:10,softmax --epochs 2 --batch 8 --quiet", dir);
    CHECK(cnn(args) == 0, "small model: %s", err_text);
    CHECK(strstr(out_text, "test accuracy") && strstr(out_text, "(16 images)"),
          "no evaluation of the 16 test images: %s", out_text);
    snprintf(args, sizeof args, "train --data %s --model cifar --steps 3 --batch 8 --quiet", dir);
    CHECK(cnn(args) == 0, "cifar preset: %s", err_text);
    CHECK(strstr(out_text, "test accuracy"), "preset: no evaluation: %s", out_text);
    CHECK(cnn("summary --model cifar --input 32x32x3") == 0 &&
              strstr(out_text, "Total params: 44,122"), "cifar summary: %s", out_text);
    char path[700];
    snprintf(path, sizeof path, "%s/data_batch_5.bin", dir);
    CHECK(unlink(path) == 0, "unlink %s", path);
    snprintf(args, sizeof args, "train --data %s --model cifar --quiet", dir);
    CHECK(cnn(args) == 1, "missing batch: exit");
    CHECK_ONE_LINE_ERROR("data_batch_5.bin");
}

/* An optimizer and schedule through the command: the header line names
   them, the checkpoint keeps them, a resume takes them from it (the same
   weights as the uninterrupted run), warns when one is given again with
   another value and refuses another optimizer. */
static void optimizer_options_reach_the_checkpoint(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *dir = write_idx_dir("opt", 60, 0);
    const char *run = "--model conv3x3:4:same,relu,flatten,dense:3,softmax --epochs 3 "
                      "--batch 8 --threads 1 --optimizer sgd --momentum 0.9 --nesterov "
                      "--lr 0.01 --schedule cosine --warmup 1e";
    char args[2000], ck[600], full[600], resumed[600];
    snprintf(ck, sizeof ck, "%s/opt.ckpt", test_tmpdir());
    snprintf(full, sizeof full, "%s/opt-full.safetensors", test_tmpdir());
    snprintf(resumed, sizeof resumed, "%s/opt-resumed.safetensors", test_tmpdir());
    snprintf(args, sizeof args, "train --data %s %s --save %s", dir, run, full);
    CHECK(cnn(args) == 0, "train: %s", err_text);
    CHECK(strstr(err_text, "sgd momentum 0.9 nesterov, lr 0.01 cosine warmup 1e"),
          "header: %s", err_text);
    snprintf(args, sizeof args, "train --data %s %s --steps 10 --quiet --checkpoint %s", dir,
             run, ck);
    CHECK(cnn(args) == 0, "train 10 steps: %s", err_text);
    snprintf(args, sizeof args, "train --data %s --resume %s --quiet --save %s", dir, ck,
             resumed);
    CHECK(cnn(args) == 0, "resume: %s", err_text);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", full, resumed);
    CHECK(system(cmd) == 0, "the resumed sgd/cosine run differs from the uninterrupted one");
    snprintf(args, sizeof args, "train --data %s --resume %s --steps 1 --momentum 0.5 "
             "--schedule step", dir, ck);
    CHECK(cnn(args) == 0, "resume with other settings: %s", err_text);
    CHECK(strstr(err_text, "warning: --momentum differs") &&
          strstr(err_text, "warning: --schedule differs"), "no warnings: %s", err_text);
    snprintf(args, sizeof args, "train --data %s --resume %s --optimizer adam", dir, ck);
    CHECK(cnn(args) == 2, "another optimizer accepted");
    CHECK_ONE_LINE_ERROR("holds sgd's state");
}

/* Augmentation and label smoothing through the command: bad values
   refused with one line naming the option, the header line names them,
   the checkpoint keeps them (canonical text), a resume takes them from it
   and warns when one is given again with another value. */
static void augment_options_reach_the_checkpoint(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const struct { const char *args, *names; } bad[] = {
        {"--augment shift=abc", "shift"}, {"--augment rotate=500", "rotate"},
        {"--augment foo=1", "foo"}, {"--augment shift=1,shift=2", "twice"},
        {"--label-smoothing 1", "--label-smoothing"},
        {"--label-smoothing -0.1", "--label-smoothing"},
    };
    char args[2000];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "train --data /nonexistent %s", bad[i].args);
        CHECK(cnn(args) == 2, "%s: not refused as usage", bad[i].args);
        CHECK_ONE_LINE_ERROR(bad[i].names);
    }
    const char *dir = write_idx_dir("aug", 60, 0);
    snprintf(args, sizeof args, "train --data %s --model logreg --epochs 1 --augment shift=5",
             dir);
    CHECK(cnn(args) == 2, "shift 5 on 8x8 images accepted");
    CHECK_ONE_LINE_ERROR("half the image");
    const char *run = "--model logreg --epochs 2 --batch 8 --threads 1 "
                      "--augment zoom=0.1,shift=1 --label-smoothing 0.1";
    char ck[600];
    snprintf(ck, sizeof ck, "%s/aug.ckpt", test_tmpdir());
    snprintf(args, sizeof args, "train --data %s %s --steps 3 --checkpoint %s", dir, run, ck);
    CHECK(cnn(args) == 0, "train: %s", err_text);
    CHECK(strstr(err_text, "; augment shift=1,zoom=0.1; label smoothing 0.1"), "header: %s",
          err_text);
    snprintf(args, sizeof args, "train --data %s --resume %s --steps 4 --augment "
             "shift=1,zoom=0.1", dir, ck);
    CHECK(cnn(args) == 0, "resume: %s", err_text);
    CHECK(strstr(err_text, "; augment shift=1,zoom=0.1; label smoothing 0.1") &&
          !strstr(err_text, "warning"), "resume: %s", err_text);
    snprintf(args, sizeof args, "train --data %s --resume %s --steps 5 --augment none "
             "--label-smoothing 0.2", dir, ck);
    CHECK(cnn(args) == 0, "resume with other settings: %s", err_text);
    CHECK(strstr(err_text, "warning: --augment differs") &&
          strstr(err_text, "warning: --label-smoothing differs") &&
          strstr(err_text, "; label smoothing 0.2") && !strstr(err_text, "; augment"),
          "resume with other settings: %s", err_text);
    snprintf(args, sizeof args, "train --data %s --resume %s --steps 6", dir, ck);
    CHECK(cnn(args) == 0 && !strstr(err_text, "; augment") &&
          strstr(err_text, "; label smoothing 0.2"), "the checkpoint kept: %s", err_text);
}

/* The options of one part of the run: values parsed whole, "--" ending
   the options, refused options and --models items named as typed. */
static void options_parsed_whole_and_named_as_typed(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    CHECK(cnn("train --data /nonexistent --checkpoint-every "
              "000000000000000000000000000005garbagee") == 2,
          "cut value accepted");
    CHECK_ONE_LINE_ERROR("'000000000000000000000000000005garbagee'");
    CHECK(cnn("train --data /nonexistent --checkpoint-every 5ee") == 2, "5ee accepted");
    CHECK(cnn("train --data /nonexistent --checkpoint-every '5e '") == 2, "'5e ' accepted");
    CHECK(cnn("summary --model logreg --input 4294967324x28x1") == 2, "wrapped shape accepted");
    CHECK_ONE_LINE_ERROR("4294967324x28x1");
    CHECK(cnn("summary --model logreg --input 6x7x2") == 0 &&
              strstr(out_text, "Total params: 850"),
          "6x7x2: %s", out_text);
    /* "--" ends the options: what follows is an argument, even "-o". */
    CHECK(cnn("plot -- /nonexistent/log.csv") == 1, "plot --");
    CHECK_ONE_LINE_ERROR("/nonexistent/log."); /* the log, or its default output */
    CHECK(cnn("predict --load /nonexistent/w -- x.pgm") == 1, "predict --");
    CHECK_ONE_LINE_ERROR("/nonexistent/w");
    CHECK(cnn("plot -- log.csv -o x.svg") == 2, "option after --");
    CHECK_ONE_LINE_ERROR("unexpected argument '-o'");
    /* Refused options, named as typed. */
    CHECK(cnn("plot log.csv -qo x.svg") == 2, "bundled unknown");
    CHECK_ONE_LINE_ERROR("unknown option '-q'");
    CHECK(!strstr(err_text, "log.csv"), "blames the argument: %s", err_text);
    CHECK(cnn("train --check x") == 2 && strstr(err_text, "ambiguous"), "ambiguous: %s",
          err_text);
    CHECK_ONE_LINE_ERROR("--checkpoint-every");
    CHECK(cnn("train --quiet=yes") == 2, "flag with a value");
    CHECK_ONE_LINE_ERROR("--quiet takes no value");
    CHECK(cnn("train --ep") == 2, "abbreviation without value");
    CHECK_ONE_LINE_ERROR("--epochs needs a value");
    CHECK(cnn("-v") == 2, "-v as a command");
    CHECK_ONE_LINE_ERROR("unknown option '-v'");
    CHECK(cnn("eval -o x") == 2, "-o on eval");
    CHECK_ONE_LINE_ERROR("does not take -o");
    /* --models: the bad item, not the first. */
    CHECK(cnn("compare --data /nonexistent --models logreg,bogus") == 2, "bad preset");
    CHECK_ONE_LINE_ERROR("cnn: --models: 'bogus' is not a preset");
    char args[3000];
    const char *dir = write_idx_dir("models", 12, 0);
    snprintf(args, sizeof args, "compare --data %s --models 'logreg;bogus'", dir);
    CHECK(cnn(args) == 2, "bad spec item");
    CHECK_ONE_LINE_ERROR("cnn: --models: 'bogus': ");
    /* A list longer than any buffer: still split into presets. */
    int len = snprintf(args, sizeof args, "compare --data %s --models ", dir);
    for (int i = 0; i < 200; i++)
        len += snprintf(args + len, sizeof args - (size_t)len, "logreg,");
    snprintf(args + len, sizeof args - (size_t)len, "bogus");
    CHECK(cnn(args) == 2, "long list");
    CHECK_ONE_LINE_ERROR("cnn: --models: 'bogus' is not a preset");
}

/* --isa overrides $CNN_ISA; a bad $CNN_ISA alone is named, by every command
   that runs kernels and by info. */
static void isa_option_overrides_environment(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *dir = write_idx_dir("isa", 12, 0);
    char args[1200], w[600];
    snprintf(w, sizeof w, "%s/isa.safetensors", test_tmpdir());
    snprintf(args, sizeof args, "train --data %s --model logreg --epochs 0 --save %s --quiet",
             dir, w);
    CHECK(cnn(args) == 0, "save: %s", err_text);
    setenv("CNN_ISA", "bogus", 1);
    CHECK(cnn("summary --model logreg --isa scalar") == 0, "--isa scalar: %s", err_text);
    snprintf(args, sizeof args, "train --data %s --model logreg --epochs 1 --quiet --isa ref",
             dir);
    CHECK(cnn(args) == 0, "train --isa ref: %s", err_text);
    CHECK(cnn("summary --model logreg") == 2, "summary with a bad CNN_ISA");
    CHECK_ONE_LINE_ERROR("CNN_ISA");
    snprintf(args, sizeof args, "eval --data %s --load %s", dir, w);
    CHECK(cnn(args) == 2, "eval with a bad CNN_ISA");
    CHECK_ONE_LINE_ERROR("CNN_ISA");
    CHECK(!strstr(err_text, "spec"), "blames the spec: %s", err_text);
    CHECK(cnn("info") == 2 && strstr(out_text, "topology:"), "info: %s", out_text);
    CHECK_ONE_LINE_ERROR("CNN_ISA: unknown ISA 'bogus'");
    CHECK(cnn("summary --model logreg --isa avx9") == 2, "bad --isa");
    CHECK_ONE_LINE_ERROR("--isa: unknown ISA 'avx9'");
    unsetenv("CNN_ISA");
}

/* Run a shell command line (stderr into err_text); its exit code. */
static int shell(const char *line)
{
    char cmd[1600], err[512];
    snprintf(err, sizeof err, "%s/shell.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s 2>%s </dev/null", line, err);
    int status = system(cmd);
    FILE *f = fopen(err, "rb");
    size_t n = f ? fread(err_text, 1, sizeof err_text - 1, f) : 0;
    err_text[n] = 0;
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

/* Results that do not reach stdout (a full device, a closed descriptor)
   fail the command with one line; a closed stdout that nothing is printed
   to is harmless. */
static void stdout_write_errors_fail(void)
{
    const char *bin = getenv("CNN_BIN");
    bin = bin && *bin ? bin : "./cnn";
    if (access(bin, X_OK) != 0 || access("/dev/full", W_OK) != 0) {
        test_skip("./cnn not built or no /dev/full");
        return;
    }
    const char *dir = write_idx_dir("stdout", 12, 0);
    char line[1400], w[600], img[64 + 16];
    snprintf(w, sizeof w, "%s/stdout.safetensors", test_tmpdir());
    snprintf(line, sizeof line, "train --data %s --model logreg --epochs 0 --save %s --quiet",
             dir, w);
    CHECK(cnn(line) == 0, "save: %s", err_text);
    snprintf(line, sizeof line, "%s eval --data %s --load %s >/dev/full", bin, dir, w);
    CHECK(shell(line) == 1, "eval >/dev/full");
    CHECK_ONE_LINE_ERROR("cnn: stdout: write failed: No space left on device");
    snprintf(line, sizeof line, "%s eval --data %s --load %s >&-", bin, dir, w);
    CHECK(shell(line) == 1, "eval >&-");
    CHECK_ONE_LINE_ERROR("cnn: stdout: write failed: Bad file descriptor");
    snprintf(line, sizeof line, "%s summary --model logreg >&-", bin);
    CHECK(shell(line) == 1, "summary >&-");
    CHECK_ONE_LINE_ERROR("cnn: stdout: write failed");
    const char *helps[] = {"--help", "--version", "train --help", "info", "compare -h"};
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        snprintf(line, sizeof line, "%s %s >/dev/full", bin, helps[i]);
        CHECK(shell(line) == 1, "%s >/dev/full", helps[i]);
        CHECK_ONE_LINE_ERROR("cnn: stdout: write failed: No space left on device");
    }
    /* Nothing printed: a closed stdout (and stdin) is no error, and the
       result file gets its content. */
    memset(img, 0, sizeof img);
    memcpy(img, "P5\n8 8\n255\n", 11);
    const char *pgm = test_write_file("stdout.pgm", img, 11 + 64);
    char out[600];
    snprintf(out, sizeof out, "%s/stdout.txt", test_tmpdir());
    snprintf(line, sizeof line, "%s predict --load %s %s -o %s >&- <&-", bin, w, pgm, out);
    CHECK(shell(line) == 0 && !*err_text, "predict -o with stdout closed: %s", err_text);
    FILE *f = fopen(out, "r");
    char got[256] = "";
    CHECK(f && fgets(got, sizeof got, f) && strstr(got, "stdout.pgm"), "predictions: '%s'", got);
    if (f)
        fclose(f);
}

/* The edit distance and the choice of names to suggest. */
static void suggestions_by_edit_distance(void)
{
    CHECK(cnn_edit_distance("trian", "train") == 1, "transposition");
    CHECK(cnn_edit_distance("sed", "seed") == 1, "insertion");
    CHECK(cnn_edit_distance("", "abc") == 3 && cnn_edit_distance("abc", "") == 3, "empty");
    CHECK(cnn_edit_distance("kitten", "sitting") == 3, "kitten");
    CHECK(cnn_edit_distance("ca", "abc") == 3, "no edit inside a transposition");
    CHECK(cnn_edit_distance("Train", "train") == 0, "case");
    const char *names[] = {"train", "eval", "predict", "summary", "seed", "seed-dense"};
    char buf[100];
    CHECK(cnn_suggest("trian", names, 6, buf, sizeof buf) == 1 && !strcmp(buf, "'train'"),
          "trian: %s", buf);
    CHECK(cnn_suggest("se", names, 6, buf, sizeof buf) == 2 &&
          !strcmp(buf, "'seed' or 'seed-dense'"), "se: %s", buf);
    CHECK(cnn_suggest("sed", names, 6, buf, sizeof buf) == 1 && !strcmp(buf, "'seed'"),
          "sed: %s", buf);
    CHECK(cnn_suggest("xy", names, 6, buf, sizeof buf) == 0 && !*buf, "xy: %s", buf);
    CHECK(cnn_suggest("bogus", names, 6, buf, sizeof buf) == 0, "bogus: %s", buf);
    CHECK(cnn_suggest("sumary", names, 6, buf, 8) == 1 && !strcmp(buf, "'summar"),
          "cut: %s", buf);
    CHECK(cnn_closest("se", names, 6) == -1 && cnn_closest("evl", names, 6) == 1, "closest");
}

/* `cnn help CMD`, --version and -V on every command, and "did you mean"
   for commands, options, presets and layers. */
static void help_version_and_did_you_mean(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    char version[64];
    snprintf(version, sizeof version, "%.60s", out_text);
    CHECK(cnn("help train") == 0 && strstr(out_text, "usage: cnn train") &&
          strstr(out_text, "--epochs N"), "help train: %s", out_text);
    CHECK(cnn("help") == 0 && strstr(out_text, "commands:"), "help: %s", out_text);
    const char *commands[] = {"train", "eval", "predict", "summary", "compare", "plot", "info"};
    for (int i = 0; i < 7; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s --version", commands[i]);
        CHECK(cnn(line) == 0 && !strcmp(out_text, version) && !*err_text, "%s", line);
        snprintf(line, sizeof line, "%s -V", commands[i]);
        CHECK(cnn(line) == 0 && !strcmp(out_text, version), "%s", line);
    }
    CHECK(cnn("-V") == 0 && !strcmp(out_text, version), "-V");
    CHECK(cnn("trian") == 2 && !*out_text, "trian");
    CHECK_ONE_LINE_ERROR("unknown command 'trian'; did you mean 'train'?");
    CHECK(cnn("help trian") == 2, "help trian");
    CHECK_ONE_LINE_ERROR("did you mean 'train'?");
    CHECK(cnn("train --quite") == 2, "--quite");
    CHECK_ONE_LINE_ERROR("unknown option '--quite'; did you mean '--quiet'?");
    CHECK(cnn("summary --mdoel=x") == 2, "--mdoel=x");
    CHECK_ONE_LINE_ERROR("unknown option '--mdoel'; did you mean '--model'?");
    CHECK(cnn("summary --bogus") == 2 && !strstr(err_text, "did you mean"), "--bogus");
    CHECK(cnn("summary --model sed") == 2, "--model sed");
    CHECK_ONE_LINE_ERROR("\"sed\" is neither a preset (seed, seed-dense, logreg, bn, "
                         "bn-fashion, cifar) nor a layer; did you mean 'seed'?");
    CHECK(cnn("summary --model conv3x3:8,rleu,flatten,dense:10,softmax") == 2, "rleu");
    CHECK_ONE_LINE_ERROR("item 2 \"rleu\": unknown layer; did you mean 'relu'?");
    CHECK(cnn("summary --model cnov3x3:8:same,relu,flatten,dense:10,softmax") == 2, "cnov");
    CHECK_ONE_LINE_ERROR("did you mean 'conv3x3:8:same'?");
    CHECK(cnn("summary --model conv3x3:8,pool,flatten,dense:10,softmax") == 2, "pool");
    CHECK_ONE_LINE_ERROR("unknown layer (kinds: bn, conv, ");
    CHECK(cnn("compare --data /nonexistent --models logreg,sed") == 2, "--models sed");
    CHECK_ONE_LINE_ERROR("'sed' is not a preset; did you mean 'seed'?");
}

/* docs/cli.md, the man page docs/cnn.1 and the bash completion
   docs/cnn.bash-completion are generated from the --help texts and must
   match them; the man page renders without a warning, the completion
   parses and offers every preset. */
static void manual_matches_help(void)
{
    if (test_cnn("--version") == -1) {
        test_skip("./cnn not built");
        return;
    }
    const char *bin = getenv("CNN_BIN");
    bin = bin && *bin ? bin : "./cnn";
    const char *docs[][2] = {{"cli-doc.sh", "docs/cli.md"}, {"man.sh", "docs/cnn.1"},
                             {"completion.sh", "docs/cnn.bash-completion"}};
    char cmd[1200];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "sh scripts/%s %s | cmp -s - %s", docs[i][0], bin,
                 docs[i][1]);
        CHECK(system(cmd) == 0, "%s is out of step with --help: run scripts/%s > %s",
              docs[i][1], docs[i][0], docs[i][1]);
    }
    if (system("command -v groff >/dev/null 2>&1") == 0)
        CHECK(system("test -z \"$(groff -man -ww -z docs/cnn.1 2>&1)\"") == 0,
              "groff -man -ww warns on docs/cnn.1");
    CHECK(system("bash -n docs/cnn.bash-completion 2>/dev/null") == 0,
          "docs/cnn.bash-completion does not parse");
    for (int i = 0; cnn_model_preset_name(i); i++) {
        snprintf(cmd, sizeof cmd, "grep -q -- '-W \"[^\"]*\\<%s\\>' docs/cnn.bash-completion",
                 cnn_model_preset_name(i));
        CHECK(system(cmd) == 0, "preset %s not completed", cnn_model_preset_name(i));
    }
}

TEST_TABLE(cli, {"manual_matches_help", manual_matches_help},
           {"suggestions_by_edit_distance", suggestions_by_edit_distance},
           {"help_version_and_did_you_mean", help_version_and_did_you_mean}, {"summary_shows_parameter_counts", summary_shows_parameter_counts},
           {"preset_recipe_shown_and_applied", preset_recipe_shown_and_applied},
           {"bad_input_gets_one_line_and_nonzero_exit", bad_input_gets_one_line_and_nonzero_exit},
           {"save_load_eval_round_trip", save_load_eval_round_trip},
           {"cifar_directory_trains", cifar_directory_trains},
           {"optimizer_options_reach_the_checkpoint", optimizer_options_reach_the_checkpoint},
           {"augment_options_reach_the_checkpoint", augment_options_reach_the_checkpoint},
           {"options_parsed_whole_and_named_as_typed", options_parsed_whole_and_named_as_typed},
           {"isa_option_overrides_environment", isa_option_overrides_environment},
           {"stdout_write_errors_fail", stdout_write_errors_fail})
