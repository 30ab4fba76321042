"""Fast checks of threedrest.viz.widgets / viz_export / viz_render on synthetic boxes (no browser)."""

from __future__ import annotations

import json
import re

import ipywidgets
import numpy as np
import pytest
from threedrest.data.store import Scene
from threedrest.train.predictions import Predictions
from threedrest.viz import camera, export, render, widgets


def boxes_scene(n_per_box: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A floor and four coloured boxes; returns xyz, rgb and the instance id per point (0 = floor)."""
    rng = np.random.default_rng(seed)
    spec = [((0, 0, 0), (6, 5, 0.05), (120, 110, 100)), ((1, 1, 0), (2, 2, 0.8), (200, 50, 50)),
            ((3.5, 1, 0), (4.5, 2, 1.0), (50, 200, 50)), ((1, 3, 0), (2, 4, 0.8), (50, 50, 200)),
            ((4, 3.5, 0), (5, 4.5, 1.5), (200, 200, 50))]  # fmt: skip
    xyz = np.concatenate([rng.uniform(lo, hi, (n_per_box, 3)) for lo, hi, _ in spec]).astype(np.float32)
    rgb = np.repeat(np.array([c for *_, c in spec], np.uint8), n_per_box, axis=0)
    return xyz, rgb, np.repeat(np.arange(len(spec)), n_per_box)


def boxes_masks(instance: np.ndarray, xyz: np.ndarray) -> dict[str, np.ndarray]:
    gt = instance == 1
    return {widgets.GT: gt, "supervised": instance == 3, "3DResT student": gt & (xyz[:, 0] < 1.8), "3DResT teacher": gt}


def test_downsample_keeps_every_mask_point_and_caps_the_rest():
    xyz, _, inst = boxes_scene(n_per_box=3000)
    masks = boxes_masks(inst, xyz)
    keep = widgets.downsample(len(xyz), masks, cap=8000, seed=0)
    in_mask = masks[widgets.GT] | masks["supervised"]
    assert np.isin(np.flatnonzero(in_mask), keep).all()
    assert keep.size == 8000 and np.unique(keep).size == keep.size
    np.testing.assert_array_equal(keep, widgets.downsample(len(xyz), masks, cap=8000, seed=0))
    # masks larger than the cap: all mask points, nothing else
    keep = widgets.downsample(len(xyz), {"big": inst > 0}, cap=100)
    np.testing.assert_array_equal(keep, np.flatnonzero(inst > 0))
    np.testing.assert_array_equal(widgets.downsample(10, {}, cap=100), np.arange(10))


def test_scene_masks_broadcasts_superpoint_predictions():
    superpoint = np.array([0, 0, 1, 2, 2, 1])
    instance = np.array([5, 5, 7, 5, 5, -1])
    scene = Scene("s", np.zeros((6, 3), np.float32), np.zeros((6, 3), np.uint8), superpoint, instance,
                  np.zeros(6, np.int16))  # fmt: skip
    preds = Predictions(uid=np.array(["s|5|0"]), offsets=np.array([0, 3]), sp_mask=np.array([True, False, True]),
                        iou=np.array([0.5], np.float32), score=np.array([0.4], np.float32))  # fmt: skip
    masks = widgets.scene_masks(scene, 5, {"3DResT student": preds}, "s|5|0")
    np.testing.assert_array_equal(masks[widgets.GT], [1, 1, 0, 1, 1, 0])
    np.testing.assert_array_equal(masks["3DResT student"], [1, 1, 0, 1, 1, 0])


def test_look_at_quaternion_points_the_camera_at_the_target():
    eye, target = np.array([1.0, -3.0, 2.0]), np.array([0.0, 0.0, 0.0])
    x, y, z, w = camera.look_at_quaternion(eye, target)
    # rotate the camera's forward axis (0, 0, -1) by the quaternion
    v = np.array([0.0, 0.0, -1.0])
    q = np.array([x, y, z])
    forward = v + 2 * np.cross(q, np.cross(q, v) + w * v)
    np.testing.assert_allclose(forward, (target - eye) / np.linalg.norm(target - eye), atol=1e-6)


def test_scene_view_builds_layers_links_and_rejects_bad_input():
    xyz, rgb, inst = boxes_scene()
    masks = boxes_masks(inst, xyz)
    view = widgets.scene_view(xyz, rgb, masks, sentence="the red box", unique=True, ious={"supervised": 0.0})
    assert isinstance(view, widgets.SceneView) and view.n_shown == len(xyz)
    panels = view.children[2].children
    assert len(panels) == 4  # ground truth + 3 methods, one view each
    # each view: 1 base cloud + gt mask + 3 methods x (mask + their non-empty error parts)
    renderer = panels[0].children[2]
    assert len(renderer.scene.children) == 1 + 1 + (1 + 2) + (1 + 2) + (1 + 1)
    assert len({id(p.children[2].camera) for p in panels}) == 1  # one camera: linked views
    assert len(view.links) > 4 * 4
    with pytest.raises(ValueError, match="'rgb'"):
        widgets.scene_view(xyz, rgb[:10], masks)
    with pytest.raises(ValueError, match="mask 'supervised'"):
        widgets.scene_view(xyz, rgb, {**masks, "supervised": masks["supervised"][:5]})
    with pytest.raises(ValueError, match="1 to 4 views"):
        widgets.scene_view(xyz, rgb, masks, views=[[widgets.GT]] * 5)


def test_four_views_are_two_by_two_near_square_with_even_checkbox_rows():
    xyz, rgb, inst = boxes_scene(n_per_box=300)
    view = widgets.scene_view(xyz, rgb, boxes_masks(inst, xyz), width=960, height=400)
    grid = view.children[2]
    assert grid.layout.grid_template_columns == "repeat(2, 480px)"
    for panel in grid.children:
        _, boxes, renderer = panel.children
        assert (renderer.width, renderer.height) == (472, 400)  # was 240 x 460 side by side
        assert boxes.layout.grid_template_columns == "repeat(2, 1fr)" and len(boxes.children) == 4  # 2 + 2, not 3 + 1
    assert widgets._box_columns(4, 480) == 2 and widgets._box_columns(6, 480) == 3 and widgets._box_columns(5, 960) == 5
    one = widgets.scene_view(xyz, rgb, boxes_masks(inst, xyz), views=[[widgets.GT]], width=600, height=400)
    assert one.children[2].layout.grid_template_columns == "repeat(1, 600px)"


def test_the_wheel_scrolls_the_page_and_a_slider_zooms():
    xyz, rgb, inst = boxes_scene(n_per_box=300)
    view = widgets.scene_view(xyz, rgb, boxes_masks(inst, xyz))
    renderer = view.children[2].children[0].children[2]
    assert [c.enableZoom for c in renderer.controls] == [False]  # OrbitControls leave the wheel to the page
    zoom = next(w for w in view.children[1].children if w.description == "zoom")
    assert any(link.source == (zoom, "value") and link.target == (renderer.camera, "zoom") for link in view.links)
    assert "zoom slider" in view.children[0].value and "scrolls the page" in view.children[0].value


def test_frame_camera_fits_every_point_and_fills_the_view():
    xyz, _, _ = boxes_scene(n_per_box=500)
    pts = xyz - (xyz.min(0) + xyz.max(0)) / 2
    aspect, fov = 1.2, camera.FOV
    eye, target = camera.frame_camera(pts, aspect, fov=fov)
    back = (eye - target) / np.linalg.norm(eye - target)
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    rel = pts - eye
    depth = -(rel @ back)
    tan_v = np.tan(np.radians(fov) / 2)
    x, y = (rel @ right) / depth / (tan_v * aspect), (rel @ up) / depth / tan_v  # -1..1 across the view
    assert (depth > 0).all() and np.abs(x).max() <= 1 and np.abs(y).max() <= 1
    assert max(np.abs(x).max(), np.abs(y).max()) > 0.95  # tight: the scan reaches an edge
    assert abs(x.max() + x.min()) < 0.02 and abs(y.max() + y.min()) < 0.02  # centred


def test_an_empty_layer_says_so_and_empty_predictions_give_a_note():
    xyz, rgb, inst = boxes_scene(n_per_box=300)
    masks = {**boxes_masks(inst, xyz), "supervised": np.zeros(len(xyz), bool)}
    view = widgets.scene_view(xyz, rgb, masks, ious={"supervised": 0.0})
    titles = [p.children[0].value for p in view.children[2].children]
    assert "empty mask" in titles[1] and "empty mask" not in titles[0]
    empty = Predictions(uid=np.array(["a", "b"]), offsets=np.array([0, 2, 4]), sp_mask=np.zeros(4, bool),
                        iou=np.zeros(2, np.float32), score=np.zeros(2, np.float32))  # fmt: skip
    some = Predictions(**{**empty.__dict__, "sp_mask": np.array([0, 1, 0, 0], bool)})
    assert "nothing to compare" in widgets.empty_note({"a": empty, "b": empty}) and "all 2 descriptions" in (
        widgets.empty_note({"a": empty})
    )
    assert widgets.empty_note({"a": empty, "b": some}) == ""


def test_export_html_references_the_shared_bundle_and_no_cdn(tmp_path):
    xyz, rgb, inst = boxes_scene()
    case = widgets.Case("s0|1|0", "the red box </script>", True, {"supervised": 0.0}, xyz, rgb, boxes_masks(inst, xyz))
    page = export.export_case(case, tmp_path / "views" / "a.html")
    text = page.read_text()
    sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", text)
    assert sources == [export.BUNDLE_NAME]
    assert not re.search(r"<script[^>]*src=\"https?://", text) and "<link" not in text
    assert (tmp_path / "views" / export.BUNDLE_NAME).stat().st_size == export.bundle_path().stat().st_size
    state = json.loads(re.search(r"widget-state\+json\">\n(.*?)\n</script>", text, re.S).group(1))
    names = {m["model_name"] for m in state["state"].values()}
    assert {"PointsModel", "RendererModel", "LinkModel", "CheckboxModel"} <= names
    assert page.stat().st_size < 2_000_000  # the ~4 MB bundle is not inlined


def test_bundle_defines_every_module_the_page_needs():
    text = export.bundle_path().read_text()
    for name in ("three", "jupyter-threejs", "jupyter-datawidgets", "@jupyter-widgets/base",
                 "@jupyter-widgets/controls", "@jupyter-widgets/html-manager"):  # fmt: skip
        assert f'define("{name}",' in text
    assert export.bundle_path().stat().st_size < 5_000_000


def test_render_png_draws_masks_over_the_scan(tmp_path):
    import matplotlib.image

    xyz, rgb, inst = boxes_scene()
    masks = boxes_masks(inst, xyz)
    path = render.render_png(xyz, rgb, masks, tmp_path / "a.png", errors=True, title="t")
    img = matplotlib.image.imread(path)[..., :3]
    assert img.shape[0] > 300 and img.shape[1] > 4 * 250
    yellow = (img[..., 0] > 0.9) & (img[..., 1] > 0.75) & (img[..., 2] < 0.2)  # ground truth
    red = (img[..., 0] > 0.75) & (img[..., 1] < 0.25) & (img[..., 2] < 0.25)  # supervised false positive
    assert yellow.sum() > 500 and red.sum() > 500


def test_an_error_coloured_render_carries_its_colour_key(tmp_path):
    """A prediction equal to the truth has no false negative, so blue can only come from the key below the
    panels; without errors there is no key."""
    import matplotlib.image

    xyz, rgb, inst = boxes_scene()
    gt = inst == 1
    masks = {widgets.GT: gt, "supervised": gt.copy()}

    def blue_rows(errors: bool) -> np.ndarray:
        path = render.render_png(xyz, rgb, masks, tmp_path / f"{errors}.png", errors=errors)
        img = matplotlib.image.imread(path)[..., :3]
        blue = (img[..., 0] < 0.25) & (img[..., 1] > 0.35) & (img[..., 1] < 0.6) & (img[..., 2] > 0.9)
        return np.flatnonzero(blue.any(1)) / img.shape[0]

    rows = blue_rows(True)
    assert len(rows) and rows.min() > 0.9, "the false-negative swatch sits in the key at the bottom"
    assert not len(blue_rows(False))


def test_select_gallery_picks_best_median_worst_fixes_breaks():
    uids = [f"u{i}" for i in range(7)]
    ours = np.array([0.9, 0.1, 0.6, 0.8, 0.3, 0.55, 0.2])
    base = np.array([0.7, 0.6, 0.2, 0.1, 0.9, 0.5, 0.1])
    sel = render.select_gallery(uids, {"3DResT student": ours, "supervised": base}, k=2)
    # ranked by ours: u0 .9, u3 .8, u2 .6, u5 .55, u4 .3, u6 .2, u1 .1
    assert sel["best"] == ["u0", "u3"]
    assert sel["median"] == ["u2", "u5"]  # start at 7 // 2 - 1 = 2 in the ranking
    assert sel["worst"] == ["u1", "u6"]
    assert sel["fixes"] == ["u3", "u2"]  # base < .5 <= ours; gains .7, .4 (u5: base .5 is not an error)
    assert sel["breaks"] == ["u4", "u1"]  # ours < .5 <= base; drops .6, .5
    with pytest.raises(ValueError, match="uids"):
        render.select_gallery(uids[:3], {"3DResT student": ours, "supervised": base})


def test_write_gallery_links_pngs_and_views(tmp_path):
    xyz, rgb, inst = boxes_scene(n_per_box=500)
    case = widgets.Case("s0|1|0", "the red box", False, {"supervised": 0.0}, xyz, rgb, boxes_masks(inst, xyz))
    page = render.write_gallery(tmp_path, {"best": ["s0|1|0"], "fixes": ["s0|1|0"], "breaks": []},
                                    lambda uid: case)  # fmt: skip
    text = page.read_text()
    assert text.count('src="png/s0__1__0.png"') == 2 and 'href="views/s0__1__0.html"' in text
    assert (tmp_path / "png" / "s0__1__0.png").stat().st_size > 10_000
    assert (tmp_path / "views" / export.BUNDLE_NAME).exists()
    assert "[multiple]" in text and "none" in text
    # no model predicts anything: the page says so in words and draws no card
    note = widgets.nothing_to_compare(3)
    page = render.write_gallery(tmp_path / "empty", {"best": ["s0|1|0"]}, lambda uid: case, note=note)
    text = page.read_text()
    assert "nothing to compare" in text and "<img" not in text and not (tmp_path / "empty" / "png").exists()


def test_explorer_next_failure_moves_the_picker():
    xyz, rgb, inst = boxes_scene(n_per_box=300)
    masks = boxes_masks(inst, xyz)
    rows = [{"uid": f"u{i}", "sentence": f"s{i}", "unique": i % 2 == 0, "ious": {"supervised": iou}}
            for i, iou in enumerate([0.9, 0.2, 0.8, 0.1])]  # fmt: skip
    loaded = []

    def load(uid: str) -> widgets.Case:
        loaded.append(uid)
        return widgets.Case(uid, uid, True, {"supervised": 0.5}, xyz, rgb, masks)

    ex = widgets.Explorer(rows, load)
    assert ex.picker.value == "u0" and loaded == ["u0"]
    assert ex.next_failure("supervised") == "u1" and loaded[-1] == "u1"
    assert ex.next_failure("supervised") == "u3"
    assert ex.next_failure("supervised") == "u1"  # wraps around
    rows_ok = [{**r, "ious": {"supervised": 1.0}} for r in rows]
    assert widgets.Explorer(rows_ok, load).next_failure() is None


def test_explorer_says_in_words_when_no_model_predicts_anything():
    xyz, rgb, inst = boxes_scene(n_per_box=300)
    rows = [{"uid": "u0", "sentence": "s0", "unique": True, "ious": {"supervised": 0.0}}]
    case = widgets.Case("u0", "s0", True, {"supervised": 0.0}, xyz, rgb, boxes_masks(inst, xyz))
    ex = widgets.Explorer(rows, lambda uid: case, note=widgets.nothing_to_compare(1))
    (message,) = ex.body.children
    assert isinstance(message, ipywidgets.HTML) and "nothing to compare" in message.value
    assert ex.picker not in ex.widget.children  # no picker over a comparison that is not drawn
