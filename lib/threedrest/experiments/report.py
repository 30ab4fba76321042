"""An index of every artifact in results/, regenerated as results/README.md.

Whoever writes an artifact registers one line on what it shows; the README is then rebuilt from
the index, so it never lists a file that is gone or misses one that was written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from threedrest.io import atomic_write_json, atomic_write_text
from threedrest.paths import project_root

INDEX = "index.json"
# what a full reproduction writes, so owns: cleared when it starts (results/runs, the cache of
# trainings keyed by config hash, and anything else in results/ are left alone)
OWNED = ("tables", "figures", "views", "notebooks", "timings.csv")
STUDIES = ("studies",)  # what a reproduction with the studies owns as well (a plain one leaves it alone)
SECTIONS = (
    ("tables", "Tables (CSV + Markdown, mean ± std over seeds)"),
    ("figures", "Figures"),
    ("views", "3D views (offline HTML) and renders"),
    ("studies", "The kit's studies (each caption names the commit that made it)"),
    ("notebooks", "Executed notebooks"),
    ("", "Other"),
)


def register(out_dir: str | Path, artifact: str | Path, caption: str) -> None:
    """Record ``artifact`` (a path inside ``out_dir``) with a one-line caption."""
    out_dir = Path(out_dir)
    rel = Path(artifact).resolve().relative_to(out_dir.resolve()).as_posix()
    index = _load(out_dir)
    index[rel] = caption
    atomic_write_json(out_dir / INDEX, index)


def _load(out_dir: Path) -> dict[str, str]:
    try:
        return json.loads((out_dir / INDEX).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def clear_owned(out_dir: str | Path, owned: tuple[str, ...] = OWNED) -> list[str]:
    """Start a full reproduction from an empty slate: remove the artifacts it will regenerate (``owned``) and
    their index entries, so pages selected by a previous run (another machine's 3D cases, runs.csv
    rows of configs no longer in a grid) cannot stay beside the new ones. Returns what was removed."""
    out_dir = Path(out_dir)
    removed = []
    for name in owned:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(name + "/")
        elif path.exists():
            path.unlink()
            removed.append(name)
    index = _load(out_dir)
    kept = {k: v for k, v in index.items() if k.split("/", 1)[0] not in owned}
    if kept != index or (out_dir / INDEX).exists():
        atomic_write_json(out_dir / INDEX, kept)
    return removed


def _ignored(out_dir: Path, rels: list[str]) -> set[str]:
    """The entries git ignores (executed notebooks, renders): a clone does not have them."""
    if not rels:
        return set()
    done = subprocess.run(["git", "-C", str(out_dir), "check-ignore", "--stdin"], input="\n".join(rels),
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode not in (0, 1):  # 1: none ignored; anything else: not a git checkout
        return set()
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def made_at(root: str | Path | None = None) -> str:
    """ "commit <short sha>" of the code that runs (and "with local changes" when lib/ or notebooks/ differ from
    it), for results that a reproduction does not regenerate every time."""
    root = Path(root or project_root())

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    sha = git("rev-parse", "--short", "HEAD")
    if not sha:
        return "outside a git checkout"
    return f"commit {sha}" + (" with local changes" if git("status", "--porcelain", "lib", "notebooks") else "")


def write_readme(out_dir: str | Path, title: str = "Results", preamble: str = "") -> Path:
    """results/README.md: every registered artifact that still exists, grouped by folder."""
    out_dir = Path(out_dir)
    registered = _load(out_dir)
    index = {k: v for k, v in sorted(registered.items()) if (out_dir / k).exists()}
    if index != registered:  # the index, like the README, lists only what exists
        atomic_write_json(out_dir / INDEX, index)
    lines = [f"# {title}", "", preamble, ""] if preamble else [f"# {title}", ""]
    ignored = _ignored(out_dir, list(index))
    if ignored:
        lines += ["Entries marked *(reproduction)* are written by `make reproduce` and not kept in git: a fresh clone "
                  "has every other file listed here.", ""]  # fmt: skip
    done: set[str] = set()
    for folder, heading in SECTIONS:
        items = [(k, v) for k, v in index.items() if k not in done and (not folder or k.startswith(folder + "/"))]
        if not items:
            continue
        lines += [f"## {heading}", ""]
        lines += [f"- [`{k}`]({k}): {v}" + (" *(reproduction)*" if k in ignored else "") for k, v in items]
        lines.append("")
        done.update(k for k, _ in items)
    return atomic_write_text(out_dir / "README.md", "\n".join(lines))
