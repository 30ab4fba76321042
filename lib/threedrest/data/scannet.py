"""ScanRefer descriptions over ScanNet v2 scans, converted into the kit's dataset format (store.py).

Splits: ScanRefer train minus 10% of its scenes (seed 0) -> "train"; those held-out scenes -> "val"
(model selection); ScanRefer val -> "test" (what papers report on). See docs/scanrefer.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from threedrest.config import DataConfig
from threedrest.data import store
from threedrest.data.scannet_io import (
    NYU40_TABLE,
    bad,
    class_index,
    read_aggregation,
    read_axis_alignment,
    read_label_map,
    read_mesh,
    read_scanrefer,
    read_segs,
    read_vertex_labels,
    reason_of,
    scene_files,
    unique_lookup,
)
from threedrest.data.store import CLASSES, DataError
from threedrest.io import stable_hash
from threedrest.paths import resolve

CONVERTER_VERSION = 1
VAL_FRACTION = 0.1  # share of ScanRefer-train scenes held out as the kit's "val" split
SPLIT_SEED = 0
LABELS_TSV = "scannetv2-labels.combined.tsv"
SCANREFER_FILES = {"train": "ScanRefer_filtered_train.json", "val": "ScanRefer_filtered_val.json"}


def build_scene(
    files: dict[str, Path], scene_id: str, objects: list[dict[str, Any]], label_map: dict[str, tuple[int, str]]
) -> store.Scene:
    """Points, colours, superpoints (ScanNet's segments) and instance/semantic labels of one scan."""
    xyz, rgb = read_mesh(files["ply"])
    seg = read_segs(files["segs"], xyz.shape[0])
    align = read_axis_alignment(files["meta"])
    xyz = (xyz.astype(np.float64) @ align[:3, :3].T + align[:3, 3]).astype(np.float32)
    xyz -= xyz.min(axis=0)  # kit convention: floor (lowest point) at z = 0, room in the positive octant
    seg_ids, superpoint = np.unique(seg, return_inverse=True)
    sp_instance = np.full(seg_ids.shape[0], -1, dtype=np.int32)
    sp_semantic = np.full(seg_ids.shape[0], -1, dtype=np.int16)
    for obj in objects:  # one iteration per object (tens per scan); later groups win on shared segments
        pos = np.searchsorted(seg_ids, obj["segments"])
        pos = pos[(pos < seg_ids.shape[0]) & (seg_ids[np.minimum(pos, seg_ids.shape[0] - 1)] == obj["segments"])]
        sp_instance[pos] = obj["object_id"]
        sp_semantic[pos] = class_index(obj["label"], label_map)
    semantic = sp_semantic[superpoint]
    if files["labels_ply"].is_file():  # ScanNet's own per-vertex NYU40 labels, when shipped
        semantic = NYU40_TABLE[np.clip(read_vertex_labels(files["labels_ply"], xyz.shape[0]), 0, 40)]
    return store.Scene(scene_id, xyz, rgb, superpoint.astype(np.int32), sp_instance[superpoint], semantic)


def convert_scene(
    data_root: Path,
    scene_id: str,
    records: list[dict[str, Any]],
    label_map: dict[str, tuple[int, str]],
    out_root: Path,
    reuse: bool = True,
) -> dict[str, Any]:
    """Convert one scan and check its descriptions; never raises DataError, returns it instead.

    Returns ``{"scene_id", "meta" (None if the scene is bad), "reused", "errors": [{"uid", "reason",
    "message"}]}``; ``uid`` is None for a scene-level error.
    """
    result: dict[str, Any] = {"scene_id": scene_id, "meta": None, "reused": False, "errors": []}
    files = scene_files(data_root, scene_id)
    try:
        if not files["folder"].is_dir():
            raise bad("unknown_scene_id", f"{records[0]['_where']} field 'scene_id' {scene_id!r} has no scan "
                                          f"folder (looked for {data_root / 'scans' / scene_id})")  # fmt: skip
        objects = read_aggregation(files["aggregation"])
        scene = None
        if reuse and store.scene_path(out_root, scene_id).is_file():
            try:
                scene = store.load_scene(out_root, scene_id)
                result["reused"] = True
            except DataError:
                scene = None  # corrupted or stale cache file: rebuild it
        if scene is None:
            scene = build_scene(files, scene_id, objects, label_map)
            store.save_scene(out_root, scene)
    except DataError as err:
        result["errors"].append({"uid": None, "reason": reason_of(err), "message": str(err), "lost": len(records)})
        return result
    sizes = dict(zip(*np.unique(scene.instance[scene.instance >= 0], return_counts=True), strict=True))
    known = {obj["object_id"] for obj in objects}
    for rec in records:
        oid, uid = int(rec["object_id"]), store.description_uid(rec)
        if oid not in known:
            message = f"{rec['_where']} field 'object_id' {oid} is not a segGroup objectId in {files['aggregation']}"
            result["errors"].append({"uid": uid, "reason": "object_id_not_in_aggregation", "message": message})
        elif sizes.get(oid, 0) == 0:
            message = f"{rec['_where']} field 'object_id' {oid}: its segGroup covers no vertex of {files['segs']}"
            result["errors"].append({"uid": uid, "reason": "empty_target", "message": message})
    unmapped = sorted({obj["label"] for obj in objects} - set(label_map))
    result["meta"] = {
        "n_points": scene.n_points,
        "n_superpoints": scene.n_superpoints,
        "objects": [
            {
                "object_id": o["object_id"],
                "object_name": o["label"],
                "class_name": CLASSES[class_index(o["label"], label_map)],
            }
            for o in objects
        ],
        "unmapped_labels": unmapped,
    }
    return result


def _convert_job(job: tuple) -> dict[str, Any]:
    return convert_scene(*job)


def dataset_root(cfg: DataConfig) -> tuple[Path, dict[str, Any]]:
    """Where the converted copy of ``cfg.data_root`` lives, and the settings its name hashes."""
    if not cfg.data_root:
        raise DataError("config field 'data_root' is empty: set data_root=PATH to your ScanRefer + ScanNet copy")
    data_root = Path(cfg.data_root).expanduser().resolve()
    settings = {
        "data_root": str(data_root), "converter_version": CONVERTER_VERSION, "format_version": store.FORMAT_VERSION,
        "val_fraction": VAL_FRACTION, "split_seed": SPLIT_SEED,
    }  # fmt: skip
    return resolve(cfg.cache_dir) / f"scanrefer-{stable_hash(settings)}", settings


def held_out_scenes(train_scene_ids: list[str]) -> set[str]:
    """The ScanRefer-train scenes that form the kit's "val" split (fixed seed, at least one)."""
    scene_ids = sorted(set(train_scene_ids))
    n_val = max(1, round(VAL_FRACTION * len(scene_ids))) if len(scene_ids) >= 2 else 0
    order = np.random.default_rng(SPLIT_SEED).permutation(len(scene_ids))
    return {scene_ids[i] for i in order[:n_val]}


def preprocess_root(
    cfg: DataConfig, force: bool = False, skip_bad: bool = False, workers: int = 2, progress: bool = True
) -> Path:
    """Convert ``cfg.data_root`` once (resumable) and return the dataset root for ``store.load_index``."""
    out, settings = dataset_root(cfg)
    if store.is_complete(out) and not force:
        return out
    (out / "manifest.json").unlink(missing_ok=True)  # a rebuild is incomplete until save_index ends
    data_root = Path(settings["data_root"])
    if not data_root.is_dir():
        raise DataError(f"{data_root}: data_root folder missing (config field 'data_root')")
    label_map = read_label_map(data_root / LABELS_TSV)
    skipped: list[dict[str, Any]] = []

    def fail(err: DataError, scene_id: str, uid: str | None, lost: int = 1) -> None:
        """Raise, or with skip_bad record the skip (``lost``: descriptions it removes)."""
        if not skip_bad:
            raise err
        skipped.append({"scene_id": scene_id, "uid": uid, "reason": reason_of(err), "message": str(err),
                        "descriptions_lost": lost})  # fmt: skip

    by_scene: dict[str, list[dict[str, Any]]] = defaultdict(list)
    split_of: dict[str, str] = {}
    lookup: dict[tuple[str, str], bool] = {}
    for source, name in SCANREFER_FILES.items():
        path = data_root / name
        records = read_scanrefer(path)
        lookup.update(unique_lookup(records, label_map))
        scene_ids = [r["scene_id"] for r in records if isinstance(r.get("scene_id"), str)]
        held = held_out_scenes(scene_ids) if source == "train" else set()
        for scene_id in sorted(set(scene_ids)):
            if scene_id in split_of:
                raise bad("bad_field", f"{path}: field 'scene_id' {scene_id!r} also appears in the train file")
            split_of[scene_id] = "test" if source == "val" else ("val" if scene_id in held else "train")
        seen: set[str] = set()
        for rec in records:
            if "_error" not in rec and store.description_uid(rec) in seen:
                rec["_error"] = bad("duplicate_description", f"{rec['_where']} repeats scene_id/object_id/ann_id "
                                                              f"{store.description_uid(rec)!r}")  # fmt: skip
            if "_error" in rec:
                fail(rec["_error"], str(rec.get("scene_id")), None)
                continue
            seen.add(store.description_uid(rec))
            by_scene[rec["scene_id"]].append(rec)

    jobs = [(data_root, s, by_scene[s], label_map, out, not force) for s in sorted(by_scene)]
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(jobs) > 1 else None
    results = pool.map(_convert_job, jobs) if pool else map(_convert_job, jobs)
    scenes: dict[str, dict[str, Any]] = {}
    descriptions: list[dict[str, Any]] = []
    unmapped: set[str] = set()
    try:
        for (_, scene_id, records, *_), result in tqdm(
            zip(jobs, results, strict=True), total=len(jobs), desc="scanrefer scenes", disable=not progress
        ):
            for error in result["errors"]:
                fail(bad(error["reason"], error["message"]), scene_id, error["uid"], error.get("lost", 1))
            if result["meta"] is None:
                continue
            bad_uids = {e["uid"] for e in result["errors"]}
            unmapped.update(result["meta"].pop("unmapped_labels"))
            scenes[scene_id] = {"split": split_of[scene_id], **result["meta"]}
            for rec in records:
                if store.description_uid(rec) not in bad_uids:
                    clean = {k: v for k, v in rec.items() if not k.startswith("_")}
                    unique = lookup[(scene_id, rec["object_id"])]
                    descriptions.append({**clean, "split": split_of[scene_id], "unique": unique})
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    manifest = {
        "source": "scanrefer", "settings": settings, "settings_hash": stable_hash(settings),
        "splits": {"train": f"{SCANREFER_FILES['train']} minus {VAL_FRACTION:.0%} of its scenes (seed {SPLIT_SEED})",
                   "val": f"the held-out {SCANREFER_FILES['train']} scenes", "test": SCANREFER_FILES["val"]},
        "summary": split_summary(scenes, descriptions), "skipped": skipped,
        "skip_counts": dict(Counter(s["reason"] for s in skipped)), "unmapped_labels": sorted(unmapped),
    }  # fmt: skip
    store.save_index(out, manifest, scenes, descriptions)
    return out


def split_summary(scenes: dict[str, dict[str, Any]], descriptions: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """METHOD.md's split table: scenes, described objects, descriptions, unique, multiple."""
    table = {}
    for split in store.SPLITS:
        recs = [d for d in descriptions if d["split"] == split]
        unique = sum(d["unique"] for d in recs)
        table[split] = {
            "scenes": sum(m["split"] == split for m in scenes.values()),
            "objects": len({(d["scene_id"], d["object_id"]) for d in recs}),
            "descriptions": len(recs), "unique": unique, "multiple": len(recs) - unique,
        }  # fmt: skip
    return table


def format_summary(manifest: dict[str, Any], max_listed: int = 20) -> str:
    """The split table, then skips counted by reason and the first few listed."""
    lines = [f"{'split':<6} {'scenes':>7} {'objects':>8} {'descriptions':>13} {'unique':>8} {'multiple':>9} unique%"]
    for split in store.SPLITS:
        row = manifest["summary"][split]
        share = 100 * row["unique"] / row["descriptions"] if row["descriptions"] else 0.0
        lines.append(f"{split:<6} {row['scenes']:>7,} {row['objects']:>8,} {row['descriptions']:>13,} "
                     f"{row['unique']:>8,} {row['multiple']:>9,} {share:6.1f}%")  # fmt: skip
    if manifest.get("skipped"):
        counts = ", ".join(f"{reason}: {n}" for reason, n in sorted(manifest["skip_counts"].items()))
        lost = sum(s.get("descriptions_lost", 1) for s in manifest["skipped"])
        lines.append(f"skipped {len(manifest['skipped'])} ({counts}); {lost} descriptions dropped:")
        lines += [f"  [{s['reason']}] {s['message']}" for s in manifest["skipped"][:max_listed]]
        if len(manifest["skipped"]) > max_listed:
            lines.append(f"  ... {len(manifest['skipped']) - max_listed} more in manifest.json 'skipped'")
    if manifest.get("unmapped_labels"):
        lines.append(f"labels not in {LABELS_TSV} (class 'others'): {', '.join(manifest['unmapped_labels'])}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest scanrefer", description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", required=True, help="folder with ScanRefer json, scans/, labels tsv")
    parser.add_argument("--cache-dir", default=DataConfig.cache_dir, help="where the converted dataset goes")
    parser.add_argument("--skip-bad", action="store_true", help="skip and count bad scenes/descriptions")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (1: in this process)")
    parser.add_argument("--force", action="store_true", help="rebuild every scene, even those already done")
    args = parser.parse_args(argv)
    cfg = DataConfig(dataset="scanrefer", data_root=args.data_root, cache_dir=args.cache_dir)
    try:
        root = preprocess_root(cfg, force=args.force, skip_bad=args.skip_bad, workers=args.workers)
        manifest = store.load_index(root).manifest
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"dataset: {root}\n{format_summary(manifest)}")
    return 0
