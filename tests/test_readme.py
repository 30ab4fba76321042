"""The layout page's tree (docs/layout.md) lists every module of the package under its folder, one line each."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "threedrest"


def _tree() -> list[str]:
    page = (ROOT / "docs" / "layout.md").read_text()
    block = re.search(r"```\nlib/threedrest/\n(.*?)```", page, re.S)
    assert block, "docs/layout.md shows the tree of lib/threedrest/"
    return block.group(1).splitlines()


def test_layout_tree_lists_every_module_under_its_folder() -> None:
    listed, folders = [], []  # folders: the open folder at each depth
    for line in _tree():
        indent = len(line) - len(line.lstrip())
        assert indent % 2 == 0 and 2 <= indent <= 2 * (len(folders) + 1), f"layout tree: {line!r} is misindented"
        depth = indent // 2 - 1
        folders = folders[:depth]
        name = line.split()[0]
        if name.endswith("/"):
            folders.append(name)
        else:
            listed.append("".join(folders) + name)
            assert len(line.split()) > 1, f"layout tree: {name} has no description"
    modules = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert sorted(listed) == modules, (
        f"missing: {sorted(set(modules) - set(listed))}; stale: {sorted(set(listed) - set(modules))}"
    )
