"""How each method turns per-sample unlabelled losses into L_unsup (values by hand), and how runs are named."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from threedrest.config import Config
from threedrest.experiments.policy import method_label
from threedrest.semi.step import SemiStep
from threedrest.train.state import build_method

LOSS = torch.tensor([1.0, 2.0, 3.0, 4.0])
CORREL = torch.tensor([0.96, 0.5, 0.0, 1.0])
CONF = torch.tensor([0.9, 0.2, 0.6, 0.4])


def semi(loss=LOSS, correl=CORREL, since_handover: int = 10**6, on_sentence=None) -> SemiStep:
    """A step of four samples with three superpoints each, every teacher mask non-empty."""
    n = len(correl)
    return SemiStep(
        positions=list(range(n)),
        per_sample_loss=loss,
        correl=correl,
        teacher_score=CONF,
        on_sentence=torch.ones(n, dtype=torch.bool) if on_sentence is None else on_sentence,
        since_handover=since_handover,
        batch=SimpleNamespace(sp_mask=torch.ones(n, 3, dtype=torch.bool)),
        teacher_mask=torch.ones(n, 3, dtype=torch.bool),
    )


def method(**flat: object):
    return build_method(Config.from_flat("smoke", **{"tscs_warmup": 0, **flat}))


def decide(**flat: object):
    """The rule itself: TSCS's warm-up is over (it is tested on its own below)."""
    return method(**flat).unsupervised(semi())


def test_mean_teacher_weights_every_pseudo_label_one() -> None:
    d = decide(method="mean_teacher")
    assert d.loss.item() == pytest.approx(2.5)  # (1 + 2 + 3 + 4) / 4
    assert not d.promoted.any() and not d.moves.left


def test_3drest_promotes_above_s_and_weights_the_rest_by_correl() -> None:
    d = decide(method="3drest", tscs_threshold=0.95, tscs_max_share=1.0)
    assert d.promoted.tolist() == [True, False, False, True]  # 0.96 and 1.0 > 0.95
    assert d.weights.tolist() == pytest.approx([0.0, 0.5, 0.0, 0.0])
    assert d.loss.item() == pytest.approx(0.5 * 2.0 / 4)  # batch-mean normalisation
    assert d.moves.left == d.moves.joined == [0, 3]  # they leave the unlabelled stream for the labelled one


def test_3drest_with_a_promoted_share_keeps_its_promotions_in_its_own_stream() -> None:
    m = method(method="3drest", tscs_threshold=0.95, tscs_max_share=0.25)
    d = m.unsupervised(semi())
    assert d.moves.left == [0, 3] and d.moves.joined == []
    assert m.tscs.stream.positions == [0, 3]
    assert m.promotions()["index"].tolist() == [0, 3]


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
    assert d.promoted.tolist() == [True, False, False, True]
    assert d.weights.tolist() == [0.0, 0.0, 0.0, 0.0] and d.loss.item() == 0.0
    d = decide(method="3drest", tscs=False, qdw=False)
    assert d.loss.item() == pytest.approx(2.5)


def test_refteacher_weights_by_confidence_with_threshold_and_half_lambda() -> None:
    m = method(method="refteacher", rt_conf_threshold=0.5)
    d = m.unsupervised(semi())
    assert d.weights.tolist() == pytest.approx([0.9, 0.0, 0.6, 0.0])
    assert d.loss.item() == pytest.approx((0.9 * 1 + 0.6 * 3) / 4)
    # one lambda_u per run, the config's: RefTeacher's 0.5 is its class's default, applied by the kit's grids
    assert m.lambda_u == 1.0 and type(m).defaults == {"lambda_u": 0.5}
    from threedrest.experiments import grids

    rt, drest = grids.configs("smoke", [0], [{"method": "refteacher"}, {"method": "3drest"}])
    assert (rt.ssl.lambda_u, drest.ssl.lambda_u) == (0.5, 1.0)
    assert grids.configs("smoke", [0], [{"method": "refteacher", "lambda_u": 0.3}])[0].ssl.lambda_u == 0.3


def test_gradient_flows_to_losses_but_not_weights() -> None:
    loss = LOSS.clone().requires_grad_(True)
    correl = CORREL.clone().requires_grad_(True)
    d = method(method="3drest", tscs=False).unsupervised(semi(loss, correl))
    d.loss.backward()
    assert loss.grad.tolist() == pytest.approx((CORREL / 4).tolist())
    assert correl.grad is None


def test_supervised_has_no_unlabelled_term_and_labels_name_ablations() -> None:
    with pytest.raises(NotImplementedError):
        decide(method="supervised")

    def label(**flat: object) -> str:
        return method_label(Config.from_flat("smoke", **flat))

    assert label(method="3drest", tscs=False) == "3drest-noTSCS"
    assert label(method="3drest", qdw=False) == "3drest-noQDW"
    assert label(method="3drest", tscs=False, qdw=False) == "3drest-noTSCS-noQDW"
    assert label(method="refteacher") == "refteacher"
    # a score head trained on every sample is a different model: its runs never share a row with 3D-STMN's
    assert label(method="refteacher", score_on="all") == "refteacher-score-all"
    assert label(method="3drest", qdw=False, pseudo_gate="mentioned", score_on="all") == "3drest-noQDW-gated-score-all"


def test_3drest_without_tscs_and_qdw_is_exactly_mean_teacher() -> None:
    """Why the ablation's first row reuses the Mean Teacher runs."""
    loss = torch.tensor([0.3, 1.7, 2.2, 0.9])
    correl = torch.tensor([0.99, 0.1, 0.97, 0.5])
    mt = method(method="mean_teacher").unsupervised(semi(loss, correl))
    off = method(method="3drest", tscs=False, qdw=False).unsupervised(semi(loss, correl))
    assert torch.equal(mt.loss, off.loss) and torch.equal(mt.weights, off.weights)
    assert method(method="mean_teacher").lambda_u == method(method="3drest").lambda_u


def test_tscs_waits_its_warmup_after_the_handover() -> None:
    early = method(method="3drest", tscs_warmup=50, tscs_threshold=0.95).unsupervised(semi(since_handover=49))
    late = method(method="3drest", tscs_warmup=50, tscs_threshold=0.95).unsupervised(semi(since_handover=50))
    assert not early.promoted.any() and late.promoted.tolist() == (CORREL > 0.95).tolist()
    assert early.weights.tolist() == pytest.approx(CORREL.tolist())  # QDW still weighs every sample
    sweep = method(method="3drest", tscs_mode="sweep", tscs_warmup=50, tscs_sweep_every=100).tscs
    assert sweep.sweep_due(50) and sweep.sweep_due(150) and not sweep.sweep_due(0) and not sweep.sweep_due(51)


def test_3drest_patience_promotes_only_after_enough_consecutive_agreements() -> None:
    m = method(method="3drest", tscs_threshold=0.95, tscs_patience=2)
    m.tscs.pool.record([0, 1, 2, 3], torch.tensor([True, False, True, False]))  # the previous encounter
    d = m.unsupervised(semi())
    assert d.promoted.tolist() == [True, False, False, False]  # 3 agrees now but not before; 2 not now
    assert d.weights.tolist() == pytest.approx([0.0, 0.5, 0.0, 1.0])  # not promoted yet: QDW weighs it
    assert m.tscs.pool.streak([0, 1, 2, 3]).tolist() == [2, 0, 0, 1]  # the encounter is recorded


def test_threshold_keeps_confident_pseudo_labels_whole_and_discards_the_rest() -> None:
    from threedrest.semi.methods.threshold import mask_confidence

    logits = torch.tensor([[2.0, 0.0, -3.0], [0.5, -1.0, -1.0], [-1.0, -2.0, -4.0]])
    mask = logits >= 0
    # mean of max(p, 1 - p) over the pseudo-mask: p = sigmoid(2) = 0.8808 and sigmoid(0) = 0.5; sigmoid(0.5) = 0.6225;
    # an empty mask has confidence 0
    assert mask_confidence(logits, mask).tolist() == pytest.approx([(0.880797 + 0.5) / 2, 0.622459, 0.0], abs=1e-6)
    m = method(method="threshold", p_cutoff=0.65)
    step = semi(LOSS[:3], CORREL[:3])
    step.teacher_out, step.teacher_mask, step.teacher_score = SimpleNamespace(sp_logits=[logits]), mask, CONF[:3]
    d = m.unsupervised(step)
    assert d.weights.tolist() == [1.0, 0.0, 0.0]  # 0.69 >= 0.65; 0.62 and 0 are not: weight 0, never a fraction
    assert d.loss.item() == pytest.approx(1.0 / 3) and d.logs["util_ratio"] == pytest.approx(1 / 3)
    assert not d.promoted.any()


def test_a_method_option_is_a_config_key_of_that_method_only() -> None:
    from threedrest.config import ConfigError, replace

    cfg = Config.from_flat("smoke", method="threshold", p_cutoff=0.8)
    assert cfg.ssl.method_options == (("p_cutoff", 0.8),)
    assert Config.from_flat("smoke", method="threshold").ssl.method_options == (("p_cutoff", 0.7),)
    assert Config.from_dict(cfg.to_dict()) == cfg and replace(cfg, seed=3).ssl.method_options == cfg.ssl.method_options
    assert replace(cfg, method="3drest").ssl.method_options == ()  # another method drops the option
    with pytest.raises(ConfigError, match="p_cutoff"):
        Config.from_flat("smoke", method="3drest", p_cutoff=0.8)
    with pytest.raises(ConfigError, match="option 'p_cutoff' of method 'threshold' expects float"):
        Config.from_flat("smoke", method="threshold", p_cutoff="high")
