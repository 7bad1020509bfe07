"""torch_env.py -- what PyTorch actually runs on in this process, for
bench/pytorch_seed.py and bench/compare.py: its version and CPU kernel
level, the BLAS library that is really loaded (read from /proc/self/maps
after a matrix product: Debian's python3-torch links libblas.so.3, which is
the slow reference BLAS unless OpenBLAS is installed), OpenBLAS's own
configuration through ctypes, the oneDNN (MKL-DNN) version and the ISA it
dispatches to, the thread settings and the environment variables that
change any of these.

environment() returns a dict; describe(env) turns it into a few lines of
text.  Import after torch.
"""
import ctypes
import os
import re

import torch
import torch.nn.functional as F

# oneDNN 2.x's dnnl_cpu_isa_t values (dnnl_types.h) and their names.
DNNL_ISA = {0x0: "all", 0x1: "sse41", 0x3: "avx", 0x7: "avx2", 0xf: "avx512_mic",
            0x1f: "avx512_mic_4ops", 0x27: "avx512_core", 0x67: "avx512_core_vnni",
            0xe7: "avx512_core_bf16", 0x3e7: "avx512_core_amx", 0x407: "avx2_vnni"}
# The environment variables that change what PyTorch, OpenMP, OpenBLAS,
# oneDNN and glibc's malloc do.
SETTINGS_ENV = ["GLIBC_TUNABLES", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_PROC_BIND",
              "OMP_PLACES", "GOMP_CPU_AFFINITY", "OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY",
              "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA"]


def loaded_libraries(pattern):
    """The distinct files mapped into this process whose base name matches."""
    seen = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            path = parts[5].strip() if len(parts) == 6 else ""
            if path.startswith("/") and re.search(pattern, os.path.basename(path)) \
                    and path not in seen:
                seen.append(path)
    return seen


def exercise():
    """Run one matrix product (BLAS) and one convolution (oneDNN) so that the
    libraries they use are loaded and initialised."""
    a = torch.randn(64, 64)
    torch.nn.functional.linear(a, a, a[0]).sum().item()
    x = torch.randn(16, 4, 8, 8)
    F.conv2d(x, torch.randn(8, 4, 3, 3)).sum().item()


def c_string(lib, name):
    fn = getattr(lib, name, None)
    if fn is None:
        return None
    fn.restype = ctypes.c_char_p
    return fn().decode(errors="replace")


def openblas_handle():
    """ctypes handle of the OpenBLAS that is loaded, or None."""
    for path in loaded_libraries(r"openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads  # the symbol that marks OpenBLAS
            return lib
        except (OSError, AttributeError):
            continue
    return None


def blas_info():
    paths = loaded_libraries(r"^lib(open)?blas|^libmkl|^libblis|^libflexiblas")
    info = dict(paths=paths)
    lib = openblas_handle()
    if lib is not None:
        # no thread count: an OpenMP build's openblas_get_num_threads keeps
        # its start-up figure, while its calls run on the caller's OpenMP
        # team (torch.set_num_threads)
        info.update(library="OpenBLAS", config=c_string(lib, "openblas_get_config"),
                    core=c_string(lib, "openblas_get_corename"))
    elif any("mkl" in p for p in paths):
        info["library"] = "MKL"
    elif any("/blas/" in p or os.path.basename(p).startswith("libblas") for p in paths):
        info["library"] = "reference BLAS (netlib, slow: install libopenblas0-openmp)"
    else:
        info["library"] = "none found loaded (statically linked?)"
    return info


class DnnlVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


def onednn_info(config):
    m = re.search(r"(?:MKL-DNN|oneDNN)\s+v([\d.]+)", config)
    info = dict(enabled=torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
                version=m.group(1) if m else None, library=None, isa=None)
    for path in loaded_libraries(r"^lib(dnnl|mkldnn)"):
        try:
            lib = ctypes.CDLL(path)
            lib.dnnl_version.restype = ctypes.POINTER(DnnlVersion)
            v = lib.dnnl_version().contents
            info["version"] = f"{v.major}.{v.minor}.{v.patch}"
            lib.dnnl_get_effective_cpu_isa.restype = ctypes.c_int
            isa = lib.dnnl_get_effective_cpu_isa()
            info.update(library=path, isa=DNNL_ISA.get(isa, hex(isa)))
            break
        except (OSError, AttributeError):
            continue
    return info


def environment():
    exercise()
    config = torch.__config__.show()
    cap = re.search(r"CPU capability usage:\s*(\S+)", config)
    backend = re.search(r"ATen parallel backend:\s*(.+)", torch.__config__.parallel_info())
    return dict(torch=torch.__version__, cpu_capability=cap.group(1) if cap else None,
                blas=blas_info(), onednn=onednn_info(config),
                threads=dict(torch=torch.get_num_threads(),
                             interop=torch.get_num_interop_threads(),
                             backend=backend.group(1).strip() if backend else None),
                env={k: os.environ[k] for k in SETTINGS_ENV if k in os.environ})


def threads_seen():
    """PyTorch's thread count and the threads this process has (the OpenMP
    team, which OpenBLAS's OpenMP build shares, and PyTorch's own)."""
    return dict(torch=torch.get_num_threads(), process=len(os.listdir("/proc/self/task")))


def describe(env):
    b, d, t = env["blas"], env["onednn"], env["threads"]
    blas = b["library"]
    if b.get("config"):
        blas += f" ({b['config']}; kernels for {b['core']})"
    if b["paths"]:
        blas += f", {b['paths'][0]}"
    envs = ", ".join(f"{k}={v}" for k, v in env["env"].items()) or "none set"
    return [f"PyTorch {env['torch']}, ATen CPU kernels {env['cpu_capability']}",
            f"BLAS: {blas}",
            f"oneDNN: {d['version']}{', ISA ' + d['isa'] if d['isa'] else ''}"
            f"{'' if d['enabled'] else ' (disabled)'}",
            f"threads: torch.set_num_threads(N) per run, {t['interop']} inter-op, "
            f"{t['backend']} backend",
            f"environment: {envs}"]
