"""QDW: weights from correl, promoted samples at 0, both normalisations by hand, no grad through w."""

from __future__ import annotations

import pytest
import torch
from threedrest.semi.qdw import weighted_mean, weights
from threedrest.semi.tscs import consistency


def test_weights_and_stats() -> None:
    w, stats = weights(torch.tensor([0.2, 0.9, 1.0]), torch.tensor([False, False, True]))
    torch.testing.assert_close(w, torch.tensor([0.2, 0.9, 0.0]))  # promoted -> 0
    # w = (0.2, 0.9, 0): mean 1.1/3, min 0, median 0.2, max 0.9, one zero of three
    assert stats["mean"] == pytest.approx(1.1 / 3)
    assert stats["min"] == 0.0 and stats["max"] == pytest.approx(0.9)
    assert stats["median"] == pytest.approx(0.2)
    assert stats["q25"] == pytest.approx(0.1)  # linear interpolation between 0 and 0.2
    assert stats["zero_frac"] == pytest.approx(1 / 3)
    # population std: deviations (-0.1667, 0.5333, -0.3667): sqrt((0.02778 + 0.28444 + 0.13444) / 3)
    assert stats["std"] == pytest.approx(((0.2 - 1.1 / 3) ** 2 + (0.9 - 1.1 / 3) ** 2 + (1.1 / 3) ** 2) ** 0.5 / 3**0.5)


def test_student_equal_to_teacher_has_weight_one() -> None:
    mask = torch.tensor([[True, False, True], [False, True, True]])
    w, _ = weights(consistency(mask, mask, sp_sizes=torch.tensor([[3, 4, 5], [1, 1, 2]])))
    # 8 and 3 agreeing points: 8 / (8 + 1e-6) and 3 / (3 + 1e-6), the kit's one IoU convention
    assert w.tolist() == torch.tensor([8 / (8 + 1e-6), 3 / (3 + 1e-6)]).tolist()


def test_normalisations_by_hand() -> None:
    loss = torch.tensor([1.0, 2.0, 3.0])
    w = torch.tensor([0.5, 0.0, 1.0])
    # sum(w l) = 0.5 + 0 + 3 = 3.5; "mean": 3.5 / 3; "sum": 3.5 / (0.5 + 0 + 1) = 7/3
    assert weighted_mean(loss, w, "mean").item() == pytest.approx(3.5 / 3)
    assert weighted_mean(loss, w, "sum").item() == pytest.approx(7 / 3)
    assert weighted_mean(loss, torch.zeros(3), "sum").item() == 0.0  # all promoted/zero: 0 / eps = 0
    with pytest.raises(ValueError, match="norm"):
        weighted_mean(loss, w, "max")


def test_no_grad_through_weight() -> None:
    correl = torch.tensor([0.5, 0.8], requires_grad=True)
    w, _ = weights(correl)
    assert not w.requires_grad
    loss = torch.tensor([2.0, 4.0], requires_grad=True)
    weighted_mean(loss, correl, "mean").backward()  # even a weight passed with grad is detached
    torch.testing.assert_close(loss.grad, torch.tensor([0.25, 0.4]))  # d/dl = w / B
    assert correl.grad is None
