"""Furniture of the embedded benchmark: a catalog of ScanRefer-style objects and their part primitives.

Objects are built from boxes and cylinders so that a scan of them has the parts (seat, back, legs) that
make a real over-segmentation and real sentences ("the chair with a black seat") non-trivial.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PALETTE: dict[str, tuple[int, int, int]] = {
    "white": (232, 232, 226), "brown": (125, 84, 52), "dark brown": (74, 50, 34), "black": (38, 38, 40),
    "gray": (128, 128, 132), "blue": (52, 84, 164), "red": (168, 46, 42), "green": (62, 124, 72),
    "tan": (202, 172, 128), "beige": (222, 207, 172), "yellow": (222, 190, 62),
}  # fmt: skip
WOOD, SOFT, HARD = "brown dark_brown tan white black", "gray blue red green beige black brown", "white gray black"
# name: (class, placement, width, depth, height ranges (m), builder, colours, materials, shapes)
CATALOG: dict[str, tuple[Any, ...]] = {
    "chair": ("chair", "around", (0.42, 0.5), (0.42, 0.5), (0.8, 0.95),
        "chair", "brown black gray blue red tan", "wooden metal plastic", ""),
    "office chair": ("chair", "around", (0.55, 0.65), (0.55, 0.65), (0.9, 1.1),
        "office_chair", "black gray blue", "fabric", ""),
    "armchair": ("chair", "free", (0.7, 0.9), (0.7, 0.85), (0.8, 0.95), "armchair", SOFT, "fabric leather", ""),
    "table": ("table", "free", (0.9, 1.8), (0.7, 1.0), (0.72, 0.78),
        "table", WOOD, "wooden", "rectangular square round"),
    "coffee table": ("table", "free", (0.8, 1.2), (0.5, 0.7), (0.4, 0.48),
        "table", WOOD, "wooden glass", "rectangular round"),
    "desk": ("desk", "wall", (1.1, 1.6), (0.6, 0.8), (0.72, 0.76), "desk", WOOD, "wooden", "rectangular"),
    "cabinet": ("cabinet", "wall", (0.5, 1.0), (0.4, 0.6), (0.7, 1.2), "cabinet", WOOD, "wooden metal", ""),
    "kitchen cabinets": ("cabinet", "wall", (1.2, 2.2), (0.55, 0.65), (0.85, 0.92), "cabinet", WOOD, "wooden", ""),
    "file cabinet": ("cabinet", "wall", (0.4, 0.5), (0.5, 0.65), (0.7, 1.3),
        "drawers", "gray black white", "metal", ""),
    "wardrobe": ("cabinet", "wall", (0.9, 1.4), (0.55, 0.65), (1.8, 2.1), "cabinet", WOOD, "wooden", ""),
    "door": ("door", "in_wall", (0.8, 1.0), (0.04, 0.06), (2.0, 2.1), "door", WOOD, "wooden", ""),
    "window": ("window", "in_wall", (0.8, 1.6), (0.05, 0.08), (1.0, 1.4), "window", "white brown black", "", ""),
    "bookshelf": ("bookshelf", "wall", (0.7, 1.2), (0.3, 0.4), (1.2, 2.0), "shelf", WOOD, "wooden", ""),
    "bed": ("bed", "wall", (1.0, 1.8), (1.9, 2.1), (0.9, 1.2), "bed", WOOD, "wooden", ""),
    "sofa": ("sofa", "wall", (1.6, 2.3), (0.8, 0.95), (0.75, 0.9), "sofa", SOFT, "fabric leather", ""),
    "couch": ("sofa", "wall", (1.6, 2.3), (0.8, 0.95), (0.75, 0.9), "sofa", SOFT, "fabric leather", ""),
    "sink": ("sink", "wall", (0.5, 0.8), (0.45, 0.55), (0.8, 0.9), "sink", HARD, "ceramic", ""),
    "toilet": ("toilet", "wall", (0.38, 0.45), (0.65, 0.75), (0.75, 0.85), "toilet", "white", "ceramic", ""),
    "bathtub": ("bathtub", "wall", (1.5, 1.7), (0.7, 0.8), (0.5, 0.6), "bathtub", "white beige", "ceramic", ""),
    "curtain": ("curtain", "in_wall", (0.8, 1.6), (0.06, 0.1), (1.8, 2.2), "curtain", SOFT, "fabric", ""),
    "shower curtain": ("shower curtain", "in_wall", (0.8, 1.2), (0.04, 0.06), (1.7, 1.9),
        "curtain", "white blue beige", "plastic", ""),
    "counter": ("counter", "wall", (1.2, 2.5), (0.6, 0.65), (0.88, 0.95), "counter", WOOD, "wooden", "rectangular"),
    "refrigerator": ("refrigerator", "wall", (0.7, 0.9), (0.65, 0.75), (1.6, 1.85),
        "fridge", "white gray black", "metal", ""),
    "mini fridge": ("refrigerator", "wall", (0.45, 0.55), (0.5, 0.55), (0.8, 0.9),
        "fridge", "white black", "metal", ""),
    "picture": ("picture", "in_wall", (0.4, 1.0), (0.02, 0.04), (0.3, 0.8),
        "picture", "black brown white", "", "square rectangular"),
    "whiteboard": ("others", "in_wall", (1.5, 2.4), (0.03, 0.05), (0.9, 1.2), "whiteboard", "white", "", "rectangular"),
    "mirror": ("others", "in_wall", (0.5, 0.8), (0.02, 0.03), (0.6, 0.9),
        "picture", "white black", "glass", "rectangular"),
    "towel": ("others", "in_wall", (0.3, 0.6), (0.04, 0.06), (0.5, 0.8),
        "box", "white blue red green beige", "fabric", ""),
    "trash can": ("others", "free", (0.28, 0.4), (0.28, 0.4), (0.4, 0.7),
        "can", "black gray blue white", "plastic metal", "round"),
    "lamp": ("others", "on_top", (0.25, 0.4), (0.25, 0.4), (0.4, 0.6), "lamp", "white beige black", "", ""),
    "monitor": ("others", "on_top", (0.5, 0.7), (0.18, 0.22), (0.4, 0.5), "monitor", "black gray", "", ""),
    "tv": ("others", "on_top", (0.9, 1.3), (0.2, 0.25), (0.55, 0.8), "monitor", "black", "", ""),
    "keyboard": ("others", "on_top", (0.4, 0.46), (0.13, 0.16), (0.02, 0.04), "box", "black white", "plastic", ""),
    "pillow": ("others", "on_top", (0.45, 0.65), (0.3, 0.4), (0.12, 0.18), "box", SOFT + " white", "fabric", ""),
    "nightstand": ("others", "wall", (0.4, 0.55), (0.35, 0.45), (0.5, 0.65), "drawers", WOOD, "wooden", ""),
    "dresser": ("others", "wall", (1.0, 1.5), (0.45, 0.55), (0.8, 1.0), "drawers", WOOD, "wooden", ""),
    "shelf": ("others", "wall", (0.8, 1.2), (0.3, 0.4), (0.8, 1.6), "shelf", WOOD + " gray", "wooden metal", ""),
    "radiator": ("others", "wall", (0.8, 1.4), (0.1, 0.15), (0.5, 0.7), "radiator", "white gray", "metal", ""),
    "box": ("others", "free", (0.3, 0.6), (0.3, 0.5), (0.25, 0.5),
        "box", "brown tan white", "cardboard", "square rectangular"),
    "plant": ("others", "free", (0.35, 0.5), (0.35, 0.5), (0.6, 1.2), "plant", "green", "", ""),
    "backpack": ("others", "free", (0.3, 0.4), (0.2, 0.3), (0.4, 0.5), "box", "black blue red gray", "fabric", ""),
}  # fmt: skip
ON_TOP = {"lamp": ("nightstand", "desk", "dresser", "table"), "monitor": ("desk", "table"), "keyboard": ("desk",),
          "tv": ("dresser", "cabinet", "counter"), "pillow": ("bed", "sofa", "couch")}  # fmt: skip


def _counts(spec: str) -> list[tuple[str, int, int]]:
    """'door 1-2, office chair 0-3' -> [("door", 1, 2), ("office chair", 0, 3)]."""
    out = []
    for item in spec.split(","):
        name, span = item.strip().rsplit(" ", 1)
        lo, hi = span.split("-")
        out.append((name, int(lo), int(hi)))
    return out


# room type: (object name, min count, max count), most important first; fillers top up to the drawn count
ROOMS: dict[str, list[tuple[str, int, int]]] = {
    "bedroom": _counts(
        "door 1-2, bed 1-2, window 1-2, nightstand 1-2, wardrobe 0-2, dresser 0-1, pillow 2-4, "
        "lamp 1-2, curtain 1-2, desk 0-1, chair 0-2, picture 0-2"
    ),
    "office": _counts(
        "door 1-2, window 1-3, desk 2-4, office chair 2-4, monitor 2-4, file cabinet 1-2, "
        "keyboard 0-2, bookshelf 0-2, trash can 1-2, whiteboard 0-1, cabinet 0-2"
    ),
    "living room": _counts(
        "door 1-2, window 1-3, sofa 1-2, couch 0-1, armchair 1-3, coffee table 1-2, cabinet 1-2, "
        "tv 0-1, pillow 1-4, lamp 0-2, picture 1-3, curtain 0-2"
    ),
    "kitchen": _counts(
        "door 1-2, window 1-2, kitchen cabinets 2-3, counter 1-2, refrigerator 1-1, sink 1-1, "
        "table 1-2, chair 2-6, trash can 1-2, cabinet 0-2"
    ),
    "bathroom": _counts(
        "door 1-1, toilet 1-2, sink 1-2, bathtub 1-1, shower curtain 1-1, window 0-1, cabinet 1-2, "
        "trash can 1-2, mirror 1-2, towel 1-3"
    ),
    "conference room": _counts(
        "door 1-2, window 1-3, table 1-2, chair 6-12, whiteboard 1-2, tv 0-1, cabinet 0-2, "
        "trash can 1-2, picture 0-2, plant 0-2"
    ),
    "classroom": _counts(
        "door 1-2, window 2-3, whiteboard 1-1, desk 3-6, chair 3-6, table 0-1, bookshelf 1-2, "
        "cabinet 1-2, trash can 1-2"
    ),
}
FILLERS = (
    "trash can",
    "picture",
    "box",
    "chair",
    "cabinet",
    "window",
    "backpack",
    "plant",
    "shelf",
    "radiator",
    "door",
)
WALLS = ("north", "south", "east", "west")
WALL_YAW = {"north": 0.0, "south": np.pi, "east": -np.pi / 2, "west": np.pi / 2}  # local +y (back) to the wall
WALL_Z = {"door": (0.0, 0.0), "window": (0.8, 1.0), "picture": (1.2, 1.6), "whiteboard": (0.8, 1.0),
          "mirror": (1.0, 1.3), "towel": (0.8, 1.1), "curtain": (0.2, 0.4), "shower curtain": (0.15, 0.25)}  # fmt: skip
GAP = 0.08  # free space kept between objects so a scan separates them


def _box(name: str, c: tuple, s: tuple, col: Any = "main") -> tuple:
    return ("box", name, np.asarray(c, float), np.asarray(s, float), col)


def _cyl(name: str, c: tuple, r: float, h: float, col: Any = "main") -> tuple:
    return ("cyl", name, np.asarray(c, float), np.array([2 * r, 2 * r, h]), col)


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
    if kind in ("picture", "whiteboard"):
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
        return [
            _cyl("pot", (0, 0, 0.15), w / 3, 0.3, (150, 90, 60)),
            _cyl("foliage", (0, 0, (0.3 + h) / 2), w / 2, h - 0.3),
        ], h
    return [_box("body", (0, 0, h / 2), (w, d, h))], h
