"""How the kit runs and names methods: their defaults, the oracle's schedule, run labels, ablation rows.

A config the kit trains comes from ``config_for``: the profile, the method's own ``defaults`` (RefTeacher's
lambda_u 0.5) unless the caller sets them, and the oracle's longer schedule.
A run's label (its ``method`` in ``runs.csv`` and its folder name) is the method's registry name, plus
what sets it apart from the method's plain run: a variant of the method (``Method.variant``, e.g.
3DResT without QDW: ``3drest-noQDW``), the sentence gate (``-gated``), a score head trained on every
sample (``-score-all``), a schedule other than the profile's (``-600steps``). So rows of different
settings never mix in a table. The 100 % supervised oracle trains ``ORACLE_STEPS_FACTOR`` times its
profile's steps. The ablation rows come from a method's ``components``.
"""

from __future__ import annotations

import itertools
from typing import Any

from threedrest import registry
from threedrest.config import Config, ConfigError, get_profile

GATED_SUFFIX = "-gated"  # a method run with the sentence gate (``pseudo_gate``)
SCORE_ALL_SUFFIX = "-score-all"  # a run whose score head learns from every sample (``score_on="all"``)

ORACLE_STEPS_FACTOR = 3  # the 100 % oracle trains this many times its profile's steps; record: docs/choices.md


def is_oracle(method: str, label_ratio: Any) -> bool:
    """The 100 % supervised run, which trains ORACLE_STEPS_FACTOR times its profile's steps. ``label_ratio`` may be
    a notebook's raw literal: it is read only for a supervised run, so a bad one reaches Config's own error."""
    return method == "supervised" and float(label_ratio) == 1.0


def profile_steps(cfg: Config) -> int | None:
    """The schedule ``cfg``'s profile gives its run: the profile's steps, the oracle's ORACLE_STEPS_FACTOR times
    (None for a profile the kit does not know)."""
    try:
        steps = get_profile(cfg.profile).train.steps
    except ConfigError:
        return None
    return steps * (ORACLE_STEPS_FACTOR if is_oracle(cfg.ssl.method, cfg.data.label_ratio) else 1)


def config_for(profile: str, **flat: Any) -> Config:
    """The config of one run: ``profile`` with the method's defaults (``Method.defaults``), the oracle's schedule
    (``ORACLE_STEPS_FACTOR``) unless ``steps`` is given, and ``flat`` (which wins)."""
    method = flat.get("method", get_profile(profile).ssl.method)
    defaults = dict(registry.method_class(method).defaults) if method in registry.names() else {}
    values = {**defaults, **flat}
    if "steps" not in values and is_oracle(values.get("method", ""), values.get("label_ratio", 0.0)):
        values["steps"] = ORACLE_STEPS_FACTOR * get_profile(profile).train.steps
    return Config.from_flat(profile, **values)


def method_label(cfg: Config) -> str:
    """The method's name in tables: its registry name, its variant, and whether the gate or an all-sample
    score head was on."""
    label = cfg.ssl.method + registry.method_class(cfg.ssl.method).variant(cfg)
    if cfg.ssl.pseudo_gate != "none":
        label += GATED_SUFFIX
    if cfg.model.score_on != "confident":
        label += SCORE_ALL_SUFFIX
    return label


def run_label(cfg: Config) -> str:
    """The run's name in tables and ``runs.csv``: ``method_label``, plus ``-<steps>steps`` when the run trains
    another schedule than its profile gives it (the schedule study), so such runs never mix into the profile's rows."""
    label = method_label(cfg)
    expected = profile_steps(cfg)
    if expected is not None and cfg.train.steps != expected:
        label += f"-{cfg.train.steps}steps"
    return label


def ablation_rows(method: str = "3drest") -> dict[str, dict[str, Any]]:
    """label -> {"components": {name: on}, "point": grid point} for every on/off combination of ``method``'s
    ``components``, in the paper's order (none, each alone, ..., all). The all-off row is the method the
    loss becomes (``all_off``: for 3DResT, Mean Teacher, whose runs it reuses)."""
    cls = registry.method_class(method)
    components: dict[str, str] = getattr(cls, "components", {})
    if not components:
        raise ValueError(f"method {method!r} declares no components to ablate")
    names = list(components)
    combos = sorted(itertools.product((False, True), repeat=len(names)), key=lambda c: (sum(c), [not x for x in c]))
    rows = {}
    for combo in combos:
        on = dict(zip(names, combo, strict=True))
        if not any(combo) and getattr(cls, "all_off", ""):
            point: dict[str, Any] = {"method": cls.all_off}
        else:
            point = {"method": method, **{components[n]: v for n, v in on.items()}}
        label = point["method"] + registry.method_class(point["method"]).variant(_flags(point))
        rows[label] = {"components": on, "point": point}
    return rows


def _flags(point: dict[str, Any]) -> Config:
    """A config carrying a grid point's method and component switches (for its variant label)."""
    return Config.from_flat("smoke", **point)


__all__ = ["GATED_SUFFIX", "ORACLE_STEPS_FACTOR", "SCORE_ALL_SUFFIX", "ablation_rows", "config_for", "is_oracle",
           "method_label", "profile_steps", "run_label"]  # fmt: skip
