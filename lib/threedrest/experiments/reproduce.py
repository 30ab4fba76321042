"""``make reproduce``: execute every numbered notebook with papermill, in order, into results/.

Each notebook takes the same core parameters (profile, seeds, out_dir, device, dataset,
data_root); training runs are keyed by config hash and reused, so a rerun after a crash or after
editing one notebook redoes only what changed. Timings go to results/timings.csv.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from threedrest.config import get_profile
from threedrest.experiments import report
from threedrest.io import atomic_write_csv
from threedrest.paths import project_root, resolve

CAPTIONS = {
    "00_tour": "a two-minute guided tour: data, a short training, one 3D comparison, TSCS and QDW",
    "01_data_prep": "the benchmark: statistics, figures, backbone pre-training, feature caching",
    "02_burn_in": "supervised baselines at each label ratio and the 100% oracle; what burn-in hands over",
    "03_semi_supervised": "3DResT against Mean Teacher and RefTeacher-style; promotions; QDW weights",
    "04_ablations": "TSCS x QDW ablation, sweeps, label-ratio curve",
    "05_visualize": "3D mask comparisons: widgets, offline HTML, renders and the gallery",
}


def notebooks(root: Path | None = None) -> list[Path]:
    root = root or project_root()
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _coerce(value: Any, kind: str, where: str) -> Any:
    if not isinstance(value, str) or kind in ("str", "None"):
        return value
    try:
        if kind == "bool":
            return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}[value.lower()]
        return {"int": int, "float": float}[kind](value) if kind in ("int", "float") else value
    except (KeyError, ValueError):
        raise ValueError(f"{where}: expected a {kind}, got {value!r}") from None


def notebook_parameters(path: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``path`` declares, converted to their declared types (``-p`` gives strings)."""
    import papermill

    declared = papermill.inspect_notebook(str(path))
    return {name: _coerce(value, declared[name]["inferred_type_name"], f"{path.name}: parameter {name!r}")
            for name, value in parameters.items() if name in declared}  # fmt: skip


def run_notebook(path: Path, out_dir: Path, parameters: dict[str, Any], timeout: int | None = None) -> float:
    """Execute one notebook (working directory: the project root); returns seconds."""
    import papermill

    parameters = notebook_parameters(path, parameters)
    start = time.perf_counter()
    target = out_dir / "notebooks" / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.tmp{target.suffix}")  # papermill saves after each cell: keep the old
    try:  # executed notebook whole until this one has finished, then swap it in atomically
        papermill.execute_notebook(
            str(path),
            str(partial),
            parameters=parameters,
            cwd=str(project_root()),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
        )
    except BaseException:
        if partial.exists():  # the failing cell stays readable in <name>.failed.ipynb
            partial.replace(target.with_name(f"{target.stem}.failed{target.suffix}"))
        raise
    os.replace(partial, target)
    report.register(out_dir, target, f"executed `{path.name}`: {CAPTIONS.get(path.stem, '')}")
    return time.perf_counter() - start


def reproduce(
    profile: str = "classroom",
    seeds: str = "0,1,2",
    out: str = "results",
    only: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> pd.DataFrame:
    out_dir = resolve(out)
    params = {"profile": profile, "seeds": seeds, "out_dir": str(out_dir), **(extra or {})}
    selected = [p for p in notebooks() if not only or p.stem in only or p.stem[:2] in only]
    if not selected:
        raise ValueError(f"reproduce: no notebook matches {only}")
    import papermill

    known = {name for path in selected for name in papermill.inspect_notebook(str(path))}
    if "label_ratio" in known:  # each profile has its own main label ratio (classroom 10%, paper 1%)
        params.setdefault("label_ratio", get_profile(profile).data.label_ratio)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"reproduce: no notebook takes parameter(s) {unknown}; known: {sorted(known)}")
    if not only:  # a full reproduction owns tables/, figures/, views/, notebooks/: nothing stale stays
        removed = report.clear_owned(out_dir)
        if removed:
            print(f"[reproduce] cleared {', '.join(removed)} in {out_dir} (regenerated now)", flush=True)
    rows = []
    for path in selected:
        print(f"[reproduce] {path.name} ...", flush=True)
        seconds = run_notebook(path, out_dir, params)
        rows.append({"notebook": path.stem, "seconds": round(seconds, 1)})
        print(f"[reproduce] {path.name} done in {seconds:.1f} s", flush=True)
    timings = pd.DataFrame(rows, columns=["notebook", "seconds"])
    if not only:
        timings.loc[len(timings)] = {"notebook": "total", "seconds": round(timings["seconds"].sum(), 1)}
        atomic_write_csv(out_dir / "timings.csv", timings)
        report.register(out_dir, out_dir / "timings.csv", f"seconds per notebook of this reproduction ({profile})")
    write_results_readme(out_dir, profile, seeds)
    print(timings.to_string(index=False))
    return timings


def write_results_readme(out_dir: Path, profile: str, seeds: str) -> Path:
    return report.write_readme(
        out_dir,
        title=f"Results ({profile} profile)",
        preamble=f"Regenerated by `make reproduce PROFILE={profile} SEEDS={seeds}`; every number comes "
        "from `tables/runs.csv`, one row per evaluated model.",
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default="results")
    parser.add_argument("--only", nargs="*", default=None, help="notebook stems or number prefixes")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="extra papermill parameter, e.g. -p device cuda")  # fmt: skip
    args = parser.parse_args(argv)
    extra = {name: value for name, value in args.p}
    reproduce(args.profile, args.seeds, args.out, args.only, extra)
    return 0
