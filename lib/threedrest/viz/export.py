"""Standalone offline HTML for a 3D view: opens from disk with no internet and no kernel.

A page holds the widget state (positions as base64) and loads ONE shared script,
``threedrest-viz.js``, by relative path; the script is copied next to the pages once, so each page
stays small (the script is 4.1 MB; a page 0.4 MB for a 12k-point scan, 1.4 MB at the 40k cap).
The script bundles require.js, @jupyter-widgets/html-manager's embed-amd.js and the
pythreejs/ipydatawidgets nbextension files (rebuild it with ``scripts/build_viz_bundle.sh``).
The toggles work offline because they are ``jslink``s, which the page runs in JavaScript.
"""

from __future__ import annotations

import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from ipywidgets.embed import dependency_state, embed_data

from threedrest.io import atomic_write_bytes, atomic_write_text
from threedrest.viz.widgets import Case, SceneView, header_html, view_case

BUNDLE_NAME = "threedrest-viz.js"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<!-- all JavaScript is in the local file below (no CDN): see threedrest/viz_export.py -->
<script src="{bundle}"></script>
<style>body {{ font-family: sans-serif; background: #f4f4f4; margin: 1em; }}</style>
</head>
<body>
<h3>{title}</h3>
<noscript>{caption}<p>This 3D view needs JavaScript.</p></noscript>
<script type="application/vnd.jupyter.widget-state+json">
{state}
</script>
{views}
</body>
</html>
"""
VIEW = '<script type="application/vnd.jupyter.widget-view+json">\n{}\n</script>'


def bundle_path() -> Path:
    """The committed bundle inside the installed package."""
    path = Path(str(resources.files("threedrest.viz") / "assets" / BUNDLE_NAME))
    if not path.exists():
        raise FileNotFoundError(f"{path}: bundled viewer script missing; run scripts/build_viz_bundle.sh")
    return path


def copy_bundle(out_dir: str | Path) -> Path:
    """Put the shared script in ``out_dir`` (rewritten only when it differs)."""
    src, dst = bundle_path(), Path(out_dir) / BUNDLE_NAME
    data = src.read_bytes()
    if not dst.exists() or dst.stat().st_size != len(data) or dst.read_bytes() != data:
        atomic_write_bytes(dst, data)
    return dst


def shared_bundle_dir(page: Path) -> Path:
    """Where a page's script lives: the outermost ``views`` folder above it (results/views), so
    every page under results/ shares one copy; else the page's own folder."""
    folders = [f for f in (page.parent, *page.parent.parents) if f.name == "views"]
    return folders[-1] if folders else page.parent


def _script_safe(text: str) -> str:
    """JSON inside <script> must not close the tag early."""
    return text.replace("</", "<\\/")


def export_html(view: widgets.Widget, path: str | Path, title: str = "3D view", caption_html: str = "") -> Path:
    """Write ``view`` (and the jslinks of a SceneView) as a page loading the shared script
    (``shared_bundle_dir``: one copy for every page under a ``views`` folder)."""
    path = Path(path)
    bundle_dir = shared_bundle_dir(path.resolve())
    path = path.resolve()
    extra = list(view.links) if isinstance(view, SceneView) else []
    # drop_defaults=False: with defaults dropped (e.g. an unticked Checkbox's value), Chromium showed
    # layers whose jslinked checkbox was unticked on first render; full state costs a few kB
    data = embed_data(views=[view], state=dependency_state([view, *extra], drop_defaults=False))
    page = PAGE.format(
        title=html.escape(title),
        bundle=os.path.relpath(bundle_dir / BUNDLE_NAME, path.parent).replace(os.sep, "/"),
        caption=caption_html,
        state=_script_safe(json.dumps(data["manager_state"])),
        views="\n".join(VIEW.format(_script_safe(json.dumps(spec))) for spec in data["view_specs"]),
    )
    copy_bundle(bundle_dir)
    return atomic_write_text(path, page)


def export_case(case: Case, path: str | Path, **view_kwargs: Any) -> Path:
    """One description's standalone page: all layers, toggles, error colouring, point sizes, zoom."""
    view = view_case(case, **view_kwargs)
    caption = header_html(case.sentence, case.unique, case.ious, case.uid)
    return export_html(view, path, title=f"3DResT: {case.uid}", caption_html=caption)
