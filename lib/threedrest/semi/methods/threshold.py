"""Confidence-thresholded pseudo-labels (FixMatch-style, after USB's ``fixmatch``): keep or discard.

    conf_i  = mean over the pseudo-mask's superpoints of max(p_s, 1 - p_s)     (p: the teacher's sigmoid)
    w_i     = 1 if conf_i >= p_cutoff else 0                                    (0 for an empty mask)
    L_unsup = (1/B) sum_i w_i l_i

The "high-confidence filtering" the 3DResT paper says wastes low-quality pseudo-labels: a pseudo-label
counts fully or not at all, and the confidence reads no referring label. On the pseudo-mask's own
superpoints max(p, 1 - p) is p, so conf_i is the teacher's mean foreground probability where it says
"object". ``p_cutoff`` is USB's name; its default was chosen on val (docs/choices.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from threedrest.semi.methods.base import TeacherMethod, UnsupOutput
from threedrest.semi.step import SemiStep


def mask_confidence(sp_logits: Tensor, sp_pseudo_mask: Tensor) -> Tensor:
    """(B,) mean of max(p, 1 - p) over each sample's pseudo-mask superpoints; 0 for an empty mask."""
    probs = torch.sigmoid(sp_logits.detach().float())
    mask = sp_pseudo_mask.bool()
    sure = torch.maximum(probs, 1 - probs) * mask
    return sure.sum(1) / mask.sum(1).clamp(min=1)


class ConfidenceThreshold(TeacherMethod):
    name = "threshold"
    title = "Confidence threshold"
    options: ClassVar[dict[str, Any]] = {"p_cutoff": 0.7}  # a pseudo-label counts when its mask confidence reaches this

    def unsupervised(self, step: SemiStep) -> UnsupOutput:
        """Logs ``util_ratio`` (USB's name: the share of pseudo-labels kept) and ``confidence`` (their mean)."""
        conf = step.gather(mask_confidence(step.teacher_out.sp_logits[-1], step.teacher_mask))
        w = ((conf >= self.option("p_cutoff")) & self.usable(step)).float()
        return self.weighted(step, w, {"util_ratio": float(w.mean()), "confidence": float(conf.mean())})


__all__ = ["ConfidenceThreshold", "mask_confidence"]
