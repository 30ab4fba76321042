"""The package's architecture, checked from its own imports: arrows point one way, no cycles.

Floors, lowest first: foundations (config, io, paths, metrics, numerics, distributed, the method
registry) -> data -> net -> semi -> train (the loop and what only it uses) -> experiments -> viz ->
the command line. A module may import from its own floor or below, never above; the test reads
every import (function-level ones too). Every loose module at the top is a foundation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "threedrest"
FLOORS = {
    "threedrest.config": 0, "threedrest.io": 0, "threedrest.paths": 0, "threedrest.metrics": 0,
    "threedrest.numerics": 0, "threedrest.distributed": 0, "threedrest.registry": 0, "threedrest.progress": 0,
    "threedrest": 0,
    "threedrest.data": 1,
    "threedrest.net": 2,
    "threedrest.semi": 3,
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


def test_every_loose_module_is_a_foundation():
    """Modules directly under lib/threedrest/ are the foundations (or the command line); everything else has
    its folder."""
    loose = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert all(floor(f"threedrest.{name}") == 0 for name in loose), loose


def test_the_paper_reads_in_one_folder():
    """semi/ holds the method (EMA, the semi-supervised step, TSCS, QDW, the kit's sentence gate, one file per
    compared method) and stays short enough to read."""
    paths = [p for p in (PACKAGE / "semi").rglob("*.py") if p.name != "__init__.py"]
    files = {str(p.relative_to(PACKAGE / "semi")): len(p.read_text().splitlines()) for p in paths}
    assert set(files) == {"ema.py", "step.py", "tscs.py", "qdw.py", "gate.py", "methods/base.py",
                          "methods/supervised.py", "methods/mean_teacher.py", "methods/refteacher.py",
                          "methods/threshold.py", "methods/threedrest.py"}  # fmt: skip
    assert sum(files.values()) < 1000, files


def test_the_loop_never_names_a_method():
    """train/ calls a method's hooks: no registered name and no method's option appears in the loop's code."""
    from threedrest import registry
    from threedrest.config import SSLConfig

    method_fields = {
        f
        for f in SSLConfig.__dataclass_fields__
        if f not in ("method", "burn_in_steps", "ema_momentum", "ema_buffers", "ulb_ratio", "lambda_u")
    }
    for path in (PACKAGE / "train").glob("*.py"):
        text = path.read_text()
        named = [n for n in registry.names() if f'"{n}"' in text or f"'{n}'" in text]
        options = [f for f in method_fields if f".{f}" in text]
        assert not named and not options, f"{path.name} names {named} or reads method options {options}"
