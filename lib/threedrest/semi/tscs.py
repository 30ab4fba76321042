"""TSCS, teacher-student consistency-based sampling (3DResT).

    correl_i = IoU(M_student_i, M_teacher_i);   promote sample i to the labelled set if correl_i > s

A promoted sample counts in L_sup with the teacher's mask as its label. Kit choices (METHOD.md):
online promotion per batch, once per sample, label frozen at promotion, no demotion. An empty
teacher mask gets correl 0 (not 1, although teacher and student "agree"), so an empty pseudo-label
is never promoted: every ScanRefer description refers to an object.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor


def consistency(
    student_sp_mask: Tensor, teacher_sp_mask: Tensor, sp_mask: Tensor | None = None, sp_sizes: Tensor | None = None
) -> Tensor:
    """correl (B,): IoU of the hard masks, over superpoints, or over points when ``sp_sizes`` is given.

    Point level weights each superpoint by its number of points (the IoU of the masks broadcast to
    points). correl = 0 where the teacher mask is empty. Not differentiable (hard masks).
    """
    if student_sp_mask.shape != teacher_sp_mask.shape:
        raise ValueError(f"student mask {tuple(student_sp_mask.shape)} != teacher mask {tuple(teacher_sp_mask.shape)}")
    valid = torch.ones_like(student_sp_mask, dtype=torch.bool) if sp_mask is None else sp_mask.bool()
    weight = valid.double() if sp_sizes is None else valid.double() * sp_sizes.double()
    student, teacher = student_sp_mask.bool(), teacher_sp_mask.bool()
    inter = ((student & teacher) * weight).sum(-1)
    union = ((student | teacher) * weight).sum(-1)
    teacher_size = (teacher * weight).sum(-1)
    correl = torch.where(teacher_size > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
    return correl.float()


def select(correl: Tensor, threshold: float) -> Tensor:
    """keep (B,) bool: correl strictly above the threshold s."""
    return correl > threshold


class PromotedPool:
    """Unlabelled samples promoted to the labelled set, with their frozen pseudo-masks and a log."""

    def __init__(self) -> None:
        self._masks: dict[int, np.ndarray] = {}
        self._rows: list[tuple[int, int, float, float]] = []  # step, index, correl, true_iou

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


__all__ = ["PromotedPool", "consistency", "select"]
