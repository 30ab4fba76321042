"""Reading class names out of a referring sentence, real or generated.

ScanRefer's ``token`` field and the embedded benchmark's sentences go through the same word lists:
the sentence gate and 3D-STMN's sampling target read which classes a sentence names
(``mentioned_classes``), the rule-based references read its target's class (``target_class_of``).
"""

from __future__ import annotations

import re

# Words and phrases naming each class of store.CLASSES, as written in ScanRefer (plurals included).
CLASS_SYNONYMS: dict[str, list[str]] = {
    "wall": ["wall", "walls"],
    "floor": ["floor", "ground"],
    "cabinet": ["cabinet", "cabinets", "cupboard", "cupboards", "kitchen cabinet", "kitchen cabinets",
                "file cabinet", "filing cabinet", "storage cabinet", "wardrobe", "wardrobes"],
    "bed": ["bed", "beds", "bunk bed"],
    "chair": ["chair", "chairs", "office chair", "office chairs", "armchair", "armchairs", "arm chair",
              "desk chair", "sofa chair", "stool", "stools"],
    "sofa": ["sofa", "sofas", "couch", "couches", "loveseat", "sectional"],
    "table": ["table", "tables", "coffee table", "end table", "side table", "dining table", "kitchen table",
              "round table"],
    "door": ["door", "doors", "doorway", "closet door", "bathroom door"],
    "window": ["window", "windows"],
    "bookshelf": ["bookshelf", "bookshelves", "bookcase", "bookcases", "book shelf", "book shelves"],
    "picture": ["picture", "pictures", "painting", "paintings", "poster", "posters", "picture frame"],
    "counter": ["counter", "counters", "countertop", "kitchen counter", "bathroom counter"],
    "desk": ["desk", "desks"],
    "curtain": ["curtain", "curtains", "drapes"],
    "refrigerator": ["refrigerator", "refrigerators", "fridge", "mini fridge"],
    "shower curtain": ["shower curtain", "shower curtains"],
    "toilet": ["toilet", "toilets"],
    "sink": ["sink", "sinks", "kitchen sink", "bathroom sink"],
    "bathtub": ["bathtub", "bathtubs", "bath tub", "tub"],
    "others": ["lamp", "lamps", "table lamp", "desk lamp", "floor lamp", "pillow", "pillows", "monitor",
               "monitors", "computer monitor", "trash can", "trash cans", "trash bin", "garbage can", "garbage bin",
               "recycling bin", "bin", "bins", "wastebasket", "whiteboard", "white board", "radiator", "heater",
               "shelf", "shelves", "nightstand", "night stand", "dresser", "box", "boxes", "backpack", "bag", "tv",
               "television", "tv stand", "computer", "keyboard", "mirror", "towel", "plant", "piano", "printer",
               "microwave", "ottoman", "laptop", "basket", "bench", "toilet paper", "coat rack", "blinds",
               "window sill", "windowsill", "board", "blackboard", "suitcase", "stand", "towels", "plants",
               "keyboards", "mirrors", "nightstands", "dressers", "backpacks", "radiators", "whiteboards"],
}  # fmt: skip
_PHRASES = sorted(((tuple(p.split()), cls) for cls, ps in CLASS_SYNONYMS.items() for p in ps), key=lambda x: -len(x[0]))
_MAX_WORDS = max(len(p) for p, _ in _PHRASES)
_PHRASE_CLASS = dict(_PHRASES)
_TOKEN_RE = re.compile(r"[a-z0-9]+|'[a-z]+|[^\sa-z0-9]")  # "it's" -> "it", "'s" (as NLTK)


def tokenize(text: str) -> list[str]:
    """Lower-case words with punctuation as separate tokens, like ScanRefer's ``token`` field."""
    return _TOKEN_RE.findall(text.lower())


def _class_mentions(tokens: list[str]) -> list[str]:
    """Classes named in order of appearance; the longest phrase wins ("office chair", "floor lamp")."""
    found, i = [], 0
    while i < len(tokens):
        for n in range(min(_MAX_WORDS, len(tokens) - i), 0, -1):
            cls = _PHRASE_CLASS.get(tuple(tokens[i : i + n]))
            if cls is not None:
                found.append(cls)
                i += n
                break
        else:
            i += 1
    return found


def mentioned_classes(tokens: list[str]) -> set[str]:
    """Classes (of store.CLASSES) whose name or synonym occurs in the sentence."""
    return set(_class_mentions([t.lower() for t in tokens]))


def target_class_of(tokens: list[str]) -> str | None:
    """Class of the first object noun (walls and floors are context, not targets)."""
    return next((c for c in _class_mentions([t.lower() for t in tokens]) if c not in ("wall", "floor")), None)


__all__ = ["CLASS_SYNONYMS", "mentioned_classes", "target_class_of", "tokenize"]
