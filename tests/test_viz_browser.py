"""Real-browser checks of the 3D views: an exported offline page and a live JupyterLab widget.

Headless Debian Chromium (``make test`` installs it via scripts/install_browser.sh) driven by
Playwright; software WebGL through SwiftShader. Each test counts the canvas pixels that differ from
the background, toggles a layer, and checks the count changes. Skips only where no Chromium exists.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from threedrest.viz import export, widgets

pytestmark = pytest.mark.browser

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--enable-unsafe-swiftshader", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
BACKGROUND_RGB = np.array([0x15, 0x19, 0x1E])
FIXTURE = Path(__file__).parent / "fixtures" / "viz_live.ipynb"


def chromium_path() -> str:
    found = next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.skip(f"no Chromium at {' or '.join(CHROMIUM_PATHS)}: run `bash scripts/install_browser.sh` as root")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = chromium_path()
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def lit_pixels(png: bytes) -> int:
    """Pixels that differ from the scene background by more than 12 in some channel."""
    return int((np.abs(pixels(png) - BACKGROUND_RGB).max(axis=-1) > 12).sum())


def changed_pixels(a: bytes, b: bytes) -> int:
    """Pixels whose colour differs by more than 12 in some channel between two screenshots."""
    return int((np.abs(pixels(a) - pixels(b)).max(axis=-1) > 12).sum())


def boxes_case(n_per_box: int = 2000) -> widgets.Case:
    rng = np.random.default_rng(0)
    lo = np.array([[0, 0, 0], [1, 1, 0], [3.5, 1, 0], [1, 3, 0], [4, 3.5, 0]])
    hi = np.array([[6, 5, 0.05], [2, 2, 0.8], [4.5, 2, 1.0], [2, 4, 0.8], [5, 4.5, 1.5]])
    colours = np.array([[120, 110, 100], [200, 50, 50], [50, 200, 50], [50, 50, 200], [200, 200, 50]], np.uint8)
    instance = np.repeat(np.arange(len(lo)), n_per_box)
    xyz = rng.uniform(lo[instance], hi[instance]).astype(np.float32)
    student = (instance == 1) & (xyz[:, 0] < 1.8)
    masks = {widgets.GT: instance == 1, "supervised": instance == 3, "3DResT student": student}
    return widgets.Case("s0|1|0", "the red box", True, {"supervised": 0.0, "3DResT student": 0.8}, xyz,
                    colours[instance], masks)  # fmt: skip


def shots(page: object) -> list[bytes]:
    page.wait_for_timeout(400)  # let pythreejs re-render after a change
    return [c.screenshot() for c in page.locator("canvas").all()]


def toggle_and_orbit(page: object, scope: str) -> dict[str, object]:
    """Screenshots before/after ticking view 1's "supervised" box, then after dragging view 1."""
    from PIL import Image

    page.wait_for_selector(f"{scope} canvas", timeout=90_000)
    before = shots(page)
    page.locator(f"{scope} .widget-checkbox").filter(has_text="supervised").first.locator("input").click()
    after = shots(page)
    box = page.locator(f"{scope} canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 20, steps=8)
    page.mouse.up()
    orbited = shots(page)
    size = Image.open(io.BytesIO(before[0])).size
    counts = {k: [lit_pixels(s) for s in v] for k, v in {"before": before, "after": after, "orbit": orbited}.items()}
    counts["toggle changed"] = [changed_pixels(a, b) for a, b in zip(before, after, strict=True)]
    counts["orbit changed"] = [changed_pixels(a, b) for a, b in zip(after, orbited, strict=True)]
    print(f"{scope}: canvas {size}, non-background pixels {counts}")
    return {"size": size, **counts}


def check_counts(res: dict[str, object]) -> None:
    width, height = res["size"]
    assert len(res["before"]) == 2  # two linked views
    assert all(n > 0.03 * width * height for n in res["before"])  # the scan is drawn
    # ticking "supervised" recolours its box in view 1 (a few % of the canvas) and leaves view 2 alone
    assert res["toggle changed"][0] > 0.005 * width * height and res["toggle changed"][1] == 0
    # dragging view 1 orbits the camera both views share
    assert all(n > 0.01 * width * height for n in res["orbit changed"])


def test_exported_page_renders_offline_and_toggles(browser, tmp_path):
    start = time.perf_counter()
    page_path = export.export_case(boxes_case(), tmp_path / "views" / "case.html",
                                       views=[[widgets.GT], ["3DResT student"]], width=800, height=400)  # fmt: skip
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    remote = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(page_path.as_uri())
    res = toggle_and_orbit(page, "body")
    page.close()
    print(f"static page {page_path.stat().st_size / 1e6:.2f} MB, test took {time.perf_counter() - start:.1f} s")
    assert remote == []  # nothing fetched from the network
    check_counts(res)


def room_case(n_scan: int = 12_000, n_target: int = 55) -> widgets.Case:
    """A 6 x 5 m room (floor and four walls) with a ~55-point target on the floor, four layers: the case pages'
    shape (ground truth, supervised, 3DResT student and teacher), so the layout is measured as users see it."""
    rng = np.random.default_rng(1)
    floor = rng.uniform([0, 0, 0], [6, 5, 0.02], (n_scan // 2, 3))
    walls = rng.uniform([0, 0, 0], [6, 5, 2.6], (n_scan - n_scan // 2, 3))
    side = rng.integers(0, 4, len(walls))
    walls[side == 0, 0], walls[side == 1, 0], walls[side == 2, 1], walls[side == 3, 1] = 0, 6, 0, 5
    target = rng.uniform([4.0, 1.0, 0], [4.3, 1.3, 0.4], (n_target, 3))
    xyz = np.concatenate([floor, walls, target]).astype(np.float32)
    rgb = np.full(xyz.shape, 150, np.uint8)
    gt = np.arange(len(xyz)) >= n_scan
    near = np.linalg.norm(xyz[:, :2] - [1.5, 3.5], axis=1) < 0.4  # a wrong object for the methods
    masks = {widgets.GT: gt, "supervised": near, "3DResT student": gt, "3DResT teacher": gt | near}
    return widgets.Case("room|0|0", "the small bag on the floor", True,
                        {"supervised": 0.0, "3DResT student": 1.0, "3DResT teacher": 0.5}, xyz, rgb, masks)  # fmt: skip


def test_case_page_is_two_by_two_frames_the_room_and_leaves_the_wheel_to_the_page(browser, tmp_path):
    page_path = export.export_case(room_case(), tmp_path / "views" / "room.html")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.as_uri())
    page.wait_for_selector("canvas", timeout=90_000)
    page.wait_for_timeout(400)
    boxes = [c.bounding_box() for c in page.locator("canvas").all()]  # at the top of the page
    first = shots(page)
    print("canvases", [(round(b["x"]), round(b["y"]), round(b["width"]), round(b["height"])) for b in boxes])
    assert len(boxes) == 4 and len({round(b["x"]) for b in boxes}) == 2 and len({round(b["y"]) for b in boxes}) == 2
    assert all(0.8 <= b["width"] / b["height"] <= 1.4 and b["width"] >= 400 for b in boxes)  # not 235 x 450
    for png in first:
        lit = np.abs(pixels(png) - BACKGROUND_RGB).max(axis=-1) > 12
        cols, rows = np.flatnonzero(lit.any(0)), np.flatnonzero(lit.any(1))
        width, height = (cols[-1] - cols[0]) / lit.shape[1], (rows[-1] - rows[0]) / lit.shape[0]
        print(f"room spans {width:.2f} of the width, {height:.2f} of the height")
        assert max(width, height) > 0.9 and min(width, height) > 0.6  # the room fills its view
    yellow = np.abs(pixels(first[0]) - [0xFF, 0xD4, 0x00]).max(axis=-1) < 40
    print(f"ground-truth pixels of the 55-point target: {int(yellow.sum())}")
    assert yellow.sum() > 150  # a small target is a blob, not a few dots
    # the wheel over a view scrolls the page and leaves the view as it was
    page.evaluate("window.scrollTo(0, 0)")
    box = boxes[0]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(400)
    assert page.evaluate("window.scrollY") > 100
    assert changed_pixels(first[0], shots(page)[0]) == 0
    # the zoom slider zooms every view (one camera)
    handle = page.locator(".widget-slider").filter(has_text="zoom").locator(".noUi-handle")
    handle.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    zoomed = shots(page)
    assert all(changed_pixels(a, b) > 0.05 * a_size for a, b, a_size in
               zip(first, zoomed, [b["width"] * b["height"] for b in boxes], strict=True))  # fmt: skip
    page.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_lab(tmp_path) -> Iterator[str]:
    """A JupyterLab server on a free local port serving a copy of the fixture notebook; always stopped."""
    chromium_path()
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip(f"{jupyter} missing: install the kit's dev extras (jupyterlab)")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(FIXTURE, root / FIXTURE.name)
    port, token = free_port(), "threedrest-test-token"
    settings = tmp_path / "settings" / "@jupyterlab"
    # start the notebook's kernel without the "Select Kernel" dialog, and ask no news question
    for name, value in {"notebook-extension/tracker": {"autoStartDefaultKernel": True},
                        "apputils-extension/notification": {"fetchNews": "false"}}.items():  # fmt: skip
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    dirs = {"JUPYTER_RUNTIME_DIR": "runtime", "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "ws"}
    env = {**os.environ, **{key: str(tmp_path / sub) for key, sub in dirs.items()}}
    cmd = [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"] + (["--allow-root"] if os.geteuid() == 0 else [])  # fmt: skip
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError as err:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log_tail = (tmp_path / "lab.log").read_text()[-2000:]
                    raise RuntimeError(f"JupyterLab did not start on port {port}: {log_tail}") from err
                time.sleep(0.3)
        yield f"{url}/lab/tree/{FIXTURE.name}?token={token}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels (their own process group)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_live_widget_in_jupyterlab(browser, jupyter_lab):
    start = time.perf_counter()
    page = browser.new_page(viewport={"width": 1280, "height": 1300})
    page.set_default_timeout(60_000)
    page.goto(jupyter_lab)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget")
    # run all once the notebook and its kernel are ready (run-all before that is silently ignored)
    page.evaluate("""async () => { const nb = window.jupyterapp.shell.currentWidget; await nb.context.ready;
        await nb.sessionContext.ready; window.jupyterapp.commands.execute('notebook:run-all-cells'); }""")
    res = toggle_and_orbit(page, ".jp-OutputArea")
    page.close()
    print(f"JupyterLab round trip took {time.perf_counter() - start:.1f} s")
    check_counts(res)
