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


def stats_table(index: DatasetIndex) -> pd.DataFrame:
    """One row per split (train, val, test, overall), one column per statistic."""
    return pd.DataFrame(dataset_stats(index)).T.rename_axis("split")


def plot_stats(index: DatasetIndex) -> Any:
    """Class histogram, description lengths, unique share, points / superpoints per scene, purity."""
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
    axes[1, 0].hist([m["n_points"] for m in metas], bins=20, color="tab:purple")
    axes[1, 0].set(title="points per scene")
    axes[1, 1].hist([m["n_superpoints"] for m in metas], bins=20, color="tab:red")
    axes[1, 1].set(title="superpoints per scene")
    purity = [m["superpoint_purity"] for m in metas if "superpoint_purity" in m]
    axes[1, 2].hist(purity, bins=20, range=(min([0.8, *purity]), 1.0), color="tab:gray")
    axes[1, 2].set(title="superpoint purity (point-weighted)")
    fig.tight_layout()
    return fig
