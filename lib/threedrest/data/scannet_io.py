"""Readers for the raw ScanNet v2 and ScanRefer files, each checking what the converter relies on,
and the label mappings (NYU40 -> ScanNet-20 classes, ScanRefer's 18 types and unique flag).

Every problem is a :class:`store.DataError` naming the file and the field, with a ``reason``
attribute (a short key such as ``"missing_file"``) that ``--skip-bad`` counts in its summary.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from plyfile import PlyData, PlyParseError

from threedrest.data.store import CLASS_INDEX, CLASSES, DataError

SCENE_ID = re.compile(r"^scene\d{4}_\d{2}$")
SCANREFER_FIELDS = ("scene_id", "object_id", "object_name", "ann_id", "description", "token")
TSV_COLUMNS = ("raw_category", "nyu40id", "nyu40class")
# NYU40 id -> ScanNet-20 benchmark class; any other annotated label is "others"
NYU40_TO_CLASS = {
    1: "wall", 2: "floor", 3: "cabinet", 4: "bed", 5: "chair", 6: "sofa", 7: "table", 8: "door", 9: "window",
    10: "bookshelf", 11: "picture", 12: "counter", 14: "desk", 16: "curtain", 24: "refrigerator",
    28: "shower curtain", 33: "toilet", 34: "sink", 36: "bathtub",
}  # fmt: skip
SCANREFER_TYPES = frozenset(CLASSES[2:])  # ScanRefer's 18 classes: the 20 without wall and floor
# nyu40class spellings that differ between label tsvs: the official ScanNet tsv spells NYU40 class 24
# "refridgerator", the copy ScanRefer ships (and types with) spells it "refrigerator"
NYU40_SPELLING = {"refridgerator": "refrigerator"}


def nyu40_lookup() -> np.ndarray:
    """Table NYU40 id (0..40) -> index in CLASSES; 0 (unannotated) -> -1."""
    table = np.full(41, CLASS_INDEX["others"], dtype=np.int16)
    table[0] = -1
    for nyu40, name in NYU40_TO_CLASS.items():
        table[nyu40] = CLASS_INDEX[name]
    return table


NYU40_TABLE = nyu40_lookup()


def class_index(raw_label: str, label_map: dict[str, tuple[int, str]]) -> int:
    """Index in CLASSES of an annotated raw label; a label missing from the tsv counts as "others"."""
    return int(NYU40_TABLE[min(max(label_map.get(raw_label, (40, ""))[0], 0), 40)])


def scanrefer_type(object_name: str, label_map: dict[str, tuple[int, str]]) -> str:
    """ScanRefer's ``_get_raw2label``: name (``_`` -> space) -> NYU40 class name, else "others".

    The class name is read in ScanRefer's spelling (``NYU40_SPELLING``), so refrigerators and mini
    fridges get type "refrigerator" from either tsv, as in ScanRefer's own unique/multiple flags.
    """
    nyu40_class = label_map.get(" ".join(object_name.split("_")), (0, "others"))[1]
    nyu40_class = NYU40_SPELLING.get(nyu40_class, nyu40_class)
    return nyu40_class if nyu40_class in SCANREFER_TYPES else "others"


def same_name(object_name: str, label: str) -> bool:
    """Whether a ScanRefer ``object_name`` ("kitchen_cabinets") names a segGroup ``label`` ("kitchen cabinets")."""
    return " ".join(object_name.lower().replace("_", " ").split()) == " ".join(label.lower().replace("_", " ").split())


def file_stamp(path: Path) -> list[Any] | None:
    """``[path, size, mtime_ns]`` of an input file, None when absent: what a cached conversion is keyed on."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [str(path), stat.st_size, stat.st_mtime_ns]


def unique_lookup(records: list[dict[str, Any]], label_map: dict[str, tuple[int, str]]) -> dict[tuple[str, str], bool]:
    """ScanRefer's ``_get_unique_multiple_lookup``: (scene, object) -> unique.

    As in ScanRefer's code, the count runs over the objects *described in the split file*, each
    typed by the record's ``object_name``: unique when no other described object shares its type.
    """
    types: dict[str, dict[str, str]] = defaultdict(dict)
    for rec in records:
        if isinstance(rec.get("object_name"), str) and str(rec.get("object_id", "")).isdigit():
            oid = str(int(rec["object_id"]))
            types[str(rec["scene_id"])].setdefault(oid, scanrefer_type(rec["object_name"], label_map))
    lookup = {}
    for scene_id, objects in types.items():
        counts = Counter(objects.values())
        lookup.update({(scene_id, oid): counts[t] == 1 for oid, t in objects.items()})
    return lookup


def bad(reason: str, message: str) -> DataError:
    """A DataError tagged with the reason ``--skip-bad`` counts it under."""
    err = DataError(message)
    err.reason = reason  # type: ignore[attr-defined]
    return err


def reason_of(err: DataError) -> str:
    return getattr(err, "reason", "bad_field")


def read_json(path: Path, what: str = "") -> Any:
    """Parsed JSON; ``what`` (the field the file provides) goes into the missing-file message."""
    if not path.is_file():
        raise bad("missing_file", f"{path}: file missing" + (f" (needed for {what})" if what else ""))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise bad(
            "malformed_json", f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    except UnicodeDecodeError as err:
        raise bad("malformed_json", f"{path}: not UTF-8 text ({err.reason})") from None


def scene_files(data_root: Path, scene_id: str) -> dict[str, Path]:
    """Paths of one scan's files: ``data_root/scans/<scene>/`` or ``data_root/<scene>/``.

    ScanNet names the aggregation ``<scene>.aggregation.json`` in the v2 release and
    ``<scene>_vh_clean.aggregation.json`` in the per-scan download; either is accepted.
    """
    folder = data_root / "scans" / scene_id
    if not folder.is_dir() and (data_root / scene_id).is_dir():
        folder = data_root / scene_id
    aggregation = folder / f"{scene_id}.aggregation.json"
    if not aggregation.is_file() and (folder / f"{scene_id}_vh_clean.aggregation.json").is_file():
        aggregation = folder / f"{scene_id}_vh_clean.aggregation.json"
    return {
        "folder": folder,
        "ply": folder / f"{scene_id}_vh_clean_2.ply",
        "segs": folder / f"{scene_id}_vh_clean_2.0.010000.segs.json",
        "aggregation": aggregation,
        "labels_ply": folder / f"{scene_id}_vh_clean_2.labels.ply",
        "meta": folder / f"{scene_id}.txt",
    }


def _read_ply(path: Path, what: str) -> Any:
    if not path.is_file():
        raise bad("missing_file", f"{path}: file missing (needed for {what})")
    try:
        # vh_clean_2 faces are triangles: a known list length lets plyfile read them without a Python loop
        return PlyData.read(str(path), known_list_len={"face": {"vertex_indices": 3}})
    except (PlyParseError, ValueError, EOFError):
        pass  # not all triangles (or a broken file): read it the slow, general way
    try:
        return PlyData.read(str(path))
    except (PlyParseError, ValueError, EOFError) as err:
        raise bad("malformed_ply", f"{path}: unreadable PLY ({err})") from None


def _vertex(ply: Any, path: Path, names: tuple[str, ...]) -> Any:
    if "vertex" not in ply:
        raise bad("malformed_ply", f"{path}: element 'vertex' missing")
    vertex = ply["vertex"].data
    for name in names:
        if name not in (vertex.dtype.names or ()):
            raise bad("malformed_ply", f"{path}: vertex property {name!r} missing")
    return vertex


def read_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertex positions (float32) and colours (uint8) of a ``_vh_clean_2.ply``; faces are ignored."""
    vertex = _vertex(
        _read_ply(path, "vertex 'x','y','z','red','green','blue'"), path, ("x", "y", "z", "red", "green", "blue")
    )
    xyz = np.stack([vertex[c] for c in "xyz"], axis=1).astype(np.float32)
    rgb = np.stack([vertex[c] for c in ("red", "green", "blue")], axis=1)
    if xyz.shape[0] == 0:
        raise bad("empty_scene", f"{path}: element 'vertex' has 0 vertices (empty scene)")
    finite = np.isfinite(xyz).all(axis=1)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise bad(
            "nan_coordinates",
            f"{path}: vertex properties 'x','y','z' are NaN or infinite at {int((~finite).sum())} vertices "
            f"(first: vertex {first})",
        )
    return xyz, np.clip(rgb, 0, 255).astype(np.uint8)


def read_vertex_labels(path: Path, n_vertices: int) -> np.ndarray:
    """Per-vertex ids of a ``_vh_clean_2.labels.ply``: NYU40 ids (0 = unannotated) in the v2 release,
    raw category ids (103, 229, ...) in v1, which the caller must detect (``outside_nyu40``)."""
    label = _vertex(_read_ply(path, "vertex 'label'"), path, ("label",))["label"].astype(np.int64)
    if label.shape[0] != n_vertices:
        raise bad(
            "length_mismatch",
            f"{path}: vertex property 'label' has {label.shape[0]} entries but the mesh has {n_vertices} vertices",
        )
    return label


def outside_nyu40(label: np.ndarray) -> np.ndarray:
    """Mask of label-file ids that cannot be NYU40 ids (outside 0..40)."""
    return (label < 0) | (label > 40)


def read_segs(path: Path, n_vertices: int) -> np.ndarray:
    """ScanNet's over-segmentation: one segment id per mesh vertex."""
    raw = read_json(path, "field 'segIndices'")
    if not isinstance(raw, dict) or not isinstance(raw.get("segIndices"), list):
        raise bad("bad_field", f"{path}: field 'segIndices' missing or not a list")
    try:
        seg = np.asarray(raw["segIndices"], dtype=np.int64)
    except (TypeError, ValueError):
        raise bad("bad_field", f"{path}: field 'segIndices' must hold integers") from None
    if seg.ndim != 1 or seg.shape[0] != n_vertices:
        raise bad(
            "length_mismatch",
            f"{path}: field 'segIndices' has {seg.shape[0]} entries but the mesh has {n_vertices} vertices",
        )
    return seg


def read_aggregation(path: Path) -> list[dict[str, Any]]:
    """The annotated objects: ``[{"object_id": int, "label": str, "segments": [int]}]``.

    ScanRefer's ``object_id`` is the segGroup's ``objectId`` (equal to its ``id`` in ScanNet).
    """
    raw = read_json(path, "field 'segGroups'")
    groups = raw.get("segGroups") if isinstance(raw, dict) else None
    if not isinstance(groups, list):
        raise bad("bad_field", f"{path}: field 'segGroups' missing or not a list")
    objects, seen = [], set()
    for i, group in enumerate(groups):
        where = f"{path}: segGroups[{i}]"
        if not isinstance(group, dict):
            raise bad("bad_field", f"{where} is not an object")
        oid = group.get("objectId", group.get("id"))
        if isinstance(oid, bool) or not isinstance(oid, int) or oid < 0:
            raise bad("bad_field", f"{where} field 'objectId' must be a non-negative integer, got {oid!r}")
        if oid in seen:
            raise bad("bad_field", f"{where} field 'objectId' {oid} is used by two segGroups")
        label, segments = group.get("label"), group.get("segments")
        if not isinstance(label, str) or not label:
            raise bad("bad_field", f"{where} field 'label' must be a non-empty string, got {label!r}")
        if not isinstance(segments, list) or not all(isinstance(s, int) for s in segments):
            raise bad("bad_field", f"{where} field 'segments' must be a list of integers")
        seen.add(oid)
        objects.append({"object_id": oid, "label": label, "segments": segments})
    return objects


def read_axis_alignment(path: Path) -> np.ndarray | None:
    """The 4x4 ``axisAlignment`` of a scan's ``<scene>.txt``; None when the file or the line is absent
    (the caller warns: ScanRefer's boxes are in the aligned frame)."""
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "axisAlignment":
            try:
                matrix = np.array([float(v) for v in value.split()]).reshape(4, 4)
            except ValueError:
                raise bad("bad_field", f"{path}: field 'axisAlignment' must hold 16 numbers") from None
            if not np.isfinite(matrix).all():
                raise bad("bad_field", f"{path}: field 'axisAlignment' is not finite")
            return matrix
    return None


def read_label_map(path: Path) -> dict[str, tuple[int, str]]:
    """``scannetv2-labels.combined.tsv``: raw category -> (NYU40 id, NYU40 class name)."""
    if not path.is_file():
        raise bad(
            "missing_file", f"{path}: file missing (needed for columns {list(TSV_COLUMNS)}; it ships with ScanNet)"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in TSV_COLUMNS if c not in (rows.fieldnames or [])]
        if missing:
            raise bad("bad_field", f"{path}: header lacks column(s) {missing}")
        label_map = {}
        for line, row in enumerate(rows, start=2):
            try:
                label_map[row["raw_category"]] = (int(row["nyu40id"]), row["nyu40class"])
            except (TypeError, ValueError):
                raise bad("bad_field", f"{path}: line {line} field 'nyu40id' is {row['nyu40id']!r}") from None
    return label_map


def read_scanrefer(path: Path) -> list[dict[str, Any]]:
    """A ScanRefer split file, checked record by record for the fields the kit uses.

    Record-level problems are returned as DataErrors in each record's ``"_error"`` key, so the
    caller can raise the first or, with ``--skip-bad``, drop and count them.
    """
    raw = read_json(path, "the description records")
    if not isinstance(raw, list):
        raise bad("bad_field", f"{path}: top level must be a list of description records")
    records = []
    for i, rec in enumerate(raw):
        where = f"{path}: record {i}"
        if not isinstance(rec, dict):
            raise bad("bad_field", f"{where} is not an object")
        rec = dict(rec)
        missing = [f for f in SCANREFER_FIELDS if f not in rec]
        if missing:
            rec["_error"] = bad("bad_field", f"{where} lacks field(s) {missing}")
        elif not isinstance(rec["scene_id"], str) or not SCENE_ID.match(rec["scene_id"]):
            rec["_error"] = bad("unknown_scene_id", f"{where} field 'scene_id' {rec['scene_id']!r} is not a scene id")
        elif not str(rec["object_id"]).isdigit():
            rec["_error"] = bad("bad_field", f"{where} field 'object_id' {rec['object_id']!r} is not an integer")
        elif not isinstance(rec["object_name"], str) or not rec["object_name"]:
            rec["_error"] = bad("bad_field", f"{where} field 'object_name' {rec['object_name']!r} is not a name")
        elif not isinstance(rec["description"], str) or not rec["description"].strip():
            rec["_error"] = bad("empty_description", f"{where} field 'description' is empty")
        elif not isinstance(rec["token"], list) or not rec["token"]:
            rec["_error"] = bad("empty_description", f"{where} field 'token' is empty or not a list")
        else:
            rec["object_id"], rec["ann_id"] = str(int(rec["object_id"])), str(rec["ann_id"])
        rec["_where"] = where
        records.append(rec)
    return records
