"""Atomic writes: a writer killed half way leaves the previous file whole; unreadable results are rebuilt."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from threedrest import io
from threedrest.config import Config
from threedrest.experiments import tables
from threedrest.experiments.policy import run_label
from threedrest.experiments.runs import run

LIB = Path(__file__).resolve().parents[1] / "lib" / "threedrest"


class _DiesHalfWay:
    """A file handle that writes half of what it is given, then 'the process dies'."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def write(self, data: bytes) -> int:
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise KeyboardInterrupt("killed half way through the write")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def test_table_rewrite_killed_half_way_keeps_previous_tables(tmp_path: Path, monkeypatch) -> None:
    old = pd.DataFrame({"method": ["supervised", "3drest"], "miou": [30.1, 35.2]})
    tables.write_table(old, "main", tmp_path, "Main table")
    folder = tmp_path / "tables"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real_fdopen = os.fdopen
    seen_partial: list[int] = []

    def dying_fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        seen_partial.append(fd)
        return _DiesHalfWay(handle)

    monkeypatch.setattr(os, "fdopen", dying_fdopen)
    new = pd.DataFrame({"method": ["supervised", "3drest"], "miou": [0.0, 0.0]})
    with pytest.raises(KeyboardInterrupt):
        tables.write_table(new, "main", tmp_path, "Main table, rewritten")
    monkeypatch.undo()
    assert seen_partial  # the rewrite did start writing
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # old tables whole, no temp file left
    pd.testing.assert_frame_equal(pd.read_csv(folder / "main.csv"), old)


WRITER = """
import sys
from threedrest.io import atomic_write_bytes
size = int(sys.argv[2])
i = 0
while True:
    atomic_write_bytes(sys.argv[1], (b"ab"[i % 2 : i % 2 + 1]) * size)
    i += 1
"""


def test_sigkill_during_writes_never_leaves_a_torn_file(tmp_path: Path) -> None:
    path, size = tmp_path / "table.csv", 4_000_000
    for delay in (0.35, 0.6):  # kill at two moments; each write takes a few ms, so most kills land mid-write
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(size)])
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = path.read_bytes()
        assert len(data) == size and data in (b"a" * size, b"b" * size)


# writes that bypass threedrest.io (the atomic helpers): open(..., "w"), write_text/bytes, torch.save or
# np.save/savez to a path, DataFrame.to_csv(path), savefig(path); writing into an in-memory buffer is fine
NON_ATOMIC = re.compile(
    r"open\([^)]*['\"][wax]b?['\"]|\.write_(text|bytes)\(|torch\.save\((?!buffer|buf\b)|"
    r"np\.save[z_]*\w*\((?!buffer|buf\b)|\.to_csv\((?!index=|\))|savefig\((?!buffer|buf\b)"
)


def test_every_file_the_kit_writes_goes_through_the_atomic_helpers() -> None:
    offenders = []
    for path in sorted(LIB.rglob("*.py")):
        if path.name == "io.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if NON_ATOMIC.search(line.split("#")[0]):
                offenders.append(f"{path.relative_to(LIB)}:{number}: {line.strip()}")
    assert not offenders, "non-atomic writes:\n" + "\n".join(offenders)
    assert NON_ATOMIC.search('Path("x").write_text("y")') and NON_ATOMIC.search("frame.to_csv(path)")


def test_atomic_helpers_leave_no_temporary_file_on_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        io.atomic_write_json(tmp_path / "x.json", {"bad": object()})
    io.atomic_write_text(tmp_path / "y.txt", "ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.txt"]


def test_unreadable_finished_run_is_trained_again_with_a_warning(tmp_path: Path) -> None:
    cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.5, steps=4, eval_every=2)
    first = run(cfg, root=tmp_path, progress=False)
    (first.run_dir / "summary.json").write_text('{"method": ')  # damaged outside the kit
    with pytest.warns(UserWarning, match=r"summary.json|unreadable finished run"):
        again = run(cfg, root=tmp_path, progress=False)
    pd.testing.assert_frame_equal(first.metrics, again.metrics, check_exact=True)
    # the summary is whole again; a run of 4 steps, not the smoke profile's 12, is labelled so (policy.run_label)
    assert again.summary["method"] == run_label(cfg) == "supervised-4steps"


def _notebook(path: Path, code: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('value: str = "x"  # a parameter')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_failing_notebook_leaves_the_previous_executed_copy_whole(tmp_path: Path) -> None:
    from threedrest.experiments import reproduce

    good = _notebook(tmp_path / "nb.ipynb", "print(value)")
    out = tmp_path / "results"
    reproduce.run_notebook(good, out, {"value": "first"})
    executed = out / "notebooks" / "nb.ipynb"
    before = executed.read_bytes()
    assert b"first" in before
    _notebook(good, "raise RuntimeError('half way')")
    with pytest.raises(Exception, match="half way"):
        reproduce.run_notebook(good, out, {"value": "second"})
    assert executed.read_bytes() == before  # the last good execution is kept whole
    assert (out / "notebooks" / "nb.failed.ipynb").exists()  # the failing cell stays readable
    assert not list((out / "notebooks").glob(".*"))  # no partial file left
