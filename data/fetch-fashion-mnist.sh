#!/bin/sh
# fetch-fashion-mnist.sh — puts Fashion-MNIST's four IDX files into DIR
# (default data/fashion), uncompressed and under the names the MNIST loader
# expects (train-images-idx3-ubyte, ...), each checked against its known
# SHA-256, and touches DIR/.verified on success; then
# `cnn train --data DIR` trains on it.
#
# Usage: data/fetch-fashion-mnist.sh [DIR]
#
# Source: Debian's package dataset-fashion-mnist, which holds the gzipped
# files in /usr/share/datasets/fashion-mnist; it is installed with apt-get
# when missing (as root; otherwise the command to run is printed).
# FASHION_MNIST_SRC=DIR takes the four files (.gz or not) from DIR instead,
# e.g. the data/fashion folder of zalandoresearch/fashion-mnist.
# The checksums are of the uncompressed files: Debian recompressed the .gz
# files, so their own checksums differ from upstream's, but what they hold
# does not.  Nothing is copied when all four files already verify.  Files
# are installed atomically (temporary name, then mv).
set -eu

prog=fetch-fashion-mnist.sh
dir=${1:-data/fashion}
pkg=dataset-fashion-mnist
src=${FASHION_MNIST_SRC:-/usr/share/datasets/fashion-mnist}
expected_sum() {
    case $1 in
    train-images-idx3-ubyte) echo c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888 ;;
    train-labels-idx1-ubyte) echo bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9 ;;
    t10k-images-idx3-ubyte) echo 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b ;;
    t10k-labels-idx1-ubyte) echo 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34 ;;
    *) die "internal error: no checksum for $1" ;;
    esac
}

# files, die, sha256, all_verified
. "$(dirname "$0")/idx-verify.sh"

if all_verified "$dir"; then
    touch "$dir/.verified"
    exit 0
fi

# have_source: the four files (each NAME.gz or NAME) are in $src.
have_source() {
    for f in $files; do
        [ -f "$src/$f.gz" ] || [ -f "$src/$f" ] || return 1
    done
}

if ! have_source; then
    [ -z "${FASHION_MNIST_SRC:-}" ] || die "$src does not hold the four Fashion-MNIST files ($files, or .gz)"
    command -v apt-get >/dev/null 2>&1 ||
        die "$src is missing and there is no apt-get: install Debian's $pkg, or set FASHION_MNIST_SRC to a directory holding the four files"
    if [ "$(id -u)" != 0 ]; then
        die "$src is missing; install it with: sudo apt-get install -y $pkg (then run this again)"
    fi
    printf '%s: installing %s\n' "$prog" "$pkg" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >/dev/null ||
            die "apt-get could not install $pkg"
    }
    have_source || die "$pkg is installed but $src lacks its files"
fi

mkdir -p "$dir" || die "$dir: cannot create directory"
rm -f "$dir/.verified"
partial=
cleanup() { if [ -n "$partial" ]; then rm -f "$partial"; fi; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

for f in $files; do
    partial="$dir/.$f.tmp"
    if [ -f "$src/$f.gz" ]; then
        gzip -dc "$src/$f.gz" >"$partial" || die "$src/$f.gz: not a valid gzip file"
    else
        cp "$src/$f" "$partial" || die "$dir/$f: cannot write"
    fi
    got=$(sha256 "$partial")
    [ "$got" = "$(expected_sum "$f")" ] ||
        die "$f: SHA-256 mismatch (got $got, expected $(expected_sum "$f"))"
    mv -f "$partial" "$dir/$f" || die "$dir/$f: cannot write"
    partial=
done

all_verified "$dir" || die "$dir: files changed while being installed"
touch "$dir/.verified"
printf '%s: Fashion-MNIST ready in %s (cnn train --data %s)\n' "$prog" "$dir" "$dir" >&2
