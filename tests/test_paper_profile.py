"""The paper profile end to end at reduced size, through the path a GPU run takes (``device`` a parameter):
backbone pre-training and feature caching on the device, burn-in, hand-over, the semi-supervised phase with
TSCS and QDW, evaluation. On the CPU it runs in the test suite; on a CUDA machine the same test runs on CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from threedrest.config import Config, get_profile
from threedrest.experiments.runs import run
from threedrest.net.features import SP_FEATURES_VERSION
from threedrest.train.workspace import Workspace

# a few small scenes, a few steps of batch 2 (a paper-sized SSL step of batch 8 takes about 7 s on 2 cores); the
# decoder (d=256, 8 heads, 6 layers, FFN 1,024, K = 512, 128 words), the optimiser, the EMA momentum and the 1 %
# label ratio stay the paper profile's
REDUCED = {
    "n_train_scenes": 3, "n_val_scenes": 1, "n_test_scenes": 1, "points_per_scene": 3000, "min_objects": 4,
    "max_objects": 8, "descriptions_per_object": 2.0, "backbone_pretrain_steps": 3, "steps": 4, "burn_in_steps": 2,
    "eval_every": 4, "tscs_warmup": 0, "batch_size": 2,
}  # fmt: skip
PAPER_KEPT = ("d_model", "n_heads", "n_layers", "ffn_dim", "n_sampled", "max_words", "backbone_dim", "backbone_k")
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_paper_profile_end_to_end_at_reduced_size(device: str, tmp_path: Path) -> None:
    cfg = Config.from_flat("paper", **REDUCED, device=device, amp=device == "cuda", cache_dir=str(tmp_path / "cache"))
    paper = get_profile("paper")
    assert all(getattr(cfg.model, key) == getattr(paper.model, key) for key in PAPER_KEPT)
    assert (cfg.data.label_ratio, cfg.train.lr, cfg.ssl.ema_momentum) == (
        paper.data.label_ratio, paper.train.lr, paper.ssl.ema_momentum)  # fmt: skip
    result = run(cfg, root=tmp_path / "runs", progress=False)

    bundle = Workspace.bundle_for(cfg)
    features = bundle.features
    assert (features.folder / "backbone.pt").exists()  # pre-trained on the device, saved as CPU tensors
    assert len(list((features.folder / f"scenes-v{SP_FEATURES_VERSION}").glob("*.npz"))) == 5
    assert (features.text_folder / "minilm.npz").exists()
    history = result.history
    assert history["phase"].tolist() == ["burn_in", "burn_in", "handover", "semi"]
    semi = history[history["phase"] != "burn_in"]
    assert semi["unsup"].notna().all() and semi["correl"].between(0, 1).all() and semi["val_miou_teacher"].notna().any()
    assert result.summary["n_labelled"] == max(1, round(cfg.data.label_ratio * len(bundle.train)))
    test = result.metrics.query("split == 'test' and subset == 'overall'")
    assert set(test["model"]) == {"student", "teacher"} and (test["n"] > 0).all()
    assert test["miou"].between(0, 1).all()
    for name in ("model.pt", "predictions_test_student.npz", "pseudo_log.csv", "summary.json"):
        assert (result.run_dir / name).exists(), name
