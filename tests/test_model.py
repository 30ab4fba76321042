"""ReferModel: shapes, padding invariance, Mask2Former masking and fallback, sampling, text paths."""

from __future__ import annotations

import pytest
import torch
from threedrest.config import Config
from threedrest.net.batching import Batch
from threedrest.net.decoder import AttentionMaps, ReferModel, mask2former_allowed
from threedrest.net.losses import referring_loss

C, D, VOCAB = 15, 24, 30  # C >= 12: the last twelve columns are vote, rgb, xyz, extent


def model_cfg(**overrides):
    flat = {"d_model": 32, "n_heads": 4, "n_layers": 2, "ffn_dim": 64, "n_sampled": 8}
    return Config.from_flat("smoke", **{**flat, **overrides}).model


def make_batch(n_sp: list[int], n_words: list[int], seed: int = 0, s_pad: int = 0, t_pad: int = 0) -> Batch:
    """Random batch; sample i has n_sp[i] superpoints and n_words[i] words, padded to the max (+ extra)."""
    g = torch.Generator().manual_seed(seed)
    b, s, t = len(n_sp), max(n_sp) + s_pad, max(n_words) + t_pad
    sp_mask = torch.arange(s)[None] < torch.tensor(n_sp)[:, None]
    word_mask = torch.arange(t)[None] < torch.tensor(n_words)[:, None]
    target = ((torch.rand(b, s, generator=g) < 0.3) & sp_mask).float()
    target[:, 0] = 1.0
    sizes = torch.randint(5, 20, (b, s), generator=g).float() * sp_mask
    return Batch(
        sp_feats=torch.randn(b, s, C, generator=g) * sp_mask[..., None],
        sp_xyz=torch.rand(b, s, 3, generator=g) * 4 * sp_mask[..., None],
        sp_mask=sp_mask,
        sp_sizes=sizes,
        sp_target_count=target * sizes,
        n_target=(target * sizes).sum(1),
        sp_target=target,
        sample_target=target,
        sp_mentioned=target.bool(),
        word_feats=torch.randn(b, t, D, generator=g) * word_mask[..., None],
        word_ids=torch.randint(2, VOCAB, (b, t), generator=g) * word_mask,
        word_mask=word_mask,
        index=torch.arange(b),
        unique=torch.zeros(b, dtype=torch.bool),
        uids=[f"u{i}" for i in range(b)],
        scene_ids=[f"s{i}" for i in range(b)],
    )


def take(batch: Batch, i: int) -> Batch:
    """Sample i alone, cropped to its own size (no padding)."""
    s, t = int(batch.sp_mask[i].sum()), int(batch.word_mask[i].sum())
    fields = {}
    for name, value in vars(batch).items():
        if isinstance(value, torch.Tensor):
            value = value[i : i + 1]
            if value.dim() >= 2 and name.startswith(("sp_", "sample")):
                value = value[:, :s]
            elif value.dim() >= 2 and name.startswith("word"):
                value = value[:, :t]
        elif isinstance(value, list):
            value = value[i : i + 1]
        fields[name] = value
    return Batch(**fields)


def build(text_encoder: str = "minilm", seed: int = 0, **overrides) -> ReferModel:
    torch.manual_seed(seed)
    return ReferModel(model_cfg(text_encoder=text_encoder, **overrides), C, D, VOCAB).eval()


def test_output_shapes_and_prediction_count():
    batch = make_batch([20, 13, 5], [7, 4, 9])
    out = build(n_layers=3)(batch)
    assert len(out.sp_logits) == len(out.scores) == 4 and len(out.attn) == 3  # initial + one per layer
    assert all(x.shape == (3, 20) for x in out.sp_logits) and out.sample_logits.shape == (3, 20)
    assert all(s.shape == (3,) and (s >= 0).all() and (s <= 1).all() for s in out.scores)
    assert all(a.shape == (3, 10, 8) for a in out.attn) and out.sampled_idx.shape == (3, 8)
    assert torch.allclose(out.attn[0].sum(-1), torch.ones(3, 10), atol=1e-5)
    assert (out.sp_logits[-1][~batch.sp_mask] == -1e4).all()


@pytest.mark.parametrize("text_encoder", ["minilm", "gru"])
def test_padding_does_not_change_valid_outputs(text_encoder):
    batch = make_batch([12, 30], [5, 9], s_pad=3, t_pad=2)  # sample 0 is padded on both axes
    model = build(text_encoder)
    with torch.no_grad():
        full, alone = model(batch), model(take(batch, 0))
    for a, b in zip(full.sp_logits, alone.sp_logits, strict=True):
        torch.testing.assert_close(a[0, :12], b[0], atol=1e-5, rtol=1e-4)
    for a, b in zip(full.scores, alone.scores, strict=True):
        torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(full.sample_logits[0, :12], alone.sample_logits[0], atol=1e-5, rtol=1e-4)


def test_context_layer_ignores_padded_slots_and_reaches_the_masks():
    """sp_context_layers: self-attention among the sampled superpoints. A sample with fewer superpoints than
    K (padded slots) must give the same outputs alone as in a batch, and the layer must change the masks."""
    batch = make_batch([5, 30], [4, 6], s_pad=2)  # sample 0: 5 superpoints < K = 8, plus padding
    model = build(sp_context_layers=1)
    assert len(model.context) == 1 and len(build(sp_context_layers=0).context) == 0
    with torch.no_grad():
        full, alone = model(batch), model(take(batch, 0))
        model.context[0].ffn[-1].bias.add_(torch.linspace(-1, 1, 32))  # not uniform: LayerNorm follows
        changed = model(batch)
    assert full.sampled_mask[0].sum() == 5
    for a, b in zip(full.sp_logits, alone.sp_logits, strict=True):
        torch.testing.assert_close(a[0, :5], b[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(full.scores[-1][0], alone.scores[-1][0], atol=1e-5, rtol=1e-4)
    # the initial prediction comes before the decoder; every layer's prediction reads the context memory
    torch.testing.assert_close(full.sp_logits[0], changed.sp_logits[0])
    assert not torch.allclose(full.sp_logits[-1], changed.sp_logits[-1])


def test_sampling_keeps_top_k_valid_superpoints():
    batch = make_batch([5, 30], [4, 6])
    out = build()(batch)
    # sample 0 has fewer superpoints than K = 8: all 5 kept, the other 3 slots are marked invalid
    assert out.sampled_mask[0].sum() == 5 and set(out.sampled_idx[0][out.sampled_mask[0]].tolist()) == set(range(5))
    # sample 1: exactly the top 8 sampling scores
    assert out.sampled_mask[1].all()
    top = out.sample_logits[1].topk(8).indices
    assert set(out.sampled_idx[1].tolist()) == set(top.tolist())


def test_mask2former_allowed_and_fallback():
    logits = torch.tensor([[-1.0, 2.0, -3.0, 0.0], [-1.0, -2.0, -3.0, -4.0], [5.0, -2.0, -3.0, -4.0]])
    idx = torch.tensor([[0, 1, 2], [3, 1, 0], [1, 2, 0]])
    valid = torch.tensor([[True, True, True], [True, True, False], [True, True, False]])
    allowed = mask2former_allowed(logits, idx, valid)
    expected = [[False, True, False], [True, True, False], [True, True, False]]
    # row 0: only superpoint 1 is foreground; row 1: none -> all real slots;
    # row 2: the foreground superpoint 0 sits in an invalid (padding) slot -> all real slots
    assert allowed.tolist() == expected


def test_cross_attention_is_masked_by_previous_prediction():
    batch = make_batch([20, 6], [5, 3])
    model = build()
    out = model(batch)
    allowed = mask2former_allowed(out.sp_logits[0], out.sampled_idx, out.sampled_mask)
    assert (out.attn[0].masked_select(~allowed.unsqueeze(1).expand_as(out.attn[0])) == 0).all()
    # force every logit negative: each row must fall back to all real sampled superpoints
    with torch.no_grad():
        model.mask_feats.weight.zero_(), model.mask_feats.bias.fill_(1.0)
        model.kernel[-1].weight.zero_(), model.kernel[-1].bias.fill_(-1.0)
        out = model(batch)
    assert (out.sp_logits[1][batch.sp_mask] < 0).all()
    assert ((out.attn[0] > 0) == out.sampled_mask.unsqueeze(1).expand_as(out.attn[0])).all()


def test_same_seed_same_outputs_and_bad_input():
    batch = make_batch([9, 14], [4, 6])
    a, b = build(seed=3)(batch), build(seed=3)(batch)
    assert torch.equal(a.sp_logits[-1], b.sp_logits[-1]) and torch.equal(a.scores[-1], b.scores[-1])
    assert not torch.equal(a.sp_logits[-1], build(seed=4)(batch).sp_logits[-1])
    with pytest.raises(ValueError, match="channels"):
        build()(Batch(**{**vars(batch), "sp_feats": batch.sp_feats[..., :5]}))
    with pytest.raises(ValueError, match="vocab_size"):
        ReferModel(model_cfg(text_encoder="gru"), C, D)


@pytest.mark.parametrize("text_encoder", ["minilm", "gru"])
def test_training_steps_lower_the_loss(text_encoder):
    batch = make_batch([16, 10, 24, 12], [5, 7, 4, 6], seed=1)
    cfg = model_cfg(text_encoder=text_encoder)
    model = build(text_encoder).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def loss() -> torch.Tensor:
        out = model(batch)
        terms = referring_loss(out.sp_logits, out.scores, out.sample_logits, batch.sp_target, batch.sample_target,
                               batch.sp_mask, cfg)  # fmt: skip
        return terms["total"].mean()

    with torch.no_grad():
        first = float(loss())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: a second thread only adds spin-waits on a shared machine
    try:
        for _ in range(25):
            opt.zero_grad()
            loss().backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        assert float(loss()) < 0.7 * first


@pytest.mark.parametrize("training", [True, False])
def test_last_layer_updates_the_root_query_alone(monkeypatch, training):
    """Only the ROOT query of the last layer feeds a prediction: the model updates it alone and computes that
    layer's attention maps when they are read. Pinned against every query updated (ReferModel._root_only -1):
    the same predictions up to rounding, the very same maps, and the same gradients through the maps."""
    batch = make_batch([20, 13, 5], [7, 4, 9], t_pad=2)
    model = build(n_layers=2).train(training)
    fast = model(batch)
    assert isinstance(fast.attn, AttentionMaps) and len(fast.attn) == 2 and fast.attn._maps is None
    monkeypatch.setattr(ReferModel, "_root_only", lambda self: -1)
    full = model(batch)
    for a, b in zip([*fast.sp_logits, *fast.scores], [*full.sp_logits, *full.scores], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(fast.attn, full.attn, strict=True))
    params = list(model.layers[-1].self_attn.parameters())
    grads = [torch.autograd.grad(sum((m**2).sum() for m in out.attn), params) for out in (fast, full)]
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


def test_folded_projections_equal_the_unfolded_formulas():
    """The decoder never builds superpoint-wide mask features or sampling queries: both projections are
    folded into word- and query-level products. Pinned here against the formulas they replace."""
    model = build(seed=5).double()
    g = torch.Generator().manual_seed(1)
    sp, vote = torch.randn(3, 11, 32, generator=g).double(), torch.randn(3, 11, 3, generator=g).double()
    q = torch.randn(3, 6, 32, generator=g).double()
    kernel, bias, _ = model._predict(q)
    folded = torch.einsum("bsc,bc->bs", torch.cat([sp, model.mask_pos.features(vote)], -1), kernel) + bias
    mask_feats = model.mask_feats(sp) + model.mask_pos(vote)  # 3D-STMN's mask features
    unfolded = torch.einsum("bd,bsd->bs", model.kernel(model.out_norm(q[:, 0])), mask_feats)
    torch.testing.assert_close(folded, unfolded)

    words, word_mask = q[:, 1:], torch.tensor([[True] * 5, [True, True, False, False, False], [True] + [False] * 4])
    key, value = model.sample_kv(words).chunk(2, -1)
    logits = torch.einsum("bsd,btd->bst", model.sample_q(sp), key) / 32**0.5
    attn = logits.masked_fill(~word_mask.unsqueeze(1), float("-inf")).softmax(-1)
    torch.testing.assert_close(model._sample_attention(sp, words, word_mask), attn @ value)
