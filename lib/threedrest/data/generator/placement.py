"""Where each object of a room goes: collision-free poses for furniture on the floor, against or in a
wall, chairs drawn up to tables, and small things on, inside (a shelf board), under, beside or above
their support, with the support recorded so the sentences can say "the pillow on the bed".

Why a support is chosen geometrically: a pillow's bottom rests exactly on the mattress or seat top,
a box sits on a board between the books, a radiator hangs below a window; the language evaluates
its relations on the same boxes, so what is said is what the scan shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from threedrest.data.generator.catalog import CATALOG, SUPPORTS, WALL_Z
from threedrest.data.generator.furniture import GAP, WALL_YAW, WALLS, build_parts

AGAINST_BACK = ("pillow", "cushion", "throw pillow", "monitor", "computer monitor", "tv", "television", "microwave")
MOUNTED_PLACEMENTS = ("in_wall", "above")
CORNER_SHARE = 0.3  # of objects against a wall, the share pushed into a corner


def rot(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def world_parts(parts: list, pos: np.ndarray, yaw: float) -> list[tuple]:
    """Object-frame parts -> (kind, name, world centre, size, yaw, colour)."""
    R = rot(yaw)
    return [(kind, name, pos + R @ c, s, yaw, col) for kind, name, c, s, col in parts]


def aabb(world: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
    pts = []
    for kind, _, c, s, yaw, _ in world:
        if kind == "box":
            pts.append(c + (signs * s / 2) @ rot(yaw).T)
        else:  # a cylinder's footprint does not turn with yaw
            pts.append(c + signs * s / 2)
    pts = np.concatenate(pts)
    return pts.min(0), pts.max(0)


def surface(parts: list, top: float) -> tuple[float, float, float, float]:
    """Object-frame rectangle (x0, x1, y0, y1) of the parts whose top is the support height ``top``."""
    rects = []
    for kind, _, c, s, _ in parts:
        if abs(c[2] + s[2] / 2 - top) < 0.012:
            half = s[:2] / 2 if kind == "box" else s[:2] / 2 / np.sqrt(2)  # a disc's inscribed square
            rects.append((c[0] - half[0], c[0] + half[0], c[1] - half[1], c[1] + half[1]))
    if not rects:
        return 0.0, 0.0, 0.0, 0.0
    r = np.array(rects)
    return float(r[:, 0].min()), float(r[:, 1].max()), float(r[:, 2].min()), float(r[:, 3].max())


def _support_names(name: str, placement: str) -> set[str]:
    if placement == "under":
        return {"desk", "table"}
    default = {"on": "desk table", "beside": "desk bed sofa table", "above": "sofa bed desk"}.get(placement, "")
    return {t.replace("_", " ") for t in SUPPORTS.get(name, default).split()}


class Placer:
    """Places catalog objects one at a time without collisions (boxes with a gap)."""

    def __init__(self, room: np.ndarray, rng: np.random.Generator):
        self.room, self.rng = room, rng
        self.placed: list[dict[str, Any]] = []
        self.blocked: list[tuple[np.ndarray, np.ndarray, int]] = []  # (lo, hi, owner index)

    def _wall_pose(self, wall: str, along: float, inset: float) -> tuple[np.ndarray, float]:
        sx, sy = self.room[:2]
        point = {"north": (along, sy - inset), "south": (sx - along, inset), "east": (sx - inset, along),
                 "west": (inset, sy - along)}[wall]  # fmt: skip
        return np.array([*point, 0.0]), WALL_YAW[wall]

    def _along(self, o: dict[str, Any]) -> float:
        sx, sy = self.room[:2]
        x, y = o["pos"][:2]
        return float({"north": x, "south": sx - x, "east": y, "west": sy - y}[o["wall"]])

    def _supports(self, name: str, placement: str) -> list[dict[str, Any]]:
        allowed = _support_names(name, placement)
        out = [o for o in self.placed if (o["name"] in allowed or o["class"] in allowed) and o["placement"] != "on"]
        if placement == "on" and name not in AGAINST_BACK[:3]:  # only pillows go on beds and sofas
            out = [o for o in out if o["class"] not in ("bed", "sofa", "chair")]
        if placement == "above":
            out = [o for o in out if o["wall"] and not o["mounted"]]
        if placement == "under":
            out = [o for o in out if o["shape"] != "round"]
        if placement == "shelf":
            out = [o for o in self.placed if o["kind"] == "shelf" and o["placement"] == "wall"]
        return out

    def _propose(self, name: str, placement: str, dims: tuple[float, float, float]) -> tuple | None:
        """(position, yaw, wall, support index, dims) of one candidate pose, or None if impossible."""
        rng, (sx, sy, sz) = self.rng, self.room
        w, d, h = dims
        if placement in ("wall", "in_wall"):
            lengths = np.array([sx, sx, sy, sy])
            wall = str(rng.choice(WALLS, p=lengths / lengths.sum()))
            length = lengths[WALLS.index(wall)]
            if length < w + 0.3:
                return None
            along = rng.uniform(w / 2 + 0.15, length - w / 2 - 0.15)
            if placement == "wall" and rng.random() < CORNER_SHARE:  # furniture often stands in a corner
                along = w / 2 + 0.1 if rng.random() < 0.5 else length - w / 2 - 0.1
            pos, yaw = self._wall_pose(wall, along, d / 2 + 0.005)
            if placement == "in_wall":
                cls = CATALOG[name][0]
                span = WALL_Z.get(name, WALL_Z.get(cls, (0.9, 1.3)))
                pos[2] = max(0.0, min(rng.uniform(*span), sz - h - 0.06))
            return pos, yaw, wall, None, dims
        if placement == "around":
            tables = [o for o in self.placed if o["class"] in ("table", "desk") and o["placement"] != "beside"]
            if name == "bar stool":
                tables = [o for o in self.placed if o["class"] == "counter"] or tables
            if tables and rng.random() < 0.92:
                t = tables[int(rng.integers(len(tables)))]
                slots = _slots(t, d / 2 + 0.12)
                local, direction = slots[int(rng.integers(len(slots)))]
                R = rot(t["yaw"])
                pos, world_dir = t["pos"] + R @ local, R @ direction
                yaw = float(np.arctan2(-world_dir[0], world_dir[1]) + rng.normal(0, 0.1))
                return pos, yaw, "", t["index"], dims
        if placement == "corner":
            m = max(w, d) / 2 + rng.uniform(0.04, 0.25, 2)
            pos = np.array([m[0] if rng.random() < 0.5 else sx - m[0], m[1] if rng.random() < 0.5 else sy - m[1], 0])
            return pos, float(rng.integers(4) * np.pi / 2 + rng.normal(0, 0.1)), "", None, dims
        if placement == "below_window":
            windows = [o for o in self.placed if o["class"] == "window"]
            if not windows:
                return None
            win = windows[int(rng.integers(len(windows)))]
            h = min(h, win["lo"][2] - 0.2)
            if h < 0.3:
                return None
            pos, yaw = self._wall_pose(win["wall"], self._along(win) + rng.normal(0, 0.05), d / 2 + 0.005)
            return pos, yaw, win["wall"], None, (min(w, win["dims"][0]), d, h)
        if placement in ("on", "shelf", "under", "beside", "above"):
            supports = self._supports(name, placement)
            if not supports:
                return None
            s = supports[int(rng.integers(len(supports)))]
            return self._on_support(name, placement, s, dims)
        margin = 0.35
        pos = np.array([rng.uniform(margin, sx - margin), rng.uniform(margin, sy - margin), 0.0])
        return pos, float(rng.integers(4) * np.pi / 2 + rng.normal(0, 0.1)), "", None, dims

    def _on_support(self, name: str, placement: str, s: dict[str, Any], dims: tuple) -> tuple | None:
        rng = self.rng
        w, d, h = dims
        sw, sd, sh = s["dims"]
        R, yaw = rot(s["yaw"]), s["yaw"]
        if placement == "on":
            x0, x1, y0, y1 = s["surface"]
            fx, fy = (x1 - x0 - w) / 2 - 0.02, (y1 - y0 - d) / 2 - 0.02
            if fx < 0 or fy < 0:
                return None
            local = np.array([(x0 + x1) / 2 + rng.uniform(-fx, fx), (y0 + y1) / 2 + rng.uniform(-fy, fy), s["top"]])
            if name in AGAINST_BACK:
                local[1] = y1 - d / 2 - 0.01  # against the headboard / the sofa back / the desk's back edge
            return s["pos"] + R @ local, yaw + rng.normal(0, 0.12), "", s["index"], dims
        if placement == "shelf":
            boards = [p for p in s["parts"] if p[1] == "board"]
            books = [p for p in s["parts"] if p[1] == "books"]
            if len(boards) < 2:
                return None
            i = int(rng.integers(len(boards)))
            z = boards[i][2][2] + boards[i][3][2] / 2
            room = (boards[i + 1][2][2] - boards[i + 1][3][2] / 2 if i + 1 < len(boards) else s["hi"][2] + 0.4) - z
            h = min(h, room - 0.04)
            book = min(books, key=lambda p: abs(p[2][2] - p[3][2] / 2 - z))
            inner = (sw - 0.06) / 2
            gaps = [(-inner, book[2][0] - book[3][0] / 2 - 0.02), (book[2][0] + book[3][0] / 2 + 0.02, inner)]
            lo, hi = max(gaps, key=lambda g: g[1] - g[0])
            w, d = min(w, hi - lo - 0.02), min(d, sd - 0.06)
            if h < 0.12 or w < 0.15:
                return None
            local = np.array([(lo + hi) / 2, -0.01, z])
            return s["pos"] + R @ local, yaw + rng.normal(0, 0.05), "", s["index"], (w, d, h)
        if placement == "under":
            clearance = sh - (0.45 if s["class"] == "desk" else 0.1)
            fx, fy = sw / 2 - w / 2 - 0.12, sd / 2 - d / 2 - 0.06
            if h > clearance or fx < 0 or fy < 0:
                return None
            local = np.array([rng.uniform(-fx, fx), rng.uniform(-fy, fy), 0.0])
            return s["pos"] + R @ local, yaw + rng.normal(0, 0.2), "", s["index"], dims
        if placement == "beside":
            side = 1.0 if rng.random() < 0.5 else -1.0
            back = sd / 2 - d / 2 if s["wall"] else rng.uniform(-0.3, 0.3) * sd
            local = np.array([side * (sw / 2 + w / 2 + rng.uniform(0.1, 0.25)), back, 0.0])
            return s["pos"] + R @ local, yaw + rng.normal(0, 0.08), s["wall"] if s["wall"] else "", None, dims
        # above: on the wall over a wall-backed support
        pos, wyaw = self._wall_pose(s["wall"], self._along(s) + rng.normal(0, 0.1), d / 2 + 0.005)
        pos[2] = s["hi"][2] + rng.uniform(0.15, 0.45)
        if pos[2] + h > self.room[2] - 0.08:
            return None
        return pos, wyaw, s["wall"], s["index"], dims

    def place(self, name: str, placement: str) -> bool:
        rng = self.rng
        cls, _, wr, dr, hr, kind, colours, materials, shapes = CATALOG[name]
        shape = str(rng.choice(shapes.split())) if shapes else ""
        w, d, h = rng.uniform(*wr), rng.uniform(*dr), rng.uniform(*hr)
        if shape in ("round", "square") and kind in ("picture", "whiteboard", "clock"):
            h = w  # a square picture is square on the wall
        elif shape in ("round", "square") and kind not in ("can", "stool"):
            w = d = min(w, 1.3) if cls == "table" else d
        built: dict[tuple, tuple] = {}
        for _ in range(25):
            pose = self._propose(name, placement, (w, d, h))
            if pose is None:
                return False
            pos, yaw, wall, support, dims = pose
            if dims not in built:
                built[dims] = build_parts(kind, *dims, shape, rng)
            parts, top = built[dims]
            world = world_parts(parts, pos, yaw)
            lo, hi = aabb(world)
            if np.any(lo < -0.02) or np.any(hi[:2] > self.room[:2] + 0.02) or hi[2] > self.room[2] - 0.05:
                continue
            if self._collides(lo, hi, support if placement != "above" else None):
                continue
            self._add(name, placement, kind, pos, yaw, wall, support, dims, parts, top, shape, world, lo, hi)
            self.placed[-1]["color"] = str(rng.choice(colours.split())).replace("_", " ")
            self.placed[-1]["material"] = str(rng.choice(materials.split())) if materials else ""
            return True
        return False

    def _add(self, name: str, placement: str, kind: str, pos: np.ndarray, yaw: float, wall: str,
             support: int | None, dims: tuple, parts: list, top: float, shape: str, world: list,
             lo: np.ndarray, hi: np.ndarray) -> None:  # fmt: skip
        index = len(self.placed)
        self.placed.append({
            "name": name, "class": CATALOG[name][0], "placement": placement, "kind": kind, "pos": pos, "yaw": yaw,
            "wall": wall, "dims": dims, "parts": parts, "top": top, "surface": surface(parts, top), "shape": shape,
            "world": world, "lo": lo, "hi": hi, "index": index, "mounted": placement in MOUNTED_PLACEMENTS,
            "support": support if placement == "on" else None, "inside": support if placement == "shelf" else None,
        })  # fmt: skip
        self.blocked.append((lo, hi, index))
        if CATALOG[name][0] == "door":  # keep the swing free
            w = dims[0]
            inward = rot(yaw) @ np.array([0.0, -1.0, 0.0])
            a, b = pos + inward * 0.1 + rot(yaw) @ [-w / 2, 0, 0], pos + inward * 0.9 + rot(yaw) @ [w / 2, 0, 2.0]
            self.blocked.append((np.minimum(a, b), np.maximum(a, b), index))

    def _collides(self, lo: np.ndarray, hi: np.ndarray, support: int | None) -> bool:
        if not self.blocked:
            return False
        blo = np.array([b[0] for b in self.blocked])
        bhi = np.array([b[1] for b in self.blocked])
        owner = np.array([b[2] for b in self.blocked])
        gap = np.array([GAP, GAP, -1e-3])
        hit = (
            np.all(lo - gap < bhi, axis=1)
            & np.all(blo < hi + gap, axis=1)
            & (owner != (-1 if support is None else support))
        )
        return bool(hit.any())


def _slots(table: dict[str, Any], offset: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Chair positions around a table (or in front of a desk or counter), in the table frame, with the
    chair's back direction (pointing away from the table)."""
    w, d, _ = table["dims"]
    if table["class"] in ("desk", "counter") or table["wall"]:
        n = max(1, int(w / 0.7))
        return [(np.array([x, -(d / 2 + offset), 0.0]), np.array([0.0, -1.0, 0.0]))
                for x in (np.arange(n) + 0.5) * w / n - w / 2]  # fmt: skip
    if table["shape"] == "round":
        n = max(3, int(np.pi * w / 0.8))
        angles = 2 * np.pi * np.arange(n) / n
        dirs = np.column_stack([np.cos(angles), np.sin(angles), np.zeros(n)])
        return [(u * (w / 2 + offset), u) for u in dirs]
    slots = []
    n = max(1, int(w / 0.65))
    for x in (np.arange(n) + 0.5) * w / n - w / 2:
        for sy in (-1.0, 1.0):
            slots.append((np.array([x, sy * (d / 2 + offset), 0.0]), np.array([0.0, sy, 0.0])))
    for sx in (-1.0, 1.0):
        slots.append((np.array([sx * (w / 2 + offset), 0.0, 0.0]), np.array([sx, 0.0, 0.0])))
    return slots
