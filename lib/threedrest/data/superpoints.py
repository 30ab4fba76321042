"""Label-free geometric over-segmentation, in the spirit of ScanNet's mesh segmentator.

Why: 3D-STMN predicts masks per superpoint, and ScanNet's superpoints come from a graph segmentation on
normals computed without labels. Here: a kNN graph, PCA normals, edges kept where normals and colours
agree, connected components, then over-large segments cut on a voxel grid and tiny ones merged into a
neighbour. Instance ids are never an input.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def estimate_normals(xyz: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Unit normals: the smallest-eigenvalue eigenvector of each point's neighbourhood covariance."""
    local = xyz[neighbours] - xyz[neighbours].mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", local, local)
    _, vectors = np.linalg.eigh(cov)
    return vectors[:, :, 0]


def _relabel(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1].astype(np.int32)


def oversegment(
    xyz: np.ndarray,
    rgb: np.ndarray,
    k: int = 10,
    normal_deg: float = 25.0,
    color_dist: float = 30.0,
    max_edge: float | None = None,
    plane_dist: float = 0.02,
    split_size: float = 0.9,
    max_points: int = 250,
    min_points: int | None = None,
) -> np.ndarray:
    """Superpoint id per point (int32, consecutive 0..S-1).

    k: graph neighbours; an edge joins two points only when their normals differ by less than
    ``normal_deg``, their colours by less than ``color_dist`` (RGB units), they are closer than ``max_edge``
    and each lies within ``plane_dist`` of the other's tangent plane; segments above ``max_points`` are
    cut into ``split_size`` voxels; segments below ``min_points`` join the neighbour segment they are most
    tied to. ``max_edge`` defaults to 0.7 x the median distance to the k-th neighbour, ``min_points`` to
    N / 1000 (6..25).
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or len(xyz) != len(rgb):
        raise ValueError(
            f"oversegment: xyz must be (N, 3) and rgb (N, 3) with the same N, got {xyz.shape}, {np.shape(rgb)}"
        )
    n = len(xyz)
    k = min(k, n - 1)
    if k < 3:
        return np.zeros(n, np.int32)
    dist, nbr = cKDTree(xyz).query(xyz, k=k + 1)
    if max_edge is None:  # scale with sampling density, so sparse and dense scans segment alike
        max_edge = 0.7 * float(np.median(dist[:, -1]))
    if min_points is None:
        min_points = int(np.clip(n // 1000, 6, 25))
    normals = estimate_normals(xyz, nbr)
    src, dst, dist = np.repeat(np.arange(n), k), nbr[:, 1:].ravel(), dist[:, 1:].ravel()
    cos = np.abs(np.einsum("ij,ij->i", normals[src], normals[dst]))
    col = np.linalg.norm(rgb[src].astype(np.float32) - rgb[dst].astype(np.float32), axis=1)
    delta = xyz[dst] - xyz[src]  # distance off each other's tangent plane: cuts steps (door in a wall)
    offset = np.maximum(
        np.abs(np.einsum("ij,ij->i", normals[src], delta)), np.abs(np.einsum("ij,ij->i", normals[dst], delta))
    )
    keep = (cos > np.cos(np.radians(normal_deg))) & (col < color_dist) & (dist < max_edge) & (offset < plane_dist)
    graph = coo_matrix((np.ones(keep.sum()), (src[keep], dst[keep])), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    counts = np.bincount(labels)
    big = counts[labels] > max_points
    parent = labels.copy()
    if big.any():  # cut large planar segments (walls, floor) into voxel-sized patches
        voxel = np.floor(xyz / split_size).astype(np.int64)
        voxel -= voxel.min(axis=0)
        key = (voxel[:, 0] * 100_003 + voxel[:, 1]) * 100_003 + voxel[:, 2]
        vkey = _relabel(key).astype(np.int64)
        sub = _relabel(labels.astype(np.int64) * (vkey.max() + 1) + vkey)
        labels = _relabel(np.where(big, labels.max() + 1 + sub, labels))
    for restrict in (parent, None):  # voxel fragments first rejoin their own segment, then anything
        for _ in range(20):
            merged = _merge_small(labels, src, dst, col, min_points, restrict)
            if np.array_equal(merged, labels):
                break
            labels = merged
    return _relabel(labels)


def _merge_small(
    labels: np.ndarray, src: np.ndarray, dst: np.ndarray, col: np.ndarray, min_points: int, parent: np.ndarray | None
) -> np.ndarray:
    """Give every segment under ``min_points`` to the larger neighbour segment it is most tied to: kNN edges
    weighted by colour similarity, so a chair leg joins its seat rather than the floor."""
    counts = np.bincount(labels)
    small = counts < min_points
    a, b = labels[src], labels[dst]
    cross = small[a] & ((counts[b] > counts[a]) | ((counts[b] == counts[a]) & (b > a)))  # no cycles
    if parent is not None:
        cross &= parent[src] == parent[dst]
    if not cross.any():
        return labels
    pairs, inverse = np.unique(np.stack([a[cross], b[cross]], axis=1), axis=0, return_inverse=True)
    votes = np.bincount(inverse.ravel(), weights=1.0 / (1.0 + (col[cross] / 10.0) ** 2))
    order = np.lexsort((-votes, pairs[:, 0]))  # per small segment, strongest tie first
    pairs = pairs[order]
    first = np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]
    target = np.arange(len(counts))
    target[pairs[first, 0]] = pairs[first, 1]
    return target[labels]


def purity(superpoint: np.ndarray, instance: np.ndarray) -> float:
    """Point-weighted share of points that belong to their superpoint's majority instance."""
    superpoint = np.asarray(superpoint).astype(np.int64)
    inst = np.unique(np.asarray(instance), return_inverse=True)[1].astype(np.int64)
    if superpoint.size == 0:
        return 1.0
    pad = (superpoint.max() + 1) * (inst.max() + 1)
    joint = np.bincount(superpoint * (inst.max() + 1) + inst, minlength=pad).reshape(-1, inst.max() + 1)
    return float(joint.max(axis=1).sum() / superpoint.size)
