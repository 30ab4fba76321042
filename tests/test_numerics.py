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
         "n_train_scenes=3", "n_val_scenes=1", "n_test_scenes=1", "points_per_scene=1500", "min_objects=6",
         "max_objects=8",
         "descriptions_per_object=1.5", "steps=12", "eval_every=6", "burn_in_steps=6", "tscs_threshold=0.2",
         "lr=5e-3", "batch_size=8", "backbone_pretrain_steps=10"]  # fmt: skip
# What each "machine" would pick by itself (variables a user or a machine might set)
AVX2_MACHINE = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell",
                "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}  # fmt: skip
AVX512_MACHINE = {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "ALL", "OPENBLAS_CORETYPE": "SkylakeX"}
# MKL's vendor branch (Intel AVX-512 vs AMD) cannot be emulated on one CPU: MKL ignores MKL_CBWR=AVX512 on AMD


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


def _pipelines(tmp: Path, settings: dict[str, dict[str, str]]) -> dict[str, dict]:
    """Run the short pipeline once per entry, side by side, each in a fresh project root; per run a
    hash of each stage's files (data, features, runs) and the numerics its versions.json records."""
    procs = {name: subprocess.Popen([sys.executable, *TRAIN, "--out", str(tmp / name / "runs")], cwd=ROOT,
                                    env=_clean_env(THREEDREST_ROOT=str(tmp / name), **env),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for name, env in settings.items()}  # fmt: skip
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}: {err[-3000:]}"
    return {name: _hashes(tmp / name) for name in settings}


def _hashes(root: Path) -> dict:
    stages: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".npz", ".pt", ".csv") or path.name == "history.csv":
            continue  # history.csv holds seconds; timings and manifests hold seconds and paths
        stage = "runs" if path.is_relative_to(root / "runs") else ("features" if "features" in path.parts else "data")
        stages.setdefault(stage, []).append(path)
    out: dict = {}
    for stage, paths in stages.items():
        digest = hashlib.sha256()
        for path in paths:  # hashed folder names embed timings: hash contents in name order
            digest.update(path.name.encode() + path.read_bytes())
        out[stage] = digest.hexdigest()[:16]
    run_dir = next((root / "runs").iterdir())
    out["versions"] = json.loads((run_dir / "versions.json").read_text())["numerics"]
    return out


@pytest.mark.slow
@needs_avx512
def test_two_dispatch_settings_give_the_same_bits_only_with_the_kits_settings(tmp_path: Path) -> None:
    a, b = _pipelines(tmp_path, {"avx2": AVX2_MACHINE, "avx512": AVX512_MACHINE}).values()
    assert {k: a[k] for k in ("data", "features", "runs")} == {k: b[k] for k in ("data", "features", "runs")}
    assert a["versions"]["mode"] == b["versions"]["mode"] == "portable"
    assert a["versions"]["torch_cpu_capability"] == b["versions"]["torch_cpu_capability"] == "AVX2"
    # the same two settings without the kit's numerics: the bits part before training starts
    native = {"THREEDREST_NUMERICS": "native"}
    c, d = _pipelines(tmp_path, {"native-avx2": {**native, **AVX2_MACHINE},
                                 "native-avx512": {**native, **AVX512_MACHINE}}).values()  # fmt: skip
    assert c["versions"]["torch_cpu_capability"] == "AVX2" and d["versions"]["torch_cpu_capability"] == "AVX512"
    assert c["versions"]["mode"] == "native"
    assert c["features"] != d["features"] and c["runs"] != d["runs"]


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
    done = _python(_IN_FORCE.format(before="import numpy"))
    assert done.stdout.split()[:2] == ["False", "['NPY_DISABLE_CPU_FEATURES',"], done.stdout + done.stderr


_IN_FORCE = ("import warnings; warnings.simplefilter('ignore'); {before}; import threedrest;"
             "from threedrest import numerics; i = numerics.settings(); print(numerics.portable_in_force(i),"
             "i['set_too_late'], i.get('torch_cpu_capability'))")  # fmt: skip


@needs_avx512
def test_torch_settings_hold_after_import_but_not_after_a_first_op() -> None:
    """torch imports numpy, so numpy's variables come from the environment here (as a parent sets them)."""
    numpy_vars = {k: v for k, (v, lib, _) in numerics.PORTABLE.items() if lib == "numpy"}
    done = _python(_IN_FORCE.format(before="import torch"), **numpy_vars)
    assert done.stdout.split() == ["True", "[]", "AVX2"], done.stdout + done.stderr
    done = _python(_IN_FORCE.format(before="import torch; torch.ones(3).sum()"), **numpy_vars)
    assert done.stdout.split() == ["False", "[]", "AVX512"], done.stdout + done.stderr


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
