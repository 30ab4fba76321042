"""The sentence gate (``pseudo_gate``): values by hand, every teacher method, the loop and the sweep."""

from __future__ import annotations

import pytest
import torch
from threedrest.config import Config, ConfigError, SSLConfig
from threedrest.semi import gate
from threedrest.semi.methods import UnsupTerms, build_method
from threedrest.train import init_state, train_step
from threedrest.workspace import Workspace

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


def decide(**ssl_fields: object):
    method = build_method(SSLConfig(**{"tscs_warmup": 0, **ssl_fields}))
    return method.decide(UnsupTerms(LOSS, CORREL, CONF, on_sentence=ON))


def test_every_teacher_method_gives_an_off_sentence_pseudo_label_weight_zero() -> None:
    d = decide(method="mean_teacher")
    assert d.weights.tolist() == [1.0, 1.0, 0.0, 1.0] and d.loss.item() == pytest.approx((1 + 2 + 4) / 4)
    d = decide(method="refteacher")
    assert d.weights.tolist() == pytest.approx([0.9, 0.2, 0.0, 0.4])
    d = decide(method="3drest", tscs_threshold=0.95)  # sample 2 has correl 1 but is never promoted
    assert d.promote.tolist() == [True, False, False, True]
    assert d.weights.tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0])
    d = decide(method="3drest", tscs=False)  # QDW alone
    assert d.weights.tolist() == pytest.approx([0.96, 0.5, 0.0, 1.0])
    d = decide(method="3drest", tscs=True, qdw=False, tscs_rest="one")
    assert d.weights.tolist() == [0.0, 1.0, 0.0, 0.0]
    d = decide(method="3drest", tscs=False, qdw=False)  # still exactly the gated Mean Teacher
    assert d.loss.item() == pytest.approx((1 + 2 + 4) / 4)


def test_without_the_gate_nothing_changes() -> None:
    method = build_method(SSLConfig(method="3drest", tscs_warmup=0))
    plain = method.decide(UnsupTerms(LOSS, CORREL, CONF))
    assert plain.promote.tolist() == [True, False, True, True]
    with pytest.raises(ConfigError, match="pseudo_gate"):
        Config.from_flat("smoke", pseudo_gate="class")


@pytest.mark.parametrize("mode", ["online", "sweep"])
def test_the_loop_never_promotes_or_weighs_an_off_sentence_pseudo_label(monkeypatch, mode: str) -> None:
    """Every correl forced to 1 (everything would be promoted) and every pseudo-label off the sentence:
    nothing is promoted and the unlabelled loss is 0, online and by the periodic sweep."""
    from threedrest import train

    monkeypatch.setattr(train.tscs, "consistency", lambda s_hard, *args: torch.ones(s_hard.shape[0]))
    monkeypatch.setattr(gate, "on_sentence", lambda mask, *args: torch.zeros(mask.shape[0], dtype=torch.bool))
    base = {"method": "3drest", "label_ratio": 0.9, "burn_in_steps": 1, "tscs_threshold": 0.5, "tscs_warmup": 0}
    cfg = Config.from_flat("smoke", **base, tscs_mode=mode, tscs_sweep_every=2, pseudo_gate="mentioned")
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws)
    logs = [train_step(cfg, ws, state, build_method(cfg.ssl)) for _ in range(6)]
    semi = [log for log in logs if "unsup" in log]
    assert semi and all(log["unsup"] == 0.0 for log in semi)
    assert len(state.pool) == 0 and not any(row["promoted"] for row in state.pseudo_log)
    open_gate = Config.from_flat("smoke", **base, tscs_mode=mode, tscs_sweep_every=2)  # the control
    ws = Workspace.for_config(open_gate)
    state = init_state(open_gate, ws)
    for _ in range(6):
        train_step(open_gate, ws, state, build_method(open_gate.ssl))
    assert len(state.pool) > 0


def test_gated_runs_are_named_apart_from_the_paper_methods() -> None:
    from threedrest.semi.methods import method_label

    assert method_label(SSLConfig(method="mean_teacher", pseudo_gate="mentioned")) == "mean_teacher-gated"
    assert method_label(SSLConfig(method="3drest", pseudo_gate="mentioned")) == "3drest-gated"
    assert method_label(SSLConfig(method="3drest", qdw=False, pseudo_gate="mentioned")) == "3drest-noQDW-gated"
    assert method_label(SSLConfig(method="3drest")) == "3drest"
