"""The one training loop: burn-in hand-over, the supervised special case, TSCS bookkeeping."""

from __future__ import annotations

import pytest
import torch
from threedrest.config import Config
from threedrest.experiments.analysis import PseudoLabelLog, promotions_with_truth
from threedrest.train import loop
from threedrest.train.loop import train_step
from threedrest.train.state import init_state
from threedrest.train.workspace import Workspace

pytestmark = pytest.mark.usefixtures("one_thread")


def _steps(cfg: Config, n: int):
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws)
    logs = [train_step(cfg, ws, state) for _ in range(n)]
    return state, logs


def test_lambda_zero_without_tscs_is_supervised_training_bit_for_bit() -> None:
    base = dict(label_ratio=0.2, burn_in_steps=2, steps=8)
    sup_state, sup_logs = _steps(Config.from_flat("smoke", method="supervised", **base), 8)
    ssl_state, ssl_logs = _steps(Config.from_flat("smoke", method="3drest", lambda_u=0.0, tscs=False, **base), 8)
    assert [log["phase"] for log in ssl_logs][:4] == ["burn_in", "burn_in", "handover", "semi"]
    assert [log["loss"] for log in sup_logs] == [log["loss"] for log in ssl_logs]
    for (name, a), (_, b) in zip(
        sup_state.student.state_dict().items(), ssl_state.student.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_handover_copies_the_student_exactly_then_ema_follows() -> None:
    cfg = Config.from_flat("smoke", method="3drest", label_ratio=0.2, burn_in_steps=3, ema_momentum=0.5)
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws)
    for _ in range(3):
        train_step(cfg, ws, state)
    assert state.teacher is None
    before = {k: v.clone() for k, v in state.student.state_dict().items()}
    train_step(cfg, ws, state)  # hand-over: teacher = student, then one step and one EMA update
    after = state.student.state_dict()
    for name, t in state.teacher.state_dict().items():
        expected = 0.5 * before[name] + 0.5 * after[name] if t.is_floating_point() else after[name]
        torch.testing.assert_close(t, expected, rtol=0, atol=1e-6, msg=name)
    assert not any(p.requires_grad for p in state.teacher.parameters())


def test_tscs_promotes_into_the_labelled_pool_and_out_of_the_unlabelled_one() -> None:
    # tscs_max_share 1.0: the paper's literal rule, promoted samples join the labelled stream itself
    cfg = Config.from_flat(
        "smoke", method="3drest", label_ratio=0.2, burn_in_steps=0, tscs_threshold=0.0, tscs_max_share=1.0
    )
    ws = Workspace.for_config(cfg)
    log = PseudoLabelLog()
    state = init_state(cfg, ws, [log])
    n_lb, n_ulb = len(state.lb_stream.positions), len(state.ulb_stream.positions)
    for _ in range(4):
        train_step(cfg, ws, state)
    pool = state.method.tscs.pool
    promoted = set(pool.indices().tolist())
    assert promoted, "threshold 0 must promote some pseudo-labels"
    # threshold 0: every pseudo-label with a non-empty teacher mask overlapping the student's is promoted
    assert len(state.lb_stream.positions) == n_lb + len(promoted)
    assert len(state.ulb_stream.positions) == n_ulb - len(promoted)
    assert not promoted & set(state.ulb_stream.positions)
    assert promoted <= set(state.lb_stream.positions)
    promotions = state.method.promotions()
    assert len(promotions) == len(promoted) and (promotions["correl"] > 0.0).all()
    # the analysis columns of the pseudo-log: a promoted row's pseudo_sp is the size of the mask the pool stored
    rows = [row for row in log.rows if row["promoted"]]
    assert len(rows) == len(promoted)
    for row in rows:
        assert row["pseudo_sp"] == int(pool.mask_of(row["index"]).sum()) > 0
        assert 0.0 <= row["teacher_score"] <= 1.0 and 0.0 <= row["named_share"] <= 1.0
    # the promotion log's hidden-truth IoU is the analysis log's, for the same pseudo-masks
    truth = promotions_with_truth(state.method, ws).set_index("index")["true_iou"]
    assert all(truth[row["index"]] == pytest.approx(row["true_iou"], abs=0) for row in rows)


def test_patience_never_promotes_a_sample_at_its_first_encounter(monkeypatch) -> None:
    """tscs_patience 2: correl > s at two encounters in a row. With every correl 1, patience 1 promotes each
    sample at first sight and patience 2 at its second (one step sees a sample at most once)."""
    from threedrest.semi import step as semi_step

    monkeypatch.setattr(semi_step.tscs, "consistency", lambda student_mask, *args: torch.ones(student_mask.shape[0]))
    base = {"method": "3drest", "label_ratio": 0.9, "burn_in_steps": 0, "tscs_threshold": 0.5, "steps": 40}
    first_sight = {}
    for patience in (1, 2):
        cfg = Config.from_flat("smoke", **base, tscs_patience=patience)
        ws = Workspace.for_config(cfg)
        log = PseudoLabelLog()
        state = init_state(cfg, ws, [log])
        for _ in range(20):  # the unlabelled pool (10 %, 31 samples, 4 a step) is seen about twice
            train_step(cfg, ws, state)
        seen = {}
        for row in log.rows:
            seen.setdefault(row["index"], row["step"])
        first_sight[patience] = [row["step"] == seen[row["index"]] for row in log.rows if row["promoted"]]
    assert len(first_sight[1]) == len(ws.ulb_positions) and all(first_sight[1])
    assert first_sight[2] and not any(first_sight[2])


def test_labelled_augmentation_draws_from_its_own_resumable_stream() -> None:
    cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.2, lb_augment=True)
    ws = Workspace.for_config(cfg)
    a, b = init_state(cfg, ws), init_state(cfg, ws)
    train_step(cfg, ws, a)
    train_step(cfg, ws, b)
    assert torch.equal(a.lb_aug_generator.get_state(), b.lb_aug_generator.get_state())
    assert not torch.equal(a.lb_aug_generator.get_state(), torch.Generator().manual_seed(0).get_state())
    plain_cfg = Config.from_flat("smoke", method="supervised", label_ratio=0.2, lb_augment=False)
    plain = init_state(plain_cfg, ws)
    log_plain = train_step(plain_cfg, ws, plain)
    log_aug = train_step(cfg, ws, init_state(cfg, ws))
    assert log_plain["loss"] != log_aug["loss"]  # the labelled batch really was augmented


def test_a_hash_that_looks_like_a_float_stays_a_string(tmp_path) -> None:
    import pandas as pd
    from threedrest.experiments.runs import _read_csv

    path = tmp_path / "metrics.csv"
    pd.DataFrame({"config_hash": ["364e27407585", "0123456789ab"], "miou": [0.1, 0.2]}).to_csv(path, index=False)
    assert _read_csv(path)["config_hash"].tolist() == ["364e27407585", "0123456789ab"]


def test_tscs_sweep_mode_promotes_only_at_sweeps() -> None:
    cfg = Config.from_flat(
        "smoke", method="3drest", label_ratio=0.5, burn_in_steps=40, tscs_mode="sweep", tscs_sweep_every=3,
        tscs_threshold=0.0, lr=5e-3, batch_size=8, steps=50,
    )  # fmt: skip
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws)
    logs = [train_step(cfg, ws, state) for _ in range(47)]
    swept_at = [log["step"] for log in logs if "swept_promotions" in log]
    assert swept_at == [43, 46]  # every 3 steps after the hand-over (step 40), never at the hand-over itself
    log = state.method.promotions()
    assert len(log) > 0 and set(log["step"]) <= {43, 46}
    assert sum(entry["swept_promotions"] for entry in logs if "swept_promotions" in entry) == len(log)
    assert not set(log["index"]) & set(state.ulb_stream.positions)


def _after_handover(cfg: Config, observers: list | None = None):
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws, observers)
    while state.teacher is None:
        train_step(cfg, ws, state)
    return ws, state


@pytest.mark.parametrize("pseudo_gate", ["none", "mentioned"])
def test_unlabelled_terms_never_read_the_hidden_target(monkeypatch, pseudo_gate: str) -> None:
    """Changing the hidden target of the unlabelled samples must not change any unlabelled loss term
    (the old loop recovered 'mentioned' objects from the sampling target, which held the target);
    the sentence gate reads the sentence and the scene's classes, never the target."""
    import copy

    from threedrest.semi import step as semi_step

    # Mean Teacher: every pseudo-label has weight 1, so a changed loss term cannot hide behind a zero weight
    cfg = Config.from_flat("smoke", method="mean_teacher", label_ratio=0.3, burn_in_steps=2, pseudo_gate=pseudo_gate)
    ws, state = _after_handover(cfg, [PseudoLabelLog()])
    real_collate = ws.collate

    def other_target(samples):  # every sample now "refers" to superpoint 0 alone
        batch = real_collate(samples)
        batch.sp_target = torch.zeros_like(batch.sp_target)
        batch.sp_target[:, 0] = 1.0
        batch.sp_target_count = batch.sp_target * batch.sp_sizes
        batch.n_target = batch.sp_target_count.sum(1)
        batch.sample_target = torch.where(batch.sp_target > 0, 1.0, batch.sample_target.clamp(max=0.5))
        return batch

    decided = []  # the gate's own verdicts; the loop sees every other sample let through, so no weight is all 0
    real_gate = semi_step.gate.on_sentence

    def recorded_gate(mask, named, sizes):
        verdict = real_gate(mask, named, sizes)
        decided.append(verdict.tolist())
        return verdict | (torch.arange(len(verdict)) % 2 == 0)

    monkeypatch.setattr(semi_step.gate, "on_sentence", recorded_gate)
    results = []
    for collate in (real_collate, other_target):
        twin = copy.deepcopy(state)
        monkeypatch.setattr(ws, "collate", collate)
        loss, logs = loop.unsupervised_loss(cfg, ws, twin)
        results.append((loss.item(), logs["correl"], [r["weight"] for r in twin.observers[0].rows]))
    assert results[0][0] > 0 and results[0] == results[1]
    assert len(decided) == 2 and decided[:1] == decided[1:]  # computed either way; weighed only with the gate on


def test_consistency_counts_only_superpoints_both_views_contain(monkeypatch) -> None:
    from threedrest.net import augment
    from threedrest.semi import tscs

    cfg = Config.from_flat("smoke", method="3drest", label_ratio=0.3, burn_in_steps=2)
    ws, state = _after_handover(cfg)
    seen = {}
    real_strong, real_consistency = augment.strong, tscs.consistency

    def strong(batch, gen, *args):
        view = real_strong(batch, gen, *args)
        seen["scene"], seen["student_view"] = batch.sp_mask.clone(), view.sp_mask.clone()
        return view

    def consistency(student_mask, teacher_mask, sp_mask=None, sp_sizes=None):
        seen["valid"] = sp_mask.clone()
        return real_consistency(student_mask, teacher_mask, sp_mask, sp_sizes)

    monkeypatch.setattr(augment, "strong", strong)
    monkeypatch.setattr(tscs, "consistency", consistency)
    loop.unsupervised_loss(cfg, ws, state)
    dropped = seen["valid"] != seen["student_view"]
    assert not dropped.any(), "superpoints the student's view dropped must not count as disagreement"
    assert (seen["scene"] & ~seen["student_view"]).any(), "the strong view dropped nothing: the test would be vacuous"


def test_one_lambda_u_applied_once_and_logged() -> None:
    cfg = Config.from_flat("smoke", method="refteacher", label_ratio=0.3, burn_in_steps=2, lambda_u=0.25, steps=5)
    _, logs = _steps(cfg, 5)
    semi = [log for log in logs if log["phase"] == "semi"]
    assert semi and all(log["lambda_u"] == 0.25 for log in logs)
    for log in semi:
        assert log["loss"] == pytest.approx(log["sup"] + 0.25 * log["unsup"], rel=1e-6)


def test_promoted_share_keeps_the_ground_truth_in_every_labelled_batch() -> None:
    """tscs_max_share 0.25: promoted samples fill at most a quarter of a labelled batch (batch 8: two)."""
    cfg = Config.from_flat(
        "smoke", method="3drest", label_ratio=0.5, burn_in_steps=40, tscs_threshold=0.0, lr=5e-3, batch_size=8,
        steps=50, tscs_max_share=0.25,
    )  # fmt: skip
    ws = Workspace.for_config(cfg)
    state = init_state(cfg, ws)
    lb = set(ws.lb_positions)
    seen_promoted = 0
    for _ in range(44):
        train_step(cfg, ws, state)
    tscs = state.method.tscs
    assert tscs.stream is not None and len(tscs.pool) > 0
    assert set(state.lb_stream.positions) == lb  # ground truth only: promotions went to their own stream
    assert set(tscs.stream.positions) == set(tscs.pool.indices().tolist())
    from threedrest.semi import tscs as tscs_module

    drawn = []
    real_relabel = tscs_module.relabel

    def spy(batch, pool, positions):
        drawn.append(list(positions))
        return real_relabel(batch, pool, positions)

    tscs_module.relabel = spy
    try:
        for _ in range(3):
            loop.supervised_loss(cfg, ws, state)
    finally:
        tscs_module.relabel = real_relabel
    for positions in drawn:
        promoted_here = [p for p in positions if p in tscs.pool]
        seen_promoted += len(promoted_here)
        assert len(positions) == cfg.train.batch_size and len(promoted_here) <= 2
    assert seen_promoted >= 1


def test_ulb_drop_sets_the_unlabelled_student_views_dropout_only(monkeypatch) -> None:
    """``ulb_drop`` is the superpoint dropout of the student's view of unlabelled samples; the labelled
    view keeps StrongAug's own."""
    from threedrest.net import augment

    drops = {}
    real_strong, default = augment.strong, augment.StrongAug()

    def strong(batch, gen, aug=default):
        view = real_strong(batch, gen, aug)
        drops.setdefault(aug.drop, []).append(1 - view.sp_mask.sum().item() / batch.sp_mask.sum().item())
        return view

    cfg = Config.from_flat("smoke", method="3drest", label_ratio=0.3, burn_in_steps=2, lb_augment=True, ulb_drop=0.6)
    ws, state = _after_handover(cfg)
    monkeypatch.setattr(augment, "strong", strong)  # one module: the labelled and the unlabelled views
    train_step(cfg, ws, state)
    assert set(drops) == {default.drop, 0.6}
    assert 0.45 < drops[0.6][0] < 0.75 and drops[default.drop][0] < 0.25
