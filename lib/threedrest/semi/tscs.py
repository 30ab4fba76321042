"""TSCS, teacher-student consistency-based sampling (3DResT): everything it does, in one object.

    correl_i = IoU(M_student_i, M_teacher_i);   promote sample i to the labelled set if correl_i > s

A promoted sample counts in L_sup with the teacher's mask as its label. Kit choices (docs/method.md):
online promotion per batch, once per sample, label frozen at promotion, no demotion; or a periodic
``sweep`` over the whole unlabelled pool on unaugmented scenes. An empty teacher mask gets correl 0
(not 1, although teacher and student "agree"), so an empty pseudo-label is never promoted: every
ScanRefer description refers to an object.

``TSCS`` owns the promoted pool (frozen masks, streaks, the log), the stream that mixes promoted
samples into labelled batches (``tscs_max_share`` < 1), the decision, the promotion, the relabelling
of labelled batches and the sweep; 3DResT's hooks call it (``semi/methods/threedrest.py``). What it
promotes leaves the unlabelled stream through the ``Moves`` it returns: TSCS never edits the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from threedrest.config import SSLConfig
from threedrest.data.sampler import BatchStream, Moves
from threedrest.metrics import mask_iou
from threedrest.net.batching import Batch
from threedrest.net.decoder import apply_model
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


def sampling_target(sp_pseudo: Tensor, sp_mentioned: Tensor) -> Tensor:
    """3D-STMN's sampling target for a pseudo-label: 1 on the pseudo-mask, 0.5 on objects the sentence
    names, 0 elsewhere. Built from the sentence alone, never from the hidden target."""
    return torch.where(sp_pseudo.bool(), 1.0, torch.where(sp_mentioned.bool(), 0.5, 0.0))


class PromotedPool:
    """Unlabelled samples promoted to the labelled set: their frozen pseudo-masks, the log of promotions
    and the streaks of consecutive encounters above s (``tscs_patience``)."""

    def __init__(self) -> None:
        self._masks: dict[int, np.ndarray] = {}
        self._rows: list[tuple[int, int, float]] = []  # step, index, correl
        self._streaks: dict[int, int] = {}  # index -> consecutive encounters with correl > s

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

    def promote(self, step: int, indices: list[int], pseudo_sp_masks: list[np.ndarray] | Tensor, correl: Tensor,
                keep: Tensor, sp_mask: Tensor | None = None) -> Tensor:  # fmt: skip
        """Add kept samples not promoted yet; returns newly_promoted (B,) bool.

        ``pseudo_sp_masks`` is a list of per-sample superpoint masks, or a padded (B, S) tensor whose
        valid entries (``sp_mask``, in order) are stored. Already promoted samples, and repeats of an
        index within the batch, are ignored: their stored mask never changes.
        """
        idx = [int(i) for i in indices]
        n = len(idx)
        if len(pseudo_sp_masks) != n or correl.numel() != n or keep.numel() != n:
            raise ValueError(
                f"promote: indices ({n}), pseudo_sp_masks ({len(pseudo_sp_masks)}), correl ({correl.numel()}) "
                f"and keep ({keep.numel()}) must have the same length"
            )
        keep_list = keep.reshape(-1).bool().tolist()
        correl_list = correl.detach().reshape(-1).double().tolist()
        newly = torch.zeros(n, dtype=torch.bool)
        for b in range(n):  # one iteration per sample of the batch, not per point
            if not keep_list[b] or idx[b] in self._masks:
                continue
            self._masks[idx[b]] = self._to_numpy(pseudo_sp_masks, sp_mask, b)
            self._rows.append((int(step), idx[b], correl_list[b]))
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
        """One row per promotion: step, dataset index, correl at promotion."""
        return pd.DataFrame(self._rows, columns=["step", "index", "correl"]).astype(
            {"step": "int64", "index": "int64", "correl": "float64"}
        )

    def state_dict(self) -> dict[str, Tensor]:
        """Tensors only (masks concatenated with offsets), so checkpoints load with ``weights_only=True``."""
        order = self.indices()
        masks = [self._masks[int(i)] for i in order]
        offsets = np.zeros(len(masks) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([m.shape[0] for m in masks])
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, 3)
        arrays = {
            "step": rows[:, 0].astype(np.int64),
            "index": order,
            "correl": rows[:, 2],
            "offsets": offsets,
            "masks": np.concatenate(masks) if masks else np.zeros(0, dtype=bool),
            "streak_index": np.array(list(self._streaks), dtype=np.int64),
            "streak_count": np.array(list(self._streaks.values()), dtype=np.int64),
        }
        return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in arrays.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        arrays = {key: np.asarray(value) for key, value in state.items()}
        step, index, correl, offsets = arrays["step"], arrays["index"], arrays["correl"], arrays["offsets"]
        masks = arrays["masks"].astype(bool)
        if not len(step) == len(index) == len(correl) == len(offsets) - 1:
            raise ValueError("PromotedPool.load_state_dict: step/index/correl/offsets lengths disagree")
        self._masks = {int(i): masks[offsets[k] : offsets[k + 1]].copy() for k, i in enumerate(index)}
        self._rows = [(int(s), int(i), float(c)) for s, i, c in zip(step, index, correl, strict=True)]
        no_streaks = np.zeros(0, dtype=np.int64)  # a state saved before streaks existed
        pairs = zip(arrays.get("streak_index", no_streaks), arrays.get("streak_count", no_streaks), strict=True)
        self._streaks = {int(i): int(c) for i, c in pairs}


def relabel(batch: Batch, pool: PromotedPool, positions: list[int]) -> Batch:
    """A labelled batch whose promoted samples carry their frozen pseudo-mask as the target (in place)."""
    for row, position in enumerate(positions):
        if position in pool:
            mask = torch.from_numpy(pool.mask_of(position)).to(batch.sp_target.dtype)
            n = mask.shape[0]
            batch.sp_target[row, :n] = mask
            batch.sample_target[row, :n] = sampling_target(mask > 0, batch.sp_mentioned[row, :n])
    return batch


def first_promotion_step(ssl: SSLConfig) -> int:
    """The first (0-based) step at which TSCS may promote: the burn-in, then ``tscs_warmup`` steps after the
    hand-over (``TSCS.online`` and ``TSCS.sweep_due`` count from there); figures mark it, never retype it."""
    return ssl.burn_in_steps + ssl.tscs_warmup


class TSCS:
    """The promoted pool, its stream into labelled batches, the decision, promotion, relabelling, sweep.

    ``seed`` seeds the stream of promoted samples (used when ``tscs_max_share`` < 1: at most that share
    of each labelled batch is promoted pseudo-labels; at 1 they join the labelled stream itself).
    """

    def __init__(self, ssl: SSLConfig, batch_size: int, seed: int) -> None:
        self.ssl = ssl
        self.pool = PromotedPool()
        self.stream: BatchStream | None = None
        if ssl.tscs_max_share < 1.0:
            per_batch = max(1, int(ssl.tscs_max_share * batch_size))  # share 0: held, never trained on
            self.stream = BatchStream([], per_batch, seed, allow_empty=True)

    def labelled(self, positions: list[int]) -> list[int]:
        """A labelled batch's positions: the last ones replaced by promoted samples (``tscs_max_share`` < 1)."""
        if self.stream is not None and self.stream.positions and self.ssl.tscs_max_share > 0:
            promoted = self.stream.next()  # at most tscs_max_share of the batch
            positions = positions[: len(positions) - len(promoted)] + promoted
        return positions

    def relabel(self, batch: Batch, positions: list[int]) -> Batch:
        return relabel(batch, self.pool, positions)

    def online(self, since_handover: int) -> bool:
        """Whether TSCS promotes per batch at this point (online mode, after ``tscs_warmup``)."""
        return self.ssl.tscs_mode == "online" and since_handover >= self.ssl.tscs_warmup

    def decide(self, positions: list[int], correl: Tensor, usable: Tensor) -> Tensor:
        """keep (B,): correl > s, patient enough (``tscs_patience``), usable (the sentence gate)."""
        patient = usable & (self.pool.streak(positions) + 1 >= self.ssl.tscs_patience)
        return select(correl, self.ssl.tscs_threshold, self.ssl.tscs_max_per_step, patient)

    def promote(self, step: int, positions: list[int], t_mask: Tensor, correl: Tensor, keep: Tensor,
                sp_mask: Tensor) -> tuple[Tensor, Moves]:  # fmt: skip
        """After an encounter: streaks updated, kept pseudo-labels frozen into the pool. ``t_mask`` and
        ``sp_mask`` are global (B, S). Returns (newly promoted (B,) bool, the moves between streams)."""
        self.pool.record(positions, correl > self.ssl.tscs_threshold)
        new = self.pool.promote(step, positions, t_mask, correl, keep, sp_mask=sp_mask)
        return new, self._moves([p for p, is_new in zip(positions, new.tolist(), strict=True) if is_new])

    def _moves(self, promoted: list[int]) -> Moves:
        """Promoted samples leave the unlabelled stream for the labelled one, or for TSCS's own stream."""
        if self.stream is None:
            return Moves(left=promoted, joined=promoted)
        self.stream.add(promoted)
        return Moves(left=promoted, joined=[])

    def sweep_due(self, since_handover: int) -> bool:
        ssl = self.ssl
        if ssl.tscs_mode != "sweep" or since_handover < ssl.tscs_warmup:
            return False
        return (since_handover - ssl.tscs_warmup) % ssl.tscs_sweep_every == 0

    @torch.no_grad()
    def sweep(self, step: int, teacher: nn.Module, student: nn.Module, positions: list[int],
              load: Callable[[list[int]], Batch], amp: bool = False, gated: bool = False,
              batch_size: int = 64) -> Moves:  # fmt: skip
        """The periodic alternative to online promotion: score every sample left in the unlabelled pool
        (teacher and student on the unaugmented scene) and promote those with correl > s at once.
        ``load`` turns dataset positions into a batch on the training device. Every rank runs the same
        sweep on identical weights, so the pools stay identical. A sweep is one encounter for
        ``tscs_patience``; ``gated``: the sentence gate holds too."""
        ssl = self.ssl
        point_level = ssl.pseudo_level == "point"
        scored = []
        for start in range(0, len(positions), batch_size):
            chunk = positions[start : start + batch_size]
            batch = load(chunk)
            t_mask = apply_model(teacher, batch, amp).mask(batch.sp_mask)
            s_mask = apply_model(student, batch, amp).mask(batch.sp_mask)
            correl = consistency(s_mask, t_mask, batch.sp_mask, batch.sp_sizes if point_level else None)
            usable = torch.ones_like(correl, dtype=torch.bool)
            if gated:
                usable = gate.on_sentence(t_mask, batch.sp_mentioned, batch.sp_sizes)
            scored.append((chunk, batch.sp_mask, t_mask, correl, usable))  # not the features: the pool is large
        all_correl = torch.cat([c for *_, c, _ in scored]) if scored else torch.zeros(0)
        all_usable = torch.cat([u for *_, u in scored]) if scored else torch.zeros(0, dtype=torch.bool)
        patient = (self.pool.streak(positions) + 1 >= ssl.tscs_patience) & all_usable.cpu()
        keep_all = select(all_correl, ssl.tscs_threshold, ssl.tscs_max_per_step, patient)
        self.pool.record(positions, all_correl > ssl.tscs_threshold)
        promoted, offset = [], 0
        for chunk, sp_mask, t_mask, correl, _ in scored:
            keep = keep_all[offset : offset + len(chunk)]
            new = self.pool.promote(step, chunk, t_mask, correl, keep, sp_mask=sp_mask)
            promoted += [p for p, is_new in zip(chunk, new.tolist(), strict=True) if is_new]
            offset += len(chunk)
        return self._moves(promoted)

    def state_dict(self) -> dict[str, Any]:
        return {"pool": self.pool.state_dict(), "stream": None if self.stream is None else self.stream.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool.load_state_dict(state["pool"])
        if self.stream is not None and state.get("stream") is not None:
            self.stream.load_state_dict(state["stream"])


__all__ = ["TSCS", "PromotedPool", "consistency", "first_promotion_step", "relabel", "sampling_target", "select"]
