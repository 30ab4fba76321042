"""Furniture of the embedded benchmark: colours and the part primitives each object is built from
(the catalog of names, sizes and rooms is in ``catalog``).

Objects are built from boxes and cylinders so that a scan of them has the parts (seat, back, legs) that
make a real over-segmentation and real sentences ("the chair with a black seat") non-trivial.
"""

from __future__ import annotations

import numpy as np

from threedrest.data.generator.small_objects import SMALL_BUILDERS
from threedrest.data.generator.small_objects import box as _box
from threedrest.data.generator.small_objects import cyl as _cyl

PALETTE: dict[str, tuple[int, int, int]] = {
    "white": (232, 232, 226), "brown": (125, 84, 52), "dark brown": (74, 50, 34), "black": (38, 38, 40),
    "gray": (128, 128, 132), "blue": (52, 84, 164), "red": (168, 46, 42), "green": (62, 124, 72),
    "tan": (202, 172, 128), "beige": (222, 207, 172), "yellow": (222, 190, 62), "light brown": (176, 128, 84),
    "dark gray": (72, 72, 76), "silver": (190, 192, 198), "navy": (32, 42, 92), "cream": (238, 228, 202),
    "orange": (222, 122, 42), "purple": (112, 62, 140), "gold": (196, 160, 60),
}  # fmt: skip
WALLS = ("north", "south", "east", "west")
WALL_YAW = {"north": 0.0, "south": np.pi, "east": -np.pi / 2, "west": np.pi / 2}  # local +y (back) to the wall
GAP = 0.08  # free space kept between objects so a scan separates them


def build_parts(kind: str, w: float, d: float, h: float, shape: str, rng: np.random.Generator) -> tuple[list, float]:
    """Part primitives in the object frame (footprint centred at 0, z from 0, back towards +y) and the
    height of its top surface (where lamps, monitors and pillows go)."""
    dark, white = (45, 45, 48), PALETTE["white"]
    if kind == "chair":
        sh, lw = 0.45, 0.04
        legs = [
            _box("leg", (sx * (w / 2 - lw), sy * (d / 2 - lw), (sh - 0.05) / 2), (lw, lw, sh - 0.05))
            for sx in (-1, 1)
            for sy in (-1, 1)
        ]
        return [
            _box("seat", (0, 0, sh - 0.025), (w, d, 0.05)),
            _box("back", (0, d / 2 - 0.025, (sh + h) / 2), (w, 0.05, h - sh)),
            *legs,
        ], sh
    if kind == "office_chair":
        return [
            _cyl("base", (0, 0, 0.03), w / 2, 0.06, dark),
            _cyl("post", (0, 0, 0.25), 0.03, 0.38, dark),
            _box("seat", (0, 0, 0.48), (w, d, 0.08)),
            _box("back", (0, d / 2 - 0.04, (0.52 + h) / 2), (w * 0.9, 0.08, h - 0.52)),
        ], 0.52
    if kind in ("armchair", "sofa"):
        arm, bd = 0.15, 0.18
        n = 1 if kind == "armchair" else int(rng.integers(2, 4))
        cw = (w - 2 * arm) / n
        cushions = [
            _box("cushion", (-w / 2 + arm + cw * (i + 0.5), -bd / 2, 0.45), (cw - 0.02, d - bd, 0.1)) for i in range(n)
        ]
        return [
            _box("base", (0, 0, 0.2), (w, d, 0.4)),
            _box("back", (0, d / 2 - bd / 2, h / 2), (w, bd, h)),
            _box("arm", (-w / 2 + arm / 2, -bd / 2, 0.31), (arm, d - bd, 0.62)),
            _box("arm", (w / 2 - arm / 2, -bd / 2, 0.31), (arm, d - bd, 0.62)),
            *cushions,
        ], 0.5
    if kind in ("table", "desk"):
        t = 0.04
        if shape == "round":
            return [
                _cyl("top", (0, 0, h - t / 2), w / 2, t),
                _cyl("pedestal", (0, 0, (h - t) / 2), 0.05, h - t),
                _cyl("foot", (0, 0, 0.02), w / 4, 0.04),
            ], h
        top = _box("top", (0, 0, h - t / 2), (w, d, t))
        if kind == "desk":
            return [
                top,
                _box("side", (-w / 2 + 0.02, 0, (h - t) / 2), (0.04, d, h - t)),
                _box("side", (w / 2 - 0.02, 0, (h - t) / 2), (0.04, d, h - t)),
                _box("panel", (0, d / 2 - 0.03, h - 0.25), (w - 0.08, 0.02, 0.35)),
            ], h
        legs = [
            _box("leg", (sx * (w / 2 - 0.06), sy * (d / 2 - 0.06), (h - t) / 2), (0.05, 0.05, h - t))
            for sx in (-1, 1)
            for sy in (-1, 1)
        ]
        return [top, *legs], h
    if kind in ("cabinet", "drawers", "counter", "fridge"):
        body_h = h - 0.04 if kind == "counter" else h
        parts = [_box("body", (0, 0, body_h / 2), (w, d, body_h))]
        if kind == "drawers":
            n = max(2, int(h / 0.25))
            fronts = [(0.0, (i + 0.5) * h / n, w - 0.04, h / n - 0.03) for i in range(n)]
        elif kind == "fridge":
            fronts = [(0.0, h * 0.85, w - 0.03, h * 0.28), (0.0, h * 0.35, w - 0.03, h * 0.66)]
        else:
            n = 1 if w < 0.7 else int(np.ceil(w / 0.6))
            fronts = [(-w / 2 + (i + 0.5) * w / n, body_h / 2, w / n - 0.03, body_h - 0.06) for i in range(n)]
        for x, z, fw, fh in fronts:
            parts += [
                _box("front", (x, -d / 2 - 0.01, z), (fw, 0.02, fh)),
                _box("handle", (x + fw * 0.3, -d / 2 - 0.03, z), (0.1, 0.02, 0.02), dark),
            ]
        if kind == "counter":
            top_col = tuple(int(c) for c in rng.choice([PALETTE["gray"], PALETTE["black"], white]))
            parts.append(_box("countertop", (0, -0.01, h - 0.02), (w + 0.02, d + 0.02, 0.04), top_col))
        return parts, h
    if kind == "shelf":
        n = max(3, int(h / 0.35))
        parts = [_box("side", (sx * (w / 2 - 0.015), 0, h / 2), (0.03, d, h)) for sx in (-1, 1)]
        parts.append(_box("back", (0, d / 2 - 0.01, h / 2), (w - 0.06, 0.02, h)))
        for i in range(n):
            z = 0.05 + i * (h - 0.05) / n
            parts.append(_box("board", (0, -0.01, z), (w - 0.06, d - 0.02, 0.025)))
            bw = (w - 0.1) * rng.uniform(0.3, 0.9)
            books = tuple(int(c) for c in PALETTE[rng.choice(list(PALETTE))])
            parts.append(
                _box("books", (rng.uniform(-1, 1) * (w - 0.1 - bw) / 2, 0, z + 0.13), (bw, d * 0.7, 0.22), books)
            )
        return parts, h
    if kind == "bed":
        mat = tuple(int(c) for c in PALETTE[rng.choice(["white", "beige", "blue", "gray"])])
        return [
            _box("frame", (0, -0.03, 0.15), (w, d - 0.06, 0.3)),
            _box("mattress", (0, -0.06, 0.41), (w - 0.04, d - 0.14, 0.22), mat),
            _box("headboard", (0, d / 2 - 0.03, h / 2), (w, 0.06, h)),
        ], 0.52
    if kind == "door":
        return [
            _box("panel", (0, 0, h / 2), (w, d, h)),
            _box("handle", (w / 2 - 0.1, -d / 2 - 0.02, 1.0), (0.1, 0.04, 0.03), dark),
        ], h
    if kind == "window":
        glass = (150, 172, 188)
        return [
            _box("sill", (0, -0.03, 0.025), (w + 0.1, d + 0.06, 0.05)),
            _box("frame", (0, 0, h - 0.025), (w, d, 0.05)),
            _box("frame", (-w / 2 + 0.025, 0, h / 2), (0.05, d, h)),
            _box("frame", (w / 2 - 0.025, 0, h / 2), (0.05, d, h)),
            _box("pane", (0, d / 2 - 0.005, h / 2), (w - 0.1, 0.01, h - 0.1), glass),
        ], h
    if kind in ("picture", "whiteboard"):  # a whiteboard (or a corkboard) in a frame
        inner = tuple(int(c) for c in rng.integers(40, 230, 3)) if kind == "picture" else white
        frame = "main" if kind == "picture" else PALETTE["gray"]
        return [
            _box("frame", (0, 0, h / 2), (w, d, h), frame),
            _box("surface", (0, -d / 2 - 0.005, h / 2), (w - 0.06, 0.01, h - 0.06), inner),
        ], h
    if kind == "curtain":
        n = max(2, int(w / 0.22))
        return [
            _box("fold", (-w / 2 + (i + 0.5) * w / n, (i % 2) * d / 2 - d / 4, h / 2), (w / n, d / 2, h))
            for i in range(n)
        ], h
    if kind == "sink":
        return [
            _box("vanity", (0, 0, (h - 0.15) / 2), (w, d, h - 0.15)),
            _box("basin", (0, -0.02, h - 0.075), (w * 0.8, d * 0.75, 0.15), white),
            _cyl("faucet", (0, d / 2 - 0.06, h + 0.08), 0.02, 0.16, (170, 170, 175)),
        ], h
    if kind == "toilet":
        return [
            _box("tank", (0, d / 2 - 0.1, 0.6), (w, 0.2, 0.4)),
            _cyl("bowl", (0, -0.05, 0.2), w / 2, 0.4),
            _cyl("seat", (0, -0.05, 0.415), w / 2 + 0.01, 0.03),
        ], 0.43
    if kind == "bathtub":
        t = 0.07
        return [
            _box("bottom", (0, 0, 0.05), (w, d, 0.1)),
            _box("rim", (0, -d / 2 + t / 2, h / 2), (w, t, h)),
            _box("rim", (0, d / 2 - t / 2, h / 2), (w, t, h)),
            _box("rim", (-w / 2 + t / 2, 0, h / 2), (t, d - 2 * t, h)),
            _box("rim", (w / 2 - t / 2, 0, h / 2), (t, d - 2 * t, h)),
        ], h
    if kind == "can":
        return [_cyl("body", (0, 0, h / 2), w / 2, h)], h
    if kind == "lamp":
        return [
            _cyl("base", (0, 0, 0.015), w / 3, 0.03, dark),
            _cyl("pole", (0, 0, h * 0.35), 0.012, h * 0.7, dark),
            _cyl("shade", (0, 0, h * 0.8), w / 2, h * 0.4),
        ], h
    if kind == "monitor":
        return [
            _box("stand", (0, 0, 0.01), (0.22, min(d, 0.18), 0.02), dark),
            _box("neck", (0, 0.02, h * 0.2), (0.05, 0.04, h * 0.36), dark),
            _box("screen", (0, -0.02, h * 0.66), (w, 0.04, h * 0.68)),
        ], h
    if kind == "radiator":
        n = max(4, int(w / 0.1))
        return [
            _box("fin", (-w / 2 + (i + 0.5) * w / n, 0, 0.1 + h / 2), (w / n - 0.03, d, h)) for i in range(n)
        ], h + 0.1
    if kind == "plant":
        pot = min(0.3, 0.4 * h)  # a potted plant on a shelf is small all over
        return [
            _cyl("pot", (0, 0, pot / 2), w / 3, pot, (150, 90, 60)),
            _cyl("foliage", (0, 0, (pot + h) / 2), w / 2, h - pot),
        ], h
    if kind in SMALL_BUILDERS:
        return SMALL_BUILDERS[kind](w, d, h, rng)
    return [_box("body", (0, 0, h / 2), (w, d, h))], h
