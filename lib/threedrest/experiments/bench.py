"""Cost of a semi-supervised step against a supervised one, measured side by side in one process.

An SSL step does a student forward+backward on the labelled batch, another on an unlabelled batch
of the same size and a teacher forward: about 1 + 1 + 1/3 = 2.33 supervised steps. The benchmark
interleaves the two kinds of step so that both see the same machine state, and reports medians.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from typing import Any

import pandas as pd
import torch

from threedrest import numerics
from threedrest.config import Config, replace
from threedrest.experiments import report
from threedrest.io import atomic_write_csv, package_versions
from threedrest.net.batching import ReferDataset, collate
from threedrest.net.decoder import ReferModel
from threedrest.net.features import MINILM_DIM, FeatureCache, superpoint_features
from threedrest.paths import resolve
from threedrest.train.loop import train_step
from threedrest.train.state import init_state
from threedrest.train.workspace import Workspace


def time_cached_vs_recompute(cache: FeatureCache, uids: list[str], batch_size: int = 16,
                             n_recompute: int = 16) -> dict[str, float]:  # fmt: skip
    """Seconds per description of decoder forwards from the cache vs recomputing the backbone.

    "cached": one epoch over ``uids`` in batches. "recompute": what a pipeline without the cache
    does per description (load the scene, build its graph, run the backbone, pool) plus the same
    decoder forward; measured on ``n_recompute`` descriptions and reported per description.
    """
    if not uids:
        raise ValueError("time_cached_vs_recompute needs at least one description (the split is empty)")
    mcfg, device = cache.cfg.model, cache.device  # the decoder runs where the features are built
    dataset = ReferDataset(cache.index, cache, uids, mcfg.text_encoder)
    torch.manual_seed(0)
    model = ReferModel(mcfg, cache.sp_dim, MINILM_DIM, len(cache.vocabulary())).eval().to(device)
    backbone = cache.backbone()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(dataset), batch_size):
            model(collate([dataset[j] for j in range(i, min(i + batch_size, len(dataset)))]).to(device))
    _synchronize(device)
    cached = (time.perf_counter() - start) / len(dataset)
    n = min(n_recompute, len(dataset))
    start = time.perf_counter()
    with torch.no_grad():
        for j in range(n):
            sample = dataset[j]
            scene = cache.index.load_scene(sample["scene_id"])
            feats = superpoint_features(backbone, scene, mcfg.backbone_k)
            sample = {**sample, "sp_feats": torch.from_numpy(feats["sp_feats"])}
            model(collate([sample]).to(device))
    _synchronize(device)
    recompute = (time.perf_counter() - start) / n
    return {"cached_s_per_description": cached, "recompute_s_per_description": recompute,
            "ratio": recompute / cached, "n_descriptions": len(dataset), "n_recompute": n}  # fmt: skip


def _synchronize(device: torch.device) -> None:
    """Wait for queued CUDA kernels, so a timer reads finished work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_step(cfg: Config, ws: Workspace, state: Any) -> float:
    device = torch.device(cfg.train.device)
    _synchronize(device)
    start = time.perf_counter()
    train_step(cfg, ws, state)
    _synchronize(device)
    return time.perf_counter() - start


def benchmark(cfg: Config, steps: int = 30, warmup: int = 5) -> pd.DataFrame:
    """Median seconds per step for supervised and 3DResT (semi phase) on the same labelled batches."""
    sup_cfg = replace(cfg, method="supervised")
    ssl_cfg = replace(cfg, method="3drest", burn_in_steps=0, tscs_threshold=1.0)  # no promotions: fixed cost
    if cfg.train.num_threads > 0:  # the threads training runs with (classroom: 1 per run)
        torch.set_num_threads(cfg.train.num_threads)
    ws = Workspace.for_config(ssl_cfg)
    sup_state, ssl_state = init_state(sup_cfg, ws), init_state(ssl_cfg, ws)
    times: dict[str, list[float]] = {"supervised": [], "ssl": []}
    for i in range(warmup + steps):
        for name, c, s in (("supervised", sup_cfg, sup_state), ("ssl", ssl_cfg, ssl_state)):
            seconds = _timed_step(c, ws, s)
            if i >= warmup:
                times[name].append(seconds)
    sup, ssl = statistics.median(times["supervised"]), statistics.median(times["ssl"])
    batch = cfg.train.batch_size
    if cfg.train.device == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    rows = [
        ("ssl_over_supervised_step", ssl / sup),
        ("supervised_step_ms", 1000 * sup),
        ("ssl_step_ms", 1000 * ssl),
        ("supervised_samples_per_s", batch / sup),
        ("ssl_samples_per_s", batch * (1 + cfg.ssl.ulb_ratio) / ssl),
        ("peak_memory_mb", peak_mb),
        ("batch_size", batch),
        ("steps_timed", steps),
        ("torch_threads", torch.get_num_threads()),
        *numerics_rows(),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])


def numerics_rows() -> list[tuple[str, Any]]:
    """The CPU code paths the timing ran on (THREEDREST_NUMERICS=native times the fastest ones)."""
    info = numerics.settings()
    rows: list[tuple[str, Any]] = [("numerics", info["mode"]), ("cpu", info.get("cpu", "")),
                                   ("torch_cpu_capability", info.get("torch_cpu_capability", ""))]  # fmt: skip
    rows += [(name.lower(), value or "unset") for name, value in info["env"].items()]
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m threedrest bench", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="classroom")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: the profile's)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", default="results/bench.csv")
    args = parser.parse_args(argv)
    cfg = Config.from_flat(args.profile, **({"device": args.device} if args.device else {}))
    table = benchmark(cfg, steps=args.steps)
    out = resolve(args.out)
    atomic_write_csv(out, table)
    # listed in results/README.md by the next make reproduce
    report.register(out.parent, out, f"one SSL step against one supervised step, side by side ({args.profile})")
    print(table.to_string(index=False))
    print(f"torch {package_versions().get('torch')} on {cfg.train.device}; written to {args.out}")
    return 0
