"""3D-STMN loss terms on tiny tensors computed by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from threedrest.config import ModelConfig
from threedrest.net.losses import hard_iou, mask_bce, mask_dice, referring_loss, sampling_focal, score_loss

LN2, LN3, LN43 = math.log(2), math.log(3), math.log(4 / 3)
# logits 0, ln3, -ln3 -> probabilities 1/2, 3/4, 1/4
LOGITS = torch.tensor([[0.0, LN3, -LN3]], dtype=torch.float64)
TARGET = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)


def test_bce_by_hand() -> None:
    # bce(0, 1) = ln 2; bce(ln3, 1) = -ln(3/4) = ln(4/3); bce(-ln3, 0) = -ln(1 - 1/4) = ln(4/3)
    expected = (LN2 + 2 * LN43) / 3
    assert mask_bce(LOGITS, TARGET).item() == pytest.approx(expected)
    # soft target 0.5 at logit 0: -(0.5 ln 0.5 + 0.5 ln 0.5) = ln 2
    assert mask_bce(torch.zeros(1, 1), torch.full((1, 1), 0.5)).item() == pytest.approx(LN2)


def test_dice_by_hand() -> None:
    # p = (1/2, 3/4, 1/4), t = (1, 1, 0): sum pt = 1.25, sum p = 1.5, sum t = 2
    # 1 - (2 * 1.25 + 1) / (1.5 + 2 + 1) = 1 - 3.5 / 4.5 = 1 / 4.5
    assert mask_dice(LOGITS, TARGET).item() == pytest.approx(1 / 4.5)
    # empty target, (almost) empty prediction: 1 - (0 + 1) / (0 + 0 + 1) = 0 thanks to the +1 smoothing
    assert mask_dice(torch.full((1, 3), -100.0), torch.zeros(1, 3)).item() == pytest.approx(0.0, abs=1e-12)


def test_hard_iou_and_score_loss_by_hand() -> None:
    # hard prediction (logit >= 0): (1, 0, 1) vs target (1, 1, 0): |P&G| = 1, |P|G| = 3
    iou = hard_iou(torch.tensor([[1.0, -1.0, 2.0]]), torch.tensor([[1.0, 1.0, 0.0]]))
    assert iou.item() == pytest.approx(1 / 3)
    scores = torch.tensor([0.9, 0.3, 0.8])
    ious = torch.tensor([0.6, 0.4, 0.5])
    # (0.9 - 0.6)^2 = 0.09; 0.4 and exactly 0.5 are not > 0.5 -> 0
    torch.testing.assert_close(score_loss(scores, ious), torch.tensor([0.09, 0.0, 0.0]))
    # score_on="all": every sample, (0.3 - 0.4)^2 = 0.01, (0.8 - 0.5)^2 = 0.09
    torch.testing.assert_close(score_loss(scores, ious, confident_only=False), torch.tensor([0.09, 0.01, 0.09]))


def test_score_on_all_reaches_referring_loss() -> None:
    # one prediction, mask (1, 0, 1) vs target (1, 1, 0): IoU 1/3, score 0.9 -> (0.9 - 1/3)^2 only with "all"
    logits, target = [torch.tensor([[1.0, -1.0, 2.0]])], torch.tensor([[1.0, 1.0, 0.0]])
    args = (logits, [torch.tensor([0.9])], torch.zeros(1, 3), target, torch.zeros(1, 3), None)
    assert referring_loss(*args, ModelConfig())["score"].item() == 0.0
    got = referring_loss(*args, ModelConfig(score_on="all"))["score"].item()
    assert got == pytest.approx((0.9 - 1 / 3) ** 2)


def test_focal_by_hand() -> None:
    # all logits 0 -> p = 1/2, every ce = ln 2 (also for the soft target 0.5), p_t = 1/2 -> (1 - p_t)^2 = 1/4
    # alpha_t = 0.25 u + 0.75 (1 - u): u=1 -> 0.25, u=0.5 -> 0.5, u=0 -> 0.75
    # mean = ln2 / 4 * (0.25 + 0.5 + 0.75) / 3 = ln2 / 8
    loss = sampling_focal(torch.zeros(1, 3), torch.tensor([[1.0, 0.5, 0.0]]))
    assert loss.item() == pytest.approx(LN2 / 8)
    # logit ln3, target 1: p = 3/4, ce = ln(4/3), (1 - 3/4)^2 = 1/16, alpha_t = 1/4 -> ln(4/3) / 64
    loss = sampling_focal(torch.tensor([[LN3]], dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64))
    assert loss.item() == pytest.approx(LN43 / 64)


def test_padding_changes_nothing() -> None:
    logits = torch.tensor([[0.0, LN3, -LN3, float("inf")], [1.0, -2.0, float("nan"), 5.0]], requires_grad=True)
    target = torch.tensor([[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0]])
    sp_mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    for fn in (mask_bce, mask_dice, sampling_focal):
        padded = fn(logits, target, sp_mask)
        row0 = fn(logits[:1, :3], target[:1, :3])
        row1 = fn(logits[1:, :2], target[1:, :2])
        torch.testing.assert_close(padded, torch.cat([row0, row1]).detach())
        padded.sum().backward()
        assert torch.isfinite(logits.grad).all()
        assert (logits.grad[~sp_mask] == 0).all()
        logits.grad = None
    iou = hard_iou(logits, target, sp_mask)
    # row 0: pred (1,1,0) = target -> 2/(2+1e-6); row 1: pred (1,0), target (0,1) -> 0
    torch.testing.assert_close(iou, torch.tensor([2 / (2 + 1e-6), 0.0]))


def test_referring_loss_combines_with_weights() -> None:
    logits = LOGITS.float()
    layers = [logits.clone().requires_grad_(True), (2 * logits).requires_grad_(True)]
    scores = [torch.tensor([0.9], requires_grad=True), torch.tensor([0.7], requires_grad=True)]
    sample_logits = torch.zeros(1, 3, requires_grad=True)
    sample_target = torch.tensor([[1.0, 0.5, 0.0]])
    weights = replace(ModelConfig(), loss_bce=2.0, loss_dice=3.0, loss_score=0.5, loss_focal=5.0)
    out = referring_loss(layers, scores, sample_logits, TARGET.float(), sample_target, None, weights)
    assert set(out) == {"bce", "dice", "score", "focal", "total"}
    assert all(v.shape == (1,) for v in out.values())
    # both layers predict (1, 1, 0) = target -> IoU = 2/(2+1e-6) ~ 1: score terms (0.9-1)^2 + (0.7-1)^2 = 0.10
    assert out["score"].item() == pytest.approx(0.01 + 0.09, abs=1e-5)
    assert out["focal"].item() == pytest.approx(LN2 / 8, rel=1e-6)  # see test_focal_by_hand
    bce = sum(mask_bce(x, TARGET.float()) for x in layers)
    dice = sum(mask_dice(x, TARGET.float()) for x in layers)
    torch.testing.assert_close(out["bce"], bce)
    torch.testing.assert_close(out["dice"], dice)
    expected = 2.0 * bce + 3.0 * dice + 0.5 * out["score"] + 5.0 * out["focal"]
    torch.testing.assert_close(out["total"], expected)
    out["total"].sum().backward()
    for tensor in [*layers, *scores, sample_logits]:
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0


def test_referring_loss_bce_dice_equal_the_single_terms_bitwise() -> None:
    """referring_loss builds BCE and Dice of all predictions at once: the same numbers as mask_bce / mask_dice
    per prediction, summed in prediction order, padding included (values and gradients)."""
    g = torch.Generator().manual_seed(3)
    layers = [(torch.randn(4, 9, generator=g) * 3).requires_grad_(True) for _ in range(3)]
    target = (torch.rand(4, 9, generator=g) < 0.4).float()
    sp_mask = torch.arange(9)[None] < torch.tensor([[9], [5], [7], [1]])
    out = referring_loss(layers, [torch.rand(4) for _ in layers], torch.zeros(4, 9), target, target, sp_mask,
                         ModelConfig())  # fmt: skip
    bce, dice = (sum(fn(torch.stack(layers), target.expand(3, 4, 9), sp_mask.expand(3, 4, 9)).unbind(0))
                 for fn in (mask_bce, mask_dice))  # fmt: skip
    assert torch.equal(out["bce"], bce) and torch.equal(out["dice"], dice)
    fused = torch.autograd.grad(out["bce"].sum() + out["dice"].sum(), layers)
    single = torch.autograd.grad(bce.sum() + dice.sum(), layers)
    assert all(torch.equal(a, b) for a, b in zip(fused, single, strict=True))


def test_referring_loss_rejects_bad_input() -> None:
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="scores"):
        referring_loss([x, x], [torch.zeros(2)], x, x, x, None, ModelConfig())
    with pytest.raises(ValueError, match="sp_target"):
        mask_bce(x, torch.zeros(2, 4))
