"""One semi-supervised step under the microscope (notebook 03): a finished run's teacher and student on
one unlabelled batch, as the training loop sees it (``train.loop.next_semi_step``).

The notebook calls the paper's pieces itself (``semi.tscs.select``, ``semi.qdw.weights``,
``semi.ema.update_teacher``); this module only loads the run, tabulates the batch and draws it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from threedrest.config import Config
from threedrest.experiments.runs import RunResult
from threedrest.metrics import point_iou_from_superpoints
from threedrest.semi.ema import make_teacher
from threedrest.semi.step import SemiStep
from threedrest.train.state import TrainState, init_state
from threedrest.train.workspace import Workspace

MASK_COLOURS = {"truth": "#e6b800", "teacher": "#d6449b", "student": "#1fa8c9"}  # the 3D views' yellow/pink/cyan


def load_state(result: RunResult) -> tuple[Config, Workspace, TrainState]:
    """A fresh training state of ``result``'s config holding its saved best student and teacher, at the
    run's last step (so TSCS's warm-up after the hand-over is over, as at the end of training).

    The unlabelled stream starts at its first batch (seeded), so ``state.ulb_stream.next()`` gives
    the same batch every time the notebook runs.
    """
    cfg = result.config()
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws)
    weights = torch.load(result.run_dir / "model.pt", map_location=cfg.train.device, weights_only=True)
    if "teacher" not in weights:
        raise ValueError(f"{result.run_dir}: {cfg.ssl.method} run saved no teacher; pick a run with an EMA teacher")
    state.student.load_state_dict(weights["student"])
    state.teacher = make_teacher(state.student)
    state.teacher.load_state_dict(weights["teacher"])
    state.step = cfg.train.steps
    if state.ulb_stream is None:
        raise ValueError(f"{result.run_dir}: no unlabelled data (label_ratio {cfg.data.label_ratio})")
    return cfg, ws, state


def step_table(step: SemiStep, promote: Tensor, weights: Tensor) -> pd.DataFrame:
    """One row per unlabelled sample: its consistency, the TSCS decision, its QDW weight and loss.

    ``true_iou`` (the teacher mask against the hidden ground truth) is for reading only: no
    decision of the method uses it.
    """
    batch = step.batch
    teacher_mask = step.teacher_mask.cpu()
    true_iou = point_iou_from_superpoints(teacher_mask, batch.sp_sizes.cpu(), batch.sp_target_count.cpu(),
                                          batch.n_target.cpu())  # fmt: skip
    return pd.DataFrame(
        {
            "uid": batch.uids,
            "teacher_sp": teacher_mask.sum(1).tolist(),
            "student_sp": step.student_mask.cpu().sum(1).tolist(),
            "correl": step.correl.detach().cpu().double().numpy(),
            "promoted": promote.cpu().bool().numpy(),
            "weight": weights.detach().cpu().double().numpy(),
            "loss": step.per_sample_loss.detach().cpu().double().numpy(),
            "true_iou": true_iou.double().numpy(),
        }
    )


def pick_samples(correl: Tensor, k: int = 3) -> list[int]:
    """``k`` rows spread over the batch's consistency, highest first (a confident, a middling, a poor one)."""
    order = torch.argsort(correl.detach().cpu(), descending=True, stable=True).tolist()
    if k >= len(order):
        return order
    picks = np.linspace(0, len(order) - 1, k).round().astype(int)
    return [order[i] for i in dict.fromkeys(picks.tolist())]


def plot_step_masks(step: SemiStep, table: pd.DataFrame, rows: list[int]) -> plt.Figure:
    """Top-down view of superpoint centroids (dot area ~ points) for each picked sample: the hidden
    truth, the teacher's pseudo-mask (weak view) and the student's mask (strong view), titled with
    correl, the TSCS decision and the QDW weight from ``table`` (``step_table``)."""
    batch = step.batch
    masks = {
        "truth": (batch.sp_target.cpu() >= 0.5) & batch.sp_mask.cpu(),
        "teacher": step.teacher_mask.cpu().bool(),
        "student": step.student_mask.cpu().bool(),
    }
    fig, axes = plt.subplots(len(rows), 3, figsize=(9, 3 * len(rows)), squeeze=False)
    for r, b in enumerate(rows):
        valid = batch.sp_mask[b].cpu().numpy()
        xy = batch.sp_xyz[b].cpu().numpy()[valid]
        size = batch.sp_sizes[b].cpu().numpy()[valid]
        area = 40 * size / max(float(size.max()), 1.0) + 1
        row = table.iloc[b]
        for c, (name, mask) in enumerate(masks.items()):
            ax = axes[r, c]
            on = mask[b].numpy()[valid]
            ax.scatter(xy[~on, 0], xy[~on, 1], s=area[~on], c="#c8c8c8", linewidths=0)
            ax.scatter(xy[on, 0], xy[on, 1], s=area[on], c=MASK_COLOURS[name], linewidths=0, label=name)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title({"truth": "hidden truth (not used)", "teacher": "teacher pseudo-mask (weak view)",
                              "student": "student mask (strong view)"}[name], fontsize=9)  # fmt: skip
        decision = "TSCS: promoted, w = 0" if row["promoted"] else f"QDW: w = {row['weight']:.2f}"
        axes[r, 0].set_ylabel(f"{row['uid']}\ncorrel = {row['correl']:.2f}\n{decision}", fontsize=8)
    fig.tight_layout()
    return fig


def parameter_distance(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """Euclidean distance between two models' parameter vectors (same architecture)."""
    with torch.no_grad():
        vec = torch.nn.utils.parameters_to_vector
        return float((vec(a.parameters()) - vec(b.parameters())).double().norm())


__all__ = ["MASK_COLOURS", "load_state", "parameter_distance", "pick_samples", "plot_step_masks", "step_table"]
