"""Procedural ScanNet-like rooms: a symbolic layout of part-built furniture, then a noisy surface scan.

Why procedural: the kit must run end to end without ScanNet (which may not be redistributed), yet the
method needs what makes ScanRefer hard: many same-class distractors, relations and scan-like points.
The layout keeps its world-frame part primitives in ``layout.primitives`` so the scan is sampled from
exactly the geometry the sentences talk about.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np

from threedrest.config import DataConfig
from threedrest.data.generator.catalog import (
    CATALOG,
    EVERYWHERE,
    GROUP_SIZE,
    ROOMS,
    SCANREFER_CLASS_MIX,
    names_in,
    parse_mix,
)
from threedrest.data.generator.furniture import PALETTE, WALLS
from threedrest.data.generator.layout import RoomLayout, SceneObject
from threedrest.data.generator.placement import Placer, rot
from threedrest.data.store import CLASS_INDEX

PRIORITY = {"wall": 2, "floor": 3, "corner": 3, "around": 4, "beside": 5, "under": 6, "on": 7, "shelf": 7,
            "above": 8, "below_window": 8, "in_wall": 9}  # fmt: skip  # doors first, then windows
FLOORS = [(150, 110, 75), (112, 112, 118), (190, 180, 160), (95, 85, 110)]
WALL_COLOURS = [(226, 223, 216), (216, 206, 186), (200, 201, 203), (222, 216, 198)]
LIGHT = np.array([0.35, 0.25, 0.9]) / np.linalg.norm([0.35, 0.25, 0.9])
_rot = rot


# bedroom, office, living room, kitchen, bathroom, conference room, classroom (ScanNet: many bedrooms)
ROOM_WEIGHT = np.array([1.6, 1.0, 1.2, 1.0, 0.8, 0.8, 1.0])


@lru_cache(maxsize=16)
def room_class_mix(spec: str) -> dict[str, dict[str, float]]:
    """Per room type, the class shares that make the whole benchmark's target mix ``spec`` (rooms drawn with
    ``ROOM_WEIGHT``; a class only where the room has a name for it): iterative proportional fitting."""
    mix = parse_mix(SCANREFER_CLASS_MIX if spec == "scanrefer" else spec)
    rooms = list(ROOMS)
    classes = sorted(mix)
    avail = np.array([[any(CATALOG[n][0] == c for n in room_names(r)) for c in classes] for r in rooms], float)
    target = np.array([mix[c] for c in classes])
    m = avail * target
    p = ROOM_WEIGHT[:, None] / ROOM_WEIGHT.sum()
    for _ in range(50):
        m = m / np.maximum(m.sum(1, keepdims=True), 1e-12)
        m = m * (target / np.maximum((m * p).sum(0), 1e-12))
    m = m / np.maximum(m.sum(1, keepdims=True), 1e-12)
    return {
        r: {c: float(v) for c, v in zip(classes, row, strict=True) if v > 0} for r, row in zip(rooms, m, strict=True)
    }


@lru_cache(maxsize=16)
def room_names(room_type: str) -> tuple[str, ...]:
    key, rest = ROOMS[room_type]
    return tuple(dict.fromkeys(names_in(key) + names_in(rest) + names_in(EVERYWHERE)))


def _draw_name(rng: np.random.Generator, room_type: str, cls: str) -> str:
    """A name of class ``cls`` for this room: the room's own names twice as likely as the generic ones,
    things resting on furniture more likely still (ScanRefer's "others" are mostly such)."""
    own = set(names_in(ROOMS[room_type][1]) + names_in(ROOMS[room_type][0]))
    names = [n for n in room_names(room_type) if CATALOG[n][0] == cls]
    weight = np.array([(2.0 if n in own else 1.0) * (SUPPORTED_WEIGHT if _supported(n) else 1.0) for n in names])
    return names[int(rng.choice(len(names), p=weight / weight.sum()))]


# small objects are harder to single out (fewer candidate sentences survive), so the plan draws them more
# often: the *descriptions* then follow the class mix
DESCRIBED_LESS = {"others": 1.3, "window": 0.7}
PAIR_SHARE = 0.6  # ScanRefer: ~19 % of descriptions are "unique" (no other object of the class in the scene)
SUPPORTED_WEIGHT = 2.5  # things that rest on furniture (pillows, monitors, boxes on shelves) are drawn more


def _supported(name: str) -> bool:
    return bool({"on", "shelf"} & set(CATALOG[name][1].split()))


def _draw_class(rng: np.random.Generator, shares: dict[str, float], counts: Counter, k: int) -> str:
    classes = list(shares)
    deficit = np.array([max(shares[c] * k - counts[c], 0.0) for c in classes])
    p = deficit if deficit.sum() > 0 else np.array([shares[c] for c in classes])
    return classes[int(rng.choice(len(classes), p=p / p.sum()))]


def _placement(rng: np.random.Generator, name: str) -> str:
    options = CATALOG[name][1].split()
    return options[int(rng.integers(len(options)))]


def _place(placer: Placer, name: str, placement: str) -> bool:
    """The drawn placement first, then the name's other placements (a lamp with no nightstand in the room)."""
    options = [placement] + [p for p in dict.fromkeys(CATALOG[name][1].split()) if p != placement]
    return any(placer.place(name, p) for p in options)


def generate_layout(scene_id: str, rng: np.random.Generator, cfg: DataConfig) -> RoomLayout:
    """A room of a random type with ``min_objects..max_objects`` objects (small ones included) whose
    classes follow ``cfg.class_mix``, each with its parts and support."""
    room_type = str(rng.choice(list(ROOMS), p=ROOM_WEIGHT / ROOM_WEIGHT.sum()))
    k = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    area = k * rng.uniform(1.1, 1.5) + rng.uniform(5, 10)
    aspect = rng.uniform(1.0, 1.6)
    sx, sy = np.sqrt(area * aspect), np.sqrt(area / aspect)
    room = np.array([sx, sy, rng.uniform(2.5, 3.0)] if rng.random() < 0.5 else [sy, sx, rng.uniform(2.5, 3.0)])
    placer = Placer(room, rng)
    shares = {c: v * DESCRIBED_LESS.get(c, 1.0) * (cfg.small_objects if c == "others" else 1.0)
              for c, v in room_class_mix(cfg.class_mix)[room_type].items()}  # fmt: skip
    shares = {c: v for c, v in shares.items() if v > 0} or {"chair": 1.0}
    plan = names_in(ROOMS[room_type][0])[:k]
    counts = Counter(CATALOG[n][0] for n in plan)
    while len(plan) < k:  # whole groups: same-class distractors are the point
        cls = _draw_class(rng, shares, counts, k)
        name = _draw_name(rng, room_type, cls)
        room_left = max(1, int(np.ceil(shares[cls] * k - counts[cls])))
        n = min(int(rng.integers(1, GROUP_SIZE.get(name, 1) + 1)), room_left)
        if not counts[cls] and rng.random() < PAIR_SHARE:  # a rare class mostly comes in twos: few unique targets
            n = max(n, 2)
        n = min(n, k - len(plan))
        plan += [name] * n
        counts[cls] += n
    jobs = [(name, _placement(rng, name)) for name in plan]
    door = {n for n in CATALOG if CATALOG[n][0] == "door"}
    jobs.sort(key=lambda j: 0 if j[0] in door else 1 if j[0] == "window" else PRIORITY[j[1]])
    for name, placement in jobs:
        _place(placer, name, placement)
    for _ in range(200):
        if len(placer.placed) >= k:
            break
        placed = Counter(o["class"] for o in placer.placed)
        name = _draw_name(rng, room_type, _draw_class(rng, shares, placed, k))
        _place(placer, name, _placement(rng, name))
    objects, primitives = [], []
    for o in placer.placed:
        base = np.clip(np.array(PALETTE[o["color"]], float) + rng.normal(0, 8, 3), 0, 255)
        objects.append(SceneObject(
            object_id=o["index"], class_name=o["class"], object_name=o["name"], center=(o["lo"] + o["hi"]) / 2,
            size=o["hi"] - o["lo"], yaw=float(o["yaw"]), color=o["color"], rgb=tuple(int(c) for c in base),
            shape=o["shape"], material=o["material"], on_top_of=o["support"], against_wall=o["wall"],
            parts=[p[1] for p in o["world"]], inside_of=o["inside"], mounted=o["mounted"],
        ))  # fmt: skip
        for kind, part, c, s, yaw, col in o["world"]:
            rgb = base if isinstance(col, str) else np.array(col, float)
            primitives.append({"kind": kind, "center": c, "size": s, "yaw": yaw, "rgb": rgb, "part": part,
                               "instance": o["index"], "semantic": CLASS_INDEX[o["class"]],
                               "material": o["material"]})  # fmt: skip
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


def _surface_points(f: dict[str, np.ndarray], face: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Uniform samples on the given faces: xyz, normal, primitive index, and the first surface coordinate."""
    kind = f["kind"]
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
    return xyz, normal, f["prim"][face], s


def _visible(xyz: np.ndarray, prim: np.ndarray, prims: list[dict[str, Any]]) -> np.ndarray:
    """Surfaces inside another part are hidden from the sensor (vectorised over points, one pass per part)."""
    keep = np.ones(len(xyz), bool)
    for i, p in enumerate(prims):
        if p["kind"] == "plane":
            continue
        local = (xyz - p["center"]) @ _rot(p["yaw"])
        half = p["size"] / 2 + 0.015
        if p["kind"] == "cyl":
            inside = (np.hypot(local[:, 0], local[:, 1]) < half[0]) & (np.abs(local[:, 2]) < half[2])
        else:
            inside = np.all(np.abs(local) < half, axis=1)
        keep &= ~(inside & (prim != i))
    return keep


def sample_points(
    layout: RoomLayout, rng: np.random.Generator, n_points: int, min_object_points: int = 0
) -> dict[str, np.ndarray]:
    """A ScanNet-like scan of the layout: area-weighted surface samples with uneven density, occluded
    surfaces removed, a few holes, ~5 mm sensor noise and shaded, noisy colour.

    ``min_object_points``: objects expected to end with fewer visible points get extra samples on their
    own faces. Why: at 12k points a keyboard or a pillow half hidden by a sofa back gets a dozen points,
    less than one superpoint; real scans have ~150k points, where small objects are well covered."""
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
    inst_of_prim = np.array([p["instance"] for p in prims])
    face = np.repeat(np.arange(len(kind)), rng.multinomial(int(n_points * 2.2), weight / weight.sum()))
    xyz, normal, prim, s = _surface_points(f, face, rng)
    keep = _visible(xyz, prim, prims)
    if min_object_points > 0:
        n_inst = inst_of_prim.max() + 1
        drawn = np.bincount(inst_of_prim[prim], minlength=n_inst)
        kept = np.bincount(inst_of_prim[prim[keep]], minlength=n_inst)
        expected = kept * n_points / max(int(keep.sum()), 1)  # final points if nothing is added
        short = (expected < min_object_points) & (kept > 0)
        short[inst_of_prim[structural]] = False
        # draws needed: the missing points, scaled back from final points to kept draws, then to all draws
        missing = (min_object_points - expected) * max(int(keep.sum()), 1) / n_points
        extra = np.where(short, np.ceil(1.15 * missing * drawn / np.maximum(kept, 1)), 0).astype(int)
        face_inst = inst_of_prim[f["prim"]]
        more = [rng.choice(np.flatnonzero(face_inst == i), size=extra[i], p=weight[face_inst == i]
                           / weight[face_inst == i].sum()) for i in np.flatnonzero(extra)]  # fmt: skip
        if more:
            xyz2, normal2, prim2, s2 = _surface_points(f, np.concatenate(more), rng)
            keep2 = _visible(xyz2, prim2, prims)
            xyz, normal, prim, s = (np.concatenate(pair) for pair in ((xyz, xyz2), (normal, normal2), (prim, prim2),
                                                                      (s, s2)))  # fmt: skip
            keep = np.concatenate([keep, keep2])
    wave = rng.normal(0, 2.0, 3)  # smooth density field: scans are denser where the sensor lingered
    keep &= rng.random(len(xyz)) < 0.65 + 0.35 * (0.5 + 0.5 * np.sin(xyz @ wave + rng.uniform(0, 2 * np.pi)))
    for centre in xyz[rng.integers(0, len(xyz), int(rng.integers(2, 6)))]:
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
        "instance": inst_of_prim.astype(np.int32)[prim],
        "semantic": np.array([p["semantic"] for p in prims], np.int16)[prim],
    }


__all__ = ["generate_layout", "sample_points", "structure_objects"]
