"""``make reproduce``: execute the numbered notebooks with papermill, in order, into results/.

Notebooks 00-06 make the paper's tables and the 3D views; the kit's studies (``STUDY_NOTEBOOKS``) run
only when asked for (``make reproduce STUDIES=all``, ``--studies``, or ``--only 07``).

Each notebook takes the same core parameters (profile, out_dir, device and the data settings, seeds
or seed); a parameter left unset means the profile's value (``experiments.params``), so nothing here
depends on the profile. Training runs are keyed by config hash and reused, so a rerun after a crash
or after editing one notebook redoes only what changed. While a notebook runs, one line per finished
code cell says how far it is; timings go to results/timings.csv.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from threedrest import progress
from threedrest.config import coerce
from threedrest.experiments import report
from threedrest.io import atomic_write_csv
from threedrest.paths import project_root, resolve

STUDY_NOTEBOOKS = ("07_studies",)
CAPTIONS = {
    "00_tour": "the guided tour: data, supervised and 3DResT, what 3DResT fixes and breaks in 3D, TSCS and QDW",
    "01_data_prep": "the benchmark: statistics, figures, backbone pre-training, feature caching",
    "02_burn_in": "supervised baselines at each label ratio and the 100% oracle; what burn-in hands over",
    "03_semi_supervised": "3DResT against Mean Teacher and RefTeacher-style; promotions; QDW weights",
    "04_ablations": "TSCS x QDW ablation and the label-ratio curve (3 seeds for supervised and 3DResT)",
    "05_visualize": "3D mask comparisons: widgets, offline HTML, renders and the gallery",
    "06_variants": "every method on generated benchmark variants; 3DResT's gain over supervised seed by seed",
    "07_studies": "the kit's studies: sweeps, the sentence gate, the score head, the schedule, promotion signals",
}


def notebooks(root: Path | None = None) -> list[Path]:
    root = root or project_root()
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def core_parameters(profile: str, seeds: str, out_dir: str | Path) -> dict[str, str]:
    """What a reproduction passes every notebook that declares it; 00_tour and 05_visualize show one seed
    (``seed``): the first of the main table's."""
    first_seed = str(seeds).split(",")[0].strip()
    return {"profile": profile, "seeds": seeds, "seed": first_seed, "out_dir": str(out_dir)}


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


class _ProgressRelay:
    """Prints what the kernel and its workers append to a progress file (``threedrest.progress``) on this
    terminal, ``[reproduce] <notebook>: <line>``, while a notebook runs."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name, self.offset = path, name, 0
        path.unlink(missing_ok=True)
        self.previous = os.environ.get(progress.ENV)
        os.environ[progress.ENV] = str(path)  # the kernel inherits it, and its workers from the kernel
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        while not self.done.wait(2.0):
            self._print_new()

    def _print_new(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            print(f"[reproduce] {self.name}: {line}", flush=True)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
        self._print_new()
        self.path.unlink(missing_ok=True)
        if self.previous is None:
            os.environ.pop(progress.ENV, None)
        else:
            os.environ[progress.ENV] = self.previous


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
    relay = _ProgressRelay(target.with_name(f".{target.stem}.progress"), path.stem) if progress else None
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
    finally:
        if relay is not None:
            relay.stop()
    os.replace(partial, target)
    report.register(out_dir, target, f"executed `{path.name}`: {CAPTIONS.get(path.stem, '')}")
    return time.perf_counter() - start


def reproduce(
    profile: str = "classroom",
    seeds: str = "0,1,2",
    out: str = "results",
    only: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    studies: bool = False,
) -> pd.DataFrame:
    """Run the notebooks (``only``: those named; else 00-06, and the studies with ``studies``) into ``out``."""
    out_dir = resolve(out)
    if only:
        selected = [p for p in notebooks() if p.stem in only or p.stem[:2] in only]
    else:
        selected = [p for p in notebooks() if studies or p.stem not in STUDY_NOTEBOOKS]
    if not selected:
        raise ValueError(f"reproduce: no notebook matches {only}")
    import papermill

    known = {name for path in selected for name in papermill.inspect_notebook(str(path))}
    unknown = sorted(set(extra or {}) - known)
    if unknown:
        raise ValueError(f"reproduce: no notebook takes parameter(s) {unknown}; known: {sorted(known)}")
    given = core_parameters(profile, seeds, out_dir)
    params = {**{k: v for k, v in given.items() if k in known}, **(extra or {})}
    if not only:  # a full reproduction owns tables/, figures/, views/, notebooks/ (studies/ too with the studies)
        removed = report.clear_owned(out_dir, report.OWNED + (report.STUDIES if studies else ()))
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
        core = ~timings["notebook"].isin(STUDY_NOTEBOOKS)
        timings.loc[len(timings)] = {"notebook": "total", "seconds": round(timings.loc[core, "seconds"].sum(), 1)}
        if not core.all():  # the paper's tables alone, then with the studies
            total = round(timings.loc[timings["notebook"] != "total", "seconds"].sum(), 1)
            timings.loc[len(timings)] = {"notebook": "total with studies", "seconds": total}
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
    parser.add_argument(
        "--studies", action="store_true", help=f"also run the kit's studies ({', '.join(STUDY_NOTEBOOKS)})"
    )
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="extra papermill parameter, e.g. -p device cuda")  # fmt: skip
    args = parser.parse_args(argv)
    extra = {name: value for name, value in args.p}
    reproduce(args.profile, args.seeds, args.out, args.only, extra, studies=args.studies)
    return 0
