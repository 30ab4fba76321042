"""Seeded, resumable streams of dataset positions: the data order is part of a run's state."""

from __future__ import annotations

from typing import Any

import torch


class BatchStream:
    """Endless shuffled batches over a changing pool of dataset positions.

    Each epoch is a fresh permutation drawn from its own ``torch.Generator``, so the labelled
    and unlabelled streams never consume each other's (or the model's) random numbers. The pool
    may change between batches (TSCS moves samples from the unlabelled to the labelled pool);
    removed positions are skipped, added ones join at the next epoch.
    """

    def __init__(self, pool: list[int], batch_size: int, seed: int, allow_empty: bool = False) -> None:
        if not pool and not allow_empty:
            raise ValueError("BatchStream needs a non-empty pool of samples")
        self.pool = list(pool)
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order: list[int] = []
        self.cursor = 0
        self.epoch = 0

    def add(self, positions: list[int]) -> None:
        known = set(self.pool)
        self.pool.extend(p for p in positions if p not in known)

    def remove(self, positions: list[int]) -> None:
        drop = set(positions)
        self.pool = [p for p in self.pool if p not in drop]

    def _new_epoch(self) -> None:
        perm = torch.randperm(len(self.pool), generator=self.generator).tolist()
        self.order = [self.pool[i] for i in perm]
        self.cursor = 0
        self.epoch += 1

    def next(self) -> list[int]:
        """The next batch (never empty while the pool is not); wraps into a new epoch as needed."""
        if not self.pool:
            raise ValueError("BatchStream pool is empty")
        batch: list[int] = []
        live = set(self.pool)
        while len(batch) < min(self.batch_size, len(self.pool)):
            if self.cursor >= len(self.order):
                self._new_epoch()
            position = self.order[self.cursor]
            self.cursor += 1
            if position in live and position not in batch:
                batch.append(position)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {
            "pool": list(self.pool),
            "order": list(self.order),
            "cursor": self.cursor,
            "epoch": self.epoch,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool, self.order = list(state["pool"]), list(state["order"])
        self.cursor, self.epoch = int(state["cursor"]), int(state["epoch"])
        self.generator.set_state(state["generator"])
