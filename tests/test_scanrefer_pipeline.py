"""Real-data path end to end: ScanRefer/ScanNet files -> conversion -> features -> training -> metrics."""

from __future__ import annotations

from pathlib import Path

from scannet_fixture import write_dataset, write_handful
from threedrest.config import Config
from threedrest.data import scannet
from threedrest.experiments.runs import run


def test_training_runs_unchanged_on_converted_scanrefer(tmp_path: Path, one_thread: None) -> None:
    data_root = tmp_path / "scanrefer"
    write_dataset(data_root, n_points=800)
    cfg = Config.from_flat(
        "smoke", dataset="scanrefer", data_root=str(data_root), cache_dir=str(tmp_path / "cache"),
        method="3drest", label_ratio=0.5, steps=6, burn_in_steps=3, eval_every=3, backbone_pretrain_steps=4,
    )  # fmt: skip
    result = run(cfg, root=tmp_path / "runs", progress=False)
    test = result.metrics.query("split == 'test' and subset == 'overall'")
    assert set(test["model"]) == {"student", "teacher"}
    assert (test["n"] > 0).all() and test["miou"].between(0, 1).all()
    assert (result.run_dir / "predictions_test_student.npz").exists()


def test_handful_of_scans_end_to_end(tmp_path: Path, capsys, one_thread: None) -> None:
    """Three scans while ScanRefer lists 21 scenes: convert with --skip-bad and a val scene taken from
    train (``val_from_train_scenes``), then train and evaluate as on the full data."""
    data_root = tmp_path / "scanrefer"
    write_handful(data_root, n_points=800)
    argv = ["--data-root", str(data_root), "--cache-dir", str(tmp_path / "cache"), "--workers", "1"]
    assert scannet.main([*argv, "--skip-bad", "--val-from-train-scenes", "1"]) == 0
    out = capsys.readouterr().out
    assert "val          1        4             8" in out and "skipped 18 (unknown_scene_id: 18)" in out
    cfg = Config.from_flat(
        "smoke", dataset="scanrefer", data_root=str(data_root), cache_dir=str(tmp_path / "cache"),
        val_from_train_scenes=1, method="supervised", label_ratio=0.5, steps=4, eval_every=2,
        backbone_pretrain_steps=2,
    )  # fmt: skip
    result = run(cfg, root=tmp_path / "runs", progress=False)
    for split in ("val", "test"):
        rows = result.metrics.query(f"split == '{split}' and subset == 'overall'")
        assert (rows["n"] == 8).all() and rows["miou"].between(0, 1).all()
