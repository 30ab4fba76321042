"""Relative paths in configs and notebook parameters mean "relative to the project root".

Notebooks run with their own folder as the working directory (Jupyter) or the project root
(papermill from make); resolving against the root makes both write to the same data/ and results/.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder holding pyproject.toml above the working directory, or $THREEDREST_ROOT, or the cwd."""
    env = os.environ.get("THREEDREST_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() and (folder / "lib" / "threedrest").is_dir():
            return folder
    return here


def resolve(path: str | Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_root() / path
