"""The shared burn-in: trained once per (label ratio, seed), every method continues from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from threedrest.config import Config
from threedrest.experiments import grids, runs

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(method: str, **extra) -> Config:
    return Config.from_flat("smoke", method=method, label_ratio=0.3, burn_in_steps=6, steps=12, **extra)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["supervised", "3drest"])
def test_continuing_from_the_shared_burn_in_changes_no_number(tmp_path: Path, method: str) -> None:
    cfg = _cfg(method)
    shared = runs.run(cfg, root=tmp_path / "shared", progress=False)
    alone = runs.run(cfg, root=tmp_path / "alone", progress=False, shared_burn_in=False)
    assert runs.burn_in_path(cfg, tmp_path / "shared").exists()
    assert not (tmp_path / "alone" / "burn_in").exists()
    pd.testing.assert_frame_equal(shared.metrics, alone.metrics)
    a, b = (torch.load(r.run_dir / "model.pt", weights_only=True) for r in (shared, alone))
    for model in a:
        for key in a[model]:
            assert torch.equal(a[model][key], b[model][key]), (model, key)


@pytest.mark.slow
def test_every_method_starts_its_semi_phase_from_the_same_student(tmp_path: Path, monkeypatch) -> None:
    from threedrest.train import loop

    cfgs = [_cfg(m) for m in ("supervised", "mean_teacher", "3drest")] + [_cfg("3drest", tscs=False)]
    students = {}
    real_fit = loop.fit

    def spy_fit(cfg, ws, progress=True, state=None, **kwargs):
        if state is not None and kwargs.get("until") is None:  # a run continuing from its burn-in
            students[cfg.hash()] = (state.step, {k: v.clone() for k, v in state.student.state_dict().items()})
        return real_fit(cfg, ws, progress, state, **kwargs)

    monkeypatch.setattr(runs, "fit", spy_fit)
    grids.run_many(cfgs, root=tmp_path, workers=1, progress=False)
    assert len(list((tmp_path / "burn_in").glob("*.pt"))) == 1  # one burn-in for the four runs
    assert len(students) == len(cfgs)
    (step0, first), *rest = students.values()
    assert step0 == 6
    for step, student in rest:
        assert step == 6 and all(torch.equal(first[k], student[k]) for k in first)


@pytest.mark.slow
def test_an_unreadable_burn_in_is_trained_again_with_a_warning(tmp_path: Path) -> None:
    cfg = _cfg("3drest")
    path = runs.burn_in(cfg, root=tmp_path)
    good = runs.run(cfg, root=tmp_path / "reference", progress=False)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match=r"unreadable burn-in .*training it again"):
        again = runs.run(cfg, root=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.metrics, good.metrics)
