# Two commands on a fresh machine:  make reproduce   and   make test
# Both create .venv if missing, install the kit (once; again only when pyproject changes), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= classroom
SEEDS ?= 0,1,2
DEVICE ?=
# STUDIES=all: also run the kit's studies (notebook 07: sweeps, gate, score head, schedule, promotion signals)
STUDIES ?=
# ARGS: more reproduce options, e.g. ARGS="-p dataset scanrefer -p data_root /data/scanrefer" (docs/scanrefer.md)
ARGS ?=
# GPU=1: a GPU machine's install (docs/scanrefer.md): no CPU pin, so the venv keeps the machine's CUDA torch
# (it sees the system's packages) or pip takes its default CUDA build; refused without nvidia-smi, checked after.
# On by itself when the run is on cuda: DEVICE=cuda, or PROFILE=paper without DEVICE (the profile's device)
GPU ?= $(if $(filter cuda,$(or $(DEVICE),$(if $(filter paper,$(PROFILE)),cuda))),1)
# CPU machines pin the local CPU build of torch (make CONSTRAINTS= install also drops the pin)
CONSTRAINTS ?= $(if $(GPU),,constraints-cpu.txt)
STAMP := $(VENV)/.installed$(if $(GPU),-gpu)
GPU_GUARD = @command -v nvidia-smi >/dev/null || { echo "make: GPU=1 (DEVICE=cuda, or PROFILE=paper) needs an \
	NVIDIA GPU, and nvidia-smi finds none here; on a CPU machine pass DEVICE=cpu"; exit 2; }
GPU_CHECK = $(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else f'make: GPU=1, but torch \
	{torch.__version__} in $(VENV) sees no CUDA device (a CPU build?): remove $(VENV), then make install GPU=1')"

ONLY ?=

.PHONY: install reproduce test lint smoke data browser lab clean-results verify class-pack class-unpack

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(if $(GPU),$(GPU_GUARD))
	test -x $(PY) || $(PYTHON) -m venv $(if $(GPU),--system-site-packages) $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]'
	$(if $(GPU),$(GPU_CHECK))
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(PY) -m threedrest numerics install-kernel >/dev/null
	$(PY) scripts/lab_settings.py
	touch $@

reproduce: install
	$(PY) -m threedrest reproduce --profile $(PROFILE) --seeds $(SEEDS) $(if $(DEVICE),-p device $(DEVICE)) \
		$(if $(filter all,$(STUDIES)),--studies) $(ARGS)

# compare with the committed results/tables/runs.csv: make verify (reads it), make verify ONLY=02 (re-runs 02)
verify: install
	$(PY) -m threedrest verify --profile $(PROFILE) --seeds $(SEEDS) $(if $(DEVICE),--device $(DEVICE)) \
		$(if $(ONLY),--only $(ONLY),--csv results/tables/runs.csv)

# a class opens notebooks 00-05 without training: the teacher packs a finished reproduction, students unpack it
ARCHIVE ?= class-pack.tar.gz
class-pack: install
	$(PY) -m threedrest class pack --out $(ARCHIVE) --profile $(PROFILE) --seeds $(SEEDS)

class-unpack: install
	$(PY) -m threedrest class unpack $(ARCHIVE)

smoke: install
	$(PY) -m threedrest reproduce --profile smoke --seeds 0 --out results/smoke

# JupyterLab from .venv on notebooks/, with the kit's kernel (the venv's python3 before any user-level one);
# no news question or update check (scripts/lab_settings.py writes the app's overrides.json; the server fetches none)
LAB_ARGS ?=
lab: install
	$(PY) scripts/lab_settings.py
	JUPYTER_PREFER_ENV_PATH=1 $(VENV)/bin/jupyter lab --notebook-dir=notebooks --LabApp.news_url=None \
		--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(LAB_ARGS)

data: install
	$(PY) -m threedrest data --profile $(PROFILE)

browser:
	bash scripts/install_browser.sh

test: install browser
	$(VENV)/bin/ruff check lib tests notebooks
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check lib tests notebooks
	$(VENV)/bin/ruff format --check lib tests
