"""The on-disk dataset format shared by the embedded benchmark and the ScanRefer/ScanNet loader.

A dataset folder holds::

    manifest.json          # format version, source, settings, settings hash, counts
    descriptions.json      # list of description records (ScanRefer fields + split, unique, uid)
    scenes.json            # {scene_id: {"split": ..., "n_points": ..., "n_superpoints": ...,
                           #             "objects": [{"object_id", "object_name", "class_name"}]}}
    scenes/<scene_id>.npz  # per-scene arrays (below)
    scenes/<scene_id>.conversion.json  # ScanRefer only: input stamps, alignment, warnings (scannet.py)

ScanRefer scenes.json entries also hold ``alignment``: ``source``, ``axis_alignment`` (4x4, applied
first) and ``offset`` (subtracted after), so ScanRefer's frame is ``xyz + offset``.

Per-scene arrays (one row per point):
    xyz         float32 (N, 3)  metres, z up, floor at z = 0
    rgb         uint8   (N, 3)
    superpoint  int32   (N,)    label-free over-segment id, consecutive 0..S-1
    instance    int32   (N,)    object id (== int(record["object_id"])), -1 if unannotated
    semantic    int16   (N,)    index into CLASSES, -1 if unannotated

A description record has ScanRefer's fields ``scene_id, object_id (str), object_name, ann_id (str),
description, token`` plus ``split`` ("train"/"val"/"test"), ``unique`` (bool: no other object of
the target's class in the scene) and ``uid`` ("scene|object|ann"); the embedded benchmark adds
``program``, the logical form that picks out the target.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from threedrest.io import atomic_save_npz, atomic_write_json

FORMAT_VERSION = 1

# ScanNet's 20 benchmark classes; ScanRefer's 18 are these without wall and floor
# ("others" is otherfurniture).
CLASSES: tuple[str, ...] = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "desk", "curtain", "refrigerator", "shower curtain", "toilet", "sink",
    "bathtub", "others",
)  # fmt: skip
CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}
SPLITS = ("train", "val", "test")
SCENE_ARRAYS = {"xyz": np.float32, "rgb": np.uint8, "superpoint": np.int32, "instance": np.int32, "semantic": np.int16}


class DataError(ValueError):
    """Bad input data. The message names the file and the field at fault."""


@dataclass
class Scene:
    scene_id: str
    xyz: np.ndarray
    rgb: np.ndarray
    superpoint: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def n_superpoints(self) -> int:
        return int(self.superpoint.max()) + 1 if self.n_points else 0


def validate_scene(scene: Scene, source: str) -> None:
    """Raise DataError naming ``source`` and the field if any array is malformed."""
    n = scene.xyz.shape[0] if scene.xyz.ndim == 2 else -1
    if scene.xyz.ndim != 2 or scene.xyz.shape[1] != 3:
        raise DataError(f"{source}: field 'xyz' must have shape (N, 3), got {scene.xyz.shape}")
    if n == 0:
        raise DataError(f"{source}: field 'xyz' is empty (scene {scene.scene_id} has no points)")
    if not np.isfinite(scene.xyz).all():
        bad = int((~np.isfinite(scene.xyz)).any(axis=1).sum())
        raise DataError(f"{source}: field 'xyz' has {bad} points with NaN or infinite coordinates")
    for name in ("rgb", "superpoint", "instance", "semantic"):
        arr = getattr(scene, name)
        if arr.shape[0] != n:
            raise DataError(f"{source}: field {name!r} has {arr.shape[0]} rows but 'xyz' has {n} points")
    if scene.rgb.ndim != 2 or scene.rgb.shape[1] != 3:
        raise DataError(f"{source}: field 'rgb' must have shape (N, 3), got {scene.rgb.shape}")
    sp = scene.superpoint
    if sp.min() < 0 or np.unique(sp).size != sp.max() + 1:
        raise DataError(f"{source}: field 'superpoint' must hold consecutive ids 0..S-1")


def save_scene(root: str | Path, scene: Scene) -> Path:
    validate_scene(scene, f"scene {scene.scene_id}")
    arrays = {name: np.asarray(getattr(scene, name), dtype=dtype) for name, dtype in SCENE_ARRAYS.items()}
    return atomic_save_npz(Path(root) / "scenes" / f"{scene.scene_id}.npz", **arrays)


def scene_path(root: str | Path, scene_id: str) -> Path:
    return Path(root) / "scenes" / f"{scene_id}.npz"


def load_scene(root: str | Path, scene_id: str, objects: list[dict[str, Any]] | None = None) -> Scene:
    path = scene_path(root, scene_id)
    if not path.exists():
        raise DataError(f"{path}: scene file missing for scene_id {scene_id!r}")
    try:
        with np.load(path, allow_pickle=False) as npz:  # a shared file never runs code
            arrays = {name: npz[name] for name in SCENE_ARRAYS}
    except KeyError as err:
        raise DataError(f"{path}: field {err.args[0]!r} missing from scene file") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: corrupted scene file ({err}); delete it to rebuild") from None
    scene = Scene(scene_id=scene_id, objects=list(objects or []), **arrays)
    validate_scene(scene, str(path))
    return scene


@dataclass
class DatasetIndex:
    """Everything but the point arrays: small enough to keep in memory."""

    root: Path
    manifest: dict[str, Any]
    scenes: dict[str, dict[str, Any]]
    descriptions: list[dict[str, Any]]

    def split(self, name: str) -> list[dict[str, Any]]:
        return [d for d in self.descriptions if d["split"] == name]

    def scene_ids(self, split: str | None = None) -> list[str]:
        return sorted(s for s, meta in self.scenes.items() if split is None or meta["split"] == split)

    def load_scene(self, scene_id: str) -> Scene:
        if scene_id not in self.scenes:
            raise DataError(f"{self.root / 'scenes.json'}: unknown scene_id {scene_id!r}")
        return load_scene(self.root, scene_id, self.scenes[scene_id]["objects"])


def description_uid(record: dict[str, Any]) -> str:
    return f"{record['scene_id']}|{record['object_id']}|{record['ann_id']}"


def save_index(
    root: str | Path,
    manifest: dict[str, Any],
    scenes: dict[str, dict[str, Any]],
    descriptions: list[dict[str, Any]],
) -> None:
    """Write the index files; ``manifest.json`` goes last so its presence marks a complete dataset."""
    root = Path(root)
    for record in descriptions:
        record.setdefault("uid", description_uid(record))
    atomic_write_json(root / "scenes.json", scenes)
    atomic_write_json(root / "descriptions.json", descriptions)
    counts = {
        split: {
            "scenes": sum(m["split"] == split for m in scenes.values()),
            "descriptions": sum(d["split"] == split for d in descriptions),
        }
        for split in SPLITS
    }
    atomic_write_json(root / "manifest.json", {**manifest, "format_version": FORMAT_VERSION, "counts": counts})


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise DataError(f"{path}: file missing (build the dataset first: python -m threedrest data)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None


def load_index(root: str | Path) -> DatasetIndex:
    root = Path(root)
    manifest = _read_json(root / "manifest.json")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{root / 'manifest.json'}: field 'format_version' is {manifest.get('format_version')!r}, "
            f"this kit reads {FORMAT_VERSION}; rebuild the dataset"
        )
    scenes = _read_json(root / "scenes.json")
    descriptions = _read_json(root / "descriptions.json")
    for i, record in enumerate(descriptions):
        if record.get("scene_id") not in scenes:
            raise DataError(f"{root / 'descriptions.json'}: record {i} field 'scene_id' {record.get('scene_id')!r} "
                            "is not in scenes.json")  # fmt: skip
    return DatasetIndex(root=root, manifest=manifest, scenes=scenes, descriptions=descriptions)


def is_complete(root: str | Path) -> bool:
    """True when a previous build finished (manifest written last) with this format version."""
    path = Path(root) / "manifest.json"
    try:
        return json.loads(path.read_text()).get("format_version") == FORMAT_VERSION
    except (OSError, json.JSONDecodeError):
        return False
