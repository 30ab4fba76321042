"""ScanRefer-style referring sentences for the embedded benchmark (the word lists that read class
names out of any sentence are ``data/words.py``).

Each description is "what it is and looks like. where it is." and carries the program that picks
out its target; a candidate sentence whose program matches any other object is rejected, so the
words always carry what distinguishes the target (see ``language_programs`` for the semantics).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from threedrest.data.generator.catalog import GROUP_OF
from threedrest.data.generator.language_programs import evaluate, gap_xy, is_mounted, noun_matches, on_floor
from threedrest.data.generator.language_templates import (
    FLUFF,
    NUMBERS,
    Clause,
    adjective_options,
    anchor_refs,
    article,
    location_clauses,
    nouns_for,
    part_phrases,
    plural,
    views,
)
from threedrest.data.generator.language_words import EPITHETS, ROOM_WORDS
from threedrest.data.generator.layout import RoomLayout, SceneObject
from threedrest.data.words import tokenize

# --------------------------------------------------------------------------- generation
# Relative weights of location-clause kinds, set so word shares approach ScanRefer's (left/right
# in about half the sentences, then near/next, corner, front, on top, between, under).
KIND_WEIGHT = {"left_right": 3.5, "near": 4.0, "on": 14.0, "under": 16.0, "above": 7.0, "in_front_of": 3.0,
               "behind": 0.8, "between": 1.5, "corner": 9.0, "against": 2.0, "middle": 8.0, "closest": 1.2,
               "farthest": 0.4, "ordinal": 0.6, "size_extreme": 0.4, "in": 14.0, "floor": 1.0}  # fmt: skip
OPENERS = ("this is {a} {adj}{n}.", "there is {a} {adj}{n}.", "it is {a} {adj}{n}.", "this is the {adj}{n}.",
           "the object is {a} {adj}{n}.", "{a} {adj}{n}.", "this {adj}{n} is in the {room}.",
           "there is {a} {adj}{n} here.", "this is {a} {adj}{n}.", "this is {a} {adj}{n}.",
           "this object is {a} {adj}{n}.", "pick the {adj}{n}.", "look for {a} {adj}{n}.", "it's {a} {adj}{n}.",
           "in the {room} there is {a} {adj}{n}.", "find the {adj}{n}.", "the target is {a} {adj}{n}.",
           "this item is {a} {adj}{n}.", "here is {a} {adj}{n}.", "this appears to be {a} {adj}{n}.",
           "it looks like {a} {adj}{n}.", "it seems to be {a} {adj}{n}.", "we are looking for {a} {adj}{n}.",
           "the described object is {a} {adj}{n}.", "the thing is {a} {adj}{n}.", "this one is {a} {adj}{n}.",
           "the item is {a} {adj}{n}.", "this {room} has {a} {adj}{n}.", "there's {a} {adj}{n}.",
           "the selected object is {a} {adj}{n}.", "the object is the {adj}{n}.", "it is the {adj}{n}.",
           "the object in question is {a} {adj}{n}.", "i am referring to the {adj}{n}.", "please find the {adj}{n}.",
           "we are talking about {a} {adj}{n}.", "locate the {adj}{n}.", "spot the {adj}{n}.", "select the {adj}{n}.",
           "choose the {adj}{n}.", "the mentioned object is {a} {adj}{n}.", "notice the {adj}{n}.",
           "the chosen item is {a} {adj}{n}.", "identify the {adj}{n}.",
           "this description is about {a} {adj}{n}.")  # fmt: skip
PLACERS = ("it is {r}.", "it is located {r}.", "the {n} is {r}.", "it can be found {r}.", "it is {r}.",
           "this {n} is {r}.", "it is positioned {r}.", "the {n} is located {r}.", "it's {r}.", "it is {r}.",
           "it is situated {r}.", "we can see it {r}.", "it is found {r}.", "it is {r}.", "the {n} is {r}.",
           "it appears {r}.", "it is {r}.", "it is kept {r}.", "it shows up {r}.", "it resides {r}.",
           "it can be seen {r}.", "it is visible {r}.", "it remains {r}.", "it is stored {r}.", "it is stationed {r}.",
           "it is currently {r}.", "the {n} can be seen {r}.")  # fmt: skip
GROUNDED = ("it sits {r}.", "it stands {r}.", "it is placed {r}.", "it is set {r}.", "it rests {r}.",
            "it has been placed {r}.", "the {n} sits {r}.", "it is parked {r}.", "it was put {r}.")  # fmt: skip
MATERIAL_NOUN = {"wooden": "wood", "metal": "metal", "plastic": "plastic", "fabric": "fabric", "leather": "leather"}
MAX_TRIES = 40  # candidate sentences per description before the object gets fewer descriptions
WEAK_ANCHORS = ("door", "window")  # ScanRefer mentions doors and windows in 11 % and 6 % of descriptions
# first-sentence families: "with four legs", "is brown", "for throwing away trash", "one of the two chairs",
# "about knee high", and the plain "this is a brown chair" (always on: the fallback)
FAMILIES = (
    "parts",
    "colour",
    "epithet",
    "count",
    "extent",
    "plain",
)


def _pick(rng: np.random.Generator, options: Any) -> Any:
    return options[int(rng.integers(len(options)))]


def _opener(rng: np.random.Generator, obj: SceneObject, n: str, chosen: dict[str, str], parts: list[str],
            ctx: dict[str, Any]) -> str:  # fmt: skip
    """The "what it is and looks like" sentence: article, adjectives, noun, then parts, colour, what it is
    for, or how many of its kind the room has."""
    adjs = [chosen[k] for k in ("size", "shape", "color", "material") if k in chosen]
    if rng.random() < 0.3:  # ScanRefer writes both
        adjs = [x.replace("gray", "grey") for x in adjs]
    adj = "".join(f"{a} " for a in adjs)
    a = article(adj or n)
    colour = chosen.get("color", "")
    u = rng.random()
    on = ctx["families"]
    if parts and u < 0.12 and "parts" in on:
        with_ = " and ".join(parts[i] for i in sorted(rng.permutation(len(parts))[:2]))
        forms = (
            "this is {a} {adj}{n} with {w}.",
            "{a} {adj}{n} with {w}.",
            "the {adj}{n} has {w}.",
            "this {adj}{n} has {w}.",
            "it is {a} {adj}{n} that has {w}.",
            "there is {a} {adj}{n} that has {w}.",
        )
        return _pick(rng, forms).format(a=a, adj=adj, n=n, w=with_)
    if colour and u < 0.24 and "colour" in on:
        rest = " ".join([*(x for x in adjs if x != colour), n])
        others = [o for o in noun_matches(ctx["layout"], ctx["noun"]) if o.object_id != obj.object_id]
        if others and all(o.color != colour for o in others) and rng.random() < 0.5:
            return f"this {rest} is {colour}, unlike the other {plural(n)}."
        forms = (
            "the {r} is {c}.",
            "this {r} is {c} in color.",
            "the {r} is {c} in colour.",
            "this {r} is {c}.",
            "there is a {r}; its color is {c}.",
            "this is a {r} and its color is {c}.",
        )
        return _pick(rng, forms).format(r=rest, c=colour)
    peers = len(noun_matches(ctx["layout"], ctx["noun"]))
    if 1 < peers < len(NUMBERS) and 0.68 < u < 0.86 and "count" in on:
        forms = (
            "this is one of the {k} {p}.",
            "it is one of the {k} {p} in the {room}.",
            "this is one of {k} {p} in the {room}.",
            "there are {k} {p} in the {room}; this is one of them.",
            "the {room} has {k} {p} and this is one of them.",
        )
        text = _pick(rng, forms).format(k=NUMBERS[peers], p=plural(n), room=ctx["room"])
        if adjs:  # the program holds these attributes, so the words must too
            text = f"{text[:-1]}; it is {' and '.join(adjs)}."
        return text
    if u > 0.9 and "extent" in on:
        return _pick(rng, OPENERS).format(a=a, adj=adj, n=n, room=ctx["room"])[:-1] + f", {_extent(obj)}."
    epithets = EPITHETS.get(obj.object_name, EPITHETS.get(GROUP_OF.get(obj.object_name, ""), []))
    if epithets and "epithet" in on:
        forms = (
            "this is {a} {adj}{n} {e}.",
            "there is {a} {adj}{n} {e}.",
            "{a} {adj}{n} {e}.",
            "it is {a} {adj}{n} {e}.",
            "the object is {a} {adj}{n} {e}.",
            "this is the {adj}{n} {e}.",
        )
        return _pick(rng, forms).format(a=a, adj=adj, n=n, e=_pick(rng, epithets))
    return _pick(rng, OPENERS).format(a=a, adj=adj, n=n, room=ctx["room"])


def _extent(obj: SceneObject) -> str:
    """How high or wide it is, from its box: "about knee high", "hung at eye level"."""
    top, centre = float(obj.bbox_max[2]), float(obj.center[2])
    if is_mounted(obj):
        return "hung high up" if centre > 1.8 else "hung at eye level" if centre > 1.2 else "hung fairly low"
    width = float(max(obj.size[:2]))
    words = (
        "very low to the ground",
        "about ankle high",
        "about knee high",
        "roughly waist high",
        "about chest high",
        "nearly shoulder high",
        "taller than most people",
    )
    if obj.object_id % 3 == 0:
        words = (
            "barely off the floor",
            "only a few inches tall",
            "about shin height",
            "around hip height",
            "about as tall as a counter",
            "about as tall as a child",
            "about as tall as an adult",
        )
    height = words[int(np.searchsorted([0.15, 0.3, 0.55, 0.95, 1.35, 1.75], top))]
    wide = "under half a meter wide" if width < 0.5 else "about a meter wide" if width < 1.3 else "over a meter wide"
    return height if obj.object_id % 2 else wide


def _placer(rng: np.random.Generator, n: str, clauses: list[Clause], mounted: bool) -> str:
    parts = [c.phrase.format(n=n) if c.select else c.phrase for c in clauses]
    body = parts[0] if len(parts) == 1 else f"{parts[0]}{_pick(rng, (' and ', ', '))}{parts[1]}"
    view = next((c.view for c in clauses if c.view), "")
    if view and rng.random() < 0.4:
        return f"{view}, it is {body}."
    body += f" {view}" if view else ""
    if any(c.select for c in clauses):
        return _pick(rng, ("it is {r}.", "this is {r}.", "it's {r}.")).format(r=body)
    return _pick(rng, PLACERS if mounted else PLACERS + GROUNDED).format(r=body, n=n)


def _sample_clauses(
    rng: np.random.Generator, clauses: list[Clause], layout: RoomLayout, kind_weight: dict[str, float]
) -> list[Clause]:
    """One clause (sometimes two), by kind weight; door and window anchors are down-weighted."""
    weights = np.array([kind_weight[c.kind] / sum(d.kind == c.kind for d in clauses) for c in clauses])
    weak = [any(layout.by_id(a).class_name in WEAK_ANCHORS for a in c.anchors) for c in clauses]
    weights = weights * np.where(weak, 0.3, 1.0)
    if weights.sum() <= 0:
        return []
    first = clauses[int(rng.choice(len(clauses), p=weights / weights.sum()))]
    if first.select or rng.random() > 0.4:
        return [first]
    rest = [c for c in clauses if not c.select and c.kind != first.kind and not (c.view and first.view)]
    rest = [c for c in rest if kind_weight[c.kind] > 0]  # a kind switched off stays off
    return [first, _pick(rng, rest)] if rest else [first]


def _candidate(
    obj: SceneObject,
    layout: RoomLayout,
    refs: dict,
    view_list: list,
    rng: np.random.Generator,
    cache: dict,
    style: dict[str, Any],
) -> tuple[str, dict[str, Any], list[str]] | None:
    """One random description of ``obj`` (text, program, clause kinds), not yet checked for uniqueness."""
    nouns = nouns_for(obj)
    if not nouns:
        return None
    noun = _pick(rng, nouns)
    key = str(noun.program)  # clauses name the target only through "{n}": one set per noun program
    if key not in cache:
        cache[key] = location_clauses(obj, layout, refs, view_list, noun.program, rng)
    clauses = cache[key]
    opts = adjective_options(obj, layout, noun.program)
    parts = part_phrases(obj)
    keep = {"color": 0.6, "material": 0.3, "shape": 0.45, "size": 0.2}
    chosen = {k: v for k, v in opts.items() if rng.random() < keep[k]}
    picked = _sample_clauses(rng, clauses, layout, style["kinds"]) if clauses else []
    program = {"noun": noun.program, "attrs": {k: v for k, v in chosen.items() if k != "size"},
               "size": chosen.get("size"), "relations": [c.rel for c in picked if c.rel],
               "select": next((c.select for c in picked if c.select), None)}  # fmt: skip
    ctx = {"layout": layout, "noun": noun.program, "room": ROOM_WORDS.get(getattr(layout, "room_type", ""), "room"),
           "families": style["families"]}  # fmt: skip
    order = [chosen[k] for k in ("size", "shape", "color", "material") if k in chosen]
    if not picked:
        text = _opener(rng, obj, noun.words, chosen, parts, ctx)
    elif rng.random() < 0.03 and not picked[0].select and not picked[0].view:
        adj = "".join(f"{a} " for a in order)
        text = f"{_pick(rng, ('the', 'there is ' + article(adj or noun.words)))} {adj}{noun.words} {picked[0].phrase}."
    else:
        opener = _opener(rng, obj, noun.words, chosen, parts, ctx)
        text = f"{opener} {_placer(rng, noun.words, picked, is_mounted(obj))}"
        extra = FLUFF.get(obj.object_name, FLUFF.get(obj.class_name, [])) + (
            [f"its color is {obj.color}."] if obj.color and "color" not in chosen else []
        )
        extra += [f"it has {p}." for p in parts]
        if on_floor(obj) and obj.size[2] < 1.0:
            extra.append(_pick(rng, ("it is on the floor.", "it stands on the floor.")))
        near = [o for o in noun_matches(layout, noun.program) if o.object_id != obj.object_id and gap_xy(o, obj) < 0.6]
        if near and rng.random() < 0.3:  # "another": ScanRefer 3 %
            text += " " + _pick(
                rng,
                (
                    f"there is another {noun.words} next to it.",
                    f"another {noun.words} is right beside it.",
                    f"there is another {noun.words} close by.",
                ),
            )
        if obj.material:
            extra.append(f"it is made of {MATERIAL_NOUN.get(obj.material, obj.material)}.")
        if extra and rng.random() < 0.07:
            text += f" {_pick(rng, extra)}"
    return text, program, [c.kind for c in picked]


def parse_weights(spec: str, known: dict[str, float]) -> dict[str, float]:
    """'on 20, corner 0' -> ``known`` with those kinds re-weighted; an unknown kind is an error."""
    out = dict(known)
    for item in spec.replace("=", " ").split(","):
        if item.strip():
            name, value = item.strip().rsplit(" ", 1)
            if name.strip() not in known:
                raise ValueError(f"relation_mix: unknown kind {name.strip()!r}; kinds are {', '.join(known)}")
            out[name.strip()] = float(value)
    return out


def parse_families(spec: str) -> frozenset[str]:
    """'all' or a space/comma-separated subset of FAMILIES (first sentences: parts, colour, epithet, ...)."""
    names = frozenset(spec.replace(",", " ").split()) if spec != "all" else frozenset(FAMILIES)
    if not names <= set(FAMILIES):
        raise ValueError(f"templates: unknown families {sorted(names - set(FAMILIES))}; families are {FAMILIES}")
    return names


def describe_scene(
    layout: RoomLayout,
    rng: np.random.Generator,
    per_object: float = 4.7,
    stats: Counter | None = None,
    relation_mix: str = "",
    templates: str = "all",
) -> list[dict[str, Any]]:
    """About ``per_object`` descriptions per object, each checked to pick out exactly its target.

    ``stats`` (optional) accumulates counts: accepted, rejected_ambiguous, rejected_length,
    rejected_duplicate, kind:<relation kind>, objects_short (objects given fewer descriptions).
    ``relation_mix`` re-weights location-clause kinds ("on 20, left_right 0"); ``templates`` turns
    first-sentence families on ("all" or e.g. "plain colour"), so variants of the language can be built.
    """
    stats = stats if stats is not None else Counter()
    style = {"kinds": parse_weights(relation_mix, KIND_WEIGHT), "families": parse_families(templates)}
    refs = anchor_refs(layout)
    view_list = views(layout, refs, rng)
    records: list[dict[str, Any]] = []
    base = int(per_object)
    for obj in layout.objects:
        want = max(1, base + int(rng.random() < per_object - base) + int(rng.choice([-1, 0, 0, 0, 1])))
        texts: set[str] = set()
        cache: dict = {}
        for _ in range(MAX_TRIES * want):
            if len(texts) == want:
                break
            cand = _candidate(obj, layout, refs, view_list, rng, cache, style)
            if cand is None:
                break
            text, program, kinds = cand
            tokens = tokenize(text)
            if not 8 <= len(tokens) <= 30:
                stats["rejected_length"] += 1
            elif text in texts:
                stats["rejected_duplicate"] += 1
            elif evaluate(program, layout) != [obj.object_id]:
                stats["rejected_ambiguous"] += 1
            else:
                stats["accepted"] += 1
                stats.update(f"kind:{k}" for k in set(kinds))
                records.append({"scene_id": layout.scene_id, "object_id": str(obj.object_id),
                                "object_name": obj.object_name.replace(" ", "_"), "ann_id": str(len(texts)),
                                "description": text,
                                "token": tokens, "program": program})  # fmt: skip
                texts.add(text)
        stats["objects_short"] += int(len(texts) < want)
    return records
