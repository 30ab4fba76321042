"""Labelled subsets of the train split: nested prefixes of one seeded permutation.

Why nested: with one seed, the 0.5% set is inside the 1% set, so a curve over label ratios compares
nested label budgets (as in semi-supervised benchmarks) instead of unrelated random draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from threedrest.data.store import SPLITS, DataError, DatasetIndex, description_uid

RATIOS = (0.005, 0.01, 0.02, 0.05, 0.1, 1.0)


def labelled_subset(train_records: list[dict[str, Any]], ratio: float, seed: int, by: str = "description") -> list[str]:
    """Uids of the labelled descriptions: ``max(1, round(ratio * n))`` of them (by="description"), or all
    descriptions of whole train scenes taken in seeded order until that count is reached (by="scene")."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"label ratio must be in (0, 1], got {ratio!r}")
    if by not in ("description", "scene"):
        raise ValueError(f"split_by must be 'description' or 'scene', got {by!r}")
    if not train_records:
        raise ValueError("labelled_subset: no train descriptions to draw from")
    uids = [r.get("uid") or description_uid(r) for r in train_records]
    order = sorted(range(len(uids)), key=lambda i: uids[i])  # input order must not matter
    target = max(1, round(ratio * len(uids)))
    rng = np.random.default_rng(seed)
    if by == "description":
        perm = rng.permutation(len(order))
        return [uids[order[i]] for i in perm[:target]]
    by_scene: dict[str, list[str]] = {}
    for i in order:
        by_scene.setdefault(train_records[i]["scene_id"], []).append(uids[i])
    scenes = sorted(by_scene)
    chosen: list[str] = []
    for s in rng.permutation(len(scenes)):
        if len(chosen) >= target:
            break
        chosen += by_scene[scenes[s]]
    return chosen


def split_counts(index: DatasetIndex) -> dict[str, dict[str, int]]:
    """Scenes and descriptions per split."""
    return {s: {"scenes": len(index.scene_ids(s)), "descriptions": len(index.split(s))} for s in SPLITS}


def _advice(index: DatasetIndex, split: str) -> str:
    """How a split of this dataset gets its scenes, and what to do when it has none."""
    manifest = index.manifest
    if manifest.get("source") != "scanrefer":
        return (f"{split} holds the embedded benchmark's n_{split}_scenes generated scenes: set "
                f"n_{split}_scenes >= 1")  # fmt: skip
    settings = manifest.get("settings", {})
    n_train = len(index.scene_ids("train"))
    if split == "train":
        return (
            "train is the converted ScanRefer_filtered_train.json scenes that are not val: add scans of "
            "scenes that file lists (python -m threedrest scanrefer --skip-bad converts only those you have)"
        )
    if split == "test":
        return (
            "test is ScanRefer_filtered_val.json: add the scan of at least one scene that file lists "
            "(141 scenes in ScanRefer), then convert again"
        )
    if settings.get("val_from_train_scenes"):
        return (
            f"val is val_from_train_scenes={settings['val_from_train_scenes']} of the converted train "
            "scenes: raise it, or add train scans"
        )
    candidates = manifest.get("default_val_scenes", [])
    shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
    if n_train >= 2:
        fix = (f"set val_from_train_scenes=1 (config key; --val-from-train-scenes 1 for the scanrefer command) "
               f"to hold out 1 of your {n_train} converted train scenes instead")  # fmt: skip
    else:
        fix = "convert at least 2 train scans and set val_from_train_scenes=1 (config key) to hold one out"
    return (f"val is the {settings.get('val_fraction', 0.1):.0%} of ScanRefer_filtered_train.json scenes held out "
            f"by seed {settings.get('split_seed', 0)} ({len(candidates)} scenes: {shown}), and none of their scans "
            f"was converted; add one of those scans, or {fix}")  # fmt: skip


def check_splits(index: DatasetIndex, needed: tuple[str, ...] = SPLITS) -> dict[str, dict[str, int]]:
    """Refuse, before any backbone pre-training or feature extraction, a dataset the pipeline cannot use.

    Training needs at least one description in each split (train: the labelled subset and the
    backbone's labels; val: model selection; test: the reported numbers); ``features`` needs train
    and val only. Small ScanRefer copies (a handful of scans) most often lack val; the message says
    why and what to set. Returns the per-split counts.
    """
    counts = split_counts(index)
    empty = [s for s in needed if counts[s]["descriptions"] == 0]
    if empty:
        have = ", ".join(f"{s}: {c['scenes']} scenes / {c['descriptions']} descriptions" for s, c in counts.items())
        advice = "; ".join(_advice(index, s) for s in empty)
        which = f"split {empty[0]!r} has" if len(empty) == 1 else f"splits {', '.join(map(repr, empty))} have"
        need = " and ".join(needed)
        raise DataError(f"{index.root / 'descriptions.json'}: {which} no descriptions ({have}); "
                        f"{need} each need at least 1 scene with a description here. {advice}")  # fmt: skip
    return counts
