"""Bad input gives one clear message naming what and where (``error: ...``, exit 2), never a deep traceback.

The ScanRefer/ScanNet data-format cases (missing files, malformed JSON, wrong lengths, NaN
coordinates, unknown scene ids, ...) are in tests/test_scannet.py; these are the kit-level ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from threedrest.__main__ import main
from threedrest.config import Config, ConfigError
from threedrest.data import store
from threedrest.data.store import DataError
from threedrest.experiments import grids
from threedrest.experiments.runs import run, run_dir_for
from threedrest.net.batching import collate
from threedrest.train.loop import train_step
from threedrest.train.state import init_state
from threedrest.train.workspace import Workspace


def _cli(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """Run the CLI in-process; it must exit 2 with one ``error:`` line (no traceback)."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err  # (a progress bar may share stderr)
    return lines[0]


def test_unknown_config_key_lists_the_valid_ones(capsys, tmp_path) -> None:
    err = _cli(capsys, "train", "--profile", "smoke", "--out", str(tmp_path), "--set", "learning_rate=0.1")
    assert "unknown config key 'learning_rate'" in err and "lr, " in err and "tscs_threshold" in err


def test_unknown_profile(capsys, tmp_path) -> None:
    err = _cli(capsys, "train", "--profile", "huge", "--out", str(tmp_path))
    assert "unknown profile 'huge'; choose one of ['classroom', 'paper', 'smoke']" in err


def test_unknown_method(capsys, tmp_path) -> None:
    err = _cli(capsys, "train", "--profile", "smoke", "--method", "fixmatch", "--out", str(tmp_path))
    assert "config key 'method' is 'fixmatch'" in err and "3drest" in err


@pytest.mark.parametrize("ratio", ["0", "-0.1", "1.5"])
def test_label_ratio_outside_zero_one(capsys, tmp_path, ratio) -> None:
    err = _cli(capsys, "train", "--profile", "smoke", "--ratio", ratio, "--out", str(tmp_path))
    assert f"label_ratio must be in (0, 1], got {float(ratio)}" in err


def test_missing_and_absent_data_root(capsys, tmp_path) -> None:
    err = _cli(capsys, "train", "--profile", "smoke", "--out", str(tmp_path), "--set", "dataset=scanrefer")
    assert "'data_root' is empty" in err
    absent = tmp_path / "no_such_scanrefer"
    err = _cli(capsys, "train", "--profile", "smoke", "--out", str(tmp_path), "--set", "dataset=scanrefer",
               f"data_root={absent}")  # fmt: skip
    assert f"{absent}: data_root folder missing" in err


def test_set_without_equals_sign(capsys, tmp_path) -> None:
    err = _cli(capsys, "train", "--profile", "smoke", "--out", str(tmp_path), "--set", "lr")
    assert "--set expects key=value, got 'lr'" in err


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("batch_size", "0", "'batch_size' must be >= 1, got 0"), ("eval_every", "0", "'eval_every' must be >= 1"),
     ("ulb_ratio", "0", "'ulb_ratio' must be >= 1"), ("steps", "ten", "'steps' expects int, got 'ten' (str)")],
)  # fmt: skip
def test_invalid_training_numbers(capsys, tmp_path, key, value, message) -> None:
    assert message in _cli(capsys, "train", "--profile", "smoke", "--out", str(tmp_path), "--set", f"{key}={value}")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("label_ratio", "ten", "config key 'label_ratio' expects float, got 'ten' (str)"),
     ("steps", 2.5, "config key 'steps' expects int, got 2.5 (float)"),
     ("tscs", "maybe", "config key 'tscs' expects bool, got 'maybe' (str)"),
     ("device", 0, "config key 'device' expects str, got 0 (int)")],
)  # fmt: skip
def test_papermill_parameter_of_the_wrong_type(key, value, message) -> None:
    """Notebooks hand their (papermill-injected) literals to grids.configs -> Config.from_flat."""
    with pytest.raises(ConfigError) as err:
        grids.configs("smoke", [0], [{"method": "3drest", key: value}])
    assert message in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_asked_without_a_gpu(capsys, tmp_path) -> None:
    err = _cli(capsys, "train", "--profile", "smoke", "--device", "cuda", "--out", str(tmp_path), "--set", "steps=1")
    assert "config key 'device' is 'cuda', but torch sees no CUDA device" in err


def test_corrupted_checkpoint_warns_moves_it_aside_and_restarts(tmp_path) -> None:
    cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.5, steps=6, eval_every=3)
    clean = run(cfg, root=tmp_path / "clean", progress=False)
    run_dir = tmp_path / "bad" / clean.run_dir.name
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated by a full disk")
    with pytest.warns(UserWarning, match=r"checkpoint\.pt: corrupted checkpoint .*restarting from step 0"):
        again = run(cfg, root=tmp_path / "bad", progress=False)
    assert (run_dir / "checkpoint.pt.corrupt").exists()
    assert (again.run_dir / "metrics.csv").read_bytes() == (clean.run_dir / "metrics.csv").read_bytes()


def test_checkpoint_of_another_config_is_not_resumed(tmp_path) -> None:
    cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.5, steps=2, eval_every=1)
    target = run_dir_for(cfg, tmp_path)
    target.mkdir(parents=True)
    torch.save({"config_hash": "0123456789ab", "step": 1}, target / "checkpoint.pt")
    with pytest.warns(UserWarning, match="saved for config 0123456789ab, not " + cfg.hash()):
        result = run(cfg, root=tmp_path, progress=False)
    assert result.summary["best_step"]["student"] >= 1  # trained from step 0, not from the foreign state


def test_nan_coordinates_in_a_scene_file(tmp_path) -> None:
    n = 50
    scene = store.Scene("scene_nan", np.zeros((n, 3)), np.zeros((n, 3)), np.arange(n) % 5, np.zeros(n, int),
                        np.zeros(n, int))  # fmt: skip
    path = store.save_scene(tmp_path, scene)
    arrays = dict(np.load(path))
    arrays["xyz"][7, 2] = np.nan
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=r"scene_nan\.npz: field 'xyz' has 1 points with NaN"):
        store.load_scene(tmp_path, "scene_nan")


def test_truncated_scene_file(tmp_path) -> None:
    n = 50
    scene = store.Scene("scene_cut", np.zeros((n, 3)), np.zeros((n, 3)), np.arange(n) % 5, np.zeros(n, int),
                        np.zeros(n, int))  # fmt: skip
    path = store.save_scene(tmp_path, scene)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match=r"scene_cut\.npz: corrupted scene file"):
        store.load_scene(tmp_path, "scene_cut")


def _nan_collate(samples):
    batch = collate(samples)
    batch.sp_feats[0, 0, 0] = float("nan")  # as if read from a damaged feature cache
    return batch


def test_nan_in_cached_features_names_step_field_and_description(capsys, tmp_path, monkeypatch) -> None:
    cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.5, steps=3)
    ws = Workspace.for_config(cfg)
    monkeypatch.setattr(Workspace, "collate", staticmethod(_nan_collate))
    state = init_state(cfg, ws)
    with pytest.raises(FloatingPointError, match=r"non-finite loss nan at step 0: non-finite inputs in sp_feats of \["):
        train_step(cfg, ws, state)
    err = _cli(capsys, "train", "--profile", "smoke", "--method", "supervised", "--ratio", "0.5", "--out",
               str(tmp_path), "--set", "steps=3")  # fmt: skip
    assert "error: non-finite loss nan at step 0" in err and "sp_feats" in err


def test_empty_split(monkeypatch) -> None:
    cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.5)
    index = Workspace.bundle_for(Config.from_flat("smoke")).index
    monkeypatch.setattr(Workspace, "_bundles", {})
    empty_test = dataclasses.replace(index, descriptions=[d for d in index.descriptions if d["split"] != "test"])
    monkeypatch.setattr("threedrest.train.workspace.load_dataset_index", lambda _cfg: empty_test)
    with pytest.raises(DataError, match=r"descriptions\.json: split 'test' has no descriptions"):
        Workspace.for_config(cfg)
