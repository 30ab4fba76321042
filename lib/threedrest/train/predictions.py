"""Per-description predicted masks saved by every evaluated model, read by tables and 3D views.

File ``<run_dir>/predictions_<split>_<model>.npz`` (model: "student" or "teacher") holds
    uid      (U,)   str     description uid ("scene|object|ann")
    offsets  (U+1,) int64   sp_mask[offsets[i]:offsets[i+1]] is description i's superpoint mask
    sp_mask  (sum S_i,) bool predicted superpoint mask (sigmoid >= 0.5)
    iou      (U,)   float32 point-level IoU with the ground truth
    score    (U,)   float32 the model's predicted IoU (score head)
Superpoint masks are exact and small; a point mask is ``sp_mask[scene.superpoint]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from threedrest.data.store import DataError
from threedrest.io import atomic_save_npz


@dataclass
class Predictions:
    uid: np.ndarray
    offsets: np.ndarray
    sp_mask: np.ndarray
    iou: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return int(self.uid.shape[0])

    def index(self) -> dict[str, int]:
        return {str(u): i for i, u in enumerate(self.uid)}

    def superpoint_mask(self, uid: str) -> np.ndarray:
        i = self.index()[uid]
        return self.sp_mask[self.offsets[i] : self.offsets[i + 1]]

    def point_mask(self, uid: str, superpoint: np.ndarray) -> np.ndarray:
        """Broadcast the superpoint prediction to the scene's points."""
        sp_mask = self.superpoint_mask(uid)
        if superpoint.max() >= sp_mask.shape[0]:
            raise DataError(f"prediction for {uid} has {sp_mask.shape[0]} superpoints, scene has more")
        return sp_mask[superpoint]


def save_predictions(
    path: str | Path, uids: list[str], sp_masks: list[np.ndarray], ious: np.ndarray, scores: np.ndarray
) -> Path:
    lengths = np.array([m.shape[0] for m in sp_masks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.concatenate(sp_masks).astype(bool) if sp_masks else np.zeros(0, bool)
    return atomic_save_npz(
        path,
        uid=np.asarray(uids, dtype=str),
        offsets=offsets,
        sp_mask=flat,
        iou=np.asarray(ious, np.float32),
        score=np.asarray(scores, np.float32),
    )


def load_predictions(path: str | Path) -> Predictions:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: predictions file missing (train or evaluate the run first)")
    with np.load(path, allow_pickle=False) as npz:  # a shared file never runs code
        return Predictions(**{k: npz[k] for k in ("uid", "offsets", "sp_mask", "iou", "score")})
