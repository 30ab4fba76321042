"""Same numbers on every x86-64 CPU: pin the CPU code paths of torch, MKL, oneDNN, numpy and OpenBLAS.

Determinism on one machine is not enough: torch (ATen), MKL, OpenBLAS and numpy pick their
kernels by the CPU they find (AVX2 or AVX-512, Intel or AMD), and each path sums in its own order,
so two machines round differently and training amplifies the last bit into mIoU points. This module
is the one place that pins those choices; ``threedrest/__init__.py`` calls :func:`configure` on
import, so the CLI, papermill kernels (they inherit the environment), the kit's Jupyter kernel,
``grids.run_many`` workers, torchrun ranks and tests all go through it.

Most switches are environment variables that a library reads once, when it is loaded or first
used, so :func:`configure` must run before ``import numpy`` / ``import torch`` (measured; see
README "Same numbers on every machine"). A process that imported numpy or torch first is reported:
:func:`settings` checks what is actually in force and goes into every run's ``versions.json``.

``THREEDREST_NUMERICS=native`` leaves every library at its fastest path (recorded as such).
Module level imports the standard library only; torch, numpy and threadpoolctl are read lazily.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

MODE_VAR = "THREEDREST_NUMERICS"
MODES = ("portable", "native")
# variable -> (value, library that reads it, when), "when" as measured: "load": read when the
# library is imported, so it must be in the environment before ``import numpy``; "first use": read
# at the library's first kernel of that kind (after ``import torch`` works, after a first op not).
PORTABLE: dict[str, tuple[str, str, str]] = {
    # ATen's vector kernels and reductions: 8-lane AVX2 everywhere (AVX-512 sums in 16 lanes)
    "ATEN_CPU_CAPABILITY": ("avx2", "torch", "first use"),
    # MKL (torch's sgemm, VML): the one code path MKL promises on Intel and AMD alike
    "MKL_CBWR": ("COMPATIBLE", "torch", "first use"),
    # oneDNN kernels: torch sends GELU there (MiniLM's text features); no AVX-512 / AMX paths
    "ONEDNN_MAX_CPU_ISA": ("AVX2", "torch", "first use"),
    # numpy's own SIMD dispatch (exp, log, sin, cos, sorting...): AVX2 (x86-64-v3) at most
    "NPY_DISABLE_CPU_FEATURES": ("X86_V4 AVX512_ICL AVX512_SPR", "numpy", "load"),
    # numpy's and scipy's OpenBLAS: the Haswell (AVX2) kernels on every machine, one thread
    "OPENBLAS_CORETYPE": ("Haswell", "numpy", "load"),
    "OPENBLAS_NUM_THREADS": ("1", "numpy", "load"),
    # default thread count of torch, MKL and OpenMP where a stage does not set its own
    "OMP_NUM_THREADS": ("2", "torch", "first use"),
}
_STATE: dict[str, Any] = {}


def mode() -> str:
    value = os.environ.get(MODE_VAR, "portable").strip().lower() or "portable"
    if value not in MODES:
        raise ValueError(f"{MODE_VAR}={value!r}; choose one of {MODES}")
    return value


def configure() -> dict[str, Any]:
    """Put the portable settings into ``os.environ`` (children inherit them); idempotent.

    Returns what was done: mode, variables set (and any value they replaced), and variables set
    too late because their library was already imported (they are then not in force).
    """
    if _STATE:
        return _STATE
    current = mode()
    replaced: dict[str, str] = {}
    late: list[str] = []  # not in force: their library was loaded already
    after_import: list[str] = []  # in force only if the library ran no kernel yet
    if current == "portable":
        for name, (value, library, when) in PORTABLE.items():
            old = os.environ.get(name)
            if old is not None and old != value:
                replaced[name] = old
            if old != value and library in sys.modules:  # "first use" ones are checked in settings()
                (late if when == "load" else after_import).append(name)
            os.environ[name] = value
    _STATE.update(mode=current, replaced=replaced, set_too_late=late, set_after_import=after_import)
    if late:
        warnings.warn(
            f"threedrest: {', '.join(sorted(set(PORTABLE[n][1] for n in late)))} was imported before threedrest, "
            f"so {', '.join(late)} are not in force and numbers may differ from other machines; "
            "import threedrest first (or use the kit's Jupyter kernel, installed by make install)",
            RuntimeWarning,
            stacklevel=3,
        )
    return _STATE


def settings() -> dict[str, Any]:
    """The numerics actually in force, for provenance: mode, variables, and what the libraries report."""
    state = configure()
    out: dict[str, Any] = {
        "mode": state["mode"],
        "cpu": _cpu_model(),
        "env": {name: os.environ.get(name, "") for name in PORTABLE},
        "set_too_late": list(state["set_too_late"]),
        "set_after_import": list(state["set_after_import"]),
        "replaced": dict(state["replaced"]),
    }
    if "torch" in sys.modules:
        import torch

        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        out["torch_threads"] = torch.get_num_threads()
        out["torch_mkl"] = torch.backends.mkl.is_available()
        out["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)
    if "numpy" in sys.modules:
        try:
            from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        except ImportError:  # numpy < 2
            __cpu_dispatch__, __cpu_features__ = [], {}
        out["numpy_dispatch"] = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        out["threadpools"] = [{k: p.get(k) for k in ("internal_api", "prefix", "version", "architecture",
                                                        "num_threads")} for p in threadpool_info()]  # fmt: skip
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def portable_in_force(info: dict[str, Any] | None = None) -> bool:
    """Whether this process really runs the portable paths (checked against the libraries)."""
    info = info or settings()
    if info["mode"] != "portable" or info["set_too_late"]:
        return False
    if "torch_cpu_capability" in info and info["torch_cpu_capability"] not in ("AVX2",):
        return False
    return all(p.get("architecture") in (None, "Haswell") for p in info.get("threadpools", [])
               if p.get("internal_api") == "openblas")  # fmt: skip


def install_kernel(prefix: str | Path = sys.prefix, name: str = "python3") -> Path:
    """Make the environment's Jupyter kernel start through this module, so a notebook that imports
    pandas (numpy) in its first cell still gets the portable settings (``make lab``, papermill)."""
    import json

    from threedrest.io import atomic_write_json

    path = Path(prefix) / "share" / "jupyter" / "kernels" / name / "kernel.json"
    spec = json.loads(path.read_text())
    spec["argv"] = [sys.executable, "-Xfrozen_modules=off", "-m", "threedrest", "numerics", "kernel",
                    "-f", "{connection_file}"]  # fmt: skip
    atomic_write_json(path, spec)
    return path


def main(argv: list[str]) -> int:
    """``python -m threedrest numerics [show | kernel ARGS... | install-kernel]``."""
    command = argv[0] if argv else "show"
    if command == "kernel":  # threedrest (so configure) is imported already: now start ipykernel
        import runpy

        sys.argv = ["ipykernel_launcher", *argv[1:]]
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        return 0
    if command == "install-kernel":
        print(f"kernel spec {install_kernel()} starts through threedrest.numerics")
        return 0
    if command == "show":
        import json

        import numpy  # noqa: F401  (so settings() reports what they picked)
        import torch  # noqa: F401

        info = settings()
        print(json.dumps({**info, "portable_in_force": portable_in_force(info)}, indent=1))
        return 0
    print(main.__doc__)
    return 2
