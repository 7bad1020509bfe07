#!/bin/sh
# fetch-cifar10.sh — puts CIFAR-10's binary batches (data_batch_1.bin ...
# data_batch_5.bin, test_batch.bin, 10,000 records of 3,073 bytes each)
# into DIR (default data/cifar10) and touches DIR/.verified on success;
# then `cnn train --data DIR` trains on them (32x32x3 input: try
# --model cifar).
#
# Usage: data/fetch-cifar10.sh [DIR [TARBALL]]
#
# Source: the "binary version" tarball from the dataset's page,
#   https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
#   (162 MB, MD5 c32a1d4ab5d03f1284b67883e8d87530).
# TARBALL (or $CIFAR10_TAR, or DIR/cifar-10-binary.tar.gz when present) is
# a copy already downloaded; without one the script tries curl or wget.
# CIFAR-10 is in neither npm nor Debian, so on machines that reach only
# those (as the project's build machines do) it cannot be fetched: the
# script then says so and prints how to bring the tarball over by hand.
# The tarball's MD5 is checked, then the six files are unpacked (from its
# cifar-10-batches-bin/ folder) and their sizes checked.
set -eu

prog=fetch-cifar10.sh
dir=${1:-data/cifar10}
url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
md5=c32a1d4ab5d03f1284b67883e8d87530
tarball=${2:-${CIFAR10_TAR:-}}
files="data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin"
size=30730000 # 10,000 records of 3,073 bytes

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

# all_there DIR: the six files with their sizes.
all_there() {
    for f in $files; do
        [ -f "$1/$f" ] && [ "$(wc -c <"$1/$f" | tr -d ' ')" = "$size" ] || return 1
    done
}

if [ -f "$dir/.verified" ] && all_there "$dir"; then
    exit 0
fi

how_to() {
    cat >&2 <<MSG
$prog: CIFAR-10 is not in npm or Debian, so it comes from its own page:
  $url  (162 MB, MD5 $md5)
On a machine with internet access, download it and copy it here, then run
  data/fetch-cifar10.sh $dir /path/to/cifar-10-binary.tar.gz
(or unpack it yourself: tar -xzf cifar-10-binary.tar.gz gives
cifar-10-batches-bin/, and cnn train --data cifar-10-batches-bin reads it).
MSG
}

command -v md5sum >/dev/null 2>&1 || die "md5sum (coreutils) is needed to verify the tarball"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-cifar10.XXXXXX") || die "cannot create a temporary directory"
partial=
cleanup() {
    rm -rf "$tmp"
    if [ -n "$partial" ]; then rm -f "$partial"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if [ -z "$tarball" ] && [ -f "$dir/cifar-10-binary.tar.gz" ]; then
    tarball=$dir/cifar-10-binary.tar.gz
fi
if [ -z "$tarball" ]; then
    tarball=$tmp/cifar-10-binary.tar.gz
    got=1
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --proto '=https' --connect-timeout 15 -o "$tarball" "$url" 2>"$tmp/err" && got=0
    elif command -v wget >/dev/null 2>&1; then
        wget -q --timeout=15 -O "$tarball" "$url" 2>"$tmp/err" && got=0
    else
        echo "neither curl nor wget is installed" >"$tmp/err"
    fi
    if [ "$got" != 0 ]; then
        printf '%s: cannot download %s here (%s): this machine cannot reach that site (the project'"'"'s build machines reach only npm and Debian)\n' \
            "$prog" "$url" "$(tail -n 1 "$tmp/err" 2>/dev/null | tr -d '\n')" >&2
        how_to
        exit 1
    fi
fi

[ -f "$tarball" ] || die "$tarball: no such file"
got=$(md5sum <"$tarball" | cut -d' ' -f1)
[ "$got" = "$md5" ] || die "$tarball: MD5 mismatch (got $got, expected $md5): not the binary version of CIFAR-10, or damaged"
members=
for f in $files; do members="$members cifar-10-batches-bin/$f"; done
# shellcheck disable=SC2086 # members is a list of plain names
gzip -dc "$tarball" | (cd "$tmp" && tar -xf - $members) ||
    die "$tarball: cannot unpack the six batch files"
all_there "$tmp/cifar-10-batches-bin" || die "$tarball: the batch files have unexpected sizes"

mkdir -p "$dir" || die "$dir: cannot create directory"
rm -f "$dir/.verified"
for f in $files; do
    partial="$dir/.$f.tmp"
    mv "$tmp/cifar-10-batches-bin/$f" "$partial" || die "$dir/$f: cannot write"
    mv -f "$partial" "$dir/$f" || die "$dir/$f: cannot write"
    partial=
done
touch "$dir/.verified"
printf '%s: CIFAR-10 ready in %s (cnn train --data %s --model cifar)\n' "$prog" "$dir" "$dir" >&2
