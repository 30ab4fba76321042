"""ReferDataset/collate: per-scene targets, padding and text paths on a tiny synthetic dataset.

``make_dataset`` is also used by tests/test_features.py and tests/test_model.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from threedrest.config import Config
from threedrest.data.store import CLASS_INDEX, Scene, save_index, save_scene

OBJECT_CLASSES = ("chair", "table", "cabinet", "bed", "sofa", "door")
COLOURS = {"red": (200, 40, 40), "blue": (40, 40, 200), "white": (230, 230, 230), "brown": (120, 80, 40)}


def _scene(scene_id: str, rng: np.random.Generator, n_objects: int) -> tuple[Scene, list[dict]]:
    """A 4x4 m floor plus box objects; superpoints are 0.25 m cells within each object."""
    xyz, rgb, inst, sem, sp_keys = [], [], [], [], []
    floor = np.c_[rng.uniform(0, 4, (600, 2)), np.zeros(600)]
    xyz.append(floor), rgb.append(np.full((600, 3), 90)), inst.append(np.full(600, -1))
    sem.append(np.full(600, CLASS_INDEX["floor"])), sp_keys.append(np.c_[np.zeros(600), np.floor(floor[:, :2] / 1.0)])
    objects = []
    for oid in range(n_objects):
        cls = OBJECT_CLASSES[rng.integers(len(OBJECT_CLASSES))]
        colour = list(COLOURS)[rng.integers(len(COLOURS))]
        size = rng.uniform(0.4, 1.0, 3)
        centre = np.r_[rng.uniform(0.6, 3.4, 2), size[2] / 2]
        n = int(rng.integers(150, 300))
        pts = centre + (rng.uniform(-0.5, 0.5, (n, 3)) * size)
        xyz.append(pts), rgb.append(np.clip(np.array(COLOURS[colour]) + rng.normal(0, 10, (n, 3)), 0, 255))
        inst.append(np.full(n, oid)), sem.append(np.full(n, CLASS_INDEX[cls]))
        sp_keys.append(np.c_[np.full(n, oid + 1), np.floor(pts[:, :2] / 0.25)])
        objects.append({"object_id": str(oid), "object_name": cls, "class_name": cls, "colour": colour})
    _, superpoint = np.unique(np.concatenate(sp_keys), axis=0, return_inverse=True)
    scene = Scene(
        scene_id=scene_id,
        xyz=np.concatenate(xyz).astype(np.float32),
        rgb=np.concatenate(rgb).astype(np.uint8),
        superpoint=superpoint.reshape(-1).astype(np.int32),
        instance=np.concatenate(inst).astype(np.int32),
        semantic=np.concatenate(sem).astype(np.int16),
        objects=objects,
    )
    return scene, objects


def make_dataset(root: Path, n_scenes: dict[str, int] | None = None, seed: int = 0) -> Path:
    """A small dataset in the kit's format (store.py), with two descriptions per object."""
    rng = np.random.default_rng(seed)
    scenes, descriptions = {}, []
    for split, count in (n_scenes or {"train": 4, "val": 2, "test": 1}).items():
        for i in range(count):
            sid = f"scene{split[:2]}{i:02d}_00"
            scene, objects = _scene(sid, rng, int(rng.integers(3, 6)))
            save_scene(root, scene)
            meta_objects = [{k: o[k] for k in ("object_id", "object_name", "class_name")} for o in objects]
            scenes[sid] = {"split": split, "n_points": scene.n_points, "n_superpoints": scene.n_superpoints,
                           "objects": meta_objects}  # fmt: skip
            for o in objects:
                other = objects[(int(o["object_id"]) + 1) % len(objects)]["class_name"]
                unique = sum(p["class_name"] == o["class_name"] for p in objects) == 1
                for ann in range(2):
                    text = f"this is a {o['colour']} {o['class_name']}. it is near the {other}." + " ok" * ann
                    tokens = text.replace(".", " .").split()
                    descriptions.append({"scene_id": sid, "object_id": o["object_id"], "object_name": o["object_name"],
                                         "ann_id": str(ann), "description": text, "token": tokens, "split": split,
                                         "unique": unique})  # fmt: skip
    save_index(root, {"source": "synthetic-test", "seed": seed}, scenes, descriptions)
    return root


def small_config(**overrides) -> Config:
    flat = {"backbone_pretrain_steps": 4, "backbone_dim": 8, "d_model": 32, "n_heads": 2, "n_layers": 2,
            "ffn_dim": 64, "n_sampled": 16, "max_words": 12}  # fmt: skip
    return Config.from_flat("smoke", **{**flat, **overrides})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from threedrest.data.store import load_index
    from threedrest.net.features import FeatureCache

    root = make_dataset(tmp_path_factory.mktemp("refer"))
    index = load_index(root)
    cache = FeatureCache(index, small_config(), progress=False)
    return index, cache


def test_targets_match_scene_counts(built):
    from threedrest.net.batching import ReferDataset

    index, cache = built
    uids = [d["uid"] for d in index.split("train")]
    ds = ReferDataset(index, cache, uids, "gru")
    sample = ds[0]
    record = index.split("train")[0]
    scene = index.load_scene(record["scene_id"])
    target = scene.instance == int(record["object_id"])
    counts = np.bincount(scene.superpoint[target], minlength=scene.n_superpoints)
    np.testing.assert_array_equal(sample["sp_target_count"].numpy(), counts)
    assert float(sample["n_target"]) == target.sum()
    np.testing.assert_array_equal(sample["sp_sizes"].numpy(), np.bincount(scene.superpoint))
    # the synthetic superpoints never straddle objects: the majority target is exactly count > 0
    st = sample["sample_target"].numpy()
    np.testing.assert_array_equal(st == 1.0, counts > 0)
    # "near the <other class>": superpoints of that class (not the target) get 0.5
    mentioned = {record["token"][-2], record["object_name"]}  # "... a red chair. it is near the table."
    other_ids = [int(o["object_id"]) for o in scene.objects if o["class_name"] in mentioned]
    other_sp = np.isin(scene.instance, other_ids) & ~target
    expect_half = np.zeros(scene.n_superpoints, bool)
    expect_half[np.unique(scene.superpoint[other_sp])] = True
    np.testing.assert_array_equal(st == 0.5, expect_half & (counts == 0))
    # sp_mentioned: every superpoint of a named class, the target's own included (read from the sentence alone)
    named_ids = [int(o["object_id"]) for o in scene.objects if o["class_name"] in mentioned]
    expect_named = np.zeros(scene.n_superpoints, bool)
    expect_named[np.unique(scene.superpoint[np.isin(scene.instance, named_ids)])] = True
    np.testing.assert_array_equal(sample["sp_mentioned"].numpy(), expect_named)
    assert sample["sample_target"].dtype == torch.float32 and sample["sp_mentioned"].dtype == torch.bool


def test_collate_pads_and_masks(built):
    from threedrest.net.batching import ReferDataset, collate

    index, cache = built
    uids = [d["uid"] for d in index.split("train")]
    ds = ReferDataset(index, cache, uids, "minilm")
    samples = [ds[0], ds[len(ds) - 1]]
    batch = collate(samples)
    s0, s1 = (int(s["sp_feats"].shape[0]) for s in samples)
    assert batch.sp_feats.shape == (2, max(s0, s1), cache.sp_dim)
    assert batch.sp_mask.sum(1).tolist() == [s0, s1]
    assert batch.word_feats.shape[-1] == 384 and batch.word_ids is None
    assert batch.word_mask[:, 0].all() and batch.word_mask.shape[1] <= 12
    assert (batch.sp_sizes[~batch.sp_mask] == 0).all() and (batch.sp_target[~batch.sp_mask] == 0).all()
    hard = batch.sp_target >= 0.5
    assert torch.equal(batch.sp_target, batch.sp_target_count / batch.sp_sizes.clamp(min=1))
    assert hard.any(1).all()
    assert batch.index.tolist() == [0, len(ds) - 1] and batch.uids == [uids[0], uids[-1]]
    moved = batch.to("cpu")
    assert moved.sp_feats.dtype == torch.float32 and moved.uids == batch.uids


def test_gru_vocabulary_and_ids(built):
    from threedrest.net.batching import ReferDataset, collate

    index, cache = built
    vocab = cache.vocabulary()
    assert vocab["<pad>"] == 0 and vocab["<unk>"] == 1
    # "ok" occurs in train (ann 1) more than twice: kept; a word never in train maps to <unk>
    assert "ok" in vocab and "zebra" not in vocab
    uids = [d["uid"] for d in index.split("val")]
    batch = collate([ReferDataset(index, cache, uids, "gru")[i] for i in range(3)])
    assert batch.word_ids.dtype == torch.long and batch.word_feats is None
    assert (batch.word_ids[~batch.word_mask] == 0).all() and (batch.word_ids[batch.word_mask] > 0).all()


def test_unknown_uid_is_a_clear_error(built):
    from threedrest.net.batching import ReferDataset

    index, cache = built
    with pytest.raises(ValueError, match="nope"):
        ReferDataset(index, cache, ["nope"], "gru")


def _toy_batch() -> object:
    from test_model import make_batch

    batch = make_batch([6, 4], [3, 2], seed=2)
    feats = torch.zeros(2, 6, 12)
    feats[..., -6:-3] = batch.sp_xyz  # xyz columns hold the centroids, as the feature cache writes them
    feats[..., -9:-6] = 0.5
    feats[..., -3:] = torch.tensor([0.2, 0.1, 0.3])
    from dataclasses import replace

    return replace(batch, sp_feats=feats * batch.sp_mask[..., None])


def test_weak_is_identity_and_mild_rotates_by_quarter_turns():
    from threedrest.net.augment import weak

    batch = _toy_batch()
    assert weak(batch, torch.Generator().manual_seed(0)) is batch
    mild = weak(batch, torch.Generator().manual_seed(0), mild=True)
    # a quarter-turn about the centre keeps pairwise distances and swaps |extent_x| / |extent_y| or not
    d0, d1 = torch.cdist(batch.sp_xyz[0, :6], batch.sp_xyz[0, :6]), torch.cdist(mild.sp_xyz[0, :6], mild.sp_xyz[0, :6])
    torch.testing.assert_close(d0, d1, atol=1e-5, rtol=0)
    ext = mild.sp_feats[0, 0, -3:]
    assert sorted(ext[:2].tolist()) == pytest.approx([0.1, 0.2], abs=1e-5) and ext[2] == pytest.approx(0.3)


def test_strong_view_is_consistent_and_deterministic():
    from threedrest.net.augment import StrongAug, strong

    batch = _toy_batch()
    a = strong(batch, torch.Generator().manual_seed(5))
    b = strong(batch, torch.Generator().manual_seed(5))
    assert torch.equal(a.sp_feats, b.sp_feats) and torch.equal(a.sp_mask, b.sp_mask)
    # sp_xyz and the xyz columns of sp_feats moved together; padding stays zero; targets untouched
    torch.testing.assert_close(a.sp_feats[..., -6:-3], a.sp_xyz)
    assert (a.sp_xyz[~batch.sp_mask] == 0).all() and (a.sp_feats[~batch.sp_mask] == 0).all()
    assert torch.equal(a.sp_target, batch.sp_target) and torch.equal(a.sample_target, batch.sample_target)
    assert not (a.sp_mask & ~batch.sp_mask).any() and a.sp_mask.any(1).all()
    assert (a.sp_feats[..., -9:-6][batch.sp_mask].abs() <= 1).all()
    # without jitter and scaling, a rotation keeps distances; the floor stays at z = 0 offsets
    rigid = strong(batch, torch.Generator().manual_seed(1), StrongAug(scale=(1, 1), jitter=0, colour=0, drop=0))
    x0, x1 = batch.sp_xyz[0], rigid.sp_xyz[0]
    torch.testing.assert_close(torch.cdist(x0, x0), torch.cdist(x1, x1), atol=1e-5, rtol=0)
    torch.testing.assert_close(x0[:, 2], x1[:, 2])
    # dropping everything still leaves one real superpoint per sample
    dropped = strong(batch, torch.Generator().manual_seed(0), StrongAug(drop=1.0))
    assert dropped.sp_mask.sum(1).tolist() == [1, 1]
