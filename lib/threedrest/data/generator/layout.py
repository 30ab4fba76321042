"""The symbolic description of an embedded-benchmark room: what the scene generator places and
what the sentence generator reasons about. Points are sampled from it, sentences evaluated on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SceneObject:
    object_id: int  # instance id in the scene (== int(description["object_id"]))
    class_name: str  # one of store.CLASSES (e.g. "chair", "others")
    object_name: str  # fine-grained ScanRefer-style name ("office chair", "trash can")
    center: np.ndarray  # (3,) metres, bounding-box centre, z up
    size: np.ndarray  # (3,) axis-aligned bounding-box extent after rotation
    yaw: float = 0.0  # rotation about z, radians
    color: str = ""  # colour word used in sentences ("brown", "white", ...)
    rgb: tuple[int, int, int] = (128, 128, 128)  # dominant colour
    shape: str = ""  # "round", "square", "rectangular" or ""
    material: str = ""  # "wooden", "metal", "" ...
    on_top_of: int | None = None  # object_id of the support (a lamp on a desk), None = floor
    against_wall: str = ""  # "north", "south", "east", "west" or "" (free standing)
    parts: list[str] = field(default_factory=list)  # part primitives it was built from
    inside_of: int | None = None  # object_id of the shelf whose board it stands on ("the box in the bookcase")
    mounted: bool = False  # hung on or set in a wall (pictures, windows); names in MOUNTED count too

    @property
    def volume(self) -> float:
        return float(np.prod(self.size))

    @property
    def bbox_min(self) -> np.ndarray:
        return self.center - self.size / 2

    @property
    def bbox_max(self) -> np.ndarray:
        return self.center + self.size / 2


@dataclass
class RoomLayout:
    scene_id: str
    room_size: np.ndarray  # (3,) x extent, y extent, wall height; room spans [0, sx] x [0, sy]
    objects: list[SceneObject]  # furniture, doors, windows (not walls/floor)

    def by_id(self, object_id: int) -> SceneObject:
        for obj in self.objects:
            if obj.object_id == object_id:
                return obj
        raise KeyError(f"scene {self.scene_id} has no object {object_id}")
