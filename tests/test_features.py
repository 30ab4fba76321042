"""Backbone pieces and the feature cache: contents, hit/miss, corruption rebuild, text features, CLI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from test_batching import make_dataset, small_config
from threedrest.data.store import load_index
from threedrest.net import features
from threedrest.net.backbone import DenseEdgeConv, knn_table
from threedrest.net.features import EXTENT, RGB, SP_FEATURES_VERSION, XYZ, FeatureCache
from torch_geometric.nn import EdgeConv


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return load_index(make_dataset(tmp_path_factory.mktemp("feat"), {"train": 3, "val": 1}))


def test_knn_table_matches_brute_force():
    xyz = np.random.default_rng(0).uniform(0, 1, (50, 3)).astype(np.float32)
    nbr = knn_table(xyz, 4)
    brute = torch.cdist(torch.from_numpy(xyz), torch.from_numpy(xyz)).topk(4, largest=False).indices
    assert nbr.shape == (50, 4) and (nbr[:, 0] == torch.arange(50)).all()
    assert all(set(a) == set(b) for a, b in zip(nbr.tolist(), brute.tolist(), strict=True))
    assert knn_table(xyz[:3], 5).shape == (3, 5)  # fewer points than k: neighbours repeat


def test_dense_edgeconv_equals_torch_geometric_edgeconv():
    torch.manual_seed(0)
    x, nbr = torch.randn(30, 5), knn_table(np.random.default_rng(1).uniform(0, 1, (30, 3)), 6)
    conv = DenseEdgeConv(5, 7)
    reference = EdgeConv(conv.lin, aggr="max")  # message lin([x_i, x_j - x_i]), max over j -> i
    edge_index = torch.stack([nbr.reshape(-1), torch.arange(30).repeat_interleave(6)])
    # the factorised forward ((W_i - W_d) x_i + max_j W_d x_j) against the message-passing definition
    expected = torch.nn.functional.leaky_relu(conv.norm(reference(x, edge_index)), 0.2)
    torch.testing.assert_close(conv(x, nbr), expected)


def test_superpoint_features_are_means_per_superpoint(index):
    cache = FeatureCache(index, small_config(), progress=False)
    sid = index.scene_ids("train")[0]
    feats, scene = cache.scene_features(sid), index.load_scene(sid)
    sp, n_sp = scene.superpoint, scene.n_superpoints
    centred = scene.xyz - np.r_[scene.xyz[:, :2].mean(0), 0]
    sizes = np.bincount(sp)
    mean = np.stack([np.bincount(sp, weights=centred[:, d]) for d in range(3)], 1) / sizes[:, None]
    rgb = np.stack([np.bincount(sp, weights=scene.rgb[:, d] / 127.5 - 1) for d in range(3)], 1) / sizes[:, None]
    np.testing.assert_array_equal(feats["sp_sizes"], sizes)
    np.testing.assert_allclose(feats["sp_xyz"], mean, atol=1e-5)
    np.testing.assert_allclose(feats["sp_feats"][:, XYZ], mean, atol=1e-5)
    np.testing.assert_allclose(feats["sp_feats"][:, RGB], rgb, atol=1e-5)
    first = sp == 0
    np.testing.assert_allclose(feats["sp_feats"][0, EXTENT], np.ptp(centred[first], 0), atol=1e-5)
    assert feats["sp_feats"].shape == (n_sp, cache.sp_dim) and np.isfinite(feats["sp_feats"]).all()


def test_cache_hit_miss_and_corruption_rebuild(index, monkeypatch):
    cfg = small_config()
    first = FeatureCache(index, cfg, progress=False)
    sid = index.scene_ids("val")[0]
    built = first.scene_features(sid)
    path = first.folder / f"scenes-v{SP_FEATURES_VERSION}" / f"{sid}.npz"
    assert path.exists() and (first.folder / "backbone.pt").exists()

    def no_pretraining(*args, **kwargs):
        raise AssertionError("a cache hit must not pre-train again")

    monkeypatch.setattr(features, "pretrain_backbone", no_pretraining)
    hit = FeatureCache(index, cfg, progress=False)
    np.testing.assert_array_equal(hit.scene_features(sid)["sp_feats"], built["sp_feats"])
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="corrupted"):
        rebuilt = FeatureCache(index, cfg, progress=False).scene_features(sid)
    np.testing.assert_array_equal(rebuilt["sp_feats"], built["sp_feats"])
    monkeypatch.undo()
    (first.folder / "backbone.pt").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="corrupted backbone"):
        again = FeatureCache(index, cfg, progress=False).backbone()
    # pre-training is seeded: the rebuilt backbone is the same network
    for a, b in zip(again.state_dict().values(), first.backbone().state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_cache_key_follows_backbone_settings_only(index):
    base = FeatureCache(index, small_config(), progress=False).key
    assert FeatureCache(index, small_config(d_model=64), progress=False).key == base
    assert FeatureCache(index, small_config(backbone_k=8), progress=False).key != base


def test_cache_keys_ignore_how_long_the_benchmark_took_to_build(index):
    """A regenerated, identical benchmark differs only in its build time: it keeps its feature caches."""
    first = FeatureCache(index, small_config(), progress=False)
    timed = dataclasses.replace(index, manifest={**index.manifest, "generation_seconds": 12345.6})
    again = FeatureCache(timed, small_config(), progress=False)
    assert (again.key, again.text_folder) == (first.key, first.text_folder)
    other = dataclasses.replace(index, manifest={**index.manifest, "objects": index.manifest.get("objects", 0) + 1})
    assert FeatureCache(other, small_config(), progress=False).key != first.key


def test_text_features_and_vocabulary(index):
    cache = FeatureCache(index, small_config(), progress=False)
    text = cache.text_features()
    assert len(text["row"]) == len(index.descriptions) and text["feats"].shape[1] == 384
    lengths = np.diff(text["offsets"])
    first = index.descriptions[0]["description"]  # "this is a <colour> <class>. it is near the <class>."
    assert lengths.min() >= len(first.split()) and text["feats"].dtype == torch.float16
    again = FeatureCache(index, small_config(), progress=False).text_features()  # read back from disk
    assert torch.equal(again["feats"], text["feats"])
    vocab = cache.vocabulary()
    assert {"<pad>", "<unk>", "this", "near"} <= set(vocab) and len(set(vocab.values())) == len(vocab)


def test_cli_and_cached_vs_recompute(index, monkeypatch, capsys):
    from threedrest.experiments import bench, prepare

    monkeypatch.setattr(prepare, "load_dataset_index", lambda cfg: index)
    flat = ["backbone_pretrain_steps=4", "backbone_dim=8", "d_model=32", "n_heads=2", "n_sampled=16"]
    assert prepare.main(["--profile", "smoke", "--set", *flat]) == 0
    out = capsys.readouterr().out
    assert "sem_acc" in out and "ratio" in out
    cache = FeatureCache(index, small_config(), progress=False)
    timing = bench.time_cached_vs_recompute(cache, [d["uid"] for d in index.split("val")], n_recompute=2)
    assert timing["ratio"] > 1.0 and timing["n_descriptions"] == len(index.split("val"))
    from threedrest.__main__ import main as cli

    assert cli(["features", "--set", "no_such_key=1"]) == 2  # "error: unknown config key ...", like argparse


def test_features_do_not_depend_on_the_callers_thread_count(tmp_path) -> None:
    """A notebook (2 threads) and a training worker (1 thread) must share identical features."""
    from threedrest.net.backbone import FEATURE_THREADS, PointBackbone, deterministic
    from threedrest.net.features import superpoint_features

    index = load_index(make_dataset(tmp_path))
    scene = index.load_scene(index.scene_ids()[0])
    torch.manual_seed(0)
    backbone = PointBackbone(8).eval()
    previous = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(superpoint_features(backbone, scene, k=8)["sp_feats"])
            assert torch.get_num_threads() == threads  # restored after the deterministic block
        torch.set_num_threads(1)
        with deterministic():
            assert torch.get_num_threads() == FEATURE_THREADS  # whatever the caller runs with
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(results[0], results[1])


def test_cached_vs_recompute_refuses_an_empty_split(index) -> None:
    from threedrest.experiments import bench

    cache = FeatureCache(index, small_config(), progress=False)
    with pytest.raises(ValueError, match="at least one description"):
        bench.time_cached_vs_recompute(cache, [])
