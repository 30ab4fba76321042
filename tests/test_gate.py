"""The sentence gate (``pseudo_gate``): values by hand, every teacher method, the loop and the sweep."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from threedrest.config import Config, ConfigError
from threedrest.experiments.analysis import PseudoLabelLog
from threedrest.experiments.policy import method_label
from threedrest.semi import gate
from threedrest.semi.step import SemiStep
from threedrest.train.loop import train_step
from threedrest.train.state import build_method, init_state
from threedrest.train.workspace import Workspace

# five samples over four superpoints of sizes 3, 1, 2, 2
SIZES = torch.tensor([[3, 1, 2, 2]] * 5)
MASK = torch.tensor(
    [
        [1, 1, 0, 0],  # 3 of its 4 points on the named superpoint 0: on the sentence
        [0, 1, 0, 0],  # only superpoint 1, which is not named: off
        [0, 0, 0, 0],  # empty: covers nothing named, off
        [0, 0, 1, 1],  # the sentence names nothing in the scene: no evidence, through
        [0, 0, 1, 1],  # 2 of 4 points named: exactly half, on
    ],
    dtype=torch.bool,
)
NAMED = torch.tensor(
    [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]],
    dtype=torch.bool,
)


def test_on_sentence_by_hand() -> None:
    assert gate.on_sentence(MASK, NAMED, SIZES).tolist() == [True, False, False, True, True]


def test_named_share_by_hand() -> None:
    # 3 of 4 points, 0 of 1, an empty mask, nothing named, 2 of 4: the share the gate compares with one half
    assert gate.named_share(MASK, NAMED, SIZES).tolist() == [0.75, 0.0, 0.0, 0.0, 0.5]


LOSS = torch.tensor([1.0, 2.0, 3.0, 4.0])
CORREL = torch.tensor([0.96, 0.5, 1.0, 1.0])
CONF = torch.tensor([0.9, 0.2, 0.6, 0.4])
ON = torch.tensor([True, True, False, True])  # sample 2 is off the sentence


def semi(on_sentence: torch.Tensor = ON) -> SemiStep:
    return SemiStep(list(range(4)), LOSS, CORREL, CONF, on_sentence, since_handover=10**6,
                    batch=SimpleNamespace(sp_mask=torch.ones(4, 3, dtype=torch.bool)),
                    teacher_mask=torch.ones(4, 3, dtype=torch.bool))  # fmt: skip


def decide(**flat: object):
    method = build_method(Config.from_flat("smoke", **{"tscs_warmup": 0, "pseudo_gate": "mentioned", **flat}))
    return method.unsupervised(semi())


def test_every_teacher_method_gives_an_off_sentence_pseudo_label_weight_zero() -> None:
    d = decide(method="mean_teacher")
    assert d.weights.tolist() == [1.0, 1.0, 0.0, 1.0] and d.loss.item() == pytest.approx((1 + 2 + 4) / 4)
    d = decide(method="refteacher")
    assert d.weights.tolist() == pytest.approx([0.9, 0.2, 0.0, 0.4])
    d = decide(method="3drest", tscs_threshold=0.95)  # sample 2 has correl 1 but is never promoted
    assert d.promoted.tolist() == [True, False, False, True]
    assert d.weights.tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0])
    d = decide(method="3drest", tscs=False)  # QDW alone
    assert d.weights.tolist() == pytest.approx([0.96, 0.5, 0.0, 1.0])
    d = decide(method="3drest", tscs=True, qdw=False, tscs_rest="one")
    assert d.weights.tolist() == [0.0, 1.0, 0.0, 0.0]
    d = decide(method="3drest", tscs=False, qdw=False)  # still exactly the gated Mean Teacher
    assert d.loss.item() == pytest.approx((1 + 2 + 4) / 4)


def test_without_the_gate_nothing_changes() -> None:
    method = build_method(Config.from_flat("smoke", method="3drest", tscs_warmup=0))
    plain = method.unsupervised(semi())  # the step says sample 2 is off the sentence; without the gate no one asks
    assert plain.promoted.tolist() == [True, False, True, True]
    with pytest.raises(ConfigError, match="pseudo_gate"):
        Config.from_flat("smoke", pseudo_gate="class")


@pytest.mark.parametrize("mode", ["online", "sweep"])
def test_the_loop_never_promotes_or_weighs_an_off_sentence_pseudo_label(monkeypatch, mode: str) -> None:
    """Every correl forced to 1 (everything would be promoted) and every pseudo-label off the sentence:
    nothing is promoted and the unlabelled loss is 0, online and by the periodic sweep."""
    from threedrest.semi import tscs

    monkeypatch.setattr(tscs, "consistency", lambda student_mask, *args: torch.ones(student_mask.shape[0]))
    monkeypatch.setattr(gate, "on_sentence", lambda mask, *args: torch.zeros(mask.shape[0], dtype=torch.bool))
    base = {"method": "3drest", "label_ratio": 0.9, "burn_in_steps": 1, "tscs_threshold": 0.5, "tscs_warmup": 0}
    cfg = Config.from_flat("smoke", **base, tscs_mode=mode, tscs_sweep_every=2, pseudo_gate="mentioned")
    ws = Workspace.for_config(cfg)
    log = PseudoLabelLog()
    state = init_state(cfg, ws, [log])
    logs = [train_step(cfg, ws, state) for _ in range(6)]
    semi_logs = [entry for entry in logs if "unsup" in entry]
    assert semi_logs and all(entry["unsup"] == 0.0 for entry in semi_logs)
    assert len(state.method.promotions()) == 0 and not any(row["promoted"] for row in log.rows)
    open_gate = Config.from_flat("smoke", **base, tscs_mode=mode, tscs_sweep_every=2)  # the control
    ws = Workspace.for_config(open_gate)
    state = init_state(open_gate, ws)
    for _ in range(6):
        train_step(open_gate, ws, state)
    assert len(state.method.promotions()) > 0


def test_gated_runs_are_named_apart_from_the_paper_methods() -> None:
    def label(**flat: object) -> str:
        return method_label(Config.from_flat("smoke", **flat))

    assert label(method="mean_teacher", pseudo_gate="mentioned") == "mean_teacher-gated"
    assert label(method="3drest", pseudo_gate="mentioned") == "3drest-gated"
    assert label(method="3drest", qdw=False, pseudo_gate="mentioned") == "3drest-noQDW-gated"
    assert label(method="3drest") == "3drest"
