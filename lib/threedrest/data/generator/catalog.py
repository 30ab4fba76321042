"""What the embedded benchmark's rooms hold: fine-grained object names (ScanRefer's ``object_name``),
their class, where they go, how big they are and what they are built from; room types; the class mix.

Why so many names: ScanRefer's annotators say "office chair", "armchair", "end table", "trash bin";
about 35 % of its targets are small "others" (pillows, monitors, lamps, trash cans) resting on, under
or beside furniture. Each name belongs to a *group* of synonyms ("trash can", "trash bin", "garbage
can"): a sentence naming the group matches every member, so naming stays conservative.
"""

from __future__ import annotations

from typing import Any

WOOD, SOFT = "brown dark_brown white black gray", "gray blue red green black brown dark_gray navy cream"
HARD, DARK = "white gray black silver", "black dark_gray gray"
# name: (class, placements (one drawn per instance), width, depth, height ranges (m), builder, colours,
# materials, shapes). Placements: floor, corner, wall (floor, back to a wall), in_wall (hung or set in a
# wall), around (a chair at a table), on (a support's top), shelf (on a shelf board), under (under a
# desk or table), beside (floor, next to a support), above (on the wall above a support), below_window.
CATALOG: dict[str, tuple[Any, ...]] = {
    "chair": ("chair", "around around floor", (0.42, 0.5), (0.42, 0.5), (0.8, 0.95), "chair",
        "brown black gray blue red light_brown", "wooden metal plastic", ""),
    "dining chair": ("chair", "around", (0.42, 0.5), (0.45, 0.52), (0.85, 1.0), "chair", WOOD, "wooden", ""),
    "kitchen chair": ("chair", "around", (0.4, 0.48), (0.42, 0.5), (0.82, 0.95), "chair", WOOD, "wooden metal", ""),
    "folding chair": ("chair", "around wall", (0.42, 0.46), (0.42, 0.46), (0.78, 0.85), "chair",
        DARK + " blue", "metal plastic", ""),
    "plastic chair": ("chair", "around floor", (0.44, 0.5), (0.44, 0.5), (0.78, 0.85), "chair",
        "white red blue green orange", "plastic", ""),
    "office chair": ("chair", "around", (0.55, 0.65), (0.55, 0.65), (0.9, 1.1), "office_chair",
        DARK + " blue", "fabric leather", ""),
    "desk chair": ("chair", "around", (0.5, 0.6), (0.5, 0.6), (0.9, 1.05), "office_chair", DARK + " red", "fabric", ""),
    "armchair": ("chair", "floor corner wall", (0.7, 0.9), (0.7, 0.85), (0.8, 0.95), "armchair",
        SOFT, "fabric leather", ""),
    "sofa chair": ("chair", "floor wall", (0.75, 0.9), (0.75, 0.85), (0.8, 0.9), "armchair", SOFT, "fabric", ""),
    "lounge chair": ("chair", "floor corner", (0.7, 0.85), (0.75, 0.9), (0.75, 0.85), "armchair",
        SOFT, "fabric leather", ""),
    "recliner": ("chair", "floor wall", (0.8, 0.95), (0.85, 0.95), (0.95, 1.05), "armchair",
        "brown black dark_brown", "leather", ""),
    "stool": ("chair", "around floor", (0.32, 0.4), (0.32, 0.4), (0.45, 0.6), "stool",
        WOOD + " gray", "wooden metal", "round"),
    "bar stool": ("chair", "around", (0.36, 0.42), (0.36, 0.42), (0.7, 0.8), "stool",
        DARK + " brown", "metal", "round"),
    "table": ("table", "floor", (0.9, 1.8), (0.7, 1.0), (0.72, 0.78), "table",
        WOOD, "wooden", "rectangular square round"),
    "dining table": ("table", "floor", (1.3, 1.9), (0.8, 1.0), (0.74, 0.78), "table", WOOD, "wooden", "rectangular"),
    "kitchen table": ("table", "floor", (1.0, 1.4), (0.7, 0.9), (0.72, 0.76), "table",
        WOOD, "wooden", "rectangular square"),
    "round table": ("table", "floor", (0.8, 1.2), (0.8, 1.2), (0.72, 0.76), "table", WOOD + " gray", "wooden", "round"),
    "conference table": ("table", "floor", (2.2, 3.2), (1.0, 1.3), (0.74, 0.78), "table",
        WOOD, "wooden", "rectangular"),
    "folding table": ("table", "floor wall", (1.2, 1.8), (0.6, 0.75), (0.72, 0.75), "table",
        "white gray light_brown", "plastic metal", "rectangular"),
    "coffee table": ("table", "floor", (0.8, 1.2), (0.5, 0.7), (0.4, 0.48), "table",
        WOOD, "wooden glass", "rectangular round"),
    "end table": ("table", "beside", (0.45, 0.6), (0.45, 0.6), (0.5, 0.62), "table", WOOD, "wooden", "square round"),
    "side table": ("table", "beside", (0.45, 0.6), (0.4, 0.55), (0.55, 0.65), "table", WOOD, "wooden", "square round"),
    "desk": ("desk", "wall", (1.1, 1.6), (0.6, 0.8), (0.72, 0.76), "desk", WOOD, "wooden", "rectangular"),
    "computer desk": ("desk", "wall", (1.1, 1.5), (0.6, 0.75), (0.72, 0.76), "desk", WOOD + " gray", "wooden", ""),
    "office desk": ("desk", "wall floor", (1.3, 1.7), (0.7, 0.8), (0.73, 0.76), "desk", WOOD, "wooden", ""),
    "writing desk": ("desk", "wall", (1.0, 1.3), (0.55, 0.65), (0.72, 0.76), "desk", WOOD, "wooden", ""),
    "cabinet": ("cabinet", "wall", (0.5, 1.0), (0.4, 0.6), (0.7, 1.2), "cabinet", WOOD, "wooden metal", ""),
    "storage cabinet": ("cabinet", "wall", (0.8, 1.1), (0.45, 0.6), (1.5, 1.9), "cabinet", WOOD + " gray", "metal", ""),
    "kitchen cabinet": ("cabinet", "wall", (0.6, 1.0), (0.55, 0.65), (0.85, 0.92), "cabinet", WOOD, "wooden", ""),
    "kitchen cabinets": ("cabinet", "wall", (1.2, 2.2), (0.55, 0.65), (0.85, 0.92), "cabinet", WOOD, "wooden", ""),
    "wall cabinet": ("cabinet", "above", (0.6, 1.2), (0.3, 0.38), (0.6, 0.75), "cabinet", WOOD, "wooden", ""),
    "bathroom cabinet": ("cabinet", "wall", (0.5, 0.8), (0.35, 0.45), (0.7, 0.85), "cabinet",
        "white light_brown gray", "wooden", ""),
    "file cabinet": ("cabinet", "wall", (0.4, 0.5), (0.5, 0.65), (0.7, 1.3), "drawers",
        "gray black white", "metal", ""),
    "filing cabinet": ("cabinet", "wall beside", (0.4, 0.5), (0.5, 0.6), (0.6, 0.75), "drawers",
        "gray black", "metal", ""),
    "wardrobe": ("cabinet", "wall", (0.9, 1.4), (0.55, 0.65), (1.8, 2.1), "cabinet", WOOD, "wooden", ""),
    "door": ("door", "in_wall", (0.8, 1.0), (0.04, 0.06), (2.0, 2.1), "door", WOOD + " gray", "wooden", ""),
    "closet door": ("door", "in_wall", (0.7, 1.2), (0.04, 0.05), (2.0, 2.1), "door", "white light_brown", "wooden", ""),
    "bathroom door": ("door", "in_wall", (0.7, 0.85), (0.04, 0.05), (2.0, 2.05), "door", "white brown", "wooden", ""),
    "window": ("window", "in_wall", (0.8, 1.6), (0.05, 0.08), (1.0, 1.4), "window", "white brown black", "", ""),
    "bookshelf": ("bookshelf", "wall", (0.7, 1.2), (0.3, 0.4), (1.2, 2.0), "shelf", WOOD, "wooden", ""),
    "bookcase": ("bookshelf", "wall", (0.8, 1.2), (0.3, 0.4), (1.6, 2.0), "shelf", WOOD, "wooden", ""),
    "bookshelves": ("bookshelf", "wall", (1.4, 2.0), (0.3, 0.4), (1.6, 2.0), "shelf", WOOD, "wooden", ""),
    "picture": ("picture", "in_wall above", (0.4, 1.0), (0.02, 0.04), (0.3, 0.8), "picture",
        "black brown white", "", "square rectangular"),
    "painting": ("picture", "above in_wall", (0.5, 1.2), (0.03, 0.05), (0.4, 0.9), "picture",
        "brown black gold", "", "rectangular"),
    "poster": ("picture", "in_wall", (0.45, 0.7), (0.01, 0.02), (0.6, 0.9), "picture",
        "white blue red yellow", "paper", "rectangular"),
    "picture frame": ("picture", "in_wall above", (0.3, 0.5), (0.02, 0.03), (0.3, 0.5), "picture",
        "black brown", "", "square rectangular"),
    "counter": ("counter", "wall", (1.2, 2.5), (0.6, 0.65), (0.88, 0.95), "counter", WOOD, "wooden", "rectangular"),
    "kitchen counter": ("counter", "wall", (1.6, 2.8), (0.6, 0.65), (0.88, 0.95), "counter",
        WOOD + " gray", "wooden", "rectangular"),
    "bathroom counter": ("counter", "wall", (1.0, 1.6), (0.5, 0.6), (0.82, 0.9), "counter",
        "white gray beige", "wooden", "rectangular"),
    "curtain": ("curtain", "in_wall", (0.8, 1.6), (0.06, 0.1), (1.8, 2.2), "curtain", SOFT, "fabric", ""),
    "curtains": ("curtain", "in_wall", (1.4, 2.2), (0.06, 0.1), (1.9, 2.3), "curtain", SOFT, "fabric", ""),
    "shower curtain": ("shower curtain", "in_wall", (0.8, 1.2), (0.04, 0.06), (1.7, 1.9), "curtain",
        "white blue beige", "plastic", ""),
    "refrigerator": ("refrigerator", "wall", (0.7, 0.9), (0.65, 0.75), (1.6, 1.85), "fridge",
        "white gray silver", "metal", ""),
    "fridge": ("refrigerator", "wall", (0.6, 0.8), (0.6, 0.7), (1.5, 1.8), "fridge", "white black", "metal", ""),
    "mini fridge": ("refrigerator", "wall beside", (0.45, 0.55), (0.5, 0.55), (0.8, 0.9), "fridge",
        "white black", "metal", ""),
    "toilet": ("toilet", "wall", (0.38, 0.45), (0.65, 0.75), (0.75, 0.85), "toilet", "white", "ceramic", ""),
    "sink": ("sink", "wall", (0.5, 0.8), (0.45, 0.55), (0.8, 0.9), "sink", HARD, "ceramic", ""),
    "kitchen sink": ("sink", "wall", (0.7, 0.9), (0.55, 0.6), (0.85, 0.92), "sink", "silver white gray", "metal", ""),
    "bathroom sink": ("sink", "wall", (0.45, 0.6), (0.4, 0.5), (0.8, 0.88), "sink", "white", "ceramic", ""),
    "bathtub": ("bathtub", "wall", (1.5, 1.7), (0.7, 0.8), (0.5, 0.6), "bathtub", "white beige", "ceramic", ""),
    "tub": ("bathtub", "wall", (1.4, 1.6), (0.7, 0.75), (0.5, 0.55), "bathtub", "white", "ceramic", ""),
    "bed": ("bed", "wall", (1.0, 1.8), (1.9, 2.1), (0.9, 1.2), "bed", WOOD, "wooden", ""),
    "sofa": ("sofa", "wall floor", (1.6, 2.3), (0.8, 0.95), (0.75, 0.9), "sofa", SOFT, "fabric leather", ""),
    "couch": ("sofa", "wall floor", (1.6, 2.3), (0.8, 0.95), (0.75, 0.9), "sofa", SOFT, "fabric leather", ""),
    "loveseat": ("sofa", "wall", (1.3, 1.5), (0.8, 0.9), (0.75, 0.85), "sofa", SOFT, "fabric", ""),
    "sectional": ("sofa", "wall", (2.4, 2.9), (0.9, 1.0), (0.75, 0.85), "sofa", SOFT, "fabric", ""),
    # others: small things on, under, beside and above furniture, and other furniture
    "pillow": ("others", "on", (0.45, 0.65), (0.3, 0.4), (0.12, 0.18), "pillow", SOFT + " white", "fabric", ""),
    "cushion": ("others", "on", (0.38, 0.48), (0.3, 0.4), (0.12, 0.16), "pillow", SOFT + " yellow", "fabric", "square"),
    "throw pillow": ("others", "on", (0.38, 0.45), (0.28, 0.35), (0.12, 0.15), "pillow",
        "red orange purple yellow", "fabric", ""),
    "monitor": ("others", "on", (0.5, 0.7), (0.18, 0.22), (0.4, 0.5), "monitor", DARK, "", ""),
    "computer monitor": ("others", "on", (0.5, 0.65), (0.18, 0.22), (0.4, 0.5), "monitor", "black silver", "", ""),
    "keyboard": ("others", "on", (0.42, 0.48), (0.15, 0.2), (0.03, 0.04), "keyboard", "black white", "plastic", ""),
    "laptop": ("others", "on", (0.32, 0.38), (0.22, 0.26), (0.22, 0.26), "laptop", "silver black gray", "metal", ""),
    "computer tower": ("others", "under beside", (0.2, 0.24), (0.42, 0.5), (0.4, 0.48), "tower",
        "black silver", "metal", ""),
    "printer": ("others", "on shelf", (0.4, 0.5), (0.35, 0.42), (0.22, 0.3), "printer",
        "white black gray", "plastic", ""),
    "lamp": ("others", "on", (0.25, 0.4), (0.25, 0.4), (0.4, 0.6), "lamp", "white black cream", "", ""),
    "table lamp": ("others", "on", (0.25, 0.35), (0.25, 0.35), (0.45, 0.6), "lamp", "white cream yellow", "", ""),
    "desk lamp": ("others", "on", (0.18, 0.25), (0.18, 0.25), (0.35, 0.5), "lamp", "black silver white", "metal", ""),
    "floor lamp": ("others", "beside corner", (0.35, 0.45), (0.35, 0.45), (1.4, 1.7), "lamp",
        "white black", "metal", ""),
    "trash can": ("others", "beside floor corner under", (0.28, 0.4), (0.28, 0.4), (0.4, 0.7), "can",
        "black gray blue white", "plastic metal", "round"),
    "trash bin": ("others", "beside under corner", (0.28, 0.38), (0.28, 0.38), (0.35, 0.6), "can",
        "black gray green", "plastic", "round"),
    "garbage can": ("others", "beside corner", (0.35, 0.45), (0.35, 0.45), (0.6, 0.8), "can",
        "gray black", "plastic", "round"),
    "recycling bin": ("others", "beside floor", (0.3, 0.42), (0.28, 0.36), (0.5, 0.7), "bin",
        "blue green", "plastic", "rectangular"),
    "wastebasket": ("others", "beside under", (0.24, 0.3), (0.24, 0.3), (0.3, 0.38), "can",
        "black gray white", "plastic", "round"),
    "towel": ("others", "in_wall", (0.3, 0.6), (0.04, 0.06), (0.5, 0.8), "towel", "white blue red green", "fabric", ""),
    "radiator": ("others", "below_window below_window wall", (0.8, 1.4), (0.1, 0.15), (0.5, 0.65), "radiator",
        "white gray", "metal", ""),
    "heater": ("others", "below_window wall", (0.6, 1.0), (0.1, 0.14), (0.45, 0.6), "radiator",
        "white silver", "metal", ""),
    "whiteboard": ("others", "in_wall", (1.5, 2.4), (0.03, 0.05), (0.9, 1.2), "whiteboard", "white", "", "rectangular"),
    "blackboard": ("others", "in_wall", (1.8, 2.6), (0.03, 0.05), (0.9, 1.2), "blackboard",
        "black green", "", "rectangular"),
    "bulletin board": ("others", "in_wall", (0.8, 1.4), (0.03, 0.04), (0.6, 0.9), "whiteboard",
        "brown light_brown", "", "rectangular"),
    "mirror": ("others", "above in_wall", (0.5, 0.8), (0.02, 0.03), (0.6, 0.9), "mirror",
        "silver", "glass", "rectangular"),
    "clock": ("others", "in_wall", (0.28, 0.4), (0.04, 0.06), (0.28, 0.4), "clock", "white black", "", "round"),
    "tv": ("others", "on above", (0.9, 1.3), (0.12, 0.2), (0.55, 0.8), "monitor", "black", "", ""),
    "television": ("others", "on", (0.8, 1.2), (0.18, 0.22), (0.5, 0.75), "monitor", "black dark_gray", "", ""),
    "box": ("others", "shelf floor under shelf", (0.3, 0.5), (0.3, 0.45), (0.25, 0.4), "box",
        "brown light_brown white", "cardboard", "square rectangular"),
    "cardboard box": ("others", "shelf floor corner", (0.35, 0.55), (0.3, 0.45), (0.3, 0.45), "box",
        "brown", "cardboard", "rectangular"),
    "storage bin": ("others", "shelf floor under", (0.35, 0.5), (0.28, 0.35), (0.22, 0.3), "bin",
        "white blue gray", "plastic", "rectangular"),
    "bag": ("others", "floor beside under shelf", (0.35, 0.5), (0.15, 0.25), (0.3, 0.45), "bag",
        "black blue red brown", "fabric leather", ""),
    "backpack": ("others", "floor beside under", (0.3, 0.38), (0.2, 0.26), (0.4, 0.5), "bag",
        "black blue red gray", "fabric", ""),
    "suitcase": ("others", "wall beside floor", (0.42, 0.55), (0.22, 0.28), (0.6, 0.75), "suitcase",
        "black blue red gray", "plastic", ""),
    "basket": ("others", "shelf floor beside", (0.3, 0.42), (0.25, 0.35), (0.22, 0.3), "basket",
        "brown light_brown white", "wicker", ""),
    "laundry basket": ("others", "corner beside", (0.45, 0.55), (0.35, 0.42), (0.5, 0.6), "basket",
        "white blue", "plastic", ""),
    "plant": ("others", "corner floor on", (0.35, 0.5), (0.35, 0.5), (0.6, 1.2), "plant", "green", "", ""),
    "potted plant": ("others", "on shelf corner", (0.2, 0.3), (0.2, 0.3), (0.3, 0.45), "plant", "green", "", ""),
    "nightstand": ("others", "beside", (0.4, 0.55), (0.35, 0.45), (0.5, 0.65), "drawers", WOOD, "wooden", ""),
    "dresser": ("others", "wall", (1.0, 1.5), (0.45, 0.55), (0.8, 1.0), "drawers", WOOD, "wooden", ""),
    "shelf": ("others", "wall", (0.8, 1.2), (0.3, 0.4), (0.8, 1.6), "shelf", WOOD + " gray", "wooden metal", ""),
    "wall shelf": ("others", "above", (0.6, 1.0), (0.22, 0.28), (0.35, 0.45), "shelf", WOOD, "wooden", ""),
    "ottoman": ("others", "floor beside", (0.45, 0.7), (0.45, 0.6), (0.38, 0.45), "box",
        SOFT, "fabric leather", "square round"),
    "bench": ("others", "wall floor", (1.0, 1.6), (0.35, 0.45), (0.42, 0.48), "bench", WOOD, "wooden", ""),
    "piano": ("others", "wall", (1.4, 1.6), (0.55, 0.65), (1.1, 1.3), "piano", "black brown", "wooden", ""),
    "coat rack": ("others", "corner wall", (0.4, 0.5), (0.4, 0.5), (1.6, 1.85), "coat_rack",
        "black brown", "metal", ""),
    "microwave": ("others", "on", (0.45, 0.55), (0.33, 0.4), (0.26, 0.32), "microwave",
        "white black silver", "metal", ""),
    "speaker": ("others", "on shelf floor", (0.18, 0.28), (0.2, 0.28), (0.3, 0.45), "tower", "black", "", ""),
    "fan": ("others", "corner floor", (0.35, 0.45), (0.3, 0.4), (0.9, 1.2), "fan", "white black", "plastic", ""),
    "tv stand": ("others", "wall", (1.0, 1.6), (0.4, 0.5), (0.45, 0.6), "cabinet", WOOD, "wooden", ""),
    "bucket": ("others", "floor beside corner", (0.26, 0.32), (0.26, 0.32), (0.28, 0.36), "can",
        "red blue white", "plastic", "round"),
    "tissue box": ("others", "on shelf", (0.22, 0.26), (0.12, 0.14), (0.1, 0.14), "box", "white blue", "cardboard", ""),
    "fire extinguisher": ("others", "wall corner", (0.16, 0.2), (0.16, 0.2), (0.5, 0.6), "can",
        "red", "metal", "round"),
    "paper towel dispenser": ("others", "in_wall", (0.28, 0.34), (0.12, 0.16), (0.3, 0.38), "box",
        "white gray", "plastic", ""),
}  # fmt: skip
# Synonym groups: a sentence naming a group ("the trash can") matches every member.
GROUPS: dict[str, tuple[str, ...]] = {
    "office chair": ("office chair", "desk chair"), "armchair": ("armchair", "sofa chair", "lounge chair"),
    "dining chair": ("dining chair", "kitchen chair"), "stool": ("stool", "bar stool"),
    "dining table": ("dining table", "kitchen table"), "end table": ("end table", "side table"),
    "kitchen cabinet": ("kitchen cabinet", "kitchen cabinets"), "file cabinet": ("file cabinet", "filing cabinet"),
    "bookshelf": ("bookshelf", "bookcase", "bookshelves"), "picture": ("picture", "picture frame"),
    "kitchen counter": ("kitchen counter", "counter"), "desk": ("desk", "computer desk", "office desk"),
    "curtain": ("curtain", "curtains"), "refrigerator": ("refrigerator", "fridge"), "bathtub": ("bathtub", "tub"),
    "sofa": ("sofa", "couch"), "pillow": ("pillow", "cushion", "throw pillow"),
    "monitor": ("monitor", "computer monitor"), "lamp": ("lamp", "table lamp", "desk lamp"),
    "trash can": ("trash can", "trash bin", "garbage can", "wastebasket"), "radiator": ("radiator", "heater"),
    "tv": ("tv", "television"), "box": ("box", "cardboard box"), "bag": ("bag", "backpack"),
    "basket": ("basket", "laundry basket"), "plant": ("plant", "potted plant"),
}  # fmt: skip
GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}
# Surface words for a group or name (names not listed are said as they are).
NAME_WORDS: dict[str, list[str]] = {
    "trash can": ["trash can", "trash bin", "garbage can", "bin", "garbage bin"], "radiator": ["radiator", "heater"],
    "armchair": ["armchair", "arm chair"], "monitor": ["monitor", "computer monitor", "screen"],
    "tv": ["tv", "television"], "nightstand": ["nightstand", "night stand", "bedside table"],
    "sofa": ["sofa", "couch"], "whiteboard": ["whiteboard", "white board"], "office chair": ["office chair"],
    "bookshelf": ["bookshelf", "bookcase"], "file cabinet": ["file cabinet", "filing cabinet"],
    "pillow": ["pillow", "cushion"], "lamp": ["lamp"], "bag": ["bag"], "plant": ["plant"], "box": ["box"],
    "end table": ["end table", "side table"], "refrigerator": ["refrigerator", "fridge"],
    "dining chair": ["dining chair"], "kitchen cabinet": ["kitchen cabinet"], "picture": ["picture"],
    "desk": ["desk"], "curtain": ["curtain"], "stool": ["stool"], "dining table": ["dining table"],
    "kitchen counter": ["counter"], "basket": ["basket"], "bathtub": ["bathtub", "tub"],
}  # fmt: skip
# What each placement may rest on or hang by (object names or classes).
SUPPORTS: dict[str, str] = {
    "pillow": "bed sofa", "cushion": "sofa bed", "throw pillow": "sofa bed", "monitor": "desk",
    "computer monitor": "desk", "keyboard": "desk", "laptop": "desk table coffee_table",
    "printer": "desk cabinet file_cabinet", "lamp": "nightstand desk dresser end_table side_table table cabinet",
    "table lamp": "nightstand end_table side_table dresser", "desk lamp": "desk writing_desk",
    "tv": "dresser tv_stand cabinet sofa bed", "television": "tv_stand dresser cabinet counter",
    "microwave": "counter", "tissue box": "nightstand desk end_table counter",
    "potted plant": "desk table counter end_table", "plant": "table", "speaker": "desk tv_stand",
    "floor lamp": "sofa armchair bed", "nightstand": "bed", "end table": "sofa armchair bed",
    "side table": "sofa armchair bed", "filing cabinet": "desk", "mini fridge": "desk counter",
    "trash can": "desk toilet sink counter", "trash bin": "desk sink", "garbage can": "counter kitchen_cabinets",
    "recycling bin": "desk counter", "wastebasket": "desk toilet", "computer tower": "desk", "bag": "desk bed",
    "backpack": "desk bed chair", "suitcase": "bed wardrobe", "basket": "bed", "ottoman": "sofa",
    "laundry basket": "bed wardrobe", "bucket": "sink toilet", "picture": "sofa bed desk", "painting": "sofa bed",
    "picture frame": "desk dresser", "mirror": "sink dresser", "wall cabinet": "counter", "wall shelf": "desk",
}  # fmt: skip
WALL_Z = {
    "door": (0.0, 0.0), "window": (0.8, 1.0), "picture": (1.2, 1.6), "whiteboard": (0.8, 1.0),
    "blackboard": (0.8, 1.0), "mirror": (1.0, 1.3), "towel": (0.8, 1.1), "curtain": (0.2, 0.4),
    "shower curtain": (0.15, 0.25), "clock": (1.9, 2.2), "poster": (1.1, 1.4), "paper towel dispenser": (1.1, 1.3),
}  # fmt: skip
GROUP_SIZE = {
    "chair": 3, "dining chair": 4, "kitchen chair": 3, "office chair": 2, "folding chair": 4, "plastic chair": 4,
    "desk chair": 2, "stool": 2, "bar stool": 3, "pillow": 2, "cushion": 2, "monitor": 2, "box": 2, "throw pillow": 2,
    "keyboard": 2, "laptop": 2, "picture": 2, "kitchen cabinet": 2, "cardboard box": 2, "storage bin": 2,
    "nightstand": 2,
}  # fmt: skip

# room type: (key objects always planned, other names that may appear); EVERYWHERE names go in any room
ROOMS: dict[str, tuple[str, str]] = {
    "bedroom": (
        "door, bed, nightstand",
        "pillow, throw pillow, nightstand, lamp, table lamp, dresser, wardrobe, curtain, "
        "curtains, writing desk, desk chair, chair, painting, poster, mirror, suitcase, laundry basket, "
        "closet door, armchair, tv, cushion, ottoman, bench, laptop, end table, floor lamp, bookshelf",
    ),
    "office": (
        "door, desk",
        "computer desk, office desk, office chair, desk chair, monitor, computer monitor, "
        "keyboard, laptop, computer tower, printer, desk lamp, file cabinet, filing cabinet, storage cabinet, "
        "bookcase, bookshelves, wall shelf, recycling bin, wastebasket, whiteboard, bulletin board, speaker, "
        "coat rack, couch, folding table, tissue box, mini fridge, potted plant",
    ),
    "living room": (
        "door, sofa",
        "couch, loveseat, sectional, armchair, sofa chair, lounge chair, recliner, "
        "coffee table, end table, side table, pillow, cushion, throw pillow, tv, television, tv stand, "
        "lamp, floor lamp, table lamp, painting, curtain, curtains, potted plant, bookcase, ottoman, "
        "piano, basket, speaker, fan, dresser",
    ),
    "kitchen": (
        "door, kitchen counter",
        "counter, kitchen cabinet, kitchen cabinets, wall cabinet, refrigerator, "
        "fridge, kitchen sink, microwave, dining table, kitchen table, round table, dining chair, "
        "kitchen chair, stool, bar stool, garbage can, recycling bin, towel, bucket, paper towel dispenser, "
        "fire extinguisher, mini fridge, potted plant, table",
    ),
    "bathroom": (
        "bathroom door, toilet",
        "sink, bathroom sink, bathtub, tub, shower curtain, bathroom counter, "
        "bathroom cabinet, mirror, towel, wastebasket, laundry basket, bucket, paper towel dispenser, "
        "tissue box, heater",
    ),
    "conference room": (
        "door, conference table",
        "table, chair, office chair, folding chair, plastic chair, "
        "whiteboard, tv, television, tv stand, storage cabinet, monitor, laptop, bulletin board, "
        "coat rack, speaker, round table, recycling bin, potted plant",
    ),
    "classroom": (
        "door, writing desk, whiteboard",
        "desk, table, folding table, chair, plastic chair, folding chair, "
        "stool, blackboard, bulletin board, bookshelves, storage cabinet, recycling bin, backpack, "
        "computer monitor, keyboard, laptop, storage bin, piano, fan, teacher desk",
    ),
}
EVERYWHERE = (
    "window, radiator, trash can, trash bin, picture, picture frame, clock, box, cardboard box, bag, "
    "backpack, plant, shelf, cabinet, bookshelf, basket, storage bin, fire extinguisher, chair, "
    "table, heater, lamp"
)
# ScanRefer's target classes (2,000 real records): others 35 %, chair 23 %, cabinet 8.5 %, table 7 %, door 5.4 %,
# window 3 %, the other twelve 0.5-2.2 % each.
SCANREFER_CLASS_MIX = (
    "others 35, chair 23, cabinet 8.5, table 7, door 5.4, window 3, desk 2.2, bed 2, "
    "sofa 2, bookshelf 1.8, picture 1.8, counter 1.5, sink 1.5, curtain 1.4, "
    "refrigerator 1, toilet 1, shower curtain 0.6, bathtub 0.6"
)


def names_in(spec: str) -> list[str]:
    return [n.strip() for n in spec.split(",") if n.strip() in CATALOG]


def parse_mix(spec: str) -> dict[str, float]:
    """'others 35, chair 23' (or 'others=35,chair=23') -> normalised class shares; unknown classes fail."""
    from threedrest.data.store import CLASSES

    out: dict[str, float] = {}
    for item in spec.replace("=", " ").split(","):
        if not item.strip():
            continue
        name, value = item.strip().rsplit(" ", 1)
        if name.strip() not in CLASSES[2:]:
            raise ValueError(f"class_mix: unknown class {name.strip()!r}; classes are {', '.join(CLASSES[2:])}")
        out[name.strip()] = float(value)
    total = sum(out.values())
    if total <= 0:
        raise ValueError(f"class_mix {spec!r}: shares must sum to more than 0")
    return {k: v / total for k, v in out.items()}
