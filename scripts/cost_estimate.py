"""What the paper profile costs on a GPU, estimated from measurements on this CPU (docs/scanrefer.md,
"The paper's setting on ScanRefer"). An estimate, not a GPU measurement: scripts/gpu_check.sh measures.

Measured here, at reduced size, through the kit's own functions (paper decoder, paper backbone):
  decoder   per labelled forward+backward, per teacher forward, per optimiser + EMA update: FLOPs
            (torch.utils.flop_counter), torch ops dispatched (each at least one CUDA kernel), bytes of the
            tensors autograd saves (activation memory); at two superpoint counts S and two batch sizes B;
            and the CPU seconds of bench.benchmark's supervised and 3DResT steps at the same sizes
  backbone  per pre-training step and per feature extraction at 12k / 50k / 150k points: the same counts,
            the CPU seconds of the kNN graph (it stays on the CPU on a GPU machine) and of the step
  MiniLM    FLOPs and CPU seconds per description
  convert   CPU seconds per 150k-vertex scan of python -m threedrest scanrefer (scans in the real formats)
Scaled to the paper's batch (64) linearly in B (FLOPs and bytes; the op count does not grow with B), then
  GPU seconds per step = max(FLOPs / R + bytes / W, ops x L)   (kernels overlap the host's dispatch)
with R the matmul rate, W the memory bandwidth reached and L the host's dispatch time per op; --rate,
--bandwidth and --launch-us set them, and the printed range spans the low and high values given.

  .venv/bin/python scripts/cost_estimate.py [--work-dir DIR] [--skip-convert]     (about 10 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import threedrest  # noqa: F401  (the portable numerics before torch)
import torch
import torch.nn.functional as F
from threedrest.config import Config, replace
from threedrest.experiments import bench
from threedrest.net.backbone import PointBackbone, build_graph, pretrain_backbone
from threedrest.net.decoder import apply_model
from threedrest.net.features import encode_minilm, load_dataset_index, superpoint_features
from threedrest.net.losses import referring_loss
from threedrest.semi.ema import make_teacher, update_teacher
from threedrest.train.workspace import Workspace
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
PAPER_BATCH = 64


class OpCounter(TorchDispatchMode):
    """Counts the torch ops that do work (views launch no kernel)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if not func.is_view:
            self.ops += 1
        return func(*args, **(kwargs or {}))


def measure(fn: Callable[[], Any]) -> dict[str, float]:
    """FLOPs, ops, saved-activation bytes and CPU seconds of one call (seconds from a second, uncounted call)."""
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    hooks = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
    with FlopCounterMode(display=False) as flops, OpCounter() as ops, hooks:
        fn()
    start = time.perf_counter()
    fn()
    return {"flops": float(flops.get_total_flops()), "ops": ops.ops, "saved_bytes": float(sum(saved.values())),
            "cpu_s": time.perf_counter() - start}  # fmt: skip


def paper_config(work: Path, points: int, batch: int, **extra: Any) -> Config:
    """The paper profile at ``points`` per scene on a handful of scenes, on this CPU."""
    return Config.from_flat("paper", n_train_scenes=2, n_val_scenes=1, n_test_scenes=1, points_per_scene=points,
                            backbone_pretrain_steps=1, label_ratio=0.5, batch_size=batch, device="cpu", amp=False,
                            num_threads=2, cache_dir=str(work / f"p{points}"), **extra)  # fmt: skip


def decoder_counts(cfg: Config) -> dict[str, Any]:
    ws = Workspace.for_config(cfg)
    torch.manual_seed(0)
    student = ws.build_model().train()
    teacher = make_teacher(student)
    batch = ws.collate([ws.train[i] for i in range(cfg.train.batch_size)])
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-4, fused=True)

    def labelled() -> None:
        out = apply_model(student, batch)
        terms = referring_loss(out.sp_logits, out.scores, out.sample_logits, batch.sp_target, batch.sample_target,
                               batch.sp_mask, cfg.model)  # fmt: skip
        terms["total"].mean().backward()

    def teacher_forward() -> None:
        with torch.no_grad():
            apply_model(teacher, batch)

    def update() -> None:
        optimizer.step()
        update_teacher(teacher, student, cfg.ssl.ema_momentum)

    n_sp = batch.sp_mask.sum(1).float().mean().item()
    params = sum(p.numel() for p in student.parameters())
    return {"S": n_sp, "B": cfg.train.batch_size, "words": batch.word_mask.sum(1).float().mean().item(),
            "params": params, "labelled": measure(labelled), "teacher": measure(teacher_forward),
            "update": measure(update)}  # fmt: skip


def step_pair_counts(cfg: Config) -> dict[str, float]:
    """Ops and FLOPs of one supervised plus one 3DResT step as the loop runs them (augmentation, TSCS, QDW and
    logging included): bench.benchmark with two timed steps each minus one (set-up cancels)."""
    counts = []
    for steps in (1, 2):
        with FlopCounterMode(display=False) as flops, OpCounter() as ops:
            bench.benchmark(cfg, steps=steps, warmup=0)
        counts.append((ops.ops, flops.get_total_flops()))
    return {"ops": counts[1][0] - counts[0][0], "flops": float(counts[1][1] - counts[0][1])}


def host_batch_seconds(cfg: Config, batch: int = PAPER_BATCH, repeats: int = 7) -> float:
    """CPU seconds to build one batch of ``batch`` descriptions (on the host, between steps): one torch thread, as
    the kit's training workers run (two threads on a busy machine wait on each other: 4 ms became 44 here), the
    minimum of ``repeats``."""
    ws = Workspace.for_config(cfg)
    rows = [i % len(ws.train) for i in range(batch)]
    seconds, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            ws.collate([ws.train[i] for i in rows])
            seconds.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return min(seconds)


def backbone_counts(work: Path, points: int) -> dict[str, Any]:
    cfg = paper_config(work, points, 8)
    index = load_dataset_index(cfg)
    scene = index.load_scene(index.scene_ids("train")[0])
    start = time.perf_counter()
    graph = build_graph(scene, cfg.model.backbone_k)
    graph_s = time.perf_counter() - start
    torch.manual_seed(0)
    model = PointBackbone(cfg.model.backbone_dim)
    sem = torch.from_numpy(scene.semantic.astype("int64"))

    def step() -> None:
        h = model(graph)
        (F.cross_entropy(model.sem_head(h), sem, ignore_index=-1) + model.offset_head(h).abs().mean()).backward()

    step_counts = measure(step)
    timings = []
    for steps in (1, 3):  # seconds per pre-training step through the kit's function, graph build excluded
        start = time.perf_counter()
        pretrain_backbone(index, replace(cfg, backbone_pretrain_steps=steps), progress=False)
        timings.append(time.perf_counter() - start)
    frozen = model.eval().requires_grad_(False)
    start = time.perf_counter()
    superpoint_features(frozen, scene, cfg.model.backbone_k)
    graph_bytes = sum(t.numel() * t.element_size() for t in [graph.feats, *graph.nbr, *graph.parent])
    return {
        "points": scene.n_points,
        "superpoints": scene.n_superpoints,
        "graph_s": graph_s,
        "graph_mb": graph_bytes / 2**20,
        "step": step_counts,
        "pretrain_s_per_step": (timings[1] - timings[0]) / 2,
        "features_s": time.perf_counter() - start,
    }


def minilm_counts(work: Path) -> dict[str, float]:
    index = load_dataset_index(paper_config(work, 50_000, 8))
    texts = [d["description"] for d in index.descriptions][:128]
    start = time.perf_counter()
    encode_minilm(texts)
    cpu_s = time.perf_counter() - start
    with FlopCounterMode(display=False) as flops:
        encode_minilm(texts[:64])
    return {"cpu_s_per_description": cpu_s / len(texts), "flops_per_description": flops.get_total_flops() / 64}


def convert_counts(work: Path, points: int = 150_000) -> dict[str, float]:
    """python -m threedrest scanrefer on three scans in the real formats (the test fixture's writer)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from scannet_fixture import TRAIN_SCENES, VAL_SCENES, write_dataset
    from threedrest.data import scannet

    root = work / "scanrefer"
    write_dataset(root, n_points=points)
    start = time.perf_counter()
    scannet.main(["--data-root", str(root), "--cache-dir", str(work / "converted"), "--workers", "1"])
    scenes = len(TRAIN_SCENES) + len(VAL_SCENES)
    size = sum(p.stat().st_size for p in (work / "converted").rglob("*.npz"))
    return {"s_per_scene": (time.perf_counter() - start) / scenes, "npz_mb_per_scene": size / scenes / 2**20}


def gpu_seconds(flops: float, bytes_moved: float, ops: float, rate: float, bandwidth: float, launch_us: float) -> float:
    return max(flops / (rate * 1e12) + bytes_moved / (bandwidth * 1e12), ops * launch_us * 1e-6)


def print_estimate(report: dict[str, Any], args: argparse.Namespace) -> None:
    """The GPU estimate from the measurements, at the rates, bandwidths and dispatch times of ``args``."""
    print("\nGPU seconds per step at batch 64 (estimate):")
    timed = next(r for r in report["decoder"] if "pair" in r)
    for row in report["decoder"]:
        scale = PAPER_BATCH / row["B"]
        lab, tea, upd = row["labelled"], row["teacher"], row["update"]
        # supervised: one labelled forward+backward and one update; 3DResT adds an unlabelled forward+backward of the
        # same size and a teacher forward, and both graphs are alive at backward (twice the activations). The op
        # counts are the loop's own (timed pair), split between the two steps in the ratio of these components
        sup_ops, ssl_ops = lab["ops"] + upd["ops"], 2 * lab["ops"] + tea["ops"] + upd["ops"]
        share = timed["pair"]["ops"] / (sup_ops + ssl_ops)
        parts = {"supervised": (lab["flops"] * scale, 4 * lab["saved_bytes"] * scale, sup_ops * share, 1),
                 "ssl": ((2 * lab["flops"] + tea["flops"]) * scale, 8 * lab["saved_bytes"] * scale, ssl_ops * share,
                         2)}  # fmt: skip
        for name, (flops, moved, ops, batches) in parts.items():
            host = batches * timed["host_batch_s"]  # the next batch is built while the device waits (logs sync)
            low = host + gpu_seconds(flops, moved, ops, args.rate[1], args.bandwidth[1], args.launch_us[0])
            high = host + gpu_seconds(flops, moved, ops, args.rate[0], args.bandwidth[0], args.launch_us[1])
            activations = 2**-30 * lab["saved_bytes"] * scale * (2 if name == "ssl" else 1)
            print(
                f"  S {row['S']:.0f} (measured at B {row['B']}) {name:>10}: {flops / 1e12:.3f} TFLOP "
                f"({1e3 * flops / (args.rate[1] * 1e12):.1f}-{1e3 * flops / (args.rate[0] * 1e12):.1f} ms), "
                f"{moved / 2**30:.2f} GiB moved ({1e3 * moved / (args.bandwidth[1] * 1e12):.1f}-"
                f"{1e3 * moved / (args.bandwidth[0] * 1e12):.1f} ms), {ops:.0f} ops "
                f"({1e-3 * ops * args.launch_us[0]:.1f}-{1e-3 * ops * args.launch_us[1]:.1f} ms), host batches "
                f"{1e3 * host:.1f} ms -> {1e3 * low:.0f}-{1e3 * high:.0f} ms; activations {activations:.1f} GiB"
            )
    print(f"  CPU here (bench, S {timed['S']:.0f}, B {timed['B']}): supervised "
          f"{timed['bench']['supervised_step_ms']:.0f} ms, 3DResT {timed['bench']['ssl_step_ms']:.0f} ms")  # fmt: skip
    for row in report["backbone"]:
        step = row["step"]
        low = gpu_seconds(step["flops"], 4 * step["saved_bytes"], step["ops"], args.rate[1], args.bandwidth[1],
                          args.launch_us[0])  # fmt: skip
        high = gpu_seconds(step["flops"], 4 * step["saved_bytes"], step["ops"], args.rate[0], args.bandwidth[0],
                           args.launch_us[1])  # fmt: skip
        print(
            f"  backbone {row['points']} points: step {1e3 * low:.1f}-{1e3 * high:.1f} ms on the GPU "
            f"(CPU here {row['pretrain_s_per_step']:.2f} s), kNN graph {row['graph_s']:.2f} s on the CPU, "
            f"{row['graph_mb']:.0f} MB, activations {step['saved_bytes'] / 2**30:.2f} GiB"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default="", help="scratch folder (default: a new temporary one)")
    parser.add_argument("--skip-convert", action="store_true")
    parser.add_argument("--from-json", default="", help="estimate from a previous run's cost_estimate.json")
    parser.add_argument("--rate", type=float, nargs=2, default=(100.0, 300.0), help="TFLOP/s reached, low high")
    parser.add_argument("--bandwidth", type=float, nargs=2, default=(1.0, 2.0), help="TB/s reached, low high")
    parser.add_argument("--launch-us", type=float, nargs=2, default=(5.0, 10.0), help="host us per op, low high")
    args = parser.parse_args(argv)
    if args.from_json:
        print_estimate(json.loads(Path(args.from_json).read_text()), args)
        return 0
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="cost-estimate-"))
    report: dict[str, Any] = {"decoder": [], "backbone": []}
    for points, batch in ((50_000, 8), (150_000, 8), (150_000, 16)):  # about 470 and 1,200 superpoints per scene
        cfg = paper_config(work, points, batch)
        counts = decoder_counts(cfg)
        if (points, batch) == (150_000, 8):
            table = bench.benchmark(cfg, steps=2, warmup=1)
            counts["bench"] = dict(zip(table["metric"], table["value"], strict=True))
            counts["pair"] = step_pair_counts(cfg)
            counts["host_batch_s"] = host_batch_seconds(cfg)
        report["decoder"].append(counts)
        print(json.dumps({k: v for k, v in counts.items() if k != "bench"}), flush=True)
    for points in (12_000, 50_000, 150_000):
        report["backbone"].append(backbone_counts(work, points))
        print(json.dumps(report["backbone"][-1]), flush=True)
    report["minilm"] = minilm_counts(work)
    if not args.skip_convert:
        report["convert"] = convert_counts(work)
    print(json.dumps({k: report[k] for k in ("minilm", "convert") if k in report}), flush=True)

    (work / "cost_estimate.json").write_text(json.dumps(report, indent=1, default=float))
    print_estimate(report, args)
    print(f"\nall measurements: {work / 'cost_estimate.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
