"""``python -m threedrest features``: build a dataset's caches (backbone, superpoint and text features).

The cache itself lives in :mod:`threedrest.net.features`; this command drives it, evaluates the
frozen backbone on val and, unless ``--no-timing``, measures what the cache saves
(:func:`threedrest.experiments.bench.time_cached_vs_recompute`).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from threedrest.config import Config, parse_overrides
from threedrest.data.splits import check_splits
from threedrest.experiments.bench import time_cached_vs_recompute
from threedrest.io import atomic_write_json
from threedrest.net.backbone import evaluate_backbone, require_device
from threedrest.net.features import FeatureCache, load_dataset_index


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest features", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="flat config overrides")
    parser.add_argument("--no-timing", action="store_true", help="skip the cached-vs-recompute measurement")
    args = parser.parse_args(argv)
    cfg = Config.from_flat(args.profile, **parse_overrides(args.set))  # errors name the key and list valid ones
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    require_device(cfg.train.device)  # device=cuda without a GPU: ConfigError before the dataset is built
    start = time.perf_counter()
    index = load_dataset_index(cfg)
    check_splits(index, ("train", "val"))  # before backbone pre-training: an empty split says why and what to set
    timings: dict[str, Any] = {"dataset_s": time.perf_counter() - start}
    cache = FeatureCache(index, cfg)
    timings.update(cache.build())
    timings["backbone_val"] = evaluate_backbone(cache.backbone(), index, "val", cfg.model.backbone_k)
    if not args.no_timing:
        timings["cached_vs_recompute"] = time_cached_vs_recompute(cache, [d["uid"] for d in index.split("val")])
    atomic_write_json(cache.folder / "timings.json", timings)
    print(f"features cached in {cache.folder}")
    print(json.dumps(timings, indent=1))
    return 0
