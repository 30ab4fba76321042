"""Command line: ``python -m threedrest <command> [options]``; ``--help`` on any command.

Bad input (ConfigError, DataError, ValueError, a non-finite loss) prints ``error: <message>`` and
exits with status 2, not a traceback; set ``THREEDREST_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

# command -> (module with a ``main(argv) -> int``, one line of help)
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("threedrest.data.cli", "build the embedded benchmark cache and print its statistics"),
    "scanrefer": ("threedrest.data.scannet", "preprocess ScanRefer + ScanNet v2 into the kit's format"),
    "features": ("threedrest.experiments.prepare", "pre-train the point backbone and cache superpoint/text features"),
    "train": ("threedrest.experiments.runs", "train one method of the registry (supervised, 3drest, ...)"),
    "reproduce": ("threedrest.experiments.reproduce", "run every notebook with papermill into results/"),
    "bench": ("threedrest.experiments.bench", "time an SSL step against a supervised step; write results/bench.csv"),
    "gpu-check": ("threedrest.experiments.gpucheck", "paper profile briefly on a CUDA device: results/bench_gpu.csv"),
    "numerics": ("threedrest.numerics", "show the CPU code paths in force (show), or install the kit's Jupyter kernel"),
    "variants": ("threedrest.experiments.variants", "every method on generated benchmark variants"),
    "class": ("threedrest.experiments.classpack", "pack a finished reproduction for a class, or unpack one"),
    "docs": (
        "threedrest.experiments.docs",
        "write the numbers README and docs/ quote from results/ (--check: compare)",
    ),
    "record": ("threedrest.experiments.record", "val mIoU and promotions of settings: how a default is chosen"),
    "verify": ("threedrest.experiments.verify", "compare a reproduction's runs.csv with the committed one, row by row"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
        print("usage: python -m threedrest <command> [options]\n\ncommands:\n" + "\n".join(lines))
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    try:
        return int(module.main(argv[1:]) or 0)
    except (ValueError, FloatingPointError) as err:  # ConfigError and DataError are ValueErrors
        if os.environ.get("THREEDREST_DEBUG"):  # THREEDREST_DEBUG=1: the full traceback
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
