"""Progress that reaches the terminal from inside a notebook's kernel and its worker processes.

``make reproduce`` runs the notebooks through papermill, so a kernel's progress bars land in the
executed notebook, not on the terminal. ``reproduce`` therefore names a file in the environment
variable ``THREEDREST_PROGRESS``; the kit's long loops (training runs, the runs of a grid, feature
caching) append one line to it every few seconds through ``Ticker`` and ``note``, and ``reproduce``
prints the new lines as they arrive. Without the variable both do nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

ENV = "THREEDREST_PROGRESS"
EVERY = 15.0  # seconds between two lines of one loop


def note(text: str) -> None:
    """One line now (appended in one write, so lines of concurrent processes never interleave)."""
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (text.replace("\n", " ") + "\n").encode())
        finally:
            os.close(fd)
    except OSError:  # progress is a courtesy: never fail a run over it
        pass


class Ticker:
    """``desc: done/total (seconds)`` at most every ``every`` seconds, and ``done in`` at the end of a loop that
    took a second or more (a cached step that is over at once stays quiet)."""

    def __init__(self, desc: str, total: int, done: int = 0, every: float = EVERY) -> None:
        self.desc, self.total, self.every = desc, total, every
        self.start = self.last = time.perf_counter()
        self.on = bool(os.environ.get(ENV))
        if self.on and every == 0:  # a line per update: say where it starts
            note(f"{desc}: {done}/{total}")

    def update(self, done: int) -> None:
        if not self.on:
            return
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            note(f"{self.desc}: {done}/{self.total} ({now - self.start:.0f} s)")

    def close(self, done: int | None = None) -> None:
        seconds = time.perf_counter() - self.start
        if self.on and seconds >= 1.0:
            done = self.total if done is None else done
            note(f"{self.desc}: {done}/{self.total} done in {seconds:.0f} s")


def track(iterable: Iterable[T], desc: str, total: int | None = None, disable: bool = False) -> Iterator[T]:
    """``tqdm`` over ``iterable`` (shown unless ``disable``), mirrored to the reproduce terminal by a ``Ticker``."""
    total = len(iterable) if total is None else total  # type: ignore[arg-type]
    ticker = Ticker(desc, total)
    done = 0
    with tqdm(iterable, desc=desc, total=total, disable=disable) as bar:
        for item in bar:
            yield item
            done += 1
            ticker.update(done)
    ticker.close(done)


__all__ = ["ENV", "EVERY", "Ticker", "note", "track"]
