"""QDW, quality-driven dynamic weighting (3DResT).

Every unlabelled sample that TSCS did not promote still counts; its unsupervised loss is scaled by
the teacher-student IoU, so poor pseudo-labels are down-weighted rather than discarded::

    L_unsup = norm( sum_i w_i * l_i ),   w_i = correl_i (detached),  w_i = 0 if i was promoted

Kit choices: no gradient flows through the weight (the student must not learn to agree with the
teacher in order to raise its own weight); a promoted sample gets w = 0 because it is counted in
L_sup from now on, and counting it twice would over-weight it.
"""

from __future__ import annotations

import torch
from torch import Tensor

NORMS = ("mean", "sum")


def weights(correl: Tensor, promoted: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
    """w (B,) = correl detached, 0 where ``promoted``; stats of the weights for the training log.

    stats: mean, std (population), min, q25, median, q75, max, zero_frac (fraction with w == 0).
    """
    w = correl.detach().float().reshape(-1).clone()
    if promoted is not None:
        if promoted.numel() != w.numel():
            raise ValueError(f"qdw.weights: promoted has {promoted.numel()} entries, correl has {w.numel()}")
        w = torch.where(promoted.reshape(-1).bool().to(w.device), torch.zeros_like(w), w)
    return w, weight_stats(w)


def weight_stats(w: Tensor) -> dict[str, float]:
    """Distribution of the weights (NaN for an empty batch)."""
    keys = ("mean", "std", "min", "q25", "median", "q75", "max", "zero_frac")
    if w.numel() == 0:
        return dict.fromkeys(keys, float("nan"))
    w = w.detach().double().reshape(-1)
    q = torch.quantile(w, torch.tensor([0.25, 0.5, 0.75], dtype=w.dtype, device=w.device)).tolist()
    values = (w.mean(), w.std(unbiased=False), w.min(), *q, w.max(), (w == 0).double().mean())
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def weighted_mean(per_sample_loss: Tensor, w: Tensor, norm: str = "mean", eps: float = 1e-6) -> Tensor:
    """Reduce a per-sample loss (B,) with weights (B,) to a scalar.

    "mean": sum(w l) / B. A batch of poor pseudo-labels contributes little in total (the weight
            scales the loss magnitude as well as the balance between samples); the kit default.
    "sum":  sum(w l) / max(sum(w), eps). A weighted average: the weights only rebalance samples
            within the batch, the loss scale stays that of an unweighted mean.
    ``w`` is detached here too, so a weight can never carry gradient. An empty batch gives 0.
    """
    if norm not in NORMS:
        raise ValueError(f"qdw norm must be one of {NORMS}, got {norm!r}")
    if per_sample_loss.shape != w.shape:
        raise ValueError(f"per_sample_loss {tuple(per_sample_loss.shape)} and w {tuple(w.shape)} differ in shape")
    w = w.detach().to(per_sample_loss.dtype)
    total = (w * per_sample_loss).sum()
    if norm == "mean":
        return total / max(per_sample_loss.numel(), 1)
    return total / w.sum().clamp(min=eps)


__all__ = ["NORMS", "weight_stats", "weighted_mean", "weights"]
