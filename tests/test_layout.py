"""The package's architecture, checked from its own imports: arrows point one way, no cycles.

Floors, lowest first: foundations (config, io, paths, metrics) -> data -> net -> semi and the
loop's helpers -> train -> experiments -> viz -> the command line. A module may import from its
own floor or below, never above; the test reads every import (function-level ones too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "threedrest"
FLOORS = {
    "threedrest.config": 0, "threedrest.io": 0, "threedrest.paths": 0, "threedrest.metrics": 0,
    "threedrest.numerics": 0, "threedrest": 0,
    "threedrest.data": 1, "threedrest.predictions": 1,
    "threedrest.net": 2,
    "threedrest.semi": 3, "threedrest.sampler": 3, "threedrest.distributed": 3, "threedrest.evaluate": 3,
    "threedrest.workspace": 3,
    "threedrest.train": 4,
    "threedrest.experiments": 5,
    "threedrest.viz": 6,
    "threedrest.__main__": 7,
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int:
    best = max((key for key in FLOORS if module == key or module.startswith(key + ".")), key=len)
    return FLOORS[best]


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("threedrest"):
            for alias in node.names:  # "from threedrest.net import features" imports threedrest.net.features
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("threedrest"))
    return found


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_floor():
    assert all(floor(m) >= 0 for m in MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    upward = sorted(m for m in MODULES[module] if floor(m) > floor(module))
    assert not upward, f"{module} (floor {floor(module)}) imports from above: {upward}"


def test_no_import_cycle():
    graph = {m: {d for d in deps if d in MODULES and d != m} for m, deps in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_paper_reads_in_one_folder():
    """semi/ holds the method (EMA, TSCS, QDW, the compared methods, the kit's sentence gate) and stays short
    enough to read."""
    paths = [p for p in (PACKAGE / "semi").glob("*.py") if p.name != "__init__.py"]
    files = {p.name: len(p.read_text().splitlines()) for p in paths}
    assert set(files) == {"ema.py", "tscs.py", "qdw.py", "gate.py", "methods.py"}
    assert sum(files.values()) < 800, files
