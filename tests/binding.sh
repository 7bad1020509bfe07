#!/bin/sh
# binding.sh — the threads' binding stays within the CPUs the process was
# given: under taskset one CPU means one thread on "1 of N cores"; under
# OMP_PROC_BIND (the OpenMP runtime pins the first thread before main)
# every core is still used.  Skipped with a message on a one-core machine
# or without taskset.
set -eu
cd "$(dirname "$0")/.."
BIN=./cnn
fail() { echo "binding: FAIL: $*" >&2; exit 1; }
cores=$("$BIN" info | sed -n 's/^threads: *[0-9]* threads*, \([0-9]*\) cores* .*/\1/p')
if ! command -v taskset >/dev/null 2>&1 || [ "${cores:-1}" -lt 2 ]; then
    echo "binding: skipped (needs taskset and 2 cores; cores: ${cores:-?})"
    exit 0
fi
line=$(taskset -c 0 "$BIN" info | grep '^threads:')
echo "$line" | grep -q "^threads: *1 thread, 1 of $cores cores " ||
    fail "taskset -c 0: $line"
line=$(OMP_PROC_BIND=true "$BIN" info | grep '^threads:')
echo "$line" | grep -q "^threads: *$cores threads, $cores cores " ||
    fail "OMP_PROC_BIND=true: $line"
echo "binding: all checks passed (taskset, OMP_PROC_BIND)"
