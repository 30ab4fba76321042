"""Weak and strong views of a Batch for the teacher and the student.

Point features are cached, so the 3D augmentations act on what the decoder sees: superpoint
centroids ``sp_xyz`` and the rgb / xyz / extent columns of ``sp_feats`` (the backbone part is
left as computed from the original scene). Geometry is transformed consistently in ``sp_xyz`` and
in the xyz columns, about each sample's centre in the floor plane. Targets are per superpoint and
a view never reorders superpoints, so every target stays valid; superpoint dropout only clears
``sp_mask`` (a dropped superpoint is not seen and not scored), keeping at least one per sample.

Views (all per sample, vectorised, every draw from the given CPU ``torch.Generator``, so a view is
the same on CPU and CUDA):
- ``weak``: identity by default (the teacher sees the clean scene, as in 3DResT/RefTeacher);
  ``mild=True`` adds a random rotation about z by a multiple of 90 degrees.
- ``strong``: rotation about z, scaling, xyz jitter, colour jitter, superpoint dropout, and
  optional x/y flips (off by default: a mirror turns "left of" into "right of" in the sentence).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from threedrest.net.batching import Batch
from threedrest.net.features import EXTENT, RGB, VOTE, XYZ


@dataclass(frozen=True)
class StrongAug:
    rotate: float = 3.141592653589793  # max |angle| about z (radians)
    flip: float = 0.0  # probability of mirroring x (and, independently, y)
    scale: tuple[float, float] = (0.9, 1.1)
    jitter: float = 0.02  # std of per-superpoint xyz noise (metres)
    colour: float = 0.1  # std of per-sample brightness shift and of per-channel shift (rgb in [-1, 1])
    drop: float = 0.1  # fraction of superpoints dropped


def _rand(gen: torch.Generator, *shape: int) -> Tensor:
    return torch.rand(*shape, generator=gen)


def _geometry(batch: Batch, angle: Tensor, flip: Tensor, scale: Tensor, noise: Tensor) -> Batch:
    """Apply z-rotation, x/y flips (+-1 factors), scaling and noise about each sample's centre."""
    # draws come from a CPU generator (same numbers on every device), then move to the batch's device
    angle, flip, scale, noise = (t.to(batch.sp_xyz.device) for t in (angle, flip, scale, noise))
    valid = batch.sp_mask.unsqueeze(-1).float()
    centre = (batch.sp_xyz * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp(min=1)
    centre[..., 2] = 0  # keep the floor at z = 0
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    rot = torch.stack([c, -s, zero, s, c, zero, zero, zero, one], -1).view(-1, 3, 3)
    linear = rot * flip.unsqueeze(1) * scale.view(-1, 1, 1)  # R @ diag(flip) * scale, (B, 3, 3)
    b, s = batch.sp_mask.shape
    pad = ~batch.sp_mask.view(b, 1, s, 1)
    feats = batch.sp_feats.clone()
    # the three point sets that move alike (centroids, xyz and vote columns) in one product, (B, 3, S, 3)
    points = torch.stack([batch.sp_xyz, feats[..., XYZ], feats[..., VOTE]], 1)
    moved = ((points - centre.unsqueeze(1)).view(b, 3 * s, 3) @ linear.transpose(1, 2)).view(b, 3, s, 3)
    moved = (moved + centre.unsqueeze(1) + noise.unsqueeze(1)).masked_fill_(pad, 0)
    feats[..., XYZ], feats[..., VOTE] = moved[:, 1], moved[:, 2]
    # an axis-aligned extent e becomes |linear| e: the extent of the transformed box's bounds
    feats[..., EXTENT] = (feats[..., EXTENT] @ linear.abs().transpose(1, 2)).masked_fill_(pad[:, 0], 0)
    # padding is zero in a collated batch: only the columns written here need clearing (not all of sp_feats)
    return replace(batch, sp_xyz=moved[:, 0].contiguous(), sp_feats=feats)


def weak(batch: Batch, gen: torch.Generator, mild: bool = False) -> Batch:
    """The teacher's view: the batch itself, or with ``mild`` a rotation by k * 90 degrees."""
    if not mild:
        return batch
    b = len(batch)
    angle = torch.randint(0, 4, (b,), generator=gen).float() * (torch.pi / 2)
    return _geometry(batch, angle, torch.ones(b, 3), torch.ones(b), torch.zeros_like(batch.sp_xyz))


def strong(batch: Batch, gen: torch.Generator, aug: StrongAug = StrongAug()) -> Batch:
    """The student's view (see the module docstring); ``sp_mask`` loses the dropped superpoints."""
    b, s = batch.sp_mask.shape
    angle = (_rand(gen, b) * 2 - 1) * aug.rotate
    flip = torch.ones(b, 3)
    flip[:, :2] = torch.where(_rand(gen, b, 2) < aug.flip, -1.0, 1.0)
    scale = aug.scale[0] + _rand(gen, b) * (aug.scale[1] - aug.scale[0])
    noise = torch.randn(b, s, 3, generator=gen) * aug.jitter
    out = _geometry(batch, angle, flip, scale, noise)

    shift = torch.randn(b, 1, 1, generator=gen) * aug.colour + torch.randn(b, 1, 3, generator=gen) * aug.colour
    feats = out.sp_feats
    feats[..., RGB] = (
        (feats[..., RGB] + shift.to(feats.device)).clamp(-1, 1).masked_fill(~batch.sp_mask.unsqueeze(-1), 0)
    )

    keep = (_rand(gen, b, s).to(batch.sp_mask.device) >= aug.drop) & batch.sp_mask
    # a sample that lost everything keeps its first real superpoint
    first = torch.zeros_like(keep).scatter_(1, batch.sp_mask.float().argmax(1, keepdim=True), True)
    keep = torch.where(keep.any(1, keepdim=True), keep, first & batch.sp_mask)
    return replace(out, sp_feats=feats, sp_mask=keep)


__all__ = ["StrongAug", "strong", "weak"]
