"""Turn off JupyterLab's news question and update check for the venv's JupyterLab (``make lab`` runs this).

JupyterLab asks "Would you like to get notified about official Jupyter news?" on first start, over the
notebooks; the kit's lab serves a pinned environment with no need to fetch news. The defaults go to the
application's ``settings/overrides.json`` (merged, so other overrides stay); a user's own setting still wins.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def main() -> int:
    try:
        from jupyterlab.commands import get_app_dir
    except ImportError:  # installed without the dev extras: no JupyterLab to configure
        return 0
    path = Path(get_app_dir()) / "settings" / "overrides.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    merged = {**current, **{k: {**current.get(k, {}), **v} for k, v in OVERRIDES.items()}}
    if merged != current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(merged, indent=2) + "\n")
        print(f"lab_settings: JupyterLab's news question and update check off in {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
