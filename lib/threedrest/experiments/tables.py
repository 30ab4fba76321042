"""Results tables and figures, all derived from the rows of ``results/tables/runs.csv``.

No number is typed into a notebook: a notebook runs experiments, then calls these functions.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from threedrest.config import Config
from threedrest.experiments import report
from threedrest.experiments.grids import SCHEDULE_METHODS, SCORE_METHODS, teacher_methods
from threedrest.experiments.policy import GATED_SUFFIX, SCORE_ALL_SUFFIX, ablation_rows
from threedrest.experiments.runs import RunResult
from threedrest.io import atomic_write_bytes, atomic_write_csv, atomic_write_text
from threedrest.semi.tscs import first_promotion_step

RUN_COLUMNS = [
    "method",
    "label_ratio",
    "seed",
    "model",
    "split",
    "subset",
    "miou",
    "acc25",
    "acc50",
    "n",
    "config_hash",
]
METRICS = ("miou", "acc25", "acc50")


def runs_frame(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per evaluated (run, model, split, subset); metrics in percent."""
    frames = [r.metrics for r in results if len(r.metrics)]
    if not frames:
        return pd.DataFrame(columns=RUN_COLUMNS)
    df = pd.concat(frames, ignore_index=True)[RUN_COLUMNS].copy()
    df[list(METRICS)] = df[list(METRICS)] * 100.0
    return df.drop_duplicates(["config_hash", "model", "split", "subset"]).reset_index(drop=True)


def update_runs_csv(df: pd.DataFrame, path: str | Path, caption: str = "",
                    results_dir: str | Path | None = None) -> pd.DataFrame:  # fmt: skip
    """Merge ``df`` into the runs table at ``path`` (rows keyed by config hash, model, split, subset).

    A row does not say which benchmark it was trained on (only its config hash does), so runs on other
    benchmarks (notebook 06's variants) go to their own file with its own ``caption``, never into runs.csv;
    so do the studies' runs (``studies/tables/runs.csv``). The file is indexed in ``results_dir`` (default:
    the folder above ``tables/``).
    """
    path = Path(path)
    if path.exists():
        old = read_runs_csv(path)
        df = pd.concat([old, df], ignore_index=True).drop_duplicates(
            ["config_hash", "model", "split", "subset"], keep="last"
        )
    df = df.sort_values(["method", "label_ratio", "model", "seed", "split", "subset"]).reset_index(drop=True)
    atomic_write_csv(path, df)
    if results_dir is not None or path.parent.name == "tables":  # <out_dir>/tables/runs.csv, in the index too
        caption = caption or ("one row per evaluated model (method, label ratio, seed, model, split, subset, mIoU, "
                              "Acc@0.25, Acc@0.5, n, config hash): every table comes from it")  # fmt: skip
        report.register(path.parent.parent if results_dir is None else results_dir, path, caption)
    return df


STUDY_RUNS = Path("studies") / "tables" / "runs.csv"  # the studies' rows (runs.csv keeps the paper's tables')


def study_rows(results: Iterable[RunResult], cfgs: Iterable[Config], results_dir: str | Path) -> pd.DataFrame:
    """A study's runs merged into ``<results_dir>/studies/tables/runs.csv``; returns the rows of ``cfgs``."""
    path = Path(results_dir) / STUDY_RUNS
    caption = "runs.csv's columns for the studies' runs (notebook 07); a row of a main-table config is that run"
    return rows_of(update_runs_csv(runs_frame(results), path, caption, results_dir), cfgs)


def read_runs_csv(path: str | Path) -> pd.DataFrame:
    """runs.csv as written (config hashes stay strings: "364e27407585" must not become a float)."""
    return pd.read_csv(path, dtype={"config_hash": str})


def rows_of(df: pd.DataFrame, cfgs: Iterable[Config]) -> pd.DataFrame:
    """The rows of ``df`` that belong to ``cfgs`` (by config hash), in config order.

    A notebook's table is a function of these rows only, so it can be recomputed from runs.csv
    later even after other notebooks added their runs to it.
    """
    order = {h: i for i, h in enumerate(dict.fromkeys(c.hash() for c in cfgs))}
    part = df[df["config_hash"].astype(str).isin(order)]
    return part.sort_values("config_hash", key=lambda col: col.astype(str).map(order), kind="stable").reset_index(
        drop=True
    )


def summarize_runs(
    df: pd.DataFrame,
    split: str = "test",
    subset: str = "overall",
    by: tuple[str, ...] = ("method", "label_ratio", "model"),
) -> pd.DataFrame:
    """Mean and std over seeds of each metric, plus the number of seeds."""
    part = df[(df["split"] == split) & (df["subset"] == subset)]
    grouped = part.groupby(list(by), sort=False)
    out = grouped[list(METRICS)].agg(["mean", "std"])
    out.columns = [f"{m}_{stat}" for m, stat in out.columns]
    out["seeds"] = grouped["seed"].nunique()
    return out.reset_index()


def mean_std_table(summary: pd.DataFrame, keys: tuple[str, ...] = ("method", "label_ratio", "model")) -> pd.DataFrame:
    """Human-readable 'mean ± std' cells (std over seeds; '-' with one seed)."""
    table = summary[list(keys)].copy()
    for m in METRICS:
        std = summary[f"{m}_std"].fillna(np.nan)
        table[m] = [mean_std_cell(mu, sd) for mu, sd in zip(summary[f"{m}_mean"], std, strict=True)]
    table["seeds"] = summary["seeds"]
    return table


def mean_std_cell(mu: float, sd: float) -> str:
    """A table cell: "mean ± std", or the mean alone where the std is undefined (one seed)."""
    return f"{mu:.2f} ± {sd:.2f}" if np.isfinite(sd) else f"{mu:.2f}"


def seed_gains(gains: Iterable[float]) -> str:
    """Paired gains seed by seed, as the tables print them: "+3.86 / +1.12 / +2.97"."""
    return " / ".join(f"{g:+.2f}" for g in gains)


SUBSET_COLUMNS = {"overall": ("miou", "acc25", "acc50"), "unique": ("miou", "acc50"), "multiple": ("miou", "acc50")}
PRETTY = {"miou": "mIoU", "acc25": "Acc@0.25", "acc50": "Acc@0.5"}


def results_table(
    df: pd.DataFrame, split: str = "test", keys: tuple[str, ...] = ("method", "label_ratio", "model")
) -> pd.DataFrame:
    """The ScanRefer-style table: overall mIoU / Acc@0.25 / Acc@0.5, then unique and multiple."""
    table = None
    for subset, metrics in SUBSET_COLUMNS.items():
        part = mean_std_table(summarize_runs(df, split, subset, keys), keys)
        part = part[[*keys, *metrics, "seeds"]].rename(columns={m: f"{subset} {PRETTY[m]}" for m in metrics})
        table = part if table is None else table.merge(part.drop(columns="seeds"), on=list(keys), how="left")
    return table[[c for c in table.columns if c != "seeds"] + ["seeds"]]


def gain_over(
    df: pd.DataFrame,
    method: str,
    baseline: str = "supervised",
    model: str = "student",
    split: str = "test",
    label_ratio: float | None = None,
) -> dict[str, float]:
    """Mean test mIoU gain of ``method`` over ``baseline`` (overall), with both seeds' spreads."""
    summary = summarize_runs(df, split, "overall")
    if label_ratio is not None:
        summary = summary[np.isclose(summary["label_ratio"], label_ratio)]
    a = summary[(summary["method"] == method) & (summary["model"] == model)]
    b = summary[(summary["method"] == baseline) & (summary["model"] == "student")]
    if a.empty or b.empty:
        return {"gain": float("nan"), "method_std": float("nan"), "baseline_std": float("nan")}
    return {"gain": float(a["miou_mean"].iloc[0] - b["miou_mean"].iloc[0]),
            "method_std": float(a["miou_std"].iloc[0]), "baseline_std": float(b["miou_std"].iloc[0])}  # fmt: skip


def gain_table(
    rows_by_key: dict[object, pd.DataFrame],
    key: str,
    model: str = "student",
    pair: tuple[str, str] = ("supervised", "3drest"),
    names: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per key (a label ratio, a benchmark): each method's test mIoU (mean ± std, with the number of
    seeds where it has fewer than the pair), ``pair[1]``'s gain over ``pair[0]`` and each seed's gain (paired
    by seed: same labelled subset, same burn-in). ``names`` orders the methods (then any other present)."""
    out = []
    for value, rows in rows_by_key.items():
        part = rows[(rows["split"] == "test") & (rows["subset"] == "overall") & (rows["model"] == model)]
        by_seed = {m: part[part["method"] == m].set_index("seed")["miou"] for m in pair}
        per_seed = (by_seed[pair[1]] - by_seed[pair[0]]).dropna()
        row: dict[str, object] = {key: value}
        for method in dict.fromkeys([*names, *part["method"]]):
            values = part[part["method"] == method]["miou"]
            if len(values):
                fewer = "" if len(values) >= len(per_seed) else f" ({len(values)} seed{'s' * (len(values) > 1)})"
                row[f"{method} mIoU"] = mean_std_cell(values.mean(), values.std()) + fewer
        gain = by_seed[pair[1]].mean() - by_seed[pair[0]].mean()
        row.update({"gain": round(float(gain), 2), "gain per seed": seed_gains(per_seed),
                    "seeds": len(per_seed)})  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)


def ablation_table(df: pd.DataFrame, model: str = "student", method: str = "3drest") -> pd.DataFrame:
    """The ablation rows of ``method`` (3DResT: TSCS x QDW), in the paper's order, a yes/no column per component."""
    rows = ablation_rows(method)
    part = df[df["method"].isin(list(rows)) & (df["model"] == model)]
    table = results_table(part, keys=("method",))
    components = next(iter(rows.values()))["components"]
    for i, name in enumerate(components, start=1):
        table.insert(i, name, [("yes" if rows[m]["components"][name] else "no") for m in table["method"]])
    order = {m: i for i, m in enumerate(rows)}
    return table.sort_values("method", key=lambda col: col.map(order)).reset_index(drop=True)


def _with_and_without(
    df: pd.DataFrame, model: str, methods: tuple[str, ...], suffix: str, column: str, values: tuple[str, str]
) -> pd.DataFrame:
    """Runs named ``<method>`` and ``<method><suffix>``, each method's plain row first, in ``methods``' order,
    with ``column`` saying which is which (``values``: plain, suffixed)."""
    table = results_table(df[df["model"] == model], keys=("method",))
    table.insert(1, column, [values[m.endswith(suffix)] for m in table["method"]])
    order = {m: i for i, m in enumerate(methods)}
    rank = {m: (order.get(m.removesuffix(suffix), len(order)), m.endswith(suffix)) for m in table["method"]}
    return table.sort_values("method", key=lambda col: col.map(rank)).reset_index(drop=True)


def gate_table(df: pd.DataFrame, model: str = "student") -> pd.DataFrame:
    """Each teacher method without and then with the sentence gate (``gate_grid``), with a gate column."""
    return _with_and_without(df, model, teacher_methods(), GATED_SUFFIX, "gate", ("no", "yes"))


def score_table(df: pd.DataFrame, model: str = "student") -> pd.DataFrame:
    """Each method of ``score_grid`` with the score head trained as 3D-STMN's, then on every sample."""
    return _with_and_without(df, model, SCORE_METHODS, SCORE_ALL_SUFFIX, "score head trained on",
                             ("IoU > 0.5", "every sample"))  # fmt: skip


def sweep_table(df: pd.DataFrame, results: list[RunResult], key: str, model: str = "student") -> pd.DataFrame:
    """Test metrics against the swept config value (read back from each run's saved config), with what
    TSCS promoted at that value (mean over seeds): how many pseudo-labels, and the share of them with
    IoU > 0.5 against the hidden truth (analysis only: no decision reads it)."""
    value_of = {r.summary["config_hash"]: r.flat_config()[key] for r in results}
    part = df[df["model"] == model].assign(**{key: lambda d: d["config_hash"].map(value_of)})
    summary = summarize_runs(part, by=(key, "model"))
    promo = pd.DataFrame(
        {
            key: [value_of[r.summary["config_hash"]] for r in results],
            "promoted": [len(r.promotions) for r in results],
            "promoted_right": [
                float((r.promotions["true_iou"] > 0.5).mean()) if len(r.promotions) else float("nan") for r in results
            ],
        }
    )
    promo = promo.groupby(key, as_index=False)[["promoted", "promoted_right"]].mean()
    return summary.merge(promo, on=key, how="left").sort_values(key).reset_index(drop=True)


def schedule_numbers(df: pd.DataFrame, results: list[RunResult], model: str = "student") -> pd.DataFrame:
    """One row per (schedule length, seed): supervised and 3DResT mIoU on val and test, and the training
    seconds that seed costs (see ``schedule_table``)."""
    config_of = {r.summary["config_hash"]: r.flat_config() for r in results}
    # rows by the runs' configs: a schedule other than the profile's is labelled "<method>-<steps>steps"
    part = df[(df["model"] == model) & (df["subset"] == "overall") & df["config_hash"].astype(str).isin(config_of)]
    part = part.assign(steps=part["config_hash"].map(lambda h: config_of[h]["steps"]),
                       method=part["config_hash"].map(lambda h: config_of[h]["method"]))  # fmt: skip
    part = part[part["method"].isin(SCHEDULE_METHODS)]
    wide = part.pivot_table(index=["steps", "seed"], columns=["split", "method"], values="miou")
    wide.columns = [f"{method} {split}" for split, method in wide.columns]

    def timing(result: RunResult) -> dict[str, object]:
        cfg = config_of[result.summary["config_hash"]]
        return {"steps": cfg["steps"], "method": cfg["method"], "burn_in_steps": cfg["burn_in_steps"],
                "seed": result.summary["seed"], "seconds": result.summary["train_seconds"]}  # fmt: skip

    timed = pd.DataFrame([timing(r) for r in results])
    timed = timed.pivot_table(index=["steps", "seed"], columns="method", values=["seconds", "burn_in_steps"])
    steps = timed.index.get_level_values("steps").to_numpy()
    sup_burn_in = timed[("burn_in_steps", "supervised")].to_numpy()
    # the burn-in runs the supervised run's own steps (the shared checkpoint keeps no clock)
    seconds = timed[("seconds", "supervised")] * steps / (steps - sup_burn_in) + timed[("seconds", "3drest")]
    out = wide.join(seconds.rename("seconds per seed")).reset_index()
    out.insert(1, "burn_in_steps", sup_burn_in.astype(int))
    return out


def schedule_table(df: pd.DataFrame, results: list[RunResult], model: str = "student") -> pd.DataFrame:
    """Supervised and 3DResT at each schedule length (``schedule_grid``): val mIoU (where a schedule is chosen),
    test mIoU, 3DResT's gain on both with its per-seed values, and the training minutes one seed costs.

    Minutes per seed = the supervised run's phase x steps / (steps - burn-in) (its shared burn-in trains the
    same supervised steps) + 3DResT's own phase, from each run's ``train_seconds`` (one CPU thread per run,
    two runs at a time on the classroom's 2 cores).
    """
    numbers = schedule_numbers(df, results, model)
    rows = []
    for steps, group in numbers.groupby("steps", sort=True):
        row: dict[str, object] = {"steps": int(steps), "burn-in": int(group["burn_in_steps"].iloc[0])}
        for split in ("val", "test"):
            for method, name in (("supervised", "supervised"), ("3drest", "3DResT")):
                values = group[f"{method} {split}"]
                row[f"{name} {split}"] = mean_std_cell(values.mean(), values.std())
            gain = group[f"3drest {split}"] - group[f"supervised {split}"]
            row[f"gain {split}"] = round(float(gain.mean()), 2)
            row[f"gain {split} per seed"] = seed_gains(gain)
        row["training minutes per seed"] = round(float(group["seconds per seed"].mean()) / 60, 1)
        rows.append(row)
    return pd.DataFrame(rows)


def plot_schedule(numbers: pd.DataFrame) -> plt.Figure:
    """Val mIoU of supervised and 3DResT against the training minutes a seed costs (``schedule_numbers``)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    per_steps = numbers.groupby("steps", sort=True)
    minutes = per_steps["seconds per seed"].mean() / 60
    for method, name in (("supervised", "supervised"), ("3drest", "3DResT")):
        val = per_steps[f"{method} val"]
        ax.errorbar(minutes.to_numpy(), val.mean().to_numpy(), yerr=val.std().fillna(0).to_numpy(), marker="o",
                    capsize=3, label=name)  # fmt: skip
    for steps, x in minutes.items():
        ax.annotate(f"{steps} steps", (x, per_steps["3drest val"].mean()[steps]), textcoords="offset points",
                    xytext=(4, 6), fontsize=7)  # fmt: skip
    ax.set(xlabel="training minutes per seed (burn-in + supervised + 3DResT)", ylabel="val mIoU (%)",
           title="What the gain costs: schedule length")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def promotion_summary(result: RunResult) -> str:
    """One paragraph on what TSCS promoted in a run."""
    promo = result.promotions
    if not len(promo):
        return "TSCS promoted no pseudo-label in this run."
    good = float((promo["true_iou"] > 0.5).mean())
    return (
        f"TSCS promoted {len(promo)} pseudo-labels between steps {int(promo['step'].min())} and "
        f"{int(promo['step'].max())}; {good:.1%} of them have IoU > 0.5 with the hidden ground truth "
        f"(mean true IoU {promo['true_iou'].mean():.3f}, mean correl {promo['correl'].mean():.3f})."
    )


# label-free quantities logged per unlabelled encounter (train.unsupervised_terms) that a promotion rule could read
PROMOTION_SIGNALS = {
    "correl": "correl: IoU(student, teacher mask), TSCS's signal",
    "teacher_score": "teacher's score head (predicted IoU), RefTeacher-style's weight",
    "named_share": "share of the pseudo-mask on classes the sentence names (what semi/gate.py thresholds)",
    "pseudo_sp": "superpoints in the pseudo-mask",
}


def promotion_signals(result: RunResult, threshold: float = 0.5) -> pd.DataFrame:
    """Which label-free quantity tells a right pseudo-label (IoU > ``threshold`` with the hidden truth) from a wrong
    one, over every unlabelled encounter of a run: each signal's mean on right and on wrong pseudo-labels and its
    AUC (``weight_auc``: 0.5 separates nothing, 1 perfectly). Analysis only: the loop never reads the hidden truth.
    Runs trained before these columns were logged give the correl row alone."""
    log = result.pseudo_log
    columns = ["signal", "meaning", "share right", "mean if right", "mean if wrong", "AUC"]
    if not len(log):
        return pd.DataFrame(columns=columns)
    right = (log["true_iou"] > threshold).to_numpy()
    rows = []
    for name, meaning in PROMOTION_SIGNALS.items():
        if name in log:
            values = log[name].astype(float).to_numpy()
            mean_right = values[right].mean() if right.any() else float("nan")
            mean_wrong = values[~right].mean() if (~right).any() else float("nan")
            rows.append([name, meaning, right.mean(), mean_right, mean_wrong, weight_auc(values, right)])
    return pd.DataFrame(rows, columns=columns)


def write_table(table: pd.DataFrame, name: str, results_dir: str | Path, caption: str, folder: str = "tables") -> Path:
    """``results_dir/<folder>/<name>.csv`` and ``.md`` side by side (atomic), registered in the index."""
    tables_dir = Path(results_dir) / folder
    atomic_write_csv(tables_dir / f"{name}.csv", table)
    markdown = f"{caption}\n\n" + table.to_markdown(index=False) + "\n"
    md_path = atomic_write_text(tables_dir / f"{name}.md", markdown)
    report.register(results_dir, md_path, caption)
    report.register(results_dir, tables_dir / f"{name}.csv", caption + " (CSV)")
    return md_path


def save_figure(fig: plt.Figure, name: str, results_dir: str | Path, caption: str, folder: str = "figures") -> Path:
    """``results_dir/<folder>/<name>.png`` (atomic), registered in the index."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    path = atomic_write_bytes(Path(results_dir) / folder / f"{name}.png", buffer.getvalue())
    report.register(results_dir, path, caption)
    return path


def plot_learning_curves(results: dict[str, RunResult]) -> plt.Figure:
    """Validation mIoU over steps: one colour per run label, its student solid and its teacher dashed, so a
    method's two models read as a pair; the legend names the colours once and the two line styles once."""
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    methods, styles = [], {}
    for i, (label, result) in enumerate(results.items()):
        hist, colour = result.history, colours[i % len(colours)]
        for model, style in (("student", "-"), ("teacher", "--")):
            col = f"val_miou_{model}"
            if col in hist and hist[col].notna().any():
                part = hist[hist[col].notna()]
                ax.plot(part["step"] + 1, 100 * part[col], style, color=colour)
                styles[model] = style
        methods.append(Line2D([], [], color=colour, lw=4, label=label))
    keys = [Line2D([], [], color="0.35", ls=style, label=f"{model} ({'solid' if style == '-' else 'dashed'})")
            for model, style in styles.items()]  # fmt: skip
    ax.set(xlabel="step", ylabel="val mIoU (%)", title="Learning curves: student (solid) and teacher (dashed)")
    ax.legend(handles=[*methods, *keys], fontsize=7, loc="lower right", ncols=2)
    ax.grid(alpha=0.3)
    return fig


def plot_burn_in(results: list[RunResult], burn_in_steps: int) -> plt.Figure:
    """Supervised validation curves with the hand-over step marked: what the teacher inherits."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for result in results:
        hist = result.history
        part = hist[hist["val_miou_student"].notna()] if "val_miou_student" in hist else hist.iloc[:0]
        ax.plot(part["step"] + 1, 100 * part["val_miou_student"], marker=".", label=f"seed {result.summary['seed']}")
    ax.axvline(burn_in_steps, color="k", ls="--", lw=1, label="hand-over (end of burn-in)")
    ax.set(xlabel="step", ylabel="val mIoU (%)", title="Supervised training and the burn-in hand-over")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_promotions(result: RunResult) -> plt.Figure:
    """TSCS promotions over time and the precision of promoted pseudo-labels (IoU > 0.5 with truth).

    The x axis starts at step 0 and shades what comes before the first possible promotion, read from the
    run's config (``tscs.first_promotion_step``): the burn-in (no teacher yet), then ``tscs_warmup`` steps
    after the hand-over; so the reader sees why the curves start where they do.
    """
    ssl = result.config().ssl
    first = first_promotion_step(ssl)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.axvspan(0, ssl.burn_in_steps, color="0.88", lw=0)
    ax.axvspan(ssl.burn_in_steps, first, color="0.94", lw=0)
    ax.axvline(first, color="k", ls=":", lw=1)
    handles = [Patch(color="0.88", label=f"burn-in: steps 0-{ssl.burn_in_steps - 1}, no teacher"),
               Patch(color="0.94", label=f"TSCS warm-up: {ssl.tscs_warmup} steps after the hand-over"
                     if ssl.tscs_warmup else "no TSCS warm-up (tscs_warmup = 0)")]  # fmt: skip
    promo = result.promotions
    if len(promo):
        promo = promo.sort_values("step")
        good = (promo["true_iou"] > 0.5).cumsum() / np.arange(1, len(promo) + 1)
        handles += ax.plot(promo["step"], np.arange(1, len(promo) + 1), color="tab:blue", label="promoted samples")
        ax2 = ax.twinx()
        handles += ax2.plot(promo["step"], 100 * good, color="tab:red",
                            label="precision so far (IoU > 0.5 with truth)")  # fmt: skip
        ax2.set_ylabel("precision (%)", color="tab:red")
        ax2.set_ylim(0, 105)
    else:
        ax.text(0.5, 0.5, "TSCS promoted no pseudo-label in this run", transform=ax.transAxes, ha="center",
                bbox={"facecolor": "white", "lw": 0})  # fmt: skip
    steps = int(result.history["step"].max()) + 1 if "step" in result.history and len(result.history) else first
    ax.set_xlim(0, max(steps, first + 1))
    ax.set(xlabel="step", ylabel="promoted samples",
           title=f"TSCS promotions: possible from step {first} = burn-in {ssl.burn_in_steps} "
                 f"+ warm-up {ssl.tscs_warmup}")  # fmt: skip
    ax.title.set_fontsize(10)
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9)
    return fig


def plot_qdw_scatter(result: RunResult, max_points: int = 3000) -> plt.Figure:
    """The weight each pseudo-label was actually given (``pseudo_log.weight``) against its true quality.

    Under 3DResT the weight is QDW's ``correl`` for samples TSCS kept unlabelled and 0 for promoted
    ones (they count in L_sup instead); promoted samples are drawn as red crosses at weight 0, so
    they are neither hidden among low-quality pseudo-labels nor misplaced at their ``correl``.
    Dots are coloured by training step (colour bar). ``r`` is the correlation of weight and true IoU over
    the samples that were weighted; where either is constant (every pseudo-mask empty, as after a few
    smoke steps) the title says there is nothing to correlate instead of "r = nan".
    """
    fig, ax = plt.subplots(figsize=(5.4, 4.5))
    log = result.pseudo_log
    if len(log):
        log = log.iloc[np.linspace(0, len(log) - 1, min(max_points, len(log))).astype(int)]
        promoted = log["promoted"].astype(bool) if "promoted" in log else pd.Series(False, index=log.index)
        weight = log["weight"] if "weight" in log else log["correl"]
        kept = log[~promoted]
        w_kept = weight[~promoted]
        points = ax.scatter(kept["true_iou"], w_kept, s=4, alpha=0.4, c=kept["step"], cmap="viridis",
                            label=f"weighted by QDW ({len(kept)})")  # fmt: skip
        fig.colorbar(points, ax=ax, label="training step", pad=0.02)
        if promoted.any():
            ax.scatter(log.loc[promoted, "true_iou"], weight[promoted], s=16, marker="x", c="tab:red",
                       label=f"promoted by TSCS: weight 0, in L_sup ({int(promoted.sum())})")  # fmt: skip
        ax.legend(loc="upper left", fontsize=7)
        title, none = _correlation_title(w_kept, kept["true_iou"], log)
        ax.set_title(title, fontsize=9)
        if none:
            ax.text(0.5, 0.5, title.replace(": ", ":\n"), transform=ax.transAxes, ha="center", va="center",
                    fontsize=11, bbox={"facecolor": "white", "lw": 0})  # fmt: skip
    else:
        ax.set_title("no pseudo-label was logged: nothing to correlate", fontsize=9)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="IoU(pseudo-mask, ground truth)", ylabel="weight applied (QDW: correl; promoted: 0)",
           xlim=(0, 1), ylim=(-0.05, 1.05))  # fmt: skip
    return fig


def _correlation_title(weight: pd.Series, true_iou: pd.Series, log: pd.DataFrame) -> tuple[str, bool]:
    """The title with ``r`` of weight and true IoU, or why there is none (an undefined r would print as
    "nan"); the flag says there is nothing to correlate."""
    sizes = log["pseudo_sp"] if "pseudo_sp" in log else log["correl"]  # logs before pseudo_sp: correl 0 if empty
    if not (sizes > 0).any():
        return f"every pseudo-mask is empty ({len(log)} logged): nothing to correlate", True
    if len(weight) < 3 or weight.std() == 0 or true_iou.std() == 0:
        return f"weight or true IoU is constant over the {len(weight)} weighted: nothing to correlate", True
    r = float(np.corrcoef(weight, true_iou)[0, 1])
    return f"QDW weight vs pseudo-label quality (r = {r:.2f} over weighted)", False


def weight_auc(weight: pd.Series | np.ndarray, right: pd.Series | np.ndarray) -> float:
    """Chance that a right pseudo-label (IoU > 0.5 with the hidden truth) gets a higher weight than a wrong
    one (ties count half): 0.5 is a weight that separates nothing; NaN when either group is empty."""
    weight, right = np.asarray(weight, dtype=float), np.asarray(right, dtype=bool)
    n_right, n_wrong = int(right.sum()), int((~right).sum())
    if not n_right or not n_wrong:
        return float("nan")
    ranks = pd.Series(weight).rank().to_numpy()  # average ranks: ties count half
    return float((ranks[right].sum() - n_right * (n_right + 1) / 2) / (n_right * n_wrong))


def plot_weight_by_correctness(results: dict[str, RunResult], late_share: float = 0.5) -> plt.Figure:
    """One panel per run: histograms of the weight given to right and to wrong pseudo-labels (IoU > 0.5 with
    the hidden truth, analysis only) over the last ``late_share`` of the semi phase. Each panel's AUC is
    computed from that panel's pseudo-labels alone and printed in its title and its legend's (three
    decimals: two runs that differ are not shown as equal). A weight that is the same for both (a confidence
    that never saw a wrong mask) cannot help a method."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.4 * len(results), 3.6), squeeze=False)
    bins = np.linspace(0, 1, 21)
    for ax, (name, result) in zip(axes[0], results.items(), strict=True):
        log = result.pseudo_log
        if len(log):
            log = log[log["step"] >= log["step"].min() + (1 - late_share) * (log["step"].max() - log["step"].min())]
            right = log["true_iou"] > 0.5
            for mask, label, colour in ((right, "right (IoU > 0.5)", "tab:green"), (~right, "wrong", "tab:red")):
                ax.hist(log.loc[mask, "weight"], bins=bins, alpha=0.55, color=colour, density=True,
                        label=f"{label}: {int(mask.sum())}")  # fmt: skip
            auc = weight_auc(log["weight"], right)
            ax.set_title(f"{name}: AUC {auc:.3f}", fontsize=9)
            legend = ax.legend(fontsize=7, loc="best", title=f"AUC {auc:.3f} over this panel's {len(log):,}")
            legend.get_title().set_fontsize(9)
        else:
            ax.set_title(f"{name}: no pseudo-label logged", fontsize=9)
        ax.set(xlabel="weight of the pseudo-label", ylabel="density", xlim=(0, 1))
    fig.tight_layout()
    return fig


def plot_ratio_curve(summary: pd.DataFrame, model: str = "student") -> plt.Figure:
    """Test mIoU against the labelled fraction, one line per method (log x axis).

    Error bars (± one std over seeds) are drawn only where a point has more than one seed, and kept out of
    the legend, which shows each method's line and its number of seeds; the y label says what the bars are.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    part = summary[summary["model"] == model]
    ratios = sorted(part["label_ratio"].unique())
    for method, rows in part.groupby("method", sort=False):
        rows = rows.sort_values("label_ratio")
        x = 100 * rows["label_ratio"].to_numpy()
        (line,) = ax.plot(x, rows["miou_mean"], marker="o", label=f"{method} ({_seed_count(rows['seeds'])})")
        spread = (rows["seeds"] > 1) & rows["miou_std"].notna()
        if spread.any():
            ax.errorbar(x[spread.to_numpy()], rows["miou_mean"][spread], yerr=rows["miou_std"][spread], fmt="none",
                        ecolor=line.get_color(), capsize=4, lw=1.2, label="_nolegend_")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks([100 * r for r in ratios], [f"{100 * r:g}%" for r in ratios])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="labelled descriptions", ylabel="test mIoU (%); bars: ± 1 std over seeds",
           title=f"Label-ratio curve ({model})")  # fmt: skip
    ax.legend(fontsize=8, title="method (seeds per point)", title_fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def _seed_count(seeds: pd.Series) -> str:
    lo, hi = int(seeds.min()), int(seeds.max())
    return f"{lo} seed{'s' * (lo > 1)}" if lo == hi else f"{lo}-{hi} seeds"


SWEEP_MIN_SPAN = 6.0  # mIoU: a sweep's y axis is never narrower, so seed-to-seed noise is not magnified


def sweep_points(df: pd.DataFrame, results: list[RunResult], key: str, model: str = "student") -> pd.DataFrame:
    """Test mIoU of every run of a sweep, one row per (swept value, seed): the dots of ``plot_sweep``."""
    value_of = {r.summary["config_hash"]: r.flat_config()[key] for r in results}
    part = df[(df["model"] == model) & (df["split"] == "test") & (df["subset"] == "overall")]
    part = part[part["config_hash"].astype(str).isin(value_of)]
    return (part.assign(**{key: part["config_hash"].map(value_of)})[[key, "seed", "miou"]]
            .sort_values([key, "seed"]).reset_index(drop=True))  # fmt: skip


def plot_sweep(summary: pd.DataFrame, key: str, points: pd.DataFrame | None = None, model: str = "student",
               min_span: float = SWEEP_MIN_SPAN, method: str = "3DResT") -> plt.Figure:  # fmt: skip
    """A sweep (``sweep_table``) as every seed's test mIoU (dots, from ``sweep_points``) and their mean (a bar
    across the column, with its value), one column per swept value, on a y range at least ``min_span`` mIoU
    wide (and wider than the seeds' spread), so that two values 0.1 mIoU apart do not look like a trend."""
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    part = summary[summary["model"] == model] if "model" in summary else summary
    part = part.sort_values(key)
    values = part[key].tolist()
    means = part["miou_mean"].to_numpy(dtype=float)
    observed = list(means)
    for i, (value, mean) in enumerate(zip(values, means, strict=True)):
        ax.hlines(mean, i - 0.3, i + 0.3, color="tab:blue", lw=2.5, label="mean over seeds" if i == 0 else None)
        ax.text(i + 0.32, mean, f"{mean:.2f}", va="center", fontsize=8, color="tab:blue")
        if points is not None and len(points):
            seeds = points[np.isclose(points[key].astype(float), float(value))]
            jitter = np.linspace(-0.15, 0.15, len(seeds)) if len(seeds) > 1 else np.zeros(len(seeds))
            ax.scatter(i + jitter, seeds["miou"], s=22, color="k", zorder=3, label="one seed" if i == 0 else None)
            observed += seeds["miou"].tolist()
    lo, hi = float(np.nanmin(observed)), float(np.nanmax(observed))
    span = max(min_span, 1.6 * (hi - lo))
    ax.set_ylim((lo + hi) / 2 - span / 2, (lo + hi) / 2 + span / 2)
    ax.set_xlim(-0.6, len(values) - 0.2)
    n_seeds = int(part["seeds"].max()) if "seeds" in part and len(part) else 0
    ax.set_xticks(range(len(values)), [f"{v:g}" for v in values])
    ax.set(xlabel=key, ylabel="test mIoU (%)",
           title=f"{method}: sweep over {key} ({n_seeds} seed{'s' * (n_seeds != 1)})")  # fmt: skip
    ax.title.set_fontsize(10)
    ax.text(0.01, 0.01, f"y axis ≥ {min_span:g} mIoU wide: seed-to-seed noise is not magnified",
            transform=ax.transAxes, fontsize=6.5, color="0.4")  # fmt: skip
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3, axis="y")
    return fig
