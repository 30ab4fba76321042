"""Statistics of a dataset in the kit's format, to compare the embedded benchmark with ScanRefer.

ScanRefer reference points (docs/METHOD): ~19% unique descriptions, 20.3 tokens on average (median 19,
p10 13, p90 30), ~4.7 descriptions per object.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from threedrest.data.store import SPLITS, DatasetIndex

STRUCTURE = ("wall", "floor")
# Measured on 1,000 random ScanRefer train descriptions (METHOD.md; the text itself is not shipped): distinct
# tokens and object names per 1,000 descriptions, mean length, two-sentence share, and the share of
# descriptions that contain each word at least once.
SCANREFER_LANGUAGE: dict[str, float] = {
    "tokens per 1,000": 929, "object names per 1,000": 112, "mean tokens": 20.3, "two sentences": 0.94,
    "top": 0.078, "under": 0.051, "above": 0.043, "back": 0.044, "corner": 0.089, "next": 0.093, "floor": 0.039,
    "middle": 0.032, "brown": 0.154, "black": 0.134, "white": 0.183, "door": 0.110, "window": 0.062,
    "table": 0.243, "chair": 0.266, "chairs": 0.046, "bed": 0.080, "shelf": 0.049, "has": 0.111, "two": 0.055,
    "another": 0.030, "other": 0.024, "its": 0.036, "you": 0.019, "when": 0.004, "walk": 0.004, "tan": 0.024,
    "beige": 0.013,
}  # fmt: skip
RARE_WORDS = ("you", "when", "walk", "tan", "beige")  # the kit's target for these: at most 0.04 each
SCANREFER_CLASSES = {"others": 0.35, "chair": 0.23, "cabinet": 0.085, "table": 0.07, "door": 0.054, "window": 0.03}


def _block(index: DatasetIndex, scene_ids: list[str], records: list[dict[str, Any]]) -> dict[str, Any]:
    metas = [index.scenes[s] for s in scene_ids]
    lengths = np.array([len(r["token"]) for r in records]) if records else np.zeros(1)
    purities = [m["superpoint_purity"] for m in metas if "superpoint_purity" in m]
    return {
        "scenes": len(scene_ids),
        "objects": sum(sum(o["class_name"] not in STRUCTURE for o in m["objects"]) for m in metas),
        "descriptions": len(records),
        "unique_share": float(np.mean([r["unique"] for r in records])) if records else float("nan"),
        "vocabulary": len({t for r in records for t in r["token"]}),
        "length_mean": float(lengths.mean()),
        "length_median": float(np.median(lengths)),
        "length_p10": float(np.percentile(lengths, 10)),
        "length_p90": float(np.percentile(lengths, 90)),
        "points_per_scene": float(np.mean([m["n_points"] for m in metas])) if metas else float("nan"),
        "superpoints_per_scene": float(np.mean([m["n_superpoints"] for m in metas])) if metas else float("nan"),
        "superpoint_purity": float(np.mean(purities)) if purities else float("nan"),
    }


def dataset_stats(index: DatasetIndex) -> dict[str, dict[str, Any]]:
    """Per split and "overall": counts, unique share, vocabulary, description lengths, scan statistics.

    Superpoint purity comes from scenes.json (computed at build time); recompute it from the arrays with
    ``superpoints.purity`` when a dataset does not store it.
    """
    out = {}
    for split in SPLITS:
        out[split] = _block(index, index.scene_ids(split), index.split(split))
    out["overall"] = _block(index, index.scene_ids(), index.descriptions)
    return out


def language_stats(records: list[dict[str, Any]], seed: int = 0) -> dict[str, float]:
    """The statistics of ``SCANREFER_LANGUAGE`` for a set of descriptions: vocabulary and object names on
    1,000 drawn at random (as ScanRefer's were measured), word shares on all of them."""
    rng = np.random.default_rng(seed)
    sample = [records[i] for i in rng.permutation(len(records))[:1000]]
    share: Counter = Counter()
    for r in records:
        share.update(set(r["token"]))
    out = {
        "tokens per 1,000": float(len({t for r in sample for t in r["token"]})),
        "object names per 1,000": float(len({r.get("object_name") for r in sample})),
        "mean tokens": float(np.mean([len(r["token"]) for r in records])),
        "two sentences": float(np.mean([sum(t == "." for t in r["token"]) == 2 for r in records])),
    }
    return {**out, **{w: share[w] / max(len(records), 1) for w in SCANREFER_LANGUAGE if w not in out}}


def language_table(records: list[dict[str, Any]], seed: int = 0) -> pd.DataFrame:
    """Kit vs ScanRefer, one row per statistic, with the ratio (word shares should be within 2x)."""
    kit = language_stats(records, seed)
    rows = [(k, SCANREFER_LANGUAGE[k], kit[k]) for k in SCANREFER_LANGUAGE]
    table = pd.DataFrame(rows, columns=["statistic", "scanrefer", "kit"])
    table["ratio"] = table["kit"] / table["scanrefer"]
    return table.set_index("statistic")


def target_table(index: DatasetIndex) -> pd.DataFrame:
    """Per target class: share of descriptions (ScanRefer's where known), unique share, mean points per target."""
    objects = {(s, o["object_id"]): o for s, m in index.scenes.items() for o in m["objects"]}
    rows = []
    for r in index.descriptions:
        o = objects[(r["scene_id"], r["object_id"])]
        rows.append({"class": o["class_name"], "unique": r["unique"], "points": o.get("n_points", np.nan)})
    df = pd.DataFrame(rows)
    table = df.groupby("class").agg(share=("unique", "size"), unique=("unique", "mean"), points=("points", "mean"))
    table["share"] /= len(df)
    table["scanrefer"] = [SCANREFER_CLASSES.get(c, np.nan) for c in table.index]
    return table.sort_values("share", ascending=False)


def stats_table(index: DatasetIndex) -> pd.DataFrame:
    """One row per split (train, val, test, overall), one column per statistic."""
    return pd.DataFrame(dataset_stats(index)).T.rename_axis("split")


def plot_stats(index: DatasetIndex) -> Any:
    """Class histogram, description lengths, unique share, points per target object (how small a target can
    be; points per scene says nothing where every scan has one count), superpoints per scene, purity."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    objects = [o for m in index.scenes.values() for o in m["objects"] if o["class_name"] not in STRUCTURE]
    classes = Counter(o["class_name"] for o in objects).most_common()
    ax = axes[0, 0]
    ax.barh([c for c, _ in classes][::-1], [n for _, n in classes][::-1], color="tab:blue")
    ax.set_title("objects per class")
    ax = axes[0, 1]
    ax.hist([len(r["token"]) for r in index.descriptions], bins=range(0, 45), color="tab:orange")
    ax.set(title="description length (tokens)", xlabel="tokens", ylabel="descriptions")
    ax = axes[0, 2]
    stats = dataset_stats(index)
    names = [*SPLITS, "overall"]
    ax.bar(names, [stats[s]["unique_share"] for s in names], color="tab:green")
    ax.axhline(0.194, color="k", ls="--", lw=1, label="ScanRefer (19.4%)")
    ax.set(title="unique share", ylim=(0, 1))
    ax.legend()
    metas = list(index.scenes.values())
    # points per target object, not per scene: the generator samples every scan to one point count
    targets = {(r["scene_id"], str(r["object_id"])) for r in index.descriptions}
    sizes = [o["n_points"] for s, m in index.scenes.items() for o in m["objects"]
             if (s, str(o["object_id"])) in targets and o.get("n_points")]  # fmt: skip
    scan = sorted({m["n_points"] for m in metas})
    scans = f"every scan {scan[0]:,} points" if len(scan) == 1 else f"scans {scan[0]:,}-{scan[-1]:,} points"
    ax = axes[1, 0]
    if sizes:
        ax.hist(sizes, bins=np.geomspace(max(min(sizes), 1), max(sizes) + 1, 25), color="tab:purple")
        ax.set_xscale("log")
        ax.axvline(np.median(sizes), color="k", ls="--", lw=1, label=f"median {np.median(sizes):,.0f}")
        ax.legend()
    ax.set(title=f"points per target object ({scans})", xlabel="points (log scale)", ylabel="target objects")
    axes[1, 1].hist([m["n_superpoints"] for m in metas], bins=20, color="tab:red")
    axes[1, 1].set(title="superpoints per scene")
    purity = [m["superpoint_purity"] for m in metas if "superpoint_purity" in m]
    axes[1, 2].hist(purity, bins=20, range=(min([0.8, *purity]), 1.0), color="tab:gray")
    axes[1, 2].set(title="superpoint purity (point-weighted)")
    fig.tight_layout()
    return fig
