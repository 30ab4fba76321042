"""The compared methods as small objects over one training loop (USB style).

The loop (``threedrest.train``) computes, for every unlabelled batch, the teacher's pseudo-mask
(weak view), the student's prediction (strong view), their consistency and the student's
per-sample loss against the pseudo-mask. A method only decides how those per-sample losses count:

    supervised    no unlabelled term at all
    mean_teacher  w_i = 1 for every pseudo-label
    refteacher    w_i = teacher confidence (score head), optional threshold and attention imitation;
                  the grids run it with lambda_u = 0.5 (RefTeacher's weight, ``METHOD_SETTINGS``)
    3drest        TSCS: correl_i > s promotes sample i into the labelled pool (weight 0 here, L_sup
                  from then on); QDW: w_i = correl_i for the others (QDW off: w_i = 0, the rest is
                  discarded, ``tscs_rest``; with TSCS off too, w_i = 1: Mean Teacher)

With ``pseudo_gate="mentioned"`` (``semi/gate.py``) every teacher method gives w_i = 0 to a pseudo-label
that covers nothing the sentence names, and TSCS never promotes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from threedrest.config import ModelConfig, SSLConfig
from threedrest.semi import qdw, tscs


@dataclass
class UnsupTerms:
    """What the loop hands a method for one unlabelled batch (all tensors (B,))."""

    per_sample_loss: Tensor  # student loss against the teacher's pseudo-mask, with grad
    correl: Tensor  # IoU(student mask, teacher mask), no grad
    teacher_confidence: Tensor  # teacher's score head (predicted IoU), no grad
    attn_mse: Tensor | None = None  # per-sample MSE between teacher and student attention maps
    since_handover: int = 0  # steps since the teacher was made (TSCS waits ``tscs_warmup`` of them)
    streak: Tensor | None = None  # (B,) earlier consecutive encounters with correl > s (``tscs_patience``)
    on_sentence: Tensor | None = None  # (B,) bool, with ``pseudo_gate``: the pseudo-label may be used (semi/gate.py)


@dataclass
class UnsupDecision:
    loss: Tensor  # scalar L_unsup, before lambda_u
    weights: Tensor  # (B,) weight of each unlabelled sample
    promote: Tensor  # (B,) bool: TSCS promotions (into the labelled pool)
    logs: dict[str, float] = field(default_factory=dict)


# Settings a method is run with in the kit's grids unless the caller sets them: RefTeacher weighs its
# unsupervised loss by 0.5. One lambda_u per run, in the config (so in its hash and provenance).
METHOD_SETTINGS: dict[str, dict[str, float]] = {"refteacher": {"lambda_u": 0.5}}


class Method:
    name = "supervised"
    uses_teacher = False

    def __init__(self, ssl: SSLConfig) -> None:
        self.ssl = ssl

    @property
    def lambda_u(self) -> float:
        return self.ssl.lambda_u

    def decide(self, terms: UnsupTerms) -> UnsupDecision:
        raise NotImplementedError(f"{self.name} trains on labelled data only")

    def sweeps_before(self, since_handover: int) -> bool:
        """Whether TSCS's periodic sweep over the unlabelled pool runs before this semi step."""
        return False

    @staticmethod
    def usable(terms: UnsupTerms) -> Tensor:
        """(B,) bool: pseudo-labels the sentence gate lets through (all of them without the gate)."""
        if terms.on_sentence is None:
            return torch.ones_like(terms.correl, dtype=torch.bool)
        return terms.on_sentence.bool().to(terms.correl.device)


class MeanTeacher(Method):
    name = "mean_teacher"
    uses_teacher = True

    def decide(self, terms: UnsupTerms) -> UnsupDecision:
        w = self.usable(terms).float()
        loss = qdw.weighted_mean(terms.per_sample_loss, w, "mean")
        return UnsupDecision(loss, w, torch.zeros_like(w, dtype=torch.bool), {"w_mean": float(w.mean())})


class RefTeacher(Method):
    """Adapted from RefTeacher (CVPR 2023): adaptive pseudo-label weighting by teacher confidence."""

    name = "refteacher"
    uses_teacher = True

    def decide(self, terms: UnsupTerms) -> UnsupDecision:
        w = terms.teacher_confidence.detach().clamp(0.0, 1.0)
        w = torch.where((w >= self.ssl.rt_conf_threshold) & self.usable(terms), w, torch.zeros_like(w))
        loss = qdw.weighted_mean(terms.per_sample_loss, w, "mean")
        if self.ssl.rt_attn_weight > 0 and terms.attn_mse is not None:
            loss = loss + self.ssl.rt_attn_weight * terms.attn_mse.mean()
        logs = {"w_mean": float(w.mean()), "w_zero": float((w == 0).float().mean())}
        return UnsupDecision(loss, w, torch.zeros_like(w, dtype=torch.bool), logs)


class ThreeDResT(Method):
    """3DResT: TSCS promotes consistent pseudo-labels, QDW weights the rest by their quality."""

    name = "3drest"
    uses_teacher = True

    def decide(self, terms: UnsupTerms) -> UnsupDecision:
        ssl = self.ssl
        usable = self.usable(terms)  # the sentence gate (all True without it)
        if ssl.tscs and ssl.tscs_mode == "online" and terms.since_handover >= ssl.tscs_warmup:
            patient = usable if terms.streak is None else usable & (terms.streak + 1 >= ssl.tscs_patience)
            promote = tscs.select(terms.correl, ssl.tscs_threshold, ssl.tscs_max_per_step, patient)
        else:  # "sweep": tscs.sweep promotes instead
            promote = torch.zeros_like(terms.correl, dtype=torch.bool)
        if self.ssl.qdw:
            w, stats = qdw.weights(terms.correl, promote | ~usable)
            norm = self.ssl.qdw_norm
        elif ssl.tscs and ssl.tscs_rest == "zero":  # TSCS alone, hard selection: the rest is discarded
            w, stats, norm = torch.zeros_like(terms.correl), {}, "mean"
        else:  # every weight 1 (with TSCS off: Mean Teacher's loss exactly)
            w, stats, norm = (~promote & usable).float(), {}, "mean"
        loss = qdw.weighted_mean(terms.per_sample_loss, w, norm)
        logs = {"w_mean": float(w.mean()), "promoted": float(promote.float().mean())}
        logs.update({f"qdw_{k}": float(v) for k, v in stats.items() if isinstance(v, (int, float))})
        return UnsupDecision(loss, w, promote, logs)

    def sweeps_before(self, since_handover: int) -> bool:
        ssl = self.ssl
        due = since_handover >= ssl.tscs_warmup and (since_handover - ssl.tscs_warmup) % ssl.tscs_sweep_every == 0
        return ssl.tscs and ssl.tscs_mode == "sweep" and due


METHODS: dict[str, type[Method]] = {m.name: m for m in (Method, MeanTeacher, RefTeacher, ThreeDResT)}


def build_method(ssl: SSLConfig) -> Method:
    return METHODS[ssl.method](ssl)


# The one place that names the TSCS x QDW ablation rows: label -> (TSCS, QDW), in the paper's order.
# The row with neither is Mean Teacher: 3DResT's loss with every weight 1 and the batch mean is
# exactly Mean Teacher's, so the grid reuses those runs (tested).
ABLATION_ROWS: dict[str, tuple[bool, bool]] = {
    "mean_teacher": (False, False),
    "3drest-noQDW": (True, False),
    "3drest-noTSCS": (False, True),
    "3drest": (True, True),
}


GATED_SUFFIX = "-gated"  # a method run with the sentence gate (``pseudo_gate``) is named <method>-gated
SCORE_ALL_SUFFIX = "-score-all"  # a run whose score head learns from every sample (``score_on="all"``)


def method_label(ssl: SSLConfig, model: ModelConfig | None = None) -> str:
    """Name used in tables: ablation variants of 3DResT say which component is off, gated runs say so, and so
    do runs whose score head is not trained as 3D-STMN's (``model.score_on``), so they never mix into its rows."""
    suffix = GATED_SUFFIX if ssl.pseudo_gate != "none" else ""
    if model is not None and model.score_on != "confident":
        suffix += SCORE_ALL_SUFFIX
    if ssl.method != "3drest" or (ssl.tscs and ssl.qdw):
        return ssl.method + suffix
    if not ssl.tscs and not ssl.qdw:
        return "3drest-noTSCS-noQDW" + suffix  # trained only when asked for: the ablation grid uses Mean Teacher
    return next(label for label, row in ABLATION_ROWS.items() if row == (ssl.tscs, ssl.qdw)) + suffix
