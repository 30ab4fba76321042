"""Writes tiny ScanNet v2 scans and ScanRefer files in exactly the real formats, for the loader tests.

Each scan is a strip of points cut into segments (raw ids 10, 13, 16, ... in shuffled order, as
ScanNet's are not consecutive); segGroups cover some segments, the rest stay unannotated.
"""

from __future__ import annotations

import json
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
    ("door", 8, "door"), ("kitchen cabinets", 3, "cabinet"), ("lamp", 35, "lamp"),
]  # fmt: skip
# (objectId, raw label, segment slots) of every scan; slots index the scan's segments
OBJECTS = [(0, "wall", [0, 1]), (1, "floor", [2]), (2, "chair", [3]), (3, "office chair", [4, 5]),
           (4, "table", [6]), (5, "trash can", [7]), (6, "table", [8])]  # fmt: skip
# (objectId, object_name as ScanRefer spells it) of the described objects: two chairs (multiple),
# one described table (unique: ScanRefer counts described objects only), one trash can ("others")
DESCRIBED = [(2, "chair"), (3, "office_chair"), (4, "table"), (5, "trash_can")]


def write_labels_tsv(root: Path) -> Path:
    lines = ["\t".join(TSV_HEADER)]
    for i, (raw, nyu40id, nyu40class) in enumerate(LABELS, start=1):
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


def write_scene(root: Path, scene_id: str, n_points: int = 600, n_segments: int = 12, seed: int = 0) -> dict[str, Any]:
    """One scan under ``root/scans/<scene_id>/``; returns the arrays the converter should produce."""
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
