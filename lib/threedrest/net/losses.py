"""3D-STMN's referring loss, per sample, so semi-supervised methods can weight samples.

For each prediction l (one per decoder layer, 3D-STMN: 7) and sample b, over valid superpoints::

    BCE_b   = mean_s  bce(x_s, t_s)
    Dice_b  = 1 - (2 sum_s p_s t_s + 1) / (sum_s p_s + sum_s t_s + 1),   p = sigmoid(x)   (+1 smoothing)
    Score_b = (score_b - IoU_b)^2 if IoU_b > 0.5 else 0,   IoU_b from the hard mask, no grad
    Focal_b = mean_s  alpha_t (1 - p_t)^gamma bce(z_s, u_s)               (sampling scores z)

    total_b = sum_l (w_bce BCE_b^l + w_dice Dice_b^l + w_score Score_b^l) + w_focal Focal_b

with the weights of ``ModelConfig`` (1.0, 1.0, 0.5, 5.0). Differences from 3D-STMN's code, all
forced by the per-sample output: its score loss is the mean over the samples with IoU > 0.5 only,
here a sample without that condition contributes 0 and the caller's batch mean divides by B.
``sp_target`` may be soft (pseudo-label probabilities); BCE/Dice/Focal take it as is, the score IoU
binarises it at > 0.5 like 3D-STMN's ``get_iou``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from threedrest.config import ModelConfig
from threedrest.metrics import mask_iou


def _check(name: str, x: Tensor, ref: Tensor) -> None:
    if x.shape != ref.shape:
        raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {tuple(ref.shape)} (B, S)")


def _valid(sp_logits: Tensor, sp_mask: Tensor | None) -> Tensor:
    if sp_mask is None:
        return torch.ones_like(sp_logits, dtype=torch.bool)
    _check("sp_mask", sp_mask, sp_logits)
    return sp_mask.bool()


def _masked_mean(values: Tensor, valid: Tensor) -> Tensor:
    """Mean over valid superpoints per sample; a sample with none gives 0."""
    return (values * valid).sum(-1) / valid.sum(-1).clamp(min=1)


def _clean(x: Tensor, valid: Tensor) -> Tensor:
    # Padding may hold anything (even inf): replace it so neither the value nor the gradient sees it.
    return torch.where(valid, x, 0.0)


def mask_bce(sp_logits: Tensor, sp_target: Tensor, sp_mask: Tensor | None = None) -> Tensor:
    """Binary cross-entropy with logits, mean over valid superpoints -> (B,)."""
    _check("sp_target", sp_target, sp_logits)
    valid = _valid(sp_logits, sp_mask)
    x, t = _clean(sp_logits, valid), _clean(sp_target.to(sp_logits.dtype), valid)
    return _masked_mean(F.binary_cross_entropy_with_logits(x, t, reduction="none"), valid)


def mask_dice(sp_logits: Tensor, sp_target: Tensor, sp_mask: Tensor | None = None) -> Tensor:
    """Soft Dice, 1 - (2 sum(p t) + 1) / (sum p + sum t + 1) over valid superpoints -> (B,).

    The +1 (Laplace) smoothing in numerator and denominator is 3D-STMN's: an empty target with an
    empty prediction costs 0, not 0/0.
    """
    _check("sp_target", sp_target, sp_logits)
    valid = _valid(sp_logits, sp_mask)
    p = torch.sigmoid(_clean(sp_logits, valid)) * valid
    t = _clean(sp_target.to(sp_logits.dtype), valid)
    return 1.0 - (2.0 * (p * t).sum(-1) + 1.0) / (p.sum(-1) + t.sum(-1) + 1.0)


@torch.no_grad()
def hard_iou(sp_logits: Tensor, sp_target: Tensor, sp_mask: Tensor | None = None) -> Tensor:
    """Superpoint IoU (B,) of sigmoid >= 0.5 vs target > 0.5, the score head's regression target."""
    valid = _valid(sp_logits, sp_mask)
    return mask_iou((sp_logits >= 0) & valid, (sp_target > 0.5) & valid)


def score_loss(scores: Tensor, ious: Tensor, confident_only: bool = True) -> Tensor:
    """(score - IoU)^2 where IoU > 0.5 (everywhere with ``confident_only=False``), else 0 -> (B,);
    ``ious`` are targets (detached here)."""
    _check("ious", ious, scores)
    ious = ious.detach().to(scores.dtype)
    if not confident_only:
        return (scores - ious) ** 2
    return torch.where(ious > 0.5, (scores - ious) ** 2, torch.zeros_like(scores))


def sampling_focal(
    sample_logits: Tensor, sample_target: Tensor, sp_mask: Tensor | None = None, alpha: float = 0.25, gamma: float = 2
) -> Tensor:
    """Sigmoid focal loss with soft targets u in {0, 0.5, 1}, mean over valid superpoints -> (B,).

    p_t = p u + (1-p)(1-u), alpha_t = alpha u + (1-alpha)(1-u) (torchvision's form, which reads a
    soft target as a mixture of the positive and negative terms).
    """
    _check("sample_target", sample_target, sample_logits)
    valid = _valid(sample_logits, sp_mask)
    x, u = _clean(sample_logits, valid), _clean(sample_target.to(sample_logits.dtype), valid)
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, u, reduction="none")
    p_t = p * u + (1 - p) * (1 - u)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * u + (1 - alpha) * (1 - u)) * loss
    return _masked_mean(loss, valid)


def _bce_dice(stacked: Tensor, sp_target: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """``mask_bce`` and ``mask_dice`` of P predictions (P, B, S) against one target (B, S), summed over P -> (B,)
    each: the cleaned logits, the target, its sum and the valid counts are built once, not per term and layer."""
    _check("sp_target", sp_target, valid)
    x, t = _clean(stacked, valid), _clean(sp_target.to(stacked.dtype), valid)
    n_valid = valid.sum(-1).clamp(min=1)
    bce = (F.binary_cross_entropy_with_logits(x, t.expand_as(x), reduction="none") * valid).sum(-1) / n_valid
    p = torch.sigmoid(x) * valid
    dice = 1.0 - (2.0 * (p * t).sum(-1) + 1.0) / (p.sum(-1) + t.sum(-1) + 1.0)
    return bce.sum(0), dice.sum(0)


def referring_loss(
    sp_logits: list[Tensor],
    scores: list[Tensor],
    sample_logits: Tensor,
    sp_target: Tensor,
    sample_target: Tensor,
    sp_mask: Tensor | None,
    weights: ModelConfig,
) -> dict[str, Tensor]:
    """Named per-sample terms {"bce", "dice", "score", "focal", "total"}, each (B,).

    "bce"/"dice"/"score" are unweighted sums over the predictions; "total" applies the weights.
    """
    if len(sp_logits) == 0 or len(sp_logits) != len(scores):
        raise ValueError(f"referring_loss: got {len(sp_logits)} sp_logits and {len(scores)} scores (need equal, >0)")
    # all predictions at once, (P, B, S): one kernel per term instead of one per term and layer
    stacked = torch.stack(sp_logits)
    bce, dice = _bce_dice(stacked, sp_target, _valid(sp_logits[0], sp_mask))
    target = sp_target.expand_as(stacked)
    mask = None if sp_mask is None else sp_mask.expand_as(stacked)
    score = score_loss(torch.stack(scores), hard_iou(stacked, target, mask), weights.score_on == "confident").sum(0)
    focal = sampling_focal(sample_logits, sample_target, sp_mask)
    total = weights.loss_bce * bce + weights.loss_dice * dice + weights.loss_score * score + weights.loss_focal * focal
    return {"bce": bce, "dice": dice, "score": score, "focal": focal, "total": total}


__all__ = ["hard_iou", "mask_bce", "mask_dice", "referring_loss", "sampling_focal", "score_loss"]
