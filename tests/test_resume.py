"""A run killed with SIGKILL at an arbitrary step and resumed ends with exactly the uninterrupted numbers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
STEPS, BURN_IN, KILL_AFTER = 200, 60, 95  # killed after the hand-over: teacher, EMA and TSCS pool are saved
SETTINGS = [f"steps={STEPS}", "eval_every=25", f"burn_in_steps={BURN_IN}", "tscs_threshold=0.2", "lr=5e-3",
            "batch_size=8", "num_threads=1"]  # fmt: skip


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "threedrest", "train", "--profile", "smoke", "--method", "3drest",
            "--ratio", "0.5", "--out", str(out), "--set", *SETTINGS, *extra]  # fmt: skip


def _run_dir(out: Path) -> Path:
    (run_dir,) = out.glob("3drest-*")
    return run_dir


def _checkpoint_step(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["step"])
    except (OSError, RuntimeError, EOFError, KeyError):
        return -1  # not written yet (checkpoints are replaced atomically, so never half-read)


def _kill_at_step(out: Path, step: int) -> int:
    proc = subprocess.Popen(_command(out, "--checkpoint-every", "5"), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ckpts = list(out.glob("3drest-*/checkpoint.pt"))
            if ckpts and (saved := _checkpoint_step(ckpts[0])) >= step:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return saved
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pytest.fail(f"training ended (rc {proc.returncode}) before a checkpoint at step >= {step} was seen")


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    killed_at = _kill_at_step(tmp_path / "killed", KILL_AFTER)
    run_killed = _run_dir(tmp_path / "killed")
    assert BURN_IN < killed_at < STEPS and not (run_killed / "summary.json").exists()
    saved = torch.load(run_killed / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert saved["teacher"] is not None and len(saved["method"]["tscs"]["pool"]["index"]) > 0  # EMA teacher, TSCS pool

    resumed = subprocess.run(_command(tmp_path / "killed"), cwd=REPO, capture_output=True, text=True, check=True)
    assert f"from step {int(saved['step'])}" in resumed.stderr  # it resumed, it did not start again
    subprocess.run(_command(tmp_path / "whole"), cwd=REPO, capture_output=True, check=True)
    run_whole = _run_dir(tmp_path / "whole")

    for name in ("metrics.csv", "pseudo_log.csv", "promotions.csv"):
        assert (run_killed / name).read_bytes() == (run_whole / name).read_bytes(), name
    history = [pd.read_csv(d / "history.csv").drop(columns=["seconds"]) for d in (run_killed, run_whole)]
    pd.testing.assert_frame_equal(*history, check_exact=True)
    weights = [torch.load(d / "model.pt", weights_only=True) for d in (run_killed, run_whole)]
    for model, state in weights[0].items():
        assert all(torch.equal(v, weights[1][model][k]) for k, v in state.items()), model
    assert not (run_killed / "checkpoint.pt").exists()  # removed once the run is complete
    assert not list(run_killed.glob(".*.tmp"))  # a killed writer's temporary file is cleaned up
