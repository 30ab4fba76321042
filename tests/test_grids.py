"""The experiment grids: method settings and the compute-matched oracle schedule."""

from __future__ import annotations

from threedrest.config import get_profile
from threedrest.experiments import grids


def test_oracle_trains_three_times_the_profile_steps_unless_told() -> None:
    steps = get_profile("classroom").train.steps
    by_method = {(c.ssl.method, c.data.label_ratio): c for c in grids.configs("classroom", [0], grids.main_grid(0.1))}
    assert by_method[("supervised", 1.0)].train.steps == grids.ORACLE_STEPS_FACTOR * steps == 3 * steps
    assert all(c.train.steps == steps for key, c in by_method.items() if key != ("supervised", 1.0))
    explicit = grids.configs("classroom", [0], [{"method": "supervised", "label_ratio": 1.0, "steps": 300}])
    assert explicit[0].train.steps == 300
    ratio_curve = grids.configs("classroom", [0], grids.ratio_grid([0.1, 1.0], ["supervised"]))
    assert [c.train.steps for c in ratio_curve] == [steps, 3 * steps]


def test_run_many_builds_each_benchmarks_caches_before_forking(monkeypatch, tmp_path) -> None:
    """Every distinct benchmark a grid needs is cached in the parent process, once: workers then only read."""
    from threedrest import workspace

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
        from threedrest.workspace import Workspace

        self.key, self.built = Workspace.bundle_key(cfg), built

    def ensure_cached(self) -> None:
        self.built.append(self.key)
