"""results/ holds what the last full reproduction made: stale pages go, the index and README stay true."""

from __future__ import annotations

import json
from pathlib import Path

from threedrest.experiments import report


def _plant(out: Path) -> None:
    for rel in ("views/cases/scene0078_00__20__0.html", "views/cases/scene0078_00__20__0.png",
                "tables/runs.csv", "figures/old.png", "notebooks/02_burn_in.failed.ipynb", "timings.csv",
                "bench.csv", "runs/3drest-r0.1-s0-abc/summary.json", "smoke/tables/runs.csv"):  # fmt: skip
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("old")
        if not rel.startswith(("runs/", "smoke/")):
            report.register(out, out / rel, f"from an earlier machine: {rel}")


def test_clear_owned_removes_what_a_reproduction_regenerates(tmp_path: Path) -> None:
    _plant(tmp_path)
    removed = report.clear_owned(tmp_path)
    assert sorted(removed) == ["figures/", "notebooks/", "tables/", "timings.csv", "views/"]
    assert not (tmp_path / "views").exists() and not (tmp_path / "tables").exists()
    # the cache of finished trainings, other outputs (bench, smoke) and their entries stay
    assert (tmp_path / "runs/3drest-r0.1-s0-abc/summary.json").exists()
    assert (tmp_path / "bench.csv").exists() and (tmp_path / "smoke/tables/runs.csv").exists()
    assert json.loads((tmp_path / "index.json").read_text()) == {"bench.csv": "from an earlier machine: bench.csv"}


def test_readme_and_index_list_only_what_exists(tmp_path: Path) -> None:
    _plant(tmp_path)
    (tmp_path / "figures/old.png").unlink()
    report.write_readme(tmp_path, "Results")
    index = json.loads((tmp_path / "index.json").read_text())
    assert "figures/old.png" not in index and "tables/runs.csv" in index
    assert "old.png" not in (tmp_path / "README.md").read_text()
