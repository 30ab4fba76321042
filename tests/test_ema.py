"""EMA teacher: one update by hand, buffer policies, hand-over, phases."""

from __future__ import annotations

import pytest
import torch
from threedrest.config import Config
from threedrest.net.decoder import ReferModel
from threedrest.semi.ema import make_teacher, phase, update_teacher
from torch import nn


def _linear_pair() -> tuple[nn.Module, nn.Module]:
    student = nn.Linear(2, 1)
    teacher = make_teacher(student)
    with torch.no_grad():
        teacher.weight.copy_(torch.tensor([[1.0, 2.0]]))
        teacher.bias.copy_(torch.tensor([0.0]))
        student.weight.copy_(torch.tensor([[3.0, -2.0]]))
        student.bias.copy_(torch.tensor([1.0]))
    return teacher, student


def test_one_update_by_hand() -> None:
    teacher, student = _linear_pair()
    update_teacher(teacher, student, momentum=0.9)
    # w = 0.9 * (1, 2) + 0.1 * (3, -2) = (1.2, 1.6); b = 0.9 * 0 + 0.1 * 1 = 0.1
    torch.testing.assert_close(teacher.weight, torch.tensor([[1.2, 1.6]]))
    torch.testing.assert_close(teacher.bias, torch.tensor([0.1]))
    torch.testing.assert_close(student.weight, torch.tensor([[3.0, -2.0]]))  # the student is untouched
    update_teacher(teacher, student, momentum=1.0)  # a = 1: the teacher stays put
    torch.testing.assert_close(teacher.bias, torch.tensor([0.1]))


def _bn_pair() -> tuple[nn.Module, nn.Module]:
    student = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    teacher = make_teacher(student)
    bn = student[1]
    bn.running_mean.copy_(torch.tensor([1.0, 2.0]))
    bn.running_var.copy_(torch.tensor([3.0, 5.0]))
    bn.num_batches_tracked.fill_(5)
    return teacher, student


def test_buffers_copy() -> None:
    teacher, student = _bn_pair()
    update_teacher(teacher, student, momentum=0.9, buffers="copy")
    torch.testing.assert_close(teacher[1].running_mean, torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(teacher[1].running_var, torch.tensor([3.0, 5.0]))
    assert teacher[1].num_batches_tracked.item() == 5


def test_buffers_average() -> None:
    teacher, student = _bn_pair()
    update_teacher(teacher, student, momentum=0.9, buffers="average")
    # running_mean: 0.9 * (0, 0) + 0.1 * (1, 2) = (0.1, 0.2); running_var: 0.9 * (1, 1) + 0.1 * (3, 5) = (1.2, 1.4)
    torch.testing.assert_close(teacher[1].running_mean, torch.tensor([0.1, 0.2]))
    torch.testing.assert_close(teacher[1].running_var, torch.tensor([1.2, 1.4]))
    assert teacher[1].num_batches_tracked.item() == 5  # integer buffer: copied, not averaged
    assert teacher[1].num_batches_tracked.dtype == torch.long


@pytest.mark.parametrize("profile", ["classroom", "paper"])
def test_decoder_keeps_no_running_statistics(profile: str) -> None:
    """The trained decoder normalises with LayerNorm only (the batch norms sit in the frozen backbone), so
    ``ema_buffers`` copy and average build the same teacher, as the README's ema_buffers row says."""
    model = ReferModel(Config.from_flat(profile).model, 15, 24, 30)
    assert not any(isinstance(m, nn.modules.batchnorm._NormBase) for m in model.modules())
    assert {name.rsplit(".", 1)[-1] for name, _ in model.named_buffers()} <= {"freqs"}  # a constant


def test_teacher_has_no_grad_and_is_eval() -> None:
    student = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    teacher = make_teacher(student)
    assert not teacher.training and student.training
    assert all(not p.requires_grad for p in teacher.parameters())
    assert all(p.requires_grad for p in student.parameters())
    loss = student(torch.ones(1, 2)).sum()
    loss.backward()
    update_teacher(teacher, student, momentum=0.5)
    assert all(not p.requires_grad and p.grad is None for p in teacher.parameters())
    assert teacher(torch.ones(1, 2)).grad_fn is None


def test_the_handover_teacher_is_an_exact_copy() -> None:
    _, student = _bn_pair()
    teacher = make_teacher(student)
    for t, s in zip(
        [*teacher.parameters(), *teacher.buffers()], [*student.parameters(), *student.buffers()], strict=True
    ):
        assert torch.equal(t, s)
        assert t.data_ptr() != s.data_ptr()  # a copy, not shared storage


def test_update_rejects_bad_arguments() -> None:
    teacher, student = _linear_pair()
    with pytest.raises(ValueError, match="buffers"):
        update_teacher(teacher, student, 0.9, buffers="mean")
    with pytest.raises(ValueError, match="momentum"):
        update_teacher(teacher, student, 1.5)
    with pytest.raises(ValueError, match="make_teacher"):
        update_teacher(nn.Sequential(nn.Linear(2, 1)), student, 0.9)


def test_phase_boundaries() -> None:
    assert [phase(s, 3) for s in range(6)] == ["burn_in"] * 3 + ["handover", "semi", "semi"]
    assert [phase(s, 0) for s in range(3)] == ["handover", "semi", "semi"]
    with pytest.raises(ValueError):
        phase(-1, 3)
