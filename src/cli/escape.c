/*
 * escape.c — one-line-safe text for messages (escape.h): a small UTF-8
 * decoder that keeps printable code points and escapes the rest.
 */
#include "escape.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The code point of the UTF-8 sequence at s and its length in *len; -1
   (with *len 1) for a byte that does not start a valid, shortest-form
   sequence. */
static long decode(const unsigned char *s, int *len)
{
    *len = 1;
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] < 0x80)
        return s[0];
    if (n == 0 || s[0] >= 0xf5)
        return -1;
    long cp = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const long least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *len = n;
    return cp;
}

/* Code points that print nothing, or move or reorder the text around them. */
static int invisible(long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
           cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

char *cli_escape(const char *s, char *out, size_t size)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int len;
        long cp = decode(p, &len);
        char piece[16];
        if (cp < 0x20 || cp == 0x7f) /* invalid UTF-8 too (-1) */
            snprintf(piece, sizeof piece, "\\x%02x", p[0]), len = 1;
        else if (invisible(cp))
            snprintf(piece, sizeof piece, "\\u{%04lx}", cp);
        else
            memcpy(piece, p, (size_t)len), piece[len] = 0;
        size_t n = strlen(piece);
        if (o + n + 1 > size)
            break;
        memcpy(out + o, piece, n);
        o += n;
        p += len;
    }
    if (size)
        out[o] = 0;
    return out;
}
