"""Figures of experiments.tables: what their axes say is what they plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.collections import PathCollection
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


def test_qdw_scatter_has_a_colour_bar_for_the_step_and_says_when_nothing_correlates() -> None:
    log = pd.DataFrame({"step": [1, 2, 3, 4], "index": [0, 1, 2, 3], "correl": [0.2, 0.6, 0.7, 0.9],
                        "true_iou": [0.1, 0.5, 0.6, 0.9], "weight": [0.2, 0.6, 0.7, 0.9], "promoted": [False] * 4,
                        "pseudo_sp": [3, 4, 5, 6]})  # fmt: skip
    fig = tables.plot_qdw_scatter(_result_with_log(log))
    assert [ax.get_ylabel() for ax in fig.axes[1:]] == ["training step"]  # the colour bar of the dots' colours
    assert "r = 0.99" in fig.axes[0].get_title()
    # every pseudo-mask empty (smoke): weights and IoUs all 0, no "r = nan"
    empty = log.assign(correl=0.0, true_iou=0.0, weight=0.0, pseudo_sp=0)
    fig = tables.plot_qdw_scatter(_result_with_log(empty))
    texts = [fig.axes[0].get_title()] + [t.get_text() for t in fig.axes[0].texts]
    assert "nan" not in " ".join(texts) and "nothing to correlate" in texts[0] and "empty" in texts[0]
    assert "nothing to correlate" in tables.plot_qdw_scatter(_result_with_log(log.iloc[:0])).axes[0].get_title()


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
    assert ax.get_title() == "a: AUC 1.000"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["right (IoU > 0.5): 2", "wrong: 1"]


def test_weight_by_correctness_titles_each_panel_with_its_own_auc() -> None:
    log = pd.DataFrame({"step": [0, 1, 2, 3], "index": range(4), "correl": [0.5] * 4, "true_iou": [0.9, 0.8, 0.1, 0.2],
                        "weight": [0.9, 0.8, 0.1, 0.2], "promoted": [False] * 4})  # fmt: skip
    flipped = log.assign(weight=[0.1, 0.8, 0.9, 0.2])  # right 0.1, 0.8 against wrong 0.9, 0.2: 1 of 4 pairs
    fig = tables.plot_weight_by_correctness({"a": _result_with_log(log), "b": _result_with_log(flipped)},
                                            late_share=1.0)  # fmt: skip
    assert [ax.get_title() for ax in fig.axes] == ["a: AUC 1.000", "b: AUC 0.250"]
    legends = [ax.get_legend().get_title().get_text() for ax in fig.axes]
    assert legends == ["AUC 1.000 over this panel's 4", "AUC 0.250 over this panel's 4"]


def _result_with_history(tmp_path: Path, method: str, curve: list[float], teacher: bool) -> RunResult:
    teacher_curve = [c + 0.01 for c in curve] if teacher else [np.nan, np.nan]
    history = pd.DataFrame({"step": [99, 199], "val_miou_student": curve, "val_miou_teacher": teacher_curve})
    return RunResult(tmp_path, {"method": method}, pd.DataFrame(), history, pd.DataFrame(), pd.DataFrame())


def test_learning_curves_pair_student_and_teacher_by_colour(tmp_path: Path) -> None:
    results = {"supervised": _result_with_history(tmp_path, "supervised", [0.2, 0.3], False),
               "3drest": _result_with_history(tmp_path, "3drest", [0.25, 0.35], True)}  # fmt: skip
    ax = tables.plot_learning_curves(results).axes[0]
    sup, student, teacher = ax.get_lines()
    assert student.get_color() == teacher.get_color() != sup.get_color()
    assert (student.get_linestyle(), teacher.get_linestyle()) == ("-", "--")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["supervised", "3drest", "student (solid)", "teacher (dashed)"]


def test_promotions_legend_has_both_lines_and_the_start_comes_from_the_config(tmp_path: Path) -> None:
    import json

    from threedrest.config import Config

    cfg = Config.from_flat("classroom", method="3drest", burn_in_steps=120, tscs_warmup=30)
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    promotions = pd.DataFrame({"step": [150, 151, 160], "index": [1, 2, 3], "correl": [1.0] * 3,
                               "true_iou": [0.9, 0.2, 0.7]})  # fmt: skip
    history = pd.DataFrame({"step": [99, 199]})
    result = RunResult(tmp_path, {}, pd.DataFrame(), history, pd.DataFrame(), promotions)
    ax = tables.plot_promotions(result).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "promoted samples" in labels and any(label.startswith("precision") for label in labels)
    assert "from step 150 = burn-in 120 + warm-up 30" in ax.get_title()
    assert any("burn-in" in label for label in labels) and any("warm-up: 30 steps" in label for label in labels)
    assert ax.get_xlim()[0] == 0


def test_ratio_curve_draws_bars_only_where_seeds_spread_and_keeps_them_out_of_the_legend() -> None:
    summary = pd.DataFrame({"method": ["supervised"] * 2 + ["mean_teacher"] * 2, "label_ratio": [0.01, 0.1] * 2,
                            "model": "student", "miou_mean": [8.0, 27.0, 9.0, 28.0],
                            "miou_std": [0.5, 1.0, np.nan, np.nan], "seeds": [3, 3, 1, 1]})  # fmt: skip
    ax = tables.plot_ratio_curve(summary).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["supervised (3 seeds)", "mean_teacher (1 seed)"]
    assert len(ax.get_legend().legend_handles) == 2 and len(ax.containers) == 1  # one set of bars: supervised's
    bars = ax.containers[0].lines[2][0].get_segments()
    assert [tuple(s[:, 1]) for s in bars] == [(7.5, 8.5), (26.0, 28.0)]
    assert "std" in ax.get_ylabel()


def test_sweep_draws_every_seed_and_does_not_magnify_noise() -> None:
    summary = pd.DataFrame({"lambda_u": [0.5, 1.0], "model": "student", "miou_mean": [31.79, 31.72],
                            "miou_std": [0.1, 0.2], "seeds": [2, 2]})  # fmt: skip
    points = pd.DataFrame({"lambda_u": [0.5, 0.5, 1.0, 1.0], "seed": [0, 1, 0, 1], "miou": [31.7, 31.88, 31.5, 31.94]})
    ax = tables.plot_sweep(summary, "lambda_u", points).axes[0]
    dots = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert sorted(dots[:, 1].round(2).tolist()) == [31.5, 31.7, 31.88, 31.94]
    low, high = ax.get_ylim()
    assert high - low >= tables.SWEEP_MIN_SPAN and low < 31.5 and high > 31.94
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1"]


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
