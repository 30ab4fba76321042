"""``python -m threedrest verify``: compare a reproduction's runs.csv with the committed one, row by row.

Rows are keyed by (method, label_ratio, seed, model, split, subset, config_hash). On CPU the kit
pins its numerics (:mod:`threedrest.numerics`), so the expected verdict is "identical" (every
metric bit for bit). On CUDA bit-identity cannot be promised (cuBLAS/cuDNN kernel choice, atomics
in scatter), so a tolerance derived from the seed spread is used instead, and the verdict says so.

The candidate is either an existing runs.csv (``--csv``) or a fresh re-run of some notebooks
(``--only 02``) in a scratch project root, with its own data cache and runs folder, so that nothing
cached by an earlier run can make the comparison pass by itself.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from threedrest.paths import project_root, resolve

KEY = ["method", "label_ratio", "seed", "model", "split", "subset", "config_hash"]
GROUP = ["method", "label_ratio", "model", "split", "subset"]  # a key without seed and hash
METRICS = ["miou", "acc25", "acc50"]
EXACT = ["n"]  # counts of descriptions: never within a tolerance, equal or different
REFERENCE = "git:HEAD:results/tables/runs.csv"
CUDA_FRACTION = 0.25  # of the seed std of a row's group: what CUDA noise may move a metric by


@dataclass
class Tolerance:
    """Absolute tolerance per (group, metric), in metric units (percentage points)."""

    fraction: float
    table: pd.DataFrame  # GROUP columns + one column per metric
    floor: dict[str, float]  # used for groups with one seed (no std)

    def describe(self) -> str:
        floors = ", ".join(f"{m} {v:.3g}" for m, v in self.floor.items())
        return (f"|delta| <= {self.fraction:g} x the std over seeds of the row's (method, ratio, model, split, "
                f"subset) group in the reference; groups with one seed use the median std ({floors})")  # fmt: skip


def seed_tolerance(reference: pd.DataFrame, fraction: float = CUDA_FRACTION) -> Tolerance:
    """A tolerance per group: ``fraction`` x the std over seeds (the run-to-run noise the tables
    already report), so "within tolerance" means "far below what changing the seed does"."""
    std = reference.groupby(GROUP, dropna=False)[METRICS].std(ddof=1).reset_index()
    floor = {m: float(np.nanmedian(std[m])) if std[m].notna().any() else 0.0 for m in METRICS}
    for m in METRICS:
        std[m] = fraction * std[m].fillna(floor[m]).clip(lower=floor[m] * 0.1)
    return Tolerance(fraction, std, {m: fraction * v for m, v in floor.items()})


@dataclass
class Comparison:
    verdict: str  # "identical", "within tolerance" or "different"
    n_compared: int
    differing: pd.DataFrame  # KEY + per metric: reference, candidate, delta, (tolerance)
    missing: pd.DataFrame  # reference rows the candidate lacks
    extra: pd.DataFrame  # candidate rows the reference lacks
    not_rerun: int = 0  # partial re-runs: reference rows outside what was re-run
    tolerance: Tolerance | None = None
    notes: list[str] = field(default_factory=list)
    new: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows of configs the reference has none of

    @property
    def ok(self) -> bool:
        return self.verdict != "different"

    def report(self) -> str:
        lines = [f"verify: {self.verdict} ({self.n_compared} rows compared)"]
        if self.tolerance is not None:
            lines.append(f"tolerance: {self.tolerance.describe()}")
        lines += self.notes
        if self.not_rerun:
            lines.append(f"{self.not_rerun} reference rows belong to configs this re-run did not train (not compared)")
        with pd.option_context("display.width", 200, "display.max_columns", 40, "display.max_rows", 60):
            if len(self.differing):
                lines += [f"{len(self.differing)} rows differ:", self.differing.to_string(index=False)]
            if len(self.missing):
                lines += [f"{len(self.missing)} reference rows missing from the candidate:",
                          self.missing[KEY].to_string(index=False)]  # fmt: skip
            if len(self.extra):
                lines += [f"{len(self.extra)} candidate rows not in the reference:",
                          self.extra[KEY].to_string(index=False)]  # fmt: skip
        if len(self.new):
            configs = self.new.drop_duplicates("config_hash")
            lines.append(f"{len(self.new)} rows of {len(configs)} configs the reference has no row of (new, not "
                         f"compared): {', '.join(sorted(set(configs['method'])))}")  # fmt: skip
        return "\n".join(lines)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["config_hash"] = df["config_hash"].astype(str)
    df["seed"] = df["seed"].astype(int)
    df["label_ratio"] = df["label_ratio"].astype(float)
    duplicated = df.duplicated(KEY, keep=False)
    if duplicated.any():
        raise ValueError(f"verify: {int(duplicated.sum())} rows share a key {KEY}; a runs.csv has one row per key")
    return df


def compare(
    candidate: pd.DataFrame,
    reference: pd.DataFrame,
    tolerance: Tolerance | None = None,
    partial: bool = False,
) -> Comparison:
    """Row-by-row comparison. ``partial``: the candidate re-ran only some configs, so reference rows
    of other config hashes are not "missing" (rows of a re-run config still are)."""
    cand, ref = _normalise(candidate), _normalise(reference)
    not_rerun = 0
    if partial:
        inside = ref["config_hash"].isin(set(cand["config_hash"]))
        not_rerun, ref = int((~inside).sum()), ref[inside]
    merged = ref.merge(cand, on=KEY, how="outer", suffixes=("_ref", "_cand"), indicator=True)
    missing = merged[merged["_merge"] == "left_only"][KEY].reset_index(drop=True)
    extra = merged[merged["_merge"] == "right_only"][KEY].reset_index(drop=True)
    # rows of configs the reference never trained (a method or a grid point added since) are new, not different
    new_config = ~extra["config_hash"].isin(set(reference["config_hash"].astype(str)))
    new, extra = extra[new_config].reset_index(drop=True), extra[~new_config].reset_index(drop=True)
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)
    for m in EXACT:  # the outer merge made counts floats
        both[[f"{m}_ref", f"{m}_cand"]] = both[[f"{m}_ref", f"{m}_cand"]].astype("int64")
    if tolerance is not None:
        table = tolerance.table.rename(columns={m: f"{m}_tol" for m in METRICS})
        both = both.merge(table, on=GROUP, how="left")
        for m in METRICS:
            both[f"{m}_tol"] = both[f"{m}_tol"].fillna(tolerance.floor[m])
    exact_equal = np.ones(len(both), dtype=bool)
    within = np.ones(len(both), dtype=bool)
    for m in METRICS + EXACT:
        a, b = both[f"{m}_ref"].to_numpy(), both[f"{m}_cand"].to_numpy()
        same = (a == b) | (pd.isna(a) & pd.isna(b))
        exact_equal &= same
        if m in EXACT or tolerance is None:
            within &= same
        else:
            within &= same | (np.abs(a.astype(float) - b.astype(float)) <= both[f"{m}_tol"].to_numpy())
    columns = list(KEY)
    for m in METRICS + EXACT:
        both[f"d_{m}"] = both[f"{m}_cand"].astype(float) - both[f"{m}_ref"].astype(float)
        tol = [f"{m}_tol"] if tolerance is not None and m in METRICS else []
        columns += [f"{m}_ref", f"{m}_cand", f"d_{m}", *tol]
    differing = both.loc[~within, columns].reset_index(drop=True)
    if len(differing) or len(missing) or len(extra):
        verdict = "different"
    elif exact_equal.all():
        verdict = "identical"
    else:
        verdict = "within tolerance"
    return Comparison(verdict, len(both), differing, missing, extra, not_rerun, tolerance, new=new)


def read_reference(spec: str, root: Path | None = None) -> pd.DataFrame:
    """A runs.csv from a path, or ``git:<rev>:<path>`` (default: the committed results/tables/runs.csv)."""
    root = root or project_root()
    if spec.startswith("git:"):
        rev_path = spec[4:]
        try:
            text = subprocess.run(["git", "-C", str(root), "show", rev_path], check=True, capture_output=True,
                                  text=True).stdout  # fmt: skip
        except (OSError, subprocess.CalledProcessError) as err:
            detail = getattr(err, "stderr", "") or str(err)
            raise ValueError(f"verify: cannot read reference {spec!r} from git: {detail.strip()}") from None
        return pd.read_csv(io.StringIO(text), dtype={"config_hash": str})
    path = resolve(spec)
    if not path.exists():
        raise ValueError(f"verify: reference {path} does not exist")
    return pd.read_csv(path, dtype={"config_hash": str})


def rerun(only: list[str] | None, profile: str, seeds: str, scratch: Path, extra: list[list[str]],
          reuse_data: bool = False) -> Path:  # fmt: skip
    """Re-run notebooks in a scratch project root (own data cache, own runs); returns its runs.csv.

    A subprocess, so the scratch root, the numerics and every in-process cache start fresh.
    """
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    root = project_root()
    (scratch / "notebooks").symlink_to(root / "notebooks", target_is_directory=True)
    (scratch / "data").mkdir()
    if reuse_data and (root / "data" / "cache").exists():
        (scratch / "data" / "cache").symlink_to(root / "data" / "cache", target_is_directory=True)
    cmd = [sys.executable, "-m", "threedrest", "reproduce", "--profile", profile, "--seeds", seeds, "--out", "results"]
    if only:
        cmd += ["--only", *only]
    for name, value in extra:
        cmd += ["-p", name, value]
    print(f"[verify] {' '.join(cmd)}  (THREEDREST_ROOT={scratch})", flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "THREEDREST_ROOT": str(scratch)})
    return scratch / "results" / "tables" / "runs.csv"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest verify", description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=None, help="compare this runs.csv instead of re-running")
    parser.add_argument("--only", nargs="*", default=None, help="re-run these notebooks (stems or prefixes, e.g. 02)")
    parser.add_argument("--reference", default=REFERENCE, help="a runs.csv path or git:<rev>:<path>")
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--device", default="cpu", help="cuda: compare within a seed-spread tolerance")
    parser.add_argument("--tolerance", type=float, default=None,
                        help=f"fraction of the seed std allowed (0 on CPU, {CUDA_FRACTION} on CUDA)")  # fmt: skip
    parser.add_argument("--scratch", default="data/verify", help="scratch project root for a re-run")
    parser.add_argument("--reuse-data", action="store_true", help="re-run on the project's data/cache")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    args = parser.parse_args(argv)
    reference = read_reference(args.reference)
    extra = [*args.p, *([["device", args.device]] if args.device != "cpu" else [])]
    if args.csv:
        candidate_path = resolve(args.csv)
        partial = False
    else:
        candidate_path = rerun(args.only, args.profile, args.seeds, resolve(args.scratch), extra, args.reuse_data)
        partial = bool(args.only)
    if not candidate_path.exists():
        raise ValueError(f"verify: candidate {candidate_path} does not exist")
    candidate = pd.read_csv(candidate_path, dtype={"config_hash": str})
    fraction = args.tolerance if args.tolerance is not None else (CUDA_FRACTION if args.device == "cuda" else 0.0)
    tolerance = seed_tolerance(reference, fraction) if fraction > 0 else None
    result = compare(candidate, reference, tolerance, partial=partial)
    if args.device == "cuda":
        result.notes.append("CUDA: bit-identity is not promised (cuBLAS/cuDNN algorithms, atomic adds in scatter); "
                            "a seed-spread tolerance applies")  # fmt: skip
    print(f"candidate: {candidate_path}\nreference: {args.reference}")
    print(result.report())
    return 0 if result.ok else 1
