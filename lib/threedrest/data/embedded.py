"""Build (once) and load the embedded procedural benchmark: rooms, scans, superpoints, sentences.

Why a cache keyed by a hash: generation takes seconds to minutes, and any change to a setting that
affects it (or to the generator itself, via ``GENERATOR_VERSION``) must produce a new folder rather
than silently reuse stale data. Every scene draws from its own child of one ``SeedSequence``, so a
scene depends only on ``generator_seed`` and its index, never on worker count or on other scenes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from threedrest.config import DataConfig
from threedrest.data import store
from threedrest.data.generator.scenes import generate_layout, sample_points, structure_objects
from threedrest.data.superpoints import oversegment, purity
from threedrest.io import stable_hash
from threedrest.paths import resolve

GENERATOR_VERSION = "2"  # bump whenever scenes, scans, superpoints or sentences change
GENERATION_FIELDS = ("n_train_scenes", "n_val_scenes", "n_test_scenes", "points_per_scene", "min_objects",
                     "max_objects", "descriptions_per_object", "generator_seed", "class_mix",
                     "small_object_points", "small_objects", "relation_mix", "templates")  # fmt: skip


def generation_settings(cfg: DataConfig) -> dict[str, Any]:
    """The settings that change the generated data (label_ratio, split_by, cache_dir do not)."""
    return {"generator_version": GENERATOR_VERSION, **{name: getattr(cfg, name) for name in GENERATION_FIELDS}}


def dataset_root(cfg: DataConfig) -> Path:
    return resolve(cfg.cache_dir) / f"embedded-{stable_hash(generation_settings(cfg))}"


def scene_plan(cfg: DataConfig) -> list[tuple[str, str]]:
    """(scene_id, split) for every scene, ScanNet-style ids numbered across splits."""
    splits = ["train"] * cfg.n_train_scenes + ["val"] * cfg.n_val_scenes + ["test"] * cfg.n_test_scenes
    return [(f"scene{i:04d}_00", split) for i, split in enumerate(splits)]


def build_scene(scene_id: str, split: str, seed: np.random.SeedSequence, cfg: DataConfig) -> dict[str, Any]:
    """One scene end to end: layout, scan, label-free superpoints and checked descriptions."""
    from threedrest.data.generator.language import describe_scene

    layout_seed, scan_seed, language_seed = seed.spawn(3)
    layout = generate_layout(scene_id, np.random.default_rng(layout_seed), cfg)
    points = sample_points(layout, np.random.default_rng(scan_seed), cfg.points_per_scene, cfg.small_object_points)
    superpoint = oversegment(points["xyz"], points["rgb"])  # no labels go in
    records = describe_scene(layout, np.random.default_rng(language_seed), cfg.descriptions_per_object,
                             relation_mix=cfg.relation_mix, templates=cfg.templates)  # fmt: skip
    class_count = Counter(o.class_name for o in layout.objects)
    for record in records:
        record["split"] = split
        record["unique"] = class_count[layout.by_id(int(record["object_id"])).class_name] == 1
        record["uid"] = store.description_uid(record)
    objects = [
        {"object_id": str(o.object_id), "object_name": o.object_name, "class_name": o.class_name,
         "center": o.center.round(3).tolist(), "size": o.size.round(3).tolist(), "yaw": round(o.yaw, 4),
         "color": o.color, "shape": o.shape, "material": o.material, "on_top_of": o.on_top_of,
         "against_wall": o.against_wall, "parts": o.parts, "inside_of": o.inside_of, "mounted": o.mounted}
        for o in layout.objects
    ] + structure_objects(layout)  # fmt: skip
    n_points = np.bincount(points["instance"], minlength=len(objects))
    for o in objects:
        o["n_points"] = int(n_points[int(o["object_id"])])
    scene = store.Scene(scene_id=scene_id, superpoint=superpoint, objects=objects, **points)
    meta = {
        "split": split, "n_points": scene.n_points, "n_superpoints": scene.n_superpoints, "objects": objects,
        "room_type": getattr(layout, "room_type", ""), "room_size": layout.room_size.round(3).tolist(),
        "superpoint_purity": purity(superpoint, points["instance"]),
    }  # fmt: skip
    return {"scene": scene, "meta": meta, "records": records, "layout": layout}


def _job(job: tuple[str, str, np.random.SeedSequence, DataConfig, str]) -> tuple[str, dict[str, Any], list[dict]]:
    scene_id, split, seed, cfg, root = job
    built = build_scene(scene_id, split, seed, cfg)
    store.save_scene(root, built["scene"])
    return scene_id, built["meta"], built["records"]


def build_embedded(cfg: DataConfig, force: bool = False, progress: bool = True, workers: int | None = None) -> Path:
    """Generate the benchmark into ``dataset_root(cfg)`` unless a complete copy is already there."""
    root = dataset_root(cfg)
    if store.is_complete(root) and not force:
        return root
    if cfg.min_objects < 1 or cfg.max_objects < cfg.min_objects:
        raise ValueError(
            f"min_objects/max_objects must satisfy 1 <= min <= max, got {cfg.min_objects}/{cfg.max_objects}"
        )
    (root / "manifest.json").unlink(missing_ok=True)  # incomplete until save_index writes it last
    plan = scene_plan(cfg)
    if not plan:
        raise ValueError(
            "the embedded benchmark needs at least one scene (n_train_scenes + n_val_scenes + n_test_scenes)"
        )
    seeds = np.random.SeedSequence(cfg.generator_seed).spawn(len(plan))
    jobs = [(sid, split, seed, cfg, str(root)) for (sid, split), seed in zip(plan, seeds, strict=True)]
    workers = min(2, os.cpu_count() or 1, len(jobs)) if workers is None else workers
    start = time.perf_counter()
    bar = tqdm(total=len(jobs), desc=f"embedded scenes -> {root.name}", disable=not progress)
    results = []
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # fork, not spawn: spawn re-imports __main__, which breaks scripts without a main guard
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap(_job, jobs):
                results.append(result)
                bar.update()
    else:
        for job in jobs:
            results.append(_job(job))
            bar.update()
    bar.close()
    scenes = {sid: meta for sid, meta, _ in results}
    descriptions = [r for _, _, records in results for r in records]
    seconds = time.perf_counter() - start
    metas = list(scenes.values())
    manifest = {
        "source": "embedded", "generator_version": GENERATOR_VERSION, "settings": generation_settings(cfg),
        "settings_hash": stable_hash(generation_settings(cfg)), "generation_seconds": round(seconds, 2),
        "workers": workers, "superpoint_purity": float(np.mean([m["superpoint_purity"] for m in metas])),
        "superpoints_per_scene": float(np.mean([m["n_superpoints"] for m in metas])),
        "points_per_scene": float(np.mean([m["n_points"] for m in metas])),
        "objects": int(sum(sum(o["class_name"] not in ("wall", "floor") for o in m["objects"]) for m in metas)),
        "unique_share": float(np.mean([r["unique"] for r in descriptions])) if descriptions else 0.0,
    }  # fmt: skip
    store.save_index(root, manifest, scenes, descriptions)
    return root


def load_dataset(cfg: DataConfig, progress: bool = True) -> store.DatasetIndex:
    """The dataset index for ``cfg``, building (embedded) or converting (scanrefer) it first if needed."""
    if cfg.dataset == "scanrefer":
        from threedrest.data import scannet

        return store.load_index(scannet.preprocess_root(cfg, progress=progress))
    return store.load_index(build_embedded(cfg, progress=progress))
