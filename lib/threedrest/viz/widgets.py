"""Interactive 3D views of a scan with masks overlaid: pythreejs inside ipywidgets.

Every layer (ground truth, each method's mask, its true/false positive/negative points) is its own
``Points`` object indexing ONE shared position buffer, and every toggle is tied to ``visible`` with
``jslink``: the same widget then works live in JupyterLab / the classic notebook and in the offline
HTML written by :mod:`threedrest.viz.export` (no kernel there, so no Python callbacks). Only the
description picker and the "next failure" button of :class:`Explorer` need a live kernel. The zoom is a
slider ``jslink``ed to the shared camera's ``zoom``, not the mouse wheel, which stays the page's: pythreejs's
OrbitControls cannot make wheel zoom wait for focus or a modifier key, so their wheel zoom is off.
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
from threedrest.viz.camera import FOV, frame_camera, look_at_quaternion

# Points sent to the browser per scan. A 40k-point page is ~1.4 MB of base64 and orbits smoothly even
# with software WebGL; every point of every mask is kept, the rest is a seeded uniform sample.
MAX_POINTS = 40_000
# three.js point sizes (size attenuation): on screen, size x (view height / 2) / distance pixels, so at the
# framed distance of a classroom room (~9 m) in a 400-pixel view 0.08 is ~2 pixels and 0.2 is ~4.5
POINT_SIZE = 0.08  # the scan's points: dense enough to read the room
MASK_POINT_SIZE = 0.2  # a layer's points: larger, so a ~55-point target is a blob, not a few dots
PANEL_HEIGHT = 400  # pixels of one view; views are laid out two per row (480 x 400 each at the default width)
HELP = ("drag: orbit &middot; right-drag: pan &middot; <b>zoom: the zoom slider</b> (the mouse wheel scrolls "
        "the page, never the view) &middot; tick a layer to draw it in that view")  # fmt: skip
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


def nothing_to_compare(n: int) -> str:
    """The one sentence every view shows instead of a comparison when no model predicts anything."""
    return (f"Every model predicts an empty mask on all {n} descriptions: there is nothing to compare "
            "(the smoke profile trains for seconds; the classroom profile learns).")  # fmt: skip


def empty_note(predictions: Mapping[str, Predictions]) -> str:
    """``nothing_to_compare`` when every layer predicts an empty mask on every description (a smoke run);
    "" when something was predicted."""
    if not predictions or any(p.sp_mask.any() for p in predictions.values()):
        return ""
    return nothing_to_compare(max(len(p.uid) for p in predictions.values()))


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
    mask_point_size: float = MASK_POINT_SIZE,
    width: int = 960,
    height: int = PANEL_HEIGHT,
    cap: int = MAX_POINTS,
    seed: int = 0,
) -> SceneView:
    """Views (``views``: the layers each shows, 1 to 4) with one shared camera, two per row so each is close
    to square (``width`` is the whole grid's, ``height`` one view's); each view has its own row of layer
    checkboxes. The camera frames the room (``frame_camera``). The mouse wheel scrolls the page: the views
    zoom with the zoom slider, never on the wheel (a notebook would otherwise stop scrolling under them)."""
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
        materials[name] = three.PointsMaterial(color=layer_colour(name, list(masks)), size=mask_point_size)
    for part, colour in ERROR_COLOURS.items():
        materials[part] = three.PointsMaterial(color=colour, size=mask_point_size, visible=errors)

    columns = 1 if len(views) == 1 else 2
    panel_width = width // columns
    aspect = panel_width / height
    eye, target = frame_camera(pts, aspect)
    extent = float(np.linalg.norm(eye - target))
    camera = three.PerspectiveCamera(position=eye.tolist(), up=[0, 0, 1], fov=FOV, aspect=aspect,
                                     near=extent / 100, far=extent + 2 * float(np.linalg.norm(hi - lo)),
                                     quaternion=look_at_quaternion(eye, target))  # fmt: skip
    controls = three.OrbitControls(controlling=camera, target=target.tolist(), enableZoom=False)
    swatch = {n: layer_colour(n, list(masks)) for n in masks}
    box_columns = _box_columns(len(masks), panel_width)
    links: list[widgets.Widget] = []
    panels = []
    for shown in views:
        layer_points, boxes = [], []
        for name in masks:
            # one checkbox drives every Points of its layer (mask and its error parts) through jslinks
            kids = [three.Points(geometry=g, material=materials[name if part == "mask" else part],
                                 renderOrder=1 if part == "mask" else 2, visible=name in shown)
                    for (n, part), g in geoms.items() if n == name]  # fmt: skip
            box = widgets.Checkbox(value=name in shown, indent=False, description_allow_html=True,
                                   description=f"<span style='color:{swatch[name]}'>&#9632;</span> {html.escape(name)}",
                                   layout=widgets.Layout(width="auto"))  # fmt: skip
            links += [widgets.jslink((box, "value"), (kid, "visible")) for kid in kids]
            layer_points += kids
            boxes.append(box)
        scene = three.Scene(children=[three.Points(geometry=base_geom, material=materials["base"]), *layer_points],
                            background=BACKGROUND)  # fmt: skip
        renderer = three.Renderer(camera=camera, scene=scene, controls=[controls], width=panel_width - 8,
                                  height=height, clearColor=BACKGROUND)  # fmt: skip
        grid = widgets.GridBox(boxes, layout=widgets.Layout(grid_template_columns=f"repeat({box_columns}, 1fr)",
                                                            width=f"{panel_width - 8}px"))  # fmt: skip
        title = widgets.HTML(panel_title(shown, masks, ious))
        panels.append(widgets.VBox([title, grid, renderer], layout=widgets.Layout(width=f"{panel_width}px")))

    error_box = widgets.Checkbox(value=errors, description="error colouring", indent=False,
                                 layout=widgets.Layout(width="auto", margin="0 24px 0 0"))  # fmt: skip
    style = {"description_width": "initial"}
    slider = {"style": style, "layout": widgets.Layout(width=f"{min(width // 4, 260)}px")}
    scan_size = widgets.FloatSlider(value=point_size, min=0.01, max=0.4, step=0.01, description="scan points",
                                    readout_format=".2f", **slider)  # fmt: skip
    mask_size = widgets.FloatSlider(value=mask_point_size, min=0.01, max=0.6, step=0.01, description="layer points",
                                    readout_format=".2f", **slider)  # fmt: skip
    zoom = widgets.FloatLogSlider(value=1.0, base=2, min=-1, max=3, step=0.05, description="zoom",
                                  readout_format=".2f", **slider)  # fmt: skip
    links += [widgets.jslink((error_box, "value"), (materials[p], "visible")) for p in ERROR_COLOURS]
    links += [widgets.jslink((scan_size, "value"), (materials["base"], "size"))]
    links += [widgets.jslink((mask_size, "value"), (m, "size")) for k, m in materials.items() if k != "base"]
    links += [widgets.jslink((zoom, "value"), (camera, "zoom"))]
    legend = " ".join(f"<span style='color:{c}'>&#9632;</span> {html.escape(n)}" for n, c in ERROR_COLOURS.items())
    head = widgets.HTML(header_html(sentence, unique, ious, uid)
                        + f"<div style='font-size:85%'>{HELP}. Error colouring: {legend}</div>")  # fmt: skip
    grid = widgets.GridBox(panels, layout=widgets.Layout(grid_template_columns=f"repeat({columns}, {panel_width}px)",
                                                         grid_gap="6px 0px"))  # fmt: skip
    return SceneView([head, widgets.HBox([error_box, scan_size, mask_size, zoom]), grid], links, len(keep))


def _box_columns(n_boxes: int, panel_width: int, box_width: int = 150) -> int:
    """Checkbox columns of a view: as many as fit, spread so every row but the last is full and the rows are
    even (4 boxes in 480 px: 2 x 2, not 3 + 1)."""
    fit = max(1, min(n_boxes, panel_width // box_width))
    rows = -(-n_boxes // fit)
    return -(-n_boxes // rows)


def panel_title(shown: Sequence[str], masks: Mapping[str, np.ndarray], ious: Mapping[str, float] | None) -> str:
    """What a view shows when it opens, with each layer's IoU, and in words where a layer predicts nothing."""
    parts = []
    for name in shown:
        iou = f" IoU {ious[name]:.2f}" if ious and name in ious else ""
        empty = ": <i>empty mask, predicts nothing</i>" if name != GT and not masks[name].any() else ""
        parts.append(f"<b>{html.escape(name)}</b>{iou}{empty}")
    return "<div style='font-size:90%'>" + (" + ".join(parts) or "the scan") + "</div>"


def view_case(case: Case, **kwargs: Any) -> SceneView:
    return scene_view(case.xyz, case.rgb, case.masks, case.gt, sentence=case.sentence, unique=case.unique,
                      ious=case.ious, uid=case.uid, **kwargs)  # fmt: skip


class Explorer:
    """Description picker + scene view + "next failure of method X" (these controls need a live kernel).

    With a ``note`` (``empty_note``: every model predicts nothing, as on the smoke profile) it shows the note
    in words and no views: four panels of an unmarked scan would look like a comparison that says nothing.
    """

    def __init__(self, rows: Sequence[Mapping[str, Any]], load: Callable[[str], Case], *,
                 fail_iou: float = FAIL_IOU, note: str = "", **view_kwargs: Any) -> None:  # fmt: skip
        if not rows:
            raise ValueError("viz.Explorer: no descriptions to show (rows is empty)")
        self.rows, self.load, self.fail_iou, self.view_kwargs = list(rows), load, fail_iou, view_kwargs
        self.note = note
        methods = list(self.rows[0]["ious"])
        options = [(self._label(r), r["uid"]) for r in self.rows]
        self.picker = widgets.Dropdown(options=options, description="description", layout=widgets.Layout(width="95%"))
        self.method = widgets.Dropdown(options=methods, description="method")
        self.next_button = widgets.Button(description="next failure")
        self.status = widgets.HTML()
        self.body = widgets.VBox()
        controls = [self.picker, widgets.HBox([self.method, self.next_button, self.status])]
        self.widget = widgets.VBox([*([] if note else controls), self.body])
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
        """Rows for the split's descriptions that every run predicted, cases loaded on demand; where every run
        predicts nothing, the explorer says so (``empty_note``) instead of drawing views."""
        lookups = {name: (p.index(), p.iou) for name, p in predictions.items()}
        rows = [{"uid": d["uid"], "sentence": d["description"], "unique": bool(d.get("unique", False)),
                 "ious": {n: float(iou[ix[d["uid"]]]) for n, (ix, iou) in lookups.items()}}
                for d in index.split(split) if all(d["uid"] in ix for ix, _ in lookups.values())]  # fmt: skip
        kwargs.setdefault("note", empty_note(predictions))
        return cls(rows, lambda uid: load_case(index, predictions, uid), **kwargs)

    def show(self) -> None:
        if self.note:
            self.body.children = [widgets.HTML(f"<p><b>No comparison to draw.</b> {html.escape(self.note)}</p>")]
            return
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
