"""The two install routes (pip via pyproject, conda via environment.yml) must ask for the same things."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"pytorch": "torch", "pytorch-geometric": "torch-geometric"}


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    name = match.group(1).lower().replace("_", "-")
    return name, match.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return dict(_name_and_spec(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    found: dict[str, str] = {}
    text = (ROOT / "environment.yml").read_text()
    dependencies = text.split("dependencies:", 1)[1]  # skip the channels list
    for raw in dependencies.splitlines():
        line = raw.split("#")[0].strip()
        if not line.startswith("- ") or line.endswith(":"):
            continue
        item = line[2:].strip()
        if item.startswith("-e") or item in ("pip",) or item.startswith("python="):
            continue
        name, spec = _name_and_spec(item)
        found[CONDA_TO_PYPI.get(name, name).replace("_", "-")] = spec
    return found


def test_environment_yml_matches_pyproject() -> None:
    assert _environment_requirements() == _pyproject_requirements()


def test_cpu_constraints_pin_the_local_torch_build() -> None:
    lines = [ln.strip() for ln in (ROOT / "constraints-cpu.txt").read_text().splitlines()]
    assert "torch==2.13.0" in lines
    torch_spec = _pyproject_requirements()["torch"]
    assert "==" not in torch_spec, "pyproject must ask for a range: GPU machines bring their own torch"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make reproduce" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_license_is_spdx_metadata_with_its_file() -> None:
    """setuptools deprecates ``license = {text = ...}`` and stops building it after 2027-02-18 (PEP 639)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert isinstance(project["license"], str), "license must be an SPDX expression, not a table"
    assert project["license"] == "MIT"
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), f"pyproject.toml license-files names {name}, which is missing"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    setuptools_floor = [r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools_floor == ["setuptools>=77"], "SPDX license strings need setuptools 77 or newer"


def _install_commands(*assignments: str, target: str = "install") -> list[str]:
    """What ``make <target>`` would run for a fresh venv (make -n -B: printed, nothing run), whitespace-normalised."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        import pytest

        pytest.skip("make is not installed")
    command = ["make", "--no-print-directory", "-n", "-B", target, "VENV=/nonexistent/venv", *assignments]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)  # inside make too
    return [" ".join(line.split()) for line in done.stdout.replace("\\\n", " ").splitlines() if line.strip()]


def test_make_install_pins_cpu_torch_unless_the_run_is_on_a_gpu() -> None:
    py = "/nonexistent/venv/bin/python"
    cpu = [
        f"test -x {py} || python3 -m venv /nonexistent/venv",
        f"{py} -m pip install -q --upgrade pip",
        f"{py} -m pip install -q -c constraints-cpu.txt -e '.[dev]'",
        f"{py} -m ipykernel install --sys-prefix --name python3 >/dev/null",
        f"{py} -m threedrest numerics install-kernel >/dev/null",
        f"{py} scripts/lab_settings.py",
        "touch /nonexistent/venv/.installed",
    ]
    assert _install_commands() == cpu  # the CPU install, as it always was
    assert _install_commands("PROFILE=paper", "DEVICE=cpu") == cpu
    for gpu in (["GPU=1"], ["DEVICE=cuda"], ["PROFILE=paper"]):
        commands = _install_commands(*gpu)
        assert commands[0].startswith("command -v nvidia-smi") and "exit 2" in commands[0], gpu  # before any download
        assert f"test -x {py} || python3 -m venv --system-site-packages /nonexistent/venv" in commands
        assert f"{py} -m pip install -q -e '.[dev]'" in commands and not any("constraints" in c for c in commands)
        assert any("torch.cuda.is_available()" in c for c in commands) and commands[-1].endswith(".installed-gpu")


def test_make_lab_starts_without_the_news_question(tmp_path, monkeypatch) -> None:
    import json
    import subprocess
    import sys

    import pytest

    lab = _install_commands(target="lab")
    assert lab[-2] == "/nonexistent/venv/bin/python scripts/lab_settings.py"
    assert "jupyter lab --notebook-dir=notebooks --LabApp.news_url=None" in lab[-1]
    pytest.importorskip("jupyterlab")
    # the app's overrides.json gets fetchNews "false" (no question) and keeps the overrides already there
    monkeypatch.setenv("JUPYTERLAB_DIR", str(tmp_path))
    (tmp_path / "settings").mkdir()
    other = {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}
    (tmp_path / "settings" / "overrides.json").write_text(json.dumps(other))
    for _ in range(2):  # idempotent
        subprocess.run([sys.executable, str(ROOT / "scripts" / "lab_settings.py")], check=True, capture_output=True)
    overrides = json.loads((tmp_path / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert overrides["@jupyterlab/apputils-extension:themes"] == other["@jupyterlab/apputils-extension:themes"]
