"""Evaluation on a split: point-level IoU per description, the ScanRefer metrics, saved predictions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from threedrest.metrics import point_iou_from_superpoints, summarize
from threedrest.train.predictions import save_predictions


@dataclass
class Evaluation:
    uids: list[str]
    ious: np.ndarray  # (U,) point-level IoU
    unique: np.ndarray  # (U,) bool
    scores: np.ndarray  # (U,) predicted IoU from the score head
    sp_masks: list[np.ndarray]  # predicted superpoint masks (sigmoid >= 0.5)

    def summary(self) -> dict[str, dict[str, float]]:
        return summarize(self.ious, self.unique)

    def save(self, path: str | Path) -> Path:
        return save_predictions(path, self.uids, self.sp_masks, self.ious, self.scores)


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Any, collate: Any, device: str = "cpu", batch_size: int = 64) -> Evaluation:
    """Predict every description of ``dataset`` in order; thresholding happens here, not in metrics."""
    was_training = model.training
    model.eval()
    uids: list[str] = []
    ious, unique, scores, sp_masks = [], [], [], []
    for start in range(0, len(dataset), batch_size):
        batch = collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]).to(device)
        out = model(batch)
        sp_pred = out.mask(batch.sp_mask)
        iou = point_iou_from_superpoints(sp_pred, batch.sp_sizes, batch.sp_target_count, batch.n_target, batch.sp_mask)
        counts = batch.sp_mask.sum(1).tolist()
        sp_pred_cpu = sp_pred.cpu().numpy()
        sp_masks.extend(sp_pred_cpu[row, :n].copy() for row, n in enumerate(counts))
        uids.extend(batch.uids)
        ious.append(iou.float().cpu().numpy())
        unique.append(batch.unique.cpu().numpy())
        scores.append(out.scores[-1].float().cpu().numpy())
    model.train(was_training)
    return Evaluation(
        uids=uids,
        ious=np.concatenate(ious) if ious else np.zeros(0, np.float32),
        unique=np.concatenate(unique).astype(bool) if unique else np.zeros(0, bool),
        scores=np.concatenate(scores) if scores else np.zeros(0, np.float32),
        sp_masks=sp_masks,
    )


def metric_rows(evaluation: Evaluation, **keys: Any) -> list[dict[str, Any]]:
    """Rows of results/tables/runs.csv: one per subset, with the run's identifying keys."""
    rows = []
    for subset, values in evaluation.summary().items():
        rows.append({**keys, "subset": subset, **{k: values[k] for k in ("miou", "acc25", "acc50", "n")}})
    return rows
