"""Glue between finished runs and the 3D views, so notebooks stay free of ``def`` and ``lambda``.

The views colour layers by name (``viz.LAYER_COLOURS``): "supervised", "3DResT student",
"3DResT teacher". These helpers read a run's saved predictions under those names, line up the
descriptions every layer predicted, pick descriptions worth showing, and write offline pages and
PNG renders registered in the results index.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from threedrest.data.store import DatasetIndex
from threedrest.experiments import report
from threedrest.experiments.runs import RunResult
from threedrest.train.predictions import Predictions, load_predictions
from threedrest.viz.export import export_case
from threedrest.viz.render import case_slug, render_case, select_gallery
from threedrest.viz.widgets import FAIL_IOU, Case, empty_note, load_case, nothing_to_compare


def layer_name(method: str, model: str) -> str:
    """The view's name for a run's model: "supervised", "3DResT student", "mean_teacher teacher", ..."""
    if method == "supervised":
        return "supervised" if model == "student" else f"supervised {model}"
    return f"3DResT {model}" if method == "3drest" else f"{method} {model}"


def run_predictions(
    results: Iterable[RunResult], split: str = "test", models: Sequence[str] = ("student", "teacher")
) -> dict[str, Predictions]:
    """Every saved prediction file of ``results`` on ``split``, keyed by layer name (runs in order).

    A supervised run has no teacher; its missing file is skipped, any other missing file raises.
    """
    out: dict[str, Predictions] = {}
    for result in results:
        for model in models:
            path = Path(result.run_dir) / f"predictions_{split}_{model}.npz"
            if model != "student" and not path.exists():
                continue
            out[layer_name(result.summary["method"], model)] = load_predictions(path)
    if not out:
        raise ValueError(f"run_predictions: no runs given for split {split!r}")
    return out


def aligned_ious(predictions: Mapping[str, Predictions]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The uids every layer predicted (first layer's order) and each layer's IoU on them."""
    lookups = {name: p.index() for name, p in predictions.items()}
    first = next(iter(predictions.values()))
    uids = [str(u) for u in first.uid if all(str(u) in ix for ix in lookups.values())]
    ious = {name: p.iou[[lookups[name][u] for u in uids]].astype(float) for name, p in predictions.items()}
    return uids, ious


def most_different(
    predictions: Mapping[str, Predictions], a: str = "supervised", b: str = "3DResT student", k: int = 1
) -> list[str]:
    """The ``k`` uids where layers ``a`` and ``b`` disagree most in IoU (ties: first in order)."""
    missing = {a, b} - set(predictions)
    if missing:
        raise ValueError(f"most_different: no layer(s) {sorted(missing)}; have {list(predictions)}")
    uids, ious = aligned_ious(predictions)
    order = np.argsort(-np.abs(ious[b] - ious[a]), kind="stable")
    return [uids[i] for i in order[:k]]


@dataclass(frozen=True)
class Changes:
    """What one model gets right that another gets wrong, by the rule ``rule`` states; largest change first."""

    fixes: list[str]  # uids the method gets right and the baseline wrong
    breaks: list[str]  # uids the baseline gets right and the method wrong
    n: int  # descriptions compared
    rule: str
    empty: bool  # every layer predicted an empty mask everywhere: nothing to compare

    def summary(self, method: str = "3DResT", baseline: str = "supervised") -> str:
        if self.empty:
            return nothing_to_compare(self.n)
        return (f"Of {self.n} descriptions, {method} fixes {len(self.fixes)} and breaks {len(self.breaks)} against "
                f"{baseline} ({self.rule}).")  # fmt: skip

    def shown(self) -> list[str]:
        """The largest fix and the largest break, those that exist."""
        return [*self.fixes[:1], *self.breaks[:1]]


def changed_cases(predictions: Mapping[str, Predictions], method: str = "3DResT student",
                  baseline: str = "supervised", threshold: float = FAIL_IOU) -> Changes:  # fmt: skip
    """Descriptions ``method`` fixes (its IoU >= ``threshold``, the baseline's below) and breaks (the other way
    round), each sorted by the size of the change (``render.select_gallery``'s fixes and breaks, all of them)."""
    uids, ious = aligned_ious(predictions)
    picked = select_gallery(uids, ious, method, baseline, k=len(uids), threshold=threshold)
    empty = bool(empty_note(predictions))
    rule = f"right: IoU >= {threshold:g} with the ground truth, as in the gallery; wrong: below"
    return Changes(picked["fixes"], picked["breaks"], len(uids), rule, empty)


def case_loader(index: DatasetIndex, predictions: Mapping[str, Predictions]) -> Callable[[str], Case]:
    """``uid -> Case`` for ``viz_render.write_gallery``."""
    return functools.partial(load_case, index, predictions)


def case_caption(case: Case) -> str:
    ious = ", ".join(f"{name} IoU {iou:.2f}" for name, iou in case.ious.items())
    return f'"{case.sentence}" ({"unique" if case.unique else "multiple"}){": " + ious if ious else ""}'


def export_cases(
    index: DatasetIndex,
    predictions: Mapping[str, Predictions],
    uids: Iterable[str],
    out_dir: str | Path,
    results_dir: str | Path | None = None,
    prefix: str = "",
) -> list[Path]:
    """Per uid: ``<prefix><slug>.html`` (offline 3D page) and ``.png`` in ``out_dir``; registered in the
    index of ``results_dir`` when given. Returns the PNG paths (to display)."""
    out_dir = Path(out_dir)
    pngs = []
    for uid in uids:
        case = load_case(index, predictions, uid)
        slug = prefix + case_slug(uid)
        page = export_case(case, out_dir / f"{slug}.html")
        png = render_case(case, out_dir / f"{slug}.png")
        if results_dir is not None:
            report.register(results_dir, page, f"offline 3D view: {case_caption(case)}")
            report.register(results_dir, png, f"render (top: from above; bottom: perspective): {case_caption(case)}")
        pngs.append(png)
    return pngs
