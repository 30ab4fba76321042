"""ScanRefer descriptions over ScanNet v2 scans, converted into the kit's dataset format (store.py).

Splits: ScanRefer train minus 10% of its scenes (seed 0) -> "train"; those held-out scenes -> "val"
(model selection); ScanRefer val -> "test" (what papers report on). See docs/scanrefer.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
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
    file_stamp,
    outside_nyu40,
    read_aggregation,
    read_axis_alignment,
    read_label_map,
    read_mesh,
    read_scanrefer,
    read_segs,
    read_vertex_labels,
    reason_of,
    same_name,
    scanrefer_type,
    scene_files,
    unique_lookup,
)
from threedrest.data.store import CLASSES, DataError
from threedrest.io import atomic_write_json, stable_hash
from threedrest.paths import resolve

CONVERTER_VERSION = 2  # 2: ScanRefer's refrigerator typing, v1 label files, input-keyed cache
VAL_FRACTION = 0.1  # share of ScanRefer-train scenes held out as the kit's "val" split
SPLIT_SEED = 0
LABELS_TSV = "scannetv2-labels.combined.tsv"
SCANREFER_FILES = {"train": "ScanRefer_filtered_train.json", "val": "ScanRefer_filtered_val.json"}


def _warning(scene_id: str, reason: str, message: str, uids: list[str] | None = None) -> dict[str, Any]:
    """A conversion warning: counted by ``reason`` and listed in the summary; ``--strict`` makes it an error."""
    return {"scene_id": scene_id, "reason": reason, "message": message, **({"uids": uids} if uids else {})}


def build_scene(
    files: dict[str, Path], scene_id: str, objects: list[dict[str, Any]], label_map: dict[str, tuple[int, str]]
) -> tuple[store.Scene, dict[str, Any]]:
    """Points, colours, superpoints (ScanNet's segments) and instance/semantic labels of one scan, and
    what the conversion did (``alignment``: transform and offset; ``warnings``), kept beside the scene."""
    warned: list[dict[str, Any]] = []
    xyz, rgb = read_mesh(files["ply"])
    seg = read_segs(files["segs"], xyz.shape[0])
    align = read_axis_alignment(files["meta"])
    if align is None:
        why = "file missing" if not files["meta"].is_file() else "no 'axisAlignment' line"
        message = f"{files['meta']}: {why}; the scene is left unaligned (identity), not in ScanRefer's aligned frame"
        warned.append(_warning(scene_id, "no_axis_alignment", message))
    matrix = np.eye(4) if align is None else align
    xyz = (xyz.astype(np.float64) @ matrix[:3, :3].T + matrix[:3, 3]).astype(np.float32)
    offset = xyz.min(axis=0)
    xyz -= offset  # kit convention: floor (lowest point) at z = 0, room in the positive octant
    alignment = {
        "source": "axisAlignment" if align is not None else "none",
        "axis_alignment": matrix.tolist(),  # applied to the mesh vertices first
        "offset": [float(v) for v in offset],  # then subtracted: ScanRefer frame = kit xyz + offset
    }
    seg_ids, superpoint = np.unique(seg, return_inverse=True)
    n_sp = seg_ids.shape[0]
    sp_instance = np.full(n_sp, -1, dtype=np.int32)
    sp_semantic = np.full(n_sp, -1, dtype=np.int16)
    label_of = {obj["object_id"]: obj["label"] for obj in objects}
    agg, segs_file = files["aggregation"], files["segs"]
    for obj in objects:  # one iteration per object (tens per scan); later groups win on shared segments
        oid, segments = obj["object_id"], np.asarray(obj["segments"], dtype=np.int64)
        pos = np.searchsorted(seg_ids, segments)
        present = (pos < n_sp) & (seg_ids[np.minimum(pos, n_sp - 1)] == segments)
        if not present.all():
            absent = np.unique(segments[~present])
            kept = np.unique(segments[present]).size
            left = f"the object keeps its other {kept} segment(s)" if kept else "the object covers no vertex"
            warned.append(_warning(scene_id, "segment_not_in_segs",
                                   f"{agg}: segGroup objectId {oid} ({obj['label']!r}) field 'segments' names "
                                   f"{absent.size} segment id(s) absent from {segs_file} (first: {int(absent[0])}); "
                                   f"{left}"))  # fmt: skip
        pos = np.unique(pos[present])
        previous = sp_instance[pos]
        for other in np.unique(previous[previous >= 0]):
            shared = pos[previous == other]
            n_vertices = int(np.isin(superpoint, shared).sum())
            warned.append(_warning(scene_id, "segment_in_two_segGroups",
                                   f"{agg}: segGroups objectId {int(other)} ({label_of[int(other)]!r}) and objectId "
                                   f"{oid} ({obj['label']!r}) both claim {shared.size} segment(s) (first: "
                                   f"{int(seg_ids[shared[0]])}; {n_vertices} vertices); they go to objectId {oid}, "
                                   "the later segGroup"))  # fmt: skip
        sp_instance[pos] = oid
        sp_semantic[pos] = class_index(obj["label"], label_map)
    semantic = sp_semantic[superpoint]
    if files["labels_ply"].is_file():  # ScanNet's own per-vertex NYU40 labels, when shipped (v2)
        raw = read_vertex_labels(files["labels_ply"], xyz.shape[0])
        outside = outside_nyu40(raw)
        if outside.any():  # v1 release: raw category ids, which read as NYU40 would be wrong classes
            examples = ", ".join(str(int(v)) for v in np.unique(raw[outside])[:5])
            warned.append(_warning(scene_id, "labels_ply_not_nyu40",
                                   f"{files['labels_ply']}: vertex property 'label' holds ids outside NYU40's 0..40 "
                                   f"at {int(outside.sum())} of {raw.shape[0]} vertices (e.g. {examples}): raw "
                                   "category ids (v1 release?), not NYU40; per-vertex classes taken from the "
                                   "aggregation + label tsv instead"))  # fmt: skip
        else:
            semantic = NYU40_TABLE[raw]
    scene = store.Scene(scene_id, xyz, rgb, superpoint.astype(np.int32), sp_instance[superpoint], semantic)
    return scene, {"alignment": alignment, "warnings": warned}


def scene_inputs(data_root: Path, scene_id: str) -> dict[str, Any]:
    """Size and mtime of every file a scene's conversion reads: the key of its cached conversion."""
    files = scene_files(data_root, scene_id)
    stamps = {role: file_stamp(files[role]) for role in ("ply", "segs", "aggregation", "labels_ply", "meta")}
    return {**stamps, "labels_tsv": file_stamp(data_root / LABELS_TSV), "converter_version": CONVERTER_VERSION}


def conversion_path(out_root: Path, scene_id: str) -> Path:
    """Beside ``scenes/<scene>.npz``: its input stamps, alignment and warnings (see ``convert_scene``)."""
    return Path(out_root) / "scenes" / f"{scene_id}.conversion.json"


def _cached_conversion(
    out_root: Path, scene_id: str, inputs: dict[str, Any]
) -> tuple[store.Scene | None, dict[str, Any] | None]:
    """The cached scene and its conversion record when the record's inputs match today's files exactly
    and the scene file loads; else ``(None, None)`` (missing, stale or corrupted: rebuild it)."""
    try:
        record = json.loads(conversion_path(out_root, scene_id).read_text())
    except (OSError, json.JSONDecodeError):
        return None, None
    if not isinstance(record, dict) or record.get("inputs") != inputs:
        return None, None
    try:
        return store.load_scene(out_root, scene_id), record
    except DataError:
        return None, None


def convert_scene(
    data_root: Path,
    scene_id: str,
    records: list[dict[str, Any]],
    label_map: dict[str, tuple[int, str]],
    out_root: Path,
    reuse: bool = True,
    strict: bool = False,
) -> dict[str, Any]:
    """Convert one scan and check its descriptions; never raises DataError, returns it instead.

    Returns ``{"scene_id", "meta" (None if the scene is bad), "reused", "errors": [{"uid", "reason",
    "message"}], "warnings": [...]}``; ``uid`` is None for a scene-level error. A cached scene is
    reused only if every input file has the size and mtime it had when it was converted.
    ``strict``: every warning is returned as an error instead.
    """
    result: dict[str, Any] = {"scene_id": scene_id, "meta": None, "reused": False, "errors": [], "warnings": []}
    files = scene_files(data_root, scene_id)
    inputs = scene_inputs(data_root, scene_id)
    try:
        if not files["folder"].is_dir():
            raise bad("unknown_scene_id", f"{records[0]['_where']} field 'scene_id' {scene_id!r} has no scan "
                                          f"folder (looked for {data_root / 'scans' / scene_id})")  # fmt: skip
        objects = read_aggregation(files["aggregation"])
        scene, info = _cached_conversion(out_root, scene_id, inputs) if reuse else (None, None)
        result["reused"] = scene is not None
        if scene is None or info is None:
            scene, info = build_scene(files, scene_id, objects, label_map)
            store.save_scene(out_root, scene)
            atomic_write_json(conversion_path(out_root, scene_id), {"inputs": inputs, **info})
    except DataError as err:
        result["errors"].append({"uid": None, "reason": reason_of(err), "message": str(err), "lost": len(records)})
        return result
    warned = list(info["warnings"])
    if strict and warned:
        for i, w in enumerate(warned):  # the scene's descriptions are lost once, under its first warning
            lost = len(records) if i == 0 else 0
            message = f"{w['message']} (an error under --strict)"
            result["errors"].append({"uid": None, "reason": w["reason"], "message": message, "lost": lost})
        return result
    sizes = dict(zip(*np.unique(scene.instance[scene.instance >= 0], return_counts=True), strict=True))
    label_of = {obj["object_id"]: obj["label"] for obj in objects}
    renamed: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        oid, uid = int(rec["object_id"]), store.description_uid(rec)
        if oid not in label_of:
            message = f"{rec['_where']} field 'object_id' {oid} is not a segGroup objectId in {files['aggregation']}"
            result["errors"].append({"uid": uid, "reason": "object_id_not_in_aggregation", "message": message})
        elif sizes.get(oid, 0) == 0:
            message = f"{rec['_where']} field 'object_id' {oid}: its segGroup covers no vertex of {files['segs']}"
            result["errors"].append({"uid": uid, "reason": "empty_target", "message": message})
        elif not same_name(rec["object_name"], label_of[oid]):
            renamed[(oid, rec["object_name"])].append(rec)
    for (oid, name), recs in renamed.items():
        label = label_of[oid]
        named, labelled = scanrefer_type(name, label_map), scanrefer_type(label, label_map)
        typing = (f"unique/multiple types it {named!r} from object_name, as ScanRefer does (the label gives "
                  f"{labelled!r})") if named != labelled else f"both give type {named!r}"  # fmt: skip
        message = (f"{recs[0]['_where']} field 'object_name' {name!r} disagrees with segGroup objectId {oid}'s "
                   f"label {label!r} in {files['aggregation']} ({len(recs)} description(s)); {typing}")  # fmt: skip
        uids = [store.description_uid(r) for r in recs]
        if strict:
            message += " (an error under --strict)"
            result["errors"] += [{"uid": u, "reason": "object_name_mismatch", "message": message} for u in uids]
        else:
            warned.append(_warning(scene_id, "object_name_mismatch", message, uids))
    unmapped = sorted({obj["label"] for obj in objects} - set(label_map))
    result["warnings"] = warned
    result["meta"] = {
        "n_points": scene.n_points,
        "n_superpoints": scene.n_superpoints,
        "alignment": info["alignment"],
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
    if cfg.val_from_train_scenes < 0:
        raise DataError(f"config field 'val_from_train_scenes' must be >= 0, got {cfg.val_from_train_scenes}")
    data_root = Path(cfg.data_root).expanduser().resolve()
    settings = {
        "data_root": str(data_root), "converter_version": CONVERTER_VERSION, "format_version": store.FORMAT_VERSION,
        "val_fraction": VAL_FRACTION, "split_seed": SPLIT_SEED, "val_from_train_scenes": cfg.val_from_train_scenes,
    }  # fmt: skip
    return resolve(cfg.cache_dir) / f"scanrefer-{stable_hash(settings)}", settings


def held_out_scenes(train_scene_ids: list[str], n_val: int | None = None) -> set[str]:
    """The ScanRefer-train scenes that form the kit's "val" split (fixed seed): ``n_val`` of them, by
    default 10% (at least one when there are two or more)."""
    scene_ids = sorted(set(train_scene_ids))
    if n_val is None:
        n_val = max(1, round(VAL_FRACTION * len(scene_ids))) if len(scene_ids) >= 2 else 0
    order = np.random.default_rng(SPLIT_SEED).permutation(len(scene_ids))
    return {scene_ids[i] for i in order[:n_val]}


def dataset_inputs(data_root: Path, scene_ids: list[str]) -> dict[str, Any]:
    """Stamps of every file a conversion reads; a finished dataset is reused only while they match."""
    return {
        "scanrefer": {name: file_stamp(data_root / name) for name in SCANREFER_FILES.values()},
        "labels_tsv": file_stamp(data_root / LABELS_TSV),
        "scenes": {scene_id: scene_inputs(data_root, scene_id) for scene_id in sorted(scene_ids)},
    }


def up_to_date(out: Path, data_root: Path, strict: bool = False) -> bool:
    """True when ``out`` holds a finished conversion of today's input files (sizes and mtimes)."""
    if not store.is_complete(out):
        return False
    try:
        manifest = json.loads((out / "manifest.json").read_text())
        inputs = manifest["inputs"]
        return bool(manifest["options"]["strict"] == strict and inputs == dataset_inputs(data_root, inputs["scenes"]))
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return False


class ConversionWarning(UserWarning):
    """Input the converter used but did not trust (each counted and listed in the summary)."""


def _warn_counted(manifest: dict[str, Any], out: Path) -> None:
    """One Python warning per conversion (or reuse) that carries warnings, so library callers see them."""
    if manifest.get("warnings"):
        counts = ", ".join(f"{reason}: {n}" for reason, n in sorted(manifest["warning_counts"].items()))
        warnings.warn(f"{out}: {len(manifest['warnings'])} conversion warning(s) ({counts}); listed in "
                      "manifest.json 'warnings' and in the summary of python -m threedrest scanrefer",
                      ConversionWarning, stacklevel=3)  # fmt: skip


def preprocess_root(
    cfg: DataConfig,
    force: bool = False,
    skip_bad: bool = False,
    workers: int = 2,
    progress: bool = True,
    strict: bool = False,
) -> Path:
    """Convert ``cfg.data_root`` once (resumable) and return the dataset root for ``store.load_index``.

    A finished conversion is reused while every input file keeps its size and mtime; a changed scan
    is converted again (the others are reused). ``strict``: every warning is an error.
    """
    out, settings = dataset_root(cfg)
    data_root = Path(settings["data_root"])
    if not force and up_to_date(out, data_root, strict):
        _warn_counted(json.loads((out / "manifest.json").read_text()), out)
        return out
    (out / "manifest.json").unlink(missing_ok=True)  # a rebuild is incomplete until save_index ends
    if not data_root.is_dir():
        raise DataError(f"{data_root}: data_root folder missing (config field 'data_root')")
    label_map = read_label_map(data_root / LABELS_TSV)
    skipped: list[dict[str, Any]] = []
    warned: list[dict[str, Any]] = []

    def fail(err: DataError, scene_id: str, uid: str | None, lost: int = 1) -> None:
        """Raise, or with skip_bad record the skip (``lost``: descriptions it removes)."""
        if not skip_bad:
            raise err
        skipped.append({"scene_id": scene_id, "uid": uid, "reason": reason_of(err), "message": str(err),
                        "descriptions_lost": lost})  # fmt: skip

    by_scene: dict[str, list[dict[str, Any]]] = defaultdict(list)
    split_of: dict[str, str] = {}
    lookup: dict[tuple[str, str], bool] = {}
    default_val: set[str] = set()
    for source, name in SCANREFER_FILES.items():
        path = data_root / name
        records = read_scanrefer(path)
        lookup.update(unique_lookup(records, label_map))
        scene_ids = [r["scene_id"] for r in records if isinstance(r.get("scene_id"), str)]
        if source == "train":
            default_val = held_out_scenes(scene_ids)
        held = default_val if source == "train" and not cfg.val_from_train_scenes else set()
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

    jobs = [(data_root, s, by_scene[s], label_map, out, not force, strict) for s in sorted(by_scene)]
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
            warned += result["warnings"]
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
    n_val = cfg.val_from_train_scenes
    if n_val:  # small data sets: hold out val scenes among the train scans actually converted
        converted_train = [s for s, meta in scenes.items() if meta["split"] == "train"]
        if n_val >= len(converted_train):
            most = max(len(converted_train) - 1, 0)
            raise DataError(f"config field 'val_from_train_scenes' is {n_val}, but only {len(converted_train)} "
                            "ScanRefer-train scene(s) were converted; at least one must stay in train "
                            f"(use val_from_train_scenes <= {most}, or add scans)")  # fmt: skip
        for scene_id in held_out_scenes(converted_train, n_val):
            scenes[scene_id]["split"] = "val"
        for rec in descriptions:
            rec["split"] = scenes[rec["scene_id"]]["split"]
    train_file = SCANREFER_FILES["train"]
    val_rule = (f"{n_val} of the converted {train_file} scenes (seed {SPLIT_SEED}, val_from_train_scenes)" if n_val
                else f"the held-out {VAL_FRACTION:.0%} of {train_file} scenes (seed {SPLIT_SEED})")  # fmt: skip
    manifest = {
        "source": "scanrefer", "settings": settings, "settings_hash": stable_hash(settings),
        "splits": {"train": f"{train_file} minus the val scenes", "val": val_rule, "test": SCANREFER_FILES["val"]},
        "default_val_scenes": sorted(default_val),
        "summary": split_summary(scenes, descriptions), "skipped": skipped,
        "skip_counts": dict(Counter(s["reason"] for s in skipped)), "unmapped_labels": sorted(unmapped),
        "warnings": warned, "warning_counts": dict(Counter(w["reason"] for w in warned)),
        "alignment_counts": dict(Counter(m["alignment"]["source"] for m in scenes.values())),
        "inputs": dataset_inputs(data_root, sorted(by_scene)), "options": {"strict": strict, "skip_bad": skip_bad},
    }  # fmt: skip
    store.save_index(out, manifest, scenes, descriptions)
    _warn_counted(manifest, out)
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
    aligned = manifest.get("alignment_counts", {})
    if aligned:
        lines.append(f"axis alignment: {aligned.get('axisAlignment', 0)} scene(s) by <scene>.txt 'axisAlignment', "
                     f"{aligned.get('none', 0)} left unaligned (identity); transform and offset per scene in "
                     "scenes.json 'alignment'")  # fmt: skip
    if manifest.get("warnings"):
        counts = ", ".join(f"{reason}: {n}" for reason, n in sorted(manifest["warning_counts"].items()))
        lines.append(f"warnings {len(manifest['warnings'])} ({counts}); data kept as described (--strict: errors):")
        lines += [f"  [{w['reason']}] {w['message']}" for w in manifest["warnings"][:max_listed]]
        if len(manifest["warnings"]) > max_listed:
            lines.append(f"  ... {len(manifest['warnings']) - max_listed} more in manifest.json 'warnings'")
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
    parser.add_argument("--strict", action="store_true", help="treat every warning as an error")
    parser.add_argument("--val-from-train-scenes", type=int, default=0, metavar="N",
                        help="hold out N converted train scenes as val (few scans; 0: 10%% of train)")  # fmt: skip
    args = parser.parse_args(argv)
    cfg = DataConfig(dataset="scanrefer", data_root=args.data_root, cache_dir=args.cache_dir,
                     val_from_train_scenes=args.val_from_train_scenes)  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConversionWarning)  # the summary below lists every one
            root = preprocess_root(
                cfg, force=args.force, skip_bad=args.skip_bad, workers=args.workers, strict=args.strict
            )
        manifest = store.load_index(root).manifest
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"dataset: {root}\n{format_summary(manifest)}")
    return 0
