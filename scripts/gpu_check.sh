#!/usr/bin/env bash
# The paper profile briefly on this machine's CUDA device: feature caching of a few paper-sized scenes,
# supervised and 3DResT steps with AMP, one short 3DResT run end to end, the device against the CPU;
# writes results/bench_gpu.csv (docs/scanrefer.md, "The paper's setting on ScanRefer").
#   make install GPU=1 && scripts/gpu_check.sh         a GPU machine (a few minutes)
#   scripts/gpu_check.sh --dry-run                     the same code at tiny sizes on the CPU, AMP off
# Other options (--steps, --e2e-steps, --out, --keep): .venv/bin/python -m threedrest gpu-check --help
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
if [[ " $* " != *" --dry-run "* ]] && ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "gpu_check: torch in $PY sees no CUDA device; on a GPU machine run make install GPU=1 first," \
         "or pass --dry-run for the CPU check" >&2
    exit 2
fi
exec "$PY" -m threedrest gpu-check "$@"
