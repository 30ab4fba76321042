"""Per-description samples over cached features, and their padded batches.

A scene's superpoint features and instance x superpoint point counts are computed once and shared
by all its descriptions, so ``__getitem__`` only slices rows. Targets (all at superpoint level):

    sp_target_count[s] = points of the target object in superpoint s
    sp_target[s]       = sp_target_count[s] / sp_sizes[s]   (soft; the hard target is >= 0.5)
    sample_target[s]   = 1 if the majority instance of s is the target, 0.5 if that instance's
                         class is mentioned in the sentence, else 0 (3D-STMN's sampling target)

Padding: superpoints beyond a sample's S and words beyond its T are zero with ``sp_mask`` /
``word_mask`` False; every consumer must respect the masks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from threedrest.data.store import CLASS_INDEX, CLASSES, DataError, DatasetIndex
from threedrest.net.features import FeatureCache


@dataclass
class Batch:
    sp_feats: Tensor  # (B, S, C) float32
    sp_xyz: Tensor  # (B, S, 3) superpoint centroids (scene-centred)
    sp_mask: Tensor  # (B, S) bool: real superpoint
    sp_sizes: Tensor  # (B, S) float: points per superpoint (0 on padding)
    sp_target_count: Tensor  # (B, S) float: target points per superpoint
    n_target: Tensor  # (B,) float: target points in the scene
    sp_target: Tensor  # (B, S) float in [0, 1]
    sample_target: Tensor  # (B, S) float in {0, 0.5, 1}: 1 on the target, 0.5 on other mentioned objects
    sp_mentioned: Tensor  # (B, S) bool: superpoint of an object whose class word is in the sentence (no label)
    word_feats: Tensor | None  # (B, T, D) float32 (MiniLM) or None
    word_ids: Tensor | None  # (B, T) long (GRU) or None
    word_mask: Tensor  # (B, T) bool
    index: Tensor  # (B,) long: position in the dataset
    unique: Tensor  # (B,) bool
    uids: list[str]
    scene_ids: list[str]

    def __len__(self) -> int:
        return len(self.uids)

    def to(self, device: str | torch.device) -> Batch:
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in moved.items():
            if isinstance(value, Tensor):
                moved[name] = value.to(device, non_blocking=True)
        return replace(self, **moved)


class ReferDataset(torch.utils.data.Dataset):
    """One sample per description uid; ``text_encoder`` is "minilm" (cached features) or "gru" (ids)."""

    def __init__(self, index: DatasetIndex, feature_cache: FeatureCache, uids: list[str], text_encoder: str,
                 max_words: int | None = None):  # fmt: skip
        from threedrest.data.words import mentioned_classes

        if text_encoder not in ("minilm", "gru"):
            raise ValueError(f"text_encoder must be 'minilm' or 'gru', got {text_encoder!r}")
        by_uid = {d["uid"]: d for d in index.descriptions}
        missing = [u for u in uids if u not in by_uid]
        if missing:
            raise ValueError(
                f"{index.root / 'descriptions.json'}: unknown uid(s) {missing[:5]} ({len(missing)} in all)"
            )
        self.index, self.cache, self.text_encoder = index, feature_cache, text_encoder
        self.max_words = max_words or feature_cache.cfg.model.max_words
        self.records = [by_uid[u] for u in uids]
        self.scenes: dict[str, dict[str, Any]] = {}
        for sid in sorted({r["scene_id"] for r in self.records}):
            self.scenes[sid] = self._scene_tensors(sid)
        # per description, 0.5 for each class its sentence names, indexed by class + 1 (column 0: no class, -1);
        # a superpoint's value is one lookup of its majority class (no per-sample isin)
        mention_half = np.zeros((len(self.records), len(CLASSES) + 1), np.float32)
        for i, r in enumerate(self.records):
            mention_half[i, [CLASS_INDEX[c] + 1 for c in mentioned_classes(r["token"]) if c in CLASS_INDEX]] = 0.5
        self.mention_half = torch.from_numpy(mention_half)
        for r in self.records:
            if int(r["object_id"]) not in self.scenes[r["scene_id"]]["row"]:
                raise DataError(f"{index.root / 'descriptions.json'}: uid {r['uid']} field 'object_id' "
                                f"{r['object_id']!r} has no points in scene {r['scene_id']}")  # fmt: skip
        if text_encoder == "minilm":
            self.text = feature_cache.text_features()
        else:
            self.vocab = feature_cache.vocabulary()

    def _scene_tensors(self, scene_id: str) -> dict[str, Any]:
        scene = self.index.load_scene(scene_id)
        feats = self.cache.scene_features(scene_id, scene)
        n_sp = scene.n_superpoints
        inst_ids, inst_row = np.unique(scene.instance, return_inverse=True)  # -1 (unannotated) is a row too
        counts = np.bincount(inst_row.reshape(-1) * n_sp + scene.superpoint, minlength=len(inst_ids) * n_sp)
        counts = counts.reshape(len(inst_ids), n_sp)
        majority = inst_ids[counts.argmax(0)]  # (S,) object id or -1
        obj_class = {int(o["object_id"]): CLASS_INDEX.get(o.get("class_name", ""), -1) for o in scene.objects}
        counts_t = torch.from_numpy(counts).float()
        return {
            "sp_feats": torch.from_numpy(feats["sp_feats"]).float(),
            "sp_xyz": torch.from_numpy(feats["sp_xyz"]).float(),
            "sp_sizes": torch.from_numpy(feats["sp_sizes"]).float(),
            "counts": counts_t,
            "n_points": counts_t.sum(1),  # points per instance row (integer-valued: exact in float32)
            "row": {int(i): r for r, i in enumerate(inst_ids) if i >= 0},
            "majority": torch.from_numpy(majority.astype(np.int64)),
            # class index + 1 of each superpoint's majority object (0: none or unannotated), a column of mention_half
            "majority_class": torch.tensor([obj_class.get(int(m), -1) + 1 for m in majority], dtype=torch.long),
        }

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, Any]:
        record = self.records[i]
        scene = self.scenes[record["scene_id"]]
        obj = int(record["object_id"])
        obj_row = scene["row"][obj]
        half = self.mention_half[i][scene["majority_class"]]  # 0.5 on superpoints of a named class: sentence only
        sample = {
            "sp_feats": scene["sp_feats"],
            "sp_xyz": scene["sp_xyz"],
            "sp_sizes": scene["sp_sizes"],
            "sp_target_count": scene["counts"][obj_row],
            "n_target": scene["n_points"][obj_row],
            "sample_target": torch.where(scene["majority"] == obj, 1.0, half),
            "sp_mentioned": half > 0,
            "index": i,
            "unique": bool(record.get("unique", False)),
            "uid": record["uid"],
            "scene_id": record["scene_id"],
        }
        if self.text_encoder == "minilm":
            row = self.text["row"][record["uid"]]
            start, end = self.text["offsets"][row], self.text["offsets"][row + 1]
            sample["word_feats"] = self.text["feats"][start : min(end, start + self.max_words)]
        else:
            ids = [self.vocab.get(t, 1) for t in record["token"][: self.max_words]] or [1]
            sample["word_ids"] = torch.tensor(ids, dtype=torch.long)
        return sample


def collate(samples: list[dict[str, Any]]) -> Batch:
    """Pad to the largest scene and sentence in the batch."""
    if not samples:
        raise ValueError("collate needs at least one sample")

    def pad(key: str) -> Tensor:
        return pad_sequence([s[key] for s in samples], batch_first=True)

    def lengths_mask(key: str) -> Tensor:
        lengths = torch.tensor([len(s[key]) for s in samples])
        return torch.arange(int(lengths.max())) < lengths.unsqueeze(1)

    sp_mask = lengths_mask("sp_sizes")
    text_key = "word_feats" if "word_feats" in samples[0] else "word_ids"
    words = pad(text_key)
    word_mask = lengths_mask(text_key)
    sp_sizes, sp_target_count = pad("sp_sizes"), pad("sp_target_count")
    return Batch(
        sp_feats=pad("sp_feats"),
        sp_xyz=pad("sp_xyz"),
        sp_mask=sp_mask,
        sp_sizes=sp_sizes,
        sp_target_count=sp_target_count,
        n_target=torch.stack([torch.as_tensor(s["n_target"], dtype=torch.float32) for s in samples]),
        sp_target=sp_target_count / sp_sizes.clamp(min=1),
        sample_target=pad("sample_target"),
        sp_mentioned=pad("sp_mentioned"),
        word_feats=words.float() if text_key == "word_feats" else None,
        word_ids=words if text_key == "word_ids" else None,
        word_mask=word_mask,
        index=torch.tensor([s["index"] for s in samples], dtype=torch.long),
        unique=torch.tensor([s["unique"] for s in samples], dtype=torch.bool),
        uids=[s["uid"] for s in samples],
        scene_ids=[s["scene_id"] for s in samples],
    )


__all__ = ["Batch", "ReferDataset", "collate"]
