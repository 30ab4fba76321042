"""3DResT (Chen et al., 2025): TSCS promotes consistent pseudo-labels, QDW weights the rest by their quality.

    correl_i = IoU(student mask_i, teacher pseudo-mask_i)
    TSCS:    correl_i > s  ->  sample i joins the labelled set (L_sup from now on, weight 0 here)
    QDW:     L_unsup = (1/B) sum_i w_i l_i,   w_i = correl_i for every other sample

Components (``components``, the ablation's rows): QDW off gives w_i = 0 to what TSCS does not promote
(``tscs_rest``: the hard selection QDW is set against); both off is exactly Mean Teacher's loss, so the
ablation reuses Mean Teacher's runs for that row. Everything TSCS does is ``semi/tscs.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from threedrest.config import Config
from threedrest.data.sampler import Moves
from threedrest.net.batching import Batch
from threedrest.semi import qdw
from threedrest.semi.methods.base import StepContext, TeacherMethod, UnsupOutput
from threedrest.semi.step import SemiStep
from threedrest.semi.tscs import TSCS


class ThreeDResT(TeacherMethod):
    name = "3drest"
    title = "3DResT"
    components: ClassVar[dict[str, str]] = {"TSCS": "tscs", "QDW": "qdw"}  # ablation: label -> boolean SSL field
    all_off = "mean_teacher"  # the method the loss becomes with every component off

    def __init__(self, cfg: Config, seed: int = 0) -> None:
        super().__init__(cfg, seed)
        self.tscs = TSCS(cfg.ssl, cfg.train.batch_size, seed) if cfg.ssl.tscs else None

    def before_step(self, ctx: StepContext) -> tuple[Moves, dict[str, float]]:
        """TSCS's periodic sweep over the unlabelled pool, when ``tscs_mode`` is "sweep" and one is due; logs
        ``swept_promotions`` at every sweep."""
        if self.tscs is None or not self.tscs.sweep_due(ctx.since_handover):
            return Moves(), {}
        gated = self.ssl.pseudo_gate != "none"
        moves = self.tscs.sweep(ctx.step, ctx.teacher, ctx.student, ctx.unlabelled, ctx.load, ctx.amp, gated)
        return moves, {"swept_promotions": len(moves.left)}

    def labelled(self, positions: list[int]) -> list[int]:
        return positions if self.tscs is None else self.tscs.labelled(positions)

    def relabel(self, batch: Batch, positions: list[int]) -> Batch:
        return batch if self.tscs is None else self.tscs.relabel(batch, positions)

    def unsupervised(self, step: SemiStep) -> UnsupOutput:
        """Logs ``w_mean``, ``promoted`` (the share kept by TSCS) and QDW's weight distribution (``qdw_*``)."""
        ssl, usable = self.ssl, self.usable(step)
        promote = torch.zeros_like(step.correl, dtype=torch.bool)
        if self.tscs is not None and self.tscs.online(step.since_handover):
            promote = self.tscs.decide(step.positions, step.correl, usable)
        if ssl.qdw:
            w, stats = qdw.weights(step.correl, promote | ~usable)
            norm = ssl.qdw_norm
        elif ssl.tscs and ssl.tscs_rest == "zero":  # TSCS alone, hard selection: the rest is discarded
            w, stats, norm = torch.zeros_like(step.correl), {}, "mean"
        else:  # every weight 1 (with TSCS off too: Mean Teacher's loss exactly)
            w, stats, norm = (~promote & usable).float(), {}, "mean"
        logs = {"w_mean": float(w.mean()), "promoted": float(promote.float().mean())}
        logs.update({f"qdw_{k}": float(v) for k, v in stats.items()})
        out = self.weighted(step, w, logs, norm)
        if self.tscs is not None:
            t_mask = step.gather(step.teacher_mask)  # global rows: the same pool on every rank
            out.promoted, out.moves = self.tscs.promote(
                step.step, step.positions, t_mask, step.correl, promote, step.batch.sp_mask
            )
        return out

    def promotions(self) -> pd.DataFrame:
        return super().promotions() if self.tscs is None else self.tscs.pool.log()

    def promoted_mask(self, index: int) -> np.ndarray:
        return super().promoted_mask(index) if self.tscs is None else self.tscs.pool.mask_of(index)

    def state_dict(self) -> dict[str, Any]:
        return {} if self.tscs is None else {"tscs": self.tscs.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.tscs is not None and "tscs" in state:
            self.tscs.load_state_dict(state["tscs"])


__all__ = ["ThreeDResT"]
