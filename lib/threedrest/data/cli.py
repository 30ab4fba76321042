"""``python -m threedrest data``: build the embedded benchmark cache and print its statistics."""

from __future__ import annotations

import argparse
import sys

from threedrest.config import Config, ConfigError
from threedrest.data import store
from threedrest.data.embedded import build_embedded
from threedrest.data.stats import language_table, stats_table, target_table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest data", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="classroom", help="config profile: smoke, classroom or paper")
    parser.add_argument("--force", action="store_true", help="regenerate even if a complete cache exists")
    parser.add_argument("--generator-seed", type=int, default=None, help="seed of the procedural benchmark")
    parser.add_argument("--cache-dir", default=None, help="where the dataset folder is written")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    args = parser.parse_args(argv)
    overrides = {
        k: v for k, v in (("generator_seed", args.generator_seed), ("cache_dir", args.cache_dir)) if v is not None
    }
    try:
        cfg = Config.from_flat(args.profile, **overrides).data
        root = build_embedded(cfg, force=args.force, workers=args.workers)
        index = store.load_index(root)
    except (ConfigError, store.DataError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    manifest = index.manifest
    print(f"dataset: {root}")
    print(f"generation time: {manifest['generation_seconds']:.1f} s (generator {manifest['generator_version']}, "
          f"{manifest.get('workers', 1)} workers; 0 s now if the cache was reused)")  # fmt: skip
    print(stats_table(index).to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nlanguage vs ScanRefer (1,000 random train descriptions):")
    print(language_table(index.descriptions).to_string(float_format=lambda v: f"{v:.3f}"))
    print("\ntargets by class (share of descriptions, unique share, mean scan points per target):")
    print(target_table(index).to_string(float_format=lambda v: f"{v:.3f}"))
    return 0
