"""Interactive 3D views of a scan with masks overlaid: pythreejs inside ipywidgets.

Every layer (ground truth, each method's mask, its true/false positive/negative points) is its own
``Points`` object indexing ONE shared position buffer, and every toggle is tied to ``visible`` with
``jslink``: the same widget then works live in JupyterLab / the classic notebook and in the offline
HTML written by :mod:`threedrest.viz.export` (no kernel there, so no Python callbacks). Only the
description picker and the "next failure" button of :class:`Explorer` need a live kernel.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import pythreejs as three

from threedrest.data.store import DatasetIndex, Scene
from threedrest.train.predictions import Predictions

# Points sent to the browser per scan. A 40k-point page is ~1.4 MB of base64 and orbits smoothly even
# with software WebGL; every point of every mask is kept, the rest is a seeded uniform sample.
MAX_POINTS = 40_000
POINT_SIZE = 0.04  # metres (points are drawn with size attenuation)
GT = "ground truth"
FAIL_IOU = 0.5  # a description "fails" below this IoU (Acc@0.5, the benchmark's headline metric)
BACKGROUND = "#15191e"
LAYER_COLOURS = {GT: "#ffd400", "supervised": "#ff7f0e", "3DResT student": "#17becf", "3DResT teacher": "#e377c2"}
EXTRA_COLOURS = ("#bcbd22", "#9467bd", "#8c564b", "#7f7fff")
ERROR_COLOURS = {"true positive": "#2ca02c", "false positive": "#d62728", "false negative": "#1f77ff"}


@dataclass
class Case:
    """One description ready to draw: the scan's points and every layer's point mask."""

    uid: str
    sentence: str
    unique: bool
    ious: dict[str, float]
    xyz: np.ndarray  # (N, 3) float32
    rgb: np.ndarray  # (N, 3) uint8
    masks: dict[str, np.ndarray]  # name -> (N,) bool; includes "ground truth"

    @property
    def gt(self) -> np.ndarray:
        return self.masks[GT]


def layer_colour(name: str, order: Sequence[str]) -> str:
    if name in LAYER_COLOURS:
        return LAYER_COLOURS[name]
    extras = [n for n in order if n not in LAYER_COLOURS]
    return EXTRA_COLOURS[extras.index(name) % len(EXTRA_COLOURS)] if name in extras else EXTRA_COLOURS[0]


def scene_masks(
    scene: Scene, gt_object_id: int, predictions: Mapping[str, Predictions], uid: str
) -> dict[str, np.ndarray]:
    """Ground truth plus each run's superpoint prediction broadcast to the scene's points."""
    masks = {GT: scene.instance == int(gt_object_id)}
    for name, preds in predictions.items():
        masks[name] = preds.point_mask(uid, scene.superpoint).astype(bool)
    return masks


def load_case(index: DatasetIndex, predictions: Mapping[str, Predictions], uid: str) -> Case:
    record = next((d for d in index.descriptions if d["uid"] == uid), None)
    if record is None:
        raise ValueError(f"{index.root / 'descriptions.json'}: no description with uid {uid!r}")
    scene = index.load_scene(record["scene_id"])
    ious = {name: float(p.iou[p.index()[uid]]) for name, p in predictions.items()}
    return Case(uid, record["description"], bool(record.get("unique", False)), ious, scene.xyz, scene.rgb,
                scene_masks(scene, int(record["object_id"]), predictions, uid))  # fmt: skip


def check_arrays(xyz: np.ndarray, rgb: np.ndarray, masks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raise ValueError naming the field at fault; return the masks as bool arrays."""
    xyz, rgb = np.asarray(xyz), np.asarray(rgb)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or xyz.shape[0] == 0:
        raise ValueError(f"viz: field 'xyz' must have shape (N, 3) with N > 0, got {xyz.shape}")
    if rgb.shape != xyz.shape:
        raise ValueError(f"viz: field 'rgb' has shape {rgb.shape}, 'xyz' has {xyz.shape}")
    out = {}
    for name, mask in masks.items():
        mask = np.asarray(mask)
        if mask.shape != (xyz.shape[0],):
            raise ValueError(f"viz: mask {name!r} has shape {mask.shape}, expected ({xyz.shape[0]},)")
        out[name] = mask.astype(bool)
    return out


def downsample(n_points: int, masks: Mapping[str, np.ndarray], cap: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most max(cap, #mask points) points: all mask points plus a seeded sample."""
    if n_points <= cap:
        return np.arange(n_points)
    in_mask = np.zeros(n_points, bool)
    for mask in masks.values():
        in_mask |= mask
    rest = np.flatnonzero(~in_mask)
    n_rest = max(cap - int(in_mask.sum()), 0)
    sample = np.random.default_rng(seed).choice(rest, size=min(n_rest, rest.size), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(in_mask), sample]))


def dim_colours(rgb: np.ndarray) -> np.ndarray:
    """Scan colours dimmed towards grey so the coloured masks stand out (still never background-dark)."""
    return (np.asarray(rgb, np.float32) * 0.5 + 45.0).astype(np.uint8)


def default_views(layers: Sequence[str]) -> list[list[str]]:
    """Ground truth alone, then one view per method, at most 4 views (extra methods join the last)."""
    preds = [n for n in layers if n != GT]
    views = [[GT]] if GT in layers else []
    views += [[p] for p in preds]
    if len(views) > 4:
        views = [*views[:3], [p for v in views[3:] for p in v]]
    return views or [[]]


def header_html(sentence: str, unique: bool | None, ious: Mapping[str, float] | None, uid: str = "") -> str:
    flag = "" if unique is None else (" <b>[unique]</b>" if unique else " <b>[multiple]</b>")
    iou = " &nbsp; ".join(f"{html.escape(k)}: IoU {v:.2f}" for k, v in (ious or {}).items())
    return f"<div><i>{html.escape(uid)}</i> &ldquo;{html.escape(sentence)}&rdquo;{flag}<br>{iou}</div>"


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


def _index_attr(idx: np.ndarray) -> three.BufferAttribute:
    return three.BufferAttribute(array=idx.astype(np.uint16 if idx.max(initial=0) < 65535 else np.uint32))


class SceneView(widgets.VBox):
    """A VBox holding the views; ``links`` are the jslinks that must travel with it when exported."""

    def __init__(self, children: list[widgets.Widget], links: list[widgets.Widget], n_shown: int) -> None:
        super().__init__(children)
        self.links = links
        self.n_shown = n_shown


def scene_view(
    xyz: np.ndarray,
    rgb: np.ndarray,
    masks: Mapping[str, np.ndarray],
    gt: np.ndarray | None = None,
    *,
    views: Sequence[Sequence[str]] | None = None,
    sentence: str = "",
    unique: bool | None = None,
    ious: Mapping[str, float] | None = None,
    uid: str = "",
    errors: bool = False,
    point_size: float = POINT_SIZE,
    width: int = 960,
    height: int = 460,
    cap: int = MAX_POINTS,
    seed: int = 0,
) -> SceneView:
    """Side-by-side views (``views``: the layers each shows, 1 to 4 views) with one shared camera."""
    masks = check_arrays(xyz, rgb, masks)
    gt = masks.get(GT) if gt is None else check_arrays(xyz, rgb, {"gt": gt})["gt"]
    views = [list(v) for v in (views if views is not None else default_views(list(masks)))]
    if not 1 <= len(views) <= 4:
        raise ValueError(f"viz: 'views' must hold 1 to 4 views, got {len(views)}")
    unknown = {n for v in views for n in v} - set(masks)
    if unknown:
        raise ValueError(f"viz: views name unknown layers {sorted(unknown)}; masks has {list(masks)}")
    keep = downsample(len(xyz), {**masks, **({} if gt is None else {"gt": gt})}, cap, seed)
    pts = np.asarray(xyz, np.float32)[keep]
    lo, hi = pts.min(0), pts.max(0)
    pts = pts - (lo + hi) / 2
    masks = {k: m[keep] for k, m in masks.items()}
    gt = None if gt is None else gt[keep]

    position = three.BufferAttribute(array=pts)
    colour = three.BufferAttribute(array=dim_colours(np.asarray(rgb)[keep]), normalized=True)  # uint8: 1/4 the bytes
    base_geom = three.BufferGeometry(attributes={"position": position, "color": colour})
    materials = {"base": three.PointsMaterial(vertexColors="VertexColors", size=point_size)}
    geoms: dict[tuple[str, str], three.BufferGeometry] = {}
    for name, mask in masks.items():
        parts = {"mask": mask}
        if gt is not None and name != GT:
            parts |= {"true positive": mask & gt, "false positive": mask & ~gt, "false negative": ~mask & gt}
        for part, sel in parts.items():
            if sel.any():
                geoms[name, part] = three.BufferGeometry(
                    attributes={"position": position}, index=_index_attr(np.flatnonzero(sel))
                )
        materials[name] = three.PointsMaterial(color=layer_colour(name, list(masks)), size=point_size)
    for part, colour in ERROR_COLOURS.items():
        materials[part] = three.PointsMaterial(color=colour, size=point_size, visible=errors)

    # frame the bounding sphere in the narrower of the two fields of view (narrow side-by-side views)
    radius, aspect = float(np.linalg.norm(hi - lo)) / 2 + 1e-3, width / len(views) / height
    half_fov = min(np.radians(25.0), np.arctan(np.tan(np.radians(25.0)) * aspect))
    extent = radius / np.sin(half_fov) * 1.05
    eye = np.array([0.2, -0.65, 0.85]) / np.linalg.norm([0.2, -0.65, 0.85]) * extent  # ~55 deg above the floor
    camera = three.PerspectiveCamera(position=eye.tolist(), up=[0, 0, 1], fov=50, aspect=aspect, near=0.01,
                                     far=4 * extent, quaternion=look_at_quaternion(eye, np.zeros(3)))  # fmt: skip
    controls = three.OrbitControls(controlling=camera, target=[0.0, 0.0, 0.0])
    links: list[widgets.Widget] = []
    panels = []
    for shown in views:
        layer_points, boxes = [], []
        for name in masks:
            # one checkbox drives every Points of its layer (mask and its error parts) through jslinks
            kids = [three.Points(geometry=g, material=materials[name if part == "mask" else part],
                                 renderOrder=1 if part == "mask" else 2, visible=name in shown)
                    for (n, part), g in geoms.items() if n == name]  # fmt: skip
            box = widgets.Checkbox(value=name in shown, description=name, indent=False,
                                   layout=widgets.Layout(width="auto"))  # fmt: skip
            links += [widgets.jslink((box, "value"), (kid, "visible")) for kid in kids]
            layer_points += kids
            boxes.append(box)
        scene = three.Scene(children=[three.Points(geometry=base_geom, material=materials["base"]), *layer_points],
                            background=BACKGROUND)  # fmt: skip
        renderer = three.Renderer(camera=camera, scene=scene, controls=[controls], width=width // len(views),
                                  height=height, clearColor=BACKGROUND)  # fmt: skip
        panels.append(widgets.VBox([widgets.HBox(boxes, layout=widgets.Layout(flex_flow="row wrap")), renderer]))

    error_box = widgets.Checkbox(value=errors, description="error colouring", indent=False)
    size = widgets.FloatSlider(value=point_size, min=0.005, max=0.15, step=0.005, description="point size")
    links += [widgets.jslink((error_box, "value"), (materials[p], "visible")) for p in ERROR_COLOURS]
    links += [widgets.jslink((size, "value"), (m, "size")) for m in materials.values()]
    swatches = {**{n: layer_colour(n, list(masks)) for n in masks}, **ERROR_COLOURS}
    legend = " ".join(f"<span style='color:{c}'>&#9632;</span> {html.escape(n)}" for n, c in swatches.items())
    head = widgets.HTML(header_html(sentence, unique, ious, uid) + f"<div style='font-size:85%'>{legend}</div>")
    return SceneView([head, widgets.HBox([error_box, size]), widgets.HBox(panels)], links, len(keep))


def view_case(case: Case, **kwargs: Any) -> SceneView:
    return scene_view(case.xyz, case.rgb, case.masks, case.gt, sentence=case.sentence, unique=case.unique,
                      ious=case.ious, uid=case.uid, **kwargs)  # fmt: skip


class Explorer:
    """Description picker + scene view + "next failure of method X" (these controls need a live kernel)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], load: Callable[[str], Case], *,
                 fail_iou: float = FAIL_IOU, **view_kwargs: Any) -> None:  # fmt: skip
        if not rows:
            raise ValueError("viz.Explorer: no descriptions to show (rows is empty)")
        self.rows, self.load, self.fail_iou, self.view_kwargs = list(rows), load, fail_iou, view_kwargs
        methods = list(self.rows[0]["ious"])
        options = [(self._label(r), r["uid"]) for r in self.rows]
        self.picker = widgets.Dropdown(options=options, description="description", layout=widgets.Layout(width="95%"))
        self.method = widgets.Dropdown(options=methods, description="method")
        self.next_button = widgets.Button(description="next failure")
        self.status = widgets.HTML()
        self.body = widgets.VBox()
        self.widget = widgets.VBox([self.picker, widgets.HBox([self.method, self.next_button, self.status]), self.body])
        self.picker.observe(lambda _: self.show(), "value")
        self.next_button.on_click(lambda _: self.next_failure())
        self.show()

    @staticmethod
    def _label(row: Mapping[str, Any]) -> str:
        flag = "unique" if row.get("unique") else "multiple"
        iou = " | ".join(f"{k} {v:.2f}" for k, v in row["ious"].items())
        return f"{row['sentence'][:70]} [{flag}] {iou}"

    @classmethod
    def from_dataset(cls, index: DatasetIndex, predictions: Mapping[str, Predictions], split: str = "val",
                     **kwargs: Any) -> Explorer:  # fmt: skip
        """Rows for the split's descriptions that every run predicted, cases loaded on demand."""
        lookups = {name: (p.index(), p.iou) for name, p in predictions.items()}
        rows = [{"uid": d["uid"], "sentence": d["description"], "unique": bool(d.get("unique", False)),
                 "ious": {n: float(iou[ix[d["uid"]]]) for n, (ix, iou) in lookups.items()}}
                for d in index.split(split) if all(d["uid"] in ix for ix, _ in lookups.values())]  # fmt: skip
        return cls(rows, lambda uid: load_case(index, predictions, uid), **kwargs)

    def show(self) -> None:
        self.body.children = [view_case(self.load(self.picker.value), **self.view_kwargs)]

    def next_failure(self, method: str | None = None) -> str | None:
        """Move the picker to the next description (wrapping) where ``method``'s IoU < fail_iou."""
        method = method or self.method.value
        start = [r["uid"] for r in self.rows].index(self.picker.value)
        order = self.rows[start + 1 :] + self.rows[: start + 1]
        hit = next((r for r in order if r["ious"].get(method, 1.0) < self.fail_iou), None)
        self.status.value = "" if hit else f"no failure of {method} (IoU < {self.fail_iou})"
        if hit:
            self.picker.value = hit["uid"]
        return None if hit is None else hit["uid"]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
