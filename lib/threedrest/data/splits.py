"""Labelled subsets of the train split: nested prefixes of one seeded permutation.

Why nested: with one seed, the 0.5% set is inside the 1% set, so a curve over label ratios compares
nested label budgets (as in semi-supervised benchmarks) instead of unrelated random draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from threedrest.data.store import description_uid

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
