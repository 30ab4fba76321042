"""experiments.params: a profile owns its defaults; a notebook parameter overrides only what the user sets."""

from __future__ import annotations

import pytest
from threedrest.config import ConfigError, get_profile
from threedrest.experiments import grids, params
from threedrest.paths import resolve


def test_unset_parameters_leave_the_profiles_values() -> None:
    setup = params.notebook_setup("paper", device="", dataset="", data_root="", cache_dir="", generator_seed=-1)
    paper = get_profile("paper")
    assert setup.overrides == {} and setup.label_ratio == paper.data.label_ratio
    assert setup.config() == paper
    assert setup.configs([0], grids.main_grid(setup.label_ratio)) == grids.configs(
        "paper", [0], grids.main_grid(paper.data.label_ratio)
    )


def test_set_parameters_win_and_only_those() -> None:
    setup = params.notebook_setup("paper", "out", "", 0.05, device="cpu", cache_dir="/elsewhere", generator_seed=0)
    cfg = setup.configs([1], [{"method": "3drest", "label_ratio": setup.label_ratio}])[0]
    assert (cfg.data.label_ratio, cfg.train.device, cfg.data.cache_dir, cfg.data.generator_seed) == (
        0.05,
        "cpu",
        "/elsewhere",
        0,
    )
    assert cfg.train.steps == get_profile("paper").train.steps and cfg.data.dataset == "embedded"
    assert setup.results_dir == resolve("out") and setup.runs_dir == resolve("out") / "runs"
    assert params.notebook_setup("smoke", "out", "elsewhere/runs").runs_dir == resolve("elsewhere/runs")


def test_bad_parameters_fail_at_the_config_cell() -> None:
    with pytest.raises(ConfigError, match="unknown profile"):
        params.notebook_setup("papr")
    with pytest.raises(ConfigError, match="unknown parameter"):
        params.notebook_setup("smoke", lr=0.1)
    with pytest.raises(ConfigError, match="label_ratio"):
        params.notebook_setup("smoke", label_ratio=-0.1)
    with pytest.raises(ConfigError, match="label_ratio"):
        params.notebook_setup("smoke", label_ratio=1.5)
    with pytest.raises(ConfigError, match="device"):
        params.notebook_setup("smoke", device="tpu")


def test_burn_in_sweep_defaults_to_half_and_all_of_the_profiles() -> None:
    assert params.notebook_setup("classroom").burn_in_sweep("") == [200, 400]
    assert params.notebook_setup("paper").burn_in_sweep("") == [2500, 5000]
    assert params.notebook_setup("paper").burn_in_sweep("10,20") == [10, 20]


def test_bench_cli_leaves_the_device_to_the_profile(tmp_path, monkeypatch) -> None:
    import pandas as pd
    from threedrest.experiments import bench

    seen = []
    monkeypatch.setattr(
        bench, "benchmark", lambda cfg, steps: seen.append(cfg) or pd.DataFrame({"metric": [], "value": []})
    )
    bench.main(["--profile", "paper", "--out", str(tmp_path / "bench.csv")])
    bench.main(["--profile", "paper", "--device", "cpu", "--out", str(tmp_path / "bench.csv")])
    assert [c.train.device for c in seen] == ["cuda", "cpu"]


def test_schedule_lengths_default_to_thirds_of_the_profiles_up_to_four() -> None:
    assert params.notebook_setup("classroom").schedule_lengths("") == [600, 1200, 1800, 2400]
    assert params.notebook_setup("smoke").schedule_lengths("") == [4, 8, 12, 16]
    assert params.notebook_setup("classroom").schedule_lengths("900, 1800") == [900, 1800]
