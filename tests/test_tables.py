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


def _schedule_results(tmp_path: Path) -> tuple[pd.DataFrame, list[RunResult]]:
    """Two schedules (600 steps, burn-in 133; 1,800, burn-in 400) x two seeds of supervised and 3DResT."""
    import json

    from threedrest.config import Config
    from threedrest.experiments import grids

    cfgs = grids.configs("classroom", [0, 1], grids.schedule_grid(0.1, [600, 1800], 1800, 400))
    miou = {(600, 0): (20.0, 22.0), (600, 1): (21.0, 21.5), (1800, 0): (26.0, 31.0), (1800, 1): (27.0, 33.0)}
    seconds = {"supervised": {600: 46.7, 1800: 140.0}, "3drest": {600: 120.0, 1800: 300.0}}
    rows, results = [], []
    for cfg in cfgs:
        method, steps = cfg.ssl.method, cfg.train.steps
        run_dir = tmp_path / f"{method}-{steps}-{cfg.seed}"
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict()))
        assert Config.from_dict(cfg.to_dict()) == cfg
        value = miou[(steps, cfg.seed)][method == "3drest"]
        for split, offset in (("val", 1.0), ("test", 0.0)):
            rows.append({"method": method, "label_ratio": 0.1, "seed": cfg.seed, "model": "student", "split": split,
                         "subset": "overall", "miou": value + offset, "acc25": 0.0, "acc50": 0.0, "n": 10,
                         "config_hash": cfg.hash()})  # fmt: skip
        summary = {"config_hash": cfg.hash(), "method": method, "seed": cfg.seed,
                   "train_seconds": seconds[method][steps]}  # fmt: skip
        results.append(RunResult(run_dir, summary, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame()))
    return pd.DataFrame(rows), results


def test_schedule_table_by_hand(tmp_path) -> None:
    df, results = _schedule_results(tmp_path)
    table = tables.schedule_table(df, results)
    assert table["steps"].tolist() == [600, 1800] and table["burn-in"].tolist() == [133, 400]
    short, full = table.iloc[0], table.iloc[1]
    assert short["supervised test"] == "20.50 ± 0.71" and short["3DResT test"] == "21.75 ± 0.35"
    assert short["supervised val"] == "21.50 ± 0.71"  # val rows are test + 1 here
    assert short["gain test"] == 1.25 and short["gain test per seed"] == "+2.00 / +0.50"
    assert full["gain val"] == 5.5 and full["gain val per seed"] == "+5.00 / +6.00"
    # minutes per seed: supervised phase 46.7 s x 600 / (600 - 133) = 60.0 s (its burn-in), + 3DResT's 120 s
    assert short["training minutes per seed"] == round((46.7 * 600 / 467 + 120.0) / 60, 1) == 3.0
    assert full["training minutes per seed"] == round((140.0 * 1800 / 1400 + 300.0) / 60, 1) == 8.0
    fig = tables.plot_schedule(tables.schedule_numbers(df, results))
    ax = fig.axes[0]
    lines = {c.get_label(): c.lines[0] for c in ax.containers}  # one errorbar per method
    assert list(lines) == ["supervised", "3DResT"]
    np.testing.assert_allclose(lines["supervised"].get_xdata(), [3.0, 8.0], atol=0.01)
    np.testing.assert_allclose(lines["3DResT"].get_ydata(), [22.75, 33.0])  # 3DResT val means
    assert "minutes" in ax.get_xlabel() and "val" in ax.get_ylabel()


def test_promotion_signals_by_hand() -> None:
    # right = true_iou > 0.5: rows 0 and 1. correl of right 1.0, 0.5 against wrong 0.5, 0.0: pairs 1>0.5, 1>0,
    # 0.5=0.5 (half), 0.5>0 -> 3.5 / 4
    log = pd.DataFrame({"correl": [1.0, 0.5, 0.5, 0.0], "true_iou": [0.9, 0.6, 0.5, 0.1],
                        "teacher_score": [0.8, 0.8, 0.8, 0.8], "named_share": [1.0, 0.6, 0.4, 0.0],
                        "pseudo_sp": [4, 2, 6, 8]})  # fmt: skip
    table = tables.promotion_signals(_result_with_log(log)).set_index("signal")
    assert list(table.index) == ["correl", "teacher_score", "named_share", "pseudo_sp"]
    assert table.loc["correl", "AUC"] == 0.875
    assert table.loc["teacher_score", "AUC"] == 0.5  # a constant separates nothing
    assert table.loc["named_share", "AUC"] == 1.0
    assert table.loc["pseudo_sp", "AUC"] == 0.0  # right masks are the smaller ones here
    assert table.loc["pseudo_sp", "mean if right"] == 3.0 and table.loc["pseudo_sp", "mean if wrong"] == 7.0
    assert (table["share right"] == 0.5).all()
    # a log from before the analysis columns: the correl row alone
    old = tables.promotion_signals(_result_with_log(log[["correl", "true_iou"]]))
    assert list(old["signal"]) == ["correl"]
    assert tables.promotion_signals(_result_with_log(pd.DataFrame())).empty
