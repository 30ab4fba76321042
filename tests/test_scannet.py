"""The ScanRefer/ScanNet converter on tiny scans it writes itself in the real file formats."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from plyfile import PlyData, PlyElement
from scannet_fixture import (
    TRAIN_SCENES,
    VAL_SCENES,
    scanrefer_records,
    write_dataset,
    write_json,
    write_labels_tsv,
    write_ply,
    write_scene,
)
from threedrest.config import DataConfig
from threedrest.data import scannet, store
from threedrest.data.scannet_io import read_label_map, scanrefer_type
from threedrest.data.store import CLASS_INDEX, DataError

# expected CLASSES index per objectId of scannet_fixture.OBJECTS (wall, floor, chair, office chair,
# table, trash can -> others, table)
SEMANTIC = {0: 0, 1: 1, 2: 4, 3: 4, 4: 6, 5: CLASS_INDEX["others"], 6: 6}


def convert(tmp_path: Path, root: Path, **kwargs) -> Path:
    cfg = DataConfig(dataset="scanrefer", data_root=str(root), cache_dir=str(tmp_path / "cache"))
    return scannet.preprocess_root(cfg, progress=False, **{"workers": 1, **kwargs})


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "data"
    return root, write_dataset(root)


def test_good_conversion_round_trips(tmp_path: Path, data: tuple[Path, dict]) -> None:
    root, truth = data
    index = store.load_index(convert(tmp_path, root, workers=2))
    splits = {s: index.scene_ids(s) for s in store.SPLITS}
    assert splits["test"] == list(VAL_SCENES)
    assert sorted(splits["train"] + splits["val"]) == sorted(TRAIN_SCENES) and len(splits["val"]) == 1
    for scene_id, expected in truth.items():
        scene = index.load_scene(scene_id)
        np.testing.assert_allclose(scene.xyz, expected["xyz"] - expected["xyz"].min(axis=0), atol=1e-6)
        assert scene.xyz.min(axis=0).tolist() == [0.0, 0.0, 0.0]
        np.testing.assert_array_equal(scene.rgb, expected["rgb"])
        # superpoint = rank of ScanNet's segment id, consecutive from 0
        np.testing.assert_array_equal(scene.superpoint, np.searchsorted(np.unique(expected["seg"]), expected["seg"]))
        np.testing.assert_array_equal(scene.instance, expected["instance"])
        sem = np.array([SEMANTIC.get(i, -1) for i in expected["instance"]])
        np.testing.assert_array_equal(scene.semantic, sem)
        meta = index.scenes[scene_id]
        assert meta["n_points"] == 600 and meta["n_superpoints"] == 12
        assert [o["class_name"] for o in meta["objects"]] == ["wall", "floor", "chair", "chair", "table", "others",
                                                              "table"]  # fmt: skip
        records = [d for d in index.descriptions if d["scene_id"] == scene_id]
        assert len(records) == 8 and all(d["split"] == meta["split"] for d in records)
        for d in records:
            assert (scene.instance == int(d["object_id"])).any()
            assert d["uid"] == f"{scene_id}|{d['object_id']}|{d['ann_id']}"
        # two described chairs -> multiple; one *described* table (a second, undescribed one is in the
        # aggregation) -> unique, as ScanRefer counts; trash can -> "others", alone -> unique
        unique = {d["object_name"]: d["unique"] for d in records}
        assert unique == {"chair": False, "office_chair": False, "table": True, "trash_can": True}
    assert index.manifest["summary"]["test"] == {"scenes": 1, "objects": 4, "descriptions": 8, "unique": 4,
                                                 "multiple": 4}  # fmt: skip
    assert index.manifest["skipped"] == [] and index.manifest["unmapped_labels"] == []


def test_scanrefer_type_follows_scanrefer_label_map(tmp_path: Path) -> None:
    label_map = read_label_map(write_labels_tsv(tmp_path))
    label_map["refrigerator"] = (24, "refridgerator")  # NYU40's spelling: ScanRefer's map makes it "others"
    assert scanrefer_type("office_chair", label_map) == "chair"
    assert scanrefer_type("trash_can", label_map) == "others"
    assert scanrefer_type("no_such_label", label_map) == "others"
    assert scanrefer_type("refrigerator", label_map) == "others"


def test_resumable_and_force(tmp_path: Path, data: tuple[Path, dict]) -> None:
    root, _ = data
    out = convert(tmp_path, root, workers=2)
    npz = {s: store.scene_path(out, s) for s in (*TRAIN_SCENES, *VAL_SCENES)}
    stamp = {s: p.stat().st_mtime_ns for s, p in npz.items()}
    assert convert(tmp_path, root) == out  # complete: returns at once
    assert {s: p.stat().st_mtime_ns for s, p in npz.items()} == stamp
    # an interrupted run: no manifest, one scene never written, one truncated
    (out / "manifest.json").unlink()
    npz["scene0000_00"].unlink()
    npz["scene0001_00"].write_bytes(b"PK\x03\x04 truncated")
    time.sleep(0.01)
    convert(tmp_path, root)
    assert npz["scene0002_00"].stat().st_mtime_ns == stamp["scene0002_00"]  # skipped: already done
    assert npz["scene0000_00"].is_file()
    store.load_scene(out, "scene0001_00")  # rebuilt
    stamp2 = {s: p.stat().st_mtime_ns for s, p in npz.items()}
    time.sleep(0.01)
    convert(tmp_path, root, force=True)
    assert all(p.stat().st_mtime_ns != stamp2[s] for s, p in npz.items())
    assert store.load_index(out).manifest["summary"]["train"]["descriptions"] == 8


def test_cli_prints_split_table(tmp_path: Path, data: tuple[Path, dict], capsys: pytest.CaptureFixture) -> None:
    root, _ = data
    argv = ["--data-root", str(root), "--cache-dir", str(tmp_path / "cache"), "--workers", "1"]
    assert scannet.main(argv) == 0
    out = capsys.readouterr().out
    assert "unique%" in out and "test         1        4             8        4         4   50.0%" in out
    (root / "scannetv2-labels.combined.tsv").unlink()
    assert scannet.main([*argv, "--force"]) == 1
    assert "scannetv2-labels.combined.tsv: file missing" in capsys.readouterr().err


def _records(root: Path, split: str = "train") -> tuple[Path, list[dict]]:
    path = root / f"ScanRefer_filtered_{split}.json"
    return path, json.loads(path.read_text())


def _edit_record(root: Path, index: int, **fields) -> None:
    path, records = _records(root)
    records[index].update(fields)
    write_json(path, records)


def _add_unknown_scene(root: Path) -> None:
    path, records = _records(root)
    write_json(path, records + scanrefer_records("scene0999_00")[:1])


def _scan(root: Path, scene_id: str, suffix: str) -> Path:
    return root / "scans" / scene_id / f"{scene_id}{suffix}"


def _empty_scene(root: Path) -> None:
    write_ply(_scan(root, "scene0001_00", "_vh_clean_2.ply"), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
    write_json(_scan(root, "scene0001_00", "_vh_clean_2.0.010000.segs.json"), {"segIndices": []})


def _nan_scene(root: Path) -> None:
    xyz = np.random.default_rng(0).uniform(size=(600, 3))
    xyz[5, 1] = np.nan
    write_ply(_scan(root, "scene0001_00", "_vh_clean_2.ply"), xyz, np.zeros((600, 3)), np.zeros((1, 3), int))


def _short_segs(root: Path) -> None:
    path = _scan(root, "scene0001_00", "_vh_clean_2.0.010000.segs.json")
    segs = json.loads(path.read_text())
    write_json(path, {**segs, "segIndices": segs["segIndices"][:-1]})


# (breaks the dataset, fragments the message must hold (file, field), reason, fatal even with --skip-bad,
#  descriptions left after skipping)
BAD_CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...], str, bool, int]] = {
    "missing_ply": (lambda r: _scan(r, "scene0001_00", "_vh_clean_2.ply").unlink(),
                    ("scene0001_00_vh_clean_2.ply: file missing", "vertex 'x'"), "missing_file", False, 16),
    "missing_segs": (lambda r: _scan(r, "scene0001_00", "_vh_clean_2.0.010000.segs.json").unlink(),
                     ("scene0001_00_vh_clean_2.0.010000.segs.json: file missing", "'segIndices'"),
                     "missing_file", False, 16),
    "malformed_aggregation": (lambda r: _scan(r, "scene0001_00", ".aggregation.json").write_text('{"segGroups": ['),
                              ("scene0001_00.aggregation.json: malformed JSON", "line 1 column"),
                              "malformed_json", False, 16),
    "malformed_scanrefer": (lambda r: (r / "ScanRefer_filtered_val.json").write_text("[{]"),
                            ("ScanRefer_filtered_val.json: malformed JSON", "line 1 column 3"),
                            "malformed_json", True, 0),
    "object_id_absent": (lambda r: _edit_record(r, 3, object_id="99"),
                         ("ScanRefer_filtered_train.json: record 3 field 'object_id' 99",
                          "scene0000_00.aggregation.json"), "object_id_not_in_aggregation", False, 23),
    "segs_length": (_short_segs, ("scene0001_00_vh_clean_2.0.010000.segs.json: field 'segIndices' has 599 entries",
                                  "600 vertices"), "length_mismatch", False, 16),
    "empty_scene": (_empty_scene, ("scene0001_00_vh_clean_2.ply: element 'vertex' has 0 vertices",),
                    "empty_scene", False, 16),
    "nan_coordinates": (_nan_scene, ("scene0001_00_vh_clean_2.ply: vertex properties 'x','y','z'",
                                     "1 vertices (first: vertex 5)"), "nan_coordinates", False, 16),
    "empty_description": (lambda r: _edit_record(r, 2, description="  ", token=[]),
                          ("ScanRefer_filtered_train.json: record 2 field 'description' is empty",),
                          "empty_description", False, 23),
    "empty_token": (lambda r: _edit_record(r, 4, token=[]),
                    ("ScanRefer_filtered_train.json: record 4 field 'token' is empty",),
                    "empty_description", False, 23),
    "unknown_scene_id": (_add_unknown_scene, ("ScanRefer_filtered_train.json: record 16 field 'scene_id' "
                                              "'scene0999_00' has no scan folder",), "unknown_scene_id", False, 24),
    "duplicate_description": (lambda r: _edit_record(r, 1, ann_id="0"),
                              ("ScanRefer_filtered_train.json: record 1 repeats scene_id/object_id/ann_id",),
                              "duplicate_description", False, 23),
    "missing_labels_tsv": (lambda r: (r / "scannetv2-labels.combined.tsv").unlink(),
                           ("scannetv2-labels.combined.tsv: file missing", "'nyu40id'"), "missing_file", True, 0),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_names_file_and_field(tmp_path: Path, data: tuple[Path, dict], case: str) -> None:
    root, _ = data
    breaker, fragments, reason, fatal, n_left = BAD_CASES[case]
    breaker(root)
    with pytest.raises(DataError) as err:
        convert(tmp_path, root)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert getattr(err.value, "reason", None) == reason
    if fatal:
        with pytest.raises(DataError):
            convert(tmp_path, root, skip_bad=True)
        return
    index = store.load_index(convert(tmp_path, root, skip_bad=True))
    assert index.manifest["skip_counts"] == {reason: 1}
    assert fragments[0] in index.manifest["skipped"][0]["message"]
    assert len(index.descriptions) == n_left


def test_skip_bad_counts_every_reason(tmp_path: Path, data: tuple[Path, dict]) -> None:
    root, _ = data
    for case in ("missing_ply", "object_id_absent", "empty_description", "unknown_scene_id"):
        BAD_CASES[case][0](root)
    with pytest.raises(DataError, match="record 2 field 'description' is empty"):  # the first problem, in file order
        convert(tmp_path, root, workers=2)
    index = store.load_index(convert(tmp_path, root, skip_bad=True, workers=2))
    counts = index.manifest["skip_counts"]
    assert counts == {"missing_file": 1, "object_id_not_in_aggregation": 1, "empty_description": 1,
                      "unknown_scene_id": 1}  # fmt: skip
    assert len(index.descriptions) == 24 - 8 - 1 - 1 and "scene0001_00" not in index.scenes
    text = scannet.format_summary(index.manifest)
    assert "skipped 4 (empty_description: 1, missing_file: 1, object_id_not_in_aggregation: 1, " in text
    assert "11 descriptions dropped" in text


def test_other_layout_axis_alignment_and_labels_ply(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """Scan folders directly under data_root, ScanNet's ``_vh_clean.aggregation.json`` name, the
    ``<scene>.txt`` axis alignment and ``_vh_clean_2.labels.ply`` semantics are all honoured."""
    root, truth = data
    scene_id = "scene0002_00"
    folder = root / scene_id
    (root / "scans" / scene_id).rename(folder)
    (folder / f"{scene_id}.aggregation.json").rename(folder / f"{scene_id}_vh_clean.aggregation.json")
    (folder / f"{scene_id}.txt").write_text("sceneType = Bedroom\naxisAlignment = 0 -1 0 1 1 0 0 2 0 0 1 3 0 0 0 1\n")
    nyu40 = np.full(600, 36)  # labels.ply says "bathtub" everywhere, unlike the aggregation
    nyu40[:10] = 0
    vertex = np.zeros(600, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("label", "u2")])
    vertex["label"] = nyu40
    PlyData([PlyElement.describe(vertex, "vertex")], text=False).write(
        str(folder / f"{scene_id}_vh_clean_2.labels.ply")
    )
    scene = store.load_index(convert(tmp_path, root)).load_scene(scene_id)
    xyz = truth[scene_id]["xyz"].astype(np.float64)
    rotated = np.stack([-xyz[:, 1], xyz[:, 0], xyz[:, 2]], axis=1)  # 90 degrees about z
    np.testing.assert_allclose(scene.xyz, rotated - rotated.min(axis=0), atol=1e-5)
    np.testing.assert_array_equal(scene.semantic, np.where(nyu40 == 0, -1, CLASS_INDEX["bathtub"]))
    np.testing.assert_array_equal(scene.instance, truth[scene_id]["instance"])


def test_time_100k_point_scene(tmp_path: Path, record_property: Callable) -> None:
    """Measures (does not assert) the conversion time of one 100k-point scan; see the report."""
    label_map = read_label_map(write_labels_tsv(tmp_path))
    write_scene(tmp_path, "scene0000_00", n_points=100_000, n_segments=800)
    records = [{**r, "_where": "fixture"} for r in scanrefer_records("scene0000_00")]
    start = time.perf_counter()
    result = scannet.convert_scene(tmp_path, "scene0000_00", records, label_map, tmp_path / "out", reuse=False)
    seconds = time.perf_counter() - start
    record_property("convert_100k_seconds", seconds)
    print(f"convert_scene, 100k points: {seconds:.3f} s")
    assert result["errors"] == [] and result["meta"]["n_points"] == 100_000
