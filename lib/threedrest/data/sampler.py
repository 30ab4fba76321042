"""Seeded, resumable streams of dataset positions: the data order is part of a run's state (the loop's
labelled and unlabelled streams, TSCS's stream of promoted samples)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


class BatchStream:
    """Endless shuffled batches over a changing list of dataset positions.

    Each epoch is a fresh permutation drawn from its own ``torch.Generator``, so the labelled
    and unlabelled streams never consume each other's (or the model's) random numbers. The
    positions may change between batches (TSCS moves samples from the unlabelled stream to the
    labelled one); removed positions are skipped, added ones join at the next epoch.
    """

    def __init__(self, positions: list[int], batch_size: int, seed: int, allow_empty: bool = False) -> None:
        if not positions and not allow_empty:
            raise ValueError("BatchStream needs a non-empty list of positions")
        self.positions = list(positions)
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order: list[int] = []
        self.cursor = 0
        self.epoch = 0

    def add(self, positions: list[int]) -> None:
        known = set(self.positions)
        self.positions.extend(p for p in positions if p not in known)

    def remove(self, positions: list[int]) -> None:
        drop = set(positions)
        self.positions = [p for p in self.positions if p not in drop]

    def _new_epoch(self) -> None:
        perm = torch.randperm(len(self.positions), generator=self.generator).tolist()
        self.order = [self.positions[i] for i in perm]
        self.cursor = 0
        self.epoch += 1

    def next(self) -> list[int]:
        """The next batch (never empty while positions remain); wraps into a new epoch as needed."""
        if not self.positions:
            raise ValueError("BatchStream has no positions left")
        batch: list[int] = []
        live = set(self.positions)
        while len(batch) < min(self.batch_size, len(self.positions)):
            if self.cursor >= len(self.order):
                self._new_epoch()
            position = self.order[self.cursor]
            self.cursor += 1
            if position in live and position not in batch:
                batch.append(position)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {
            "positions": list(self.positions),
            "order": list(self.order),
            "cursor": self.cursor,
            "epoch": self.epoch,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.positions, self.order = list(state["positions"]), list(state["order"])
        self.cursor, self.epoch = int(state["cursor"]), int(state["epoch"])
        self.generator.set_state(state["generator"])


@dataclass
class Moves:
    """Positions a method takes out of the unlabelled stream (TSCS's promotions); the loop applies them to its
    streams, so no method edits them itself."""

    left: list[int] = field(default_factory=list)  # positions that leave the unlabelled stream
    joined: list[int] = field(default_factory=list)  # of those, the ones that join the labelled stream
