"""``make class-pack`` / ``make class-unpack``: a class opens the notebooks without training anything.

A teacher runs ``make reproduce`` once, then ``make class-pack``: one ``.tar.gz`` holds what notebooks
00-05 read (the benchmark and its feature caches, the finished runs of their grids, a manifest). A
student unpacks it into a fresh clone (``make class-unpack ARCHIVE=...``) and every notebook 00-05
then finds its runs by config hash and trains nothing.

An archive that students receive must not be able to run code or write outside the project: every
file the kit reads from it loads without pickle (checkpoints with ``weights_only=True``, arrays with
``allow_pickle=False``, JSON, CSV), and ``unpack`` accepts only regular files and folders under
``data/cache/`` and ``results/runs/``, refusing absolute paths, ``..``, links and devices before
extracting anything. ``THREEDREST_NO_TRAINING=1`` turns any training or backbone pre-training into an
error, which is how the kit's test proves that a class pack trains nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
import pandas as pd

from threedrest.config import NO_TRAINING, Config
from threedrest.experiments import report
from threedrest.experiments.reproduce import core_parameters, notebook_parameters, notebooks
from threedrest.experiments.runs import DEFAULT_ROOT, run_dir_for
from threedrest.io import atomic_write_bytes, atomic_write_csv
from threedrest.paths import project_root, resolve

CLASS_NOTEBOOKS = ("00", "01", "02", "03", "04", "05")  # what a class steps through (06 and 07 train on demand)
ALLOWED = ("data/cache/", "results/runs/")  # the only places an archive may write to
MANIFEST = "class-pack.json"
SKIPPED = {"checkpoint.pt"}  # a finished run needs no resume state


class ArchiveError(ValueError):
    """An archive that is not a class pack, or one that tries to write where it must not."""


def notebook_configs(path: Path, parameters: dict[str, Any]) -> list[Config]:
    """The configs a notebook trains with ``parameters``: its parameters cell, the values given (converted to
    their declared types, as papermill injects them), then its config cell, which builds ``cfgs`` and trains
    nothing."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    namespace: dict[str, Any] = {}
    exec(params.source, namespace)  # the kit's own notebook: literals only (tests/test_notebooks.py)
    namespace.update(notebook_parameters(path, parameters))
    exec(code[code.index(params) + 1].source, namespace)
    return list(namespace.get("cfgs", []))


def class_configs(profile: str, seeds: str, out_dir: str | Path = "results",
                  extra: dict[str, Any] | None = None) -> list[Config]:  # fmt: skip
    """Every config notebooks 00-05 train with a reproduction's parameters (what ``reproduce`` passed them)."""
    given = {**core_parameters(profile, seeds, out_dir), **(extra or {})}
    cfgs: list[Config] = []
    for path in notebooks():
        if path.stem[:2] in CLASS_NOTEBOOKS:
            cfgs += notebook_configs(path, given)
    return list(dict.fromkeys(cfgs))


def _dataset_roots(cfgs: list[Config]) -> list[Path]:
    """The dataset folders (scenes and their feature caches) the configs read."""
    from threedrest.train.workspace import Workspace

    return list(dict.fromkeys(Path(Workspace.bundle_for(c).index.root) for c in cfgs))


def pack(archive: str | Path, profile: str = "classroom", seeds: str = "0,1,2", results_dir: str | Path = "results",
         extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Write the class pack of a finished reproduction (``extra``: the notebook parameters it was run with);
    returns its manifest. Raises, naming them, if runs of notebooks 00-05 are missing."""
    root = project_root()
    runs_root = resolve(results_dir) / DEFAULT_ROOT.name
    cfgs = class_configs(profile, seeds, results_dir, extra)
    run_dirs = [run_dir_for(c, runs_root) for c in cfgs]
    missing = [d.name for d in run_dirs if not (d / "summary.json").exists()]
    if missing:
        raise FileNotFoundError(f"class-pack: {len(missing)} run(s) of notebooks 00-05 are not finished in {runs_root} "
                                f"(run make reproduce first): {missing[:5]}")  # fmt: skip
    files = []
    for folder in [*_dataset_roots(cfgs), *run_dirs]:
        files += [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in SKIPPED
                  and not p.name.startswith(".")]  # fmt: skip
    members = [(p, _member(p, root, runs_root)) for p in files]
    manifest = {"profile": profile, "seeds": seeds, "made_at": report.made_at(), "runs": [d.name for d in run_dirs],
                "files": len(members), "bytes": sum(p.stat().st_size for p, _ in members)}  # fmt: skip
    archive = resolve(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.tmp")
    start = time.perf_counter()
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        data = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for path, name in members:
            tar.add(path, arcname=name, recursive=False)
    partial.replace(archive)
    manifest["archive_bytes"] = archive.stat().st_size
    manifest["seconds"] = round(time.perf_counter() - start, 1)
    return manifest


def _member(path: Path, root: Path, runs_root: Path) -> str:
    """A file's name in the archive: its place in a fresh clone (runs always under results/runs)."""
    path = path.resolve()
    if path.is_relative_to(runs_root.resolve()):
        return "results/runs/" + path.relative_to(runs_root.resolve()).as_posix()
    if path.is_relative_to((root / "data" / "cache").resolve()):
        return "data/cache/" + path.relative_to((root / "data" / "cache").resolve()).as_posix()
    raise ValueError(f"class-pack: {path} is neither in data/cache nor in the runs folder (set cache_dir inside the "
                     "project to pack it)")  # fmt: skip


def check_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every member, after refusing the whole archive if any one of them could escape the project or is not a
    plain file or folder in the two places a class pack writes."""
    members = tar.getmembers()
    names = [m.name for m in members]
    if MANIFEST not in names:
        raise ArchiveError(f"{tar.name}: no {MANIFEST}; not a class pack made by make class-pack")
    for m in members:
        name = PurePosixPath(m.name)
        if name.is_absolute() or ".." in name.parts or "\\" in m.name:
            raise ArchiveError(f"{tar.name}: member {m.name!r} leaves the project folder; nothing was extracted")
        if not (m.isfile() or m.isdir()):
            raise ArchiveError(
                f"{tar.name}: member {m.name!r} is a link or a device, not a file; nothing was extracted"
            )
        if m.name != MANIFEST and not (m.name + "/").startswith(ALLOWED) and not m.name.startswith(ALLOWED):
            raise ArchiveError(f"{tar.name}: member {m.name!r} is outside {' and '.join(ALLOWED)}; "
                               "nothing was extracted")  # fmt: skip
    return members


def unpack(archive: str | Path, root: str | Path | None = None) -> dict[str, Any]:
    """Extract a class pack into the project (checked first, then extracted member by member); returns its
    manifest with the number of files written."""
    root = Path(root or project_root()).resolve()
    archive = Path(archive)
    if not archive.exists():
        raise FileNotFoundError(f"class-unpack: {archive} does not exist")
    if not tarfile.is_tarfile(archive):
        raise ArchiveError(f"{archive}: not a readable archive")
    with tarfile.open(archive, "r:*") as tar:
        members = check_members(tar)
        manifest = json.load(tar.extractfile(MANIFEST))
        written = 0
        for m in members:
            if m.name == MANIFEST:
                continue
            target = (root / m.name).resolve()
            if not target.is_relative_to(root):  # a symlinked folder inside the clone could still redirect
                raise ArchiveError(f"{archive}: member {m.name!r} resolves outside {root}")
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            with tar.extractfile(m) as src:
                atomic_write_bytes(target, src.read())
            written += 1
    manifest["written"] = written
    here = report.made_at(root)
    if manifest.get("made_at") and here != manifest["made_at"] and "local changes" not in manifest["made_at"]:
        manifest["warning"] = (f"packed at {manifest['made_at']}, this clone is at {here}: if a config changed "
                               "between them, the notebooks will train the runs they cannot find")  # fmt: skip
    return manifest


def check(archive: str | Path, scratch: str | Path = "data/class-check", out: str | Path | None = None,
          install_seconds: float | None = None) -> pd.DataFrame:  # fmt: skip
    """What a student's clone does, timed: unpack ``archive`` into a scratch project root (notebooks only, no
    data, no results), then run notebooks 00-05 one by one through papermill with ``THREEDREST_NO_TRAINING`` set,
    so that any training fails the check. Returns (and with ``out`` writes) one row per step: seconds."""
    scratch = resolve(scratch)
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    (scratch / "notebooks").symlink_to(project_root() / "notebooks", target_is_directory=True)
    rows = [] if install_seconds is None else [("make install (a fresh clone)", install_seconds)]
    start = time.perf_counter()
    manifest = unpack(archive, scratch)
    unpacked = time.perf_counter() - start
    rows.append((f"make class-unpack (an archive of {_size(Path(archive).stat().st_size)})", unpacked))
    env = {**os.environ, "THREEDREST_ROOT": str(scratch), NO_TRAINING: "1"}
    for stem in CLASS_NOTEBOOKS:
        cmd = [sys.executable, "-m", "threedrest", "reproduce", "--profile", manifest["profile"], "--seeds",
               manifest["seeds"], "--out", "results", "--only", stem]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"class check: notebook {stem} failed from the pack:\n{done.stderr[-3000:]}")
        seconds = re.search(r"done in ([0-9.]+) s", done.stdout)
        rows.append((f"notebook {stem} from the pack", float(seconds[1]) if seconds else time.perf_counter() - start))
    table = pd.DataFrame(rows, columns=["step", "seconds"]).round({"seconds": 1})
    if out is not None:
        atomic_write_csv(resolve(out), table)
    return table


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest class", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p_pack = sub.add_parser("pack", help="write the archive of a finished reproduction")
    p_pack.add_argument("--out", default="class-pack.tar.gz")
    p_pack.add_argument("--profile", default="classroom")
    p_pack.add_argument("--seeds", default="0,1,2")
    p_pack.add_argument("--results", default="results")
    p_pack.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a notebook parameter the reproduction was run with")  # fmt: skip
    p_unpack = sub.add_parser("unpack", help="extract an archive into this clone")
    p_unpack.add_argument("archive")
    p_check = sub.add_parser("check", help="time a student's path: unpack into a scratch clone, run 00-05 untrained")
    p_check.add_argument("archive")
    p_check.add_argument("--out", default=None, help="write the timings here (e.g. results/class_path.csv)")
    p_check.add_argument("--install-seconds", type=float, default=None, help="a measured make install, for the table")
    args = parser.parse_args(argv)
    if args.action == "check":
        print(check(args.archive, out=args.out, install_seconds=args.install_seconds).to_string(index=False))
        return 0
    if args.action == "pack":
        m = pack(args.out, args.profile, args.seeds, args.results, dict(args.p))
        print(f"{args.out}: {m['files']} files, {len(m['runs'])} runs, {_size(m['bytes'])} unpacked, "
              f"{_size(m['archive_bytes'])} packed, {m['seconds']} s ({m['made_at']})")  # fmt: skip
    else:
        try:
            m = unpack(args.archive)
        except ArchiveError as err:
            print(f"error: {err}")
            return 2
        print(f"{args.archive}: {m['written']} files written ({m['profile']} profile, {len(m['runs'])} runs, "
              f"packed at {m['made_at']}); notebooks 00-05 now open without training")  # fmt: skip
        if "warning" in m:
            print(f"warning: {m['warning']}")
    return 0
