"""RefTeacher-style (adapted from RefTeacher, CVPR 2023): pseudo-labels weighted by the teacher's confidence.

    L_unsup = (1/B) sum_i w_i l_i + rt_attn_weight * mean_i MSE(A_student_i, A_teacher_i)
    w_i     = score_i if score_i >= rt_conf_threshold else 0      (score: the teacher's score head)

The score head is 3D-STMN's predicted IoU, RefTeacher's adaptive pseudo-label weight in 3D. The
attention term (off by default; RefTeacher: 0.1) makes the student's cross-attention maps imitate the
teacher's. The kit runs it with RefTeacher's lambda_u = 0.5 (``defaults``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from threedrest.semi.methods.base import TeacherMethod, UnsupOutput
from threedrest.semi.step import SemiStep


class RefTeacher(TeacherMethod):
    name = "refteacher"
    title = "RefTeacher-style"
    defaults: ClassVar[dict[str, Any]] = {"lambda_u": 0.5}  # RefTeacher weighs its unsupervised loss by 0.5

    def unsupervised(self, step: SemiStep) -> UnsupOutput:
        """Logs ``w_mean`` and ``w_zero`` (the share of pseudo-labels below the confidence threshold)."""
        ssl = self.ssl
        w = step.teacher_score.detach().clamp(0.0, 1.0)
        w = torch.where((w >= ssl.rt_conf_threshold) & self.usable(step), w, torch.zeros_like(w))
        out = self.weighted(step, w, {"w_mean": float(w.mean()), "w_zero": float((w == 0).float().mean())})
        if ssl.rt_attn_weight > 0:
            pairs = zip(step.student_out.attn, step.teacher_out.attn, strict=True)
            attn_mse = step.per_sample(torch.stack([(s - t).pow(2).flatten(1).mean(1) for s, t in pairs]).mean(0))
            out.loss = out.loss + ssl.rt_attn_weight * attn_mse.mean()
        return out


__all__ = ["RefTeacher"]
