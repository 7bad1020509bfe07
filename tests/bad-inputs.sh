#!/bin/sh
# bad-inputs.sh — the acceptance table of bad inputs: makes each bad file,
# option or path in a temporary directory, runs the cnn command ($CNN_BIN,
# default ./cnn) on it and checks that it
#   - exits with the expected code (1: the work failed, a bad file or path;
#     2: a bad command line), never by a signal or a sanitizer (>= 128),
#   - prints exactly one line on stderr, starting with "cnn: ",
#   - leaves the output directory as it found it (no weights, checkpoint,
#     log or temporary file written).
#   tests/bad-inputs.sh [--write-doc]
# --write-doc also rewrites docs/bad-inputs.md: one row per case with the
# command and the message as printed, temporary paths shown as $TMP.
# Exits 1 when any case fails, naming it.
set -eu
cd "$(dirname "$0")/.."

WRITE_DOC=0
case "${1:-}" in
--write-doc) WRITE_DOC=1 ;;
"") ;;
*) echo "usage: tests/bad-inputs.sh [--write-doc]" >&2; exit 2 ;;
esac
BIN=${CNN_BIN:-./cnn}
[ -x "$BIN" ] || { echo "bad-inputs: $BIN is not built (make all)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") # cases may run elsewhere
for tool in gzip od dd timeout perl; do
    command -v $tool >/dev/null 2>&1 || { echo "bad-inputs: needs $tool" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/cnn-bad.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
OUT="$T/out"
R="$T/.runner" # the runner's own files, outside the snapshot
ROWS="$R/rows"
mkdir -p "$OUT" "$R"
: >"$ROWS"
export OMP_NUM_THREADS=1
# Address-space limit of each case, KiB (ASan cannot start under one: set
# BAD_INPUTS_ULIMIT_V=unlimited for a sanitizer build).
VMEM=${BAD_INPUTS_ULIMIT_V:-4000000}

# ------------------------------------------------------------ file makers

byte() { printf "\\$(printf %03o "$1")"; }
be32() { byte $(($1 >> 24 & 255)); byte $(($1 >> 16 & 255)); byte $(($1 >> 8 & 255)); byte $(($1 & 255)); }
le64() { v=$1; i=0; while [ $i -lt 8 ]; do byte $((v & 255)); v=$((v >> 8)); i=$((i + 1)); done; }

# idx3 FILE COUNT ROWS COLS [DATA-BYTES [TYPE]]: an image file
idx3() {
    { byte 0; byte 0; byte "${6:-8}"; byte 3; be32 "$2"; be32 "$3"; be32 "$4"
      head -c "${5:-$(($2 * $3 * $4))}" /dev/zero | tr '\0' '\100'; } >"$1"
}
# idx1 FILE COUNT [LABELS-COUNT [BAD-LABEL]]: a label file with labels 0..9
idx1() {
    { byte 0; byte 0; byte 8; byte 1; be32 "$2"; i=0
      while [ $i -lt "${3:-$2}" ]; do byte $((i % 10)); i=$((i + 1)); done
      [ -z "${4:-}" ] || byte "$4"; } >"$1"
}
# mnist DIR [ROWS COLS]: a small valid MNIST-style directory
mnist() {
    mkdir -p "$1"
    idx3 "$1/train-images-idx3-ubyte" 64 "${2:-28}" "${3:-28}"
    idx1 "$1/train-labels-idx1-ubyte" 64
    idx3 "$1/t10k-images-idx3-ubyte" 20 "${2:-28}" "${3:-28}"
    idx1 "$1/t10k-labels-idx1-ubyte" 20
}
# variant NAME: a copy of the good directory to break, in $D
variant() { D="$T/data-$1"; rm -rf "$D"; cp -r "$T/good" "$D"; }
# header of a safetensors file: its length, and the JSON into a file
st_len() { od -An -tu1 -N8 "$1" | awk '{ n = 0; for (i = NF; i >= 1; i--) n = n * 256 + $i; print n }'; }
# st_patch IN OUT SED-EXPR: same-length edit of the JSON header only
st_patch() {
    n=$(st_len "$1")
    dd if="$1" bs=1 skip=8 count="$n" 2>/dev/null | LC_ALL=C sed "$3" >"$T/hdr"
    [ "$(wc -c <"$T/hdr")" = "$n" ] || { echo "bad-inputs: st_patch changed the header length" >&2; exit 1; }
    { head -c 8 "$1"; cat "$T/hdr"; tail -c +$((9 + n)) "$1"; } >"$2"
}
# flip FILE OFFSET: invert one byte in place
flip() {
    b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    byte $((b ^ 255)) | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
size() { wc -c <"$1" | tr -d ' '; }
# pgm FILE WIDTH HEIGHT [PIXEL-BYTES]: a binary PGM image; png_sig: PNG's signature
pgm() { printf 'P5\n%s %s\n255\n' "$2" "$3" >"$1"; head -c "${4:-$(($2 * $3))}" /dev/zero >>"$1"; }
png_sig() { printf '\211PNG\r\n\032\n'; }

# ----------------------------------------------------------------- runner

FAILED=""
NCASES=0

shown() { # the text with temp paths as $TMP, newlines as \n (one table row), and
    # what does not print escaped as cnn escapes it (C1 controls, U+200B-U+200F,
    # U+2028-U+202E, bytes that cannot be UTF-8)
    printf '%s' "$1" | sed "s#$T#\$TMP#g" | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }' |
        perl -pe 's/\xe2\x80([\x8b-\x8f\xa8-\xae])/sprintf("\\u{20%02x}", ord($1) - 0x80)/ge;
                  s/\xc2([\x80-\x9f])/sprintf("\\u{%04x}", ord $1)/ge;
                  s/([\xc0\xc1\xf5-\xff])/sprintf("\\x%02x", ord $1)/ge'
}
quote_args() {
    s="cnn"
    for a in "$@"; do
        case $a in
        "" | *[!A-Za-z0-9_./:,=+@%-]*) s="$s '$a'" ;;
        *) s="$s $a" ;;
        esac
    done
    printf '%s' "$s"
}
md() { printf '%s' "$1" | sed 's/|/\\|/g'; }
# Every file under $T with its type, inode, size and modification time (of
# directories only the name): a file replaced, truncated, written or left
# behind changes it.
snapshot() {
    find "$T" -path "$R" -prune -o -type d -printf '%p d\n' -o -printf '%p %y %i %s %T@\n' |
        sort
}

# Settings of the next check only (reset after it):
#   IN_DIR=DIR    run the command in DIR instead of the repository root
#   ENV="A=1 B=2" extra environment of the command
#   STDOUT=FILE   stdout goes to FILE (default: a file of the runner's)
IN_DIR="" ENV="" STDOUT=""

# check NAME EXPECTED-EXIT ARGS...: run the case under `timeout 10` and
# `ulimit -v 4000000` (no hang, no huge allocation), record its row.
# Expected exit 1 or 2: exactly one line on stderr, starting with "cnn: ".
# Expected exit 0 (a valid input that once failed): stderr is free.
# Either way nothing under $T may change: no file written, replaced,
# truncated or left behind.
check() {
    name=$1 want=$2
    shift 2
    NCASES=$((NCASES + 1))
    before=$(snapshot)
    rc=0
    ( cd "${IN_DIR:-.}" && ulimit -v "$VMEM" && exec env $ENV timeout 10 "$BIN" "$@" \
        >"${STDOUT:-$R/stdout}" 2>"$R/stderr" </dev/null ) || rc=$?
    after=$(snapshot)
    lines=$(wc -l <"$R/stderr" | tr -d ' ')
    first=$(head -n 1 "$R/stderr")
    why=""
    if [ "$rc" = 124 ]; then
        why="timed out"
    elif [ "$rc" -ge 128 ]; then
        why="crashed (exit $rc)"
    elif [ "$rc" != "$want" ]; then
        why="exit $rc, expected $want"
    fi
    if [ "$want" != 0 ]; then
        [ "$lines" = 1 ] && [ "$(tail -c 1 "$R/stderr" | od -An -tu1 | tr -d ' ')" = 10 ] ||
            why="${why:+$why; }$lines lines on stderr"
        case $first in "cnn: "*) ;; *) why="${why:+$why; }stderr does not start with 'cnn: '" ;; esac
    fi
    [ "$before" = "$after" ] ||
        why="${why:+$why; }files changed: $(printf '%s\n' "$before" "$after" | sort | uniq -u |
            awk '{ print $1 }' | sort -u | tr '\n' ' ')"
    cmd=$(shown "$(quote_args "$@")")
    [ -z "$ENV" ] || cmd="$ENV $cmd"
    msg=$(shown "$first")
    if [ -n "$why" ]; then
        FAILED="$FAILED $name"
        echo "FAIL $name: $why" >&2
        echo "     $cmd" >&2
        sed 's/^/     | /' "$R/stderr" | head -n 5 >&2
    fi
    printf '| %s | `%s` | %s | %s |\n' "$name" "$(md "$cmd")" "$rc" "$(md "$msg")" >>"$ROWS"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    IN_DIR="" ENV="" STDOUT=""
}

# Conditions of the case just run, checked after it:
#   stdout_has NAME TEXT     its stdout holds TEXT
#   stderr_lacks NAME TEXT   its stderr does not (a raw control character)
#   stderr_has NAME TEXT     its stderr does
also() { FAILED="$FAILED $1"; echo "FAIL $1: $2" >&2; }
stdout_has() { grep -qF -- "$2" "$R/stdout" || also "$1" "stdout lacks '$2'"; }
stderr_lacks() { ! grep -qF -- "$2" "$R/stderr" || also "$1" "stderr holds '$2'"; }
stderr_has() { grep -qF -- "$2" "$R/stderr" || also "$1" "stderr lacks '$2'"; }

# ---------------------------------------------------------- good material

mnist "$T/good"
TRAIN="--quiet --epochs 1 --steps 1 --threads 1 --model logreg"
W="$T/w.safetensors"
C="$T/c.ckpt"
"$BIN" train --data "$T/good" $TRAIN --epochs 0 --save "$W" >/dev/null 2>&1 ||
    { echo "bad-inputs: cannot make the good weights with $BIN" >&2; exit 1; }
"$BIN" train --data "$T/good" --quiet --epochs 1 --steps 2 --threads 1 --batch 8 \
    --model logreg --checkpoint "$C" >/dev/null 2>&1 ||
    { echo "bad-inputs: cannot make the good checkpoint with $BIN" >&2; exit 1; }
SAVE="$OUT/w.safetensors"

# ----------------------------------------------------------------- cases

# One file per class of bad input, in order of their names.
for part in tests/bad-inputs/*.sh; do
    . "$part"
done

# ------------------------------------------------------------------ report

if [ "$WRITE_DOC" = 1 ]; then
    mkdir -p docs
    {
        echo "# Bad inputs"
        echo
        echo "What the \`cnn\` command does with each bad input of the acceptance"
        echo "table. Generated by \`tests/bad-inputs.sh --write-doc\` (do not edit by"
        echo "hand); \`tests/bad-inputs.sh\` checks, for every case, that the exit code is"
        echo "the one expected (1: the work failed — a bad file or path; 2: a bad"
        echo "command line), that stderr holds exactly one line starting with \`cnn: \`,"
        echo "that the process did not die of a signal or a sanitizer, and that nothing"
        echo "was written to the output path. \`\$TMP\` stands for the script's temporary"
        echo "directory; \`--data\` points at small generated MNIST-style files there."
        echo
        echo "| case | command | exit | message |"
        echo "|---|---|---|---|"
        cat "$ROWS"
    } >docs/bad-inputs.md
    echo "bad-inputs: wrote docs/bad-inputs.md" >&2
fi

nfail=$(echo $FAILED | wc -w | tr -d ' ')
echo "bad-inputs: $((NCASES - nfail)) of $NCASES cases passed" >&2
if [ -n "$FAILED" ]; then
    echo "bad-inputs: FAILED:$FAILED" >&2
    exit 1
fi
