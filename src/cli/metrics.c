/*
 * metrics.c — the training metrics log (see metrics.h): records formatted
 * as CSV or JSON Lines and appended one write(2) each; a resumed run's log
 * cut back to the checkpoint's step; and the reader `cnn plot` uses, with a
 * strict CSV parser (header-named columns, quoted fields) and jansson for
 * JSON Lines, reporting the file and line of anything malformed.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "files.h"
#include "outfile.h"

/* The columns, in the order they are written. */
enum { COL_KIND, COL_EPOCH, COL_STEP, COL_FRACTION, COL_LOSS, COL_ACCURACY, COL_VAL_LOSS,
       COL_VAL_ACCURACY, COL_IMAGES_PER_S, COL_WALL_S, NCOLS };
static const char *const column[NCOLS] = {
    "kind", "epoch", "step", "epoch_fraction", "loss", "accuracy",
    "val_loss", "val_accuracy", "images_per_s", "wall_s"};
/* Columns a log must have to be read. */
static const int required[] = {COL_KIND, COL_EPOCH, COL_STEP, COL_LOSS, COL_ACCURACY};

enum { FMT_NONE, FMT_CSV, FMT_JSON };

struct metrics_log {
    int fd;          /* -1 until the first record */
    int format;
    char *path;
    char *start;     /* what the file starts with, until it is written */
    size_t start_len;
};

static int start(metrics_log *l);

static int format_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return FMT_NONE;
    if (!strcasecmp(dot, ".csv"))
        return FMT_CSV;
    if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".json"))
        return FMT_JSON;
    return FMT_NONE;
}

int metrics_format_ok(const char *path)
{
    return format_of(path) != FMT_NONE;
}

/* ---------------------------------------------------------------- writing */

/* Append text to buf (capacity size, *at used so far), like snprintf. */
static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
    if (*at >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, size - *at, fmt, ap);
    va_end(ap);
    *at += n > 0 ? (size_t)n : 0;
}

/* One record as a line with its newline; returns its length (0 when it
   did not fit, which cannot happen with the sizes used). */
static size_t format_record(char *buf, size_t size, int format, const cnn_progress *p)
{
    double v[NCOLS];
    v[COL_FRACTION] = p->steps_per_epoch > 0
                          ? p->epoch - 1 + (double)p->step / (double)p->steps_per_epoch
                          : p->epoch;
    v[COL_LOSS] = p->loss;
    v[COL_ACCURACY] = p->accuracy;
    v[COL_VAL_LOSS] = p->validated ? p->val_loss : NAN;
    v[COL_VAL_ACCURACY] = p->validated ? p->val_accuracy : NAN;
    v[COL_IMAGES_PER_S] = p->run_s > 0 ? (double)p->run_images / p->run_s : NAN;
    v[COL_WALL_S] = p->train_s;
    const char *kind = p->epoch_done ? "epoch" : "step";
    size_t at = 0;
    if (format == FMT_JSON)
        put(buf, size, &at, "{\"kind\":\"%s\",\"epoch\":%d,\"step\":%ld", kind, p->epoch,
            p->global_step);
    else
        put(buf, size, &at, "%s,%d,%ld", kind, p->epoch, p->global_step);
    for (int c = COL_FRACTION; c < NCOLS; c++) {
        if (format == FMT_JSON)
            put(buf, size, &at, ",\"%s\":", column[c]);
        else
            put(buf, size, &at, ",");
        /* JSON has no NaN or infinity: null, as for a value not taken. */
        if (isfinite(v[c]))
            put(buf, size, &at, "%.9g", v[c]);
        else if (format == FMT_JSON)
            put(buf, size, &at, "null");
    }
    put(buf, size, &at, format == FMT_JSON ? "}\n" : "\n");
    return at < size ? at : 0;
}

static void csv_header(char *buf, size_t size)
{
    size_t at = 0;
    for (int c = 0; c < NCOLS; c++)
        put(buf, size, &at, "%s%s", c ? "," : "", column[c]);
}

int metrics_write(metrics_log *l, const cnn_progress *p)
{
    if (l->fd < 0 && start(l) != 0)
        return -1;
    char line[1024];
    size_t len = format_record(line, sizeof line, l->format, p);
    /* Where the file ends now, to cut a partial line back off. */
    off_t end = lseek(l->fd, 0, SEEK_END);
    ssize_t w;
    do
        w = write(l->fd, line, len);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)len)
        return 0;
    int e = w < 0 ? errno : ENOSPC;
    if (w > 0 && end >= 0 && ftruncate(l->fd, end) != 0) {
        /* the partial line stays; the error below is reported anyway */
    }
    cli_say("%s: write failed: %s", l->path, strerror(e));
    return -1;
}

int metrics_close(metrics_log *l)
{
    if (!l)
        return 0;
    int rc = 0;
    free(l->start);
    if (l->fd < 0) { /* no record written: the file is as it was */
        free(l->path);
        free(l);
        return 0;
    }
    if (fsync(l->fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        cli_say("%s: fsync failed: %s", l->path, strerror(errno));
        rc = -1;
    }
    if (close(l->fd) != 0 && rc == 0) {
        cli_say("%s: close failed: %s", l->path, strerror(errno));
        rc = -1;
    }
    free(l->path);
    free(l);
    return rc;
}

/* ---------------------------------------------------------------- reading */

/* The whole file, NUL-terminated (malloc'ed).  NULL after an error, or
   with errno ENOENT and no message when missing_ok and it is missing. */
static char *slurp(const char *path, size_t *len, int missing_ok)
{
    struct stat st;
    if (missing_ok && stat(path, &st) != 0 && errno == ENOENT)
        return NULL;
    int fd = cnn_open_input(path, "a metrics log", NULL);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        cli_say("%s", fd < 0 ? cnn_last_error() : strerror(errno));
        if (fd >= 0)
            close(fd);
        errno = EIO;
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (ferror(f)) {
            cli_say("%s: read failed: %s", path, strerror(errno));
            free(buf);
            buf = NULL;
            break;
        }
        if (feof(f))
            break;
        char *more = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2) : NULL;
        if (!more) {
            free(buf);
            buf = NULL;
            cli_say("%s: out of memory", path);
            break;
        }
        buf = more;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    } else {
        errno = EIO;
    }
    return buf;
}

/* What the parser collects: the records, each line's span in the text,
   and the CSV header's span. */
typedef struct parsed {
    metrics_record *rec;
    size_t *start, *end; /* line spans, newline excluded */
    size_t n, cap;
    size_t header_start, header_end;
    int has_header;
} parsed;

static void parsed_free(parsed *p)
{
    free(p->rec), free(p->start), free(p->end);
    p->rec = NULL, p->start = p->end = NULL;
    p->n = p->cap = 0;
}

/* Print "cnn: PATH:LINE: message" (nothing when path is NULL: a quiet
   try) and return -1. */
static int bad_line(const char *path, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_line(const char *path, long line, const char *fmt, ...)
{
    if (!path)
        return -1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_say("%s:%ld: %s", path, line, msg);
    return -1;
}

/* At most max bytes of s, text from the file, made safe for a one-line
   message: control characters become \xNN.  out needs 4 * max + 1 bytes. */
static const char *shown(char *out, const char *s, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < max && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = 0;
    return out;
}

/* A number field: empty is NAN; else the whole text must be a number. */
static int parse_double(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *out = NAN;
        return 1;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || end == s)
        return 0;
    *out = v;
    return 1;
}

static int parse_count(const char *s, long *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || end == s || errno || v < 0)
        return 0;
    *out = v;
    return 1;
}

enum { MAX_FIELDS = 64 };

/* Split a CSV line (NUL-terminated, modified in place) into fields,
   undoing quotes.  Returns the field count, or -1 for a quote left open,
   text after a closing quote, or more than MAX_FIELDS fields. */
static int csv_split(char *s, char **field)
{
    int n = 0;
    for (;;) {
        if (n == MAX_FIELDS)
            return -1;
        char *out = s;
        field[n++] = s;
        if (*s == '"') { /* quoted: "" is a quote */
            char *in = s + 1;
            for (;;) {
                if (!*in)
                    return -1;
                if (*in == '"') {
                    if (in[1] != '"')
                        break;
                    in++;
                }
                *out++ = *in++;
            }
            in++; /* the closing quote */
            if (*in != ',' && *in)
                return -1;
            s = in;
        } else {
            while (*s && *s != ',')
                s++;
            out = s;
        }
        char sep = *s;
        *out = 0;
        if (!sep)
            return n;
        s++;
    }
}

static int add_record(parsed *p, const metrics_record *r, size_t start, size_t end)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        metrics_record *rec = realloc(p->rec, cap * sizeof *rec);
        if (rec)
            p->rec = rec;
        size_t *s = realloc(p->start, cap * sizeof *s);
        if (s)
            p->start = s;
        size_t *e = realloc(p->end, cap * sizeof *e);
        if (e)
            p->end = e;
        if (!rec || !s || !e)
            return -1;
        p->cap = cap;
    }
    p->rec[p->n] = *r;
    p->start[p->n] = start;
    p->end[p->n++] = end;
    return 0;
}

/* The kind field's value. */
static int parse_kind(const char *s, int *is_epoch)
{
    if (!strcmp(s, "epoch"))
        return *is_epoch = 1;
    if (!strcmp(s, "step"))
        return *is_epoch = 0, 1;
    return 0;
}

/* Map the CSV header's fields to columns: index[c] is the field of
   column c, or -1. */
static int csv_header_map(const char *path, long line, char **field, int n, int *index)
{
    for (int c = 0; c < NCOLS; c++)
        index[c] = -1;
    for (int i = 0; i < n; i++) {
        const char *name = field[i];
        while (*name == ' ' || *name == '\t')
            name++;
        size_t len = strlen(name);
        while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
            len--;
        for (int c = 0; c < NCOLS; c++)
            if (strlen(column[c]) == len && !strncmp(name, column[c], len)) {
                if (index[c] >= 0)
                    return bad_line(path, line, "column '%s' appears twice in the header",
                                    column[c]);
                index[c] = i;
            }
    }
    for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
        if (index[required[k]] < 0)
            return bad_line(path, line, "the header has no '%s' column (is this a metrics "
                            "log?)", column[required[k]]);
    return 0;
}

/* One CSV record line (a modifiable copy) into r. */
static int csv_record(const char *path, long line, char *text, const int *index,
                      int nheader, metrics_record *r)
{
    char *field[MAX_FIELDS], buf[4 * 20 + 1];
    int n = csv_split(text, field);
    if (n < 0)
        return bad_line(path, line, "malformed CSV (unbalanced quotes or too many fields)");
    if (n != nheader)
        return bad_line(path, line, "expected %d fields, found %d", nheader, n);
    if (!parse_kind(field[index[COL_KIND]], &r->is_epoch))
        return bad_line(path, line, "kind must be 'epoch' or 'step', found '%s'",
                        shown(buf, field[index[COL_KIND]], 20));
    long epoch;
    if (!parse_count(field[index[COL_EPOCH]], &epoch) || epoch > 1000000000L)
        return bad_line(path, line, "epoch must be a whole number, found '%s'",
                        shown(buf, field[index[COL_EPOCH]], 20));
    r->epoch = (int)epoch;
    if (!parse_count(field[index[COL_STEP]], &r->step))
        return bad_line(path, line, "step must be a whole number, found '%s'",
                        shown(buf, field[index[COL_STEP]], 20));
    double *value[NCOLS] = {[COL_FRACTION] = &r->epoch_fraction, [COL_LOSS] = &r->loss,
                            [COL_ACCURACY] = &r->accuracy, [COL_VAL_LOSS] = &r->val_loss,
                            [COL_VAL_ACCURACY] = &r->val_accuracy,
                            [COL_IMAGES_PER_S] = &r->images_per_s, [COL_WALL_S] = &r->wall_s};
    for (int c = COL_FRACTION; c < NCOLS; c++) {
        *value[c] = NAN;
        if (index[c] >= 0 && !parse_double(field[index[c]], value[c]))
            return bad_line(path, line, "%s must be a number, found '%s'", column[c],
                            shown(buf, field[index[c]], 20));
    }
    return 0;
}

/* One JSON Lines record into r. */
static int json_record(const char *path, long line, const char *text, size_t len,
                       metrics_record *r)
{
    json_error_t err;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!o) {
        char buf[4 * JSON_ERROR_TEXT_LENGTH + 1];
        return bad_line(path, line, "malformed JSON: %s",
                        shown(buf, err.text, JSON_ERROR_TEXT_LENGTH));
    }
    int rc = -1;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    json_t *epoch = json_object_get(o, "epoch"), *step = json_object_get(o, "step");
    if (!json_is_object(o)) {
        bad_line(path, line, "expected a JSON object");
        goto out;
    }
    if (!kind || !parse_kind(kind, &r->is_epoch)) {
        bad_line(path, line, "\"kind\" must be \"epoch\" or \"step\"");
        goto out;
    }
    if (!json_is_integer(epoch) || json_integer_value(epoch) < 0 ||
        json_integer_value(epoch) > 1000000000) {
        bad_line(path, line, "\"epoch\" must be a whole number");
        goto out;
    }
    if (!json_is_integer(step) || json_integer_value(step) < 0) {
        bad_line(path, line, "\"step\" must be a whole number");
        goto out;
    }
    r->epoch = (int)json_integer_value(epoch);
    r->step = (long)json_integer_value(step);
    double *value[NCOLS] = {[COL_FRACTION] = &r->epoch_fraction, [COL_LOSS] = &r->loss,
                            [COL_ACCURACY] = &r->accuracy, [COL_VAL_LOSS] = &r->val_loss,
                            [COL_VAL_ACCURACY] = &r->val_accuracy,
                            [COL_IMAGES_PER_S] = &r->images_per_s, [COL_WALL_S] = &r->wall_s};
    for (int c = COL_FRACTION; c < NCOLS; c++) {
        json_t *v = json_object_get(o, column[c]);
        *value[c] = NAN;
        if ((c == COL_LOSS || c == COL_ACCURACY) && !v) {
            bad_line(path, line, "no \"%s\"", column[c]);
            goto out;
        }
        if (json_is_number(v))
            *value[c] = json_number_value(v);
        else if (v && !json_is_null(v)) {
            bad_line(path, line, "\"%s\" must be a number or null", column[c]);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* The CSV header of line `line` (copy, at [start, stop) of the text):
   the column of each field into index, their count into *nheader.  0, or
   -1 after a one-line error. */
static int take_header(const char *path, long line, char *copy, size_t start, size_t stop,
                       int *index, int *nheader, parsed *p)
{
    char *field[MAX_FIELDS];
    *nheader = csv_split(copy, field);
    int rc = *nheader < 0 ? bad_line(path, line, "malformed CSV header")
                          : csv_header_map(path, line, field, *nheader, index);
    p->has_header = 1;
    p->header_start = start, p->header_end = stop;
    return rc != 0 ? -1 : 0;
}

/* *copy (capacity *cap) able to hold need bytes; 0, or -1 out of memory
   (the old buffer freed). */
static int fit(char **copy, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    free(*copy);
    *cap = 2 * need;
    return (*copy = malloc(*cap)) ? 0 : -1;
}

/* Parse text (len bytes) as a log of format.  lenient_tail: a malformed
   last line with no newline (a write cut short) is dropped, not an error.
   Returns 0, or -1 after a one-line error. */
static int parse_log(const char *path, const char *text, size_t len, int format,
                     int lenient_tail, parsed *p)
{
    memset(p, 0, sizeof *p);
    int index[NCOLS], nheader = 0;
    char *copy = NULL;
    size_t copy_cap = 0;
    long line = 0;
    size_t at = 0;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        at = 3; /* a UTF-8 byte order mark, as spreadsheets write */
    while (at < len) {
        size_t start = at, end = start;
        while (end < len && text[end] != '\n')
            end++;
        at = end < len ? end + 1 : len;
        int last_unterminated = end == len;
        line++;
        size_t stop = end;
        if (stop > start && text[stop - 1] == '\r')
            stop--;
        size_t first = start;
        while (first < stop && (text[first] == ' ' || text[first] == '\t'))
            first++;
        if (first == stop)
            continue; /* blank */
        if (memchr(text + start, 0, stop - start)) {
            if (lenient_tail && last_unterminated)
                break;
            parsed_free(p);
            free(copy);
            return bad_line(path, line, "a NUL byte (not a text file?)");
        }
        if (fit(&copy, &copy_cap, stop - start + 1) != 0) {
            parsed_free(p);
            cli_say("%s: out of memory", path);
            return -1;
        }
        memcpy(copy, text + start, stop - start);
        copy[stop - start] = 0;
        int rc;
        metrics_record r = {0};
        r.line = line;
        if (format == FMT_CSV && !p->has_header) {
            if (take_header(path, line, copy, start, stop, index, &nheader, p) != 0) {
                parsed_free(p);
                free(copy);
                return -1;
            }
            continue;
        }
        /* A malformed last line with no newline is a write cut short: with
           lenient_tail it is dropped quietly. */
        const char *report = lenient_tail && last_unterminated ? NULL : path;
        rc = format == FMT_CSV ? csv_record(report, line, copy, index, nheader, &r)
                               : json_record(report, line, copy, stop - start, &r);
        if (rc != 0 && !report)
            break;
        if (rc != 0) {
            parsed_free(p);
            free(copy);
            return -1;
        }
        if (isnan(r.epoch_fraction) && r.is_epoch)
            r.epoch_fraction = r.epoch;
        if (add_record(p, &r, start, stop) != 0) {
            parsed_free(p);
            free(copy);
            cli_say("%s: out of memory", path);
            return -1;
        }
    }
    free(copy);
    return 0;
}

/* The format of a log being read: by extension, else by its first
   non-blank character. */
static int sniff(const char *path, const char *text)
{
    int format = format_of(path);
    if (format != FMT_NONE)
        return format;
    text += strspn(text, " \t\r\n");
    return *text == '{' ? FMT_JSON : FMT_CSV;
}

int metrics_read(const char *path, metrics_record **out, size_t *count)
{
    size_t len;
    char *text = slurp(path, &len, 0);
    if (!text)
        return -1;
    size_t first = 0;
    while (first < len && strchr(" \t\r\n", text[first]) && text[first])
        first++;
    if (first == len) {
        free(text);
        cli_say("%s: empty file, no records", path);
        return -1;
    }
    parsed p;
    int rc = parse_log(path, text, len, sniff(path, text), 0, &p);
    free(text);
    if (rc != 0)
        return -1;
    if (p.n == 0) {
        parsed_free(&p);
        cli_say("%s: no records (only a header)", path);
        return -1;
    }
    free(p.start), free(p.end);
    *out = p.rec;
    *count = p.n;
    return 0;
}

/* ---------------------------------------------------------------- opening */

/* The log's starting contents, kept until the first record: for CSV the
   header, then the kept records' lines of text (p may be NULL: none).
   0, or -1 after a one-line error. */
static int build_start(metrics_log *l, const char *text, const parsed *p, long resume_after)
{
    FILE *f = open_memstream(&l->start, &l->start_len);
    if (!f) {
        cli_say("%s: out of memory", l->path);
        return -1;
    }
    if (l->format == FMT_CSV) {
        char header[256];
        csv_header(header, sizeof header);
        fprintf(f, "%s\n", header);
    }
    for (size_t i = 0; p && i < p->n; i++)
        if (p->rec[i].step <= resume_after)
            fprintf(f, "%.*s\n", (int)(p->end[i] - p->start[i]), text + p->start[i]);
    if (fclose(f) != 0) {
        cli_say("%s: out of memory", l->path);
        return -1;
    }
    return 0;
}

/* The records of an existing log to keep on resuming. */
static int cut_back(metrics_log *l, long resume_after)
{
    size_t len;
    errno = 0;
    char *text = slurp(l->path, &len, 1);
    if (!text)
        return errno == ENOENT ? build_start(l, NULL, NULL, 0) : -1;
    parsed p;
    int rc = parse_log(l->path, text, len, l->format, 1, &p);
    if (rc == 0 && l->format == FMT_CSV && p.has_header) {
        /* Records are appended in cnn's column order: the header must be
           cnn's. */
        char header[256];
        csv_header(header, sizeof header);
        if (p.header_end - p.header_start != strlen(header) ||
            memcmp(text + p.header_start, header, strlen(header)) != 0) {
            long line = 1;
            for (size_t i = 0; i < p.header_start; i++)
                line += text[i] == '\n';
            rc = bad_line(l->path, line, "the header is not cnn's (%s); cannot append to it",
                          header);
        }
    }
    if (rc == 0)
        rc = build_start(l, text, &p, resume_after);
    parsed_free(&p);
    free(text);
    return rc;
}

/* Before the first record: write the start atomically, open for appending
   (non-blocking for the open, so that a FIFO cannot hang it). */
static int start(metrics_log *l)
{
    outfile o;
    if (outfile_open(&o, l->path) != 0)
        return -1;
    fwrite(l->start, 1, l->start_len, o.f);
    if (outfile_commit(&o) != 0)
        return -1;
    l->fd = cnn_open_now(l->path, O_WRONLY | O_APPEND);
    if (l->fd < 0) {
        cli_say("%s: %s", l->path, strerror(errno));
        return -1;
    }
    free(l->start);
    l->start = NULL;
    return 0;
}

metrics_log *metrics_open(const char *path, long resume_after)
{
    int format = format_of(path);
    if (format == FMT_NONE) {
        cli_say("%s: a metrics log must end in .csv, .jsonl or .json", path);
        return NULL;
    }
    metrics_log *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path))) {
        cli_say("%s: out of memory", path);
        free(l);
        return NULL;
    }
    l->fd = -1;
    l->format = format;
    int rc = resume_after < 0 ? build_start(l, NULL, NULL, 0) : cut_back(l, resume_after);
    if (rc != 0) {
        metrics_close(l);
        return NULL;
    }
    return l;
}
