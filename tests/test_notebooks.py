"""The teaching notebooks: committed clean, thin and parameterised, and runnable end to end.

The module fixture runs ``threedrest.experiments.reproduce`` (papermill, every notebook in order) once with
the smoke profile into a temporary folder; later notebooks reuse the runs of earlier ones by
config hash. Every table it writes is then recomputed from ``tables/runs.csv`` with the same
library functions, so a number typed into a notebook would fail here.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from threedrest.config import Config, get_profile
from threedrest.data import stats
from threedrest.experiments import baselines, classpack, grids, params, policy, report, reproduce, tables, variants
from threedrest.experiments.runs import burn_in_path, load_run, run_dir_for
from threedrest.net.features import load_dataset_index
from threedrest.paths import project_root

ROOT = project_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "00_tour",
    "01_data_prep",
    "02_burn_in",
    "03_semi_supervised",
    "04_ablations",
    "05_visualize",
    "06_variants",
    "07_studies",
]
COMMON = ["profile", "out_dir", "runs_root", "device", "dataset", "data_root", "cache_dir", "generator_seed", "workers",
          "force"]  # fmt: skip
# One line of a parameters cell: ``name: type = literal  # comment``
PARAM_LINE = re.compile(r"^[a-z_][a-z0-9_]*: (int|float|str|bool) = \S.*?  # \S.*$")
# Tiny sweeps: the smoke profile trains a run in about a second.
SMOKE = {
    "workers": "1",
    "ratios": "0.1,1.0",
    "tscs_thresholds": "0.9",
    "lambda_us": "1.0",
    "ema_momenta": "0.99",
    "tscs_patiences": "2",
    "gate_seeds": "0",
    "score_seeds": "0",
    "schedule_seeds": "0",
    "schedules": "8,12",
    "burn_ins": "6",
    "gallery_k": "1",
    "n_pages": "1",
    "n_recompute": "2",
    "variant_names": "main,seed1-smaller-rooms",
}
STALE = ["views/cases/scene0078_00__20__0.html", "views/cases/scene0078_00__20__0.png", "figures/old.png"]
MAIN_RATIO = get_profile("smoke").data.label_ratio  # label_ratio 0 in a notebook: the profile's main ratio
COMMON_CFG: dict = {}  # the notebooks' defaults leave device and every data setting to the profile


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    return tagged[0]


def test_every_numbered_notebook_is_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs (clear them before committing)"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_layout_teaching_markdown_then_one_flat_parameters_cell(path: Path) -> None:
    nb = _read(path)
    assert nb.cells[0].cell_type == "markdown" and len(nb.cells[0].source) > 300, "opens with a teaching cell"
    params = _parameters_cell(nb)
    assert nb.cells[1] is params, "the parameters cell comes right after the opening markdown"
    assert params.cell_type == "code"
    lines = params.source.splitlines()
    bad = [line for line in lines if not PARAM_LINE.match(line)]
    assert not bad, f"{path.name}: not 'name: type = literal  # comment': {bad}"
    for stmt, line in zip(ast.parse(params.source).body, lines, strict=True):
        assert isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name), line
        value = stmt.value
        assert isinstance(value, ast.Constant) or (
            isinstance(value, ast.UnaryOp) and isinstance(value.operand, ast.Constant)
        ), f"{path.name}: not a literal: {line}"
        assert type(ast.literal_eval(value)).__name__ == stmt.annotation.id, f"{path.name}: type mismatch: {line}"
    names = [stmt.target.id for stmt in ast.parse(params.source).body]
    assert names[: len(COMMON)] == COMMON, "the common block comes first, in the same order everywhere"
    # papermill --help-notebook documents every parameter (its parser skips lines it cannot read)
    assert list(papermill.inspect_notebook(str(path))) == names
    assert len(_code_cells(nb)) <= 9, "a notebook is thin: about 8 code cells"


def test_common_parameter_block_is_identical() -> None:
    blocks = {p.stem: _parameters_cell(_read(p)).source.splitlines()[: len(COMMON)] for p in NOTEBOOKS}
    first = blocks[EXPECTED[0]]
    assert all(block == first for block in blocks.values()), "copy the common block verbatim"


def _float_literals(tree: ast.AST) -> list[float]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is float]


def test_float_literal_detector_catches_a_typed_result() -> None:
    assert _float_literals(ast.parse('print("3DResT gains", 8.34, f"{x:.1%}")')) == [8.34]
    assert _float_literals(ast.parse('fig = plot(x, figsize=(7, 4), title=f"{y:.2f}")')) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_thin_cells_no_definitions_no_typed_numbers(path: Path) -> None:
    """No def/class/lambda (helpers live in the library) and no float literal outside the parameters.

    Every number shown comes from a run or a library call and every setting from the parameters
    cell, so a float literal in another code cell is either a typed result or a hidden setting.
    Integers stay allowed (indices, ``100 *`` for percent, rounding digits).
    """
    nb = _read(path)
    params = _parameters_cell(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell is params:
            continue
        tree = ast.parse(cell.source)
        defs = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)]
        assert not defs, f"{path.name} cell {i}: {defs}; add a helper to lib/threedrest instead"
        assert not _float_literals(tree), f"{path.name} cell {i}: float literal(s) {_float_literals(tree)}"


def _config_cell_namespace(path: Path, **injected: object) -> dict:
    """Run a notebook's parameters cell, then ``injected`` (as papermill would), then its config cell:
    everything a notebook derives before it trains, without training."""
    nb = _read(path)
    params = _parameters_cell(nb)
    cells = _code_cells(nb)
    namespace: dict = {}
    exec(params.source, namespace)
    namespace.update(injected)
    exec(cells[cells.index(params) + 1].source, namespace)
    return namespace


PAPER = get_profile("paper")


def _main_benchmark(namespace: dict) -> list[Config]:
    """The configs a notebook trains on the benchmark it was given; 06_variants also trains generated variants
    of it on purpose (each differs only in its VARIANTS settings: tests/test_variants.py)."""
    return namespace["variant_cfgs"]["main"] if "variant_cfgs" in namespace else namespace["cfgs"]


def _without_schedule_rows(cfgs: list[Config], declared: dict) -> list[Config]:
    """The configs minus 04's schedule-length rows, which stretch the paper's recipe on purpose (other steps,
    the burn-in in proportion: checked here); every other config must keep the profile's schedule."""
    lengths = set(params.notebook_setup("paper").schedule_lengths("")) - {PAPER.train.steps}
    stretched = [c for c in cfgs if "schedules" in declared and c.train.steps in lengths]
    for cfg in stretched:
        assert cfg.ssl.method in grids.SCHEDULE_METHODS and cfg.data.label_ratio != 1.0
        assert cfg.ssl.burn_in_steps == round(cfg.train.steps * PAPER.ssl.burn_in_steps / PAPER.train.steps)
    assert not ("schedules" in declared) ^ bool(stretched), "04 trains the schedule rows, no other notebook does"
    return [c for c in cfgs if c not in stretched]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_opened_with_the_paper_profile_runs_the_paper_profile(path: Path) -> None:
    """profile="paper" alone gives the paper's main ratio, device, data settings and schedule in every config
    the notebook will train (STYLE habit 17): no notebook default shadows the profile."""
    declared = papermill.inspect_notebook(str(path))
    cfgs = _main_benchmark(_config_cell_namespace(path, profile="paper"))
    assert cfgs and all(c.profile == "paper" for c in cfgs)
    cfgs = _without_schedule_rows(cfgs, declared)
    for cfg in cfgs:
        assert cfg.train.device == PAPER.train.device
        oracle = cfg.ssl.method == "supervised" and cfg.data.label_ratio == 1.0  # trains ORACLE_STEPS_FACTOR x
        steps = PAPER.train.steps * (policy.ORACLE_STEPS_FACTOR if oracle else 1)
        assert (cfg.train.steps, cfg.train.batch_size, cfg.train.lr) == (steps, PAPER.train.batch_size,
                                                                         PAPER.train.lr)  # fmt: skip
        assert cfg.ssl.ema_momentum == PAPER.ssl.ema_momentum or "ema_momenta" in declared
        data = {k: v for k, v in cfg.to_dict()["data"].items() if k != "label_ratio"}
        assert data == {k: v for k, v in PAPER.to_dict()["data"].items() if k != "label_ratio"}
    burn_ins = {c.ssl.burn_in_steps for c in cfgs}
    assert PAPER.ssl.burn_in_steps in burn_ins and burn_ins <= {PAPER.ssl.burn_in_steps // 2, PAPER.ssl.burn_in_steps}
    if "label_ratio" in declared:
        ratios = {c.data.label_ratio for c in cfgs}
        assert PAPER.data.label_ratio in ratios
        if "ratios" not in declared:  # only the main ratio (and the 100 % oracle)
            assert ratios <= {PAPER.data.label_ratio, 1.0}, ratios


USER = {"label_ratio": 0.05, "device": "cpu", "dataset": "scanrefer", "data_root": "/data/scanrefer",
        "cache_dir": "/scratch/threedrest-cache", "generator_seed": 7}  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_what_the_user_sets_wins_over_the_profile(path: Path) -> None:
    declared = papermill.inspect_notebook(str(path))
    user = {k: v for k, v in USER.items() if k in declared}
    assert set(USER) - {"label_ratio"} <= set(user), "every notebook takes device and every data setting"
    cfgs = _without_schedule_rows(_main_benchmark(_config_cell_namespace(path, profile="paper", **user)), declared)
    for cfg in cfgs:
        oracle = cfg.ssl.method == "supervised" and cfg.data.label_ratio == 1.0
        steps = PAPER.train.steps * (policy.ORACLE_STEPS_FACTOR if oracle else 1)
        assert cfg.train.device == "cpu" and cfg.train.steps == steps  # the rest stays the profile's
        assert (cfg.data.dataset, cfg.data.data_root, cfg.data.cache_dir, cfg.data.generator_seed) == (
            "scanrefer", "/data/scanrefer", "/scratch/threedrest-cache", 7)  # fmt: skip
    if "label_ratio" in declared:
        assert USER["label_ratio"] in {c.data.label_ratio for c in cfgs}
        assert PAPER.data.label_ratio not in {c.data.label_ratio for c in cfgs} or "ratios" in declared


def test_reproduce_passes_no_profile_specific_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebooks resolve the profile's defaults themselves: reproduce passes only what it was given."""
    seen = []
    monkeypatch.setattr(reproduce, "run_notebook", lambda path, out, params: seen.append(params) or 0.0)
    reproduce.reproduce(profile="paper", seeds="3,4", out=str(tmp_path), only=["03", "05"])
    # 03 takes the seeds, 05 shows one seed: the first (run_notebook keeps what each notebook declares)
    assert seen == [{"profile": "paper", "seeds": "3,4", "seed": "3", "out_dir": str(tmp_path)}] * 2


def test_reproduce_prints_one_line_per_finished_code_cell(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), nbformat.v4.new_code_cell("x: int = 1  # a parameter"),
                nbformat.v4.new_code_cell("y = x + 1"), nbformat.v4.new_code_cell("print(y)")]  # fmt: skip
    nb.cells[1].metadata["tags"] = ["parameters"]
    path = tmp_path / "nb" / "09_tiny.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    reproduce.run_notebook(path, tmp_path / "out", {"x": "2"})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[reproduce] 09_tiny: cell")]
    # papermill adds the injected-parameters cell: 4 code cells
    assert [line.split(",")[0] for line in lines] == [f"[reproduce] 09_tiny: cell {i}/4 done" for i in range(1, 5)]
    assert all(line.endswith(" s") for line in lines)


def test_reproduce_converts_cli_parameters_to_each_notebooks_types() -> None:
    tour = ROOT / "notebooks" / "00_tour.ipynb"
    got = reproduce.notebook_parameters(tour, {"workers": "1", "force": "True", "label_ratio": "0.05", "ratios": "1"})
    assert got == {"workers": 1, "force": True, "label_ratio": 0.05}  # 00 takes no "ratios"
    with pytest.raises(ValueError, match="workers"):
        reproduce.notebook_parameters(tour, {"workers": "two"})


def test_reproduce_rejects_a_parameter_no_notebook_takes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lamda_us"):
        reproduce.reproduce(profile="smoke", seeds="0", out=str(tmp_path), only=["04"], extra={"lamda_us": "1.0"})
    assert not (tmp_path / "notebooks").exists(), "nothing ran"


# ---------------------------------------------------------------------------------------------- executed


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("results")
    for rel in STALE:  # what a previous machine's reproduction left (committed pages, a stale row)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("from an earlier reproduction")
        report.register(out, out / rel, "stale")
    start = time.perf_counter()
    timings = reproduce.reproduce(profile="smoke", seeds="0", out=str(out), extra=dict(SMOKE), studies=True)
    return {"out": out, "timings": timings, "seconds": time.perf_counter() - start}


@pytest.mark.slow
def test_reproduce_runs_every_notebook_into_out_dir(executed: dict) -> None:
    out, timings = executed["out"], executed["timings"]
    assert timings["notebook"].tolist() == [*EXPECTED, "total", "total with studies"]
    core = timings.set_index("notebook")["seconds"]
    assert core["total"] == pytest.approx(core[[n for n in EXPECTED if n not in reproduce.STUDY_NOTEBOOKS]].sum())
    print("\n" + timings.to_string(index=False))
    for stem in EXPECTED:
        assert (out / "notebooks" / f"{stem}.ipynb").exists()
    # runs follow out_dir (runs_root defaults to <out_dir>/runs), never the repository's results/runs
    main = grids.configs("smoke", [0], grids.main_grid(MAIN_RATIO), **COMMON_CFG)
    assert all((run_dir_for(c, out / "runs") / "summary.json").exists() for c in main)


@pytest.mark.slow
def test_readme_lists_every_registered_artifact(executed: dict) -> None:
    out = executed["out"]
    index = json.loads((out / "index.json").read_text())
    readme = (out / "README.md").read_text()
    for rel in index:
        assert (out / rel).exists(), f"registered but missing: {rel}"
        assert f"[`{rel}`]({rel})" in readme, f"README misses {rel}"
    expected = ["tables/main.md", "tables/supervised.csv", "tables/ablation_tscs_qdw.md", "tables/ratio_curve.md",
                "studies/tables/sentence_gate.md", "studies/tables/score_head.md",
                "studies/figures/refteacher_weights.png", "studies/tables/schedule.md", "studies/figures/schedule.png",
                "studies/tables/promotion_signals.md", "studies/tables/runs.csv", "tables/dataset_stats.md",
                "tables/features.md", "figures/dataset_stats.png",
                "figures/qdw_weight_vs_quality.png", "views/gallery/gallery.html", "timings.csv",
                "notebooks/05_visualize.ipynb"]  # fmt: skip
    for rel in expected:
        assert rel in index, f"{rel} not registered"
    views = [k for k in index if k.startswith("views/") and k.endswith(".html")]
    assert "views/gallery/gallery.html" in views and any(k.startswith("views/tour/scene_") for k in views)
    cases = [k for k in views if k.startswith("views/cases/") or k.startswith("views/tour/compare_")]
    executed_05 = _read(out / "notebooks" / "05_visualize.ipynb")
    said = "".join(o.get("text", "") for c in _code_cells(executed_05) for o in c.outputs)
    assert cases or "nothing to compare" in said, "exported fixes and breaks, or a sentence saying there are none"
    for rel in STALE:  # a full reproduction clears what it owns first: no earlier page stays beside its own
        assert rel not in index and not (out / rel).exists(), f"stale {rel} survived the reproduction"
    owned = [p.relative_to(out).as_posix() for name in ("tables", "figures", "views", "notebooks", "studies")
             for p in (out / name).rglob("*") if p.is_file()]  # fmt: skip
    pages = [rel.rsplit("/", 1)[0] + "/" for rel in index if rel.endswith(".html")]  # a page owns its subfolders
    unlisted = [rel for rel in owned if rel not in index and not rel.endswith(".js")  # .js: the pages' shared viewer
                and not any(rel.startswith(f) and "/" in rel[len(f):] for f in pages)]  # fmt: skip
    assert not unlisted, f"written but not in the index: {unlisted}"


def _assert_same_table(written: Path, recomputed: pd.DataFrame) -> None:
    expected = pd.read_csv(io.StringIO(recomputed.to_csv(index=False)))
    pd.testing.assert_frame_equal(pd.read_csv(written), expected, check_exact=True)


@pytest.mark.slow
def test_tables_are_library_functions_of_runs_csv(executed: dict) -> None:
    """Recompute every run table from runs.csv with the grids and functions the notebooks call."""
    out = executed["out"]
    runs = tables.read_runs_csv(out / "tables" / "runs.csv")
    study_runs = tables.read_runs_csv(out / "studies" / "tables" / "runs.csv")
    common = COMMON_CFG
    ratios = sorted(set(grids.parse_list(SMOKE["ratios"], float)) | {MAIN_RATIO})

    def rows(grid: list[dict], source: pd.DataFrame = runs) -> tuple[list[Config], pd.DataFrame]:
        cfgs = grids.configs("smoke", [0], grid, **common)
        part = tables.rows_of(source, cfgs)
        assert part["config_hash"].nunique() == len(set(cfgs)), "every run of the grid is in its runs table"
        return cfgs, part

    studies = out / "studies"

    _, sup = rows(grids.ratio_grid(ratios, ["supervised"]))
    _assert_same_table(out / "tables" / "supervised.csv", tables.results_table(sup))
    _, main = rows(grids.main_grid(MAIN_RATIO))
    _assert_same_table(out / "tables" / "main.csv", tables.results_table(main))
    _, ablation = rows(grids.ablation_grid(MAIN_RATIO))
    _assert_same_table(out / "tables" / "ablation_tscs_qdw.csv", tables.ablation_table(ablation))
    sweeps = {"tscs_threshold": ("tscs_thresholds", float), "lambda_u": ("lambda_us", float),
              "ema_momentum": ("ema_momenta", float), "burn_in_steps": ("burn_ins", int),
              "tscs_patience": ("tscs_patiences", int)}  # fmt: skip
    for key, (param, kind) in sweeps.items():
        cfgs, part = rows(grids.sweep_grid(key, grids.parse_list(SMOKE[param], kind), MAIN_RATIO), study_runs)
        done = [load_run(run_dir_for(c, out / "runs")) for c in cfgs]
        _assert_same_table(studies / "tables" / f"sweep_{key}.csv", tables.sweep_table(part, done, key))
    _, gated = rows(grids.gate_grid(MAIN_RATIO), study_runs)
    gate_table = tables.gate_table(gated)
    order = [name + gated for name in grids.teacher_methods() for gated in ("", "-gated")]
    assert order[:4] == ["mean_teacher", "mean_teacher-gated", "refteacher", "refteacher-gated"]
    assert gate_table["method"].tolist() == order
    _assert_same_table(studies / "tables" / "sentence_gate.csv", gate_table)
    score_cfgs, scored = rows(grids.score_grid(MAIN_RATIO), study_runs)
    score_table = tables.score_table(scored)
    order = ["supervised", "supervised-score-all", "refteacher", "refteacher-score-all", "3drest", "3drest-score-all"]
    assert score_table["method"].tolist() == order
    assert score_table["score head trained on"].tolist() == ["IoU > 0.5", "every sample"] * 3
    _assert_same_table(studies / "tables" / "score_head.csv", score_table)
    # the "every sample" runs continue from their own burn-in, the others from the main table's
    burn_ins = {c.model.score_on: burn_in_path(c, out / "runs") for c in score_cfgs}
    assert len(set(burn_ins.values())) == 2 and all(p.exists() for p in burn_ins.values())
    smoke = get_profile("smoke")
    lengths = grids.parse_list(SMOKE["schedules"], int)
    schedule_grid = grids.schedule_grid(MAIN_RATIO, lengths, smoke.train.steps, smoke.ssl.burn_in_steps)
    schedule_cfgs, scheduled = rows(schedule_grid, study_runs)
    timed = [load_run(run_dir_for(c, out / "runs")) for c in schedule_cfgs]
    schedule_table = tables.schedule_table(scheduled, timed)
    assert schedule_table["steps"].tolist() == lengths
    _assert_same_table(studies / "tables" / "schedule.csv", schedule_table)
    assert "commit" in (studies / "tables" / "schedule.md").read_text().splitlines()[0], "a study says what made it"
    study_only = {h for h in study_runs["config_hash"] if h not in set(runs["config_hash"])}
    assert study_only and all("-gated" not in m for m in runs["method"]), "runs.csv holds the paper's tables' runs only"
    _, curve = rows(grids.ratio_grid(grids.parse_list(SMOKE["ratios"], float)))
    by_ratio = {r: curve[curve["label_ratio"] == r] for r in grids.parse_list(SMOKE["ratios"], float) if r < 1}
    curve_table = tables.gain_table(by_ratio, "label_ratio", names=grids.methods())
    _assert_same_table(out / "tables" / "ratio_curve.csv", curve_table)

    variant_cfgs = variants.variant_configs("smoke", [0], SMOKE["variant_names"].split(","))
    variant_runs = tables.read_runs_csv(out / "tables" / "variants_runs.csv")
    variant_rows = {name: tables.rows_of(variant_runs, part) for name, part in variant_cfgs.items()}
    others = {c.hash() for name, part in variant_cfgs.items() if name != "main" for c in part}
    assert not others & set(runs["config_hash"]), "runs on other benchmarks stay out of runs.csv"
    assert all(part["config_hash"].nunique() == len(grids.methods()) for part in variant_rows.values()), "each method"
    _assert_same_table(out / "tables" / "variants.csv", variants.variants_table(variant_rows))

    index = load_dataset_index(Config.from_flat("smoke", **common))
    _assert_same_table(out / "tables" / "dataset_stats.csv", stats.stats_table(index).reset_index())
    _assert_same_table(out / "tables" / "rule_based.csv", baselines.rule_based_table(index, "test"))


@pytest.mark.slow
def test_visual_artifacts_are_written(executed: dict) -> None:
    out = executed["out"]
    gallery = (out / "views" / "gallery" / "gallery.html").read_text()
    if "nothing to compare" in gallery:  # every model predicts nothing (smoke): words, no cards
        assert '<div class="card">' not in gallery
    else:
        assert gallery.count('<div class="card">') >= 3
    # every page under results/views shares one copy of the viewer script
    script = out / "views" / "threedrest-viz.js"
    assert [p.relative_to(out).as_posix() for p in out.rglob("threedrest-viz.js")] == ["views/threedrest-viz.js"]
    pages = [p for p in (out / "views").rglob("*.html") if p.name != "gallery.html"]
    assert pages
    for page in pages:
        src = re.search(r'<script src="([^"]*threedrest-viz\.js)"', page.read_text())
        assert src and (page.parent / src[1]).resolve() == script.resolve(), page
    pngs = list((out / "views").rglob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    executed_tour = _read(out / "notebooks" / "00_tour.ipynb")
    text = "".join(o.get("text", "") for c in _code_cells(executed_tour) for o in c.outputs)
    assert "supervised test mIoU" in text and "3drest test mIoU" in text


@pytest.mark.slow
def test_a_class_pack_opens_notebooks_00_to_05_in_a_fresh_clone_without_training(
    executed: dict, tmp_path: Path
) -> None:
    """make class-pack after the reproduction, make class-unpack in a fresh clone, then notebooks 00-05 through
    papermill with THREEDREST_NO_TRAINING set: any training (a run, a burn-in) would fail the notebook."""
    archive = tmp_path / "class-pack.tar.gz"
    manifest = classpack.pack(archive, "smoke", "0", executed["out"], extra=dict(SMOKE))
    assert manifest["runs"] and archive.stat().st_size > 0
    clone = tmp_path / "clone"  # what a fresh clone has that matters here: the notebooks, no data, no results
    clone.mkdir()
    (clone / "notebooks").symlink_to(ROOT / "notebooks", target_is_directory=True)
    unpacked = classpack.unpack(archive, clone)
    assert unpacked["written"] == manifest["files"]
    runs_before = sorted(p.name for p in (clone / "results" / "runs").iterdir())
    taken = {name for path in NOTEBOOKS if path.stem[:2] in classpack.CLASS_NOTEBOOKS
             for name in papermill.inspect_notebook(str(path))}  # fmt: skip
    params = [arg for name, value in SMOKE.items() if name in taken for arg in ("-p", name, value)]
    cmd = [sys.executable, "-m", "threedrest", "reproduce", "--profile", "smoke", "--seeds", "0", "--out", "results",
           "--only", *classpack.CLASS_NOTEBOOKS, *params]  # fmt: skip
    env = {**os.environ, "THREEDREST_ROOT": str(clone), "THREEDREST_NO_TRAINING": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert sorted(p.name for p in (clone / "results" / "runs").iterdir()) == runs_before, "no run was trained"
    for stem in ("00_tour", "03_semi_supervised", "05_visualize"):
        assert (clone / "results" / "notebooks" / f"{stem}.ipynb").exists()
