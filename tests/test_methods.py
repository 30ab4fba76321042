"""How each method turns per-sample unlabelled losses into L_unsup (values by hand)."""

from __future__ import annotations

import pytest
import torch
from threedrest.config import ModelConfig, SSLConfig
from threedrest.semi.methods import UnsupTerms, build_method, method_label

LOSS = torch.tensor([1.0, 2.0, 3.0, 4.0])
CORREL = torch.tensor([0.96, 0.5, 0.0, 1.0])
CONF = torch.tensor([0.9, 0.2, 0.6, 0.4])


def decide(**ssl_fields: object):
    """The rule itself: TSCS's warm-up is over (it is tested on its own below)."""
    return build_method(SSLConfig(**{"tscs_warmup": 0, **ssl_fields})).decide(UnsupTerms(LOSS, CORREL, CONF))


def test_mean_teacher_weights_every_pseudo_label_one() -> None:
    d = decide(method="mean_teacher")
    assert d.loss.item() == pytest.approx(2.5)  # (1 + 2 + 3 + 4) / 4
    assert not d.promote.any()


def test_3drest_promotes_above_s_and_weights_the_rest_by_correl() -> None:
    d = decide(method="3drest", tscs_threshold=0.95)
    assert d.promote.tolist() == [True, False, False, True]  # 0.96 and 1.0 > 0.95
    assert d.weights.tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0])
    assert d.loss.item() == pytest.approx(0.5 * 2.0 / 4)  # batch-mean normalisation


def test_3drest_sum_normalisation_and_switches() -> None:
    d = decide(method="3drest", tscs_threshold=0.4, qdw_norm="sum")
    # promoted: 0.96, 0.5, 1.0; left: correl 0.0 -> weight 0 -> sum of weights 0 -> loss 0
    assert d.loss.item() == pytest.approx(0.0)
    d = decide(method="3drest", tscs=False, qdw=True, qdw_norm="sum")
    expected = (0.96 * 1 + 0.5 * 2 + 0.0 * 3 + 1.0 * 4) / (0.96 + 0.5 + 0.0 + 1.0)
    assert d.loss.item() == pytest.approx(expected, rel=1e-6)
    d = decide(method="3drest", tscs=True, qdw=False, tscs_threshold=0.95, tscs_rest="one")
    assert d.weights.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert d.loss.item() == pytest.approx((2 + 3) / 4)
    d = decide(method="3drest", tscs=True, qdw=False, tscs_threshold=0.95)  # default: the rest is discarded
    assert d.promote.tolist() == [True, False, False, True]
    assert d.weights.tolist() == [0.0, 0.0, 0.0, 0.0] and d.loss.item() == 0.0
    d = decide(method="3drest", tscs=False, qdw=False)
    assert d.loss.item() == pytest.approx(2.5)


def test_refteacher_weights_by_confidence_with_threshold_and_half_lambda() -> None:
    method = build_method(SSLConfig(method="refteacher", rt_conf_threshold=0.5))
    d = method.decide(UnsupTerms(LOSS, CORREL, CONF))
    assert d.weights.tolist() == pytest.approx([0.9, 0.0, 0.6, 0.0])
    assert d.loss.item() == pytest.approx((0.9 * 1 + 0.6 * 3) / 4)
    # one lambda_u per run, the config's: RefTeacher's 0.5 comes from the grids, so it is in the hash
    assert method.lambda_u == SSLConfig().lambda_u == 1.0
    assert not hasattr(SSLConfig(), "rt_lambda_u")
    from threedrest.experiments import grids

    rt, drest = grids.configs("smoke", [0], [{"method": "refteacher"}, {"method": "3drest"}])
    assert (rt.ssl.lambda_u, drest.ssl.lambda_u) == (0.5, 1.0)
    assert grids.configs("smoke", [0], [{"method": "refteacher", "lambda_u": 0.3}])[0].ssl.lambda_u == 0.3


def test_gradient_flows_to_losses_but_not_weights() -> None:
    loss = LOSS.clone().requires_grad_(True)
    correl = CORREL.clone().requires_grad_(True)
    d = build_method(SSLConfig(method="3drest", tscs=False)).decide(UnsupTerms(loss, correl, CONF))
    d.loss.backward()
    assert loss.grad.tolist() == pytest.approx((CORREL / 4).tolist())
    assert correl.grad is None


def test_supervised_has_no_unlabelled_term_and_labels_name_ablations() -> None:
    with pytest.raises(NotImplementedError):
        decide(method="supervised")
    assert method_label(SSLConfig(method="3drest", tscs=False)) == "3drest-noTSCS"
    assert method_label(SSLConfig(method="3drest", qdw=False)) == "3drest-noQDW"
    assert method_label(SSLConfig(method="3drest", tscs=False, qdw=False)) == "3drest-noTSCS-noQDW"
    assert method_label(SSLConfig(method="refteacher")) == "refteacher"
    # a score head trained on every sample is a different model: its runs never share a row with 3D-STMN's
    assert method_label(SSLConfig(method="refteacher"), ModelConfig()) == "refteacher"
    assert method_label(SSLConfig(method="refteacher"), ModelConfig(score_on="all")) == "refteacher-score-all"
    gated = SSLConfig(method="3drest", qdw=False, pseudo_gate="mentioned")
    assert method_label(gated, ModelConfig(score_on="all")) == "3drest-noQDW-gated-score-all"


def test_3drest_without_tscs_and_qdw_is_exactly_mean_teacher() -> None:
    """Why the ablation's first row reuses the Mean Teacher runs."""
    loss = torch.tensor([0.3, 1.7, 2.2, 0.9])
    correl = torch.tensor([0.99, 0.1, 0.97, 0.5])
    terms = UnsupTerms(loss, correl, CONF)
    mt = build_method(SSLConfig(method="mean_teacher")).decide(terms)
    off = build_method(SSLConfig(method="3drest", tscs=False, qdw=False)).decide(terms)
    assert torch.equal(mt.loss, off.loss) and torch.equal(mt.weights, off.weights)
    assert build_method(SSLConfig(method="mean_teacher")).lambda_u == build_method(SSLConfig(method="3drest")).lambda_u


def test_tscs_waits_its_warmup_after_the_handover() -> None:
    ssl = SSLConfig(method="3drest", tscs_warmup=50, tscs_threshold=0.95)
    early = build_method(ssl).decide(UnsupTerms(LOSS, CORREL, CONF, since_handover=49))
    late = build_method(ssl).decide(UnsupTerms(LOSS, CORREL, CONF, since_handover=50))
    assert not early.promote.any() and late.promote.tolist() == (CORREL > 0.95).tolist()
    assert early.weights.tolist() == pytest.approx(CORREL.tolist())  # QDW still weighs every sample
    assert build_method(SSLConfig(tscs_mode="sweep", tscs_warmup=50, tscs_sweep_every=100)).sweeps_before(50)
    assert not build_method(SSLConfig(tscs_mode="sweep", tscs_warmup=50, tscs_sweep_every=100)).sweeps_before(0)


def test_3drest_patience_promotes_only_after_enough_consecutive_agreements() -> None:
    ssl = SSLConfig(method="3drest", tscs_warmup=0, tscs_threshold=0.95, tscs_patience=2)
    streak = torch.tensor([1, 0, 1, 0])  # samples 0 and 2 were above s at their previous encounter
    d = build_method(ssl).decide(UnsupTerms(LOSS, CORREL, CONF, streak=streak))
    assert d.promote.tolist() == [True, False, False, False]  # 3 agrees now but not before; 2 not now
    assert d.weights.tolist() == pytest.approx([0.0, 0.5, 0.0, 1.0])  # not promoted yet: QDW weighs it
