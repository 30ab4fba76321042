"""The trainable decoder of 3D-STMN over cached superpoint and word features.

Superpoint features -> Linear -> d_model (an xyz positional encoding is added to the keys of the
sampled superpoints; the features already hold each centroid). Queries are a ROOT query
(learned + mean of the words) and one query per word. Language-guided sampling scores every
superpoint by cross-attention with the sentence and keeps the top K. Each layer: word self-
attention, cross-attention from the queries to the K sampled superpoints masked by the previous
prediction (Mask2Former: only where sigmoid >= 0.5, all when that leaves a row empty), FFN. The
ROOT query gives a kernel dotted with mask features of ALL superpoints -> superpoint mask logits,
and a sigmoid MLP gives the score (predicted IoU). One prediction from the initial queries and one
per layer. Padded superpoints and words never attend or are attended to; their logits are -1e4.
An option not in 3D-STMN, off by default (``sp_context_layers``): self-attention
among the K sampled superpoints before the decoder, so the memory a query reads about one chair already
holds what stands next to it (classroom val, 10 %, seeds 0 / 1: supervised 26.5 / 27.9 -> 27.3 / 28.5 mIoU,
3DResT 32.2 / 32.0 -> 32.7 / 34.0), but not on the seed1-smaller-rooms variant (supervised 30.9 / 29.8 ->
28.5 / 28.5), so it stays off.
Not ported from 3D-STMN: the dependency-graph transformer over the parse (no parser offline).
Tried and not taken: the mask on the ROOT query only, the word queries free to attend to anchors outside the
target's mask; classroom val (10 %, seeds 0 / 1) supervised 26.5 / 27.9 -> 26.7 / 26.7 mIoU (same-class
distractors 20.9 / 20.9 -> 19.5 / 19.2), 3DResT 32.2 / 32.0 -> 30.5 / 30.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from threedrest.config import ModelConfig
from threedrest.net.batching import Batch
from threedrest.net.features import VOTE

PAD_LOGIT = -1e4  # logits of padded superpoints (fits float16)


@dataclass
class ModelOutput:
    sp_logits: list[Tensor]  # n_layers + 1 predictions, each (B, S)
    scores: list[Tensor]  # predicted IoU per prediction, each (B,) in [0, 1]
    sample_logits: Tensor  # (B, S) language-guided sampling relevance
    attn: list[Tensor]  # cross-attention maps per layer, each (B, T + 1, K), head-averaged
    sampled_idx: Tensor  # (B, K) superpoints kept by sampling
    sampled_mask: Tensor  # (B, K) bool: the kept slot is a real superpoint (False: S_b < K)

    def mask(self, sp_mask: Tensor) -> Tensor:
        """The final prediction as a superpoint mask (sigmoid >= 0.5, i.e. logit >= 0), no gradient."""
        return (torch.sigmoid(self.sp_logits[-1].detach()) >= 0.5) & sp_mask


def _mlp(c_in: int, c_hidden: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c_in, c_hidden), nn.ReLU(), nn.Linear(c_hidden, c_out))


def _ffn(d: int, hidden: int, dropout: float) -> nn.Sequential:
    """The transformer layers' feed-forward block (one builder, so decoder and context layers stay alike)."""
    return nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, d))


class FourierPE(nn.Module):
    """sin/cos of xyz at wavelengths from 8 m down to 0.25 m, projected to ``d``."""

    def __init__(self, d: int, wavelengths: tuple[float, ...] = (8.0, 4.0, 2.0, 1.0, 0.5, 0.25)):
        super().__init__()
        self.register_buffer("freqs", 2 * torch.pi / torch.tensor(wavelengths), persistent=False)
        self.proj = nn.Linear(3 * 2 * len(wavelengths), d)

    def features(self, xyz: Tensor) -> Tensor:
        """The sin/cos code before the projection, (..., 36)."""
        angles = (xyz.unsqueeze(-1) * self.freqs).flatten(-2)
        return torch.cat([angles.sin(), angles.cos()], -1)

    def forward(self, xyz: Tensor) -> Tensor:
        return self.proj(self.features(xyz))


def mask2former_allowed(sp_logits: Tensor, sampled_idx: Tensor, sampled_mask: Tensor) -> Tensor:
    """(B, K) where the previous prediction says foreground (sigmoid >= 0.5) among real sampled
    superpoints; a row with none falls back to all real sampled superpoints (no empty softmax)."""
    return _allowed(sp_logits.gather(1, sampled_idx), sampled_mask)


def _allowed(sampled_logits: Tensor, sampled_mask: Tensor) -> Tensor:
    allowed = (sampled_logits >= 0) & sampled_mask
    return torch.where(allowed.any(1, keepdim=True), allowed, sampled_mask)


class DecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ffn = _ffn(d, ffn, dropout)
        self.norms = nn.ModuleList([nn.LayerNorm(d) for _ in range(3)])

    def forward(self, q: Tensor, q_pad: Tensor, mem: Tensor, mem_key: Tensor, blocked: Tensor) -> tuple[Tensor, Tensor]:
        """``blocked`` (B * heads, Q, K) True where a query may not look; no row is all True."""
        q = self.norms[0](q + self.self_attn(q, q, q, key_padding_mask=q_pad, need_weights=False)[0])
        out, attn = self.cross_attn(q, mem_key, mem, attn_mask=blocked, need_weights=True)
        q = self.norms[1](q + out)
        return self.norms[2](q + self.ffn(q)), attn


class ContextLayer(nn.Module):
    """Self-attention among the sampled superpoints (post-norm, as DecoderLayer): relations between
    candidate objects and their neighbours reach the memory the queries read."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ffn = _ffn(d, ffn, dropout)
        self.norms = nn.ModuleList([nn.LayerNorm(d) for _ in range(2)])

    def forward(self, mem: Tensor, pad: Tensor) -> Tensor:
        mem = self.norms[0](mem + self.self_attn(mem, mem, mem, key_padding_mask=pad, need_weights=False)[0])
        return self.norms[1](mem + self.ffn(mem))


class ReferModel(nn.Module):
    def __init__(self, cfg: ModelConfig, sp_in_dim: int, word_in_dim: int | None = None,
                 vocab_size: int | None = None):  # fmt: skip
        super().__init__()
        d, self.cfg, self.sp_in_dim = cfg.d_model, cfg, sp_in_dim
        if d % cfg.n_heads:
            raise ValueError(f"d_model ({d}) must be divisible by n_heads ({cfg.n_heads})")
        # superpoint-level layers are single Linears: B x S rows dominate the CPU step time
        self.sp_proj = nn.Sequential(nn.Linear(sp_in_dim, d), nn.LayerNorm(d))
        # Fourier features of each superpoint's vote for its object's centre: the superpoints of one
        # object share a code, so a kernel can select one object by where it is (a dot product with
        # raw xyz could only select a half-space)
        self.pos_enc = FourierPE(d)
        self.mask_pos = FourierPE(d)
        if cfg.text_encoder == "gru":
            if not vocab_size:
                raise ValueError("text_encoder 'gru' needs vocab_size")
            self.embed = nn.Embedding(vocab_size, d, padding_idx=0)
            self.gru = nn.GRU(d, d // 2, batch_first=True, bidirectional=True)
        else:
            if not word_in_dim:
                raise ValueError(f"text_encoder {cfg.text_encoder!r} needs word_in_dim")
            self.word_proj = nn.Sequential(nn.Linear(word_in_dim, d), nn.LayerNorm(d))
        self.root = nn.Parameter(torch.zeros(1, d))
        self.sample_q, self.sample_kv = nn.Linear(d, d), nn.Linear(d, 2 * d)
        self.sample_norm = nn.LayerNorm(d)
        self.sample_head = nn.Linear(d, 1)
        self.mask_feats = nn.Linear(d, d)
        self.context = nn.ModuleList(
            ContextLayer(d, cfg.n_heads, cfg.ffn_dim, cfg.dropout) for _ in range(cfg.sp_context_layers)
        )
        self.layers = nn.ModuleList(DecoderLayer(d, cfg.n_heads, cfg.ffn_dim, cfg.dropout) for _ in range(cfg.n_layers))
        self.out_norm = nn.LayerNorm(d)
        self.kernel = _mlp(d, d, d)
        self.score = _mlp(d, d, 1)

    def encode_words(self, batch: Batch) -> Tensor:
        if self.cfg.text_encoder == "gru":
            if batch.word_ids is None:
                raise ValueError("text_encoder 'gru' needs batch.word_ids (build the dataset with 'gru')")
            lengths = batch.word_mask.sum(1).cpu()
            packed = pack_padded_sequence(self.embed(batch.word_ids), lengths, batch_first=True, enforce_sorted=False)
            out = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=batch.word_mask.shape[1])[0]
            return out
        if batch.word_feats is None:
            raise ValueError(f"text_encoder {self.cfg.text_encoder!r} needs batch.word_feats")
        return self.word_proj(batch.word_feats)

    def forward(self, batch: Batch) -> ModelOutput:
        if batch.sp_feats.shape[-1] != self.sp_in_dim:
            raise ValueError(f"batch.sp_feats has {batch.sp_feats.shape[-1]} channels, model expects {self.sp_in_dim}")
        sp_mask, word_mask = batch.sp_mask, batch.word_mask
        if not sp_mask.any(1).all() or not word_mask.any(1).all():
            raise ValueError("every sample needs at least one superpoint and one word")
        sp = self.sp_proj(batch.sp_feats)

        words = self.encode_words(batch)
        w = word_mask.unsqueeze(-1).float()
        root = self.root + (words * w).sum(1) / w.sum(1)
        q = torch.cat([root.unsqueeze(1), words], 1)
        q_pad = torch.cat([torch.zeros_like(word_mask[:, :1]), ~word_mask], 1)

        # language-guided sampling: superpoints look at the sentence, score, keep the top K
        sp = self.sample_norm(sp + self._sample_attention(sp, words, word_mask))
        sample_logits = self.sample_head(sp).squeeze(-1).masked_fill(~sp_mask, PAD_LOGIT)
        k = min(self.cfg.n_sampled, sp_mask.shape[1])
        ranking = sample_logits.detach().masked_fill(~sp_mask, float("-inf"))
        sampled_idx = ranking.topk(k, dim=1).indices
        sampled_mask = sp_mask.gather(1, sampled_idx)
        mem = sp.gather(1, sampled_idx.unsqueeze(-1).expand(-1, -1, sp.shape[-1]))
        valid = sp_mask.unsqueeze(-1).float()
        centre = (batch.sp_xyz * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True)
        vote = batch.sp_feats[..., VOTE] - centre
        mem_pos = self.pos_enc(vote.gather(1, sampled_idx.unsqueeze(-1).expand(-1, -1, 3)))
        # two equal tensors, not one: MultiheadAttention packs the key/value projections into one product when
        # key is value, which rounds differently (and the committed results were made this way)
        mem, mem_key = mem + mem_pos, mem + mem_pos
        if len(self.context):
            pad = ~sampled_mask  # padded slots (S_b < K) are never attended to
            for context in self.context:
                mem = context(mem, pad)
            mem_key = mem + 0  # a distinct tensor, as above
        # mask features mask_feats(sp) + mask_pos(vote) are never built: a kernel k is folded into the two
        # projections, k . (W sp + P f(vote) + b) = [k W, k P] . [sp, f(vote)] + k . b, so no superpoint-wide
        # Linear runs, the layers' masks need only the K sampled rows, and all predictions come from one bmm
        basis = torch.cat([sp, self.mask_pos.features(vote)], -1)  # (B, S, d + 36)
        sampled_basis = basis.gather(1, sampled_idx.unsqueeze(-1).expand(-1, -1, basis.shape[-1]))

        kernels, biases, scores, attn_maps = [], [], [], []
        kernel, bias, score = self._predict(q)
        kernels.append(kernel), biases.append(bias), scores.append(score)
        heads, n_q = self.cfg.n_heads, q.shape[1]
        for layer in self.layers:
            sampled_logits = torch.baddbmm(bias.unsqueeze(-1), sampled_basis, kernel.unsqueeze(-1)).squeeze(-1)
            allowed = _allowed(sampled_logits.detach(), sampled_mask)
            blocked = (~allowed).unsqueeze(1).expand(-1, n_q, -1).repeat_interleave(heads, 0)
            q, attn = layer(q, q_pad, mem, mem_key, blocked)
            kernel, bias, score = self._predict(q)
            kernels.append(kernel), biases.append(bias), scores.append(score), attn_maps.append(attn)
        logits = torch.baddbmm(torch.stack(biases, 1), torch.stack(kernels, 1), basis.transpose(1, 2))
        logits = logits.masked_fill(~sp_mask.unsqueeze(1), PAD_LOGIT)  # (B, n_layers + 1, S)
        return ModelOutput(list(logits.unbind(1)), scores, sample_logits, attn_maps, sampled_idx, sampled_mask)

    def _sample_attention(self, sp: Tensor, words: Tensor, word_mask: Tensor) -> Tensor:
        """Single-head cross-attention superpoints -> words, value and output projections folded
        into one word-level Linear: CPU cost is B x S x d, where nn.MultiheadAttention's flash
        kernel took a quarter of the training step."""
        key, value = self.sample_kv(words).chunk(2, -1)
        # the query projection folded into the keys: (W sp + b) . k = sp . (k W) + b . k, a word-level product
        key = key / key.shape[-1] ** 0.5
        word_bias = (key @ self.sample_q.bias).unsqueeze(1)  # (B, 1, T)
        logits = torch.baddbmm(word_bias, sp, (key @ self.sample_q.weight).transpose(1, 2))
        attn = logits.masked_fill(~word_mask.unsqueeze(1), float("-inf")).softmax(-1)
        return torch.bmm(attn, value)

    def _predict(self, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The ROOT query's mask kernel folded into the mask projections (B, d + 36), its bias (B, 1), its score."""
        root = self.out_norm(q[:, 0])
        k = self.kernel(root)
        folded = torch.cat([k @ self.mask_feats.weight, k @ self.mask_pos.proj.weight], -1)
        bias = k @ (self.mask_feats.bias + self.mask_pos.proj.bias)
        return folded, bias.unsqueeze(-1), torch.sigmoid(self.score(root)).squeeze(-1)


def apply_model(model: nn.Module, batch: Batch, amp: bool = False) -> ModelOutput:
    """The model on a batch; with ``amp`` (cuda) under bf16 autocast, outputs back in float32 for the losses."""
    if not amp:
        return model(batch)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(batch)
    as_float = {k: v.float() if torch.is_tensor(v) and v.is_floating_point() else v for k, v in vars(out).items()}
    for key in ("sp_logits", "scores", "attn"):
        as_float[key] = [t.float() for t in as_float[key]]
    return ModelOutput(**as_float)


__all__ = ["PAD_LOGIT", "ModelOutput", "ReferModel", "apply_model", "mask2former_allowed"]
