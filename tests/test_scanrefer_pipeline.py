"""Real-data path end to end: ScanRefer/ScanNet files -> conversion -> features -> training -> metrics."""

from __future__ import annotations

from pathlib import Path

import torch
from scannet_fixture import write_dataset
from threedrest.config import Config
from threedrest.experiments.runs import run


def test_training_runs_unchanged_on_converted_scanrefer(tmp_path: Path) -> None:
    data_root = tmp_path / "scanrefer"
    write_dataset(data_root, n_points=800)
    cfg = Config.from_flat(
        "smoke", dataset="scanrefer", data_root=str(data_root), cache_dir=str(tmp_path / "cache"),
        method="3drest", label_ratio=0.5, steps=6, burn_in_steps=3, eval_every=3, backbone_pretrain_steps=4,
    )  # fmt: skip
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run(cfg, root=tmp_path / "runs", progress=False)
    finally:
        torch.set_num_threads(previous)
    test = result.metrics.query("split == 'test' and subset == 'overall'")
    assert set(test["model"]) == {"student", "teacher"}
    assert (test["n"] > 0).all() and test["miou"].between(0, 1).all()
    assert (result.run_dir / "predictions_test_student.npz").exists()
