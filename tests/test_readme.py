"""The README's layout tree lists every module of the package under its folder, one line each."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "threedrest"


def _tree() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    block = re.search(r"```\nlib/threedrest/\n(.*?)```", layout, re.S)
    assert block, "README's Layout section shows the tree of lib/threedrest/"
    return block.group(1).splitlines()


def test_readme_tree_lists_every_module_under_its_folder() -> None:
    listed, folder = [], ""
    for line in _tree():
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        if indent == 2:
            folder = name if name.endswith("/") else ""
            if not folder:
                listed.append(name)
        else:
            assert indent == 4 and folder, f"README tree: {line!r} is not under a folder"
            listed.append(folder + name)
        assert len(line.split()) > 1 or name.endswith("/"), f"README tree: {name} has no description"
    modules = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    py = sorted(entry for entry in listed if entry.endswith(".py"))
    assert len(py) == len(set(py)), "a module is listed twice"
    assert py == modules, f"missing: {sorted(set(modules) - set(py))}; stale: {sorted(set(py) - set(modules))}"
    assert all((PACKAGE / entry).exists() for entry in listed), "every other entry exists too"
