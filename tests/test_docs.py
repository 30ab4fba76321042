"""The pages a reader meets: every number they quote is the tables', the README stays a guide, the prose speaks
of the kit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from threedrest.experiments import docs

ROOT = Path(__file__).resolve().parents[1]
PAGES = docs.pages(ROOT)


def test_every_generated_number_is_what_the_committed_tables_say() -> None:
    """A page quoting a number the tables no longer give fails here: run `python -m threedrest docs`."""
    stale = docs.update(ROOT, check=True)
    assert not stale, f"pages whose generated blocks differ from results/: {[str(p.relative_to(ROOT)) for p in stale]}"


def test_blocks_are_filled_and_known(tmp_path: Path) -> None:
    blocks = [m for page in PAGES for m in docs.BLOCK.finditer(page.read_text())]
    assert len(blocks) >= 10
    assert all(m["body"].strip() for m in blocks), "an empty generated block"
    with pytest.raises(ValueError, match="unknown generated block"):
        docs.render("<!-- generated: nope -->\n<!-- end generated -->", tmp_path)


def test_a_block_is_rewritten_from_its_table(tmp_path: Path) -> None:
    (tmp_path / "records").mkdir()
    record = {"point": ["method=threshold,p_cutoff=0.7"] * 2, "seed": [0, 1], "val mIoU student": [30.0, 32.0],
              "benchmark": "main", "made_at": "commit abc"}  # fmt: skip
    pd.DataFrame(record).to_csv(tmp_path / "records" / "x.csv", index=False)
    page = "before\n<!-- generated: records x -->\nstale 99.99\n<!-- end generated -->\nafter\n"
    text = docs.render(page, tmp_path)
    assert "99.99" not in text and "31" in text and "commit abc" in text
    assert text.startswith("before\n") and text.endswith("<!-- end generated -->\nafter\n")


def test_the_readme_is_a_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for link in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", readme):
        assert (ROOT / link).exists(), f"README links to a missing page: {link}"


def test_the_prose_speaks_of_the_kit() -> None:
    """No page, notebook or docstring speaks of work items instead of the kit."""
    texts = {p: p.read_text() for p in [*PAGES, *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("lib/threedrest/**/*.py")]}
    pattern = re.compile(r"\bthe issue\b|\bitem [0-9]+\b|\bbudget\b", re.I)
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p, text in texts.items() for m in pattern.finditer(text)]
    assert not offenders, offenders


def test_the_tours_title_says_its_measured_time() -> None:
    tour = json.loads((ROOT / "notebooks" / "00_tour.ipynb").read_text())
    title = "".join(tour["cells"][0]["source"]).splitlines()[0]
    seconds = pd.read_csv(ROOT / "results" / "timings.csv").set_index("notebook")["seconds"]["00_tour"]
    minutes = re.search(r"(\d+)-minute", title)
    assert minutes and int(minutes[1]) == round(seconds / 60), f"{title!r}: the committed tour took {seconds:.0f} s"


def test_the_spread_block_by_hand(tmp_path: Path) -> None:
    """Seeds 10 / 12 / 14 (std 2) and 13 / 14 / 18 (std 2.65): paired gains 3 / 2 / 4, std 1, standard error
    1 / sqrt(3) = 0.58."""
    rows = [
        {
            "method": m,
            "label_ratio": 0.1,
            "seed": s,
            "model": "student",
            "split": "test",
            "subset": "overall",
            "miou": v,
            "config_hash": f"{m}{s}",
        }
        for m, values in (("supervised", (10, 12, 14)), ("3drest", (13, 14, 18)))
        for s, v in enumerate(values)
    ]
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "runs.csv", index=False)
    pd.DataFrame({"method": ["supervised", "3drest", "supervised"], "label_ratio": [0.1, 0.1, 1.0]}).to_csv(
        tmp_path / "tables" / "main.csv", index=False
    )
    text = docs.spread(tmp_path)
    assert "is 2.00 to 2.65 mIoU (2 methods, 3 seeds each)" in text
    assert "standard deviation of 1.00 over seeds" in text and "standard error of 0.58" in text
