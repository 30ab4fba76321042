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
