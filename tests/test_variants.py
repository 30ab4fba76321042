"""Benchmark variants: each changes only generator settings, and the table's gains are per-seed differences."""

from __future__ import annotations

import pandas as pd
import pytest
from threedrest.experiments.variants import VARIANTS, variant_configs, variants_table


def test_variants_change_only_the_generator_and_reuse_the_main_runs():
    cfgs = variant_configs("smoke", [0, 1], list(VARIANTS), other_seeds=[0])
    main = cfgs["main"]
    assert [c.ssl.method for c in main] == ["supervised", "supervised", "3drest", "3drest", "mean_teacher",
                                            "refteacher", "threshold"]  # every registered method  # fmt: skip
    assert [c.seed for c in main] == [0, 1, 0, 1, 0, 0, 0]
    for name, part in cfgs.items():
        for base, cfg in zip(main, part, strict=True):
            assert cfg.model == base.model and cfg.train == base.train and cfg.ssl == base.ssl
            assert cfg.data.label_ratio == base.data.label_ratio and cfg.data.split_by == base.data.split_by
            changed = {k for k in VARIANTS[name] if getattr(cfg.data, k) != getattr(base.data, k)}
            assert changed == set(VARIANTS[name]), name
    hashes = {name: {c.hash() for c in part} for name, part in cfgs.items()}
    assert len(set.union(*hashes.values())) == 7 * len(VARIANTS)  # every variant has its own runs
    with pytest.raises(ValueError, match="unknown variant"):
        variant_configs("smoke", [0], ["nope"])


def test_variants_table_gains_are_paired_by_seed():
    rows = pd.DataFrame(
        [
            {"method": m, "model": "student", "seed": s, "split": "test", "subset": "overall", "miou": v}
            for m, s, v in [("supervised", 0, 10.0), ("supervised", 1, 14.0), ("3drest", 0, 13.0), ("3drest", 1, 15.0)]
        ]
        + [{"method": "3drest", "model": "student", "seed": 0, "split": "val", "subset": "overall", "miou": 99.0}]
    )
    table = variants_table({"a": rows})
    row = table.iloc[0]
    assert row["gain"] == 2.0 and row["gain per seed"] == "+3.00 / +1.00" and row["seeds"] == 2
    assert row["supervised mIoU"] == "12.00 ± 2.83"  # std over seeds (ddof 1): sqrt(8)
    assert "mean_teacher mIoU" not in table  # a method without runs has no column
