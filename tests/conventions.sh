#!/bin/sh
# conventions.sh — the cnn command's conventions, checked on every command
# that `cnn --help` lists and every option its `--help` lists:
#   - each option taking a value works as --opt=VALUE and as --opt VALUE
#     (a sample value; the help is then printed, exit 0), a flag given
#     =VALUE is refused ("takes no value"), and a malformed value of a
#     typed option (a number, a shape, on|off, a name) is bad usage;
#   - --help, -h, `cnn help CMD`, --version and -V print to stdout, exit
#     0 and print nothing on stderr; the version is `cnn --version`'s;
#   - exit codes: 0 on success, 2 on bad usage (an unknown option, short
#     or long, a bad value, an extra argument), 1 on a failed run (a
#     missing file);
#   - stdout carries results only: nothing on stdout when the command
#     fails, every error one line on stderr starting with "cnn: ", and
#     train's stdout the same with and without --quiet (progress goes to
#     stderr).
# Runs in a temporary directory on small generated MNIST-style files.
#   tests/conventions.sh            ($CNN_BIN, default ./cnn)
# Prints one line per failure and exits 1 when there is any.
set -u
cd "$(dirname "$0")/.."
BIN=${CNN_BIN:-./cnn}
[ -x "$BIN" ] || { echo "conventions: $BIN is not built (make all)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
T=$(mktemp -d "${TMPDIR:-/tmp}/cnn-conv.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
export OMP_NUM_THREADS=1
unset CNN_ISA

FAILS=0
CHECKS=0
fail() { echo "conventions: $*" >&2; FAILS=$((FAILS + 1)); }

# run ARGS...: cnn's exit code in RC, its stdout and stderr in $T/out, $T/err
run() {
    CHECKS=$((CHECKS + 1))
    timeout 120 "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    RC=$?
    SHOWN="cnn $*"
}
nlines() { wc -l <"$1" | tr -d ' '; }
# the failure checks: exit CODE, nothing on stdout, one "cnn: " line on stderr
refused() {
    if [ "$RC" != "$1" ]; then
        fail "$SHOWN: exit $RC, expected $1 ($(head -c 200 "$T/err" | tr '\n' ' '))"
    elif [ -s "$T/out" ]; then
        fail "$SHOWN: exit $RC with output on stdout: $(head -n 1 "$T/out")"
    elif [ "$(nlines "$T/err")" != 1 ] || ! grep -q '^cnn: ' "$T/err"; then
        fail "$SHOWN: stderr is not one 'cnn: ' line: $(head -c 200 "$T/err" | tr '\n' ' ')"
    fi
}
# a success: exit 0, something on stdout (unless "quiet-stdout"), and no
# "cnn: " message on stdout
succeeded() {
    if [ "$RC" != 0 ]; then
        fail "$SHOWN: exit $RC, expected 0 ($(head -c 200 "$T/err" | tr '\n' ' '))"
    elif [ "${1:-}" != quiet-stdout ] && [ ! -s "$T/out" ]; then
        fail "$SHOWN: nothing on stdout"
    elif grep -q '^cnn: ' "$T/out"; then
        fail "$SHOWN: a message on stdout: $(grep '^cnn: ' "$T/out" | head -n 1)"
    fi
}
# --help and --version: stdout only, exit 0
informs() { # EXPECTED-FIRST-LINE
    succeeded
    [ "$RC" = 0 ] || return 0
    [ -s "$T/err" ] && fail "$SHOWN: prints on stderr: $(head -n 1 "$T/err")"
    [ "$(head -n 1 "$T/out")" = "$1" ] || fail "$SHOWN: first line '$(head -n 1 "$T/out")', expected '$1'"
}

# ------------------------------------------------------------ test files

byte() { printf "\\$(printf %03o "$1")"; }
be32() { byte $(($1 >> 24 & 255)); byte $(($1 >> 16 & 255)); byte $(($1 >> 8 & 255)); byte $(($1 & 255)); }
idx3() { { byte 0; byte 0; byte 8; byte 3; be32 "$2"; be32 28; be32 28
           head -c $(($2 * 784)) /dev/zero | tr '\0' '\100'; } >"$1"; }
idx1() { { byte 0; byte 0; byte 8; byte 1; be32 "$2"; i=0
           while [ $i -lt "$2" ]; do byte $((i % 10)); i=$((i + 1)); done; } >"$1"; }
G=$T/good
mkdir -p "$G"
idx3 "$G/train-images-idx3-ubyte" 32
idx1 "$G/train-labels-idx1-ubyte" 32
idx3 "$G/t10k-images-idx3-ubyte" 20
idx1 "$G/t10k-labels-idx1-ubyte" 20
SMALL="--model logreg --epochs 1 --steps 2 --batch 8 --threads 1"

# --------------------------------------------------- what the help lists

version=$("$BIN" --version)
[ -n "$version" ] || fail "cnn --version prints nothing"
commands=$("$BIN" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[ -n "$commands" ] || { echo "conventions: no commands in cnn --help" >&2; exit 1; }

# The options of one command's help (stdin): "NAME VALUE" or "NAME" lines,
# long names only.
options() {
    sed -n '/^options:$/,$p' | awk '/^  -/ {
        left = substr($0, 3, 24); n = split(left, w, " ")
        for (i = 1; i <= n; i++) if (w[i] ~ /^--/) print w[i], (i < n && w[i + 1] !~ /^-/ ? w[i + 1] : "")
    }'
}

# A value option OPT (VALUE named as in the help) accepts; empty: none known.
sample() {
    case $1 in
    --data) echo "$G" ;;
    --model | --models) echo logreg ;;
    --augment) echo shift=1 ;;
    --optimizer) echo sgd ;;
    --schedule) echo cosine ;;
    --isa) echo scalar ;;
    --input) echo 28x28x1 ;;
    *) case $2 in
       N) echo 2 ;;
       X | M | W | E) echo 0.5 ;;
       'N[e]') echo 1e ;;
       FILE) echo "$T/sample.out" ;;
       on\|off) echo on ;;
       esac ;;
    esac
}
# A malformed value of a typed option; empty: any text is a value (FILE).
malformed() {
    case $1 in
    --model | --models) echo sed ;;
    --augment) echo bogus=1 ;;
    *) case $2 in
       N | X | M | W | E | 'N[e]' | HxWxC | on\|off | SET) echo @bad ;;
       NAME) echo bogus ;;
       esac ;;
    esac
}

# ------------------------------------------------------------- per option

for c in $commands; do
    "$BIN" "$c" --help >"$T/help" 2>/dev/null || fail "cnn $c --help: exit $?"
    grep -q '^options:$' "$T/help" || fail "cnn $c --help: no options: section"
    options <"$T/help" >"$T/opts"
    first=$(head -n 1 "$T/help")
    data=
    grep -q '^--data ' "$T/opts" && data="--data=$G"
    while read -r opt val; do
        case $opt in --help | --version) continue ;; esac
        if [ -z "$val" ]; then # a flag
            run "$c" "$opt=1"
            refused 2
            grep -q 'takes no value' "$T/err" || fail "$SHOWN: not 'takes no value': $(cat "$T/err")"
            run "$c" "$opt" --help
            informs "$first"
            continue
        fi
        v=$(sample "$opt" "$val")
        if [ -z "$v" ]; then
            fail "cnn $c $opt $val: no sample value (add one to tests/conventions.sh)"
            continue
        fi
        run "$c" "$opt=$v" --help
        informs "$first"
        run "$c" "$opt" "$v" --help
        informs "$first"
        bad=$(malformed "$opt" "$val")
        [ -n "$bad" ] || continue
        # the value checked before any work: with good data, or none
        quiet=
        grep -q '^--quiet$' "$T/opts" && [ "$opt" != --quiet ] && quiet=--quiet
        run "$c" $data $quiet "$opt=$bad"
        refused 2
    done <"$T/opts"
done

# --------------------------------------------------------- per command

for c in $commands; do
    first=$("$BIN" "$c" --help 2>/dev/null | head -n 1)
    for a in --help -h; do
        run "$c" $a
        informs "$first"
    done
    run help "$c"
    informs "$first"
    "$BIN" "$c" --help >"$T/help1" 2>&1
    cmp -s "$T/out" "$T/help1" || fail "cnn help $c differs from cnn $c --help"
    for a in --version -V; do
        run "$c" $a
        informs "$version"
    done
    run "$c" --no-such-option
    refused 2
    run "$c" -Z
    refused 2
    grep -q "'-Z'" "$T/err" || fail "$SHOWN: the option is not named: $(cat "$T/err")"
done
for a in --version -V; do
    run $a
    informs "$version"
done
for a in --help -h help; do
    run $a
    informs "usage: cnn COMMAND [options]"
done
run # the help, on stderr
[ "$RC" = 2 ] || fail "cnn alone: exit $RC, expected 2"
[ -s "$T/out" ] && fail "cnn alone: output on stdout"
run no-such-command
refused 2
run trian
refused 2
grep -q "did you mean 'train'" "$T/err" || fail "$SHOWN: no suggestion: $(cat "$T/err")"

# ------------------------------------------------- runs: 0, 1 and stdout

W=$T/w.safetensors
for c in $commands; do
    case $c in
    train)
        run train --data "$G" $SMALL --save "$W" --log "$T/log.csv"
        succeeded
        cp "$T/out" "$T/train.out"
        run train --data "$G" $SMALL --quiet
        succeeded
        [ -s "$T/err" ] && fail "$SHOWN: prints on stderr with --quiet: $(head -n 1 "$T/err")"
        cmp -s "$T/out" "$T/train.out" || fail "cnn train: stdout differs with --quiet (progress on stdout?)"
        run train --data "$T/missing" $SMALL --quiet
        refused 1 ;;
    eval)
        run eval --data "$G" --load "$W"
        succeeded
        run eval --data "$G" --load "$T/missing.safetensors"
        refused 1 ;;
    predict)
        run predict --data "$G" --load "$W"
        succeeded
        grep -q '^index,label,predicted' "$T/out" || fail "$SHOWN: no CSV header on stdout"
        grep -q accuracy "$T/out" && fail "$SHOWN: the accuracy is on stdout"
        run predict --load "$T/missing.safetensors"
        refused 1 ;;
    summary)
        run summary --model logreg
        succeeded
        run summary --load "$T/missing.safetensors"
        refused 1 ;;
    compare)
        run compare --data "$G" --models logreg --epochs 1 --steps 1 --batch 8 --threads 1 --quiet
        succeeded
        run compare --data "$T/missing" --models logreg --quiet
        refused 1 ;;
    plot)
        run plot "$T/log.csv" -o "$T/plot.svg"
        succeeded quiet-stdout
        run plot "$T/log.csv" -o -
        succeeded
        grep -q '<svg' "$T/out" || fail "$SHOWN: no SVG on stdout"
        run plot "$T/missing.csv" -o "$T/plot2.svg"
        refused 1 ;;
    info)
        run info
        succeeded ;; # no input to miss
    *)
        fail "cnn $c: no run known to tests/conventions.sh (add its cases)" ;;
    esac
done

if [ "$FAILS" -gt 0 ]; then
    echo "conventions: $FAILS of $CHECKS checks failed" >&2
    exit 1
fi
echo "conventions: $CHECKS checks passed" >&2
