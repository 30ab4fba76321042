"""``python -m threedrest gpu-check``: the paper profile briefly on this machine's CUDA device.

What a GPU machine gives before a long run, in one table (``results/bench_gpu.csv``, metric / value):
feature caching of a few paper-sized embedded scenes on the device (backbone pre-training, superpoint
features, MiniLM), the device against the CPU on the same weights and inputs (features, decoder
logits, the AMP mask), supervised and 3DResT steps of the paper's decoder (batch 64, AMP on) timed side by
side by :func:`threedrest.experiments.bench.benchmark`, and one short 3DResT run end to end (burn-in,
hand-over, TSCS and QDW, evaluation). ``--dry-run`` runs the same code at tiny sizes on the CPU with
AMP off: the test suite runs it, so the path a GPU takes is tested on machines without one.
"""

from __future__ import annotations

import argparse
import copy
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from threedrest import numerics
from threedrest.config import Config, replace
from threedrest.experiments import bench, report
from threedrest.experiments.runs import run
from threedrest.io import atomic_write_csv, package_versions
from threedrest.net.backbone import build_graph, require_device
from threedrest.net.decoder import apply_model
from threedrest.net.features import FeatureCache, load_dataset_index, superpoint_features
from threedrest.paths import resolve
from threedrest.train.workspace import Workspace

# the paper profile with a few paper-sized scenes (50k points each); only sizes and lengths differ from it.
# label_ratio 0.5 leaves a labelled and an unlabelled pool of full batches (the step cost does not depend on it)
CHECK: dict[str, Any] = {"n_train_scenes": 8, "n_val_scenes": 2, "n_test_scenes": 2, "backbone_pretrain_steps": 200,
                         "label_ratio": 0.5, "device": "cuda", "amp": True}  # fmt: skip
# the same path at tiny sizes on the CPU (seconds): the test suite's run of this module
DRY_RUN: dict[str, Any] = {
    "n_train_scenes": 3, "n_val_scenes": 1, "n_test_scenes": 1, "points_per_scene": 3000, "min_objects": 4,
    "max_objects": 8, "descriptions_per_object": 2.0, "backbone_pretrain_steps": 2, "d_model": 32, "n_heads": 2,
    "n_layers": 1, "ffn_dim": 64, "n_sampled": 32, "max_words": 40, "batch_size": 4, "label_ratio": 0.5,
    "device": "cpu", "amp": False, "num_threads": 1,
}  # fmt: skip


def check_config(dry_run: bool, cache_dir: str | Path, **overrides: Any) -> Config:
    """The paper profile at the check's sizes (``CHECK``, or ``DRY_RUN`` on the CPU), caches under ``cache_dir``."""
    return Config.from_flat("paper", **{**(DRY_RUN if dry_run else CHECK), "cache_dir": str(cache_dir), **overrides})


def environment_rows(cfg: Config) -> list[tuple[str, Any]]:
    """The device, torch/CUDA versions and the sizes the numbers were measured at."""
    cuda = cfg.train.device == "cuda"
    name = torch.cuda.get_device_name(0) if cuda else numerics.settings().get("cpu", platform.machine())
    memory = round(torch.cuda.get_device_properties(0).total_memory / 2**20) if cuda else "n/a"
    cudnn = torch.backends.cudnn.version() if cuda else None
    m, d = cfg.model, cfg.data
    return [
        ("device", cfg.train.device),
        ("device_name", name),
        ("device_memory_mb", memory),
        ("torch", package_versions().get("torch", torch.__version__)),
        ("cuda", torch.version.cuda or "none"),
        ("cudnn", cudnn or "none"),
        ("amp", cfg.train.amp),
        ("profile", cfg.profile),
        ("points_per_scene", d.points_per_scene),
        ("scenes", d.n_train_scenes + d.n_val_scenes + d.n_test_scenes),
        ("d_model", m.d_model),
        ("n_layers", m.n_layers),
        ("n_sampled", m.n_sampled),
    ]


def _peak_mb(device: torch.device) -> float:
    """Peak memory since the last reset: allocated on CUDA, the process's resident set on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def feature_rows(cfg: Config) -> tuple[list[tuple[str, Any]], FeatureCache]:
    """Dataset (CPU), then the feature caches built on the device from nothing, per unit of work."""
    device = require_device(cfg.train.device)
    start = time.perf_counter()
    index = load_dataset_index(cfg)
    dataset_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    cache = FeatureCache(index, cfg)
    timings = cache.build()
    scene = index.load_scene(index.scene_ids()[0])
    start = time.perf_counter()
    build_graph(scene, cfg.model.backbone_k)  # CPU: kNN tables and voxel levels, once per scene
    rows = [
        ("dataset_s", dataset_s),
        ("mean_superpoints_per_scene", sum(s["n_superpoints"] for s in index.scenes.values()) / len(index.scenes)),
        ("graph_build_s_per_scene", time.perf_counter() - start),
        ("backbone_pretrain_steps", cfg.model.backbone_pretrain_steps),
        ("backbone_s_per_step", timings["backbone_s"] / max(cfg.model.backbone_pretrain_steps, 1)),
        ("scene_features_s_per_scene", timings["scene_features_s"] / len(index.scene_ids())),
        ("minilm_s_per_description", timings["text_features_s"] / len(index.descriptions)),
        ("features_peak_memory_mb", _peak_mb(device)),
    ]
    return rows, cache


@torch.no_grad()
def agreement_rows(cfg: Config, cache: FeatureCache) -> list[tuple[str, Any]]:
    """The device against the CPU on identical weights and inputs: superpoint features of one scene, the
    decoder's last logits on one val batch (float32), and how often the AMP mask equals the float32 one."""
    device = cache.device
    net = cache.backbone()
    scene = cache.index.load_scene(cache.index.scene_ids("val")[0])
    on_device = superpoint_features(net, scene, cfg.model.backbone_k)["sp_feats"]
    on_cpu = superpoint_features(copy.deepcopy(net).cpu(), scene, cfg.model.backbone_k)["sp_feats"]
    ws = Workspace.for_config(cfg)
    torch.manual_seed(0)
    model = ws.build_model().eval()
    batch = ws.collate([ws.val[i] for i in range(min(cfg.train.batch_size, len(ws.val)))])
    cpu_logits = model(batch).sp_logits[-1]
    model_d, batch_d = copy.deepcopy(model).to(device), batch.to(device)
    fp32 = apply_model(model_d, batch_d, amp=False).sp_logits[-1]
    amp = apply_model(model_d, batch_d, amp=cfg.train.amp and device.type == "cuda").sp_logits[-1]
    real = batch_d.sp_mask
    return [
        ("feature_max_abs_diff_vs_cpu", float(abs(on_device - on_cpu).max())),
        ("decoder_logit_max_abs_diff_vs_cpu", float((fp32.cpu() - cpu_logits)[batch.sp_mask].abs().max())),
        ("amp_mask_agreement", float(((amp >= 0) == (fp32 >= 0))[real].float().mean())),
    ]


def step_rows(cfg: Config, steps: int, warmup: int) -> list[tuple[str, Any]]:
    """``bench.benchmark`` on the check's config: medians of interleaved supervised and 3DResT steps."""
    device = require_device(cfg.train.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    table = bench.benchmark(cfg, steps=steps, warmup=warmup)
    values = dict(zip(table["metric"], table["value"], strict=True))
    rows = [(m, v) for m, v in values.items() if m in ("ssl_over_supervised_step", "supervised_step_ms", "ssl_step_ms",
            "supervised_samples_per_s", "ssl_samples_per_s", "batch_size", "steps_timed")]  # fmt: skip
    rows += [("supervised_it_per_s", 1000 / values["supervised_step_ms"]),
             ("ssl_it_per_s", 1000 / values["ssl_step_ms"]),
             ("training_peak_memory_mb", values["peak_memory_mb"])]  # fmt: skip
    return rows


def end_to_end_rows(cfg: Config, root: Path, steps: int) -> list[tuple[str, Any]]:
    """One short 3DResT run: burn-in, hand-over, semi-supervised steps with TSCS/QDW, evaluation, files."""
    half = max(1, steps // 2)
    e2e = replace(cfg, method="3drest", steps=2 * half, burn_in_steps=half, eval_every=half, tscs_warmup=0)
    start = time.perf_counter()
    result = run(e2e, root=root, progress=False)
    return [
        ("e2e_steps", 2 * half),
        ("e2e_s", time.perf_counter() - start),
        ("e2e_test_miou_student", result.summary["test_miou"]["student"]),
        ("e2e_promoted", result.summary["n_promoted"]),
    ]


def gpu_check(dry_run: bool = False, steps: int = 200, warmup: int = 20, e2e_steps: int = 100,
              work_dir: str | Path | None = None, keep: bool = False) -> pd.DataFrame:  # fmt: skip
    """Every measurement of the module docstring, from empty caches in a fresh folder (removed afterwards
    unless ``keep``), so the timings are those of a cold build."""
    require_device((DRY_RUN if dry_run else CHECK)["device"])  # ConfigError before any work
    parent = resolve(work_dir or "data/cache")
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="gpu-check-", dir=parent))
    try:
        cfg = check_config(dry_run, folder / "cache")
        rows = [("mode", "dry-run" if dry_run else "gpu"), *environment_rows(cfg)]
        features, cache = feature_rows(cfg)
        rows += features + agreement_rows(cfg, cache) + step_rows(cfg, steps, warmup)
        rows += end_to_end_rows(cfg, folder / "runs", e2e_steps) + bench.numerics_rows()
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return pd.DataFrame(rows, columns=["metric", "value"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU, AMP off (what the tests run)")
    parser.add_argument("--steps", type=int, default=200, help="timed steps of each method (after --warmup)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--e2e-steps", type=int, default=100, help="steps of the short 3DResT run (half burn-in)")
    parser.add_argument("--out", default="", help="results/bench_gpu.csv (--dry-run: data/gpu_check_dry_run.csv)")
    parser.add_argument("--work-dir", default="data/cache", help="where the temporary caches and runs go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary caches and runs")
    args = parser.parse_args(argv)
    out = resolve(args.out or ("data/gpu_check_dry_run.csv" if args.dry_run else "results/bench_gpu.csv"))
    table = gpu_check(args.dry_run, args.steps, args.warmup, args.e2e_steps, args.work_dir, args.keep)
    atomic_write_csv(out, table)
    if not args.dry_run and out.parent == resolve("results"):  # listed in results/README.md by the next reproduce
        report.register(out.parent, out, "the paper profile briefly on a CUDA device (scripts/gpu_check.sh)")
    print(table.to_string(index=False))
    print(f"written to {out}")
    return 0
