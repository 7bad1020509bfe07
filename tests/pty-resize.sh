#!/bin/sh
# pty-resize.sh — the progress display of `cnn train` on a terminal that
# is resized while training runs, and its plain output (TERM=dumb, TERM
# unset, stderr a pipe): tests/pty-resize.py does the work under a
# pseudo-terminal (Python's standard pty module; no tmux needed).  Runs
# $CNN_BIN (default ./cnn) on a small generated data set in a temporary
# directory.  Prints one line per failure; exits 1 when any.
set -eu
cd "$(dirname "$0")/.."
BIN=${CNN_BIN:-./cnn}
[ -x "$BIN" ] || { echo "pty-resize: $BIN is not built (make all)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "pty-resize: needs python3" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cnn-pty.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
"$PY" tests/pty-resize.py "$BIN" "$T"
