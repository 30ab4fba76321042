"""What every method is: a small class over one training loop (USB style; ``docs/extending.md``).

The loop (``threedrest/train/loop.py``) calls a method's hooks, never its name or its options.
Per step, in this order:

    before_step(ctx)           semi phase only, before the losses (TSCS's sweep)     -> (Moves, logs)
    labelled(positions)        the labelled batch's dataset positions                -> positions
    relabel(batch, positions)  targets of samples the method labelled itself         -> Batch
    unsupervised(step)         after burn-in, one unlabelled batch (``SemiStep``)    -> UnsupOutput

then ``loss = L_sup + lambda_u * UnsupOutput.loss`` on one line. A method receives the step's
quantities (pseudo-mask, student outputs, ``correl``, per-sample losses), returns its term, its
per-sample weights and its logs (they join ``history.csv``), and hands back the samples it promotes
as ``Moves``: it never reads a hidden label and never edits the loop's state. Its defaults (the
config values the kit runs it with) and its own options live on the class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from threedrest.config import Config
from threedrest.data.sampler import Moves
from threedrest.net.batching import Batch
from threedrest.semi import qdw
from threedrest.semi.step import SemiStep


@dataclass
class UnsupOutput:
    """What a method makes of one unlabelled batch."""

    loss: Tensor  # scalar L_unsup, before lambda_u
    weights: Tensor  # (B,) the weight each unlabelled sample got
    promoted: Tensor  # (B,) bool: moved into the labelled set at this step (all False for most methods)
    logs: dict[str, float] = field(default_factory=dict)  # join the run's history
    moves: Moves = field(default_factory=Moves)  # samples that leave the unlabelled stream


@dataclass
class StepContext:
    """What a method may use before a semi-supervised step's losses (TSCS's periodic sweep)."""

    step: int  # the optimiser step about to run
    since_handover: int  # steps since the teacher was made
    teacher: nn.Module
    student: nn.Module
    unlabelled: list[int]  # positions still in the unlabelled stream
    load: Callable[[list[int]], Batch]  # positions -> a batch on the training device
    amp: bool = False


class Method:
    """Supervised training's interface; a teacher method overrides ``unsupervised`` (``TeacherMethod``)."""

    name: ClassVar[str] = ""  # the config's ``method`` and the registry key
    title: ClassVar[str] = ""  # how figures and prose name it
    uses_teacher: ClassVar[bool] = False  # the loop keeps an EMA teacher and an unlabelled stream
    defaults: ClassVar[dict[str, Any]] = {}  # config values the kit's grids run it with
    options: ClassVar[dict[str, Any]] = {}  # its own config options (flat keys) and their defaults
    components: ClassVar[dict[str, str]] = {}  # parts an ablation switches off: label -> boolean SSL field
    all_off: ClassVar[str] = ""  # the registered method it becomes with every component off, if any

    def __init__(self, cfg: Config, seed: int = 0) -> None:
        """``seed`` seeds whatever randomness the method keeps of its own (TSCS's stream)."""
        self.cfg, self.ssl = cfg, cfg.ssl

    @property
    def lambda_u(self) -> float:
        return self.ssl.lambda_u

    def option(self, key: str) -> Any:
        """The value of one of the method's own options in this config."""
        return dict(self.ssl.method_options)[key]

    @classmethod
    def variant(cls, cfg: Config) -> str:
        """The run label's suffix naming the components switched off (3DResT without QDW: "-noQDW")."""
        return "".join(f"-no{label}" for label, key in cls.components.items() if not getattr(cfg.ssl, key))

    def before_step(self, ctx: StepContext) -> tuple[Moves, dict[str, float]]:
        """Work before a semi-supervised step's losses; returns the samples it moves and its logs."""
        return Moves(), {}

    def labelled(self, positions: list[int]) -> list[int]:
        return positions

    def relabel(self, batch: Batch, positions: list[int]) -> Batch:
        return batch

    def unsupervised(self, step: SemiStep) -> UnsupOutput:
        raise NotImplementedError(f"{self.name} trains on labelled data only")

    def promotions(self) -> pd.DataFrame:
        """Unlabelled samples the method moved into the labelled set: step, index, correl (none by default)."""
        return pd.DataFrame({"step": pd.Series(dtype="int64"), "index": pd.Series(dtype="int64"),
                             "correl": pd.Series(dtype="float64")})  # fmt: skip

    def promoted_mask(self, index: int) -> np.ndarray:
        """The superpoint pseudo-mask a promoted sample trains with."""
        raise KeyError(f"{self.name} promotes no sample (asked for {index})")

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs (tensors and plain Python values only: checkpoints load without pickle)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class TeacherMethod(Method):
    """A method that learns from the EMA teacher's pseudo-labels; every one takes the sentence gate."""

    uses_teacher = True

    def usable(self, step: SemiStep) -> Tensor:
        """(B,) bool: pseudo-labels the sentence gate lets through (``pseudo_gate``, semi/gate.py); all
        of them with the gate off, as in the paper."""
        if self.ssl.pseudo_gate == "none":
            return torch.ones_like(step.correl, dtype=torch.bool)
        return step.on_sentence.bool().to(step.correl.device)

    def weighted(self, step: SemiStep, w: Tensor, logs: dict[str, float], norm: str = "mean") -> UnsupOutput:
        """L_unsup = the per-sample losses reduced with weights ``w`` (``qdw.weighted_mean``); nothing promoted."""
        loss = qdw.weighted_mean(step.per_sample_loss, w, norm)
        return UnsupOutput(loss, w, torch.zeros_like(w, dtype=torch.bool), logs)


__all__ = ["Method", "StepContext", "TeacherMethod", "UnsupOutput"]
