/*
 * suggest.h — "did you mean": the names closest to a mistyped one, by
 * edit distance, for the messages that refuse an unknown command, option,
 * preset or layer.
 */
#ifndef CNN_SUGGEST_H
#define CNN_SUGGEST_H

#include <stddef.h>

/* The optimal string alignment distance between a and b (Levenshtein
   with adjacent transpositions, "trian" -> "train" is 1), ASCII letters
   compared without case; words longer than 63 bytes count as far. */
int cnn_edit_distance(const char *a, const char *b);

/* Write the names of names[0..n) worth suggesting for word into buf as
   "'train'" or "'seed' or 'bn'" (the closest, at most 3, in the order of
   names) and return how many; 0 (buf "") when none is close.  Close:
   within 1 edit for a word of 3 to 5 letters, 2 from 6 on (none under 3
   letters but a change of case), or else word, of 2 letters or more,
   starting a name (after every name within the edits). */
int cnn_suggest(const char *word, const char *const *names, int n, char *buf, size_t size);

/* The index of the one name closest to word, as cnn_suggest chooses; -1
   when none is close or several are equally close. */
int cnn_closest(const char *word, const char *const *names, int n);

#endif /* CNN_SUGGEST_H */
