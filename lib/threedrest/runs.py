"""Training runs on disk: keyed by config hash, resumable, reused unless forced.

A run folder ``<root>/<method>-r<ratio>-s<seed>-<hash>/`` holds ``config.json``, ``versions.json``,
``labelled_split.json`` (the labelled uids, unbiased-teacher's dataseed habit), ``checkpoint.pt``
while training, ``model.pt`` (best student and teacher), ``history.csv``, ``pseudo_log.csv``,
``promotions.csv``, ``metrics.csv`` (rows of results/tables/runs.csv), ``predictions_*.npz`` and,
written last, ``summary.json``: its presence means the run is complete.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from threedrest.config import Config, ConfigError, flatten
from threedrest.evaluate import metric_rows
from threedrest.io import atomic_torch_save, atomic_write_csv, atomic_write_json, package_versions
from threedrest.methods import method_label
from threedrest.train import TrainState, final_evaluations, fit, history_frame, init_state
from threedrest.workspace import Workspace

DEFAULT_ROOT = Path("results/runs")


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    metrics: pd.DataFrame  # rows of runs.csv
    history: pd.DataFrame
    pseudo_log: pd.DataFrame
    promotions: pd.DataFrame

    def config(self) -> Config:
        return Config.from_dict(json.loads((self.run_dir / "config.json").read_text()))

    def flat_config(self) -> dict[str, Any]:
        return flatten(self.config())


def run_dir_for(cfg: Config, root: str | Path = DEFAULT_ROOT) -> Path:
    ratio = f"{cfg.data.label_ratio:g}"
    return Path(root) / f"{method_label(cfg.ssl)}-r{ratio}-s{cfg.seed}-{cfg.hash()}"


def _save_checkpoint(path: Path, state: TrainState) -> None:
    atomic_torch_save(
        path,
        {
            "step": state.step,
            "student": state.student.state_dict(),
            "teacher": None if state.teacher is None else state.teacher.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "scheduler": state.scheduler.state_dict(),
            "lb_stream": state.lb_stream.state_dict(),
            "ulb_stream": None if state.ulb_stream is None else state.ulb_stream.state_dict(),
            "aug_generator": state.aug_generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "pool": state.pool.state_dict(),
            "best": state.best,
            "history": state.history,
            "pseudo_log": state.pseudo_log,
        },
    )


def _load_checkpoint(path: Path, cfg: Config, ws: Workspace) -> TrainState:
    from threedrest.ema import make_teacher

    try:
        ckpt = torch.load(path, map_location=cfg.train.device, weights_only=False)
    except Exception as err:
        raise RuntimeError(
            f"{path}: corrupted checkpoint ({type(err).__name__}: {err}); delete it to restart"
        ) from None
    state = init_state(cfg, ws)
    state.step = int(ckpt["step"])
    state.student.load_state_dict(ckpt["student"])
    if ckpt["teacher"] is not None:
        state.teacher = make_teacher(state.student)
        state.teacher.load_state_dict(ckpt["teacher"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scheduler.load_state_dict(ckpt["scheduler"])
    state.lb_stream.load_state_dict(ckpt["lb_stream"])
    if state.ulb_stream is not None and ckpt["ulb_stream"] is not None:
        state.ulb_stream.load_state_dict(ckpt["ulb_stream"])
    state.aug_generator.set_state(ckpt["aug_generator"])
    torch.set_rng_state(ckpt["torch_rng"])
    state.pool.load_state_dict(ckpt["pool"])
    state.best, state.history, state.pseudo_log = ckpt["best"], ckpt["history"], ckpt["pseudo_log"]
    return state


def run(
    cfg: Config, root: str | Path = DEFAULT_ROOT, force: bool = False, progress: bool = True, resume: bool = True
) -> RunResult:
    """Train and evaluate ``cfg`` once; later calls with the same config return the saved result."""
    run_dir = run_dir_for(cfg, root)
    if not force and (run_dir / "summary.json").exists():
        return load_run(run_dir)
    ws = Workspace.for_config(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "config.json", cfg.to_dict())
    atomic_write_json(run_dir / "versions.json", package_versions())
    atomic_write_json(run_dir / "labelled_split.json", {"seed": cfg.seed, "uids": ws.lb_uids})
    ckpt_path = run_dir / "checkpoint.pt"
    state = _load_checkpoint(ckpt_path, cfg, ws) if resume and not force and ckpt_path.exists() else None
    start = time.perf_counter()
    state = fit(cfg, ws, progress=progress, state=state, on_checkpoint=lambda s: _save_checkpoint(ckpt_path, s))
    train_seconds = time.perf_counter() - start

    keys = {"method": method_label(cfg.ssl), "label_ratio": cfg.data.label_ratio, "seed": cfg.seed}
    rows = []
    for (model, split), evaluation in final_evaluations(cfg, ws, state).items():
        evaluation.save(run_dir / f"predictions_{split}_{model}.npz")
        rows += metric_rows(evaluation, **keys, model=model, split=split, config_hash=cfg.hash())
    metrics = pd.DataFrame(rows)
    atomic_write_csv(run_dir / "metrics.csv", metrics)
    atomic_write_csv(run_dir / "history.csv", history_frame(state))
    atomic_write_csv(run_dir / "pseudo_log.csv", pd.DataFrame(state.pseudo_log))
    atomic_write_csv(run_dir / "promotions.csv", state.pool.log())
    atomic_torch_save(run_dir / "model.pt", {name: best["state"] for name, best in state.best.items()})
    summary = {
        **keys,
        "config_hash": cfg.hash(),
        "profile": cfg.profile,
        "train_seconds": train_seconds,
        "best_step": {name: best["step"] for name, best in state.best.items()},
        "n_labelled": len(ws.lb_uids),
        "n_promoted": len(state.pool),
        "test_miou": {m: float(metrics.query("split == 'test' and subset == 'overall' and model == @m")["miou"].iloc[0])
                      for m in metrics["model"].unique()},
    }  # fmt: skip
    atomic_write_json(run_dir / "summary.json", summary)
    ckpt_path.unlink(missing_ok=True)
    return load_run(run_dir)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def load_run(run_dir: str | Path) -> RunResult:
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    return RunResult(
        run_dir=run_dir,
        summary=summary,
        metrics=_read_csv(run_dir / "metrics.csv"),
        history=_read_csv(run_dir / "history.csv"),
        pseudo_log=_read_csv(run_dir / "pseudo_log.csv"),
        promotions=_read_csv(run_dir / "promotions.csv"),
    )


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest train", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--method", default=None, help="supervised, mean_teacher, refteacher or 3drest")
    parser.add_argument("--ratio", type=float, default=None, help="labelled fraction of train, in (0, 1]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="any flat config key")
    parser.add_argument("--out", default=str(DEFAULT_ROOT), help="folder of run directories")
    parser.add_argument("--force", action="store_true", help="retrain even if a finished run exists")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = parse_overrides(args.set)
    for key, value in (("method", args.method), ("label_ratio", args.ratio), ("seed", args.seed)):
        if value is not None:
            overrides[key] = value
    if args.device is not None:
        overrides["device"] = args.device
    cfg = Config.from_flat(args.profile, **overrides)
    result = run(cfg, root=args.out, force=args.force)
    table = result.metrics.query("split == 'test'")[["model", "subset", "miou", "acc25", "acc50", "n"]]
    print(f"run: {result.run_dir}\n{table.to_string(index=False)}")
    return 0
