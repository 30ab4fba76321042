"""Logical forms of the embedded benchmark's referring sentences and their evaluation on a layout.

A program says what the sentence says, so a sentence is kept only when its program picks out exactly
its target. Format (JSON-serialisable)::

    {"noun": {"class": "chair", "name": "office chair" | None},   # class word or fine-grained name
     "attrs": {"color": "brown", "material": "wooden", "shape": "round"},   # any subset
     "size": "large" | "small" | "tall" | None,                    # relative to same-noun objects
     "relations": [relation, ...],                                  # filters, in order
     "select": superlative | None}                                  # applied after the filters

    relation: {"type": "near"|"on"|"under"|"above"|"in_front_of"|"in", "anchor": P}   # in: on a shelf board
              {"type": "floor"}                                     # standing on the floor itself
              {"type": "between", "anchors": [P, Q]}
              {"type": "left_of"|"right_of"|"behind", "anchor": P, "view": V}
              {"type": "side", "side": "left"|"right", "view": V}   # side of the room
              {"type": "corner"} | {"type": "middle"} | {"type": "against", "wall": "north"|...|"any"}
    superlative: {"type": "closest"|"farthest", "anchor": P}
                 {"type": "ordinal", "k": 2, "anchor": P}          # "the second chair from the door"
                 {"type": "extreme", "kind": "biggest"|"smallest"|"leftmost"|"rightmost", "view": V}
    view: {"facing": P} (viewer looks at P) | {"entering": P} (viewer walks in through door P)

P, Q are anchor programs (same format). Walls: south y=0, north y=sy, west x=0, east x=sx.
Fuzzy predicates take ``slack``: +1 (lenient, used by ``evaluate``) or -1 (strict, what the
generator demands of the target), so a distractor near a boundary makes a sentence ambiguous
rather than wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from threedrest.data.generator.catalog import GROUP_OF
from threedrest.data.generator.layout import RoomLayout, SceneObject

WALLS = ("south", "north", "west", "east")
WALL_INWARD = {"south": (0.0, 1.0), "north": (0.0, -1.0), "west": (1.0, 0.0), "east": (-1.0, 0.0)}
SIZE_RATIO = {"large": 1.3, "small": 1.3, "tall": 1.2}  # margin over the runner-up
DIST_MARGIN = 0.3  # metres between the best and the runner-up of a distance superlative


def _lenient(strict: float, lenient: float, slack: int) -> float:
    return lenient if slack > 0 else strict


def gap_xy(a: SceneObject, b: SceneObject) -> float:
    """Horizontal distance between two bounding boxes (0 when their footprints touch)."""
    d = np.maximum(0.0, np.maximum(a.bbox_min[:2] - b.bbox_max[:2], b.bbox_min[:2] - a.bbox_max[:2]))
    return float(np.hypot(*d))


def wall_gaps(obj: SceneObject, layout: RoomLayout) -> dict[str, float]:
    sx, sy = float(layout.room_size[0]), float(layout.room_size[1])
    lo, hi = obj.bbox_min, obj.bbox_max
    return {"south": float(lo[1]), "north": sy - float(hi[1]), "west": float(lo[0]), "east": sx - float(hi[0])}


def wall_of(obj: SceneObject, layout: RoomLayout, max_gap: float = 0.3) -> str:
    """The wall an object stands against or sits in ("" if free standing), from geometry alone so the
    compass convention of the scene generator's ``against_wall`` field does not matter."""
    gaps = wall_gaps(obj, layout)
    wall = min(gaps, key=gaps.get)
    return wall if gaps[wall] < max_gap else ""


def view_frame(view: dict[str, Any], layout: RoomLayout) -> tuple[np.ndarray, np.ndarray] | None:
    """(forward, right) unit vectors of a viewer, or None when the viewpoint is undefined."""
    key = "facing" if "facing" in view else "entering"
    ids = evaluate(view[key], layout)
    if len(ids) != 1:
        return None
    obj = layout.by_id(ids[0])
    wall = wall_of(obj, layout)
    if key == "entering":
        if not wall:
            return None
        fwd = np.array(WALL_INWARD[wall])
    elif wall:
        fwd = -np.array(WALL_INWARD[wall])  # facing a wall-backed object means facing its wall
    else:
        delta = obj.center[:2] - np.asarray(layout.room_size[:2], dtype=float) / 2
        if np.hypot(*delta) < 0.5:
            return None
        fwd = delta / np.hypot(*delta)
    return fwd, np.array([fwd[1], -fwd[0]])


def _overlap_ratio(obj: SceneObject, anchor: SceneObject, pad: float) -> float:
    """Footprint overlap over the smaller footprint: a picture (thin) above a sofa (deep) overlaps fully."""
    lo = np.maximum(obj.bbox_min[:2], anchor.bbox_min[:2] - pad)
    hi = np.minimum(obj.bbox_max[:2], anchor.bbox_max[:2] + pad)
    inter = float(np.prod(np.maximum(hi - lo, 0.0)))
    return inter / max(min(float(np.prod(obj.size[:2])), float(np.prod(anchor.size[:2]))), 1e-6)


MOUNTED = ("door", "window", "picture", "curtain", "shower curtain", "whiteboard", "mirror", "towel")


def is_mounted(obj: SceneObject) -> bool:
    """Set in or hung on a wall: never "on" furniture, never "standing" anywhere."""
    return obj.mounted or obj.class_name in MOUNTED or obj.object_name in MOUNTED


def on_floor(obj: SceneObject) -> bool:
    """Standing on the floor itself (not on furniture, not hung): "the box on the floor"."""
    return obj.bbox_min[2] < 0.05 and not is_mounted(obj) and obj.on_top_of is None and obj.inside_of is None


def is_on(obj: SceneObject, anchor: SceneObject) -> bool:
    """Resting on the anchor. ``on_top_of`` counts only off the floor: the scene generator also sets
    it for chairs drawn up to a table (their collision partner), which stand on the floor."""
    if obj.on_top_of is not None:
        return obj.on_top_of == anchor.object_id and obj.bbox_min[2] > 0.15
    if is_mounted(obj) or is_mounted(anchor):
        return False
    inside = np.all(obj.center[:2] >= anchor.bbox_min[:2] - 0.05) and np.all(
        obj.center[:2] <= anchor.bbox_max[:2] + 0.05
    )
    return bool(inside and abs(obj.bbox_min[2] - anchor.bbox_max[2]) < 0.1)


def is_under(obj: SceneObject, anchor: SceneObject, slack: int) -> bool:
    if is_on(anchor, obj):
        return True
    if _overlap_ratio(obj, anchor, 0.15) < _lenient(0.5, 0.3, slack):
        return False
    return bool(obj.bbox_max[2] <= anchor.bbox_max[2] - 0.1 and obj.center[2] < anchor.center[2])


def relation_holds(obj: SceneObject, rel: dict[str, Any], layout: RoomLayout, slack: int = 1) -> bool:
    """Whether ``obj`` satisfies one filter relation (anchors must be unique, else False)."""
    kind = rel["type"]
    if kind in ("corner", "middle", "against", "side"):
        return _room_relation(obj, rel, layout, slack)
    if kind == "floor":
        return on_floor(obj)
    if kind == "between":
        ends = [evaluate(p, layout) for p in rel["anchors"]]
        if any(len(e) != 1 for e in ends) or ends[0] == ends[1] or obj.object_id in (ends[0][0], ends[1][0]):
            return False
        a, b = (layout.by_id(e[0]).center[:2] for e in ends)
        ab, ao = b - a, obj.center[:2] - a
        t = float(ao @ ab / max(ab @ ab, 1e-9))
        perp = float(np.hypot(*(ao - t * ab)))
        lo = _lenient(0.2, 0.05, slack)
        return lo <= t <= 1 - lo and perp <= _lenient(0.5, 0.8, slack)
    ids = evaluate(rel["anchor"], layout)
    if len(ids) != 1 or ids[0] == obj.object_id:
        return False
    anchor = layout.by_id(ids[0])
    if kind == "near":
        return gap_xy(obj, anchor) < _lenient(0.4, 0.7, slack)
    if kind == "on":
        return is_on(obj, anchor)
    if kind == "in":  # on a board of a shelf
        return obj.inside_of == anchor.object_id
    if kind == "under":
        return is_under(obj, anchor, slack)
    if kind == "above":
        return is_under(anchor, obj, slack)
    if kind == "in_front_of":
        wall = wall_of(anchor, layout)
        if not wall or is_on(obj, anchor):
            return False
        normal = np.array(WALL_INWARD[wall])
        delta = obj.center[:2] - anchor.center[:2]
        fwd, lat = float(delta @ normal), abs(float(delta @ np.array([normal[1], -normal[0]])))
        half = float(abs(anchor.size[:2] @ np.array([normal[1], -normal[0]]))) / 2
        return _lenient(0.3, 0.1, slack) < fwd < _lenient(1.5, 2.0, slack) and lat < half + _lenient(0.2, 0.4, slack)
    if kind in ("left_of", "right_of", "behind"):
        frame = view_frame(rel["view"], layout)
        if frame is None:
            return False
        delta = obj.center[:2] - anchor.center[:2]
        lat, fwd = float(delta @ frame[1]), float(delta @ frame[0])
        lat = -lat if kind == "left_of" else lat
        if kind == "behind":  # farther from the viewer than the anchor, roughly in line with it
            lat, fwd = fwd, lat
        cone = _lenient(0.8, 1.5, slack)
        return (
            lat > _lenient(0.4, 0.15, slack)
            and abs(fwd) < cone * lat
            and gap_xy(obj, anchor) < _lenient(1.2, 2.0, slack)
        )
    raise ValueError(f"program relation field 'type': unknown relation {kind!r}")


def _room_relation(obj: SceneObject, rel: dict[str, Any], layout: RoomLayout, slack: int) -> bool:
    gaps = wall_gaps(obj, layout)
    kind = rel["type"]
    if kind == "corner":
        thr = _lenient(0.45, 0.7, slack)
        return min(gaps["south"], gaps["north"]) < thr and min(gaps["west"], gaps["east"]) < thr
    if kind == "against":
        thr = _lenient(0.12, 0.25, slack)
        walls = WALLS if rel["wall"] == "any" else (rel["wall"],)
        return any(gaps[w] < thr for w in walls)
    extent = np.asarray(layout.room_size[:2], dtype=float)
    offset = obj.center[:2] - extent / 2
    if kind == "middle":
        return bool(np.all(np.abs(offset) < _lenient(0.2, 0.3, slack) * extent))
    frame = view_frame(rel["view"], layout)
    if frame is None:
        return False
    lat = float(offset @ frame[1]) * (-1 if rel["side"] == "left" else 1)
    width = float(abs(extent @ frame[1]))
    return lat > _lenient(0.2, 0.1, slack) * width


def select_objects(objs: list[SceneObject], sel: dict[str, Any], layout: RoomLayout) -> list[SceneObject]:
    """Superlatives keep every candidate within a margin of the best, so near-ties stay ambiguous."""
    if not objs:
        return objs
    kind = sel["type"]
    if kind == "extreme" and sel["kind"] in ("biggest", "smallest"):
        vol = np.array([o.volume for o in objs])
        if sel["kind"] == "biggest":
            return [o for o, v in zip(objs, vol, strict=True) if v * SIZE_RATIO["large"] >= vol.max()]
        return [o for o, v in zip(objs, vol, strict=True) if v <= vol.min() * SIZE_RATIO["small"]]
    if kind == "extreme":
        frame = view_frame(sel["view"], layout)
        if frame is None:
            return []
        sign = -1.0 if sel["kind"] == "leftmost" else 1.0
        score = np.array([-sign * float(o.center[:2] @ frame[1]) for o in objs])  # lower is better
        return [o for o, s in zip(objs, score, strict=True) if s <= score.min() + DIST_MARGIN]
    ids = evaluate(sel["anchor"], layout)
    if len(ids) != 1:
        return []
    anchor = layout.by_id(ids[0])
    objs = [o for o in objs if o.object_id != anchor.object_id]
    if not objs:
        return objs
    dist = np.array([gap_xy(o, anchor) for o in objs])
    if kind == "closest":
        ref = dist.min()
    elif kind == "farthest":
        ref = dist.max()
    elif kind == "ordinal":
        k = int(sel["k"])
        if k > len(objs):
            return []
        ref = np.sort(dist)[k - 1]
    else:
        raise ValueError(f"program select field 'type': unknown superlative {kind!r}")
    return [o for o, d in zip(objs, dist, strict=True) if abs(d - ref) < DIST_MARGIN]


def noun_matches(layout: RoomLayout, noun: dict[str, Any]) -> list[SceneObject]:
    return [
        o
        for o in layout.objects
        if o.class_name == noun["class"]
        and (not noun.get("name") or GROUP_OF.get(o.object_name, o.object_name) == noun["name"])
    ]


def size_holds(obj: SceneObject, word: str, peers: list[SceneObject]) -> bool:
    """ "large"/"small"/"tall" relative to the same-noun objects (lenient: within the margin)."""
    if word == "tall":
        heights = [p.size[2] for p in peers]
        return obj.size[2] * SIZE_RATIO["tall"] >= max(heights)
    vols = [p.volume for p in peers]
    if word == "large":
        return obj.volume * SIZE_RATIO["large"] >= max(vols)
    if word == "small":
        return obj.volume <= min(vols) * SIZE_RATIO["small"]
    raise ValueError(f"program field 'size': unknown size word {word!r}")


def evaluate(program: dict[str, Any], layout: RoomLayout) -> list[int]:
    """Object ids of ``layout`` that satisfy ``program`` (sorted)."""
    peers = noun_matches(layout, program["noun"])
    objs = [o for o in peers if all(getattr(o, k) == v for k, v in program.get("attrs", {}).items())]
    if program.get("size"):
        objs = [o for o in objs if size_holds(o, program["size"], peers)]
    for rel in program.get("relations", []):
        objs = [o for o in objs if relation_holds(o, rel, layout)]
    if program.get("select"):
        objs = select_objects(objs, program["select"], layout)
    return sorted(o.object_id for o in objs)
