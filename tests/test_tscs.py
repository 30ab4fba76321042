"""TSCS: consistency by hand, strict selection, promotion once with frozen masks, checkpoints."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import torch
from threedrest.semi.tscs import PromotedPool, consistency, select


def _b(rows: list[list[int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.bool)


def test_consistency_superpoint_and_point_level() -> None:
    student, teacher = _b([[1, 1, 0, 0]]), _b([[0, 1, 1, 0]])
    # superpoints: |S&T| = 1, |S|T| = 3 -> 1/3
    assert consistency(student, teacher).item() == pytest.approx(1 / 3)
    # points, sizes (1, 10, 2, 5): |S&T| = 10, |S|T| = 1 + 10 + 2 = 13 -> 10/13
    sizes = torch.tensor([[1, 10, 2, 5]])
    assert consistency(student, teacher, sp_sizes=sizes).item() == pytest.approx(10 / 13)
    # a padded superpoint where only the student fires is ignored: (1, 1, 0 | 1) -> 2 / (2 + 1e-6), the
    # kit's one IoU convention (metrics.iou_from_counts), the same formula as the evaluation metric
    expected = torch.tensor(2 / (2 + 1e-6), dtype=torch.float32).item()
    assert consistency(_b([[1, 1, 0, 1]]), _b([[1, 1, 0, 0]]), _b([[1, 1, 1, 0]])).item() == expected
    assert consistency(teacher, teacher).item() == torch.tensor(2 / (2 + 1e-6)).item()  # identical masks


def test_empty_teacher_mask_is_never_promoted() -> None:
    student = _b([[0, 0, 0], [1, 0, 0], [0, 0, 1]])
    teacher = _b([[0, 0, 0], [0, 0, 0], [0, 0, 1]])
    sp_mask = _b([[1, 1, 1], [1, 1, 1], [1, 1, 0]])  # row 2: the teacher fires only on padding
    correl = consistency(student, teacher, sp_mask)
    torch.testing.assert_close(correl, torch.zeros(3))  # both empty -> 0 (not 1), so never promoted
    assert not select(correl, 0.0).any()  # even with s = 0, since the test is strict


def test_select_strict_at_threshold() -> None:
    # 19 of 20 superpoints agree: correl = 19/20 = 0.95 exactly, not > 0.95
    teacher = torch.ones(1, 20, dtype=torch.bool)
    student = teacher.clone()
    student[0, 0] = False
    correl = consistency(student, teacher)
    assert not select(correl, 0.95).item()
    assert select(correl, 0.9499).item()
    torch.testing.assert_close(select(torch.tensor([0.95, 0.96, 0.5, 1.0]), 0.95), _b([0, 1, 0, 1]).squeeze(0))


def _batch(fill: bool) -> tuple[torch.Tensor, torch.Tensor]:
    masks = torch.full((3, 4), fill, dtype=torch.bool)
    sp_mask = _b([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]])
    return masks, sp_mask


def test_promote_once_and_frozen() -> None:
    pool = PromotedPool()
    masks, sp_mask = _batch(True)
    correl = torch.tensor([0.97, 0.5, 0.99])
    keep = select(correl, 0.95)
    newly = pool.promote(10, [7, 3, 9], masks, correl, keep, sp_mask=sp_mask)
    torch.testing.assert_close(newly, _b([1, 0, 1]).squeeze(0))  # exactly correl > s
    assert len(pool) == 2 and 7 in pool and 9 in pool and 3 not in pool
    np.testing.assert_array_equal(pool.mask_of(7), [True, True, True])  # padding trimmed by sp_mask
    np.testing.assert_array_equal(pool.mask_of(9), [True] * 4)
    # second batch: 7 comes back with another mask and higher correl; it is ignored, 3 is promoted now
    masks, sp_mask = _batch(False)
    correl = torch.tensor([0.99, 0.98, 0.2])
    newly = pool.promote(11, [7, 3, 5], masks, correl, select(correl, 0.95), sp_mask=sp_mask)
    torch.testing.assert_close(newly, _b([0, 1, 0]).squeeze(0))
    np.testing.assert_array_equal(pool.mask_of(7), [True, True, True])  # frozen at promotion
    np.testing.assert_array_equal(pool.mask_of(3), [False, False])
    np.testing.assert_array_equal(pool.indices(), [7, 9, 3])
    log = pool.log()
    assert list(log.columns) == ["step", "index", "correl"]  # the hidden truth is the experiments layer's to add
    assert log["step"].tolist() == [10, 10, 11] and log["index"].tolist() == [7, 9, 3]
    np.testing.assert_allclose(log["correl"], [0.97, 0.99, 0.98], rtol=1e-6)
    with pytest.raises(KeyError):
        pool.mask_of(5)


def test_promote_list_masks_and_duplicates() -> None:
    pool = PromotedPool()
    source = [np.array([1, 0, 1], dtype=bool), np.array([0, 1], dtype=bool)]
    newly = pool.promote(0, [4, 4], source, torch.tensor([0.8, 0.1]), torch.ones(2, dtype=torch.bool))
    torch.testing.assert_close(newly, _b([1, 0]).squeeze(0))  # a repeat within the batch is ignored too
    source[0][:] = False  # the pool holds a copy
    np.testing.assert_array_equal(pool.mask_of(4), [True, False, True])
    assert pool.log()["correl"].tolist() == pytest.approx([0.8])
    with pytest.raises(ValueError, match="same length"):
        pool.promote(1, [1, 2], source[:1], torch.ones(2), torch.ones(2, dtype=torch.bool))


def test_state_dict_round_trip() -> None:
    pool = PromotedPool()
    masks, sp_mask = _batch(True)
    masks[1, 0] = False
    correl = torch.tensor([0.97, 0.99, 0.96])
    pool.promote(3, [2, 8, 6], masks, correl, select(correl, 0.95), sp_mask)
    buffer = io.BytesIO()
    torch.save(pool.state_dict(), buffer)  # tensors only: a checkpoint loads without pickle
    buffer.seek(0)
    restored = PromotedPool()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert len(restored) == 3 and 8 in restored
    np.testing.assert_array_equal(restored.indices(), pool.indices())
    for i in pool.indices():
        np.testing.assert_array_equal(restored.mask_of(i), pool.mask_of(i))
    np.testing.assert_array_equal(restored.mask_of(8), [False, True])
    pd.testing.assert_frame_equal(restored.log(), pool.log())
    empty = PromotedPool()
    empty.load_state_dict(PromotedPool().state_dict())
    assert len(empty) == 0 and len(empty.log()) == 0
    assert math.isclose(float(restored.log()["correl"].iloc[1]), 0.99, rel_tol=1e-6)


def test_select_caps_promotions_at_the_most_consistent() -> None:
    correl = torch.tensor([0.97, 0.99, 0.5, 0.98, 0.99])
    assert select(correl, 0.95).tolist() == [True, True, False, True, True]
    # cap 2: the two most consistent (0.99 twice; a tie keeps batch order)
    assert select(correl, 0.95, max_kept=2).tolist() == [False, True, False, False, True]
    assert select(correl, 0.95, max_kept=3).tolist() == [False, True, False, True, True]
    assert select(correl, 0.95, max_kept=9).tolist() == select(correl, 0.95).tolist()  # cap above the count


def test_patience_counts_consecutive_encounters_above_s() -> None:
    """tscs_patience: a streak grows at each encounter above s, restarts at one below it, and survives a checkpoint."""
    pool = PromotedPool()
    assert pool.streak([4, 7]).tolist() == [0, 0]
    pool.record([4, 7], torch.tensor([True, True]))
    pool.record([4], torch.tensor([True]))
    pool.record([7, 9], torch.tensor([False, True]))
    assert pool.streak([4, 7, 9, 1]).tolist() == [2, 0, 1, 0]
    correl = torch.tensor([0.99, 0.99, 0.99, 0.5])
    patient = pool.streak([4, 7, 9, 1]) + 1 >= 3  # this encounter would be the third in a row for sample 4 only
    assert select(correl, 0.95, patient=patient).tolist() == [True, False, False, False]
    buffer = io.BytesIO()
    torch.save(pool.state_dict(), buffer)
    buffer.seek(0)
    restored = PromotedPool()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.streak([4, 7, 9, 1]).tolist() == [2, 0, 1, 0]
    older = {k: v for k, v in pool.state_dict().items() if not k.startswith("streak")}  # a checkpoint from before
    restored.load_state_dict(older)
    assert restored.streak([4, 9]).tolist() == [0, 0]
