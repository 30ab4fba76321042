"""Referring-segmentation metrics on binary masks (thresholding happens at the call site).

Per description i (docs/method.md, Metrics; 3D-STMN ``tools/test.py``)::

    IoU_i  = |P_i & G_i| / (|P_i | G_i| + 1e-6)
    mIoU   = mean_i IoU_i                      (over descriptions, not classes)
    Acc@k  = mean_i [IoU_i > k]                (strict >, k = 0.25, 0.5)

reported for the *unique*, *multiple* and *overall* subsets. The 1e-6 makes two empty masks score
0 (the formula, not a special case): a model that predicts nothing is never rewarded. Every IoU in
the kit (these metrics, TSCS's teacher-student consistency, the pseudo-label quality log) goes
through :func:`iou_from_counts`, so there is one convention for empty masks.
"""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

EPS = 1e-6


def iou_from_counts(inter: Tensor, union: Tensor) -> Tensor:
    """The kit's one IoU: |P&G| / (|P|G| + 1e-6) from (weighted) counts; both masks empty -> 0."""
    return (inter.double() / (union.double() + EPS)).float()


def mask_iou(pred: Tensor, gt: Tensor, weight: Tensor | None = None) -> Tensor:
    """IoU of binary masks over the last dim; ``weight`` counts each element that many times
    (e.g. a superpoint's points, or 0 for superpoints one of two views does not contain)."""
    if pred.shape != gt.shape:
        raise ValueError(f"mask_iou: pred shape {tuple(pred.shape)} != gt shape {tuple(gt.shape)}")
    pred, gt = pred.bool(), gt.bool()
    if weight is None:  # integer counts: the same numbers as summing float64 ones, without the (..., S) weights
        return iou_from_counts((pred & gt).sum(-1), (pred | gt).sum(-1))
    w = weight.double()
    return iou_from_counts(((pred & gt) * w).sum(-1), ((pred | gt) * w).sum(-1))


def point_iou_from_superpoints(
    sp_pred: Tensor, sp_sizes: Tensor, sp_target_count: Tensor, n_target: Tensor, sp_mask: Tensor | None = None
) -> Tensor:
    """Exact point-level IoU (B,) of a superpoint prediction broadcast to the scene's points.

    Broadcasting a superpoint mask to points gives |P&G| = sum_s pred_s * target_count_s and
    |P| = sum_s pred_s * size_s, |G| = n_target, so |P|G| = |P| + |G| - |P&G|: no point arrays needed.
    Padded superpoints (``sp_mask`` False) never count as predicted.
    """
    if sp_pred.shape != sp_sizes.shape or sp_pred.shape != sp_target_count.shape:
        raise ValueError(
            f"point_iou_from_superpoints: sp_pred {tuple(sp_pred.shape)}, sp_sizes {tuple(sp_sizes.shape)} and "
            f"sp_target_count {tuple(sp_target_count.shape)} must have the same shape (B, S)"
        )
    pred = sp_pred.bool()
    if sp_mask is not None:
        pred = pred & sp_mask.bool()
    pred = pred.double()
    inter = (pred * sp_target_count.double()).sum(-1)
    size = (pred * sp_sizes.double()).sum(-1)
    union = size + n_target.double() - inter
    return iou_from_counts(inter, union)


def _as_numpy(values: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(values, Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=np.float64)


def acc_at(ious: Tensor | np.ndarray, thr: float) -> float:
    """Fraction of descriptions with IoU strictly above ``thr`` (NaN when there are none)."""
    ious = _as_numpy(ious)
    return float((ious > thr).mean()) if ious.size else math.nan


def miou(ious: Tensor | np.ndarray) -> float:
    """Mean IoU over descriptions (NaN when there are none)."""
    ious = _as_numpy(ious)
    return float(ious.mean()) if ious.size else math.nan


def summarize(ious: Tensor | np.ndarray, unique: Tensor | np.ndarray) -> dict[str, dict[str, float]]:
    """{"overall"|"unique"|"multiple": {"miou", "acc25", "acc50", "n"}}; an empty subset gives NaN, n=0."""
    ious = _as_numpy(ious).reshape(-1)
    unique = (unique.detach().cpu().numpy() if isinstance(unique, Tensor) else np.asarray(unique)).astype(bool)
    unique = unique.reshape(-1)
    if unique.shape != ious.shape:
        raise ValueError(f"summarize: ious has {ious.shape[0]} entries but unique has {unique.shape[0]}")
    subsets = {"overall": np.ones_like(unique), "unique": unique, "multiple": ~unique}
    out: dict[str, dict[str, float]] = {}
    for name, keep in subsets.items():
        sub = ious[keep]
        out[name] = {"miou": miou(sub), "acc25": acc_at(sub, 0.25), "acc50": acc_at(sub, 0.5), "n": int(sub.size)}
    return out


__all__ = ["EPS", "acc_at", "iou_from_counts", "mask_iou", "miou", "point_iou_from_superpoints", "summarize"]
