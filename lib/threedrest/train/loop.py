"""One training loop for every method: burn-in, hand-over, then the EMA teacher and the method's terms.

Per step (a teacher method, after burn-in)::

    L = L_sup(student(x_lb), y_lb) + lambda_u * L_unsup          (L_unsup: the method's, semi/methods)
    theta_t <- a theta_t + (1 - a) theta_s                       (EMA)

The loop never names a method or reads a method's options: it calls the method's hooks
(``semi/methods/base.py``) and applies the ``Moves`` they return. It reads no hidden label either;
the analysis log is an observer the experiments layer attaches (``experiments/analysis.py``). The
labelled and unlabelled forward passes are separate calls so that, with lambda_u = 0, the loop
computes exactly the supervised run's numbers.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from threedrest import distributed
from threedrest import progress as progress_
from threedrest.config import Config, refuse_training
from threedrest.data.sampler import Moves
from threedrest.net import augment
from threedrest.net.batching import Batch
from threedrest.net.decoder import apply_model
from threedrest.net.losses import referring_loss
from threedrest.semi.ema import make_teacher, phase, since_handover, update_teacher
from threedrest.semi.methods.base import StepContext
from threedrest.semi.step import SemiStep, semi_step, views
from threedrest.train.evaluate import Evaluation, evaluate
from threedrest.train.state import Observer, TrainState, init_state, models_of
from threedrest.train.workspace import Workspace


def amp_on(cfg: Config) -> bool:
    """Mixed precision runs on CUDA only."""
    return cfg.train.amp and cfg.train.device == "cuda"


def supervised_loss(cfg: Config, ws: Workspace, state: TrainState) -> tuple[torch.Tensor, Batch]:
    """L_sup on one labelled batch (the method may mix in samples it labelled itself); returns (loss, batch)."""
    positions = state.method.labelled(state.lb_stream.next())
    batch = state.method.relabel(ws.collate([ws.train[p] for p in positions]), positions).to(cfg.train.device)
    if cfg.train.lb_augment:  # few labels overfit fast: the labelled batch gets a strong view too
        batch = augment.strong(batch, state.lb_aug_generator)
    n, batch = len(batch), distributed.local_batch(batch)  # distributed: this rank's rows
    out = apply_model(state.student, batch, amp_on(cfg))
    sup = referring_loss(
        out.sp_logits, out.scores, out.sample_logits, batch.sp_target, batch.sample_target, batch.sp_mask, cfg.model
    )
    return distributed.global_rows(sup["total"], n).mean(), batch


def next_semi_step(cfg: Config, ws: Workspace, state: TrainState) -> SemiStep:
    """The next unlabelled batch through teacher (weak view) and student (strong view): ``semi_step``."""
    positions = state.ulb_stream.next()
    batch = ws.batch(positions)
    view_w, view_s = views(batch, state.ulb_aug_generator, cfg.ssl)
    return semi_step(state.teacher, state.student, batch, view_w, view_s, cfg.ssl, cfg.model, positions,
                     state.step, since_handover(state.step, cfg.ssl.burn_in_steps), amp_on(cfg))  # fmt: skip


def unsupervised_loss(cfg: Config, ws: Workspace, state: TrainState) -> tuple[torch.Tensor, dict[str, Any]]:
    """L_unsup (before lambda_u) on the next unlabelled batch, as the method makes it; with its logs."""
    step = next_semi_step(cfg, ws, state)
    out = state.method.unsupervised(step)
    apply_moves(state, out.moves)
    logs = {"unsup": out.loss.item(), "correl": float(step.correl.mean()), **out.logs}
    for observer in state.observers:
        logs.update(observer(state.step, step, out))
    return out.loss, logs


def apply_moves(state: TrainState, moves: Moves) -> None:
    """Samples a method promoted leave the unlabelled stream (and join the labelled one if it says so)."""
    if moves.joined:
        state.lb_stream.add(moves.joined)
    if moves.left:
        state.ulb_stream.remove(moves.left)


def train_step(cfg: Config, ws: Workspace, state: TrainState) -> dict[str, Any]:
    """One optimiser step (USB's ``train_step``): the method's terms, ``sup + lambda_u * unsup``, EMA."""
    method = state.method
    step_phase = phase(state.step, cfg.ssl.burn_in_steps) if state.ulb_stream is not None else "burn_in"
    if step_phase == "handover":
        state.teacher = make_teacher(state.student)
    logs: dict[str, Any] = {"step": state.step, "phase": step_phase}
    if step_phase == "semi":
        ctx = StepContext(state.step, since_handover(state.step, cfg.ssl.burn_in_steps), state.teacher, state.student,
                          list(state.ulb_stream.positions), ws.batch, amp_on(cfg))  # fmt: skip
        moves, before_logs = method.before_step(ctx)
        apply_moves(state, moves)
        logs.update(before_logs)
    state.student.train()
    sup, batch = supervised_loss(cfg, ws, state)
    unsup = torch.zeros((), device=sup.device)
    if step_phase != "burn_in" and state.ulb_stream.positions:  # a method may promote the whole pool
        unsup, unsup_logs = unsupervised_loss(cfg, ws, state)
        logs.update(unsup_logs)
    loss = sup + method.lambda_u * unsup
    logs.update({"sup": sup.item(), "lambda_u": method.lambda_u})
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"non-finite loss {loss.item()} at step {state.step}{_non_finite_inputs(batch)} ({logs})"
        )
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    distributed.all_reduce_grads(state.student.parameters())  # sum of partials = gradient of the global loss
    if cfg.train.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(state.student.parameters(), cfg.train.grad_clip)
    state.optimizer.step()
    state.scheduler.step()
    if state.teacher is not None:
        update_teacher(state.teacher, state.student, cfg.ssl.ema_momentum, cfg.ssl.ema_buffers)
    logs.update(
        {"loss": loss.item(), "lr": state.optimizer.param_groups[0]["lr"], "lb_pool": len(state.lb_stream.positions)}
    )
    state.step += 1
    return logs


def _non_finite_inputs(batch: Any) -> str:
    """Where a non-finite loss comes from, when it is the inputs: field and description uids."""
    found = []
    for name, value in vars(batch).items():
        if torch.is_tensor(value) and value.is_floating_point() and value.dim() > 0:
            bad = ~torch.isfinite(value.reshape(len(batch), -1)).all(1)
            if bad.any():
                uids = [batch.uids[i] for i in bad.nonzero().flatten().tolist()]
                found.append(f"{name} of {uids}")
    return f": non-finite inputs in {'; '.join(found)} (a corrupted feature cache?)" if found else ""


def validate(cfg: Config, ws: Workspace, state: TrainState) -> dict[str, float]:
    """Evaluate on val; keep each model's best weights by val mIoU (selection never sees test)."""
    scores = {}
    for name, model in models_of(state).items():
        val = evaluate(model, ws.val, ws.collate, cfg.train.device)
        miou = float(np.mean(val.ious)) if len(val.ious) else float("nan")
        scores[f"val_miou_{name}"] = miou
        if name not in state.best or miou > state.best[name]["miou"]:
            state.best[name] = {"miou": miou, "step": state.step, "state": copy.deepcopy(model.state_dict())}
    return scores


def fit(
    cfg: Config,
    ws: Workspace,
    progress: bool = True,
    state: TrainState | None = None,
    on_checkpoint: Callable[[TrainState], None] | None = None,
    checkpoint_every: int = 0,
    until: int | None = None,
    observers: list[Observer] | None = None,
) -> TrainState:
    """Train to ``cfg.train.steps`` (or stop at step ``until``: the shared burn-in); returns the state
    with the best weights per model kept.

    ``on_checkpoint`` runs after each evaluation and, with ``checkpoint_every`` > 0, every that many
    steps (not a config field: how often a run is saved never changes its numbers or its hash).
    ``observers`` watch each unlabelled batch (ignored when ``state`` is given: it holds its own).
    """
    if state is None or state.step < cfg.train.steps:
        refuse_training(f"a finished {cfg.ssl.method} run (seed {cfg.seed}, ratio {cfg.data.label_ratio:g}, "
                        f"config hash {cfg.hash()})")  # fmt: skip
    if cfg.train.num_threads > 0:
        torch.set_num_threads(cfg.train.num_threads)
    state = state or init_state(cfg, ws, observers)
    progress = progress and distributed.is_main()
    desc = f"{cfg.ssl.method} s{cfg.seed}"
    bar = tqdm(total=cfg.train.steps, initial=state.step, disable=not progress, desc=desc)
    end = min(cfg.train.steps, cfg.train.steps if until is None else until)
    ticker = progress_.Ticker(f"training {desc} r{cfg.data.label_ratio:g}, step", end, state.step)
    start = time.perf_counter()
    try:  # close the bar on an error too, so the error message starts its own line
        while state.step < end:
            logs = train_step(cfg, ws, state)
            evaluated = state.step % cfg.train.eval_every == 0 or state.step == cfg.train.steps
            if evaluated:
                logs.update(validate(cfg, ws, state))
            logs["seconds"] = time.perf_counter() - start
            state.history.append(logs)
            periodic = checkpoint_every > 0 and state.step % checkpoint_every == 0
            if (evaluated or periodic) and on_checkpoint is not None:
                on_checkpoint(state)
            bar.set_postfix(loss=f"{logs['loss']:.3f}", phase=logs["phase"], refresh=False)
            bar.update(1)
            ticker.update(state.step)
    finally:
        bar.close()
    ticker.close(state.step)
    return state


def final_evaluations(cfg: Config, ws: Workspace, state: TrainState) -> dict[tuple[str, str], Evaluation]:
    """Best-on-val weights of each model, evaluated on val and test."""
    results = {}
    for name, model in models_of(state).items():
        best = copy.deepcopy(model)
        if name in state.best:
            best.load_state_dict(state.best[name]["state"])
        for split, dataset in (("val", ws.val), ("test", ws.test)):
            results[(name, split)] = evaluate(best, dataset, ws.collate, cfg.train.device)
    return results


def history_frame(state: TrainState) -> pd.DataFrame:
    return pd.DataFrame(state.history)


__all__ = ["amp_on", "apply_moves", "final_evaluations", "fit", "history_frame", "next_semi_step", "supervised_loss",
           "train_step", "unsupervised_loss", "validate"]  # fmt: skip
