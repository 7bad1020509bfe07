/*
 * test_augment.c — tests of data augmentation (src/augment.c,
 * src/augment_text.c): the identity copies bit for bit, whole-pixel shifts
 * and quarter turns move pixels exactly, zoom keeps the centre, outside is
 * zero, random transforms match a reference in double (the SIMD rows the
 * scalar rows bit for bit), draws are fixed by
 * (seed, epoch, sample) whatever the thread and stay in their ranges, and
 * the settings' text is parsed, refused and written back as documented
 * (also for random texts).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "test.h"
#include "tests.h"

#define SIDE 9

/* dst pixel (y, x) channel k of an h x w x c image. */
#define AT(p, w, c, y, x, k) ((p)[((size_t)(y) * (w) + (x)) * (c) + (k)])

static void fill(float *p, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    test_fill_uniform(p, n, 0.05f, 1.0f, &st);
}

static void test_identity_exact(void)
{
    enum { H = 7, W = 5, C = 3 };
    float src[H * W * C], dst[H * W * C];
    uint64_t st = 3;
    test_fill_uniform(src, H * W * C, -2.0f, 2.0f, &st);
    src[4] = -0.0f;
    cnn_augment none = {0, 0, 0, 0};
    cnn_augment_image(&none, 1, 2, 3, H, W, C, src, dst);
    CHECK(memcmp(src, dst, sizeof src) == 0, "settings all zero: not a copy");
    cnn_augment_xf id = {0, 0, 0, 1, 0};
    memset(dst, 0xff, sizeof dst);
    cnn_augment_apply(&id, H, W, C, src, dst);
    CHECK(memcmp(src, dst, sizeof src) == 0, "identity transform: not a copy");
}

/* A whole-pixel shift moves every pixel exactly; zero where it came from
   outside. */
static void test_shift_exact(void)
{
    enum { H = 7, W = 9, C = 3 };
    float src[H * W * C], dst[H * W * C];
    fill(src, H * W * C, 5);
    const int dxs[] = {2, -3, 0, 1}, dys[] = {-1, 0, 4, 1};
    for (int t = 0; t < 4; t++) {
        cnn_augment_xf xf = {(float)dxs[t], (float)dys[t], 0, 1, 0};
        cnn_augment_apply(&xf, H, W, C, src, dst);
        int bad = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int k = 0; k < C; k++) {
                    int sy = y - dys[t], sx = x - dxs[t];
                    float want = sy >= 0 && sy < H && sx >= 0 && sx < W
                                     ? AT(src, W, C, sy, sx, k) : 0.0f;
                    bad += AT(dst, W, C, y, x, k) != want;
                }
        CHECK(bad == 0, "shift (%d, %d): %d values differ", dxs[t], dys[t], bad);
    }
}

/* A quarter turn of a square image permutes its pixels: +90 (counter-
   clockwise as displayed) takes the top-right corner to the top-left. */
static void test_rotate_quarter(void)
{
    enum { N = 6, C = 2 };
    float src[N * N * C], dst[N * N * C];
    fill(src, N * N * C, 7);
    const float angles[] = {90, -90, 180, 270};
    for (int t = 0; t < 4; t++) {
        cnn_augment_xf xf = {0, 0, angles[t], 1, 0};
        cnn_augment_apply(&xf, N, N, C, src, dst);
        double worst = 0;
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
                for (int k = 0; k < C; k++) {
                    int sy = y, sx = x; /* where (y, x) reads from */
                    if (angles[t] == 90)
                        sy = x, sx = N - 1 - y;
                    else if (angles[t] == -90 || angles[t] == 270)
                        sy = N - 1 - x, sx = y;
                    else
                        sy = N - 1 - y, sx = N - 1 - x;
                    double e = fabs(AT(dst, N, C, y, x, k) - AT(src, N, C, sy, sx, k));
                    worst = e > worst ? e : worst;
                }
        CHECK(worst <= 1e-6, "rotate %g: off by %g", (double)angles[t], worst);
    }
}

/* Zoom keeps the centre pixel; scale 0.5 (zoom in) reads (x, y) from
   halfway to the centre. */
static void test_zoom_centre(void)
{
    enum { C = 2 };
    float src[SIDE * SIDE * C], dst[SIDE * SIDE * C];
    fill(src, SIDE * SIDE * C, 9);
    const int m = SIDE / 2;
    const float scales[] = {0.5f, 0.8f, 1.2f, 1.5f};
    for (int t = 0; t < 4; t++) {
        cnn_augment_xf xf = {0, 0, 0, scales[t], 0};
        cnn_augment_apply(&xf, SIDE, SIDE, C, src, dst);
        for (int k = 0; k < C; k++)
            CHECK(fabsf(AT(dst, SIDE, C, m, m, k) - AT(src, SIDE, C, m, m, k)) <= 1e-6f,
                  "scale %g: the centre moved", (double)scales[t]);
    }
    cnn_augment_xf half = {0, 0, 0, 0.5f, 0};
    cnn_augment_apply(&half, SIDE, SIDE, C, src, dst);
    for (int k = 0; k < C; k++) {
        CHECK(fabsf(AT(dst, SIDE, C, m, SIDE - 1, k) - AT(src, SIDE, C, m, m + 2, k)) <= 1e-6f,
              "scale 0.5: (%d, %d) should read (%d, %d)", m, SIDE - 1, m, m + 2);
        CHECK(fabsf(AT(dst, SIDE, C, 0, 0, k) - AT(src, SIDE, C, 2, 2, k)) <= 1e-6f,
              "scale 0.5: (0, 0) should read (2, 2)");
    }
}

/* Outside the image counts zero: a half-pixel shift halves the first
   column, a zoom-out leaves zero corners. */
static void test_zero_fill(void)
{
    enum { C = 1 };
    float src[SIDE * SIDE * C], dst[SIDE * SIDE * C];
    fill(src, SIDE * SIDE * C, 11);
    cnn_augment_xf half = {0.5f, 0, 0, 1, 0};
    cnn_augment_apply(&half, SIDE, SIDE, C, src, dst);
    for (int y = 0; y < SIDE; y++) {
        CHECK(AT(dst, SIDE, C, y, 0, 0) == 0.5f * AT(src, SIDE, C, y, 0, 0),
              "row %d: the first column is not half the input's", y);
        float mid = 0.5f * AT(src, SIDE, C, y, 3, 0) + 0.5f * AT(src, SIDE, C, y, 4, 0);
        CHECK(fabsf(AT(dst, SIDE, C, y, 4, 0) - mid) <= 1e-6f, "row %d: not interpolated", y);
    }
    cnn_augment_xf out = {0, 0, 45, 1.5f, 0};
    cnn_augment_apply(&out, SIDE, SIDE, C, src, dst);
    const int corners[4][2] = {{0, 0}, {0, SIDE - 1}, {SIDE - 1, 0}, {SIDE - 1, SIDE - 1}};
    for (int i = 0; i < 4; i++)
        CHECK(AT(dst, SIDE, C, corners[i][0], corners[i][1], 0) == 0.0f,
              "corner (%d, %d) is not zero", corners[i][0], corners[i][1]);
    cnn_augment_xf gone = {SIDE, 0, 0, 1, 0};
    cnn_augment_apply(&gone, SIDE, SIDE, C, src, dst);
    int nonzero = 0;
    for (int i = 0; i < SIDE * SIDE; i++)
        nonzero += dst[i] != 0.0f;
    CHECK(nonzero == 0, "shifted out of the image: %d pixels not zero", nonzero);
}

/* The same (seed, epoch, sample) gives the same bits on any thread; any
   other key gives others. */
static void test_draw_keyed(void)
{
    enum { H = 28, W = 28, N = 48 };
    cnn_augment a = {2, 10, 0.1f, 0};
    float *src = malloc(sizeof(float) * H * W), *one = malloc(sizeof(float) * H * W * N),
          *par = malloc(sizeof(float) * H * W * N), *other = malloc(sizeof(float) * H * W);
    fill(src, H * W, 13);
    for (int i = 0; i < N; i++)
        cnn_augment_image(&a, 42, 3, 1000 + i, H, W, 1, src, one + (size_t)i * H * W);
#pragma omp parallel for num_threads(3) schedule(dynamic, 1)
    for (int i = N - 1; i >= 0; i--)
        cnn_augment_image(&a, 42, 3, 1000 + i, H, W, 1, src, par + (size_t)i * H * W);
    CHECK(memcmp(one, par, sizeof(float) * H * W * N) == 0, "threads changed the bits");
    const struct { uint64_t seed; long epoch, sample; } keys[] = {
        {43, 3, 1000}, {42, 4, 1000}, {42, 3, 1001}, {42, 1000, 3}};
    for (int i = 0; i < 4; i++) {
        cnn_augment_image(&a, keys[i].seed, keys[i].epoch, keys[i].sample, H, W, 1, src, other);
        CHECK(memcmp(one, other, sizeof(float) * H * W) != 0,
              "key (%llu, %ld, %ld) gives the bits of (42, 3, 1000)",
              (unsigned long long)keys[i].seed, keys[i].epoch, keys[i].sample);
    }
    free(src), free(one), free(par), free(other);
}

/* Draws stay in their ranges and use both signs. */
static void test_draw_ranges(void)
{
    cnn_augment a = {2.5f, 15, 0.2f, 0};
    float lo[4] = {1e9f, 1e9f, 1e9f, 1e9f}, hi[4] = {-1e9f, -1e9f, -1e9f, -1e9f};
    for (long i = 0; i < 2000; i++) {
        cnn_augment_xf xf;
        cnn_augment_draw(&a, 7, i % 5, i, &xf);
        const float v[4] = {xf.dx, xf.dy, xf.angle, xf.scale};
        for (int j = 0; j < 4; j++)
            lo[j] = v[j] < lo[j] ? v[j] : lo[j], hi[j] = v[j] > hi[j] ? v[j] : hi[j];
    }
    const float want_lo[4] = {-2.5f, -2.5f, -15, 0.8f}, want_hi[4] = {2.5f, 2.5f, 15, 1.2f};
    for (int j = 0; j < 4; j++) {
        float span = want_hi[j] - want_lo[j];
        CHECK(lo[j] >= want_lo[j] && hi[j] <= want_hi[j], "draw %d: [%g, %g] outside [%g, %g]",
              j, (double)lo[j], (double)hi[j], (double)want_lo[j], (double)want_hi[j]);
        CHECK(lo[j] < want_lo[j] + 0.05f * span && hi[j] > want_hi[j] - 0.05f * span,
              "draw %d: [%g, %g] does not fill [%g, %g]", j, (double)lo[j], (double)hi[j],
              (double)want_lo[j], (double)want_hi[j]);
    }
    cnn_augment shift_only = {2.5f, 0, 0, 0};
    cnn_augment_xf xf;
    cnn_augment_draw(&shift_only, 7, 0, 0, &xf);
    CHECK(xf.angle == 0 && xf.scale == 1, "unset settings drew %g degrees, scale %g",
          (double)xf.angle, (double)xf.scale);
}

/* The sampling in double, straight from the formula in augment.h: the
   reference the resampler must match. */
static void reference_apply(const cnn_augment_xf *xf, int h, int w, int c, const float *src,
                            double *out)
{
    const double pi = 3.14159265358979323846, t = xf->angle * pi / 180;
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = x - cx - xf->dx, v = y - cy - xf->dy;
            double px = cx + xf->scale * (cos(t) * u - sin(t) * v);
            double py = cy + xf->scale * (sin(t) * u + cos(t) * v);
            if (xf->flip) /* mirrored left to right */
                px = (w - 1) - px;
            int x0 = (int)floor(px), y0 = (int)floor(py);
            double fx = px - x0, fy = py - y0;
            for (int k = 0; k < c; k++) {
                double sum = 0;
                for (int j = 0; j < 4; j++) {
                    int tx = x0 + (j & 1), ty = y0 + (j >> 1);
                    double wt = ((j & 1) ? fx : 1 - fx) * ((j >> 1) ? fy : 1 - fy);
                    if (tx >= 0 && tx < w && ty >= 0 && ty < h)
                        sum += wt * AT(src, w, c, ty, tx, k);
                }
                out[((size_t)y * w + x) * c + k] = sum;
            }
        }
}

/* Random transforms over the whole ranges, on 1 and 3 channels and a
   non-square image, against the reference. */
static void test_against_reference(void)
{
    enum { H = 11, W = 14, MAXC = 3 };
    float src[H * W * MAXC], dst[H * W * MAXC];
    double want[H * W * MAXC];
    cnn_augment wide = {5, 180, 0.5f, 0.5f};
    double worst = 0;
    for (int c = 1; c <= MAXC; c += 2)
        for (long i = 0; i < 300; i++) {
            fill(src, (size_t)H * W * c, 100 + i);
            cnn_augment_xf xf;
            cnn_augment_draw(&wide, 99, c, i, &xf);
            cnn_augment_apply(&xf, H, W, c, src, dst);
            reference_apply(&xf, H, W, c, src, want);
            for (int j = 0; j < H * W * c; j++) {
                double e = fabs(dst[j] - want[j]);
                worst = e > worst ? e : worst;
            }
        }
    CHECK(worst <= 1e-4, "off the reference by %g", worst);
}

/* Bits differing between n images of size h x w under random transforms
   (some partly or wholly outside) on the SIMD rows and on the scalar. */
static int simd_differs(cnn_augment_row1_fn *row, int h, int w, int n)
{
    enum { MAXPIX = 40 * 40 };
    float src[MAXPIX], a[MAXPIX], b[MAXPIX];
    cnn_augment wide = {1.5f, 180, 0.5f, 0.5f};
    int bad = 0;
    for (long i = 0; i < n; i++) {
        fill(src, (size_t)h * w, 300 + i);
        src[i % (h * w)] = -src[i % (h * w)];
        cnn_augment_xf xf;
        cnn_augment_draw(&wide, 5, h * 100 + w, i, &xf);
        if (i % 7 == 0)
            xf.dx += (float)(w + 1);
        cnn_augment_apply_with(&xf, h, w, 1, src, a, row);
        cnn_augment_apply_with(&xf, h, w, 1, src, b, NULL);
        bad += memcmp(a, b, sizeof(float) * h * w) != 0;
    }
    return bad;
}

/* The SIMD rows the CPU has give the scalar rows' bits, for widths with
   and without a partial last vector; cnn_augment_apply takes the widest. */
static void test_simd_matches_scalar(void)
{
    static const int sizes[][2] = {{28, 28}, {1, 1}, {5, 37}, {16, 16}, {17, 33}, {40, 3}};
    cnn_augment_row1_fn *rows[4];
    int nrows = cnn_augment_row1_sets(rows, 4);
    if (!nrows)
        test_skip("no SIMD rows on this CPU");
    for (int r = 0; r < nrows; r++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            int bad = simd_differs(rows[r], sizes[k][0], sizes[k][1], 200);
            CHECK(bad == 0, "rows %d, %dx%d: %d images differ from the scalar rows", r,
                  sizes[k][0], sizes[k][1], bad);
        }
    float src[28 * 28], a[28 * 28], b[28 * 28];
    cnn_augment_xf xf = {0.5f, -1.25f, 33, 1.2f, 0};
    fill(src, 28 * 28, 9);
    cnn_augment_apply(&xf, 28, 28, 1, src, a);
    cnn_augment_apply_with(&xf, 28, 28, 1, src, b, nrows ? rows[0] : NULL);
    CHECK(!memcmp(a, b, sizeof a), "cnn_augment_apply does not take the widest rows");
}

static void test_parse_accepted(void)
{
    const struct { const char *text, *canonical; } ok[] = {
        {NULL, "none"}, {"", "none"}, {"none", "none"},
        {"shift=2", "shift=2"}, {"rotate=10,shift=2", "shift=2,rotate=10"},
        {"zoom=0.1,rotate=10,shift=2", "shift=2,rotate=10,zoom=0.1"},
        {"shift=0,zoom=0.5", "zoom=0.5"}, {"rotate=180", "rotate=180"},
        {"shift=1.5e0,zoom=.15", "shift=1.5,zoom=0.15"}, {"shift=0", "none"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cnn_augment a = {9, 9, 9, 0}, back;
        const char *why = NULL;
        char text[CNN_AUGMENT_TEXT];
        int rc = cnn_augment_parse(ok[i].text, &a, &why);
        CHECK(rc == 0, "'%s' refused: %s", ok[i].text ? ok[i].text : "(null)", why);
        cnn_augment_format(&a, text, sizeof text);
        CHECK(!strcmp(text, ok[i].canonical), "'%s' written back as '%s', not '%s'",
              ok[i].text ? ok[i].text : "(null)", text, ok[i].canonical);
        CHECK(cnn_augment_parse(text, &back, &why) == 0 && !memcmp(&a, &back, sizeof a),
              "'%s' does not read back", text);
    }
    cnn_augment odd = {1.0f / 3, 1e-3f, 0.123456789f, 0}, back;
    char text[CNN_AUGMENT_TEXT];
    const char *why;
    cnn_augment_format(&odd, text, sizeof text);
    CHECK(cnn_augment_parse(text, &back, &why) == 0 && !memcmp(&odd, &back, sizeof odd),
          "'%s' does not read back exactly", text);
}

static void test_parse_refused(void)
{
    const struct { const char *text, *names; } bad[] = {
        {"shift=abc", "shift"}, {"rotate=500", "rotate"}, {"foo=1", "foo"},
        {"shift=1,shift=2", "twice"}, {"shift", "NAME=VALUE"}, {"shift=", "shift"},
        {"shift=-1", "shift"}, {"zoom=0.6", "zoom"}, {"shift=2,", "NAME=VALUE"},
        {",shift=2", "NAME=VALUE"}, {"shift=nan", "shift"}, {"rotate=inf", "rotate"},
        {"shift=1 ", "shift"}, {"Shift=1", "Shift"}, {"shift=0x10", "shift"},
        {"shift=3000", "shift"}, {"none,shift=1", "NAME=VALUE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cnn_augment a = {1, 2, 0.25f, 0};
        const char *why = NULL;
        int rc = cnn_augment_parse(bad[i].text, &a, &why);
        CHECK(rc == -1 && why && strstr(why, bad[i].names) && !strchr(why, '\n'),
              "'%s': rc %d, reason '%s'", bad[i].text, rc, why ? why : "(none)");
        CHECK(a.shift == 1 && a.rotate == 2 && a.zoom == 0.25f, "'%s' changed the output",
              bad[i].text);
    }
}

/* Random texts, built from the grammar's pieces: an accepted one is in
   range and reads back from its canonical text; a refused one leaves the
   output alone and says why in one line. */
static void test_parse_random(void)
{
    static const char *const pieces[] = {"shift", "rotate", "zoom", "=", ",", "0", "1",
                                         "2.5", ".", "e", "-", "180", "0.5", "none", "x", " "};
    uint64_t st = 77;
    int accepted = 0;
    for (int t = 0; t < 20000; t++) {
        char text[128] = "";
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        int n = (int)(st >> 60);
        for (int i = 0; i < n; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            strcat(text, pieces[(st >> 59) % (sizeof pieces / sizeof pieces[0])]);
        }
        cnn_augment a = {1, 2, 0.25f, 0}, back;
        const char *why = NULL;
        if (cnn_augment_parse(text, &a, &why) == 0) {
            accepted++;
            char canon[CNN_AUGMENT_TEXT];
            cnn_augment_format(&a, canon, sizeof canon);
            CHECK(a.shift >= 0 && a.shift <= 2048 && a.rotate >= 0 && a.rotate <= 180 &&
                      a.zoom >= 0 && a.zoom <= 0.5f,
                  "'%s' accepted out of range", text);
            CHECK(cnn_augment_parse(canon, &back, &why) == 0 && !memcmp(&a, &back, sizeof a),
                  "'%s' -> '%s' does not read back", text, canon);
        } else
            CHECK(why && !strchr(why, '\n') && strlen(why) < 200 && a.shift == 1 &&
                      a.rotate == 2 && a.zoom == 0.25f,
                  "'%s' refused badly: '%s'", text, why ? why : "(no reason)");
    }
    CHECK(accepted > 100, "only %d of the random texts accepted", accepted);
}

static void test_fits(void)
{
    cnn_augment a = {14, 0, 0, 0};
    CHECK(cnn_augment_fits(&a, 28, 28) == NULL, "shift 14 on 28x28 refused");
    a.shift = 14.5f;
    const char *why = cnn_augment_fits(&a, 28, 28);
    CHECK(why && strstr(why, "shift"), "shift 14.5 on 28x28: '%s'", why ? why : "accepted");
    a.shift = 10;
    CHECK(cnn_augment_fits(&a, 32, 20) == NULL, "shift 10 on 32x20 refused");
    a.shift = 11;
    CHECK(cnn_augment_fits(&a, 32, 20) != NULL, "shift 11 on 32x20 accepted");
}

/* The longest canonical texts (every setting, nine digits, e-notation)
   fit CNN_AUGMENT_TEXT and parse back to the same settings. */
static void test_long_text_round_trip(void)
{
    static const cnn_augment cases[] = {
        {1.2345678f, 12.345678f, 0.12345678f, 0.12345678f},
        {1e-05f, 1.2345678e-05f, 1.2345678e-05f, 1.2345678e-05f},
        {2047.1234f, 179.12345f, 0.49999997f, 0.99999994f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[CNN_AUGMENT_TEXT];
        cnn_augment back;
        const char *why = "";
        cnn_augment_format(&cases[i], text, sizeof text);
        CHECK(strlen(text) + 1 < sizeof text, "case %zu: '%s' fills the buffer", i, text);
        CHECK(cnn_augment_parse(text, &back, &why) == 0, "'%s': %s", text, why);
        CHECK(!memcmp(&back, &cases[i], sizeof back), "'%s' reads back otherwise", text);
    }
}

/* flip=1 mirrors every image exactly; flip=0.5 about half of them. */
static void test_flip(void)
{
    enum { H = 5, W = 7 };
    float src[H * W], dst[H * W];
    fill(src, H * W, 11);
    cnn_augment_xf xf = {0, 0, 0, 1, 1};
    cnn_augment_apply(&xf, H, W, 1, src, dst);
    int off = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            off += dst[y * W + x] != src[y * W + (W - 1 - x)];
    CHECK(off == 0, "%d pixels not mirrored", off);
    cnn_augment half = {0, 0, 0, 0.5f};
    int flipped = 0;
    for (long i = 0; i < 2000; i++) {
        cnn_augment_draw(&half, 3, 1, i, &xf);
        flipped += xf.flip;
    }
    CHECK(flipped > 900 && flipped < 1100, "%d of 2000 flipped at 0.5", flipped);
}

TEST_TABLE(augment,
           {"flip", test_flip},
           {"long_text_round_trip", test_long_text_round_trip},
           {"identity_exact", test_identity_exact},
           {"shift_exact", test_shift_exact},
           {"rotate_quarter", test_rotate_quarter},
           {"zoom_centre", test_zoom_centre},
           {"zero_fill", test_zero_fill},
           {"against_reference", test_against_reference},
           {"simd_matches_scalar", test_simd_matches_scalar},
           {"draw_keyed", test_draw_keyed},
           {"draw_ranges", test_draw_ranges},
           {"parse_accepted", test_parse_accepted},
           {"parse_refused", test_parse_refused},
           {"parse_random", test_parse_random},
           {"fits", test_fits})
