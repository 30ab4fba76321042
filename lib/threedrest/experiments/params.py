"""Notebook parameters -> configs: a profile owns its defaults, a parameter overrides only what is set.

Every notebook's config cell calls ``notebook_setup`` with its parameters. An "unset" parameter
(``label_ratio = 0.0``, ``device = ""``, ``dataset = ""``, ``data_root = ""``, ``cache_dir = ""``,
``generator_seed = -1``) leaves the profile's value in place, so a notebook opened by hand with
``profile = "paper"`` runs the paper profile (1 % labels, cuda, 20k steps), and ``make reproduce``
needs no per-profile patching. A set parameter wins over the profile, e.g. ``cache_dir`` keeps a
real-data cache outside the repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threedrest.config import Config, ConfigError, get_profile
from threedrest.experiments import grids
from threedrest.experiments.policy import config_for
from threedrest.paths import resolve

# notebook parameter -> the value that means "the profile's"
UNSET: dict[str, Any] = {
    "device": "",
    "dataset": "",
    "data_root": "",
    "cache_dir": "",
    "generator_seed": -1,
}


@dataclass(frozen=True)
class Setup:
    """What a notebook's parameters resolve to; every config it trains comes from ``configs``/``config``."""

    profile: str
    label_ratio: float  # the main labelled fraction: the user's, else the profile's
    results_dir: Path
    runs_dir: Path
    overrides: dict[str, Any] = field(default_factory=dict)  # flat config keys the user set

    def config(self, **flat: Any) -> Config:
        """The profile's config with the user's overrides, then ``flat`` (e.g. ``method="refteacher"``), through
        ``policy.config_for`` as every grid's (the method's defaults apply)."""
        return config_for(self.profile, **{**self.overrides, **flat})

    def configs(self, seeds: Iterable[int], grid: Iterable[dict[str, Any]]) -> list[Config]:
        """``grids.configs`` from the profile with the user's overrides (one config per point and seed)."""
        return grids.configs(self.profile, seeds, grid, **self.overrides)

    def burn_in_sweep(self, text: str = "") -> list[int]:
        """Burn-in lengths to sweep: ``text`` ("100,200"), or "" for half and all of the profile's."""
        if text.strip():
            return grids.parse_list(text, int)
        full = self.config().ssl.burn_in_steps
        return sorted({full // 2, full})

    def schedule_lengths(self, text: str = "") -> list[int]:
        """Schedule lengths in steps to compare: ``text`` ("600,1800"), or "" for a third, two thirds, all and
        four thirds of the profile's (the last says whether the profile's schedule reaches the plateau)."""
        if text.strip():
            return grids.parse_list(text, int)
        full = self.config().train.steps
        return sorted({max(1, full // 3), max(1, 2 * full // 3), full, 4 * full // 3})


def notebook_setup(
    profile: str,
    out_dir: str = "results",
    runs_root: str = "",
    label_ratio: float = 0.0,
    **data: Any,
) -> Setup:
    """Resolve a notebook's parameters against ``profile``.

    ``data`` takes the keys of ``UNSET`` (device and every data setting the command line takes);
    a value equal to its "unset" marker is dropped, so the profile's stays. ``label_ratio`` 0 means
    the profile's main ratio. ``runs_root`` "" means ``<out_dir>/runs``.
    """
    unknown = sorted(set(data) - set(UNSET))
    if unknown:
        raise ConfigError(f"notebook_setup: unknown parameter(s) {unknown}; known: {sorted(UNSET)}")
    base = get_profile(profile)  # ConfigError for an unknown profile
    if label_ratio < 0:
        raise ConfigError(f"label_ratio must be 0 (the profile's) or in (0, 1], got {label_ratio}")
    overrides = {key: value for key, value in data.items() if value != UNSET[key]}
    ratio = float(label_ratio) if label_ratio else base.data.label_ratio
    Config.from_flat(profile, **overrides, label_ratio=ratio)  # fail here, naming the key, not in a later cell
    results_dir = resolve(out_dir)
    runs_dir = resolve(runs_root) if runs_root else results_dir / "runs"
    return Setup(profile, ratio, results_dir, runs_dir, overrides)


__all__ = ["UNSET", "Setup", "notebook_setup"]
