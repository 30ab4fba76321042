"""Supervised only: the labelled descriptions and nothing else (and, at 100 % labels, the oracle)."""

from __future__ import annotations

from threedrest.semi.methods.base import Method


class Supervised(Method):
    """No teacher, no unlabelled term: every hook keeps the base class's behaviour."""

    name = "supervised"
    title = "Supervised"


__all__ = ["Supervised"]
