"""Writes tiny ScanNet v2 scans and ScanRefer files in exactly the real formats, for the loader tests.

Each scan is a strip of points cut into segments (raw ids 10, 13, 16, ... in shuffled order, as
ScanNet's are not consecutive); segGroups cover some segments, the rest stay unannotated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from plyfile import PlyData, PlyElement

TSV_HEADER = [
    "id", "raw_category", "category", "count", "nyu40id", "eigen13id", "nyuClass", "nyu40class", "eigen13class",
    "ModelNet40", "ModelNet10", "ShapeNetCore55", "synsetoffset", "wnsynsetid", "wnsynsetkey", "mpcat40",
    "mpcat40index",
]  # fmt: skip
# raw_category, nyu40id, nyu40class (the columns the converter reads); the others are filler
LABELS = [
    ("wall", 1, "wall"), ("floor", 2, "floor"), ("chair", 5, "chair"), ("office chair", 5, "chair"),
    ("table", 7, "table"), ("coffee table", 7, "table"), ("trash can", 39, "otherfurniture"),
    ("door", 8, "door"), ("kitchen cabinets", 3, "cabinet"), ("lamp", 35, "lamp"), ("toilet", 33, "toilet"),
]  # fmt: skip
# (objectId, raw label, segment slots) of every scan; slots index the scan's segments
OBJECTS = [(0, "wall", [0, 1]), (1, "floor", [2]), (2, "chair", [3]), (3, "office chair", [4, 5]),
           (4, "table", [6]), (5, "trash can", [7]), (6, "table", [8])]  # fmt: skip
# (objectId, object_name as ScanRefer spells it) of the described objects: two chairs (multiple),
# one described table (unique: ScanRefer counts described objects only), one trash can ("others")
DESCRIBED = [(2, "chair"), (3, "office_chair"), (4, "table"), (5, "trash_can")]


# NYU40 class 24 as the official ScanNet tsv spells it; ScanRefer's copy spells it "refrigerator"
OFFICIAL_FRIDGE = "refridgerator"


def write_labels_tsv(root: Path, fridge_spelling: str = OFFICIAL_FRIDGE) -> Path:
    """The label tsv; its refrigerator rows (raw "refrigerator", "mini fridge") use ``fridge_spelling``."""
    lines = ["\t".join(TSV_HEADER)]
    fridges = [("refrigerator", 24, fridge_spelling), ("mini fridge", 24, fridge_spelling)]
    for i, (raw, nyu40id, nyu40class) in enumerate(LABELS + fridges, start=1):
        row = [str(i), raw, raw, "10", str(nyu40id), "0", raw, nyu40class, "", "", "", "", "", "", "", raw, "0"]
        lines.append("\t".join(row))
    path = root / "scannetv2-labels.combined.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ply(path: Path, xyz: np.ndarray, rgb: np.ndarray, faces: np.ndarray) -> None:
    """Binary little-endian PLY with x,y,z,red,green,blue,alpha vertices and triangle faces, like ScanNet."""
    vertex = np.empty(
        xyz.shape[0], dtype=[(c, "f4") for c in "xyz"] + [(c, "u1") for c in ("red", "green", "blue", "alpha")]
    )
    for i, c in enumerate("xyz"):
        vertex[c] = xyz[:, i]
    for i, c in enumerate(("red", "green", "blue")):
        vertex[c] = rgb[:, i]
    vertex["alpha"] = 255
    face = np.empty(faces.shape[0], dtype=[("vertex_indices", "i4", (3,))])
    face["vertex_indices"] = faces
    elements = [
        PlyElement.describe(vertex, "vertex"),
        PlyElement.describe(face, "face", len_types={"vertex_indices": "u1"}, val_types={"vertex_indices": "i4"}),
    ]
    PlyData(elements, text=False, byte_order="<").write(str(path))


IDENTITY_ALIGNMENT = "axisAlignment = 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1"


def write_meta(path: Path, axis_alignment: str | None = IDENTITY_ALIGNMENT) -> None:
    """A scan's ``<scene>.txt`` as ScanNet writes it; ``axis_alignment=None`` leaves the line out."""
    lines = ["colorHeight = 968", "colorWidth = 1296", "sceneType = Living room / Lounge"]
    path.write_text("\n".join(lines + ([axis_alignment] if axis_alignment else [])) + "\n")


def write_scene(root: Path, scene_id: str, n_points: int = 600, n_segments: int = 12, seed: int = 0) -> dict[str, Any]:
    """One scan under ``root/scans/<scene_id>/`` (with an identity ``axisAlignment``, so the expected
    points are the written ones); returns the arrays the converter should produce."""
    rng = np.random.default_rng(seed)
    folder = root / "scans" / scene_id
    folder.mkdir(parents=True, exist_ok=True)
    xyz = rng.uniform([1.0, 2.0, -0.5], [5.0, 6.0, 2.0], size=(n_points, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, size=(n_points, 3), dtype=np.uint8)
    slot = np.sort(rng.integers(0, n_segments, size=n_points))  # segment slot per vertex
    slot[:n_segments] = np.arange(n_segments)  # every segment holds at least one vertex
    raw_ids = 10 + 3 * rng.permutation(n_segments)  # ScanNet segment ids: arbitrary integers
    seg = raw_ids[slot]
    faces = rng.integers(0, n_points, size=(2 * n_points, 3), dtype=np.int32)
    write_ply(folder / f"{scene_id}_vh_clean_2.ply", xyz, rgb, faces)
    write_json(folder / f"{scene_id}_vh_clean_2.0.010000.segs.json", {"sceneId": scene_id, "segIndices": seg.tolist()})
    groups = [{"id": oid, "objectId": oid, "segments": raw_ids[slots].tolist(), "label": label}
              for oid, label, slots in OBJECTS]  # fmt: skip
    write_json(folder / f"{scene_id}.aggregation.json", {"sceneId": scene_id, "segGroups": groups})
    write_meta(folder / f"{scene_id}.txt")
    instance = np.full(n_points, -1)
    for oid, _, slots in OBJECTS:
        instance[np.isin(slot, slots)] = oid
    return {"xyz": xyz, "rgb": rgb, "seg": seg, "instance": instance}


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj))


def scanrefer_records(scene_id: str) -> list[dict[str, Any]]:
    records = []
    for oid, name in DESCRIBED:
        for ann in range(2):
            words = f"this is the {name.replace('_', ' ')} number {ann} . it is near the door .".split()
            records.append({"scene_id": scene_id, "object_id": str(oid), "object_name": name, "ann_id": str(ann),
                            "description": " ".join(words), "token": words})  # fmt: skip
    return records


TRAIN_SCENES = ("scene0000_00", "scene0001_00")
VAL_SCENES = ("scene0002_00",)


def write_dataset(root: Path, n_points: int = 600) -> dict[str, dict[str, Any]]:
    """Three scans (two in ScanRefer train, one in val), the label tsv and both ScanRefer files."""
    root.mkdir(parents=True, exist_ok=True)
    write_labels_tsv(root)
    truth = {s: write_scene(root, s, n_points, seed=i) for i, s in enumerate(TRAIN_SCENES + VAL_SCENES)}
    for split, scenes in (("train", TRAIN_SCENES), ("val", VAL_SCENES)):
        write_json(root / f"ScanRefer_filtered_{split}.json", [r for s in scenes for r in scanrefer_records(s)])
    return truth


def scan_file(root: Path, scene_id: str, suffix: str) -> Path:
    return root / "scans" / scene_id / f"{scene_id}{suffix}"


def edit_aggregation(root: Path, scene_id: str, edit: Callable[[list[dict[str, Any]]], None]) -> None:
    """Apply ``edit`` to the scene's segGroups list in place and write the file back."""
    path = scan_file(root, scene_id, ".aggregation.json")
    raw = json.loads(path.read_text())
    edit(raw["segGroups"])
    write_json(path, raw)


def free_segments(root: Path, scene_id: str) -> list[int]:
    """Segment ids of the scan that no segGroup holds (the fixture leaves three)."""
    seg = json.loads(scan_file(root, scene_id, "_vh_clean_2.0.010000.segs.json").read_text())["segIndices"]
    groups = json.loads(scan_file(root, scene_id, ".aggregation.json").read_text())["segGroups"]
    used = {s for g in groups for s in g["segments"]}
    return sorted(set(seg) - used)


def add_described_object(root: Path, split: str, scene_id: str, label: str, object_name: str) -> int:
    """A new segGroup on a free segment, described twice in ScanRefer's ``split`` file; returns its objectId."""
    segment = free_segments(root, scene_id)[0]
    groups = json.loads(scan_file(root, scene_id, ".aggregation.json").read_text())["segGroups"]
    oid = max(g["objectId"] for g in groups) + 1
    edit_aggregation(root, scene_id, lambda g: g.append({"id": oid, "objectId": oid, "segments": [segment],
                                                          "label": label}))  # fmt: skip
    path = root / f"ScanRefer_filtered_{split}.json"
    records = json.loads(path.read_text())
    for ann in range(2):
        words = f"the {label} number {ann} . it is by the wall .".split()
        records.append({"scene_id": scene_id, "object_id": str(oid), "object_name": object_name,
                        "ann_id": str(ann), "description": " ".join(words), "token": words})  # fmt: skip
    write_json(path, records)
    return oid


def write_vertex_labels(path: Path, label: np.ndarray) -> None:
    """A ``_vh_clean_2.labels.ply``: vertices with x, y, z and a ``label`` (ushort, as ScanNet writes it)."""
    vertex = np.zeros(label.shape[0], dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("label", "u2")])
    vertex["label"] = label
    PlyData([PlyElement.describe(vertex, "vertex")], text=False).write(str(path))


def rename_described(root: Path, split: str, scene_id: str, object_id: int, object_name: str) -> None:
    """Give every ScanRefer record of one object another ``object_name``."""
    path = root / f"ScanRefer_filtered_{split}.json"
    records = json.loads(path.read_text())
    for rec in records:
        if rec["scene_id"] == scene_id and rec["object_id"] == str(object_id):
            rec["object_name"] = object_name
    write_json(path, records)


def write_all_cases(root: Path) -> dict[str, Any]:
    """One data root with every case the converter warns about (see docs/scanrefer.md, section 5).

    scene0000_00 (ScanRefer train; the kit's val): a described refrigerator (official tsv spelling), a
    segGroup naming a segment id absent from the segs file; scene0001_00 (ScanRefer train): a v1 raw-id
    label file, no axisAlignment line, two segGroups sharing a segment; scene0002_00 (ScanRefer val, the
    kit's test): a described mini fridge, no ``<scene>.txt``, an object_name ("toilet") that disagrees
    with its segGroup label ("chair").
    """
    truth = write_dataset(root)
    fridge = add_described_object(root, "train", "scene0000_00", "refrigerator", "refrigerator")
    mini = add_described_object(root, "val", "scene0002_00", "mini fridge", "mini_fridge")
    edit_aggregation(root, "scene0000_00", lambda g: g[2]["segments"].append(99_999))
    raw_ids = np.where(truth["scene0001_00"]["instance"] >= 0, 229, 0)
    raw_ids[::3] = 103
    write_vertex_labels(scan_file(root, "scene0001_00", "_vh_clean_2.labels.ply"), raw_ids)
    write_meta(scan_file(root, "scene0001_00", ".txt"), axis_alignment=None)
    edit_aggregation(root, "scene0001_00", lambda g: g[6]["segments"].append(g[3]["segments"][0]))
    scan_file(root, "scene0002_00", ".txt").unlink()
    rename_described(root, "val", "scene0002_00", 2, "toilet")
    return {"truth": truth, "fridge": fridge, "mini_fridge": mini}


# ScanRefer-train scenes a small copy lists but has no scan of: with the two fixture scans that makes 20
# train scenes, whose default 10% val (seed 0) is scene0102_00 and scene0117_00, neither of them present
UNSCANNED = [f"scene{100 + i:04d}_00" for i in range(18)]


def write_handful(root: Path, n_points: int = 600) -> None:
    """A user's handful of scans: the fixture's three, while ScanRefer train also describes 18 scenes
    without a scan folder (convert with --skip-bad)."""
    write_dataset(root, n_points)
    path = root / "ScanRefer_filtered_train.json"
    write_json(path, json.loads(path.read_text()) + [r for s in UNSCANNED for r in scanrefer_records(s)])
