#!/usr/bin/env bash
# Rebuild lib/threedrest/viz/assets/threedrest-viz.js: the ONE JavaScript file that every exported
# 3D view loads by relative path, so pages open from disk with no internet (ipywidgets.embed's own
# output pulls its JavaScript from public CDNs and is blank offline).
#
# Contents, in load order (all named AMD modules, so the page's require.js never looks elsewhere):
#   require.js                 (npm: requirejs)
#   three, jupyter-datawidgets, jupyter-threejs
#                              (the nbextension files the installed pythreejs/ipydatawidgets wheels ship
#                               under share/jupyter/nbextensions/; their anonymous define() gets a name)
#   @jupyter-widgets/html-manager dist/embed-amd.js (npm), minus the ipywidgets-7 compatibility
#                              modules base7/controls7 (-0.8 MB; our state is ipywidgets 8), and its
#                              render-on-load snippet, which finds the widget state in the page.
# npm packages are fetched with `npm pack` into a temp dir; nothing from node_modules is committed.
# Usage: bash scripts/build_viz_bundle.sh   (PYTHON=... to pick the interpreter with pythreejs)
set -euo pipefail
HTML_MANAGER_VERSION=1.0.15   # matches ipywidgets 8.1 (widget state version 2)
REQUIREJS_VERSION=2.3.8
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="$ROOT/lib/threedrest/viz/assets/threedrest-viz.js"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

NBEXT="$("$PYTHON" -c 'import sys, pathlib; print(pathlib.Path(sys.prefix) / "share/jupyter/nbextensions")')"
for f in jupyter-threejs/three.js jupyter-threejs/index.js jupyter-datawidgets/index.js; do
  [ -f "$NBEXT/$f" ] || { echo "build_viz_bundle: $NBEXT/$f missing (install pythreejs into $PYTHON)" >&2; exit 1; }
done
(cd "$TMP" && npm pack --silent "@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION" "requirejs@$REQUIREJS_VERSION" >/dev/null)
mkdir -p "$TMP/hm" "$TMP/rjs"
tar xzf "$TMP"/jupyter-widgets-html-manager-*.tgz -C "$TMP/hm"
tar xzf "$TMP"/requirejs-*.tgz -C "$TMP/rjs"

"$PYTHON" - "$TMP/rjs/package/require.js" "$TMP/hm/package/dist/embed-amd.js" "$NBEXT" "$OUT" \
  "$HTML_MANAGER_VERSION" "$REQUIREJS_VERSION" <<'PY'
import re
import sys
from pathlib import Path

require_js, embed_amd, nbext, out, hm_version, rjs_version = sys.argv[1:]
nbext = Path(nbext)


def name_define(path: Path, name: str, deps: str) -> str:
    """Give the file's one anonymous define(deps, ...) a module name so it can share a file with others."""
    text = path.read_text()
    anonymous = f"define({deps}"
    if text.count(anonymous) != 1:
        raise SystemExit(f"build_viz_bundle: expected one {anonymous!r} in {path}")
    return text.replace(anonymous, f'define("{name}",{deps}', 1)


three = name_define(nbext / "jupyter-threejs/three.js", "three", '["exports"]')
datawidgets = name_define(nbext / "jupyter-datawidgets/index.js", "jupyter-datawidgets", '["@jupyter-widgets/base"]')
threejs = name_define(
    nbext / "jupyter-threejs/index.js", "jupyter-threejs", '["module","three","@jupyter-widgets/base"]'
)

embed = Path(embed_amd).read_text()
start = embed.index("/*! For license information please see base7.js.LICENSE.txt */")
end = embed.index("/*! For license information please see index.js.LICENSE.txt */")
if not (start < end and 'define("@jupyter-widgets/controls7"' in embed[start:end]):
    raise SystemExit("build_viz_bundle: embed-amd.js layout changed; cannot drop base7/controls7")
embed = embed[:start] + embed[end:]

def strip_maps(text: str) -> str:
    """Drop `//# sourceMappingURL=x.js.map` lines: the maps are not shipped."""
    return re.sub(r"^//# sourceMappingURL=[\w.-]+\.map;?\s*$", "", text, flags=re.M)

header = (
    f"/* threedrest-viz.js: built by scripts/build_viz_bundle.sh from requirejs {rjs_version}, "
    f"@jupyter-widgets/html-manager {hm_version} (embed-amd.js), and the pythreejs/ipydatawidgets "
    "nbextension files. Licenses: see the headers of each part. */\n"
)
parts = [Path(require_js).read_text(), three, datawidgets, threejs, embed]
Path(out).write_text(header + "\n;\n".join(strip_maps(p) for p in parts))
print(f"wrote {out} ({Path(out).stat().st_size / 1e6:.2f} MB)")
PY
