"""``python -m threedrest docs``: every number the README and docs/ quote, generated from results/.

A page marks each quoted result as a block::

    <!-- generated: main -->
    (written here from results/tables/runs.csv)
    <!-- end generated -->

and this module rewrites the block's body from the files under ``results/`` (``BLOCKS``). A full
``make reproduce`` calls it at the end, ``--check`` (and ``tests/test_docs.py``) fails when a page
quotes something its tables no longer say, so a typed number cannot drift from the tables.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from threedrest import registry
from threedrest.experiments.tables import mean_std_cell, read_runs_csv, seed_gains
from threedrest.io import atomic_write_text
from threedrest.paths import project_root

PAGES = ("README.md", "docs/*.md")
BLOCK = re.compile(r"(<!-- generated: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def _runs(results: Path) -> pd.DataFrame:
    return read_runs_csv(results / "tables" / "runs.csv")


def _test_student(runs: pd.DataFrame, method: str, ratio: float) -> pd.Series:
    part = runs[(runs["method"] == method) & np.isclose(runs["label_ratio"], ratio) & (runs["model"] == "student")
                & (runs["split"] == "test") & (runs["subset"] == "overall")]  # fmt: skip
    return part.set_index("seed")["miou"].sort_index()


def _main_ratio(results: Path) -> float:
    """The main table's ratio (tables/main.csv: its one ratio below 100 %); runs.csv alone cannot say it, since
    the label-ratio curve trains 3DResT with as many seeds at every ratio."""
    ratios = pd.read_csv(results / "tables" / "main.csv")["label_ratio"]
    return float(ratios[ratios < 1.0].iloc[0])


def _cell(values: pd.Series) -> str:
    return mean_std_cell(values.mean(), values.std())  # one seed: its std is NaN, the cell the mean alone


def _title(method: str) -> str:
    base, _, rest = method.partition("-")
    try:
        title = registry.method_class(base).title or base
    except KeyError:
        return method
    return title + (f" ({rest})" if rest else "")


def headline(results: Path) -> str:
    """The main result in one paragraph: 3DResT against supervised, seed by seed, and the oracle."""
    runs, ratio = _runs(results), _main_ratio(results)
    sup, drest = _test_student(runs, "supervised", ratio), _test_student(runs, "3drest", ratio)
    gain = (drest - sup).dropna()
    oracle = _test_student(runs, "supervised", 1.0)
    closed = (drest.mean() - sup.mean()) / (oracle.mean() - sup.mean()) if len(oracle) else float("nan")
    seeds = seed_gains(gain)
    every = "every seed positive" if (gain > 0).all() else f"{int((gain > 0).sum())} of {len(gain)} seeds positive"
    return (f"With {ratio:.0%} of the descriptions labelled (test split, {len(gain)} seeds, student), 3DResT reaches "
            f"**{_cell(drest)} mIoU** against supervised training's {_cell(sup)}: **{gain.mean():+.2f}** "
            f"({every}: {seeds}), {closed:.0%} of the way to the 100 % oracle ({_cell(oracle)}).\n")  # fmt: skip


def spread(results: Path) -> str:
    """How far seeds scatter at the main ratio, so a reader can tell a difference from noise: the standard
    deviation over seeds of each method's test mIoU (student), and of 3DResT's paired gain over supervised."""
    runs, ratio = _runs(results), _main_ratio(results)
    per_method = {m: _test_student(runs, m, ratio) for m in registry.names()}
    stds = pd.Series({m: s.std() for m, s in per_method.items() if len(s) > 1})
    gain = (per_method["3drest"] - per_method["supervised"]).dropna()
    n = len(gain)
    return (f"At {ratio:.0%} labels the standard deviation over seeds of one method's test mIoU is "
            f"{stds.min():.2f} to {stds.max():.2f} mIoU ({len(stds)} methods, {n} seeds each); the paired gain of "
            f"3DResT over supervised has a standard deviation of {gain.std():.2f} over seeds, so its mean has a "
            f"standard error of {gain.std() / np.sqrt(n):.2f}.\n")  # fmt: skip


def main_table(results: Path) -> str:
    """Every method's student at the main ratio, then the oracle: mIoU, Acc@0.25, Acc@0.5 (mean ± std)."""
    runs, ratio = _runs(results), _main_ratio(results)
    part = runs[(runs["model"] == "student") & (runs["split"] == "test") & (runs["subset"] == "overall")]
    rows = []
    order = [m for m in registry.names() if m in set(part["method"])]
    keys = [(m, ratio) for m in order] + [("supervised", 1.0)]
    for method, r in keys:
        cell = part[(part["method"] == method) & np.isclose(part["label_ratio"], r)]
        if not len(cell):
            continue
        name = "100 % oracle (supervised)" if r == 1.0 else _title(method)
        rows.append([name, *(_cell(cell[m]) for m in ("miou", "acc25", "acc50")), cell["seed"].nunique()])
    table = pd.DataFrame(rows, columns=["method", "mIoU", "Acc@0.25", "Acc@0.5", "seeds"])
    return table.to_markdown(index=False) + "\n"


def _csv_table(name: str, columns: list[str] | None = None) -> Callable[[Path], str]:
    def render(results: Path) -> str:
        table = pd.read_csv(results / name)
        if columns:
            table = table[[c for c in columns if c in table]]
        return table.to_markdown(index=False) + "\n"

    render.__doc__ = f"``results/{name}`` as a table."
    return render


def timings(results: Path) -> str:
    """Minutes per notebook of the committed reproduction (results/timings.csv)."""
    table = pd.read_csv(results / "timings.csv")
    table["minutes"] = (table["seconds"] / 60).round(1)
    return table[["notebook", "seconds", "minutes"]].to_markdown(index=False) + "\n"


def commands(results: Path) -> str:
    """The two commands, with what they took on 2 cores (results/timings.csv, results/setup.csv)."""
    t = pd.read_csv(results / "timings.csv").set_index("notebook")["seconds"]
    setup = pd.read_csv(results / "setup.csv").set_index("step")["seconds"]
    return ("```bash\n"
            f"make reproduce   # installs the kit into .venv, then the paper's tables and 3D views: "
            f"{t['total'] / 60:.0f} min of notebooks, cold, on 2 cores\n"
            f"make test        # installs the kit, then ruff and pytest: {setup['make test'] / 60:.0f} min on 2 cores, "
            f"the install {setup['make install'] / 60:.0f} of them\n"
            "```\n")  # fmt: skip


def class_path(results: Path) -> str:
    """The measured class path (results/class_path.csv): install, unpack, each notebook from the pack."""
    return pd.read_csv(results / "class_path.csv").to_markdown(index=False) + "\n"


def bench(results: Path) -> str:
    """One supervised and one 3DResT step (results/bench.csv)."""
    b = pd.read_csv(results / "bench.csv").set_index("metric")["value"]
    return (f"{float(b['supervised_step_ms']):.1f} ms per supervised step and {float(b['ssl_step_ms']):.1f} ms per "
            f"3DResT step ({float(b['ssl_over_supervised_step']):.2f}x), batch {int(float(b['batch_size']))}, one "
            f"thread, {b['cpu']}\n")  # fmt: skip


def study(results: Path, name: str) -> str:
    """A study's table (results/studies/tables/NAME.csv) under its caption, which names the commit that made it."""
    caption = (results / "studies" / "tables" / f"{name}.md").read_text().split("\n", 1)[0]
    table = pd.read_csv(results / "studies" / "tables" / f"{name}.csv").round(2)
    return table.to_markdown(index=False, missingval="") + f"\n\n{caption}\n"


def records(results: Path, name: str) -> str:
    """A val record (results/records/NAME.csv, written by ``python -m threedrest record --save NAME``): val mIoU
    per setting and seed, and where it was measured."""
    table = pd.read_csv(results / "records" / f"{name}.csv")
    blocks = []
    for (benchmark, made), part in table.groupby(["benchmark", "made_at"], sort=False):
        wide = part.pivot_table(index="point", columns="seed", values="val mIoU student", sort=False)
        wide.columns = [f"seed {c}" for c in wide.columns]
        wide["mean"] = wide.mean(axis=1)
        for column, label in (("promoted", "promoted"), ("promoted right %", "promoted right %")):
            if column in part and part[column].notna().any():
                wide[label] = part.groupby("point", sort=False)[column].mean()
        text = wide.round(2).reset_index().to_markdown(index=False, missingval="")
        blocks.append(f"{text}\n\nval mIoU of the student (%), {benchmark} benchmark; measured at {made}.\n")
    return "\n".join(blocks)


BLOCKS: dict[str, Callable[..., str]] = {
    "commands": commands,
    "headline": headline,
    "main": main_table,
    "spread": spread,
    "ablation": _csv_table(
        "tables/ablation_tscs_qdw.csv", ["method", "TSCS", "QDW", "overall mIoU", "overall Acc@0.5", "seeds"]
    ),
    "ratio-curve": _csv_table("tables/ratio_curve.csv"),
    "variants": _csv_table("tables/variants.csv"),
    "timings": timings,
    "class-path": class_path,
    "bench": bench,
    "records": records,
    "study": lambda results, name: study(results, name),
    "table": lambda results, path: _csv_table(path)(results),  # any CSV under results/, rounded as written
}


def render(text: str, results: Path) -> str:
    """``text`` with every generated block's body written again from ``results``."""

    def fill(match: re.Match[str]) -> str:
        name, *args = match["spec"].split()
        if name not in BLOCKS:
            raise ValueError(f"unknown generated block {name!r}; known: {', '.join(BLOCKS)}")
        return match.group(1) + BLOCKS[name](results, *args) + match.group(4)

    return BLOCK.sub(fill, text)


def pages(root: Path | None = None) -> list[Path]:
    root = root or project_root()
    return sorted({p for pattern in PAGES for p in root.glob(pattern)})


def update(root: Path | None = None, results: Path | None = None, check: bool = False) -> list[Path]:
    """Rewrite (or, with ``check``, only list) the pages whose generated blocks differ from ``results``."""
    root = root or project_root()
    results = results or root / "results"
    stale = []
    for page in pages(root):
        text = page.read_text()
        new = render(text, results)
        if new != text:
            stale.append(page)
            if not check:
                atomic_write_text(page, new)
    return stale


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list pages whose numbers differ from results/")
    args = parser.parse_args(argv)
    stale = update(check=args.check)
    for page in stale:
        print(f"{'stale' if args.check else 'updated'}: {page.relative_to(project_root())}")
    return 1 if args.check and stale else 0
