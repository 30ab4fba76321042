# Two commands on a fresh machine:  make reproduce   and   make test
# Both create .venv if missing, install the kit (once; again only when pyproject changes), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU machines pin the local CPU build of torch; on a GPU machine: make CONSTRAINTS= install
CONSTRAINTS ?= constraints-cpu.txt
PROFILE ?= classroom
SEEDS ?= 0,1,2
DEVICE ?=
# STUDIES=all: also run the kit's studies (notebook 07: sweeps, gate, score head, schedule, promotion signals)
STUDIES ?=
STAMP := $(VENV)/.installed

ONLY ?=

.PHONY: install reproduce test lint smoke data browser lab clean-results verify class-pack class-unpack

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(PY) -m threedrest numerics install-kernel >/dev/null
	touch $@

reproduce: install
	$(PY) -m threedrest reproduce --profile $(PROFILE) --seeds $(SEEDS) $(if $(DEVICE),-p device $(DEVICE)) \
		$(if $(filter all,$(STUDIES)),--studies)

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

# JupyterLab from .venv on notebooks/, with the kit's kernel (the venv's python3 before any user-level one)
LAB_ARGS ?=
lab: install
	JUPYTER_PREFER_ENV_PATH=1 $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

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
