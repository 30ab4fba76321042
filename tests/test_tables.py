"""Figures of experiments.tables: what their axes say is what they plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from threedrest.experiments import tables
from threedrest.experiments.runs import RunResult


def _result_with_log(log: pd.DataFrame) -> RunResult:
    empty = pd.DataFrame()
    return RunResult(Path("."), {}, empty, empty, log, empty)


def test_qdw_scatter_plots_the_weight_applied_and_marks_promotions() -> None:
    log = pd.DataFrame({"step": [1, 2, 3, 4], "index": [0, 1, 2, 3], "correl": [0.2, 0.6, 0.97, 0.99],
                        "true_iou": [0.1, 0.5, 0.8, 0.9], "weight": [0.2, 0.6, 0.0, 0.0],
                        "promoted": [False, False, True, True]})  # fmt: skip
    fig = tables.plot_qdw_scatter(_result_with_log(log))
    weighted, promoted = fig.axes[0].collections[:2]
    np.testing.assert_allclose(weighted.get_offsets(), [[0.1, 0.2], [0.5, 0.6]])
    np.testing.assert_allclose(promoted.get_offsets(), [[0.8, 0.0], [0.9, 0.0]])  # at the weight 0 they were given
    assert "weight" in fig.axes[0].get_ylabel()
    assert any("promoted" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_weight_auc_by_hand() -> None:
    # right weights (0.9, 0.5), wrong (0.5, 0.1): pairs 0.9>0.5, 0.9>0.1, 0.5=0.5 (half), 0.5>0.1 -> 3.5 / 4
    assert tables.weight_auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False]) == 0.875
    assert tables.weight_auc([0.8, 0.8, 0.8], [True, False, False]) == 0.5  # a constant separates nothing
    assert tables.weight_auc([0.1, 0.9], [True, False]) == 0.0
    assert np.isnan(tables.weight_auc([0.3, 0.4], [True, True]))


def test_weight_by_correctness_splits_right_from_wrong_in_the_late_semi_phase() -> None:
    # steps 0..4; the late half (step >= 2) holds three samples: right 0.9 and 0.7, wrong 0.2
    log = pd.DataFrame({"step": [0, 1, 2, 3, 4], "index": range(5), "correl": [0.5] * 5,
                        "true_iou": [0.9, 0.0, 0.8, 0.1, 0.6], "weight": [0.1, 0.9, 0.9, 0.2, 0.7],
                        "promoted": [False] * 5})  # fmt: skip
    fig = tables.plot_weight_by_correctness({"a": _result_with_log(log)})
    ax = fig.axes[0]
    assert ax.get_title() == "a: AUC 1.00"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["right (IoU > 0.5): 2", "wrong: 1"]
