"""The semi-supervised step on one unlabelled batch: what every teacher method receives.

    y_i      = teacher(weak(x_i)) >= 0.5                       pseudo-mask, no grad
    l_i      = L(student(strong(x_i)), y_i)                    per-sample loss, with grad
    correl_i = IoU(student(strong(x_i)) >= 0.5, y_i)           over superpoints both views contain

``semi_step`` is a function of what it needs (teacher, student, the two views, the SSL and loss
settings); a method (``semi/methods``) turns the per-sample losses into L_unsup. Under torchrun the
per-sample vectors are global (every rank's rows, see ``threedrest.distributed``); views, masks and
model outputs are this rank's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from threedrest import distributed
from threedrest.config import ModelConfig, SSLConfig
from threedrest.net import augment
from threedrest.net.batching import Batch
from threedrest.net.decoder import ModelOutput, apply_model
from threedrest.net.losses import referring_loss
from threedrest.semi import gate, tscs


@dataclass
class SemiStep:
    """One unlabelled batch seen by teacher and student.

    The first fields are what methods weigh (all (B,), global rows); the rest is the raw material for
    a method that needs more (RefTeacher-style's attention maps) and for analysis. ``batch`` holds hidden
    targets: no method reads them; the analysis log (``experiments/analysis.py``) does.
    """

    positions: list[int]  # dataset positions of the unlabelled samples
    per_sample_loss: Tensor  # student loss against the teacher's pseudo-mask, with grad
    correl: Tensor  # IoU(student mask, teacher mask), no grad
    teacher_score: Tensor  # the teacher's score head (its predicted IoU), no grad
    on_sentence: Tensor  # bool: what the sentence gate lets through (semi/gate.py), read only with the gate on
    step: int = 0  # the optimiser step
    since_handover: int = 0  # steps since the teacher was made
    batch: Batch | None = None  # the global batch
    view_w: Batch | None = None  # the teacher's weak view (this rank's rows)
    view_s: Batch | None = None  # the student's strong view (this rank's rows)
    teacher_out: ModelOutput | None = None  # teacher outputs on the weak view (no grad)
    student_out: ModelOutput | None = None  # student outputs on the strong view
    teacher_mask: Tensor | None = None  # (B, S) teacher pseudo-mask, sigmoid >= 0.5 (this rank's rows)
    student_mask: Tensor | None = None  # (B, S) student mask on the strong view (this rank's rows)

    @property
    def n(self) -> int:
        return len(self.positions)

    def gather(self, local: Tensor) -> Tensor:
        """A per-sample quantity of this rank's rows as the global (B,) vector, without gradient."""
        return distributed.gather_rows(local.detach(), self.n)

    def per_sample(self, local: Tensor) -> Tensor:
        """A per-sample loss of this rank's rows as the global (B,) vector whose own rows keep their gradient."""
        return distributed.global_rows(local, self.n)


def views(batch: Batch, generator: torch.Generator, ssl: SSLConfig) -> tuple[Batch, Batch]:
    """The teacher's weak view and the student's strong view (the weak one again without ``strong_aug``)."""
    view_w = augment.weak(batch, generator)
    view_s = augment.strong(batch, generator, augment.StrongAug(drop=ssl.ulb_drop)) if ssl.strong_aug else view_w
    return view_w, view_s


def semi_step(
    teacher: nn.Module,
    student: nn.Module,
    batch: Batch,
    view_w: Batch,
    view_s: Batch,
    ssl: SSLConfig,
    loss_weights: ModelConfig,
    positions: list[int],
    step: int = 0,
    since_handover: int = 0,
    amp: bool = False,
) -> SemiStep:
    """Teacher pseudo-labels on the weak view, the student on the strong view, their consistency and
    the student's per-sample loss against the pseudo-labels (3DResT's per-iteration quantities).

    ``batch`` is the global batch; under torchrun each rank runs the models on its own rows."""
    n = len(batch)
    batch_l, view_w, view_s = (distributed.local_batch(b) for b in (batch, view_w, view_s))
    with torch.no_grad():
        teacher_out = apply_model(teacher, view_w, amp)
    teacher_probs = torch.sigmoid(teacher_out.sp_logits[-1])
    teacher_mask = (teacher_probs >= 0.5) & batch_l.sp_mask
    pseudo = teacher_mask.float() if ssl.pseudo_label == "hard" else teacher_probs * batch_l.sp_mask
    sample_target = tscs.sampling_target(teacher_mask, batch_l.sp_mentioned)  # from the sentence, never the target

    student_out = apply_model(student, view_s, amp)
    terms = referring_loss(
        student_out.sp_logits,
        student_out.scores,
        student_out.sample_logits,
        pseudo,
        sample_target,
        view_s.sp_mask,
        loss_weights,
    )
    student_mask = student_out.mask(view_s.sp_mask)
    sizes = batch_l.sp_sizes if ssl.pseudo_level == "point" else None
    shared = view_s.sp_mask & view_w.sp_mask  # a superpoint the student's view dropped is no disagreement
    correl = distributed.gather_rows(tscs.consistency(student_mask, teacher_mask, shared, sizes), n)
    on_sentence = distributed.gather_rows(gate.on_sentence(teacher_mask, batch_l.sp_mentioned, batch_l.sp_sizes), n)
    return SemiStep(
        positions=list(positions),
        per_sample_loss=distributed.global_rows(terms["total"], n),
        correl=correl,
        teacher_score=distributed.gather_rows(teacher_out.scores[-1].detach(), n),
        on_sentence=on_sentence,
        step=step,
        since_handover=since_handover,
        batch=batch,
        view_w=view_w,
        view_s=view_s,
        teacher_out=teacher_out,
        student_out=student_out,
        teacher_mask=teacher_mask,
        student_mask=student_mask,
    )


__all__ = ["SemiStep", "semi_step", "views"]
