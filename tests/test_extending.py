"""A method defined outside the kit: one class, one registration, and it trains into the main table.

This file touches nothing of the kit: ``docs/extending.md`` walks through the same steps.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch
from threedrest import registry
from threedrest.config import Config, ConfigError
from threedrest.experiments import grids, tables
from threedrest.semi.methods.base import TeacherMethod, UnsupOutput
from threedrest.semi.step import SemiStep


class FixedWeight(TeacherMethod):
    """Mean Teacher with every pseudo-label at one fixed weight, an option of its own: the smallest new method."""

    name = "fixed_weight"
    title = "Fixed weight"
    options: ClassVar[dict[str, Any]] = {"weight": 0.5}  # the weight of every pseudo-label

    def unsupervised(self, step: SemiStep) -> UnsupOutput:
        w = self.usable(step).float() * self.option("weight")
        return self.weighted(step, w, {"w_mean": float(w.mean())})


@pytest.fixture()
def registered():
    registry.register(FixedWeight)
    yield FixedWeight
    registry.unregister(FixedWeight.name)


def test_registering_makes_the_name_a_config_value_with_its_options(registered) -> None:
    assert "fixed_weight" in registry.names() and grids.methods()[-1] == "fixed_weight"
    cfg = Config.from_flat("smoke", method="fixed_weight", weight=0.25)
    assert cfg.ssl.method_options == (("weight", 0.25),)
    with pytest.raises(ValueError, match="registered already"):
        registry.register(type("Other", (TeacherMethod,), {"name": "fixed_weight"}))
    with pytest.raises(ValueError, match="registered already"):
        registry.register(type("Clash", (TeacherMethod,), {"name": "3drest"}))


def test_an_unregistered_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="config key 'method' is 'fixed_weight'"):
        Config.from_flat("smoke", method="fixed_weight")


@pytest.mark.slow
def test_a_method_defined_outside_the_kit_trains_into_the_main_table(registered, tmp_path) -> None:
    torch.set_num_threads(1)
    cfgs = [c for c in grids.configs("smoke", [0], grids.main_grid(0.2)) if c.data.label_ratio == 0.2]
    assert [c.ssl.method for c in cfgs][-1] == "fixed_weight"  # the registry's rows are the main table's
    chosen = [c for c in cfgs if c.ssl.method in ("supervised", "fixed_weight")]
    results = grids.run_many(chosen, root=tmp_path, workers=2, progress=False)  # spawned workers know it too
    table = tables.results_table(tables.runs_frame(results))
    assert list(zip(table["method"], table["model"], strict=True)) == [
        ("supervised", "student"), ("fixed_weight", "student"), ("fixed_weight", "teacher")]  # fmt: skip
    history = results[1].history
    semi = history[history["phase"] == "semi"]
    assert len(semi) and (semi["w_mean"] == 0.5).all()  # its option reached the loop
    assert results[1].config().ssl.method_options == (("weight", 0.5),)
