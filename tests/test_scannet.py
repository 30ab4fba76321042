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
    add_described_object,
    edit_aggregation,
    rename_described,
    scan_file,
    scanrefer_records,
    write_all_cases,
    write_dataset,
    write_json,
    write_labels_tsv,
    write_meta,
    write_ply,
    write_scene,
    write_vertex_labels,
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


@pytest.mark.parametrize("spelling", ["refridgerator", "refrigerator"])  # official ScanNet tsv, ScanRefer's copy
def test_scanrefer_type_follows_scanrefer_label_map(tmp_path: Path, spelling: str) -> None:
    label_map = read_label_map(write_labels_tsv(tmp_path, fridge_spelling=spelling))
    assert scanrefer_type("office_chair", label_map) == "chair"
    assert scanrefer_type("trash_can", label_map) == "others"
    assert scanrefer_type("no_such_label", label_map) == "others"
    # ScanRefer's shipped map spells class 24 "refrigerator", so its typing puts fridges there
    assert scanrefer_type("refrigerator", label_map) == "refrigerator"
    assert scanrefer_type("mini_fridge", label_map) == "refrigerator"


@pytest.mark.parametrize("spelling", ["refridgerator", "refrigerator"])
def test_refrigerators_unique_as_scanrefer_says(tmp_path: Path, data: tuple[Path, dict], spelling: str) -> None:
    """A described refrigerator / mini fridge beside a described trash can ("others") is unique,
    with either tsv spelling; typed "others" (the old behaviour) both would be multiple."""
    root, _ = data
    write_labels_tsv(root, fridge_spelling=spelling)
    fridge = add_described_object(root, "train", "scene0000_00", "refrigerator", "refrigerator")
    mini = add_described_object(root, "val", "scene0002_00", "mini fridge", "mini_fridge")
    index = store.load_index(convert(tmp_path, root))
    unique = {(d["scene_id"], d["object_name"]): d["unique"] for d in index.descriptions}
    assert unique[("scene0000_00", "refrigerator")] and unique[("scene0002_00", "mini_fridge")]
    assert unique[("scene0000_00", "trash_can")] and unique[("scene0002_00", "trash_can")]
    # test split: two chairs (multiple), table, trash can, mini fridge (unique)
    assert index.manifest["summary"]["test"] == {"scenes": 1, "objects": 5, "descriptions": 10, "unique": 6,
                                                 "multiple": 4}  # fmt: skip
    for scene_id, oid in (("scene0000_00", fridge), ("scene0002_00", mini)):
        scene = index.load_scene(scene_id)
        assert (scene.semantic[scene.instance == oid] == CLASS_INDEX["refrigerator"]).all()
        names = {o["object_id"]: o["class_name"] for o in index.scenes[scene_id]["objects"]}
        assert names[oid] == "refrigerator"


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


def _warnings(index: store.DatasetIndex, reason: str) -> list[dict]:
    return [w for w in index.manifest["warnings"] if w["reason"] == reason]


def test_raw_id_label_file_falls_back_to_aggregation(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """A v1 ``_vh_clean_2.labels.ply`` holds raw category ids (103, 229, ...), not NYU40 ids: the
    classes come from the aggregation + tsv, with a warning naming the file; --strict makes it an error."""
    root, truth = data
    raw_ids = np.where(truth["scene0001_00"]["instance"] >= 0, 229, 0)
    raw_ids[::3] = 103
    raw_ids[1] = 5  # an id that happens to be inside 0..40 does not make the file NYU40
    path = scan_file(root, "scene0001_00", "_vh_clean_2.labels.ply")
    write_vertex_labels(path, raw_ids)
    with pytest.warns(scannet.ConversionWarning, match="1 conversion warning"):
        index = store.load_index(convert(tmp_path, root))
    sem = np.array([SEMANTIC.get(i, -1) for i in truth["scene0001_00"]["instance"]])
    np.testing.assert_array_equal(index.load_scene("scene0001_00").semantic, sem)
    (warning,) = _warnings(index, "labels_ply_not_nyu40")
    assert warning["scene_id"] == "scene0001_00"
    assert f"{path}: vertex property 'label' holds ids outside NYU40's 0..40" in warning["message"]
    assert "e.g. 103, 229" in warning["message"] and "from the aggregation + label tsv" in warning["message"]
    assert "labels_ply_not_nyu40: 1" in scannet.format_summary(index.manifest)
    with pytest.raises(DataError, match=r"labels\.ply: vertex property 'label' holds ids outside") as err:
        convert(tmp_path, root, strict=True)
    assert getattr(err.value, "reason", None) == "labels_ply_not_nyu40"


def test_missing_axis_alignment_warned_and_offset_recorded(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """A ``<scene>.txt`` without ``axisAlignment`` (or no file) is warned and counted; every scene
    records its transform and the offset subtracted, so ScanRefer frame = kit xyz + offset."""
    root, truth = data
    matrix = np.array([[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]], dtype=float)
    write_meta(scan_file(root, "scene0000_00", ".txt"), "axisAlignment = " + " ".join(f"{v:g}" for v in matrix.flat))
    write_meta(scan_file(root, "scene0001_00", ".txt"), axis_alignment=None)
    scan_file(root, "scene0002_00", ".txt").unlink()
    index = store.load_index(convert(tmp_path, root))
    missing = {w["scene_id"]: w["message"] for w in _warnings(index, "no_axis_alignment")}
    assert set(missing) == {"scene0001_00", "scene0002_00"}
    assert "scene0001_00.txt: no 'axisAlignment' line; the scene is left unaligned" in missing["scene0001_00"]
    assert "scene0002_00.txt: file missing; the scene is left unaligned" in missing["scene0002_00"]
    assert index.manifest["alignment_counts"] == {"axisAlignment": 1, "none": 2}
    text = scannet.format_summary(index.manifest)
    assert "axis alignment: 1 scene(s) by <scene>.txt 'axisAlignment', 2 left unaligned (identity)" in text
    assert "no_axis_alignment: 2" in text
    for scene_id in truth:
        align = index.scenes[scene_id]["alignment"]
        assert align["source"] == ("axisAlignment" if scene_id == "scene0000_00" else "none")
        applied = np.array(align["axis_alignment"])
        np.testing.assert_array_equal(applied, matrix if scene_id == "scene0000_00" else np.eye(4))
        raw = truth[scene_id]["xyz"].astype(np.float64)
        aligned = raw @ applied[:3, :3].T + applied[:3, 3]  # ScanRefer's frame (its boxes are in it)
        kit = index.load_scene(scene_id).xyz
        np.testing.assert_allclose(kit + np.array(align["offset"]), aligned, atol=1e-5)
        assert np.array(align["offset"]) != pytest.approx(0.0)  # a real shift: stored, not lost


def test_changed_input_reconverts_scene(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """Replacing a scan's meta file (or the label tsv) and rerunning without --force converts
    what changed again: scenes are keyed on their input files' sizes and mtimes, not the data path."""
    root, truth = data
    out = convert(tmp_path, root)
    npz = {s: store.scene_path(out, s) for s in truth}
    stamp = {s: p.stat().st_mtime_ns for s, p in npz.items()}
    time.sleep(0.01)
    write_meta(scan_file(root, "scene0002_00", ".txt"), "axisAlignment = 0 -1 0 0 1 0 0 0 0 0 1 0 0 0 0 1")
    assert convert(tmp_path, root) == out
    index = store.load_index(out)
    xyz = truth["scene0002_00"]["xyz"].astype(np.float64)
    rotated = np.stack([-xyz[:, 1], xyz[:, 0], xyz[:, 2]], axis=1)
    np.testing.assert_allclose(index.load_scene("scene0002_00").xyz, rotated - rotated.min(axis=0), atol=1e-5)
    assert index.scenes["scene0002_00"]["alignment"]["axis_alignment"][0] == [0, -1, 0, 0]
    assert npz["scene0002_00"].stat().st_mtime_ns != stamp["scene0002_00"]
    assert all(npz[s].stat().st_mtime_ns == stamp[s] for s in TRAIN_SCENES)  # unchanged scans reused
    # the label tsv feeds every scene's classes: a new mapping reconverts them all
    time.sleep(0.01)
    tsv = root / "scannetv2-labels.combined.tsv"
    tsv.write_text(tsv.read_text().replace("\ttrash can\t10\t39\t", "\ttrash can\t10\t7\t"))
    convert(tmp_path, root)
    index = store.load_index(out)
    assert {o["object_name"]: o["class_name"] for o in index.scenes["scene0000_00"]["objects"]}["trash can"] == "table"


def test_segment_absent_from_segs_warned(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """A segGroup naming a segment id the segs file lacks (object keeps its other segments)."""
    root, truth = data
    edit_aggregation(root, "scene0000_00", lambda groups: groups[3]["segments"].append(99_999))
    index = store.load_index(convert(tmp_path, root))
    (warning,) = _warnings(index, "segment_not_in_segs")
    assert "scene0000_00.aggregation.json: segGroup objectId 3 ('office chair') field 'segments' names 1 segment" \
           in warning["message"]  # fmt: skip
    assert "absent from" in warning["message"] and "(first: 99999)" in warning["message"]
    np.testing.assert_array_equal(index.load_scene("scene0000_00").instance, truth["scene0000_00"]["instance"])
    assert "segment_not_in_segs: 1" in scannet.format_summary(index.manifest)
    with pytest.raises(DataError, match=r"names 1 segment id\(s\) absent from .*\(an error under --strict\)"):
        convert(tmp_path, root, strict=True)
    skipped = store.load_index(convert(tmp_path, root, strict=True, skip_bad=True))
    assert skipped.manifest["skip_counts"] == {"segment_not_in_segs": 1} and "scene0000_00" not in skipped.scenes


def test_segment_in_two_seggroups_warned(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """Two segGroups claiming one segment: the later wins, with a warning naming both."""
    root, truth = data
    groups = json.loads(scan_file(root, "scene0001_00", ".aggregation.json").read_text())["segGroups"]
    shared = groups[3]["segments"][0]  # office chair (objectId 3) also claimed by the second table (6)
    edit_aggregation(root, "scene0001_00", lambda g: g[6]["segments"].append(shared))
    index = store.load_index(convert(tmp_path, root))
    (warning,) = _warnings(index, "segment_in_two_segGroups")
    assert ("scene0001_00.aggregation.json: segGroups objectId 3 ('office chair') and objectId 6 ('table') both "
            f"claim 1 segment(s) (first: {shared};") in warning["message"]  # fmt: skip
    assert "they go to objectId 6, the later segGroup" in warning["message"]
    expected = np.where(truth["scene0001_00"]["seg"] == shared, 6, truth["scene0001_00"]["instance"])
    np.testing.assert_array_equal(index.load_scene("scene0001_00").instance, expected)
    assert "segment_in_two_segGroups: 1" in scannet.format_summary(index.manifest)
    with pytest.raises(DataError, match="both claim 1 segment") as err:
        convert(tmp_path, root, strict=True)
    assert getattr(err.value, "reason", None) == "segment_in_two_segGroups"


def test_object_name_disagreeing_with_seggroup_warned(tmp_path: Path, data: tuple[Path, dict]) -> None:
    """A ScanRefer object_name ("toilet") that is not its segGroup's label ("chair"): warned, with
    the typing it gets (ScanRefer's, from object_name, which changes unique/multiple)."""
    root, _ = data
    rename_described(root, "val", "scene0002_00", 2, "toilet")
    index = store.load_index(convert(tmp_path, root))
    (warning,) = _warnings(index, "object_name_mismatch")
    assert ("ScanRefer_filtered_val.json: record 0 field 'object_name' 'toilet' disagrees with segGroup objectId "
            "2's label 'chair'") in warning["message"]  # fmt: skip
    assert "(2 description(s)); unique/multiple types it 'toilet' from object_name" in warning["message"]
    assert warning["uids"] == ["scene0002_00|2|0", "scene0002_00|2|1"]
    # the renamed chair and the office chair are each alone in their type now
    assert index.manifest["summary"]["test"]["unique"] == 8
    assert "object_name_mismatch: 1" in scannet.format_summary(index.manifest)
    with pytest.raises(DataError, match="'toilet' disagrees with segGroup objectId 2's label 'chair'"):
        convert(tmp_path, root, strict=True)
    skipped = store.load_index(convert(tmp_path, root, strict=True, skip_bad=True))
    assert skipped.manifest["skip_counts"] == {"object_name_mismatch": 2} and len(skipped.descriptions) == 22


def test_all_cases_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Every case at once (scannet_fixture.write_all_cases): the printed summary counts and lists each."""
    root = tmp_path / "data"
    write_all_cases(root)
    argv = ["--data-root", str(root), "--cache-dir", str(tmp_path / "cache"), "--workers", "2"]
    assert scannet.main(argv) == 0
    out = capsys.readouterr().out
    print(out)  # the summary shown in the report (pytest -s)
    # scene0000_00 is the held-out val scene: its refrigerator is unique (typed "others" it would be multiple)
    assert "val          1        5            10        6         4   60.0%" in out
    # test: the mini fridge, the trash can and the "toilet" (a chair by its label) leave every type alone
    assert "test         1        5            10       10         0  100.0%" in out
    assert "axis alignment: 1 scene(s) by <scene>.txt 'axisAlignment', 2 left unaligned (identity)" in out
    assert ("warnings 6 (labels_ply_not_nyu40: 1, no_axis_alignment: 2, object_name_mismatch: 1, "
            "segment_in_two_segGroups: 1, segment_not_in_segs: 1)") in out  # fmt: skip
    assert out.count("\n  [") == 6 and "skipped" not in out
    assert scannet.main([*argv, "--strict"]) == 1
    assert "(an error under --strict)" in capsys.readouterr().err


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
