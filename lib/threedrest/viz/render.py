"""Static PNG renders (top-down and perspective, masks overlaid) and the results gallery page.

No browser needed: papermill runs write these into results/ for slides and papers. The gallery
picks the best, median and worst descriptions for 3DResT, and the ones where 3DResT fixes a
supervised error or breaks a supervised success, each linked to its offline 3D page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from io import BytesIO
from pathlib import Path

import matplotlib.colors
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from threedrest.io import atomic_write_bytes, atomic_write_text
from threedrest.viz.export import export_case
from threedrest.viz.widgets import (
    BACKGROUND,
    ERROR_COLOURS,
    FAIL_IOU,
    GT,
    Case,
    check_arrays,
    dim_colours,
    downsample,
    header_html,
    layer_colour,
)

PNG_MAX_POINTS = 20_000  # points per panel in a PNG (all mask points kept); matplotlib 3D is slow past this
GALLERY_SECTIONS = {
    "best": "Best 3DResT cases",
    "median": "Median 3DResT cases",
    "worst": "Worst 3DResT cases",
    "fixes": "3DResT fixes a supervised error",
    "breaks": "3DResT breaks a supervised success",
}


def select_gallery(
    uids: Sequence[str],
    ious: Mapping[str, np.ndarray],
    method: str = "3DResT student",
    baseline: str = "supervised",
    k: int = 3,
    threshold: float = FAIL_IOU,
) -> dict[str, list[str]]:
    """Pick uids per gallery section; ties break by uid order (stable sort) so picks are reproducible.

    best/median/worst rank ``method``'s IoU; fixes: baseline < threshold <= method, largest gain
    first; breaks: method < threshold <= baseline, largest drop first.
    """
    uids = np.asarray(list(uids))
    ours, base = np.asarray(ious[method], float), np.asarray(ious[baseline], float)
    if not (len(uids) == len(ours) == len(base)):
        raise ValueError(f"select_gallery: {len(uids)} uids but {len(ours)} {method} and {len(base)} {baseline} IoUs")
    order = np.argsort(-ours, kind="stable")
    mid = max(len(order) // 2 - k // 2, 0)
    gain = ours - base
    fixes = np.flatnonzero((base < threshold) & (ours >= threshold))
    breaks = np.flatnonzero((ours < threshold) & (base >= threshold))
    return {
        "best": uids[order[:k]].tolist(),
        "median": uids[order[mid : mid + k]].tolist(),
        "worst": uids[order[::-1][:k]].tolist(),
        "fixes": uids[fixes[np.argsort(-gain[fixes], kind="stable")][:k]].tolist(),
        "breaks": uids[breaks[np.argsort(gain[breaks], kind="stable")][:k]].tolist(),
    }


def _layer_colours(masks: Mapping[str, np.ndarray], gt: np.ndarray | None, name: str, errors: bool) -> np.ndarray:
    """(n, 4) RGBA per point for one panel, NaN alpha where the point is not in the layer."""
    rgba = np.full((len(next(iter(masks.values()))), 4), np.nan)
    mask = masks[name]
    if errors and gt is not None and name != GT:
        for part, sel in {
            "true positive": mask & gt,
            "false positive": mask & ~gt,
            "false negative": ~mask & gt,
        }.items():
            rgba[sel] = matplotlib.colors.to_rgba(ERROR_COLOURS[part])
    else:
        rgba[mask] = matplotlib.colors.to_rgba(layer_colour(name, list(masks)))
    return rgba


def render_png(
    xyz: np.ndarray,
    rgb: np.ndarray,
    masks: Mapping[str, np.ndarray],
    path: str | Path,
    gt: np.ndarray | None = None,
    *,
    layers: Sequence[str] | None = None,
    errors: bool = True,
    title: str = "",
    cap: int = PNG_MAX_POINTS,
    dpi: int = 100,
) -> Path:
    """One column per layer; top row seen from above, bottom row in perspective."""
    masks = check_arrays(xyz, rgb, masks)
    gt = masks.get(GT) if gt is None else np.asarray(gt, bool)
    layers = list(layers) if layers is not None else list(masks)
    keep = downsample(len(xyz), {**masks, **({} if gt is None else {"gt": gt})}, cap)
    pts, base = np.asarray(xyz, np.float32)[keep], dim_colours(np.asarray(rgb)[keep]) / 255.0
    masks = {n: m[keep] for n, m in masks.items()}
    gt = None if gt is None else gt[keep]
    unknown = set(layers) - set(masks)
    if unknown:
        raise ValueError(f"render_png: layers {sorted(unknown)} are not in masks {list(masks)}")
    # a bare Figure, not pyplot: no global backend switch inside a notebook, nothing left open
    fig = Figure(figsize=(3.2 * len(layers), 6.4), facecolor=BACKGROUND)
    for col, name in enumerate(layers):
        over = _layer_colours(masks, gt, name, errors)
        hit = ~np.isnan(over[:, 3])
        top = fig.add_subplot(2, len(layers), col + 1, facecolor=BACKGROUND)
        order = np.argsort(pts[:, 2], kind="stable")  # higher points drawn last, as seen from above
        top.scatter(pts[order, 0], pts[order, 1], c=base[order], s=0.6, linewidths=0)
        top.scatter(pts[hit, 0], pts[hit, 1], c=over[hit], s=1.5, linewidths=0)
        top.set_aspect("equal")
        top.set_axis_off()
        label = f"{name} (errors)" if errors and gt is not None and name != GT else name
        top.set_title(label, color="white", fontsize=9)
        persp = fig.add_subplot(2, len(layers), len(layers) + col + 1, projection="3d", facecolor=BACKGROUND)
        persp.scatter(*pts[~hit].T, c=base[~hit], s=0.5, linewidths=0, depthshade=False)
        persp.scatter(*pts[hit].T, c=over[hit], s=1.5, linewidths=0, depthshade=False)
        persp.view_init(elev=30, azim=-60)
        persp.set_box_aspect(np.ptp(pts, axis=0) + 1e-3, zoom=1.5)
        persp.set_axis_off()
    if title:
        fig.suptitle(title, color="white", fontsize=9, wrap=True)
    coloured_by_error = errors and gt is not None and any(name != GT for name in layers)
    if coloured_by_error:  # without a key, a missed target (false negatives) reads as a found one
        key = [Line2D([], [], ls="", marker="o", color=ERROR_COLOURS[part], label=part) for part in ERROR_COLOURS]
        fig.legend(handles=key, loc="lower center", ncol=len(key), frameon=False, labelcolor="white", fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1) if coloured_by_error else (0, 0, 1, 1))
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor=BACKGROUND)
    return atomic_write_bytes(path, buf.getvalue())


def case_slug(uid: str) -> str:
    """A file name from a uid ("scene|object|ann" -> "scene__object__ann")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", uid.replace("|", "__"))


def render_case(case: Case, path: str | Path, errors: bool = True) -> Path:
    ious = ", ".join(f"{k} {v:.2f}" for k, v in case.ious.items())
    flag = "unique" if case.unique else "multiple"
    return render_png(case.xyz, case.rgb, case.masks, path, case.gt, errors=errors,
                      title=f'"{case.sentence}" [{flag}]  IoU: {ious}')  # fmt: skip


def write_gallery(
    out_dir: str | Path,
    selection: Mapping[str, Sequence[str]],
    load: Callable[[str], Case],
    title: str = "3DResT gallery",
    note: str = "",
) -> Path:
    """Write png/<uid>.png, views/<uid>.html (+ one shared views/threedrest-viz.js) and gallery.html.

    With a ``note`` (``widgets.empty_note``: no model predicts anything) the page says so in words and draws
    no cards: best, median and worst of all-empty masks would be empty comparisons.
    """
    out_dir = Path(out_dir)
    sections, captions = [], {}
    for key, uids in ({} if note else selection).items():
        cards = []
        for uid in uids:
            slug = case_slug(uid)
            if uid not in captions:  # a case can appear in two sections: draw it once
                case = load(uid)
                render_case(case, out_dir / "png" / f"{slug}.png")
                export_case(case, out_dir / "views" / f"{slug}.html")
                captions[uid] = header_html(case.sentence, case.unique, case.ious, uid)
            cards.append(f'<div class="card"><a href="views/{slug}.html"><img src="png/{slug}.png" '
                         f'alt="{html.escape(uid)}"></a>{captions[uid]}</div>')  # fmt: skip
        body = "".join(cards) or "<p>none</p>"
        sections.append(f"<h2>{html.escape(GALLERY_SECTIONS.get(key, key))}</h2>{body}")
    intro = (f"<p><b>No comparison to draw.</b> {html.escape(note)}</p>" if note
             else "<p>Click a picture for its 3D view (works offline).</p>")  # fmt: skip
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em} .card{margin:0 0 1.5em} img{max-width:100%}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{intro}" + "".join(sections) + "</body></html>"
    )
    return atomic_write_text(out_dir / "gallery.html", page)
