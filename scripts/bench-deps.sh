#!/bin/sh
# bench-deps.sh — make sure the benchmarks' dependencies are installed:
# PyTorch for bench/compare.py (Debian's python3-torch), OpenBLAS for it
# (libopenblas0-openmp: without it python3-torch's libblas.so.3 is the
# reference BLAS, which made PyTorch's dense layers 3-5x slower than its
# users get them), and oneDNN's headers for bench/kernels' oneDNN rows
# (libdnnl-dev).
# Installs the missing Debian packages with apt-get when run as root;
# otherwise prints the exact command and fails.
# BENCH_DEPS_DRY_RUN=1: print what would be done (the command, as root or
# not) and exit 0 without installing.  PYTHON: the interpreter that must
# import torch (default /usr/bin/python3, the one bench/compare.py uses).
set -eu

missing=""
have_header() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q '^install ok installed'; }
${PYTHON:-/usr/bin/python3} -c 'import torch' >/dev/null 2>&1 || missing="$missing python3-torch"
have_pkg libopenblas0-openmp || missing="$missing libopenblas0-openmp"
have_header dnnl.h           || missing="$missing libdnnl-dev"

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ -n "${BENCH_DEPS_DRY_RUN:-}" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "bench-deps: would run: apt-get update -qq && $cmd" >&2
    else
        echo "bench-deps: missing$missing; install them with: sudo apt-get update && sudo $cmd" >&2
    fi
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench-deps: installing$missing" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $cmd
else
    echo "bench-deps: missing$missing; install them with: sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
