"""Same bits whatever CPU code path a machine would pick: the kit's numerics settings, and that they matter.

One machine stands in for two: ATen's AVX2 kernels with numpy and OpenBLAS on their AVX2 paths
("an AVX2 machine") against ATen, numpy and OpenBLAS on AVX-512 ("an AVX-512 machine"). The
whole short pipeline runs in fresh subprocesses (data generation, backbone pre-training, feature
caching, a short 3DResT run with evaluation): with the kit's settings the two give byte-identical
data, backbone, features, weights and metrics; with ``THREEDREST_NUMERICS=native`` they do not,
so the first assertion is not vacuous.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from threedrest import numerics

ROOT = Path(__file__).resolve().parents[1]
# Tiny but complete: every numeric stage runs (3 train scenes keep it within seconds per run).
TRAIN = ["-m", "threedrest", "train", "--profile", "smoke", "--method", "3drest", "--ratio", "0.5", "--set",
         "n_train_scenes=3", "n_val_scenes=1", "n_test_scenes=1", "steps=12", "eval_every=6", "burn_in_steps=6",
         "tscs_threshold=0.2", "lr=5e-3", "batch_size=8", "backbone_pretrain_steps=10"]  # fmt: skip
# What each "machine" would pick by itself (variables a user or a machine might set)
AVX2_MACHINE = {"ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell",
                "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}  # fmt: skip
AVX512_MACHINE = {"ATEN_CPU_CAPABILITY": "avx512", "OPENBLAS_CORETYPE": "SkylakeX"}


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


needs_avx512 = pytest.mark.skipif(
    not {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"} <= _cpu_flags(),
    reason="needs an x86-64 CPU with AVX2 and AVX-512 to stand in for two machines",
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in numerics.PORTABLE and k != numerics.MODE_VAR}
    return {**env, **extra}


def _pipeline(tmp: Path, name: str, **env: str) -> dict[str, str]:
    """Run the short pipeline in a fresh project root; a hash per stage's files."""
    root = tmp / name
    subprocess.run([sys.executable, *TRAIN, "--out", str(root / "runs")], check=True, capture_output=True,
                   env=_clean_env(THREEDREST_ROOT=str(root), **env), cwd=ROOT)  # fmt: skip
    stages: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".npz", ".pt", ".csv") or path.name == "history.csv":
            continue  # history.csv holds seconds; timings and manifests hold seconds and paths
        stage = "runs" if path.is_relative_to(root / "runs") else ("features" if "features" in path.parts else "data")
        stages.setdefault(stage, []).append(path)
    out = {}
    for stage, paths in stages.items():
        digest = hashlib.sha256()
        for path in paths:  # hashed folder names embed timings: hash contents in name order
            digest.update(path.name.encode() + path.read_bytes())
        out[stage] = digest.hexdigest()[:16]
    run_dir = next((root / "runs").iterdir())
    out["versions"] = json.loads((run_dir / "versions.json").read_text())["numerics"]
    return out


@needs_avx512
def test_two_dispatch_settings_give_the_same_bits_only_with_the_kits_settings(tmp_path: Path) -> None:
    a = _pipeline(tmp_path, "avx2", **AVX2_MACHINE)
    b = _pipeline(tmp_path, "avx512", **AVX512_MACHINE)
    assert a["versions"]["mode"] == b["versions"]["mode"] == "portable"
    assert a["versions"]["torch_cpu_capability"] == b["versions"]["torch_cpu_capability"] == "AVX2"
    assert {k: a[k] for k in ("data", "features", "runs")} == {k: b[k] for k in ("data", "features", "runs")}
    # the same two settings without the kit's numerics: the bits part before training starts
    c = _pipeline(tmp_path, "native-avx2", THREEDREST_NUMERICS="native", **AVX2_MACHINE)
    d = _pipeline(tmp_path, "native-avx512", THREEDREST_NUMERICS="native", **AVX512_MACHINE)
    assert c["versions"]["torch_cpu_capability"] == "AVX2" and d["versions"]["torch_cpu_capability"] == "AVX512"
    assert c["versions"]["mode"] == "native"
    assert c["features"] != d["features"] and c["runs"] != d["runs"]
    assert c["runs"] == a["runs"]  # portable is the AVX2 path: an AVX2 machine loses nothing


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_clean_env(**env))


def test_importing_threedrest_pins_the_environment_for_children() -> None:
    code = ("import os, threedrest, numpy, torch; from threedrest import numerics; i = numerics.settings();"
            "print(os.environ['MKL_CBWR'], os.environ['ATEN_CPU_CAPABILITY'], i['mode'], i['set_too_late'],"
            "numerics.portable_in_force(i))")  # fmt: skip
    done = _python(code, OPENBLAS_CORETYPE="Sandybridge")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["COMPATIBLE", "avx2", "portable", "[]", "True"]


def test_native_opt_out_leaves_the_environment_and_is_recorded() -> None:
    code = (
        "import os, threedrest; from threedrest import numerics;"
        "print(os.environ.get('MKL_CBWR'), numerics.settings()['mode'])"
    )
    done = _python(code, THREEDREST_NUMERICS="native")
    assert done.stdout.split() == ["None", "native"], done.stderr
    assert _python("import threedrest", THREEDREST_NUMERICS="fast").returncode != 0  # a typo is an error


def test_numpy_imported_first_is_reported_not_hidden() -> None:
    code = ("import warnings; warnings.simplefilter('error');import numpy\ntry:\n import threedrest\n"
            "except RuntimeWarning as w: print('warned', 'NPY_DISABLE_CPU_FEATURES' in str(w))")  # fmt: skip
    done = _python(code)
    assert done.stdout.split() == ["warned", "True"], done.stderr
    code = ("import warnings; warnings.simplefilter('ignore'); import numpy, torch, threedrest;"
            "from threedrest import numerics; i = numerics.settings();"
            "print(numerics.portable_in_force(i), i['set_too_late'])")  # fmt: skip
    done = _python(code)
    assert done.stdout.startswith("False ['ATEN_CPU_CAPABILITY'"), done.stdout + done.stderr


def test_kernel_spec_starts_through_numerics(tmp_path: Path) -> None:
    spec = tmp_path / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                "display_name": "Python 3", "language": "python"}))  # fmt: skip
    numerics.install_kernel(tmp_path)
    argv = json.loads(spec.read_text())["argv"]
    assert argv[-6:] == ["-m", "threedrest", "numerics", "kernel", "-f", "{connection_file}"]
    # the kernel module imports threedrest (so configure runs) before ipykernel and any notebook cell
    done = subprocess.run([sys.executable, "-m", "threedrest", "numerics", "show"], capture_output=True, text=True,
                          env=_clean_env())  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["portable_in_force"] is True, done.stderr
