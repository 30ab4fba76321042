"""Procedural ScanNet-like rooms: a symbolic layout of part-built furniture, then a noisy surface scan.

Why procedural: the kit must run end to end without ScanNet (which may not be redistributed), yet the
method needs what makes ScanRefer hard: many same-class distractors, relations and scan-like points.
The layout keeps its world-frame part primitives in ``layout.primitives`` so the scan is sampled from
exactly the geometry the sentences talk about.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from threedrest.config import DataConfig
from threedrest.data.furniture import (
    CATALOG,
    FILLERS,
    GAP,
    ON_TOP,
    PALETTE,
    ROOMS,
    WALL_YAW,
    WALL_Z,
    WALLS,
    build_parts,
)
from threedrest.data.layout import RoomLayout, SceneObject
from threedrest.data.store import CLASS_INDEX

PRIORITY = {"door": 0, "wall": 1, "free": 2, "around": 3, "on_top": 4, "in_wall": 5}
FLOORS = [(150, 110, 75), (112, 112, 118), (190, 180, 160), (95, 85, 110)]
WALL_COLOURS = [(226, 223, 216), (216, 206, 186), (200, 201, 203), (222, 216, 198)]
LIGHT = np.array([0.35, 0.25, 0.9]) / np.linalg.norm([0.35, 0.25, 0.9])


def _rot(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _world_parts(parts: list, pos: np.ndarray, yaw: float) -> list[tuple]:
    """Object-frame parts -> (kind, name, world centre, size, yaw, colour)."""
    R = _rot(yaw)
    return [(kind, name, pos + R @ c, s, yaw, col) for kind, name, c, s, col in parts]


def _aabb(world: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
    pts = []
    for kind, _, c, s, yaw, _ in world:
        if kind == "box":
            pts.append(c + (signs * s / 2) @ _rot(yaw).T)
        else:  # a cylinder's footprint does not turn with yaw
            pts.append(c + signs * s / 2)
    pts = np.concatenate(pts)
    return pts.min(0), pts.max(0)


class _Placer:
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

    def _propose(self, name: str, placement: str, w: float, d: float, h: float) -> tuple | None:
        rng, (sx, sy, sz) = self.rng, self.room
        if placement in ("wall", "in_wall"):
            lengths = np.array([sx, sx, sy, sy])
            wall = str(rng.choice(WALLS, p=lengths / lengths.sum()))
            length = lengths[WALLS.index(wall)]
            if length < w + 0.3:
                return None
            pos, yaw = self._wall_pose(wall, rng.uniform(w / 2 + 0.15, length - w / 2 - 0.15), d / 2 + 0.005)
            if placement == "in_wall":
                pos[2] = max(0.0, min(rng.uniform(*WALL_Z.get(name, (0.9, 1.3))), sz - h - 0.06))
            return pos, yaw, wall, None
        if placement == "around":
            tables = [i for i, o in enumerate(self.placed) if o["name"] in ("table", "desk")]
            if tables and rng.random() < 0.9:
                t = self.placed[int(rng.choice(tables))]
                slots = _slots(t, d / 2 + 0.12)
                local, direction = slots[int(rng.integers(len(slots)))]
                R = _rot(t["yaw"])
                pos, world_dir = t["pos"] + R @ local, R @ direction
                return pos, float(np.arctan2(-world_dir[0], world_dir[1]) + rng.normal(0, 0.1)), "", t["index"]
        if placement == "on_top":
            supports = [o for o in self.placed if o["name"] in ON_TOP[name]]
            if not supports:
                return None
            s = supports[int(rng.integers(len(supports)))]
            free = np.maximum(0.0, np.array([s["dims"][0] - w, s["dims"][1] - d]) / 2 - 0.03)
            local = np.array([rng.uniform(-free[0], free[0]), rng.uniform(-free[1], free[1]), s["top"]])
            if name in ("pillow", "monitor", "tv"):
                local[1] = free[1]  # against the headboard / back edge
            pos = s["pos"] + _rot(s["yaw"]) @ local
            return pos, s["yaw"] + rng.normal(0, 0.15), "", s["index"]
        margin = 0.35
        pos = np.array([rng.uniform(margin, sx - margin), rng.uniform(margin, sy - margin), 0.0])
        return pos, float(rng.integers(4) * np.pi / 2 + rng.normal(0, 0.1)), "", None

    def place(self, name: str) -> bool:
        rng = self.rng
        cls, placement, wr, dr, hr, kind, colours, materials, shapes = CATALOG[name]
        shape = str(rng.choice(shapes.split())) if shapes else ""
        w, d, h = rng.uniform(*wr), rng.uniform(*dr), rng.uniform(*hr)
        if shape in ("round", "square") and kind != "can":
            w = d = min(w, 1.3) if cls == "table" else d
        parts, top = build_parts(kind, w, d, h, shape, rng)
        for _ in range(25):
            pose = self._propose(name, placement, w, d, h)
            if pose is None:
                return False
            pos, yaw, wall, support = pose
            world = _world_parts(parts, pos, yaw)
            lo, hi = _aabb(world)
            if np.any(lo < -0.02) or np.any(hi[:2] > self.room[:2] + 0.02) or hi[2] > self.room[2] - 0.05:
                continue
            if self._collides(lo, hi, support):
                continue
            color = str(rng.choice(colours.split())).replace("_", " ")
            index = len(self.placed)
            self.placed.append({"name": name, "class": cls, "pos": pos, "yaw": yaw, "wall": wall, "dims": (w, d, h),
                                "top": top, "shape": shape, "color": color, "world": world,
                                "support": support if placement == "on_top" else None,
                                "lo": lo, "hi": hi, "index": index,
                                "material": str(rng.choice(materials.split())) if materials else ""})  # fmt: skip
            self.blocked.append((lo, hi, index))
            if name == "door":  # keep the swing free
                inward = _rot(yaw) @ np.array([0.0, -1.0, 0.0])
                a, b = pos + inward * 0.1 + _rot(yaw) @ [-w / 2, 0, 0], pos + inward * 0.9 + _rot(yaw) @ [w / 2, 0, 2.0]
                self.blocked.append((np.minimum(a, b), np.maximum(a, b), index))
            return True
        return False

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
    """Chair positions around a table (or in front of a desk), in the table frame, with the chair's back
    direction (pointing away from the table)."""
    w, d, _ = table["dims"]
    if table["name"] == "desk":
        return [(np.array([0.0, -(d / 2 + offset), 0.0]), np.array([0.0, -1.0, 0.0]))]
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


def generate_layout(scene_id: str, rng: np.random.Generator, cfg: DataConfig) -> RoomLayout:
    """A room of a random type with ``min_objects..max_objects`` furniture objects and their parts."""
    room_type = str(rng.choice(list(ROOMS)))
    k = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    area = k * rng.uniform(1.4, 2.0) + rng.uniform(5, 10)
    aspect = rng.uniform(1.0, 1.6)
    sx, sy = np.sqrt(area * aspect), np.sqrt(area / aspect)
    room = np.array([sx, sy, rng.uniform(2.5, 3.0)] if rng.random() < 0.5 else [sy, sx, rng.uniform(2.5, 3.0)])
    placer = _Placer(room, rng)
    groups = [(name, int(rng.integers(lo, hi + 1))) for name, lo, hi in ROOMS[room_type]]
    if sum(n for _, n in groups) > k:  # keep whole groups: same-class distractors are the point
        kept, total = [groups[0]], groups[0][1]
        for i in rng.permutation(np.arange(1, len(groups))):
            if total + groups[i][1] <= k:
                kept.append(groups[i])
                total += groups[i][1]
        groups = kept
    plan = [name for name, n in groups for _ in range(n)]
    plan.sort(key=lambda n: PRIORITY["door" if n == "door" else CATALOG[n][1]])  # stable: plan order within
    for name in plan:
        placer.place(name)
    extra = [n for n, _, _ in ROOMS[room_type]] + list(FILLERS)
    for _ in range(300):
        if len(placer.placed) >= k:
            break
        placed = [o["name"] for o in placer.placed]
        placer.place(str(rng.choice(placed if rng.random() < 0.5 else extra)))
    objects, primitives = [], []
    for o in placer.placed:
        base = np.clip(np.array(PALETTE[o["color"]], float) + rng.normal(0, 8, 3), 0, 255)
        objects.append(SceneObject(
            object_id=o["index"], class_name=o["class"], object_name=o["name"], center=(o["lo"] + o["hi"]) / 2,
            size=o["hi"] - o["lo"], yaw=float(o["yaw"]), color=o["color"], rgb=tuple(int(c) for c in base),
            shape=o["shape"], material=o["material"], on_top_of=o["support"], against_wall=o["wall"],
            parts=[p[1] for p in o["world"]],
        ))  # fmt: skip
        for kind, _, c, s, yaw, col in o["world"]:
            rgb = base if isinstance(col, str) else np.array(col, float)
            primitives.append({"kind": kind, "center": c, "size": s, "yaw": yaw, "rgb": rgb, "instance": o["index"],
                               "semantic": CLASS_INDEX[o["class"]], "material": o["material"]})  # fmt: skip
    layout = RoomLayout(scene_id=scene_id, room_size=room, objects=objects)
    layout.room_type = room_type  # type: ignore[attr-defined]
    layout.primitives = primitives + _structure(layout, rng)  # type: ignore[attr-defined]
    return layout


def structure_objects(layout: RoomLayout) -> list[dict[str, Any]]:
    """Floor and walls: annotated instances (as in ScanNet) that are never description targets."""
    first = len(layout.objects)
    names = ["floor", *(f"wall ({w})" for w in WALLS)]
    return [{"object_id": str(first + i), "object_name": n.split(" ")[0], "class_name": n.split(" ")[0], "part": n}
            for i, n in enumerate(names)]  # fmt: skip


def _structure(layout: RoomLayout, rng: np.random.Generator) -> list[dict[str, Any]]:
    sx, sy, sz = layout.room_size
    first = len(layout.objects)
    floor = np.array(FLOORS[int(rng.integers(len(FLOORS)))], float)
    wall = np.array(WALL_COLOURS[int(rng.integers(len(WALL_COLOURS)))], float)
    planes = [((sx / 2, sy / 2, 0), (sx / 2, 0, 0), (0, sy / 2, 0), (0, 0, 1), floor, "floor"),
              ((sx / 2, sy, sz / 2), (sx / 2, 0, 0), (0, 0, sz / 2), (0, -1, 0), wall, "wall"),
              ((sx / 2, 0, sz / 2), (sx / 2, 0, 0), (0, 0, sz / 2), (0, 1, 0), wall, "wall"),
              ((sx, sy / 2, sz / 2), (0, sy / 2, 0), (0, 0, sz / 2), (-1, 0, 0), wall, "wall"),
              ((0, sy / 2, sz / 2), (0, sy / 2, 0), (0, 0, sz / 2), (1, 0, 0), wall, "wall")]  # fmt: skip
    return [{"kind": "plane", "center": np.array(c, float), "u": np.array(u, float), "v": np.array(v, float),
             "normal": np.array(n, float), "rgb": np.clip(col + rng.normal(0, 4, 3), 0, 255), "instance": first + i,
             "semantic": CLASS_INDEX[name], "material": "wooden" if i == 0 and col[0] == 150 else ""}
            for i, (c, u, v, n, col, name) in enumerate(planes)]  # fmt: skip


def _faces(prims: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Every sampled surface as a row: kind (0 rectangle, 1 cylinder side, 2 disc), centre, half-axes u, v,
    normal, radius, half-height, primitive index. Faces resting on the floor are not scanned."""
    rows = []
    zero = np.zeros(3)
    for i, p in enumerate(prims):
        if p["kind"] == "plane":
            rows.append((0, p["center"], p["u"], p["v"], p["normal"], 0.0, 0.0, i))
            continue
        c, half = p["center"], p["size"] / 2
        on_floor = c[2] - half[2] < 0.02
        if p["kind"] == "cyl":
            r, hh = half[0], half[2]
            rows.append((1, c, zero, zero, zero, r, hh, i))
            rows.append((2, c + np.array([0.0, 0.0, hh]), zero, zero, np.array([0.0, 0, 1]), r, 0.0, i))
            if not on_floor:
                rows.append((2, c - np.array([0.0, 0.0, hh]), zero, zero, np.array([0.0, 0, -1]), r, 0.0, i))
            continue
        R = _rot(p["yaw"])
        for axis in range(3):
            for sign in (-1.0, 1.0):
                if axis == 2 and sign < 0 and on_floor:
                    continue
                others = [a for a in range(3) if a != axis]
                e = np.eye(3)
                rows.append((0, c + R @ (e[axis] * sign * half[axis]), R @ (e[others[0]] * half[others[0]]),
                             R @ (e[others[1]] * half[others[1]]), R @ (e[axis] * sign), 0.0, 0.0, i))  # fmt: skip
    cols = list(zip(*rows, strict=True))
    names = ("kind", "c", "u", "v", "n", "r", "hh", "prim")
    return {name: np.array(col) for name, col in zip(names, cols, strict=True)}


def sample_points(layout: RoomLayout, rng: np.random.Generator, n_points: int) -> dict[str, np.ndarray]:
    """A ScanNet-like scan of the layout: area-weighted surface samples with uneven density, occluded
    surfaces removed, a few holes, ~5 mm sensor noise and shaded, noisy colour."""
    prims = getattr(layout, "primitives", None)
    if prims is None:
        raise ValueError(f"scene {layout.scene_id}: layout has no 'primitives' (build it with generate_layout)")
    f = _faces(prims)
    kind = f["kind"]
    area = np.where(kind == 0, 4 * np.linalg.norm(f["u"], axis=1) * np.linalg.norm(f["v"], axis=1),
                    np.where(kind == 1, 4 * np.pi * f["r"] * f["hh"], np.pi * f["r"] ** 2))  # fmt: skip
    structural = np.array([p["kind"] == "plane" for p in prims])
    density = np.where(structural, 1.0, 2.5) * rng.uniform(0.7, 1.3, len(prims))
    weight = area * density[f["prim"]]
    n_draw = int(n_points * 2.2)
    face = np.repeat(np.arange(len(kind)), rng.multinomial(n_draw, weight / weight.sum()))
    s, t = rng.uniform(-1, 1, (2, face.size))
    k, c = kind[face], f["c"][face]
    theta = np.pi * np.where(k == 1, s, t)
    radial = np.column_stack([np.cos(theta), np.sin(theta), np.zeros_like(theta)])
    rr = f["r"][face] * np.where(k == 1, 1.0, np.sqrt((s + 1) / 2))
    xyz = np.where(
        (k == 0)[:, None], c + s[:, None] * f["u"][face] + t[:, None] * f["v"][face], c + rr[:, None] * radial
    )
    xyz[:, 2] += np.where(k == 1, t * f["hh"][face], 0.0)
    normal = np.where((k == 1)[:, None], radial, f["n"][face])
    prim = f["prim"][face]
    keep = np.ones(face.size, bool)
    for i, p in enumerate(prims):  # surfaces inside another part are hidden from the sensor
        if p["kind"] == "plane":
            continue
        local = (xyz - p["center"]) @ _rot(p["yaw"])
        half = p["size"] / 2 + 0.015
        if p["kind"] == "cyl":
            inside = (np.hypot(local[:, 0], local[:, 1]) < half[0]) & (np.abs(local[:, 2]) < half[2])
        else:
            inside = np.all(np.abs(local) < half, axis=1)
        keep &= ~(inside & (prim != i))
    wave = rng.normal(0, 2.0, 3)  # smooth density field: scans are denser where the sensor lingered
    keep &= rng.random(face.size) < 0.65 + 0.35 * (0.5 + 0.5 * np.sin(xyz @ wave + rng.uniform(0, 2 * np.pi)))
    for centre in xyz[rng.integers(0, face.size, int(rng.integers(2, 6)))]:
        keep &= np.linalg.norm(xyz - centre, axis=1) > rng.uniform(0.08, 0.25)
    idx = np.flatnonzero(keep)
    idx = rng.permutation(idx)[:n_points] if idx.size > n_points else rng.permutation(idx)
    xyz, normal, prim, s = xyz[idx], normal[idx], prim[idx], s[idx]
    base = np.array([p["rgb"] for p in prims], float)[prim]
    shade = 0.72 + 0.28 * np.clip(normal @ LIGHT, 0, 1)
    centre = layout.room_size[:2] / 2
    shade *= 1.05 - 0.1 * np.linalg.norm(xyz[:, :2] - centre, axis=1) / np.linalg.norm(centre)
    material = np.array([p["material"] for p in prims])[prim]
    texture = np.where(material == "wooden", 1 + 0.07 * np.sin(25 * s + prim), 1.0)
    texture *= 1 + rng.normal(0, 1, len(idx)) * np.where(material == "fabric", 0.06, 0.025)
    rgb = np.clip(base * (shade * texture)[:, None] + rng.normal(0, 4, (len(idx), 3)), 0, 255)
    xyz = xyz + rng.normal(0, 0.005, xyz.shape)
    return {
        "xyz": xyz.astype(np.float32),
        "rgb": np.round(rgb).astype(np.uint8),
        "instance": np.array([p["instance"] for p in prims], np.int32)[prim],
        "semantic": np.array([p["semantic"] for p in prims], np.int16)[prim],
    }


__all__ = ["generate_layout", "sample_points", "structure_objects"]
