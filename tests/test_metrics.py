"""Metrics on hand-computed masks (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from threedrest.metrics import acc_at, mask_iou, miou, point_iou_from_superpoints, summarize


def test_mask_iou_by_hand() -> None:
    pred = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    gt = torch.tensor([[0, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    # row 0: |P&G| = 1, |P|G| = 3 -> 1 / (3 + 1e-6); row 1: identical, 2 / (2 + 1e-6)
    expected = torch.tensor([1 / (3 + 1e-6), 2 / (2 + 1e-6)])
    torch.testing.assert_close(mask_iou(pred, gt), expected)


def test_mask_iou_empty_masks() -> None:
    empty = torch.zeros(3, dtype=torch.bool)
    gt = torch.tensor([True, False, False])
    assert mask_iou(empty, gt).item() == 0.0  # 0 / (1 + 1e-6)
    assert mask_iou(gt, empty).item() == 0.0  # empty ground truth: 0 / (1 + 1e-6)
    assert mask_iou(empty, empty).item() == 0.0  # both empty: 0 / (0 + 1e-6) = 0, as the formula says


def test_mask_iou_batched_shape_and_errors() -> None:
    pred = torch.ones(2, 3, 5, dtype=torch.bool)
    assert mask_iou(pred, pred).shape == (2, 3)
    with pytest.raises(ValueError, match="shape"):
        mask_iou(pred, pred[..., :4])


def test_mask_iou_unweighted_equals_unit_weights_bitwise() -> None:
    """Without weights the IoU counts in integers: exactly the numbers of float64 unit weights."""
    g = torch.Generator().manual_seed(0)
    pred, gt = torch.rand(3, 4, 57, generator=g) < 0.4, torch.rand(3, 4, 57, generator=g) < 0.3
    assert torch.equal(mask_iou(pred, gt), mask_iou(pred, gt, torch.ones(3, 4, 57, dtype=torch.float64)))


def test_point_iou_from_superpoints_by_hand() -> None:
    sp_pred = torch.tensor([[1, 0, 1], [0, 1, 1]], dtype=torch.bool)
    sp_sizes = torch.tensor([[4, 2, 3], [5, 1, 7]])
    sp_target_count = torch.tensor([[3, 2, 0], [0, 1, 0]])
    n_target = torch.tensor([5, 1])
    sp_mask = torch.tensor([[True, True, True], [True, True, False]])
    # sample 0: |P&G| = 3 + 0 = 3, |P| = 4 + 3 = 7, |P|G| = 7 + 5 - 3 = 9 -> 3 / 9
    # sample 1: the padded third superpoint is not predicted: |P&G| = 1, |P| = 1, |P|G| = 1 -> 1 / (1 + 1e-6)
    iou = point_iou_from_superpoints(sp_pred, sp_sizes, sp_target_count, n_target, sp_mask)
    torch.testing.assert_close(iou, torch.tensor([3 / (9 + 1e-6), 1 / (1 + 1e-6)]))
    # without sp_mask the padded superpoint counts: |P| = 8, |P|G| = 8 -> 1/8
    iou = point_iou_from_superpoints(sp_pred, sp_sizes, sp_target_count, n_target)
    assert iou[1].item() == pytest.approx(1 / 8, abs=1e-6)


def test_point_iou_matches_brute_force_broadcast() -> None:
    gen = np.random.default_rng(0)
    for _ in range(20):
        n_sp = int(gen.integers(1, 12))
        superpoint = gen.integers(0, n_sp, size=200)  # point -> superpoint
        gt = gen.random(200) < 0.3  # point-level target
        sp_pred = torch.from_numpy(gen.random(n_sp) < 0.5)
        sp_sizes = torch.from_numpy(np.bincount(superpoint, minlength=n_sp))
        sp_target_count = torch.from_numpy(np.bincount(superpoint, weights=gt, minlength=n_sp))
        fast = point_iou_from_superpoints(
            sp_pred[None], sp_sizes[None], sp_target_count[None], torch.tensor([int(gt.sum())])
        )
        brute = mask_iou(sp_pred[torch.from_numpy(superpoint)], torch.from_numpy(gt))
        torch.testing.assert_close(fast[0], brute)


def test_acc_strict_at_threshold() -> None:
    ious = np.array([0.5, 0.5000001, 0.25, 0.9])
    # > 0.5: 0.5000001 and 0.9 -> 2/4; > 0.25: 0.5, 0.5000001, 0.9 -> 3/4 (0.25 itself is not counted)
    assert acc_at(ious, 0.5) == 0.5
    assert acc_at(ious, 0.25) == 0.75
    assert acc_at(torch.tensor([0.5, 0.5]), 0.5) == 0.0
    assert miou(ious) == pytest.approx((0.5 + 0.5000001 + 0.25 + 0.9) / 4)


def test_summarize_subsets() -> None:
    ious = torch.tensor([0.6, 0.2, 0.3, 0.1], dtype=torch.float64)
    unique = np.array([True, True, False, False])
    out = summarize(ious, unique)
    # overall: mean = 1.2/4 = 0.3; > 0.25: 0.6, 0.3 -> 0.5; > 0.5: 0.6 -> 0.25
    assert out["overall"] == pytest.approx({"miou": 0.3, "acc25": 0.5, "acc50": 0.25, "n": 4})
    # unique: (0.6 + 0.2)/2 = 0.4; > 0.25: 1/2; > 0.5: 1/2
    assert out["unique"] == pytest.approx({"miou": 0.4, "acc25": 0.5, "acc50": 0.5, "n": 2})
    # multiple: (0.3 + 0.1)/2 = 0.2; > 0.25: 1/2; > 0.5: 0
    assert out["multiple"] == pytest.approx({"miou": 0.2, "acc25": 0.5, "acc50": 0.0, "n": 2})


def test_summarize_empty_subset() -> None:
    out = summarize(np.array([0.7, 0.1]), np.array([True, True]))
    assert out["multiple"]["n"] == 0
    assert all(math.isnan(out["multiple"][k]) for k in ("miou", "acc25", "acc50"))
    assert out["unique"]["miou"] == pytest.approx(0.4)
    empty = summarize(np.zeros(0), np.zeros(0, dtype=bool))
    assert empty["overall"]["n"] == 0 and math.isnan(empty["overall"]["miou"])
    with pytest.raises(ValueError, match="unique"):
        summarize(np.zeros(3), np.zeros(2, dtype=bool))
