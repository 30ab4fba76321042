"""The reproduce terminal's progress relay: what a loop writes, and that it stays quiet when off."""

from __future__ import annotations

from pathlib import Path

import pytest
from threedrest import progress


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_off_without_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.ENV, raising=False)
    ticker = progress.Ticker("x", 3, every=0.0)
    ticker.update(1)
    ticker.close()
    assert list(tmp_path.iterdir()) == []


def test_a_line_per_update_when_every_is_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "progress.log"
    monkeypatch.setenv(progress.ENV, str(log))
    ticker = progress.Ticker("runs", 2, every=0.0)
    ticker.update(1)
    ticker.update(2)
    assert lines(log)[0] == "runs: 0/2"
    assert [line.split(" (")[0] for line in lines(log)[1:]] == ["runs: 1/2", "runs: 2/2"]


def test_a_quick_loop_stays_quiet_a_slow_one_says_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "progress.log"
    monkeypatch.setenv(progress.ENV, str(log))
    quick = progress.Ticker("cached", 5)
    quick.update(5)
    quick.close()
    assert lines(log) == []  # a cached step, over at once, writes nothing
    slow = progress.Ticker("training", 10)
    slow.start -= 20.0  # as if it had run 20 s
    slow.last -= 20.0
    slow.update(4)
    slow.close()
    assert lines(log) == ["training: 4/10 (20 s)", "training: 10/10 done in 20 s"]


def test_note_flattens_newlines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "progress.log"
    monkeypatch.setenv(progress.ENV, str(log))
    progress.note("two\nlines")
    assert lines(log) == ["two lines"]
