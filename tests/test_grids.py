"""The experiment grids: method settings and the compute-matched oracle schedule."""

from __future__ import annotations

from threedrest.config import Config, get_profile
from threedrest.experiments import grids, policy


def test_oracle_trains_three_times_the_profile_steps_unless_told() -> None:
    steps = get_profile("classroom").train.steps
    by_method = {(c.ssl.method, c.data.label_ratio): c for c in grids.configs("classroom", [0], grids.main_grid(0.1))}
    assert by_method[("supervised", 1.0)].train.steps == policy.ORACLE_STEPS_FACTOR * steps == 3 * steps
    assert all(c.train.steps == steps for key, c in by_method.items() if key != ("supervised", 1.0))
    explicit = grids.configs("classroom", [0], [{"method": "supervised", "label_ratio": 1.0, "steps": 300}])
    assert explicit[0].train.steps == 300
    ratio_curve = grids.configs("classroom", [0], grids.ratio_grid([0.1, 1.0], ["supervised"]))
    assert [c.train.steps for c in ratio_curve] == [steps, 3 * steps]


def test_run_many_builds_each_benchmarks_caches_before_forking(monkeypatch, tmp_path) -> None:
    """Every distinct benchmark a grid needs is cached in the parent process, once: workers then only read."""
    from threedrest.train import workspace

    built: list[str] = []
    monkeypatch.setattr(workspace.Workspace, "for_config", classmethod(lambda cls, cfg: _Fake(cfg, built)))
    monkeypatch.setattr(grids, "_in_parallel", lambda *args, **kwargs: None)
    monkeypatch.setattr(grids, "load_run", lambda path: path)
    cfgs = grids.configs("smoke", [0, 1], [{"method": "supervised"}, {"method": "3drest"}])
    cfgs += grids.configs("smoke", [0], [{"method": "supervised", "generator_seed": 5}])
    grids.run_many(cfgs, root=tmp_path)
    assert sorted(built) == sorted({workspace.Workspace.bundle_key(c) for c in cfgs}) and len(built) == 2


class _Fake:
    def __init__(self, cfg, built: list[str]) -> None:
        from threedrest.train.workspace import Workspace

        self.key, self.built = Workspace.bundle_key(cfg), built

    def ensure_cached(self) -> None:
        self.built.append(self.key)


def test_schedule_grid_compresses_the_recipe_and_reuses_the_main_runs_at_full_length() -> None:
    profile = get_profile("classroom")
    steps, burn_in = profile.train.steps, profile.ssl.burn_in_steps  # 1,800 and 400
    grid = grids.schedule_grid(0.1, [600, steps], steps, burn_in)
    short = [("supervised", 600, 133), ("3drest", 600, 133)]  # 600 * 400 / 1800 = 133.3
    full = [("supervised", steps, burn_in), ("3drest", steps, burn_in)]
    assert [(p["method"], p["steps"], p["burn_in_steps"]) for p in grid] == short + full
    cfgs = grids.configs("classroom", [0], grid)
    main = {c.hash() for c in grids.configs("classroom", [0], grids.main_grid(0.1))}
    assert [c.hash() in main for c in cfgs] == [False, False, True, True]
    assert cfgs[0].train.lr_milestones == profile.train.lr_milestones  # fractions: the schedule shrinks with it
    # a short supervised run and its 3DResT share one burn-in, not the main table's
    from threedrest.experiments.runs import burn_in_path

    assert burn_in_path(cfgs[0]) == burn_in_path(cfgs[1]) != burn_in_path(cfgs[2])


def test_schedule_grid_refuses_a_schedule_without_a_semi_phase() -> None:
    import pytest

    with pytest.raises(ValueError, match="no semi-supervised phase"):
        grids.schedule_grid(0.1, [1], 12, 6)  # burn-in max(1, round(0.5)) = 1 of 1 step
    with pytest.raises(ValueError, match="at least one step"):
        grids.schedule_grid(0.1, [0], 12, 6)


def test_a_run_of_another_schedule_is_labelled_so_and_the_profiles_runs_are_not() -> None:
    from threedrest.experiments.policy import profile_steps, run_label
    from threedrest.experiments.runs import run_dir_for

    main = grids.configs("classroom", [0], grids.main_grid(0.1))
    assert [run_label(c) for c in main] == ["supervised", "mean_teacher", "refteacher", "threshold", "3drest",
                                            "supervised"]  # fmt: skip
    assert profile_steps(main[-1]) == 3 * 1800  # the oracle's schedule is its profile's
    schedule = grids.configs("classroom", [0], grids.schedule_grid(0.1, [600, 1800], 1800, 400))
    assert [run_label(c) for c in schedule] == ["supervised-600steps", "3drest-600steps", "supervised", "3drest"]
    assert run_dir_for(schedule[1]).name.startswith("3drest-600steps-r0.1-s0-")


def test_run_many_starts_the_longest_runs_first_and_returns_in_input_order(monkeypatch, tmp_path) -> None:
    """Classroom: the oracle (5,400 - 400 supervised steps = 5,000) before a teacher method (1,400 steps at
    2.3 = 3,220) before supervised at 10 % (1,400); equal costs keep their order; results in input order."""
    from threedrest.train import workspace

    cfgs = grids.configs("classroom", [0], grids.main_grid(0.1))
    costs = {c.ssl.method + ("-oracle" if c.data.label_ratio == 1.0 else ""): grids.expected_cost(c) for c in cfgs}
    assert costs["supervised-oracle"] == 5000.0 and costs["supervised"] == 1400.0
    assert abs(costs["3drest"] - 3220.0) < 1e-9 and costs["mean_teacher"] == costs["3drest"]
    started: list[Config] = []
    monkeypatch.setattr(workspace.Workspace, "for_config", classmethod(lambda cls, cfg: _Fake(cfg, [])))
    monkeypatch.setattr(grids, "burn_in_path", lambda cfg, root: tmp_path / "exists")
    (tmp_path / "exists").touch()
    monkeypatch.setattr(grids, "_in_parallel", lambda job, todo, *args: started.extend(todo))
    monkeypatch.setattr(grids, "load_run", lambda path: path)
    out = grids.run_many(cfgs, root=tmp_path)
    assert [grids.expected_cost(c) for c in started] == sorted(costs.values(), reverse=True)
    assert started[0].data.label_ratio == 1.0 and started[-1].ssl.method == "supervised"
    teachers = [c.ssl.method for c in started if grids.expected_cost(c) == costs["3drest"]]
    assert teachers == [c.ssl.method for c in cfgs if grids.expected_cost(c) == costs["3drest"]]
    assert out == [grids.run_dir_for(c, tmp_path) for c in cfgs]
