"""The sentence gate: a pseudo-label that covers nothing the sentence names is not used.

A description names its target's class ("the brown chair ..."), and the scene says, without any
referring label, which superpoints belong to objects of the classes the sentence names
(``Batch.sp_mentioned``, the same field 3D-STMN's sampling target uses). A teacher mask that lies
mostly outside those objects has picked something of another class; on the classroom benchmark such
masks are almost never right (about 1 % with IoU > 0.5, against about 36 % for masks on a named
object). Kit choice ``pseudo_gate``: "none" (the paper), or "mentioned": for every teacher method
alike, such a pseudo-label gets weight 0 and is never promoted. When the sentence names nothing the
scene contains, the gate has no evidence and lets the pseudo-label through.
"""

from __future__ import annotations

import torch
from torch import Tensor

ON_SENTENCE_SHARE = 0.5  # a mask is on the sentence when at least half of its points lie on named objects


def on_sentence(pseudo_sp_mask: Tensor, sp_mentioned: Tensor, sp_sizes: Tensor) -> Tensor:
    """(B,) bool: the pseudo-mask has at least half of its points on objects the sentence names, or the
    sentence names nothing in the scene. An empty mask is off the sentence (it covers nothing named)."""
    covered, on_named = _coverage(pseudo_sp_mask, sp_mentioned, sp_sizes)
    return (on_named >= ON_SENTENCE_SHARE * covered) & (covered > 0) | ~sp_mentioned.bool().any(1)


def named_share(pseudo_sp_mask: Tensor, sp_mentioned: Tensor, sp_sizes: Tensor) -> Tensor:
    """(B,) float64: the share of the pseudo-mask's points on objects the sentence names (0 for an empty mask), the
    quantity the gate thresholds; logged for analysis whether or not the gate is on."""
    covered, on_named = _coverage(pseudo_sp_mask, sp_mentioned, sp_sizes)
    return torch.where(covered > 0, on_named / covered.clamp(min=1), 0.0)


def _coverage(pseudo_sp_mask: Tensor, sp_mentioned: Tensor, sp_sizes: Tensor) -> tuple[Tensor, Tensor]:
    """(B,) points the mask covers, and of those the points on objects the sentence names."""
    mask, sizes = pseudo_sp_mask.bool(), sp_sizes.double()
    return (sizes * mask).sum(1), (sizes * (mask & sp_mentioned.bool())).sum(1)


__all__ = ["ON_SENTENCE_SHARE", "named_share", "on_sentence"]
