from __future__ import annotations

import dataclasses

import pytest
from threedrest.config import (
    ARITHMETIC,
    HASH_NEUTRAL,
    Config,
    ConfigError,
    flat_keys,
    flatten,
    get_profile,
    replace,
)
from threedrest.io import stable_hash


def test_profiles_build_and_differ() -> None:
    smoke, classroom, paper = (get_profile(p) for p in ("smoke", "classroom", "paper"))
    assert smoke.train.steps < classroom.train.steps < paper.train.steps
    assert (paper.model.d_model, paper.model.n_heads, paper.model.n_layers, paper.model.n_sampled) == (256, 8, 6, 512)
    assert len({smoke.hash(), classroom.hash(), paper.hash()}) == 3


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.lr = 1.0  # type: ignore[misc]


def test_round_trip_through_dict_keeps_hash() -> None:
    cfg = Config.from_flat("smoke", lr=3e-3, tscs_threshold=0.9, lr_milestones=(0.5,))
    again = Config.from_dict(cfg.to_dict())
    assert again == cfg and again.hash() == cfg.hash()
    assert replace(cfg, seed=1).seed == 1 and replace(cfg, seed=1).train.lr == 3e-3
    assert set(flatten(cfg)) == set(flat_keys()) - {"profile"}


def test_a_new_option_at_its_neutral_value_keeps_the_hash() -> None:
    """Committed runs are keyed by Config.hash: an option added later (HASH_NEUTRAL) must not re-key them
    while it is off, and must re-key a run once it is on."""
    cfg = Config.from_flat("classroom", lr=2e-3)
    before = cfg.to_dict()
    for (section, name), neutral in HASH_NEUTRAL.items():
        assert getattr(getattr(cfg, section), name) == neutral
        del before[section][name]  # the config as it was before the options existed
    assert cfg.hash() == stable_hash({**before, "arithmetic": ARITHMETIC})
    assert Config.from_flat("classroom", lr=2e-3, sp_context_layers=1).hash() != cfg.hash()
    assert Config.from_flat("classroom", lr=2e-3, ulb_drop=0.3).hash() != cfg.hash()
    # before the options existed and at the first arithmetic, this config was keyed c49b464dacd7 (3DResT, 10 %,
    # seed 0): the neutral values leave the key as it was, and only the arithmetic moved it
    drest = Config.from_flat("classroom", method="3drest").to_dict()
    for (section, name), _ in HASH_NEUTRAL.items():
        del drest[section][name]
    assert stable_hash(drest) == "c49b464dacd7"
    assert Config.from_flat("classroom", method="3drest").hash() == stable_hash({**drest, "arithmetic": ARITHMETIC})
    assert cfg.to_dict()["model"]["sp_context_layers"] == 0  # written to config.json all the same


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key .learning_rate.*valid keys are:.*lr"):
        Config.from_flat("classroom", learning_rate=0.1)


def test_unknown_profile_and_bad_choices() -> None:
    with pytest.raises(ConfigError, match="unknown profile 'huge'"):
        get_profile("huge")
    with pytest.raises(ConfigError, match=r"method.*choose one of"):
        Config.from_flat("smoke", method="fixmatch")
    for ratio in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="label_ratio must be in \\(0, 1\\]"):
            Config.from_flat("smoke", label_ratio=ratio)
    for drop in (-0.1, 1.0):
        with pytest.raises(ConfigError, match="ulb_drop must be in \\[0, 1\\)"):
            Config.from_flat("smoke", ulb_drop=drop)


def test_wrong_types_are_named() -> None:
    with pytest.raises(ConfigError, match="'steps' expects int"):
        Config.from_flat("smoke", steps="many")
    with pytest.raises(ConfigError, match="'steps' expects int"):
        Config.from_flat("smoke", steps=2.5)
    with pytest.raises(ConfigError, match="'tscs' expects bool"):
        Config.from_flat("smoke", tscs="maybe")
    assert Config.from_flat("smoke", steps="7", tscs="false").train.steps == 7
