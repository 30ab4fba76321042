"""The hidden-truth log of pseudo-labels: analysis the experiments layer attaches to a run.

No method reads a hidden label, and neither does the loop. To say how good the pseudo-labels were
(promotion precision, QDW's weight against quality, which label-free signal tells a right pseudo-label
from a wrong one), ``PseudoLabelLog`` watches each unlabelled batch as an observer of the loop and
reads the targets the batch carries; ``promotions_with_truth`` scores the masks a method promoted.
What it writes: ``pseudo_log.csv`` (one row per unlabelled encounter), the ``true_iou`` column of
``promotions.csv`` and ``pseudo_iou`` (the batch's mean) in ``history.csv``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from threedrest.metrics import point_iou_from_superpoints
from threedrest.semi import gate
from threedrest.semi.methods.base import Method, UnsupOutput
from threedrest.semi.step import SemiStep
from threedrest.train.workspace import Workspace

COLUMNS = ("step", "index", "correl", "true_iou", "weight", "promoted", "teacher_score", "named_share", "pseudo_sp")


class PseudoLabelLog:
    """One row per unlabelled sample per step: beside the hidden-truth IoU of its pseudo-mask, the label-free
    quantities a method could weigh it by (``tables.promotion_signals`` asks which of them tells right from
    wrong): correl, the teacher's score, the share on objects the sentence names, the mask's size."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, step: int, semi: SemiStep, out: UnsupOutput) -> dict[str, float]:
        batch = semi.batch
        t_mask = semi.gather(semi.teacher_mask)  # global rows
        true_iou = point_iou_from_superpoints(t_mask, batch.sp_sizes, batch.sp_target_count, batch.n_target)
        named = gate.named_share(t_mask, batch.sp_mentioned, batch.sp_sizes)
        columns = (semi.positions, semi.correl.tolist(), true_iou.tolist(), out.weights.tolist(), out.promoted.tolist(),
                   semi.teacher_score.tolist(), named.tolist(), t_mask.sum(1).tolist())  # fmt: skip
        for values in zip(*columns, strict=True):
            self.rows.append(dict(zip(COLUMNS, (step, *values), strict=True)))
        return {"pseudo_iou": float(true_iou.mean())}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows = list(state["rows"])


def promotions_with_truth(method: Method, ws: Workspace) -> pd.DataFrame:
    """The method's promotions (step, index, correl) with the IoU of each promoted pseudo-mask against the
    hidden truth (point level, as the metrics): the precision of promotions, never read by training."""
    log = method.promotions()
    ious = []
    for index in log["index"].tolist():
        sample = ws.train[int(index)]
        mask = torch.from_numpy(method.promoted_mask(int(index)))[None]
        iou = point_iou_from_superpoints(mask, sample["sp_sizes"][None], sample["sp_target_count"][None],
                                         torch.as_tensor(sample["n_target"])[None])  # fmt: skip
        ious.append(float(iou[0]))
    return log.assign(true_iou=pd.Series(ious, index=log.index, dtype="float64"))


__all__ = ["COLUMNS", "PseudoLabelLog", "promotions_with_truth"]
