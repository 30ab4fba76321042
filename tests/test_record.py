"""``python -m threedrest record``: grid points parsed as flat keys, one val row per run, no test number."""

from __future__ import annotations

import math

import pytest
from threedrest.config import ConfigError
from threedrest.experiments import record
from threedrest.experiments.variants import VARIANTS


def test_parse_point_by_hand() -> None:
    assert record.parse_point("method=3drest, tscs_patience=5") == {"method": "3drest", "tscs_patience": "5"}
    for bad in ("", "method3drest", "method=3drest,qdw"):
        with pytest.raises(ConfigError, match="key=value"):
            record.parse_point(bad)


def test_points_seeds_and_variant_become_configs() -> None:
    pairs = record.record_configs("smoke", ["method=supervised", "method=3drest,tscs_patience=3"], [0, 1],
                                  variant="seed1-smaller-rooms", lambda_u=0.5)  # fmt: skip
    assert [(p, c.ssl.method, c.seed) for p, c in pairs] == [
        ("method=supervised", "supervised", 0), ("method=supervised", "supervised", 1),
        ("method=3drest,tscs_patience=3", "3drest", 0), ("method=3drest,tscs_patience=3", "3drest", 1),
    ]  # fmt: skip
    cfg = pairs[2][1]
    assert cfg.ssl.tscs_patience == 3 and cfg.ssl.lambda_u == 0.5
    assert all(getattr(cfg.data, key) == value for key, value in VARIANTS["seed1-smaller-rooms"].items())
    with pytest.raises(ValueError, match="unknown variant"):
        record.record_configs("smoke", ["method=3drest"], [0], variant="nope")
    with pytest.raises(ConfigError, match="unknown config key"):
        record.record_configs("smoke", ["method=3drest,no_such_key=1"], [0])


@pytest.mark.usefixtures("one_thread")
def test_record_reports_val_only_and_matches_the_runs(tmp_path) -> None:
    points = ["method=supervised", "method=3drest,burn_in_steps=0,tscs_threshold=0.0,tscs_max_share=1.0"]
    rows = record.record("smoke", points, [0], root=tmp_path, workers=1, progress=False, label_ratio=0.3)
    assert list(rows.columns) == record.COLUMNS and not any("test" in c for c in rows.columns)
    assert list(rows["point"]) == points
    sup, drest = rows.iloc[0], rows.iloc[1]
    assert math.isnan(sup["val mIoU teacher"]) and sup["promoted"] == 0 and math.isnan(sup["promoted right %"])
    assert drest["promoted"] > 0 and 0.0 <= drest["promoted right %"] <= 100.0  # threshold 0 promotes
    # the numbers are the runs' own val rows, in percent
    pairs = record.record_configs("smoke", points, [0], label_ratio=0.3)
    from threedrest.experiments import grids

    result = grids.run_many([pairs[1][1]], root=tmp_path, workers=1, progress=False)[0]
    val = result.metrics.query("split == 'val' and subset == 'overall'").set_index("model")["miou"]
    assert drest["val mIoU student"] == 100 * val["student"] and drest["val mIoU teacher"] == 100 * val["teacher"]
    means = record.per_point(rows)
    assert list(means["point"]) == points and means.iloc[1]["val mIoU student"] == drest["val mIoU student"]
