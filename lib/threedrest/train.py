"""One training loop for every method: burn-in, hand-over, then the EMA teacher with TSCS and QDW.

Per step (3DResT, after burn-in)::

    L = L_sup(student(x_lb), y_lb ∪ promoted pseudo-labels) + lambda_u * L_unsup
    y_ulb = teacher(weak(x_ulb)) >= 0.5                      (pseudo-mask, no grad)
    correl_i = IoU(student(strong(x_ulb_i)) >= 0.5, y_ulb_i)  (TSCS consistency)
    correl_i > s  -> sample i joins the labelled pool        (TSCS)
    L_unsup = sum_i w_i l_i / B,  w_i = correl_i             (QDW)
    theta_t <- a theta_t + (1 - a) theta_s                  (EMA)

The labelled and unlabelled forward passes are separate calls so that, with lambda_u = 0 and TSCS
off, the loop computes exactly the supervised run's numbers.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from threedrest import distributed
from threedrest.config import Config, ConfigError
from threedrest.evaluate import Evaluation, evaluate
from threedrest.net import augment
from threedrest.net.decoder import forward
from threedrest.net.losses import referring_loss
from threedrest.sampler import BatchStream
from threedrest.semi import gate, tscs
from threedrest.semi.ema import copy_student, make_teacher, phase, update_teacher
from threedrest.semi.methods import Method, UnsupTerms, build_method
from threedrest.semi.tscs import PromotedPool
from threedrest.workspace import Workspace


@dataclass
class TrainState:
    """Everything a resumed run needs to continue bit for bit."""

    step: int
    student: torch.nn.Module
    teacher: torch.nn.Module | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    lb_stream: BatchStream
    ulb_stream: BatchStream | None
    aug_generator: torch.Generator  # views of unlabelled batches
    lb_aug_generator: torch.Generator  # augmentation of labelled batches (its own stream)
    pool: PromotedPool
    promoted_stream: BatchStream | None = None  # promoted samples, when ``tscs_max_share`` < 1
    best: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> {"miou", "step", "state"}
    history: list[dict[str, Any]] = field(default_factory=list)
    pseudo_log: list[dict[str, Any]] = field(default_factory=list)


def seeds_for(cfg: Config) -> dict[str, int]:
    """Independent seeds per random stream, so one stream never shifts another."""
    base = cfg.seed * 1_000
    return {
        "model": base + 11,
        "lb": base + 23,
        "ulb": base + 37,
        "aug": base + 51,
        "lb_aug": base + 67,
        "promoted": base + 79,
    }


def init_state(cfg: Config, ws: Workspace) -> TrainState:
    seeds = seeds_for(cfg)
    if cfg.train.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("config key 'device' is 'cuda', but torch sees no CUDA device; use device=cpu")
    torch.manual_seed(seeds["model"])
    student = ws.build_model().to(cfg.train.device)
    optimizer = torch.optim.AdamW(
        student.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, fused=True
    )
    milestones = sorted({max(1, int(f * cfg.train.steps)) for f in cfg.train.lr_milestones})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=cfg.train.lr_gamma)
    method = build_method(cfg.ssl)
    ulb_stream = None
    if method.uses_teacher and ws.ulb_positions:
        ulb_stream = BatchStream(ws.ulb_positions, cfg.train.batch_size * cfg.ssl.ulb_ratio, seeds["ulb"])
    return TrainState(
        step=0,
        student=student,
        teacher=None,
        optimizer=optimizer,
        scheduler=scheduler,
        lb_stream=BatchStream(ws.lb_positions, cfg.train.batch_size, seeds["lb"]),
        ulb_stream=ulb_stream,
        aug_generator=torch.Generator().manual_seed(seeds["aug"]),
        lb_aug_generator=torch.Generator().manual_seed(seeds["lb_aug"]),
        pool=PromotedPool(),
        promoted_stream=_promoted_stream(cfg, seeds["promoted"]) if ulb_stream is not None else None,
    )


def _promoted_stream(cfg: Config, seed: int) -> BatchStream | None:
    """Where TSCS promotions go when they may fill only part of a labelled batch (else: the labelled stream)."""
    if cfg.ssl.tscs_max_share >= 1.0:
        return None
    per_batch = max(1, int(cfg.ssl.tscs_max_share * cfg.train.batch_size))  # share 0: held, never trained on
    return BatchStream([], per_batch, seed, allow_empty=True)


def supervised_terms(cfg: Config, ws: Workspace, state: TrainState) -> tuple[torch.Tensor, Any]:
    """L_sup on one labelled batch (promoted samples carry their TSCS pseudo-masks); returns (loss, batch)."""
    positions = state.lb_stream.next()
    if state.promoted_stream is not None and state.promoted_stream.pool and cfg.ssl.tscs_max_share > 0:
        promoted = state.promoted_stream.next()  # at most tscs_max_share of the batch
        positions = positions[: len(positions) - len(promoted)] + promoted
    batch = tscs.relabel(ws.collate([ws.train[p] for p in positions]), state.pool, positions).to(cfg.train.device)
    if cfg.train.lb_augment:  # few labels overfit fast: the labelled batch gets a strong view too
        batch = augment.strong(batch, state.lb_aug_generator)
    n, batch = len(batch), distributed.local_batch(batch)  # distributed: this rank's rows
    out = forward(state.student, batch, _amp(cfg))
    sup = referring_loss(
        out.sp_logits, out.scores, out.sample_logits, batch.sp_target, batch.sample_target, batch.sp_mask, cfg.model
    )
    return distributed.global_rows(sup["total"], n).mean(), batch


@dataclass
class UnlabelledStep:
    """One unlabelled batch seen by teacher and student: what the loop (and notebook 03) inspects.

    Per-sample vectors are global (all ranks' rows); masks and model outputs are this rank's rows.
    """

    positions: list[int]  # dataset positions of the unlabelled samples
    batch: Any  # the global batch (hidden targets inside are read by the analysis log only)
    view_w: Any  # the teacher's weak view (this rank's rows)
    view_s: Any  # the student's strong view (this rank's rows)
    t_hard: torch.Tensor  # (B, S) teacher pseudo-mask, sigmoid >= 0.5
    s_hard: torch.Tensor  # (B, S) student mask on the strong view
    correl: torch.Tensor  # (B,) TSCS consistency over the superpoints both views contain
    terms: UnsupTerms  # what the method weighs (per-sample loss with grad, correl, teacher confidence)


def unlabelled_step(cfg: Config, ws: Workspace, state: TrainState, positions: list[int]) -> UnlabelledStep:
    """Teacher pseudo-labels on the weak view, the student on the strong view, their consistency and
    the student's per-sample loss against the pseudo-labels (3DResT's per-iteration quantities)."""
    batch = ws.collate([ws.train[p] for p in positions]).to(cfg.train.device)
    view_w = augment.weak(batch, state.aug_generator)
    ulb_aug = augment.StrongAug(drop=cfg.ssl.ulb_drop)
    view_s = augment.strong(batch, state.aug_generator, ulb_aug) if cfg.ssl.strong_aug else view_w
    n = len(batch)  # global batch; the *_l names below are this rank's rows (all rows with one process)
    # distributed: the model sees this rank's rows; the loss is built on global per-sample vectors
    batch_l, view_w, view_s = (distributed.local_batch(b) for b in (batch, view_w, view_s))
    with torch.no_grad():
        t_out = forward(state.teacher, view_w, _amp(cfg))
    t_probs = torch.sigmoid(t_out.sp_logits[-1])
    t_hard = (t_probs >= 0.5) & batch_l.sp_mask
    pseudo = t_hard.float() if cfg.ssl.pseudo_label == "hard" else t_probs * batch_l.sp_mask
    sample_target = tscs.sampling_target(t_hard, batch_l.sp_mentioned)  # no hidden label is read

    s_out = forward(state.student, view_s, _amp(cfg))
    terms = referring_loss(
        s_out.sp_logits, s_out.scores, s_out.sample_logits, pseudo, sample_target, view_s.sp_mask, cfg.model
    )
    s_hard = s_out.mask(view_s.sp_mask)
    sizes = batch_l.sp_sizes if cfg.ssl.pseudo_level == "point" else None
    shared = view_s.sp_mask & view_w.sp_mask  # superpoints both views contain
    correl = distributed.gather_rows(tscs.consistency(s_hard, t_hard, shared, sizes), n)
    attn_mse = None
    if cfg.ssl.rt_attn_weight > 0:
        pairs = zip(s_out.attn, t_out.attn, strict=True)
        attn_mse = distributed.global_rows(
            torch.stack([(a - b).pow(2).flatten(1).mean(1) for a, b in pairs]).mean(0), n
        )
    confidence = distributed.gather_rows(t_out.scores[-1].detach(), n)
    per_sample = distributed.global_rows(terms["total"], n)
    unsup = UnsupTerms(per_sample, correl, confidence, attn_mse, state.step - cfg.ssl.burn_in_steps)
    if cfg.ssl.pseudo_gate == "mentioned":
        unsup.on_sentence = distributed.gather_rows(gate.on_sentence(t_hard, batch_l.sp_mentioned, batch_l.sp_sizes), n)
    return UnlabelledStep(positions, batch, view_w, view_s, t_hard, s_hard, correl, unsup)


def unsupervised_terms(
    cfg: Config, ws: Workspace, state: TrainState, method: Method
) -> tuple[torch.Tensor, dict[str, float]]:
    """L_unsup on the next unlabelled batch: the method weighs the per-sample losses; TSCS promotions
    happen here. Returns (L_unsup before lambda_u, logs)."""
    step = unlabelled_step(cfg, ws, state, state.ulb_stream.next())
    step.terms.streak = state.pool.streak(step.positions)
    decision = method.decide(step.terms)
    state.pool.record(step.positions, step.correl > cfg.ssl.tscs_threshold)
    t_hard = distributed.gather_rows(step.t_hard, len(step.batch))  # global: identical TSCS pool on every rank
    new, true_iou = tscs.promote(state, step.positions, step.batch, t_hard, step.correl, decision.promote)
    # analysis only, never read by the loop: the label-free quantities a promotion rule could use, beside the
    # hidden truth (``tables.promotion_signals`` asks which of them tells a right pseudo-label from a wrong one)
    named = gate.named_share(t_hard, step.batch.sp_mentioned, step.batch.sp_sizes)
    columns = (step.positions, step.correl.tolist(), true_iou.tolist(), decision.weights.tolist(), new.tolist(),
               step.terms.teacher_confidence.tolist(), named.tolist(), t_hard.sum(1).tolist())  # fmt: skip
    for p, c, t, w, k, score, share, size in zip(*columns, strict=True):
        state.pseudo_log.append(
            {"step": state.step, "index": p, "correl": c, "true_iou": t, "weight": w, "promoted": k,
             "teacher_score": score, "named_share": share, "pseudo_sp": size}
        )  # fmt: skip
    logs = {"unsup": decision.loss.item(), "correl": float(step.correl.mean()), "pseudo_iou": float(true_iou.mean())}
    logs.update(decision.logs)
    return decision.loss, logs


def _amp(cfg: Config) -> bool:
    return cfg.train.amp and cfg.train.device == "cuda"


def train_step(cfg: Config, ws: Workspace, state: TrainState, method: Method) -> dict[str, Any]:
    """One optimiser step (USB's ``train_step``): the method's terms, ``sup + lambda_u * unsup``, EMA."""
    step_phase = phase(state.step, cfg.ssl.burn_in_steps) if state.ulb_stream is not None else "burn_in"
    if step_phase == "handover":
        state.teacher = make_teacher(state.student)
        copy_student(state.teacher, state.student)
    logs: dict[str, Any] = {"step": state.step, "phase": step_phase}
    if step_phase == "semi" and method.sweeps_before(state.step - cfg.ssl.burn_in_steps):
        collate = lambda chunk: ws.collate([ws.train[p] for p in chunk]).to(cfg.train.device)  # noqa: E731
        point_level = cfg.ssl.pseudo_level == "point"
        ssl = cfg.ssl
        logs["swept_promotions"] = tscs.sweep(
            state, collate, ssl.tscs_threshold, point_level, _amp(cfg), max_kept=ssl.tscs_max_per_step,
            patience=ssl.tscs_patience, gated=ssl.pseudo_gate == "mentioned",
        )  # fmt: skip
    state.student.train()
    sup, batch = supervised_terms(cfg, ws, state)
    unsup = torch.zeros((), device=sup.device)
    if step_phase != "burn_in" and state.ulb_stream.pool:  # TSCS may promote the whole pool
        unsup, unsup_logs = unsupervised_terms(cfg, ws, state, method)
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
        {"loss": loss.item(), "lr": state.optimizer.param_groups[0]["lr"], "lb_pool": len(state.lb_stream.pool)}
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


def models_of(state: TrainState) -> dict[str, torch.nn.Module]:
    models = {"student": state.student}
    if state.teacher is not None:
        models["teacher"] = state.teacher
    return models


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
) -> TrainState:
    """Train to ``cfg.train.steps`` (or stop at step ``until``: the shared burn-in); returns the state
    with the best weights per model kept.

    ``on_checkpoint`` runs after each evaluation and, with ``checkpoint_every`` > 0, every that many
    steps (not a config field: how often a run is saved never changes its numbers or its hash).
    """
    if cfg.train.num_threads > 0:
        torch.set_num_threads(cfg.train.num_threads)
    method = build_method(cfg.ssl)
    state = state or init_state(cfg, ws)
    progress = progress and distributed.is_main()
    bar = tqdm(total=cfg.train.steps, initial=state.step, disable=not progress, desc=f"{cfg.ssl.method} s{cfg.seed}")
    start = time.perf_counter()
    try:  # close the bar on an error too, so the error message starts its own line
        while state.step < min(cfg.train.steps, cfg.train.steps if until is None else until):
            logs = train_step(cfg, ws, state, method)
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
    finally:
        bar.close()
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
