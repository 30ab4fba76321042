"""The feature path on ``cfg.train.device``: on CPU the same cached bits as before it took a device;
``device=cuda`` without a GPU refused before any work; on a CUDA machine, CUDA features close to CPU ones."""

from __future__ import annotations

import dataclasses
import hashlib
import platform
from pathlib import Path

import numpy as np
import pytest
import torch
from threedrest import numerics
from threedrest.__main__ import main as cli
from threedrest.config import Config, ConfigError
from threedrest.experiments import prepare
from threedrest.net import backbone, features
from threedrest.net.features import FeatureCache, load_dataset_index
from threedrest.train.workspace import Workspace

# sha256 (first 16 hex digits) of every array the smoke caches hold (backbone_pretrain_steps=4, MiniLM over the
# first 40 descriptions), computed by the CPU-only feature code the device-aware path replaced (commit 3f18f61).
# Regenerate only when the cache contents change on purpose (generator, backbone_settings' version,
# SP_FEATURES_VERSION, TEXT_VERSION): then the cache keys change too.
PINNED = {
    "backbone": "d6d561eeb029619f",
    "scene0000_00": "5e6da0da1cec114f",
    "scene0001_00": "9042dab6ab11a34b",
    "scene0002_00": "30cc48659add4588",
    "scene0003_00": "688e5a6656a88400",
    "scene0004_00": "f5fc7a05db963266",
    "scene0005_00": "523e0d49f2311fb2",
    "scene0006_00": "44e34e445de473ee",
    "scene0007_00": "086d210adc746ef3",
    "scene0008_00": "2a60640665683762",
    "scene0009_00": "30118174c3f61be6",
    "minilm": "bb126769ddf71717",
}
# the software the pins hold for: the README's "Same numbers on every machine" (constraints-cpu.txt, portable
# numerics, x86-64); another torch build (a GPU machine's) computes other bits by design
PINNED_FOR = torch.__version__ == "2.13.0+cpu" and numerics.mode() == "portable" and platform.machine() == "x86_64"


def digest(arrays: dict[str, np.ndarray]) -> str:
    """Hash of named arrays (name, dtype, shape and bytes), independent of the npz container's timestamps."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def cache_digests(cache: FeatureCache) -> dict[str, str]:
    """Digest of what the cache files hold: the backbone checkpoint, every scene's npz, the MiniLM npz."""
    saved = torch.load(cache.folder / "backbone.pt", map_location="cpu", weights_only=True)
    out = {"backbone": digest({k: v.numpy() for k, v in saved["state_dict"].items()})}
    for sid in cache.index.scene_ids():
        with np.load(cache.folder / f"scenes-v{features.SP_FEATURES_VERSION}" / f"{sid}.npz") as npz:
            out[sid] = digest({k: npz[k] for k in npz.files})
    with np.load(cache.text_folder / "minilm.npz") as npz:
        out["minilm"] = digest({k: npz[k] for k in npz.files})
    return out


@pytest.fixture(scope="module")
def smoke_index(tmp_path_factory: pytest.TempPathFactory):
    cfg = Config.from_flat("smoke", cache_dir=str(tmp_path_factory.mktemp("device")), backbone_pretrain_steps=4)
    index = load_dataset_index(cfg)
    return cfg, dataclasses.replace(index, descriptions=index.descriptions[:40])


def test_cpu_device_path_writes_the_bits_of_the_cpu_only_code(smoke_index) -> None:
    cfg, index = smoke_index
    assert cfg.train.device == "cpu"
    cache = FeatureCache(index, cfg, progress=False)
    cache.build()
    assert cache.device == torch.device("cpu") and backbone.device_of(cache.backbone()).type == "cpu"
    assert set(cache_digests(cache)) == set(PINNED)
    if not PINNED_FOR:
        pytest.skip(f"pins hold for torch 2.13.0+cpu, portable numerics, x86-64 (here {torch.__version__})")
    assert cache_digests(cache) == PINNED


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_refused_before_any_work(smoke_index, monkeypatch, capsys) -> None:
    cfg, index = smoke_index
    cuda = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, device="cuda"))
    message = "config key 'device' is 'cuda', but torch sees no CUDA device"

    def no_work(*args, **kwargs):
        raise AssertionError("the dataset must not be built or loaded for a device that is not there")

    for module in (prepare, features, backbone):
        for name in ("load_dataset_index", "build_graph"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, no_work)
    import threedrest.train.workspace as workspace

    monkeypatch.setattr(workspace, "load_dataset_index", no_work)
    with pytest.raises(ConfigError, match=message):
        FeatureCache(index, cuda)
    with pytest.raises(ConfigError, match=message):
        backbone.pretrain_backbone(index, cuda, progress=False)
    with pytest.raises(ConfigError, match=message):
        Workspace.for_config(dataclasses.replace(cuda, data=dataclasses.replace(cfg.data, generator_seed=99)))
    assert cli(["features", "--profile", "smoke", "--set", "device=cuda", "generator_seed=99"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_features_are_close_to_the_cpu_ones(smoke_index, tmp_path: Path) -> None:
    """Same weights (the CPU-trained backbone moved to the GPU), same scene: the pooled features agree to
    float32 rounding; the cache files keep their format."""
    cfg, index = smoke_index
    cpu = FeatureCache(index, cfg, progress=False)
    net = cpu.backbone()
    on_gpu = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, device="cuda"))
    gpu_net = FeatureCache(index, on_gpu, progress=False).backbone()  # read back from the CPU-built file
    assert backbone.device_of(gpu_net).type == "cuda"
    for sid in index.scene_ids()[:2]:
        scene = index.load_scene(sid)
        a = features.superpoint_features(net, scene, cfg.model.backbone_k)
        b = features.superpoint_features(gpu_net, scene, cfg.model.backbone_k)
        assert {k: (v.dtype, v.shape) for k, v in a.items()} == {k: (v.dtype, v.shape) for k, v in b.items()}
        np.testing.assert_allclose(b["sp_feats"], a["sp_feats"], atol=1e-4, rtol=1e-4)
        np.testing.assert_array_equal(b["sp_sizes"], a["sp_sizes"])
    texts = [d["description"] for d in index.descriptions[:8]]
    for x, y in zip(features.encode_minilm(texts), features.encode_minilm(texts, device="cuda"), strict=True):
        np.testing.assert_allclose(y.astype(np.float32), x.astype(np.float32), atol=2e-2)
