"""A run's training state: what one step reads and changes, and what a resumed run restores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from threedrest import registry
from threedrest.config import Config
from threedrest.data.sampler import BatchStream
from threedrest.net.backbone import require_device
from threedrest.semi.methods.base import Method, UnsupOutput
from threedrest.semi.step import SemiStep
from threedrest.train.workspace import Workspace


class Observer(Protocol):
    """Something the caller attaches to watch each semi-supervised batch (the experiments layer's analysis
    log); it returns entries for the step's history row and is saved with the checkpoint."""

    def __call__(self, step: int, semi: SemiStep, out: UnsupOutput) -> dict[str, float]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class TrainState:
    """Everything a resumed run needs to continue bit for bit."""

    step: int
    student: torch.nn.Module
    teacher: torch.nn.Module | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    method: Method
    lb_stream: BatchStream
    ulb_stream: BatchStream | None
    ulb_aug_generator: torch.Generator  # the views of unlabelled batches
    lb_aug_generator: torch.Generator  # the strong view of labelled batches (its own stream)
    best: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> {"miou", "step", "state"}
    history: list[dict[str, Any]] = field(default_factory=list)
    observers: list[Observer] = field(default_factory=list)


def seeds_for(cfg: Config) -> dict[str, int]:
    """Independent seeds per random stream, so one stream never shifts another."""
    base = cfg.seed * 1_000
    return {"model": base + 11, "lb": base + 23, "ulb": base + 37, "ulb_aug": base + 51, "lb_aug": base + 67,
            "method": base + 79}  # fmt: skip


def build_method(cfg: Config) -> Method:
    """The registered method of ``cfg``, seeded for whatever randomness it keeps."""
    return registry.method_class(cfg.ssl.method)(cfg, seed=seeds_for(cfg)["method"])


def init_state(cfg: Config, ws: Workspace, observers: list[Observer] | None = None) -> TrainState:
    seeds = seeds_for(cfg)
    require_device(cfg.train.device)  # before any work
    torch.manual_seed(seeds["model"])
    student = ws.build_model().to(cfg.train.device)
    optimizer = torch.optim.AdamW(
        student.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, fused=True
    )
    milestones = sorted({max(1, int(f * cfg.train.steps)) for f in cfg.train.lr_milestones})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=cfg.train.lr_gamma)
    method = build_method(cfg)
    ulb_stream = None
    if method.uses_teacher and ws.ulb_positions:
        ulb_stream = BatchStream(ws.ulb_positions, cfg.train.batch_size * cfg.ssl.ulb_ratio, seeds["ulb"])
    return TrainState(
        step=0,
        student=student,
        teacher=None,
        optimizer=optimizer,
        scheduler=scheduler,
        method=method,
        lb_stream=BatchStream(ws.lb_positions, cfg.train.batch_size, seeds["lb"]),
        ulb_stream=ulb_stream,
        ulb_aug_generator=torch.Generator().manual_seed(seeds["ulb_aug"]),
        lb_aug_generator=torch.Generator().manual_seed(seeds["lb_aug"]),
        observers=list(observers or []),
    )


def models_of(state: TrainState) -> dict[str, torch.nn.Module]:
    """The models a run evaluates and saves: the student, and the teacher once there is one."""
    models = {"student": state.student}
    if state.teacher is not None:
        models["teacher"] = state.teacher
    return models


__all__ = ["Observer", "TrainState", "build_method", "init_state", "models_of", "seeds_for"]
