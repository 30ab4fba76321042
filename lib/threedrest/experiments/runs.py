"""Training runs on disk: keyed by config hash, resumable, reused unless forced.

A run folder ``<root>/<method>-r<ratio>-s<seed>-<hash>/`` holds ``config.json``, ``versions.json``,
``labelled_split.json`` (the labelled uids, unbiased-teacher's dataseed habit), ``checkpoint.pt``
while training, ``model.pt`` (best student and teacher), ``history.csv``, ``pseudo_log.csv``,
``promotions.csv``, ``metrics.csv`` (rows of results/tables/runs.csv), ``predictions_*.npz`` and,
written last, ``summary.json``: its presence means the run is complete.

Shared burn-in: every method at one (label ratio, seed) starts from the same supervised burn-in,
trained once and saved under ``<root>/burn_in/`` (``burn_in``); a run continues from it, so all
methods begin their semi-supervised phase from bit-identical students, pay only for their own
phase, and the supervised row is the same run continued. Continuing gives exactly the numbers of
training the burn-in inside the run (tested), so it changes no result and no config hash.

Reliability: every file is written atomically (``threedrest.io``); ``checkpoint.pt`` holds the whole
``TrainState`` (weights, optimiser, scheduler, RNG and data-stream states, TSCS pool, history), so a
run killed at any moment resumes to the same numbers; an unreadable checkpoint or finished run warns
and is rebuilt (a bad checkpoint is kept aside as ``checkpoint.pt.corrupt``). Under ``torchrun`` every
rank trains (``threedrest.distributed``) and rank 0 alone writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from threedrest import distributed, numerics, registry
from threedrest.config import Config, SSLConfig, flatten, parse_overrides
from threedrest.experiments.analysis import PseudoLabelLog, promotions_with_truth
from threedrest.experiments.policy import config_for, run_label
from threedrest.io import atomic_torch_save, atomic_write_csv, atomic_write_json, package_versions
from threedrest.train import checkpoint
from threedrest.train.evaluate import metric_rows
from threedrest.train.loop import final_evaluations, fit, history_frame
from threedrest.train.state import TrainState, init_state
from threedrest.train.workspace import Workspace

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
    return Path(root) / f"{run_label(cfg)}-r{ratio}-s{cfg.seed}-{cfg.hash()}"


def burn_in_config(cfg: Config) -> Config:
    """The burn-in ``cfg`` shares with every method at its label ratio and seed: supervised training
    with the same data, model and schedule (the lr milestones depend on the total steps)."""
    return dataclasses.replace(cfg, ssl=SSLConfig(method="supervised", burn_in_steps=cfg.ssl.burn_in_steps))


def burn_in_path(cfg: Config, root: str | Path = DEFAULT_ROOT) -> Path:
    b = burn_in_config(cfg)
    return Path(root) / "burn_in" / f"r{b.data.label_ratio:g}-s{b.seed}-b{b.ssl.burn_in_steps}-{b.hash()}.pt"


def burn_in(cfg: Config, root: str | Path = DEFAULT_ROOT, force: bool = False, progress: bool = False) -> Path:
    """Train the shared burn-in of ``cfg`` once (reused by hash) and return its checkpoint."""
    b = burn_in_config(cfg)
    path = burn_in_path(cfg, root)
    if path.exists() and not force:
        return path
    ws = Workspace.for_config(b)
    state = fit(b, ws, progress=progress, until=b.ssl.burn_in_steps)
    # wall-clock seconds belong to the process that trained the burn-in, not to the runs that continue
    # from it, and they would make the shared file differ between two otherwise identical machines
    state.history = [{**row, "seconds": float("nan")} for row in state.history]
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(path, state, b.hash())
    return path


def _continue_from_burn_in(cfg: Config, ws: Workspace, root: str | Path, log: PseudoLabelLog) -> TrainState | None:
    """A fresh state for ``cfg`` advanced to the end of its shared burn-in (None: train it in the run)."""
    if cfg.ssl.burn_in_steps <= 0 or distributed.world_size() > 1:  # torchrun ranks train it themselves
        return None
    expected = burn_in_config(cfg).hash()
    path = burn_in(cfg, root)
    try:
        return checkpoint.read(path, init_state(cfg, ws, [log]), expected)
    except Exception as err:  # an unreadable burn-in is trained again once, like a bad checkpoint
        warnings.warn(f"{path}: unreadable burn-in ({type(err).__name__}: {err}); training it again", stacklevel=2)
        return checkpoint.read(burn_in(cfg, root, force=True), init_state(cfg, ws, [log]), expected)


def _load_checkpoint(path: Path, cfg: Config, ws: Workspace, log: PseudoLabelLog) -> TrainState | None:
    """The saved state, or None (start afresh) when the file is unreadable or belongs to another config.

    Policy: a bad checkpoint warns, naming the file and the reason, and the run restarts from step 0
    (runs are deterministic, so only time is lost); the file is kept aside as ``checkpoint.pt.corrupt``
    (by ``run``). Checkpoints are written atomically, so this means outside damage, not a crash.
    """
    state = init_state(cfg, ws, [log])  # outside the try: a config error is not a corrupted checkpoint
    try:
        checkpoint.read(path, state, cfg.hash())
    except Exception as err:  # any unreadable checkpoint is handled the same way
        if distributed.is_main():
            warnings.warn(
                f"{path}: corrupted checkpoint ({type(err).__name__}: {err}); "
                f"moved aside to {path.name}.corrupt, restarting from step 0",
                stacklevel=2,
            )
        return None
    return state


def run(
    cfg: Config,
    root: str | Path = DEFAULT_ROOT,
    force: bool = False,
    progress: bool = True,
    resume: bool = True,
    checkpoint_every: int = 0,
    shared_burn_in: bool = True,
) -> RunResult:
    """Train and evaluate ``cfg`` once; later calls with the same config return the saved result.

    Under torchrun every rank trains (see ``threedrest.distributed``) and only rank 0 writes files.
    ``checkpoint_every`` > 0 also saves every that many steps (besides each evaluation).
    ``shared_burn_in`` continues from the shared burn-in (same numbers; False trains it in the run).
    """
    run_dir = run_dir_for(cfg, root)
    if not force and (run_dir / "summary.json").exists():
        try:
            return load_run(run_dir)
        except (OSError, ValueError) as err:  # JSON and CSV parse errors are ValueErrors
            if distributed.is_main():
                warnings.warn(f"{run_dir}: unreadable finished run ({err}); training it again", stacklevel=2)
    main = distributed.is_main()
    if not main:
        distributed.barrier()  # rank 0 builds missing data and feature caches first
    ws = Workspace.for_config(cfg)
    ckpt_path = run_dir / "checkpoint.pt"
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in run_dir.glob(".*.tmp"):  # temporary files of a writer that was killed
            stale.unlink(missing_ok=True)
        atomic_write_json(run_dir / "config.json", cfg.to_dict())
        # versions and the CPU code paths in force: the same versions round differently on AVX2 and AVX-512
        atomic_write_json(run_dir / "versions.json", {**package_versions(), "numerics": numerics.settings()})
        atomic_write_json(run_dir / "labelled_split.json", {"seed": cfg.seed, "uids": ws.lb_uids})
        distributed.barrier()
    state, log = None, PseudoLabelLog()
    if resume and not force and ckpt_path.exists():
        state = _load_checkpoint(ckpt_path, cfg, ws, log)
        distributed.barrier()  # every rank has read the file before rank 0 moves a bad one aside
        if state is None and main:
            ckpt_path.replace(ckpt_path.with_name(ckpt_path.name + ".corrupt"))
        elif state is not None and main:
            print(f"resuming {run_dir} from step {state.step}", file=sys.stderr)
    if state is None and shared_burn_in:
        state = _continue_from_burn_in(cfg, ws, root, log)
    start = time.perf_counter()
    state = fit(
        cfg,
        ws,
        progress=progress,
        state=state,
        on_checkpoint=lambda s: checkpoint.save(ckpt_path, s, cfg.hash()),
        checkpoint_every=checkpoint_every,
        observers=[log],
    )
    train_seconds = time.perf_counter() - start
    distributed.assert_same_weights(state.student, "student")
    if state.teacher is not None:
        distributed.assert_same_weights(state.teacher, "teacher")
    if not main:
        distributed.barrier()  # wait for rank 0's files, then read them like rank 0 does
        return load_run(run_dir)

    keys = {"method": run_label(cfg), "label_ratio": cfg.data.label_ratio, "seed": cfg.seed}
    rows = []
    for (model, split), evaluation in final_evaluations(cfg, ws, state).items():
        evaluation.save(run_dir / f"predictions_{split}_{model}.npz")
        rows += metric_rows(evaluation, **keys, model=model, split=split, config_hash=cfg.hash())
    metrics = pd.DataFrame(rows)
    atomic_write_csv(run_dir / "metrics.csv", metrics)
    atomic_write_csv(run_dir / "history.csv", history_frame(state))
    atomic_write_csv(run_dir / "pseudo_log.csv", log.frame())
    promotions = promotions_with_truth(state.method, ws)
    atomic_write_csv(run_dir / "promotions.csv", promotions)
    atomic_torch_save(run_dir / "model.pt", {name: best["state"] for name, best in state.best.items()})
    summary = {
        **keys,
        "config_hash": cfg.hash(),
        "profile": cfg.profile,
        "train_seconds": train_seconds,
        "best_step": {name: best["step"] for name, best in state.best.items()},
        "n_labelled": len(ws.lb_uids),
        "n_promoted": len(promotions),
        "test_miou": {m: float(metrics.query("split == 'test' and subset == 'overall' and model == @m")["miou"].iloc[0])
                      for m in metrics["model"].unique()},
    }  # fmt: skip
    atomic_write_json(run_dir / "summary.json", summary)
    ckpt_path.unlink(missing_ok=True)
    distributed.barrier()
    return load_run(run_dir)


def _read_csv(path: Path) -> pd.DataFrame:
    """A run's CSV; config hashes stay strings ("364e27407585" would otherwise parse as a float)."""
    try:
        return pd.read_csv(path, dtype={"config_hash": str})
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest train", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--method", default=None, help=f"one of the registry: {', '.join(registry.names())}")
    parser.add_argument("--ratio", type=float, default=None, help="labelled fraction of train, in (0, 1]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="any flat config key")
    parser.add_argument("--out", default=str(DEFAULT_ROOT), help="folder of run directories")
    parser.add_argument("--force", action="store_true", help="retrain even if a finished run exists")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also checkpoint every N steps")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = parse_overrides(args.set)
    for key, value in (("method", args.method), ("label_ratio", args.ratio), ("seed", args.seed)):
        if value is not None:
            overrides[key] = value
    if args.device is not None:
        overrides["device"] = args.device
    cfg = config_for(args.profile, **overrides)
    distributed.init_from_env(cfg.train.device)  # torchrun: join the process group (gloo/nccl)
    main_rank = distributed.is_main()
    try:
        result = run(cfg, root=args.out, force=args.force, checkpoint_every=args.checkpoint_every)
    finally:
        distributed.shutdown()
    if main_rank:
        table = result.metrics.query("split == 'test'")[["model", "subset", "miou", "acc25", "acc50", "n"]]
        print(f"run: {result.run_dir}\n{table.to_string(index=False)}")
    return 0
