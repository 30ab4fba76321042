"""The EMA teacher: a few small pure functions.

3DResT: the teacher follows the student by exponential moving average,

    theta_t <- a * theta_t + (1 - a) * theta_s,

after a burn-in on labelled data ending with a hand-over: ``make_teacher`` copies the student
exactly (one update with a = 0). Parameters are walked with ``parameters()``/``buffers()`` in module
order, never through ``state_dict`` key slicing (unbiased-teacher's ``key[7:]``).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

Phase = Literal["burn_in", "handover", "semi"]
BUFFER_POLICIES = ("copy", "average")


def make_teacher(student: nn.Module) -> nn.Module:
    """A frozen copy of the student, in eval mode (dropout off, batch-norm uses its running stats)."""
    teacher = copy.deepcopy(student)
    teacher.requires_grad_(False)
    teacher.eval()
    return teacher


def _pairs(teacher: nn.Module, student: nn.Module, what: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    t_named = list(getattr(teacher, f"named_{what}")())
    s_named = list(getattr(student, f"named_{what}")())
    if [n for n, _ in t_named] != [n for n, _ in s_named]:
        raise ValueError(f"teacher and student {what} differ: the teacher must be make_teacher(student)")
    pairs = [(t, s) for (_, t), (_, s) in zip(t_named, s_named, strict=True)]
    for (name, _), (t, s) in zip(t_named, pairs, strict=True):
        if t.shape != s.shape:
            raise ValueError(f"{what[:-1]} {name!r}: teacher shape {tuple(t.shape)} != student {tuple(s.shape)}")
    return pairs


@torch.no_grad()
def update_teacher(teacher: nn.Module, student: nn.Module, momentum: float, buffers: str = "copy") -> None:
    """One EMA step in place: theta_t <- a theta_t + (1-a) theta_s over ``parameters()``.

    ``buffers``: "copy" takes the student's buffers as they are (USB; batch-norm statistics always
    describe the current student), "average" applies the same EMA to floating-point buffers
    (RefTeacher averages the whole state_dict) and copies integer ones (``num_batches_tracked``),
    which cannot be averaged.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    if buffers not in BUFFER_POLICIES:
        raise ValueError(f"buffers must be one of {BUFFER_POLICIES}, got {buffers!r}")
    pairs = _pairs(teacher, student, "parameters")
    if pairs:  # one multi-tensor call per operation, not two kernels per parameter: the same arithmetic
        t_params, s_params = [t for t, _ in pairs], [s.detach() for _, s in pairs]
        torch._foreach_mul_(t_params, momentum)
        torch._foreach_add_(t_params, s_params, alpha=1.0 - momentum)
    for t, s in _pairs(teacher, student, "buffers"):
        if buffers == "average" and t.is_floating_point():
            t.mul_(momentum).add_(s, alpha=1.0 - momentum)
        else:
            t.copy_(s)


def phase(step: int, burn_in_steps: int) -> Phase:
    """Which part of training ``step`` (0-based) belongs to.

    Steps 0 .. burn_in_steps-1 are "burn_in" (labelled only, no teacher); step == burn_in_steps is
    "handover" (copy the student into the teacher, then train semi-supervised); later steps are
    "semi". With burn_in_steps == 0 step 0 is the hand-over.
    """
    if step < 0 or burn_in_steps < 0:
        raise ValueError(f"step and burn_in_steps must be >= 0, got step={step}, burn_in_steps={burn_in_steps}")
    if step < burn_in_steps:
        return "burn_in"
    return "handover" if step == burn_in_steps else "semi"


def since_handover(step: int, burn_in_steps: int) -> int:
    """Steps since the teacher was made (0 at the hand-over, negative during burn-in): the clock of TSCS's
    warm-up and sweeps."""
    return step - burn_in_steps


__all__ = ["BUFFER_POLICIES", "Phase", "make_teacher", "phase", "since_handover", "update_teacher"]
