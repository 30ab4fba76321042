"""The experiment grids: method settings and the compute-matched oracle schedule."""

from __future__ import annotations

from threedrest.config import get_profile
from threedrest.experiments import grids


def test_oracle_trains_four_times_the_profile_steps_unless_told() -> None:
    steps = get_profile("classroom").train.steps
    by_method = {(c.ssl.method, c.data.label_ratio): c for c in grids.configs("classroom", [0], grids.main_grid(0.1))}
    assert by_method[("supervised", 1.0)].train.steps == grids.ORACLE_STEPS_FACTOR * steps == 4 * steps
    assert all(c.train.steps == steps for key, c in by_method.items() if key != ("supervised", 1.0))
    explicit = grids.configs("classroom", [0], [{"method": "supervised", "label_ratio": 1.0, "steps": 300}])
    assert explicit[0].train.steps == 300
    ratio_curve = grids.configs("classroom", [0], grids.ratio_grid([0.1, 1.0], ["supervised"]))
    assert [c.train.steps for c in ratio_curve] == [steps, 4 * steps]
