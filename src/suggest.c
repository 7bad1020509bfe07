/*
 * suggest.c — "did you mean": an edit distance (optimal string alignment,
 * a Damerau-Levenshtein distance without edits inside a transposition) and
 * the choice of the names close enough to a mistyped word to suggest.
 */
#include "suggest.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { LONGEST = 63, FAR = 1000 };

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    return m < c ? m : c;
}

static int same(char x, char y)
{
    return tolower((unsigned char)x) == tolower((unsigned char)y);
}

int cnn_edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > LONGEST || lb > LONGEST)
        return FAR;
    /* d[i][j]: distance between the first i bytes of a and j of b */
    int d[LONGEST + 1][LONGEST + 1];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = !same(a[i - 1], b[j - 1]);
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1]) &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    return d[la][lb];
}

/* How close name is to word: the edit distance when within the edits
   allowed, one more for a name that word starts (so closer names win),
   else FAR. */
static int score(const char *word, const char *name)
{
    size_t lw = strlen(word);
    int allowed = lw < 3 ? 0 : lw < 6 ? 1 : 2;
    int d = cnn_edit_distance(word, name);
    if (d <= allowed) /* 0: the case differs */
        return d;
    if (lw >= 2 && lw < strlen(name) && strncmp(word, name, lw) == 0)
        return allowed + 1;
    return FAR;
}

int cnn_closest(const char *word, const char *const *names, int n)
{
    int best = FAR, at = -1, ties = 0;
    for (int i = 0; i < n; i++) {
        int s = score(word, names[i]);
        ties = s == best ? ties + 1 : s < best ? 0 : ties;
        at = s < best ? i : at;
        best = s < best ? s : best;
    }
    return ties ? -1 : at;
}

int cnn_suggest(const char *word, const char *const *names, int n, char *buf, size_t size)
{
    int best = FAR, count = 0;
    size_t len = 0;
    if (size)
        buf[0] = 0;
    for (int i = 0; i < n; i++) {
        int s = score(word, names[i]);
        best = s < best ? s : best;
    }
    for (int i = 0; best < FAR && i < n && count < 3; i++) {
        if (score(word, names[i]) != best)
            continue;
        int w = snprintf(buf + len, size - len, "%s'%s'", count ? " or " : "", names[i]);
        len += w > 0 ? (size_t)w : 0;
        len = len < size ? len : size;
        count++;
    }
    return count;
}
