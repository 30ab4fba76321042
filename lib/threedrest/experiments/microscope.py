"""One semi-supervised step under the microscope (notebook 03): a finished run's teacher and student on
one unlabelled batch, as the training loop sees it (``train.loop.next_semi_step``).

The notebook calls the paper's pieces itself (``semi.tscs.select``, ``semi.qdw.weights``,
``semi.ema.update_teacher``); this module only loads the run, tabulates the batch and draws it.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.spatial import ConvexHull, QhullError
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


def step_table(step: SemiStep, promote: Tensor, weights: Tensor, ws: Workspace | None = None) -> pd.DataFrame:
    """One row per unlabelled sample: its consistency, the TSCS decision, its QDW weight and loss, and (with
    ``ws``) its sentence, so a figure can say what each mask is looking for.

    ``true_iou`` (the teacher mask against the hidden ground truth) is for reading only: no
    decision of the method uses it.
    """
    batch = step.batch
    teacher_mask = step.teacher_mask.cpu()
    true_iou = point_iou_from_superpoints(teacher_mask, batch.sp_sizes.cpu(), batch.sp_target_count.cpu(),
                                          batch.n_target.cpu())  # fmt: skip
    table = pd.DataFrame(
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
    if ws is not None:
        sentences = {d["uid"]: d["description"] for d in ws.bundle.index.descriptions}
        table["sentence"] = [sentences.get(uid, "") for uid in batch.uids]
    return table


def pick_samples(table: pd.DataFrame, k: int = 3) -> list[int]:
    """``k`` rows of ``step_table`` that show every case of the step, in this order: the promoted sample with
    the highest correl (else the highest correl), the sample with a fractional QDW weight (0 < w < 1, not
    promoted) closest to 0.5, and the lowest correl; then rows spread over the remaining correl. Ties go to
    the first row, so the choice is the same every run."""
    correl, w, promoted = (table[c].to_numpy() for c in ("correl", "weight", "promoted"))
    order = sorted(range(len(table)), key=lambda i: (-correl[i], i))  # highest correl first
    if not order:
        return []
    fractional = [i for i in range(len(table)) if 0 < w[i] < 1 and not promoted[i]]
    middle = sorted(fractional, key=lambda i: (abs(w[i] - 0.5), i))[:1]
    top = next((i for i in order if promoted[i]), order[0])
    low = min(order, key=lambda i: (correl[i], i))
    picks = list(dict.fromkeys([top, *middle, low]))
    rest = [i for i in order if i not in picks]
    spread = np.linspace(0, len(rest) - 1, max(k - len(picks), 0)).round().astype(int) if rest else []
    return [*picks, *(rest[i] for i in dict.fromkeys(spread))][:k]


def room_outline(xy: np.ndarray) -> np.ndarray:
    """The closed convex hull of a scene's superpoint centroids seen from above: where the room's walls are,
    so masks read as places in a room (``xy``: (n, 2); fewer than 3 distinct points give them as they are)."""
    if len(np.unique(xy, axis=0)) < 3:
        return xy
    try:
        hull = ConvexHull(xy)
    except QhullError:  # collinear centroids: no area to outline
        return xy
    return xy[np.append(hull.vertices, hull.vertices[0])]


PANEL_TITLES = {"truth": "hidden truth (not used)", "teacher": "teacher pseudo-mask (weak view)",
                "student": "student mask (strong view)"}  # fmt: skip


def plot_step_masks(step: SemiStep, table: pd.DataFrame, rows: list[int]) -> plt.Figure:
    """Top-down view of superpoint centroids (dot area ~ points) for each picked sample: the hidden
    truth, the teacher's pseudo-mask (weak view) and the student's mask (strong view), inside the room's
    outline (``room_outline``). Each sample's row is headed by its sentence (``step_table(..., ws)``); its
    label gives correl, the TSCS decision and the QDW weight, and the pseudo-mask's panel its true IoU
    (``true_iou``, read for display only)."""
    batch = step.batch
    masks = {
        "truth": (batch.sp_target.cpu() >= 0.5) & batch.sp_mask.cpu(),
        "teacher": step.teacher_mask.cpu().bool(),
        "student": step.student_mask.cpu().bool(),
    }
    fig = plt.figure(figsize=(9.6, 3.5 * len(rows)), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(len(rows), 1))
    for sub, b in zip(subfigs, rows, strict=True):
        valid = batch.sp_mask[b].cpu().numpy()
        xy = batch.sp_xyz[b].cpu().numpy()[valid][:, :2]
        size = batch.sp_sizes[b].cpu().numpy()[valid]
        area = 40 * size / max(float(size.max()), 1.0) + 1
        outline = room_outline(xy)
        row = table.iloc[b]
        sentence = str(row.get("sentence", "") or "")
        sub.suptitle(textwrap.fill(f"\u201c{sentence}\u201d", 110) if sentence else str(row["uid"]),
                     fontsize=9, style="italic" if sentence else "normal")  # fmt: skip
        axes = sub.subplots(1, 3)
        for ax, (name, mask) in zip(axes, masks.items(), strict=True):
            on = mask[b].numpy()[valid]
            ax.plot(outline[:, 0], outline[:, 1], color="0.55", lw=1)
            ax.scatter(xy[~on, 0], xy[~on, 1], s=area[~on], c="#c8c8c8", linewidths=0)
            # mask dots at least a visible size, ringed: a two-superpoint mask must not vanish
            ax.scatter(xy[on, 0], xy[on, 1], s=np.maximum(area[on], 16), c=MASK_COLOURS[name], edgecolors="k",
                       linewidths=0.4, label=name, zorder=3)  # fmt: skip
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            title = PANEL_TITLES[name]
            empty = "empty" if name != "truth" and not on.any() else ""
            if name == "teacher":
                title += f"\n{empty + ', ' if empty else ''}true IoU {row['true_iou']:.2f} (display only)"
            elif empty:
                title += f"\n{empty}"
            ax.set_title(title, fontsize=8)
        decision = "TSCS: promoted, w = 0" if row["promoted"] else f"QDW: w = {row['weight']:.2f}"
        axes[0].set_ylabel(f"{row['uid']}\ncorrel = {row['correl']:.2f}\n{decision}", fontsize=8)
    return fig


def parameter_distance(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """Euclidean distance between two models' parameter vectors (same architecture)."""
    with torch.no_grad():
        vec = torch.nn.utils.parameters_to_vector
        return float((vec(a.parameters()) - vec(b.parameters())).double().norm())


__all__ = [
    "MASK_COLOURS",
    "load_state",
    "parameter_distance",
    "pick_samples",
    "plot_step_masks",
    "room_outline",
    "step_table",
]
