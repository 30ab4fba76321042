"""A ScanRefer copy with only a handful of scans: the splits are checked before any expensive work, the
message says why a split is empty and what to set, and ``val_from_train_scenes`` makes it runnable."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scannet_fixture import TRAIN_SCENES, UNSCANNED, write_handful
from threedrest.__main__ import main as cli
from threedrest.config import DataConfig
from threedrest.data import scannet, store
from threedrest.data.splits import check_splits
from threedrest.data.store import DataError
from threedrest.net.backbone import PointBackbone, evaluate_backbone


def convert(tmp_path: Path, root: Path, **cfg_fields) -> store.DatasetIndex:
    """What ``python -m threedrest scanrefer --skip-bad`` does: convert the scans there are, skip the rest."""
    cfg = DataConfig(dataset="scanrefer", data_root=str(root), cache_dir=str(tmp_path / "cache"), **cfg_fields)
    return store.load_index(scannet.preprocess_root(cfg, skip_bad=True, workers=1, progress=False))


@pytest.fixture
def handful(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_handful(root)
    assert not scannet.held_out_scenes([*TRAIN_SCENES, *UNSCANNED]) & set(TRAIN_SCENES)
    return root


def test_empty_val_explained(tmp_path: Path, handful: Path) -> None:
    index = convert(tmp_path, handful)
    assert index.manifest["skip_counts"] == {"unknown_scene_id": 18}
    with pytest.raises(DataError) as err:
        check_splits(index)
    message = str(err.value)
    assert "split 'val' has no descriptions (train: 2 scenes / 16 descriptions, val: 0 scenes / 0 " in message
    assert "val is the 10% of ScanRefer_filtered_train.json scenes held out by seed 0 (2 scenes: " in message
    assert "scene0102_00, scene0117_00" in message
    assert "set val_from_train_scenes=1" in message and "1 of your 2 converted train scenes" in message


def test_val_from_train_scenes(tmp_path: Path, handful: Path) -> None:
    index = convert(tmp_path, handful, val_from_train_scenes=1)
    counts = check_splits(index)
    assert counts == {"train": {"scenes": 1, "descriptions": 8}, "val": {"scenes": 1, "descriptions": 8},
                      "test": {"scenes": 1, "descriptions": 8}}  # fmt: skip
    assert set(index.scene_ids("train") + index.scene_ids("val")) == set(TRAIN_SCENES)
    assert "1 of the converted ScanRefer_filtered_train.json scenes" in index.manifest["splits"]["val"]
    with pytest.raises(DataError, match="'val_from_train_scenes' is 2, but only 2 ScanRefer-train scene"):
        convert(tmp_path, handful, val_from_train_scenes=2)


def test_empty_test_explained(tmp_path: Path, handful: Path) -> None:
    (handful / "scans" / "scene0002_00" / "scene0002_00_vh_clean_2.ply").unlink()  # the only test scan
    with pytest.raises(DataError, match=r"test is ScanRefer_filtered_val\.json: add the scan of at least one scene"):
        check_splits(convert(tmp_path, handful, val_from_train_scenes=1))


@pytest.mark.parametrize("command", ["features", "train"])
def test_cli_refuses_before_pretraining(tmp_path: Path, handful: Path, command: str, capsys) -> None:
    """``error: ...`` and exit status 2, no traceback, and no backbone pre-trained (no features folder)."""
    index = convert(tmp_path, handful)
    overrides = ["dataset=scanrefer", f"data_root={handful}", f"cache_dir={tmp_path / 'cache'}"]
    argv = [command, "--profile", "smoke", "--set", *overrides]
    assert cli([*argv, "--out", str(tmp_path / "runs")] if command == "train" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "split 'val' has no descriptions" in err and "val_from_train_scenes=1" in err
    assert not (index.root / "features").exists()


def test_backbone_eval_of_empty_split_is_nan(tmp_path: Path, handful: Path) -> None:
    """0.0 m offset error would read as perfect: an empty split reports NaN and n_scenes 0."""
    result = evaluate_backbone(PointBackbone(dim=8), convert(tmp_path, handful), "val")
    assert math.isnan(result["sem_acc"]) and math.isnan(result["offset_err_m"]) and result["n_scenes"] == 0
