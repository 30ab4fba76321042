"""``threedrest verify``: identical, within tolerance, different and missing rows on hand-made tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from threedrest.experiments.verify import compare, seed_tolerance


def _table() -> pd.DataFrame:
    rows = []
    for seed, miou in ((0, 20.0), (1, 22.0), (2, 24.0)):  # std over seeds: 2.0
        for subset, n in (("overall", 100), ("unique", 20)):
            rows.append(dict(method="3drest", label_ratio=0.1, seed=seed, model="student", split="test", subset=subset,
                             miou=miou, acc25=miou + 10, acc50=miou - 5, n=n, config_hash=f"{seed:012d}"))  # fmt: skip
    return pd.DataFrame(rows)


def test_identical() -> None:
    result = compare(_table(), _table())
    assert result.verdict == "identical" and result.ok and result.n_compared == 6


def test_one_ulp_is_different_without_a_tolerance() -> None:
    cand = _table()
    cand.loc[0, "miou"] = float(pd.Series([20.0]).add(1e-14).iloc[0])
    result = compare(cand, _table())
    assert result.verdict == "different" and not result.ok
    assert len(result.differing) == 1 and result.differing["d_miou"].iloc[0] == pytest.approx(1e-14, abs=1e-15)


def test_within_seed_tolerance() -> None:
    ref, cand = _table(), _table()
    cand.loc[0, "miou"] += 0.4  # 0.25 x std 2.0 = 0.5 allowed
    result = compare(cand, ref, seed_tolerance(ref, 0.25))
    assert result.verdict == "within tolerance" and result.ok
    cand.loc[0, "miou"] += 0.2  # now 0.6 > 0.5
    result = compare(cand, ref, seed_tolerance(ref, 0.25))
    assert result.verdict == "different"
    assert result.differing["miou_tol"].iloc[0] == pytest.approx(0.5)


def test_counts_never_within_tolerance() -> None:
    ref, cand = _table(), _table()
    cand.loc[1, "n"] = 21
    assert compare(cand, ref, seed_tolerance(ref, 0.25)).verdict == "different"


def test_missing_and_extra_rows() -> None:
    ref = _table()
    cand = pd.concat([ref.iloc[1:], ref.iloc[[0]].assign(method="3drest-gated")], ignore_index=True)  # same config
    result = compare(cand, ref)
    assert result.verdict == "different"
    assert len(result.missing) == 1 and len(result.extra) == 1
    assert "1 reference rows missing" in result.report() and "1 candidate rows not in the reference" in result.report()


def test_rows_of_a_config_the_reference_never_trained_are_new_not_different() -> None:
    ref = _table()
    added = ref.iloc[:2].assign(method="threshold", config_hash="eeeeeeeeeeee")
    result = compare(pd.concat([ref, added], ignore_index=True), ref)
    assert result.verdict == "identical" and len(result.new) == 2 and len(result.extra) == 0
    assert "2 rows of 1 configs the reference has no row of (new, not compared): threshold" in result.report()
    relabelled = ref.iloc[:1].assign(method="3drest-gated")  # a known config under another name is no new row
    assert compare(pd.concat([ref, relabelled], ignore_index=True), ref).verdict == "different"


def test_partial_rerun_ignores_configs_it_did_not_train() -> None:
    ref = _table()
    cand = ref[ref["seed"] == 0]
    result = compare(cand, ref, partial=True)
    assert result.verdict == "identical" and result.not_rerun == 4
    assert compare(cand.iloc[:1], ref, partial=True).verdict == "different"  # a re-run config lost a row


def test_cli_exit_codes(tmp_path: Path) -> None:
    ref, cand = tmp_path / "ref.csv", tmp_path / "cand.csv"
    _table().to_csv(ref, index=False)
    _table().to_csv(cand, index=False)
    cmd = [sys.executable, "-m", "threedrest", "verify", "--csv", str(cand), "--reference", str(ref)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0 and "verify: identical" in done.stdout, done.stderr
    bad = _table()
    bad.loc[2, "acc50"] += 0.3  # below 0.25 x the seed std (2.0)
    bad.to_csv(cand, index=False)
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 1 and "verify: different" in done.stdout and "1 rows differ" in done.stdout
    done = subprocess.run([*cmd, "--device", "cuda"], capture_output=True, text=True)
    assert done.returncode == 0 and "within tolerance" in done.stdout and "CUDA" in done.stdout
