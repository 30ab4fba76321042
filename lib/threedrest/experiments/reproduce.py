"""``make reproduce``: execute every numbered notebook with papermill, in order, into results/.

Each notebook takes the same core parameters (profile, out_dir, device and the data settings, seeds
or seed); a parameter left unset means the profile's value (``experiments.params``), so nothing here
depends on the profile. Training runs are keyed by config hash and reused, so a rerun after a crash
or after editing one notebook redoes only what changed. While a notebook runs, one line per finished
code cell says how far it is; timings go to results/timings.csv.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from threedrest.config import coerce
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
    "06_variants": "the gain of 3DResT over supervised on generated benchmark variants, seed by seed",
}


def notebooks(root: Path | None = None) -> list[Path]:
    root = root or project_root()
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def notebook_parameters(path: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``path`` declares, converted to their declared types (``-p`` gives strings)."""
    import papermill

    declared = papermill.inspect_notebook(str(path))
    return {name: coerce(value, declared[name]["inferred_type_name"], f"{path.name}: parameter {name!r}")
            for name, value in parameters.items() if name in declared}  # fmt: skip


def _progress_engine() -> str:
    """Register (once) a papermill engine that prints one line per finished code cell:
    ``[reproduce] 03_semi_supervised: cell 4/9 done, 37 s``. Returns its name."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            name = kwargs.pop("progress_name", "notebook")
            code = [i for i, cell in enumerate(nb_man.nb.cells) if cell.cell_type == "code"]
            start, complete = time.perf_counter(), nb_man.cell_complete

            def cell_complete(cell, cell_index=None, **kw):
                complete(cell, cell_index=cell_index, **kw)
                if cell_index in code:
                    done = code.index(cell_index) + 1
                    print(f"[reproduce] {name}: cell {done}/{len(code)} done, {time.perf_counter() - start:.0f} s",
                          flush=True)  # fmt: skip

            nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register("threedrest-progress", ProgressEngine)
    return "threedrest-progress"


def run_notebook(
    path: Path, out_dir: Path, parameters: dict[str, Any], timeout: int | None = None, progress: bool = True
) -> float:
    """Execute one notebook (working directory: the project root); returns seconds. ``progress``:
    one line per finished code cell (cells done / total, elapsed seconds)."""
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
            **({"engine_name": _progress_engine(), "progress_name": path.stem} if progress else {}),
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
    selected = [p for p in notebooks() if not only or p.stem in only or p.stem[:2] in only]
    if not selected:
        raise ValueError(f"reproduce: no notebook matches {only}")
    import papermill

    known = {name for path in selected for name in papermill.inspect_notebook(str(path))}
    unknown = sorted(set(extra or {}) - known)
    if unknown:
        raise ValueError(f"reproduce: no notebook takes parameter(s) {unknown}; known: {sorted(known)}")
    # 00_tour and 05_visualize show one seed (``seed``): the first of the main table's
    first_seed = str(seeds).split(",")[0].strip()
    given = {"profile": profile, "seeds": seeds, "seed": first_seed, "out_dir": str(out_dir)}
    params = {**{k: v for k, v in given.items() if k in known}, **(extra or {})}
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
