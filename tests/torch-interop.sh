#!/bin/sh
# torch-interop.sh — python/cnn_torch.py both ways against the cnn command
# on 1,000 MNIST test images (tests/torch_interop.py): cnn to PyTorch gives
# cnn eval's accuracy and cnn predict's probabilities within 1e-5, PyTorch
# to cnn the module's.  Needs ./cnn and the data (make all, make data).
# Skipped with a message when PyTorch is not importable ($PYTHON, default
# /usr/bin/python3, Debian's python3-torch: make bench-deps installs it).
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "torch-interop: skipped (PyTorch is not importable by $PY; make bench-deps installs it)"
    exit 0
fi
PYTHONDONTWRITEBYTECODE=1 exec "$PY" tests/torch_interop.py --data "${DATA:-data/mnist}" "$@"
