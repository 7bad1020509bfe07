#!/bin/sh
# install.sh — the library as a user installs it: `make install` into a
# temporary PREFIX, then every program in examples/ built against the
# installed tree with pkg-config, shared (cnn.pc, run with LD_LIBRARY_PATH)
# and static (cnn-static.pc: libcnn.a, run without it), and run a few
# steps on data/mnist (both trainings saving the same bytes); the shared
# library's soname and its exports (the header's functions, all cnn_*),
# libcnn.a's globals (all cnn_*), a DESTDIR install, and `make uninstall`
# leaving no file behind.  Any failure ends it with one line saying what.
set -eu
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
fail() { echo "install: FAIL: $*" >&2; exit 1; }
[ -f data/mnist/.verified ] || fail "data/mnist is missing (make data)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnn-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
version=$(sed -n 's/^#define CNN_VERSION "\(.*\)"$/\1/p' include/cnn.h)
major=${version%%.*}

# Quiet make; its output only when it fails.
run_make() {
    "$MAKE" --no-print-directory "$@" >"$tmp/make.log" 2>&1 ||
        { cat "$tmp/make.log" >&2; fail "make $*"; }
}

run_make install PREFIX="$prefix"
lib=$prefix/lib
for f in include/cnn.h lib/libcnn.a "lib/libcnn.so.$version" lib/pkgconfig/cnn.pc \
         lib/pkgconfig/cnn-static.pc bin/cnn; do
    [ -f "$prefix/$f" ] || fail "make install did not install $f"
done
[ "$(readlink "$lib/libcnn.so.$major")" = "libcnn.so.$version" ] ||
    fail "lib/libcnn.so.$major is not a link to libcnn.so.$version"
[ "$(readlink "$lib/libcnn.so")" = "libcnn.so.$major" ] ||
    fail "lib/libcnn.so is not a link to libcnn.so.$major"
[ ! -f docs/cnn.1 ] || [ -f "$prefix/share/man/man1/cnn.1" ] || fail "man page not installed"
[ ! -f docs/cnn.bash-completion ] || [ -f "$prefix/share/bash-completion/completions/cnn" ] ||
    fail "bash completion not installed"
"$prefix/bin/cnn" --version >/dev/null || fail "the installed cnn --version failed"

# The soname, and only the header's functions (all cnn_*) exported.
soname=$(readelf -d "$lib/libcnn.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcnn.so.$major" ] || fail "soname is '$soname', not libcnn.so.$major"
nm -D --defined-only "$lib/libcnn.so" | awk '{print $NF}' | sort >"$tmp/exports"
other=$(grep -v '^cnn_' "$tmp/exports" | head -3 | tr '\n' ' ')
[ -z "$other" ] || fail "libcnn.so exports names without cnn_: $other"
cc -E -P -x c "$prefix/include/cnn.h" | grep -oE '\bcnn_[a-z0-9_]+ *\(' | tr -d ' (' |
    sort -u >"$tmp/declared"
[ -s "$tmp/declared" ] || fail "no function found in the installed cnn.h"
cmp -s "$tmp/exports" "$tmp/declared" ||
    fail "libcnn.so's exports differ from cnn.h's functions: $(diff "$tmp/exports" \
        "$tmp/declared" | grep '^[<>]' | head -3 | tr '\n' ' ')"
other=$(nm -g --defined-only "$lib/libcnn.a" | awk 'NF == 3 && $2 != "U" {print $3}' |
    grep -v '^cnn_' | sort -u | head -3 | tr '\n' ' ')
[ -z "$other" ] || fail "libcnn.a defines globals without cnn_: $other"

# pkg-config against the temporary prefix only.
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion cnn)" = "$version" ] || fail "pkg-config --modversion cnn"
static_libs=$(pkg-config --static --libs cnn)
for want in -fopenmp -lhwloc -ljansson -lz -lm; do
    case " $static_libs " in *" $want "*) ;; *) fail "pkg-config --static --libs cnn lacks $want" ;; esac
done

# Each example, shared and static, built with pkg-config and run briefly.
export OMP_NUM_THREADS=2
for kind in shared static; do
    for ex in train predict custom_data; do
        bin=$tmp/$ex-$kind
        if [ "$kind" = shared ]; then
            flags=$(pkg-config --cflags --libs cnn)
        else
            flags=$(pkg-config --static --cflags --libs cnn-static)
        fi
        # shellcheck disable=SC2086 # the flags are words
        cc -std=c11 -Wall -Wextra -Werror -o "$bin" "examples/$ex.c" $flags \
            2>"$tmp/cc.log" || { cat "$tmp/cc.log" >&2; fail "examples/$ex.c ($kind) did not build"; }
        needs=$(readelf -d "$bin" | grep -c "NEEDED.*libcnn\.so" || true)
        [ "$kind" = shared ] && [ "$needs" != 1 ] && fail "$ex-$kind does not load libcnn.so"
        [ "$kind" = static ] && [ "$needs" != 0 ] && fail "$ex-$kind loads libcnn.so"
    done
    run() { # program args...: run it (shared: with LD_LIBRARY_PATH), output to $tmp/out
        if [ "$kind" = shared ]; then
            LD_LIBRARY_PATH=$lib "$@" >"$tmp/out" 2>&1
        else
            env -u LD_LIBRARY_PATH "$@" >"$tmp/out" 2>&1
        fi || { cat "$tmp/out" >&2; fail "$(basename "$1") $kind failed"; }
    }
    model=$tmp/model-$kind.safetensors
    run "$tmp/train-$kind" data/mnist "$model" 30
    grep -q '^test accuracy' "$tmp/out" && [ -f "$model" ] || fail "train-$kind: no model saved"
    run "$tmp/predict-$kind" "$model" data/mnist 300
    grep -q '^[0-9]* of 300 right$' "$tmp/out" || fail "predict-$kind: $(tail -1 "$tmp/out")"
    run "$tmp/custom_data-$kind" 40
    grep -q '^training-set accuracy' "$tmp/out" || fail "custom_data-$kind: $(tail -1 "$tmp/out")"
done

# The plain cnn.pc with --static (a fully static link's flags) links too;
# libcnn.so is still the one found next to libcnn.a.
# shellcheck disable=SC2046
cc -std=c11 -o "$tmp/predict-pc-static" examples/predict.c $(pkg-config --static --cflags --libs cnn) \
    2>"$tmp/cc.log" || { cat "$tmp/cc.log" >&2; fail "pkg-config --static --libs cnn does not link"; }
LD_LIBRARY_PATH=$lib "$tmp/predict-pc-static" "$tmp/model-shared.safetensors" data/mnist 10 \
    >/dev/null 2>&1 || fail "predict built with pkg-config --static cnn failed"

# The same code in both libraries: the same steps give the same file.
cmp -s "$tmp/model-shared.safetensors" "$tmp/model-static.safetensors" ||
    fail "train-shared and train-static saved different weights"

# make uninstall leaves no file behind.
run_make uninstall PREFIX="$prefix"
left=$(find "$prefix" ! -type d | head -3 | tr '\n' ' ')
[ -z "$left" ] || fail "make uninstall left $left"

# DESTDIR: the files under it, the .pc naming PREFIX itself; then removed.
stage=$tmp/stage
run_make install PREFIX=/opt/cnn DESTDIR="$stage"
[ -f "$stage/opt/cnn/lib/libcnn.so.$version" ] && [ -f "$stage/opt/cnn/bin/cnn" ] ||
    fail "make install DESTDIR=... put no files under DESTDIR/PREFIX"
grep -qx 'prefix=/opt/cnn' "$stage/opt/cnn/lib/pkgconfig/cnn.pc" ||
    fail "cnn.pc under DESTDIR does not say prefix=/opt/cnn"
run_make uninstall PREFIX=/opt/cnn DESTDIR="$stage"
left=$(find "$stage" ! -type d | head -3 | tr '\n' ' ')
[ -z "$left" ] || fail "make uninstall DESTDIR=... left $left"
# Leave build/'s pkg-config files for the default PREFIX again.
run_make "build/cnn.pc"
echo "install: all checks passed (install, soname, exports, pkg-config shared and static," \
    "3 examples run both ways, DESTDIR, uninstall)"
