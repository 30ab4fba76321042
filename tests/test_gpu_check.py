"""scripts/gpu_check.sh: its --dry-run (the GPU path at tiny sizes on the CPU) writes every metric; without a
CUDA device the GPU check is refused before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PY": sys.executable}  # this interpreter, wherever its venv is
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_dry_run_writes_every_metric_and_cleans_up(tmp_path: Path) -> None:
    out, work = tmp_path / "bench_gpu.csv", tmp_path / "work"
    done = _script("--dry-run", "--steps", "3", "--warmup", "1", "--e2e-steps", "4", "--out", str(out),
                   "--work-dir", str(work))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    values = dict(pd.read_csv(out).itertuples(index=False, name=None))
    for metric in ("device_name", "torch", "cuda", "supervised_it_per_s", "ssl_it_per_s", "ssl_over_supervised_step",
                   "training_peak_memory_mb", "backbone_s_per_step", "scene_features_s_per_scene",
                   "minilm_s_per_description", "e2e_test_miou_student"):  # fmt: skip
        assert metric in values, metric
    assert values["mode"] == "dry-run" and values["device"] == "cpu" and values["amp"] == "False"
    assert values["profile"] == "paper" and values["torch"].startswith(torch.__version__.split("+")[0])
    assert float(values["ssl_over_supervised_step"]) > 1.0 and float(values["ssl_it_per_s"]) > 0
    # the same weights and inputs on the same device: the comparison machinery reads exactly zero here
    assert float(values["feature_max_abs_diff_vs_cpu"]) == 0.0 and float(values["amp_mask_agreement"]) == 1.0
    assert list(work.iterdir()) == [] and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_without_cuda_the_gpu_check_is_refused_before_any_work(tmp_path: Path, capsys) -> None:
    done = _script("--out", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and "sees no CUDA device" in done.stderr and "--dry-run" in done.stderr
    from threedrest.__main__ import main

    assert main(["gpu-check", "--out", str(tmp_path / "x.csv"), "--work-dir", str(tmp_path / "work")]) == 2
    assert "config key 'device' is 'cuda', but torch sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "work").exists() and not (tmp_path / "x.csv").exists()


def test_cost_estimate_counts_and_scales(capsys) -> None:
    """scripts/cost_estimate.py (docs/scanrefer.md's estimate): its counters on a known product, its arithmetic on
    a small report (the ten-minute measurement itself is not run here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cost_estimate", ROOT / "scripts" / "cost_estimate.py")
    cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cost)
    a, b = torch.randn(8, 16, requires_grad=True), torch.randn(16, 4)
    counted = cost.measure(lambda: (a @ b).sum().backward())
    assert counted["flops"] == 2 * (2 * 8 * 16 * 4)  # the product, and the gradient's product
    assert counted["ops"] >= 3 and counted["saved_bytes"] >= b.numel() * 4
    # 1 TFLOP at 100 TFLOP/s and nothing moved: 10 ms, above 1,000 ops x 5 us
    assert cost.gpu_seconds(1e12, 0.0, 1000, 100.0, 1.0, 5.0) == pytest.approx(0.010)
    step = {"flops": 1e9, "ops": 100, "saved_bytes": 1e6, "cpu_s": 0.1}
    bench = {"supervised_step_ms": 1.0, "ssl_step_ms": 2.0}
    row = {"S": 500, "B": 8, "labelled": step, "teacher": step, "update": {**step, "flops": 0.0},
           "pair": {"ops": 500}, "host_batch_s": 0.005, "bench": bench}  # fmt: skip
    backbone = {"points": 1000, "step": step, "pretrain_s_per_step": 0.1, "graph_s": 0.1, "graph_mb": 1.0}
    args = cost.argparse.Namespace(rate=(100.0, 300.0), bandwidth=(1.0, 2.0), launch_us=(5.0, 10.0))
    cost.print_estimate({"decoder": [row], "backbone": [backbone]}, args)
    out = capsys.readouterr().out
    assert "supervised" in out and "ssl" in out and "backbone 1000 points" in out
