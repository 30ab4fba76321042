"""Attention for the decoder's small shapes: nn.MultiheadAttention's kernels without its wrapper.

At the decoder's sizes (16 samples, 4 heads of 8 channels, ~33 queries, 64 keys) the module's generic
path cost more than the attention: a float mask materialised per query and head, its conversions and
checks. These functions take the module (its parameters, so checkpoints are unchanged) and call the
kernels it calls, in the same layouts, so they give the same bits. ``AttentionMaps`` holds the
cross-attention maps a forward returns and computes them when first read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class AttentionMaps(Sequence[Tensor]):
    """The cross-attention maps, one (B, T + 1, K) head average per layer, computed when first read.

    No prediction reads them (attention imitation and analysis do), and the last layer's prediction needs only
    the ROOT query: the last layer's word queries are updated only if someone reads the maps, by the same ops
    as the other layers (the same numbers, with gradients when read under autograd)."""

    def __init__(self, parts: list[Callable[[], Tensor]]) -> None:
        self._parts, self._maps = parts, None

    def _materialised(self) -> list[Tensor]:
        if self._maps is None:
            self._maps = [part() for part in self._parts]
        return self._maps

    def __len__(self) -> int:
        return len(self._parts)

    def __getitem__(self, i: int) -> Tensor:  # type: ignore[override]  (no slices)
        return self._materialised()[i]

    def __iter__(self) -> Iterator[Tensor]:
        return iter(self._materialised())


def _fused_inference(mha: nn.MultiheadAttention, x: Tensor) -> bool:
    """Whether ``mha`` on ``x`` takes its fused inference kernel (eval mode, nothing to differentiate)."""
    return not mha.training and not (torch.is_grad_enabled() and (x.requires_grad or mha.in_proj_weight.requires_grad))


def self_attention(mha: nn.MultiheadAttention, x: Tensor, pad: Tensor, n_queries: int | None = None) -> Tensor:
    """``mha(x, x, x, key_padding_mask=pad)[0]`` (batch first) without its generic wrapper: the same kernels in the
    same layouts, so the same bits, minus the mask conversions and checks that cost more than the attention
    itself at the decoder's sizes. Inference keeps the module (its fused kernel rounds differently).
    ``n_queries``: only the first that many positions ask, all remain keys and values -> (B, n_queries, E) (a
    path of its own: no module call computes it, so its rounding is its own)."""
    b, t, e = x.shape
    h = mha.num_heads
    if n_queries is not None:
        w, bias, d = mha.in_proj_weight, mha.in_proj_bias, e // h
        q = F.linear(x[:, :n_queries], w[:e], bias[:e]).view(b, n_queries, h, d).transpose(1, 2)
        k, v = F.linear(x, w[e:], bias[e:]).view(b, t, 2, h, d).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, ~pad.view(b, 1, 1, t), mha.dropout if mha.training else 0.0)
        return F.linear(out.transpose(1, 2).reshape(b, n_queries, e), mha.out_proj.weight, mha.out_proj.bias)
    if _fused_inference(mha, x):
        return mha(x, x, x, key_padding_mask=pad, need_weights=False)[0]
    # rows in (position, sample) order as in the module: the weight gradients sum over rows in that order
    q, k, v = (
        F.linear(x.transpose(0, 1), mha.in_proj_weight, mha.in_proj_bias)
        .view(t, b, 3, h, e // h)
        .permute(2, 1, 3, 0, 4)
    )
    mask = torch.zeros(b, 1, 1, t, dtype=x.dtype, device=x.device).masked_fill_(pad.view(b, 1, 1, t), float("-inf"))
    out = F.scaled_dot_product_attention(q, k, v, mask, mha.dropout if mha.training else 0.0)
    out = F.linear(out.permute(2, 0, 1, 3).reshape(t * b, e), mha.out_proj.weight, mha.out_proj.bias)
    return out.view(t, b, e).transpose(0, 1)


def cross_attention(
    mha: nn.MultiheadAttention, q: Tensor, key: Tensor, value: Tensor | None, allowed: Tensor
) -> tuple[Tensor | None, Tensor]:
    """``mha(q, key, value, attn_mask=blocked, need_weights=True, average_attn_weights=False)`` (batch first)
    where ``blocked`` is ``~allowed`` (B, K) for every query and head: the module's weights path op for op (same
    bits), with the mask kept (B * heads, 1, K) instead of materialised per query. Returns (output, weights
    (B * heads, T, K)); ``value`` None: the weights alone."""
    b, t, e = q.shape
    n_k, h = key.shape[1], mha.num_heads
    d = e // h
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    q = F.linear(q.transpose(0, 1), w_q, b_q).view(t, b * h, d).transpose(0, 1)
    k = F.linear(key.transpose(0, 1), w_k, b_k).view(n_k, b * h, d).transpose(0, 1)
    mask = torch.zeros(b, 1, n_k, dtype=q.dtype, device=q.device).masked_fill_(~allowed.unsqueeze(1), float("-inf"))
    weights = torch.baddbmm(mask.repeat_interleave(h, 0), q * math.sqrt(1.0 / d), k.transpose(1, 2)).softmax(-1)
    if mha.training and mha.dropout > 0:
        weights = F.dropout(weights, mha.dropout)
    if value is None:
        return None, weights
    v = F.linear(value.transpose(0, 1), w_v, b_v).view(n_k, b * h, d).transpose(0, 1)
    out = torch.bmm(weights, v).transpose(0, 1).reshape(t * b, e)
    return F.linear(out, mha.out_proj.weight, mha.out_proj.bias).view(t, b, e).transpose(0, 1), weights


def head_average(weights: Tensor, heads: int) -> Tensor:
    """(B * heads, T, K) attention weights -> (B, T, K), as nn.MultiheadAttention averages them."""
    return weights.view(-1, heads, *weights.shape[1:]).mean(1)


__all__ = ["AttentionMaps", "cross_attention", "head_average", "self_attention"]
