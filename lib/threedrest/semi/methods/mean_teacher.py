"""Mean Teacher: every pseudo-label of the EMA teacher counts with weight 1.

L_unsup = (1/B) sum_i w_i l_i,   w_i = 1   (0 where the sentence gate, when on, drops it)
"""

from __future__ import annotations

from threedrest.semi.methods.base import TeacherMethod, UnsupOutput
from threedrest.semi.step import SemiStep


class MeanTeacher(TeacherMethod):
    name = "mean_teacher"
    title = "Mean Teacher"

    def unsupervised(self, step: SemiStep) -> UnsupOutput:
        """Logs ``w_mean``: the share of pseudo-labels used (1 without the gate)."""
        w = self.usable(step).float()
        return self.weighted(step, w, {"w_mean": float(w.mean())})


__all__ = ["MeanTeacher"]
