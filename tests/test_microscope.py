"""Notebook 03's microscope: one unlabelled batch of a finished run, the TSCS decision, QDW weights, one EMA update."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch
from threedrest.config import Config
from threedrest.experiments import microscope
from threedrest.experiments.runs import RunResult, run
from threedrest.semi import ema, qdw, tscs
from threedrest.train import loop


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    torch.set_num_threads(1)
    cfg = Config.from_flat("smoke", method="3drest", label_ratio=0.2)
    return run(cfg, root=tmp_path_factory.mktemp("runs"), progress=False)


def test_one_step_of_a_finished_run_is_the_loops_step(finished: RunResult) -> None:
    cfg, ws, state = microscope.load_state(finished)
    saved = torch.load(finished.run_dir / "model.pt", weights_only=True)
    for name, model in (("student", state.student), ("teacher", state.teacher)):
        assert all(torch.equal(v, saved[name][k]) for k, v in model.state_dict().items()), name
    step = loop.next_semi_step(cfg, ws, state)
    positions = step.positions
    assert set(positions) <= set(ws.ulb_positions)
    s = float(step.correl.median())  # a threshold that splits this batch
    promoted = tscs.select(step.correl, s)
    w, _ = qdw.weights(step.correl, promoted)
    table = microscope.step_table(step, promoted, w)
    assert len(table) == len(positions) and table["uid"].tolist() == step.batch.uids
    np.testing.assert_array_equal(table["promoted"], table["correl"] > s)
    np.testing.assert_allclose(table["weight"], np.where(table["promoted"], 0.0, table["correl"]), atol=1e-6)
    assert table["true_iou"].between(0, 1).all() and (table["teacher_sp"] >= 0).all()
    # the method object the loop uses decides the same with the run's own threshold
    decision = state.method.unsupervised(step)
    assert torch.equal(decision.promoted, tscs.select(step.correl, cfg.ssl.tscs_threshold))

    table = microscope.step_table(step, promoted, w, ws)
    rows = microscope.pick_samples(table, 3)
    assert len(rows) == 3 and step.correl[rows[0]] == step.correl.max()
    assert step.correl.min() in step.correl[rows]
    fig = microscope.plot_step_masks(step, table, rows)
    assert len(fig.axes) == 9
    labels = [ax.get_ylabel() for ax in fig.axes[::3]]
    assert all(f"correl = {table.iloc[b]['correl']:.2f}" in label for b, label in zip(rows, labels, strict=True))
    # each row under its sentence, the pseudo-mask's panel with its true IoU
    sentences = {d["uid"]: d["description"] for d in ws.bundle.index.descriptions}
    heads = [sub._suptitle.get_text() for sub in fig.subfigs]
    assert all(sentences[table.iloc[b]["uid"]][:30] in head for b, head in zip(rows, heads, strict=True))
    teacher_titles = [ax.get_title() for ax in fig.axes[1::3]]
    assert all(f"true IoU {table.iloc[b]['true_iou']:.2f}" in t for b, t in zip(rows, teacher_titles, strict=True))
    assert all(len(ax.lines) == 1 for ax in fig.axes)  # the room's outline in every panel


def test_one_ema_update_moves_the_teacher_one_minus_a_of_the_way(finished: RunResult) -> None:
    cfg, _, state = microscope.load_state(finished)
    before = ema.make_teacher(state.teacher)
    gap = microscope.parameter_distance(state.student, state.teacher)
    assert gap > 0, "best student and best teacher differ"
    ema.update_teacher(state.teacher, state.student, 0.9, cfg.ssl.ema_buffers)
    assert microscope.parameter_distance(state.teacher, before) == pytest.approx(0.1 * gap, rel=1e-3)
    assert microscope.parameter_distance(state.student, state.teacher) == pytest.approx(0.9 * gap, rel=1e-3)


def test_a_run_without_a_teacher_is_refused(tmp_path: Path) -> None:
    result = run(Config.from_flat("smoke", method="supervised", label_ratio=0.2), root=tmp_path, progress=False)
    with pytest.raises(ValueError, match="no teacher"):
        microscope.load_state(result)


def test_pick_samples_shows_a_promoted_a_fractional_and_the_lowest() -> None:
    table = pd.DataFrame({"correl": [0.5, 1.0, 0.2, 0.97, 0.0, 0.9],
                          "promoted": [False, True, False, True, False, False],
                          "weight": [0.5, 0.0, 0.2, 0.0, 0.0, 0.9]})  # fmt: skip
    # promoted with the highest correl, the fractional weight nearest 0.5, the lowest correl
    assert microscope.pick_samples(table, 3) == [1, 0, 4]
    assert microscope.pick_samples(table, 2) == [1, 0]
    assert microscope.pick_samples(table, 9) == [1, 0, 4, 3, 5, 2]  # then the rest, spread over correl
    # nothing fractional: the highest and the lowest, then the spread; nothing promoted: the highest correl first
    flat = table.assign(weight=[1.0, 0.0, 0.0, 0.0, 0.0, 1.0], promoted=False)
    assert microscope.pick_samples(flat, 3)[:2] == [1, 4]
    assert microscope.pick_samples(table.iloc[:0], 3) == []


def test_room_outline_is_the_closed_hull_of_the_centroids() -> None:
    xy = np.array([[0, 0], [4, 0], [4, 3], [0, 3], [2, 1], [1, 2]], float)
    outline = microscope.room_outline(xy)
    assert np.array_equal(outline[0], outline[-1]) and len(outline) == 5
    assert {tuple(p) for p in outline} == {(0, 0), (4, 0), (4, 3), (0, 3)}
    line = np.array([[0, 0], [1, 1], [2, 2]], float)
    assert np.array_equal(microscope.room_outline(line), line)  # no area: the points as they are
