"""``python -m threedrest record``: the val record of a setting, the way the kit's defaults are chosen.

A default moves only when val says so, never test: on two seeds at least and, for a kit-wide setting, for every
method alike and on a benchmark variant too. This trains each grid point x seed (finished runs are reused by config
hash, ``workers`` at a time, from the shared burn-ins) and prints one row per run: val mIoU of student and teacher,
TSCS's promotions and the share of them right (IoU > 0.5 with the hidden truth, logged for analysis only), then the
mean per point. It prints no test number on purpose: those belong to the committed tables.

    python -m threedrest record method=3drest method=3drest,tscs_patience=5 --seeds 0,1
    python -m threedrest record method=supervised method=3drest --variant seed1-smaller-rooms
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from threedrest.config import Config, ConfigError, parse_overrides
from threedrest.experiments import grids, report
from threedrest.experiments.runs import DEFAULT_ROOT, RunResult
from threedrest.experiments.variants import VARIANTS
from threedrest.io import atomic_write_csv
from threedrest.paths import resolve

COLUMNS = ["point", "seed", "val mIoU student", "val mIoU teacher", "promoted", "promoted right %"]


def parse_point(text: str) -> dict[str, str]:
    """``"method=3drest,tscs_patience=5"`` -> flat config keys (typed and checked later by ``Config.from_flat``)."""
    pairs = [pair for pair in text.split(",") if pair.strip()]
    if not pairs or any("=" not in pair for pair in pairs):
        raise ConfigError(f"grid point {text!r}: write key=value[,key=value...], e.g. method=3drest,tscs_patience=5")
    return parse_overrides(pairs)


def record_configs(profile: str, points: list[str], seeds: list[int], variant: str = "main",
                   **common: Any) -> list[tuple[str, Config]]:  # fmt: skip
    """(point, config) per point x seed; ``variant`` (``variants.VARIANTS``) sets the benchmark's generator."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {list(VARIANTS)}")
    out = []
    for point in points:
        cfgs = grids.configs(profile, seeds, [parse_point(point)], **{**common, **VARIANTS[variant]})
        out += [(point, cfg) for cfg in cfgs]
    return out


def val_row(point: str, result: RunResult) -> dict[str, Any]:
    """One run's val record (percent); NaN where a run has no teacher or promoted nothing."""
    metrics = result.metrics
    val = metrics[(metrics["split"] == "val") & (metrics["subset"] == "overall")].set_index("model")["miou"]
    promotions = result.promotions
    right = float((promotions["true_iou"] > 0.5).mean()) * 100 if len(promotions) else float("nan")
    student, teacher = (100 * float(val.get(model, float("nan"))) for model in ("student", "teacher"))
    return dict(zip(COLUMNS, [point, result.summary["seed"], student, teacher, len(promotions), right], strict=True))


def record(profile: str, points: list[str], seeds: list[int], variant: str = "main", root: str | Path = DEFAULT_ROOT,
           workers: int = 2, progress: bool = True, **common: Any) -> pd.DataFrame:  # fmt: skip
    """Train what is missing and return one val row per (point, seed), in the order given."""
    pairs = record_configs(profile, points, seeds, variant, **common)
    results = grids.run_many([cfg for _, cfg in pairs], root=root, workers=workers, progress=progress)
    return pd.DataFrame([val_row(point, result) for (point, _), result in zip(pairs, results, strict=True)],
                        columns=COLUMNS)  # fmt: skip


def per_point(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of each point (the per-seed rows are the record; the mean only orders them)."""
    numbers = ["val mIoU student", "val mIoU teacher", "promoted right %"]
    return rows.groupby("point", sort=False)[numbers].mean().reset_index()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest record", description=__doc__.splitlines()[0])
    parser.add_argument("points", nargs="+", metavar="KEY=VALUE[,KEY=VALUE]", help="grid points, e.g. method=3drest")
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--variant", default="main", help=f"benchmark, from {list(VARIANTS)}")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="flat keys common to every point")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="results", help="results folder (runs go to <out>/runs and are reused)")
    parser.add_argument("--save", default="", metavar="NAME",
                        help="also write the rows to <out>/records/NAME.csv (docs/choices.md quotes them)")  # fmt: skip
    args = parser.parse_args(argv)
    rows = record(args.profile, args.points, grids.parse_list(args.seeds, int), args.variant,
                  root=resolve(args.out) / "runs", workers=args.workers, **parse_overrides(args.set))  # fmt: skip
    if args.save:
        saved = rows.assign(profile=args.profile, benchmark=args.variant, made_at=report.made_at())
        atomic_write_csv(resolve(args.out) / "records" / f"{args.save}.csv", saved)
    print(rows.round(2).to_string(index=False))
    print(f"\nmean over seeds ({args.profile}, {args.variant} benchmark, val split, student and teacher):")
    print(per_point(rows).round(2).to_string(index=False))
    return 0
