"""Multi-process training (``torchrun --nproc_per_node=N -m threedrest train ...``), exact by design.

Every rank draws the SAME global batch from its seeded ``BatchStream`` (same seed, same pool), so
the data order, the augmentation draws and the TSCS pool never diverge; each rank then runs the
model on its contiguous chunk of rows (``local_rows``). The objective is the one-process objective
of the global batch: per-sample quantities are gathered (``gather_rows``) and the loss is built on a
global per-sample vector whose local rows carry the gradient and whose other rows are the (detached)
values of the other ranks (``global_rows``). Each rank's backward is then the partial gradient of
the global loss through its own samples, and the SUM of those partials (``all_reduce_grads``) is the
full gradient: exact for any per-sample reduction, including QDW's "sum" normalisation and the
batch-level TSCS/QDW decisions (taken on gathered values, identical on every rank). Weights, optimiser,
scheduler and EMA teacher then stay identical on every rank with no broadcast.

Why not DistributedDataParallel: the student runs two forward passes per step (labelled batch and
strong view) beside a teacher forward; DDP's backward hooks assume one forward per backward, average
(not sum) gradients and re-broadcast buffers, none of which this loop wants. One flat all-reduce per
step after ``backward`` is simpler and exact. Backend: gloo on CPU, NCCL on CUDA (one GPU per rank,
``torch.cuda.set_device(LOCAL_RANK)``, so ``.to("cuda")`` lands on the rank's own GPU).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """Only rank 0 writes files and shows progress bars."""
    return rank() == 0


def init_from_env(device: str = "cpu") -> bool:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK); True when distributed.

    A plain ``python -m threedrest`` (no WORLD_SIZE, or 1) stays single-process and changes nothing.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device=cuda was asked for, but torch sees no CUDA device on this machine")
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def all_gather_object(obj: Any) -> list[Any]:
    """Objects of every rank, in rank order ([obj] when single-process)."""
    if world_size() == 1:
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def row_bounds(n: int, world: int | None = None) -> list[tuple[int, int]]:
    """Contiguous [start, stop) rows of each rank for a global batch of ``n`` (sizes differ by <= 1)."""
    world = world or world_size()
    base, extra = divmod(n, world)
    bounds, start = [], 0
    for r in range(world):
        stop = start + base + (r < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def local_rows(n: int) -> slice:
    start, stop = row_bounds(n)[rank()]
    return slice(start, stop)


def local_batch(batch: Any) -> Any:
    """This rank's rows of a global batch (a dataclass of (B, ...) tensors and lists); itself in one process."""
    if world_size() == 1:
        return batch
    if len(batch) < world_size():
        raise ValueError(f"a global batch of {len(batch)} samples cannot be split over {world_size()} ranks")
    rows = local_rows(len(batch))
    return type(batch)(**{k: v[rows] if isinstance(v, (Tensor, list)) else v for k, v in vars(batch).items()})


def gather_rows(local: Tensor, n: int) -> Tensor:
    """The global (n, ...) tensor from every rank's contiguous chunk; detached, same on every rank."""
    if world_size() == 1:
        return local.detach()
    bounds = row_bounds(n)
    longest = max(stop - start for start, stop in bounds)
    dtype = local.dtype
    send = local.detach().to(torch.float64 if dtype == torch.bool else dtype)
    padded = send.new_zeros((longest, *send.shape[1:]))
    padded[: send.shape[0]] = send
    chunks = [torch.empty_like(padded) for _ in bounds]
    dist.all_gather(chunks, padded.contiguous())
    rows = [chunk[: stop - start] for chunk, (start, stop) in zip(chunks, bounds, strict=True)]
    return torch.cat(rows).to(dtype)


def global_rows(local: Tensor, n: int) -> Tensor:
    """The global (n,) vector with this rank's rows carrying ``local``'s gradient (others detached)."""
    if world_size() == 1:
        return local
    full = gather_rows(local, n)
    rows = local_rows(n)
    return torch.cat([full[: rows.start], local, full[rows.stop :]])


def all_reduce_grads(params: Iterable[torch.nn.Parameter]) -> None:
    """Sum the gradients of all ranks in one flat all-reduce (the partials of one global loss).

    A parameter with no gradient on any rank keeps ``grad = None`` (AdamW then skips it, as in one
    process); one with a gradient on some rank gets zeros elsewhere before the sum.
    """
    if world_size() == 1:
        return
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    device = params[0].device
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=device)
    dist.all_reduce(has, op=dist.ReduceOp.MAX)
    live = [p for p, h in zip(params, has.tolist(), strict=True) if h > 0]
    if not live:
        return
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in live])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p in live:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def assert_same_weights(module: torch.nn.Module, what: str) -> None:
    """Raise if the ranks' copies of ``module`` differ (they must stay bit-identical by design)."""
    if world_size() == 1:
        return
    with torch.no_grad():
        flat = torch.cat([t.detach().double().reshape(-1).cpu() for t in module.state_dict().values()])
    sums = all_gather_object((float(flat.sum()), float((flat * flat).sum())))
    if len(set(sums)) != 1:
        raise RuntimeError(f"distributed training diverged: the ranks' {what} weights differ ({sums})")


__all__ = [
    "all_gather_object",
    "all_reduce_grads",
    "assert_same_weights",
    "barrier",
    "gather_rows",
    "global_rows",
    "init_from_env",
    "is_main",
    "local_batch",
    "local_rows",
    "rank",
    "row_bounds",
    "shutdown",
    "world_size",
]
