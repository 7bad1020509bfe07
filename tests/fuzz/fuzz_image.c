/*
 * fuzz_image.c — libFuzzer harness for the PGM/PNG decoder of
 * `cnn predict` (src/cli/image.c, image_decode in src/cli/image.h).
 *
 * The input is handed to image_decode as a file's bytes.  A decoded image
 * must have a sane shape and its pixel buffer must be fully readable
 * (height * width * channels bytes); a failure must write a message into
 * the error buffer and leave nothing to free.  scripts/fuzz.sh skips this
 * harness while src/cli/image.c does not exist.  Seeds:
 * tests/fuzz/corpus/fuzz_image/ (small PGM, P2/P5, and PNG files).
 */
#include "fuzz_common.h"
#include "image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_stderr(); /* libpng warnings */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image img;
    char err[256];
    memset(&img, 0, sizeof img);
    err[0] = 0;
    if (image_decode(data, size, &img, err, sizeof err) != 0) {
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort(); /* failure without a message */
        return 0;
    }
    if (img.height < 1 || img.width < 1 || img.channels < 1 || img.channels > 4 ||
        !img.pixels)
        abort();
    size_t n = (size_t)img.height * img.width * img.channels;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += img.pixels[i];
    if (sum == 0xdeadbeef)
        fputs("", stdout);
    image_free(&img);
    return 0;
}
