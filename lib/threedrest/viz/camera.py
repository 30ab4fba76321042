"""Where the 3D views' shared camera stands: framing the room so it fills a view, and the orientation that
aims it, both computed in Python and stored in the widget state (an offline page runs no Python)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FOV = 40.0  # degrees, vertical field of view: little perspective distortion, the room framed tightly
VIEW_DIRECTION = (0.05, -0.6, 0.8)  # from the room's centre to the camera: ~53 degrees above the floor, near square-on


def frame_camera(
    points: np.ndarray,
    aspect: float,
    fov: float = FOV,
    direction: Sequence[float] = VIEW_DIRECTION,
    margin: float = 1.03,
) -> tuple[np.ndarray, np.ndarray]:
    """Camera ``(eye, target)`` looking along ``-direction`` so ``points`` (n, 3) just fill a view of ``aspect``
    (width / height) and vertical ``fov``: every point inside the frustum, their projection centred.

    A bounding sphere (the earlier framing) left the room a third of a narrow view; the points fit it.
    """
    points = np.asarray(points, float)
    back = np.asarray(direction, float) / np.linalg.norm(direction)
    right = np.cross((0.0, 0.0, 1.0), back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    tan_v = np.tan(np.radians(fov) / 2) / margin
    tan_h = tan_v * aspect
    target = (points.min(0) + points.max(0)) / 2
    for _ in range(4):  # fit the distance, then centre the projection on the view, and again
        rel = points - target
        x, y, z = rel @ right, rel @ up, rel @ back
        distance = float(np.max(np.maximum(z + np.abs(x) / tan_h, z + np.abs(y) / tan_v)))
        depth = distance - z
        px, py = x / depth, y / depth  # tangents of the points as seen from the eye
        target = target + ((px.max() + px.min()) * right + (py.max() + py.min()) * up) / 2 * distance
    return target + back * distance, target


def look_at_quaternion(eye: np.ndarray, target: np.ndarray, up: tuple[float, ...] = (0.0, 0.0, 1.0)) -> list[float]:
    """Camera orientation (x, y, z, w) looking from ``eye`` at ``target``: set in the state, so the
    exported page needs no Python to aim the camera (a camera looks down its local -z)."""
    z = (eye - target) / np.linalg.norm(eye - target)
    x = np.cross(np.asarray(up, float), z)
    x /= np.linalg.norm(x)
    m = np.stack([x, np.cross(z, x), z], axis=1)
    w = np.sqrt(max(1.0 + np.trace(m), 1e-12)) / 2
    return [float((m[2, 1] - m[1, 2]) / (4 * w)), float((m[0, 2] - m[2, 0]) / (4 * w)),
            float((m[1, 0] - m[0, 1]) / (4 * w)), float(w)]  # fmt: skip


__all__ = ["FOV", "VIEW_DIRECTION", "frame_camera", "look_at_quaternion"]
