/*
 * escape.h — text from file names and file contents made safe for one line
 * on a terminal: what does not print (ASCII controls, C1 controls, Unicode
 * format characters such as the bidirectional overrides, invalid UTF-8) is
 * shown as an escape, the rest is kept as it is.
 */
#ifndef CNN_CLI_ESCAPE_H
#define CNN_CLI_ESCAPE_H

#include <stddef.h>

/* s into out (size bytes, always NUL-terminated, cut at a whole escape
   when it does not fit): ASCII controls and bytes that are not UTF-8
   become \xNN, printable UTF-8 stays, and C1 controls and the invisible
   or reordering code points (U+00AD, U+200B-U+200F, U+2028-U+202E,
   U+2060-U+206F, U+FEFF, U+FFF9-U+FFFB) become \u{XXXX}.  Returns out. */
char *cli_escape(const char *s, char *out, size_t size);

#endif /* CNN_CLI_ESCAPE_H */
