"""Same config and seed, same numbers, bit for bit (CPU): metrics, losses, pseudo-labels, weights."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from threedrest.config import Config
from threedrest.experiments.runs import RunResult, run

# a few seconds of smoke training that reaches the semi-supervised phase and promotes samples (TSCS)
FLAT = dict(method="3drest", label_ratio=0.5, steps=150, eval_every=15, burn_in_steps=60, tscs_threshold=0.2,
            lr=5e-3, batch_size=8)  # fmt: skip


def _train(root: Path, **overrides) -> RunResult:
    return run(Config.from_flat("smoke", **{**FLAT, **overrides}), root=root, progress=False)


def _no_time(history: pd.DataFrame) -> pd.DataFrame:
    return history.drop(columns=["seconds"])


def test_same_config_and_seed_give_bit_identical_results(tmp_path: Path) -> None:
    a, b = _train(tmp_path / "a"), _train(tmp_path / "b")
    assert a.summary["n_promoted"] > 0  # the TSCS pool, the teacher and QDW all took part
    assert a.metrics["miou"].max() > 0
    assert (a.run_dir / "metrics.csv").read_bytes() == (b.run_dir / "metrics.csv").read_bytes()
    pd.testing.assert_frame_equal(_no_time(a.history), _no_time(b.history), check_exact=True)
    pd.testing.assert_frame_equal(a.pseudo_log, b.pseudo_log, check_exact=True)
    pd.testing.assert_frame_equal(a.promotions, b.promotions, check_exact=True)
    weights_a, weights_b = (torch.load(r.run_dir / "model.pt", weights_only=True) for r in (a, b))
    assert weights_a.keys() == weights_b.keys() == {"student", "teacher"}
    for model, state in weights_a.items():
        for key, value in state.items():
            assert torch.equal(value, weights_b[model][key]), f"{model}.{key} differs"


def test_another_seed_gives_other_numbers(tmp_path: Path) -> None:
    a, b = _train(tmp_path / "a", steps=20), _train(tmp_path / "b", steps=20, seed=1)
    assert not _no_time(a.history)["loss"].equals(_no_time(b.history)["loss"])
