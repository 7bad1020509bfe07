#!/bin/sh
# lib-map.sh CC HEADER OUT — the shared library's version script: every
# function include/cnn.h declares is exported, every other symbol (the
# internals, which carry the cnn_ prefix too) stays inside.  The names come
# from the preprocessed header (comments gone), so a new function in the
# header is exported with no list to keep.  No version node: it would add
# a symbol of its own to the dynamic table, and the soname (libcnn.so.0)
# carries the ABI.
set -eu
cc=$1 header=$2 out=$3
names=$($cc -E -P -x c "$header" | grep -oE '\bcnn_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u)
[ -n "$names" ] || { echo "lib-map.sh: no cnn_ function found in $header" >&2; exit 1; }
{
    echo "{"
    echo "  global:"
    for n in $names; do echo "    $n;"; done
    echo "  local: *;"
    echo "};"
} >"$out.tmp"
mv "$out.tmp" "$out"
