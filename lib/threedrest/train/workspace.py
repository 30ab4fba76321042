"""Everything a run reads: the dataset, cached features, the three splits, and its labelled subset.

The heavy part (index, feature cache, per-split datasets) is shared by every run in a process
that uses the same data and backbone; only the labelled/unlabelled positions differ per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from threedrest.config import Config
from threedrest.data.splits import check_splits, labelled_subset
from threedrest.data.store import DatasetIndex
from threedrest.io import stable_hash
from threedrest.net.backbone import backbone_settings, require_device
from threedrest.net.batching import Batch, ReferDataset, collate
from threedrest.net.decoder import ReferModel
from threedrest.net.features import MINILM_DIM, FeatureCache, load_dataset_index


@dataclass
class DataBundle:
    index: DatasetIndex
    features: FeatureCache
    train: ReferDataset
    val: ReferDataset
    test: ReferDataset


@dataclass
class Workspace:
    cfg: Config
    bundle: DataBundle
    lb_uids: list[str]
    lb_positions: list[int]
    ulb_positions: list[int]

    _bundles: ClassVar[dict[str, DataBundle]] = {}
    collate = staticmethod(collate)

    @property
    def train(self) -> ReferDataset:
        return self.bundle.train

    @property
    def val(self) -> ReferDataset:
        return self.bundle.val

    @property
    def test(self) -> ReferDataset:
        return self.bundle.test

    @classmethod
    def bundle_key(cls, cfg: Config) -> str:
        """Configs with one key share a dataset and its caches (the labelled subset is not part of it)."""
        data_key = {k: v for k, v in cfg.to_dict()["data"].items() if k not in ("label_ratio", "split_by")}
        return stable_hash([data_key, backbone_settings(cfg.model), cfg.model.text_encoder, cfg.model.max_words])

    @classmethod
    def bundle_for(cls, cfg: Config, progress: bool = False) -> DataBundle:
        key = cls.bundle_key(cfg)
        if key not in cls._bundles:
            require_device(cfg.train.device)  # device=cuda without a GPU: ConfigError before the dataset is built
            index = load_dataset_index(cfg)
            check_splits(index)  # before backbone pre-training: an empty split says why and what to set
            features = FeatureCache(index, cfg, progress=progress)
            splits = {}
            for split in ("train", "val", "test"):
                uids = [d["uid"] for d in index.split(split)]
                splits[split] = ReferDataset(index, features, uids, cfg.model.text_encoder)
            cls._bundles[key] = DataBundle(index, features, **splits)
        return cls._bundles[key]

    @classmethod
    def for_config(cls, cfg: Config, progress: bool = False) -> Workspace:
        bundle = cls.bundle_for(cfg, progress)
        records = bundle.index.split("train")
        lb_uids = labelled_subset(records, cfg.data.label_ratio, cfg.seed, by=cfg.data.split_by)
        position = {r["uid"]: i for i, r in enumerate(bundle.train.records)}
        lb_positions = sorted(position[u] for u in lb_uids)
        lb_set = set(lb_positions)
        ulb_positions = [i for i in range(len(bundle.train)) if i not in lb_set]  # used by methods with a teacher
        return cls(cfg, bundle, list(lb_uids), lb_positions, ulb_positions)

    def batch(self, positions: list[int]) -> Batch:
        """The training samples at ``positions`` as one padded batch on the training device."""
        return self.collate([self.train[p] for p in positions]).to(self.cfg.train.device)

    def ensure_cached(self) -> dict[str, Any]:
        return self.bundle.features.build()

    def build_model(self) -> Any:
        features = self.bundle.features
        vocab = len(features.vocabulary()) if self.cfg.model.text_encoder == "gru" else None
        return ReferModel(self.cfg.model, features.sp_dim, MINILM_DIM, vocab)
