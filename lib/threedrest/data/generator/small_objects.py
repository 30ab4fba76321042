"""Part primitives of the small "others" objects (pillows, keyboards, bags, clocks...) and a few extra pieces
of furniture, in the object frame of ``furniture.build_parts`` (footprint centred at 0, z from 0, back +y).

Why parts even for small things: a scan of a backpack with a pocket or a laptop with a screen gives the
over-segmentation and the sentences ("the lamp with a white shade") something to work with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

DARK = (45, 45, 48)
Part = tuple[str, str, np.ndarray, np.ndarray, Any]


def box(name: str, c: tuple, s: tuple, col: Any = "main") -> Part:
    return ("box", name, np.asarray(c, float), np.asarray(s, float), col)


def cyl(name: str, c: tuple, r: float, h: float, col: Any = "main") -> Part:
    return ("cyl", name, np.asarray(c, float), np.array([2 * r, 2 * r, h]), col)


def _stool(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    legs = [
        box("leg", (sx * w * 0.32, sy * d * 0.32, (h - 0.04) / 2), (0.03, 0.03, h - 0.04))
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    return [cyl("seat", (0, 0, h - 0.02), w / 2, 0.04), *legs], h


def _pillow(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [box("body", (0, 0, h / 2), (w, d, h)), box("top", (0, 0, h - 0.005), (w - 0.06, d - 0.06, 0.01))], h


def _keyboard(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("base", (0, 0, h / 2), (w, d, h)),
        box("keys", (0, -0.01, h + 0.005), (w - 0.04, d - 0.05, 0.01), (90, 90, 94)),
    ], h


def _laptop(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("base", (0, 0, 0.01), (w, d, 0.02)),
        box("screen", (0, d / 2 - 0.01, 0.02 + (h - 0.02) / 2), (w, 0.015, h - 0.02), DARK),
    ], 0.02


def _tower(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("body", (0, 0, h / 2), (w, d, h)),
        box("panel", (0, -d / 2 - 0.005, h * 0.6), (w * 0.8, 0.01, h * 0.5), (70, 70, 75)),
    ], h


def _printer(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [box("body", (0, 0, h / 2), (w, d, h)), box("tray", (0, -d / 2 - 0.05, h * 0.3), (w * 0.7, 0.1, 0.02))], h


def _bin(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("body", (0, 0, h / 2 - 0.01), (w, d, h - 0.02)),
        box("lid", (0, 0, h - 0.01), (w + 0.02, d + 0.02, 0.02), DARK),
    ], h


def _towel(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("rail", (0, 0.0, h - 0.01), (w + 0.1, d, 0.02), (180, 180, 185)),
        box("body", (0, -0.005, h / 2), (w, d * 0.6, h - 0.02)),
    ], h


def _board(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    surface = (40, 70, 50) if rng.random() < 0.5 else (32, 34, 36)
    return [
        box("frame", (0, 0, h / 2), (w, d, h), (150, 110, 70)),
        box("surface", (0, -d / 2 - 0.005, h / 2), (w - 0.06, 0.01, h - 0.06), surface),
        box("tray", (0, -d / 2 - 0.03, 0.02), (w * 0.8, 0.06, 0.03), (150, 110, 70)),
    ], h


def _mirror(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("frame", (0, 0, h / 2), (w, d, h), (60, 60, 62)),
        box("glass", (0, -d / 2 - 0.004, h / 2), (w - 0.05, 0.008, h - 0.05)),
    ], h


def _clock(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("rim", (0, 0, h / 2), (w, d, h), DARK),
        box("face", (0, -d / 2 - 0.004, h / 2), (w - 0.04, 0.008, h - 0.04), (236, 236, 230)),
    ], h


def _bag(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("body", (0, 0, h * 0.45), (w, d, h * 0.9)),
        box("pocket", (0, -d / 2 - 0.03, h * 0.3), (w * 0.75, 0.06, h * 0.4)),
        box("strap", (0, 0, h * 0.95), (w * 0.5, 0.03, h * 0.1), DARK),
    ], h


def _suitcase(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("body", (0, 0, h / 2 + 0.02), (w, d, h - 0.04)),
        box("handle", (0, 0, h + 0.04), (0.15, 0.03, 0.06), DARK),
        *(cyl("wheel", (sx * (w / 2 - 0.05), 0, 0.02), 0.025, 0.04, DARK) for sx in (-1, 1)),
    ], h


def _basket(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    t = 0.02
    return [
        box("bottom", (0, 0, t / 2), (w, d, t)),
        *(box("side", (0, sy * (d / 2 - t / 2), h / 2), (w, t, h)) for sy in (-1, 1)),
        *(box("side", (sx * (w / 2 - t / 2), 0, h / 2), (t, d - 2 * t, h)) for sx in (-1, 1)),
    ], h


def _bench(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("seat", (0, 0, h - 0.025), (w, d, 0.05)),
        *(box("leg", (sx * (w / 2 - 0.05), 0, (h - 0.05) / 2), (0.05, d - 0.04, h - 0.05)) for sx in (-1, 1)),
    ], h


def _piano(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("body", (0, d / 2 - 0.15, h / 2), (w, 0.3, h)),
        box("keys", (0, -0.05, 0.72), (w - 0.1, d - 0.3, 0.06), (236, 236, 232)),
        *(box("leg", (sx * (w / 2 - 0.05), -d / 2 + 0.2, 0.35), (0.05, 0.05, 0.7)) for sx in (-1, 1)),
    ], h


def _coat_rack(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        cyl("base", (0, 0, 0.02), w / 2, 0.04),
        cyl("pole", (0, 0, h / 2), 0.02, h),
        *(box("hook", (sx * 0.1, 0, h - 0.1), (0.2, 0.03, 0.03)) for sx in (-1, 1)),
    ], h


def _microwave(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        box("body", (0, 0, h / 2), (w, d, h)),
        box("door", (-w * 0.1, -d / 2 - 0.005, h / 2), (w * 0.7, 0.01, h * 0.8), (40, 44, 48)),
        box("panel", (w * 0.37, -d / 2 - 0.005, h / 2), (w * 0.2, 0.01, h * 0.8), (120, 120, 124)),
    ], h


def _fan(w: float, d: float, h: float, rng: np.random.Generator) -> tuple[list[Part], float]:
    return [
        cyl("base", (0, 0, 0.02), w / 2, 0.04),
        cyl("pole", (0, 0, (h - 0.3) / 2), 0.02, h - 0.3),
        box("head", (0, 0, h - 0.15), (w * 0.9, 0.12, 0.3)),
    ], h


SMALL_BUILDERS: dict[str, Callable[[float, float, float, np.random.Generator], tuple[list[Part], float]]] = {
    "stool": _stool,
    "pillow": _pillow,
    "keyboard": _keyboard,
    "laptop": _laptop,
    "tower": _tower,
    "printer": _printer,
    "bin": _bin,
    "towel": _towel,
    "blackboard": _board,
    "mirror": _mirror,
    "clock": _clock,
    "bag": _bag,
    "suitcase": _suitcase,
    "basket": _basket,
    "bench": _bench,
    "piano": _piano,
    "coat_rack": _coat_rack,
    "microwave": _microwave,
    "fan": _fan,
}
