"""Rule-based references that need no training: how much does the task need language and geometry?

Both are handed the scene's ground-truth instance masks, which no model has, so they measure choosing among
the objects of a class, not segmenting one:

- ``largest_named``: read the class of the first object noun in the sentence and pick the largest
  object of that class in the scene (no relations, no attributes).
- ``random_true_class``: an oracle for the class: pick a random object of the target's true class
  (expected IoU 1/k with k objects of that class); it fails exactly where "multiple" begins.

Each picks a whole annotated object, so a description's IoU is that object's mask against the
target's: 1 when it picks the target, else 0 (distinct instances do not overlap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from threedrest.data.store import DatasetIndex
from threedrest.data.words import target_class_of
from threedrest.metrics import summarize


def _instance_sizes(index: DatasetIndex, scene_id: str) -> dict[int, int]:
    scene = index.load_scene(scene_id)
    ids, counts = np.unique(scene.instance[scene.instance >= 0], return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def rule_based(index: DatasetIndex, split: str = "test", seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """ScanRefer metrics ({rule: {subset: {miou, acc25, acc50, n}}}) of both rules on ``split``."""
    rng = np.random.default_rng(seed)
    records = index.split(split)
    picks: dict[str, list[float]] = {"largest_named": [], "random_true_class": []}
    unique = []
    sizes_cache: dict[str, dict[int, int]] = {}
    for record in records:
        scene_id = record["scene_id"]
        if scene_id not in sizes_cache:
            sizes_cache[scene_id] = _instance_sizes(index, scene_id)
        sizes = sizes_cache[scene_id]
        objects = index.scenes[scene_id]["objects"]
        target = int(record["object_id"])
        by_class: dict[str, list[int]] = {}
        for obj in objects:
            if int(obj["object_id"]) in sizes:
                by_class.setdefault(obj["class_name"], []).append(int(obj["object_id"]))
        named = target_class_of(record["token"])
        candidates = by_class.get(named, []) if named else []
        pick = max(candidates, key=lambda o: sizes[o]) if candidates else None
        picks["largest_named"].append(float(pick == target))
        true_class = next((o["class_name"] for o in objects if int(o["object_id"]) == target), None)
        same = by_class.get(true_class, [target])
        picks["random_true_class"].append(float(same[rng.integers(len(same))] == target))
        unique.append(bool(record.get("unique", False)))
    return {rule: summarize(np.array(ious), np.array(unique, dtype=bool)) for rule, ious in picks.items()}


def rule_based_table(index: DatasetIndex, split: str = "test", seed: int = 0) -> pd.DataFrame:
    """One row per rule: overall mIoU / Acc@0.25 / Acc@0.5 and unique / multiple mIoU, in percent."""
    rows = []
    for rule, subsets in rule_based(index, split, seed).items():
        row: dict[str, object] = {"rule": rule}
        for subset, metrics in subsets.items():
            for key in ("miou", "acc25", "acc50"):
                row[f"{subset} {key}"] = round(100 * metrics[key], 2)
            row[f"{subset} n"] = int(metrics["n"])
        rows.append(row)
    return pd.DataFrame(rows)
