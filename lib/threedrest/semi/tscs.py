"""TSCS, teacher-student consistency-based sampling (3DResT): everything it does, in one file.

    correl_i = IoU(M_student_i, M_teacher_i);   promote sample i to the labelled set if correl_i > s

A promoted sample counts in L_sup with the teacher's mask as its label. Kit choices (docs/method.md):
online promotion per batch, once per sample, label frozen at promotion, no demotion; or a periodic
``sweep`` over the whole unlabelled pool on unaugmented scenes. An empty teacher mask gets correl 0
(not 1, although teacher and student "agree"), so an empty pseudo-label is never promoted: every
ScanRefer description refers to an object.

The pieces, in the order the loop meets them: ``relabel`` (a labelled batch's promoted samples carry
their frozen pseudo-masks), ``consistency`` and ``select`` (the decision), ``promote`` (kept samples
move from the unlabelled stream to the labelled one, with the IoU of their pseudo-mask against the
hidden truth logged for analysis only), ``sweep`` (the periodic alternative).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from threedrest.metrics import mask_iou, point_iou_from_superpoints
from threedrest.net.batching import Batch
from threedrest.net.decoder import forward
from threedrest.sampler import BatchStream
from threedrest.semi import gate


def consistency(
    student_sp_mask: Tensor, teacher_sp_mask: Tensor, sp_mask: Tensor | None = None, sp_sizes: Tensor | None = None
) -> Tensor:
    """correl (B,): IoU of the hard masks over the superpoints in ``sp_mask`` (the loop passes those
    both views contain: a superpoint the student's view dropped is no disagreement), counted per
    superpoint, or per point when ``sp_sizes`` is given. The kit's one IoU (``metrics.iou_from_counts``):
    an empty teacher mask gives 0. Not differentiable (hard masks)."""
    if student_sp_mask.shape != teacher_sp_mask.shape:
        raise ValueError(f"student mask {tuple(student_sp_mask.shape)} != teacher mask {tuple(teacher_sp_mask.shape)}")
    valid = torch.ones_like(student_sp_mask, dtype=torch.bool) if sp_mask is None else sp_mask.bool()
    weight = valid.double() if sp_sizes is None else valid.double() * sp_sizes.double()
    return mask_iou(student_sp_mask, teacher_sp_mask, weight)


def select(correl: Tensor, threshold: float, max_kept: int = 0, patient: Tensor | None = None) -> Tensor:
    """keep (B,) bool: correl strictly above the threshold s; with ``max_kept`` > 0 only the that many
    most consistent of them (ties: earlier in the batch), so a burst of agreement cannot flood the
    labelled set in one step. ``patient`` (B,) bool, when given, must hold too (``tscs_patience``:
    the sample was above s at enough consecutive encounters)."""
    keep = correl > threshold
    if patient is not None:
        keep = keep & patient.bool().to(keep.device)
    if max_kept > 0 and int(keep.sum()) > max_kept:
        ranked = torch.argsort(torch.where(keep, correl, torch.full_like(correl, -1.0)), descending=True, stable=True)
        keep = torch.zeros_like(keep).index_fill_(0, ranked[:max_kept], True)
    return keep


class PromotedPool:
    """Unlabelled samples promoted to the labelled set, with their frozen pseudo-masks and a log."""

    def __init__(self) -> None:
        self._masks: dict[int, np.ndarray] = {}
        self._rows: list[tuple[int, int, float, float]] = []  # step, index, correl, true_iou
        self._streaks: dict[int, int] = {}  # index -> consecutive encounters with correl > s (tscs_patience)

    def streak(self, indices: list[int]) -> Tensor:
        """(B,) int64: how many consecutive earlier encounters each sample was above s."""
        return torch.tensor([self._streaks.get(int(i), 0) for i in indices], dtype=torch.int64)

    def record(self, indices: list[int], above: Tensor) -> None:
        """After an encounter: a sample above s extends its streak, one below s starts again from 0."""
        for i, a in zip(indices, above.reshape(-1).bool().tolist(), strict=True):
            if a:
                self._streaks[int(i)] = self._streaks.get(int(i), 0) + 1
            else:
                self._streaks.pop(int(i), None)

    def promote(
        self,
        step: int,
        indices: Tensor,
        pseudo_sp_masks: list[np.ndarray] | Tensor,
        correl: Tensor,
        keep: Tensor,
        true_iou: Tensor | None = None,
        sp_mask: Tensor | None = None,
    ) -> Tensor:
        """Add kept samples not promoted yet; returns newly_promoted (B,) bool.

        ``pseudo_sp_masks`` is a list of per-sample superpoint masks, or a padded (B, S) tensor whose
        valid entries (``sp_mask``, in order) are stored. Already promoted samples, and repeats of an
        index within the batch, are ignored: their stored mask never changes.
        """
        idx = [int(i) for i in indices.reshape(-1).tolist()]
        n = len(idx)
        if len(pseudo_sp_masks) != n or correl.numel() != n or keep.numel() != n:
            raise ValueError(
                f"promote: indices ({n}), pseudo_sp_masks ({len(pseudo_sp_masks)}), correl ({correl.numel()}) "
                f"and keep ({keep.numel()}) must have the same length"
            )
        if true_iou is not None and true_iou.numel() != n:
            raise ValueError(f"promote: true_iou has {true_iou.numel()} entries, expected {n}")
        keep_list = keep.reshape(-1).bool().tolist()
        correl_list = correl.detach().reshape(-1).double().tolist()
        iou_list = [float("nan")] * n if true_iou is None else true_iou.detach().reshape(-1).double().tolist()
        newly = torch.zeros(n, dtype=torch.bool)
        for b in range(n):  # one iteration per sample of the batch, not per point
            if not keep_list[b] or idx[b] in self._masks:
                continue
            self._masks[idx[b]] = self._to_numpy(pseudo_sp_masks, sp_mask, b)
            self._rows.append((int(step), idx[b], correl_list[b], iou_list[b]))
            newly[b] = True
        return newly

    @staticmethod
    def _to_numpy(masks: list[np.ndarray] | Tensor, sp_mask: Tensor | None, b: int) -> np.ndarray:
        if isinstance(masks, Tensor):
            row = masks[b] if sp_mask is None else masks[b][sp_mask[b].bool()]
            return row.detach().cpu().numpy().astype(bool).copy()
        return np.array(masks[b], dtype=bool, copy=True)

    def __contains__(self, index: object) -> bool:
        return int(index) in self._masks  # type: ignore[call-overload]

    def __len__(self) -> int:
        return len(self._masks)

    def indices(self) -> np.ndarray:
        """Promoted dataset indices, in promotion order."""
        return np.array([row[1] for row in self._rows], dtype=np.int64)

    def mask_of(self, index: int) -> np.ndarray:
        """The pseudo superpoint mask frozen at promotion (a copy)."""
        if int(index) not in self._masks:
            raise KeyError(f"sample {index} has not been promoted")
        return self._masks[int(index)].copy()

    def log(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows, columns=["step", "index", "correl", "true_iou"]).astype(
            {"step": "int64", "index": "int64", "correl": "float64", "true_iou": "float64"}
        )

    def state_dict(self) -> dict[str, Any]:
        """Plain numpy arrays (masks concatenated with offsets), for checkpoints and npz files."""
        order = self.indices()
        masks = [self._masks[int(i)] for i in order]
        offsets = np.zeros(len(masks) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([m.shape[0] for m in masks])
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, 4)
        return {
            "step": rows[:, 0].astype(np.int64),
            "index": order,
            "correl": rows[:, 2],
            "true_iou": rows[:, 3],
            "offsets": offsets,
            "masks": np.concatenate(masks) if masks else np.zeros(0, dtype=bool),
            "streak_index": np.array(list(self._streaks), dtype=np.int64),
            "streak_count": np.array(list(self._streaks.values()), dtype=np.int64),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        step, index = np.asarray(state["step"]), np.asarray(state["index"])
        correl, true_iou = np.asarray(state["correl"]), np.asarray(state["true_iou"])
        offsets, masks = np.asarray(state["offsets"]), np.asarray(state["masks"], dtype=bool)
        if not len(step) == len(index) == len(correl) == len(true_iou) == len(offsets) - 1:
            raise ValueError("PromotedPool.load_state_dict: step/index/correl/true_iou/offsets lengths disagree")
        self._masks = {int(i): masks[offsets[k] : offsets[k + 1]].copy() for k, i in enumerate(index)}
        rows = zip(step, index, correl, true_iou, strict=True)
        self._rows = [(int(s), int(i), float(c), float(t)) for s, i, c, t in rows]
        streak_index = np.asarray(state.get("streak_index", np.zeros(0, dtype=np.int64)))
        streak_count = np.asarray(state.get("streak_count", np.zeros(0, dtype=np.int64)))
        self._streaks = {int(i): int(c) for i, c in zip(streak_index, streak_count, strict=True)}


class LoopState(Protocol):
    """What TSCS reads and changes of the training loop's state."""

    step: int
    student: torch.nn.Module
    teacher: torch.nn.Module | None
    pool: PromotedPool
    lb_stream: BatchStream
    ulb_stream: BatchStream | None
    promoted_stream: BatchStream | None  # set when promotions may fill only part of a labelled batch


def sampling_target(sp_pseudo: Tensor, sp_mentioned: Tensor) -> Tensor:
    """3D-STMN's sampling target for a pseudo-label: 1 on the pseudo-mask, 0.5 on objects the sentence
    names, 0 elsewhere. Built from the sentence alone, never from the hidden target."""
    return torch.where(sp_pseudo.bool(), 1.0, torch.where(sp_mentioned.bool(), 0.5, 0.0))


def relabel(batch: Batch, pool: PromotedPool, positions: list[int]) -> Batch:
    """A labelled batch whose promoted samples carry their frozen pseudo-mask as the target (in place)."""
    for row, position in enumerate(positions):
        if position in pool:
            mask = torch.from_numpy(pool.mask_of(position)).to(batch.sp_target.dtype)
            n = mask.shape[0]
            batch.sp_target[row, :n] = mask
            batch.sample_target[row, :n] = sampling_target(mask > 0, batch.sp_mentioned[row, :n])
    return batch


def promote(
    state: LoopState, positions: list[int], batch: Batch, t_hard: Tensor, correl: Tensor, keep: Tensor
) -> tuple[Tensor, Tensor]:
    """Kept pseudo-labels join the labelled pool (frozen masks) and leave the unlabelled stream (with
    ``tscs_max_share`` < 1 they join the promoted stream, which fills at most that share of a batch).

    Returns (newly promoted (B,) bool, IoU (B,) of each teacher mask with the hidden truth). The
    truth is read for the log only (the precision of promotions); no decision uses it.
    """
    true_iou = point_iou_from_superpoints(t_hard, batch.sp_sizes, batch.sp_target_count, batch.n_target)
    new = state.pool.promote(state.step, torch.tensor(positions), t_hard, correl, keep, true_iou, sp_mask=batch.sp_mask)
    promoted = [p for p, is_new in zip(positions, new.tolist(), strict=True) if is_new]
    if promoted:
        (state.lb_stream if state.promoted_stream is None else state.promoted_stream).add(promoted)
        state.ulb_stream.remove(promoted)
    return new, true_iou


@torch.no_grad()
def sweep(
    state: LoopState,
    collate: Callable[[list[int]], Batch],
    threshold: float,
    point_level: bool = False,
    amp: bool = False,
    batch_size: int = 64,
    max_kept: int = 0,
    patience: int = 1,
    gated: bool = False,
) -> int:
    """The periodic alternative to online promotion: score every sample left in the unlabelled pool
    (teacher and student on the unaugmented scene) and promote those with correl > s at once.
    ``collate`` turns dataset positions into a batch on the training device. Every rank runs the same
    sweep on identical weights, so the pools stay identical. ``max_kept`` > 0 caps the promotions of
    one sweep (the most consistent first); ``patience`` as in the online rule (a sweep is one
    encounter); ``gated``: the sentence gate holds too (``pseudo_gate``, semi/gate.py). Returns the number
    promoted."""
    positions = list(state.ulb_stream.pool)
    scored = []
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        batch = collate(chunk)
        t_hard = forward(state.teacher, batch, amp).mask(batch.sp_mask)
        s_hard = forward(state.student, batch, amp).mask(batch.sp_mask)
        correl = consistency(s_hard, t_hard, batch.sp_mask, batch.sp_sizes if point_level else None)
        usable = torch.ones_like(correl, dtype=torch.bool)
        if gated:  # the sentence gate: never promote a mask that covers nothing the sentence names
            usable = gate.on_sentence(t_hard, batch.sp_mentioned, batch.sp_sizes)
        # keep only what promote() reads, not the batch's features, until the whole pool is scored
        slim = SimpleNamespace(**{k: getattr(batch, k) for k in ("sp_sizes", "sp_target_count", "n_target", "sp_mask")})
        scored.append((chunk, slim, t_hard, correl, usable))
    all_correl = torch.cat([c for *_, c, _ in scored]) if scored else torch.zeros(0)
    all_usable = torch.cat([u for *_, u in scored]) if scored else torch.zeros(0, dtype=torch.bool)
    patient = (state.pool.streak(positions) + 1 >= patience) & all_usable.cpu()
    keep_all = select(all_correl, threshold, max_kept, patient)
    state.pool.record(positions, all_correl > threshold)
    promoted, offset = 0, 0
    for chunk, batch, t_hard, correl, _ in scored:
        new, _ = promote(state, chunk, batch, t_hard, correl, keep_all[offset : offset + len(chunk)])
        promoted += int(new.sum())
        offset += len(chunk)
    return promoted


__all__ = ["LoopState", "PromotedPool", "consistency", "promote", "relabel", "sampling_target", "select", "sweep"]
