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
No prediction reads the word queries after the last layer, so that layer updates the ROOT query alone (its
attention maps, which need every query, are computed when read: ``AttentionMaps``).
An option not in 3D-STMN, off by default (``sp_context_layers``): self-attention
among the K sampled superpoints before the decoder, so the memory a query reads about one chair already
holds what stands next to it. It stays off (val record: docs/choices.md).
Not ported from 3D-STMN: the dependency-graph transformer over the parse (no parser offline).
Tried and not taken: the mask on the ROOT query only, the word queries free to attend to anchors outside the
target's mask (val record: docs/choices.md, "decoder_root_mask").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from threedrest.config import ModelConfig
from threedrest.net.attention import AttentionMaps, cross_attention, head_average, self_attention
from threedrest.net.batching import Batch
from threedrest.net.features import VOTE

PAD_LOGIT = -1e4  # logits of padded superpoints (fits float16)


@dataclass
class ModelOutput:
    sp_logits: list[Tensor]  # n_layers + 1 predictions, each (B, S)
    scores: list[Tensor]  # predicted IoU per prediction, each (B,) in [0, 1]
    sample_logits: Tensor  # (B, S) language-guided sampling relevance
    attn: Sequence[Tensor]  # per layer (B, T + 1, K), head-averaged; AttentionMaps (list(attn) for a list)
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


class _MaskLogits(torch.autograd.Function):
    """logits (B, P, S) = biases (B, P, 1) + kernels (B, P, d + c) . [sp, code] (B, S, d + c), PAD_LOGIT where ``pad``.

    The forward is the product autograd would run. The backward computes only what the graph needs: no gradient
    for the sin/cos ``code`` (B x S x c values autograd computes and drops), and the one for ``sp`` as
    (B, S, P) x (B, P, d) where autograd runs (B, d + c, P) x (B, P, S): inner size P = n_layers + 1, a layout
    BLAS runs at a fifth of its rate. The same products summed in the same order: the same bits."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, kernels: Tensor, biases: Tensor, sp: Tensor, code: Tensor,
                pad: Tensor) -> Tensor:  # fmt: skip
        basis = torch.cat([sp, code], -1)
        ctx.save_for_backward(kernels, basis, pad)
        ctx.sp_width = sp.shape[-1]
        return torch.baddbmm(biases, kernels, basis.transpose(1, 2)).masked_fill_(pad.unsqueeze(1), PAD_LOGIT)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:
        kernels, basis, pad = ctx.saved_tensors
        grad = grad.masked_fill(pad.unsqueeze(1), 0)
        d = ctx.sp_width
        grad_sp = torch.bmm(grad.transpose(1, 2), kernels[..., :d])
        return torch.bmm(grad, basis), grad.sum(2, keepdim=True), grad_sp, None, None


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

    def forward(self, q: Tensor, q_pad: Tensor, mem: Tensor, mem_key: Tensor, allowed: Tensor) -> tuple[Tensor, Tensor]:
        """Every query updated, and the cross-attention weights (B * heads, T + 1, K). ``allowed`` (B, K) True
        where the queries may look; no row is all False."""
        q = self.norms[0](q + self_attention(self.self_attn, q, q_pad))
        out, weights = cross_attention(self.cross_attn, q, mem_key, mem, allowed)
        q = self.norms[1](q + out)
        return self.norms[2](q + self.ffn(q)), weights

    def root(self, q: Tensor, q_pad: Tensor, mem: Tensor, mem_key: Tensor, allowed: Tensor) -> Tensor:
        """Only the ROOT query updated, (B, 1, d): all the last layer's prediction reads. The word queries are
        still keys and values of the self-attention; their own updates (a third of a layer) are skipped."""
        root = self.norms[0](q[:, :1] + self_attention(self.self_attn, q, q_pad, n_queries=1))
        root = self.norms[1](root + cross_attention(self.cross_attn, root, mem_key, mem, allowed)[0])
        return self.norms[2](root + self.ffn(root))

    def maps(self, q: Tensor, q_pad: Tensor, mem_key: Tensor, allowed: Tensor) -> Tensor:
        """Every query's head-averaged cross-attention map (B, T + 1, K), as ``forward`` computes it."""
        q = self.norms[0](q + self_attention(self.self_attn, q, q_pad))
        return head_average(cross_attention(self.cross_attn, q, mem_key, None, allowed)[1], self.cross_attn.num_heads)


class ContextLayer(nn.Module):
    """Self-attention among the sampled superpoints (post-norm, as DecoderLayer): relations between
    candidate objects and their neighbours reach the memory the queries read."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ffn = _ffn(d, ffn, dropout)
        self.norms = nn.ModuleList([nn.LayerNorm(d) for _ in range(2)])

    def forward(self, mem: Tensor, pad: Tensor) -> Tensor:
        mem = self.norms[0](mem + self_attention(self.self_attn, mem, pad))
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
        sampled_sp = sp.gather(1, sampled_idx.unsqueeze(-1).expand(-1, -1, sp.shape[-1]))
        valid = sp_mask.unsqueeze(-1).float()
        centre = (batch.sp_xyz * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True)
        vote = batch.sp_feats[..., VOTE] - centre
        sampled_vote = vote.gather(1, sampled_idx.unsqueeze(-1).expand(-1, -1, 3))
        mem_pos = self.pos_enc(sampled_vote)
        # two equal tensors, not one: MultiheadAttention packs the key/value projections into one product when
        # key is value, which rounds differently (and the committed results were made this way)
        mem, mem_key = sampled_sp + mem_pos, sampled_sp + mem_pos
        if len(self.context):
            pad = ~sampled_mask  # padded slots (S_b < K) are never attended to
            for context in self.context:
                mem = context(mem, pad)
            mem_key = mem + 0  # a distinct tensor, as above
        # mask features mask_feats(sp) + mask_pos(vote) are never built: a kernel k is folded into the two
        # projections, k . (W sp + P f(vote) + b) = [k W, k P] . [sp, f(vote)] + k . b, so no superpoint-wide
        # Linear runs, the layers' masks need only the K sampled rows, and all predictions come from one bmm
        code = self.mask_pos.features(vote)  # (B, S, 36); the basis of the superpoint logits is [sp, code]
        # the K sampled rows of the basis, from the K rows already gathered (the layers' masks need no gradient)
        sampled_basis = torch.cat([sampled_sp.detach(), self.mask_pos.features(sampled_vote)], -1)

        kernels, biases, scores, maps = [], [], [], []
        kernel, bias, score = self._predict(q)
        kernels.append(kernel), biases.append(bias), scores.append(score)
        root_only = self._root_only()
        for i, layer in enumerate(self.layers):
            with torch.no_grad():  # the previous prediction only selects where to look
                sampled_logits = torch.baddbmm(bias.unsqueeze(-1), sampled_basis, kernel.unsqueeze(-1)).squeeze(-1)
            allowed = _allowed(sampled_logits, sampled_mask)
            if i == root_only:
                maps.append(partial(layer.maps, q, q_pad, mem_key, allowed))
                q = layer.root(q, q_pad, mem, mem_key, allowed)
            else:
                q, weights = layer(q, q_pad, mem, mem_key, allowed)
                maps.append(partial(head_average, weights, self.cfg.n_heads))
            kernel, bias, score = self._predict(q)
            kernels.append(kernel), biases.append(bias), scores.append(score)
        logits = _MaskLogits.apply(torch.stack(kernels, 1), torch.stack(biases, 1), sp, code, ~sp_mask)  # (B, P, S)
        attn = AttentionMaps(maps)
        return ModelOutput(list(logits.unbind(1)), scores, sample_logits, attn, sampled_idx, sampled_mask)

    def _root_only(self) -> int:
        """The layer that updates the ROOT query alone (its maps computed when read): the last, unless dropout
        is on (the maps must come from the very draws the prediction used); -1 for none."""
        return len(self.layers) - 1 if not (self.training and self.cfg.dropout > 0) else -1

    def _sample_attention(self, sp: Tensor, words: Tensor, word_mask: Tensor) -> Tensor:
        """Single-head cross-attention superpoints -> words, value and output projections folded
        into one word-level Linear: CPU cost is B x S x d, where nn.MultiheadAttention's flash
        kernel took a quarter of the training step."""
        key, value = self.sample_kv(words).chunk(2, -1)
        # the query projection folded into the keys: (W sp + b) . k = sp . (k W) + b . k, a word-level product
        key = key / key.shape[-1] ** 0.5
        # padded words get a -inf bias: the product adds it to every superpoint's logit, so no (B, S, T) mask pass
        word_bias = (key @ self.sample_q.bias).masked_fill(~word_mask, float("-inf")).unsqueeze(1)  # (B, 1, T)
        logits = torch.baddbmm(word_bias, sp, (key @ self.sample_q.weight).transpose(1, 2))
        return torch.bmm(logits.softmax(-1), value)

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
    for key in ("sp_logits", "scores"):
        as_float[key] = [t.float() for t in as_float[key]]
    as_float["attn"] = AttentionMaps([partial(_autocast_float, out.attn, i) for i in range(len(out.attn))])
    return ModelOutput(**as_float)


def _autocast_float(maps: Sequence[Tensor], i: int) -> Tensor:
    """Map ``i`` read (computed, if not yet) under the bf16 autocast its layer ran in, then as float32."""
    with torch.autocast("cuda", dtype=torch.bfloat16):
        return maps[i].float()


__all__ = ["PAD_LOGIT", "AttentionMaps", "ModelOutput", "ReferModel", "apply_model", "mask2former_allowed"]
