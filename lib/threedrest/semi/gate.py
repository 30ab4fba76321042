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

from torch import Tensor

ON_SENTENCE_SHARE = 0.5  # a mask is on the sentence when at least half of its points lie on named objects


def on_sentence(pseudo_sp_mask: Tensor, sp_mentioned: Tensor, sp_sizes: Tensor) -> Tensor:
    """(B,) bool: the pseudo-mask has at least half of its points on objects the sentence names, or the
    sentence names nothing in the scene. An empty mask is off the sentence (it covers nothing named)."""
    mask, named = pseudo_sp_mask.bool(), sp_mentioned.bool()
    sizes = sp_sizes.double()
    covered = (sizes * mask).sum(1)
    on_named = (sizes * (mask & named)).sum(1)
    return (on_named >= ON_SENTENCE_SHARE * covered) & (covered > 0) | ~named.any(1)


__all__ = ["ON_SENTENCE_SHARE", "on_sentence"]
