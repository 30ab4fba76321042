"""What can truthfully be said about one object: noun choices, unambiguous anchor references,
viewpoints and location clauses, each with its program fragment. ``language.describe_scene``
combines them into sentences and keeps only combinations whose program singles out the target."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from threedrest.data.generator.catalog import GROUP_OF, NAME_WORDS
from threedrest.data.generator.language_programs import (
    SIZE_RATIO,
    WALL_INWARD,
    evaluate,
    is_mounted,
    noun_matches,
    relation_holds,
    select_objects,
    view_frame,
    wall_of,
)
from threedrest.data.generator.layout import RoomLayout, SceneObject

# Class-level words: calling any object of the class this is correct (never "table" for a desk).
CLASS_WORDS: dict[str, list[str]] = {
    "cabinet": ["cabinet", "cupboard"], "bed": ["bed"], "chair": ["chair"], "sofa": ["couch", "sofa"],
    "table": ["table"], "door": ["door"], "window": ["window"], "bookshelf": ["bookshelf", "bookcase", "book shelf"],
    "picture": ["picture", "painting"], "counter": ["counter", "countertop"], "desk": ["desk"],
    "curtain": ["curtain"], "refrigerator": ["refrigerator", "fridge"], "shower curtain": ["shower curtain"],
    "toilet": ["toilet"], "sink": ["sink"], "bathtub": ["bathtub", "tub"],
}  # fmt: skip
# Harmless third sentences, by object name or class (true of every such object).
FLUFF: dict[str, list[str]] = {
    "chair": ["it is used for sitting.", "people sit on it."], "table": ["it has a flat top.", "people eat at it."],
    "desk": ["people work at it.", "it is used for studying."], "door": ["it leads out of the room.", "it opens."],
    "window": ["it lets light in.", "the outside can be seen through it."],
    "sofa": ["people sit on it.", "it is comfortable."],
    "bed": ["people sleep on it.", "it is for sleeping."], "cabinet": ["it has doors.", "things are stored in it."],
    "lamp": ["it gives light.", "it can be switched on."], "monitor": ["it is a computer screen."],
    "trash can": ["garbage goes in it.", "it is for trash."], "bookshelf": ["it holds books."],
    "whiteboard": ["people write on it."], "toilet": ["it has a lid."], "refrigerator": ["it keeps food cold."],
    "sink": ["hands are washed in it."], "plant": ["it is a potted plant."], "pillow": ["it is soft."],
    "tv": ["it is a flat screen."], "radiator": ["it heats the room."], "mirror": ["it reflects the room."],
    "picture": ["it hangs on the wall."], "towel": ["it hangs on the wall."], "box": ["it is a storage box."],
}  # fmt: skip
# Part primitives worth mentioning ("a chair with four legs"): countable plural, or a fixed phrase.
PART_WORDS: dict[str, str] = {
    "leg": "legs", "cushion": "cushions", "arm": "armrests", "handle": "handles", "fin": "fins",
    "headboard": "a headboard", "shade": "a lampshade", "books": "books on it", "faucet": "a faucet",
    "tank": "a tank", "screen": "a screen", "pedestal": "a pedestal", "back": "a backrest", "seat": "a seat",
    "pot": "a pot", "foliage": "leaves", "mattress": "a mattress", "frame": "a frame", "basin": "a basin",
    "sill": "a sill", "pole": "a pole", "stand": "a stand",
}  # fmt: skip
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def part_phrases(obj: SceneObject) -> list[str]:
    """True statements about the parts an object was built from: "four legs", "a backrest"."""
    out = []
    for part, count in sorted((p, obj.parts.count(p)) for p in set(obj.parts)):
        word = PART_WORDS.get(part)
        if word and not word.startswith("a ") and word != "books on it" and word != "leaves":
            out.append(f"{NUMBERS[count]} {word}" if 1 < count < len(NUMBERS) else "")
        elif word and count == 1:
            out.append(word)
    return [p for p in out if p]


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def plural(word: str) -> str:
    if word.endswith("shelf"):
        return word[:-1] + "ves"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def article(word: str) -> str:
    return "an" if word[:1] in "aeio" else "a"


@dataclass
class Noun:
    words: str
    program: dict[str, Any]


@dataclass
class Ref:
    """A unique way to name an anchor: "the <words>" picks out exactly ``object_id``."""

    object_id: int
    words: str
    program: dict[str, Any]


@dataclass
class Clause:
    kind: str  # relation type for statistics ("near", "left_right", "closest", ...)
    phrase: str  # "next to the window"; for selects a template with {n}: "the {n} closest to the door"
    rel: dict[str, Any] | None = None
    select: dict[str, Any] | None = None
    view: str = ""  # viewer phrase, placed by the realiser ("if you are facing the bed")
    anchors: list[int] = field(default_factory=list)


def nouns_for(obj: SceneObject) -> list[Noun]:
    """Class words ("chair"), the synonym group's words ("armchair") and the object's own name ("sofa chair"),
    which is listed twice: people mostly say the name the annotator gave."""
    name = obj.object_name.replace("_", " ")
    group = GROUP_OF.get(name, name)
    cls_words = CLASS_WORDS.get(obj.class_name, [])
    out = [Noun(w, {"class": obj.class_name, "name": None}) for w in cls_words]
    if name not in cls_words and group not in CLASS_WORDS:
        words = list(dict.fromkeys([name, name, *NAME_WORDS.get(group, [group])]))
        out += [Noun(w, {"class": obj.class_name, "name": group}) for w in [name, *words]]
    return out


def adjective_options(obj: SceneObject, layout: RoomLayout, noun: dict[str, Any]) -> dict[str, str]:
    """Attribute words true of ``obj``; size words only with a clear margin over same-noun objects."""
    opts = {k: getattr(obj, k) for k in ("color", "material", "shape") if getattr(obj, k)}
    others = [o for o in noun_matches(layout, noun) if o.object_id != obj.object_id]
    if others:
        if obj.volume >= SIZE_RATIO["large"] * max(o.volume for o in others):
            opts["size"] = "large"
        elif obj.volume * SIZE_RATIO["small"] <= min(o.volume for o in others):
            opts["size"] = "small"
        elif obj.size[2] >= SIZE_RATIO["tall"] * max(o.size[2] for o in others):
            opts["size"] = "tall"
    return opts


def anchor_refs(layout: RoomLayout) -> dict[int, list[Ref]]:
    """Every unambiguous short reference ("the door", "the brown table", "the large cabinet")."""
    refs: dict[int, list[Ref]] = {}
    for obj in layout.objects:
        for noun in nouns_for(obj):
            adjs = adjective_options(obj, layout, noun.program)
            cands = [({}, None, noun.words)]
            cands += [({k: v}, None, f"{v} {noun.words}") for k, v in adjs.items() if k != "size"]
            if "size" in adjs:
                cands.append(({}, adjs["size"], f"{adjs['size']} {noun.words}"))
            for attrs, size, words in cands:
                prog = {"noun": noun.program, "attrs": attrs, "size": size, "relations": [], "select": None}
                if evaluate(prog, layout) == [obj.object_id]:
                    refs.setdefault(obj.object_id, []).append(Ref(obj.object_id, words, prog))
                    if not attrs and not size:
                        break  # the bare noun is unique: no need for adjectives
    return refs


# Viewer phrases: mostly without "you"/"when" (ScanRefer: "you" in 2 % of descriptions, "when" in 0.4 %)
ENTERING = ("from the entrance", "from the doorway", "upon entering the room", "entering the room",
            "as one enters", "looking in from the entrance", "coming into the room", "standing at the entrance",
            "seen from the doorway", "on entering the room", "as you enter the room")  # fmt: skip
FACING = ("facing the {}", "looking at the {}", "while facing the {}", "if facing the {}",
          "standing in front of the {}", "looking toward the {}", "with the {} in front",
          "seen from in front of the {}", "if you face the {}")  # fmt: skip
_RARE_VIEW = 0.15  # weight of the last phrase of each list (the one with "you")


def _view_phrase(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    weights = np.r_[np.ones(len(options) - 1), _RARE_VIEW]
    return options[int(rng.choice(len(options), p=weights / weights.sum()))]


def views(layout: RoomLayout, refs: dict[int, list[Ref]], rng: np.random.Generator) -> list[tuple[str, dict]]:
    """Viewer phrases with their view programs: entering through a door, or facing (at most two)
    wall-backed anchors, so that "facing" stays about as rare as in ScanRefer."""
    out: list[tuple[str, dict]] = []
    facing: list[tuple[str, dict]] = []
    doors = [o for o in layout.objects if o.class_name == "door"]
    for oid, rs in refs.items():
        obj = layout.by_id(oid)
        ref = rs[int(rng.integers(len(rs)))]
        if obj.class_name == "door" and view_frame({"entering": ref.program}, layout) is not None:
            if len(doors) == 1:
                out += [(_view_phrase(rng, ENTERING), {"entering": ref.program}) for _ in range(2)]
            out.append(
                (f"{_pick(rng, ('coming in through', 'entering through'))} the {ref.words}", {"entering": ref.program})
            )
        elif view_frame({"facing": ref.program}, layout) is not None and wall_of(obj, layout):
            facing.append((_view_phrase(rng, FACING).format(ref.words), {"facing": ref.program}))
    return out + [facing[i] for i in rng.permutation(len(facing))[:2]]


def wall_names(
    layout: RoomLayout, refs: dict[int, list[Ref]], view_list: list[tuple[str, dict]]
) -> list[tuple[str, str, int]]:
    """(phrase, compass wall, naming object or -1): "wall with the whiteboard", "back wall"."""
    out: list[tuple[str, str, int]] = []
    for oid, rs in refs.items():
        wall = wall_of(layout.by_id(oid), layout, max_gap=0.15)
        if wall:
            out.append((f"wall with the {rs[0].words}", wall, oid))
    for phrase, view in view_list:
        if "entering" in view and phrase in ENTERING:
            fwd, right = view_frame(view, layout)
            for name, vec in (("back wall", fwd), ("far wall", fwd), ("left wall", -right), ("right wall", right)):
                wall = next(w for w, n in WALL_INWARD.items() if np.allclose(-np.array(n), vec))
                out.append((name if name in ("back wall", "far wall") else f"{name} {phrase}", wall, -1))
            break
    return out


BETWEEN = ("between", "in between", "sandwiched between", "located between")


def _shelf_level(obj: SceneObject, shelf: SceneObject) -> str:
    """Which board of its shelf an object stands on, in words."""
    rel = (obj.bbox_min[2] - shelf.bbox_min[2]) / max(float(shelf.size[2]), 1e-6)
    return "bottom" if rel < 0.2 else "top" if rel > 0.6 else "middle"


def location_clauses(
    obj: SceneObject,
    layout: RoomLayout,
    refs: dict[int, list[Ref]],
    view_list: list[tuple[str, dict]],
    noun: dict[str, Any],
    rng: np.random.Generator,
) -> list[Clause]:
    """Every location clause true of ``obj`` with a margin (strict check); uniqueness comes later."""
    out: list[Clause] = []

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    def holds(rel: dict[str, Any]) -> bool:
        return relation_holds(obj, rel, layout, slack=-1)

    anchors = [(oid, rs[int(rng.integers(len(rs)))]) for oid, rs in refs.items() if oid != obj.object_id]
    view_list = [(p, v) for p, v in view_list if evaluate(next(iter(v.values())), layout) != [obj.object_id]]
    phrases = {
        "near": ("next to the {}", "next to the {}", "next to the {}", "beside the {}", "near the {}",
                 "close to the {}", "right next to the {}", "by the {}", "adjacent to the {}", "alongside the {}",
                 "close by the {}", "just next to the {}", "not far from the {}", "very close to the {}",
                 "right by the {}", "near to the {}", "a short distance from the {}", "neighboring the {}",
                 "in close proximity to the {}", "sitting near the {}", "next to the {}", "immediately next to the {}"),
        "on": ("on top of the {}", "on the {}", "on top of the {}", "right on top of the {}",
               "sitting on top of the {}",
               "resting on the {}", "lying on top of the {}", "placed on the {}", "on the top of the {}"),
        "under": ("under the {}", "underneath the {}", "below the {}", "beneath the {}", "directly under the {}",
                  "tucked under the {}", "under the {}", "right under the {}", "just under the {}", "under the {}"),
        "above": ("above the {}", "over the {}", "directly above the {}", "above the {}", "right above the {}",
                  "hanging above the {}", "high above the {}"),
        "in_front_of": ("in front of the {}", "directly in front of the {}", "right in front of the {}",
                        "just in front of the {}", "out in front of the {}", "straight in front of the {}"),
        "in": ("on a shelf of the {}", "on one of the shelves of the {}", "inside the {}", "in the {}",
               "on the {} shelf", "sitting on a shelf in the {}", "stored on a shelf of the {}"),
    }  # fmt: skip
    carried = ("with the {} on top of it", "that has the {} on top", "that has the {} on it", "under the {}",
               "with the {} sitting on top", "that has the {} on top of it")  # fmt: skip
    for oid, ref in anchors:
        for kind, options in phrases.items():
            rel = {"type": kind, "anchor": ref.program}
            if holds(rel):
                anchor = layout.by_id(oid)
                if kind == "under" and anchor.on_top_of == obj.object_id:
                    options = carried  # the lamp rests on this desk
                if kind == "in" and obj.object_name in ("box", "storage bin", "basket", "cardboard box"):
                    options = (*options, "on the " + _shelf_level(obj, anchor) + " shelf of the {}")
                out.append(Clause(kind, pick(options).format(ref.words), rel=rel, anchors=[oid]))
        for side in ("left", "right", "behind"):
            for vphrase, view in view_list:
                rel = {"type": "behind" if side == "behind" else f"{side}_of", "anchor": ref.program, "view": view}
                if not holds(rel):
                    continue
                if side == "behind":
                    words = pick(
                        (
                            "behind the {}",
                            "just behind the {}",
                            "on the far side of the {}",
                            "on the other side of the {}",
                        )
                    ).format(ref.words)
                else:
                    words = pick(
                        (
                            "to the {} of the {}",
                            "on the {} side of the {}",
                            "{} of the {}",
                            "on the {} of the {}",
                            "just {} of the {}",
                            "a bit to the {} of the {}",
                            "off to the {} of the {}",
                            "immediately to the {} of the {}",
                        )
                    )
                    words = words.format(side, ref.words)
                kind = "behind" if side == "behind" else "left_right"
                out.append(Clause(kind, words, rel=rel, view=vphrase, anchors=[oid]))
        for kind, options in (("closest", ("closest to", "nearest to", "nearest", "that is closest to",
                                           "that sits closest to", "positioned nearest to", "nearest to")),
                              ("farthest", ("farthest from", "furthest from", "that is furthest from",
                                            "most distant from"))):  # fmt: skip
            sel = {"type": kind, "anchor": ref.program}
            if [o.object_id for o in select_objects(noun_matches(layout, noun), sel, layout)] == [obj.object_id]:
                out.append(Clause(kind, f"the {{n}} {pick(options)} the {ref.words}", select=sel, anchors=[oid]))
        for k, word in ((1, "first"), (2, "second"), (3, "third")):
            sel = {"type": "ordinal", "k": k, "anchor": ref.program}
            if [o.object_id for o in select_objects(noun_matches(layout, noun), sel, layout)] == [obj.object_id]:
                out.append(Clause("ordinal", f"the {word} {{n}} from the {ref.words}", select=sel, anchors=[oid]))
    for (ia, ra), (ib, rb) in combinations(anchors, 2):
        rel = {"type": "between", "anchors": [ra.program, rb.program]}
        if ra.words != rb.words and holds(rel):
            same = ra.program["noun"] == rb.program["noun"] and len(noun_matches(layout, ra.program["noun"])) == 2
            text = f"between the two {plural(ra.words.split()[-1])}" if same and ra.words == ra.words.split()[-1] else \
                f"{pick(BETWEEN)} the {ra.words} and the {rb.words}"  # fmt: skip
            out.append(Clause("between", text, rel=rel, anchors=[ia, ib]))
    for kind, options in (("corner", ("in the corner", "in the corner of the room", "in a corner of the room",
                                      "tucked into a corner", "in one of the corners", "in the corner",
                                      "in a corner", "at the corner of the room", "near a corner of the room",
                                      "in the back corner", "over in the corner")),
                          ("middle", ("in the middle of the room", "in the center of the room",
                                      "near the center of the room", "in the middle of the room",
                                      "in the middle of the floor", "in the very middle of the room",
                                      "right in the middle", "toward the middle of the room"))):  # fmt: skip
        if holds({"type": kind}):
            out.append(Clause(kind, pick(options), rel={"type": kind}))
    for wphrase, wall, oid in wall_names(layout, refs, view_list):
        rel = {"type": "against", "wall": wall}
        if holds(rel) and oid != obj.object_id:
            preps = ("against", "along", "up against", "pushed against")
            if is_mounted(obj) or obj.bbox_min[2] > 0.3:
                preps = ("on",) if obj.class_name in ("door", "window") else ("on", "hanging on")
            out.append(Clause("against", f"{pick(preps)} the {wphrase}", rel=rel))
    if holds({"type": "against", "wall": "any"}) and not is_mounted(obj):
        walls = (
            "against the wall",
            "up against a wall",
            "against a wall of the room",
            "flush against a wall",
            "with its back against the wall",
            "with its back to the wall",
            "pushed back against the wall",
        )
        out.append(Clause("against", pick(walls), rel={"type": "against", "wall": "any"}))
    if holds({"type": "floor"}) and obj.size[2] < 1.0:
        floor = (
            "on the floor",
            "on the floor",
            "sitting on the floor",
            "on the ground",
            "down on the floor",
            "lying on the floor",
            "placed on the floor",
            "on the bare floor",
        )
        out.append(Clause("floor", pick(floor), rel={"type": "floor"}))
    for vphrase, view in view_list:
        for side in ("left", "right"):
            rel = {"type": "side", "side": side, "view": view}
            if holds(rel):
                out.append(
                    Clause(
                        "left_right",
                        pick(
                            (
                                f"on the {side} side of the room",
                                f"on the {side}",
                                f"on the {side} hand side",
                                f"on the {side} half of the room",
                            )
                        ),
                        rel=rel,
                        view=vphrase,
                    )
                )
            sel = {"type": "extreme", "kind": f"{side}most", "view": view}
            if [o.object_id for o in select_objects(noun_matches(layout, noun), sel, layout)] == [obj.object_id]:
                text = pick(
                    (f"the {side}most {{n}}", f"the {{n}} on the far {side}", f"the {{n}} furthest to the {side}")
                )
                out.append(Clause("left_right", text, select=sel, view=vphrase))
    peers = noun_matches(layout, noun)
    for kind, word in (("biggest", pick(("biggest", "largest"))), ("smallest", "smallest")):
        sel = {"type": "extreme", "kind": kind}
        if len(peers) > 1 and [o.object_id for o in select_objects(peers, sel, layout)] == [obj.object_id]:
            out.append(Clause("size_extreme", f"the {word} {{n}} in the room", select=sel))
    return out
