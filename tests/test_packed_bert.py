"""Padding-free BERT forward (bot.inference.packed_bert) against the reference padded forward."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest
import torch

from bot.inference.models import TransformerEmbedder
from bot.inference.packed_bert import (
    ATTENTION_POSITIONS,
    GROUP_WIDTH_RATIO,
    GROUP_WIDTH_SLACK,
    PackedBertEncoder,
    supports,
)
from bot.inference.testing import tiny_tokenizer


def _bert(hidden_act: str = "gelu", seed: int = 0):
    from transformers import BertConfig, BertModel

    tok = tiny_tokenizer(cls_sep=True)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=256, pad_token_id=tok.pad_token_id,
                     hidden_act=hidden_act)
    return BertModel(cfg).eval(), tok


def _ragged_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    # lengths from 1 to 120 characters (tokens, for the character tokenizer), shuffled
    alphabet = string.ascii_letters + " !?"
    return ["".join(rng.choice(alphabet) for _ in range(rng.choice([1, 2, 5, 9, 40, 120]))) for _ in range(n)]


def test_packed_equals_padded_for_ragged_lengths_across_attention_groups():
    model, tok = _bert()
    texts = _ragged_texts(ATTENTION_POSITIONS // 20 + 7)
    packed = TransformerEmbedder(model, tok, max_length=64, token_budget=300).encode(texts)
    padded = TransformerEmbedder(model, tok, max_length=64, packed=False).encode(texts)
    assert packed.shape == (len(texts), 32) and packed.dtype == np.float32
    np.testing.assert_allclose(packed, padded, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(packed, axis=1), 1.0, atol=1e-5)


def _member_lengths(index: torch.Tensor, flat_real: torch.Tensor) -> list[int]:
    """Real tokens of each member of an attention group, from its gather index and real positions."""
    b, width = index.shape
    return sorted(torch.bincount(flat_real // width, minlength=b).tolist())


def test_one_long_line_does_not_pad_a_group_of_short_ones():
    # regression: 63 eight-token lines and one 32-token line were one attention group padded to 32
    # (4x the padded positions, 16x the attention work per short line)
    model, tok = _bert()
    enc = PackedBertEncoder(model)
    lengths = torch.tensor([8] * 63 + [32])
    starts = torch.cumsum(lengths, 0) - lengths
    groups = enc._groups(lengths, starts)
    assert sorted(_member_lengths(index, real) for index, _, real, _ in groups) == [[8] * 63, [32]]
    texts = ["abcdef"] * 63 + ["x" * 30]  # with [CLS] and [SEP]: 8 tokens and 32 tokens
    packed = TransformerEmbedder(model, tok, max_length=64).encode(texts)
    padded = TransformerEmbedder(model, tok, max_length=64, packed=False).encode(texts)
    np.testing.assert_allclose(packed, padded, atol=2e-5)


def test_attention_groups_stay_within_the_width_ratio_and_cover_every_token():
    model, _ = _bert()
    enc = PackedBertEncoder(model)
    rng = random.Random(5)
    lengths = torch.tensor([rng.choice([1, 2, 3, 8, 9, 12, 20, 33, 90]) for _ in range(200)])
    starts = torch.cumsum(lengths, 0) - lengths
    covered = []
    for index, _bias, flat_real, rows in enc._groups(lengths, starts):
        members = _member_lengths(index, flat_real)
        assert index.shape[1] == members[-1]
        assert members[-1] <= GROUP_WIDTH_RATIO * members[0] + GROUP_WIDTH_SLACK
        assert len(members) * members[-1] <= ATTENTION_POSITIONS or len(members) == 1
        covered += rows.tolist()
    assert sorted(covered) == list(range(int(lengths.sum())))


def test_packed_batch_equals_one_by_one_in_order():
    model, tok = _bert(seed=3)
    emb = TransformerEmbedder(model, tok)
    texts = _ragged_texts(12, seed=4)
    together = emb.encode(texts)
    alone = np.stack([emb.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-5)


def test_a_text_longer_than_the_token_budget_still_runs_alone():
    model, tok = _bert()
    emb = TransformerEmbedder(model, tok, max_length=128, token_budget=16)
    texts = ["a" * 100, "hi", "b" * 60]
    ref = TransformerEmbedder(model, tok, max_length=128, packed=False).encode(texts)
    np.testing.assert_allclose(emb.encode(texts), ref, atol=2e-5)


def test_empty_text_without_special_tokens_is_a_zero_row():
    model, _ = _bert()
    emb = TransformerEmbedder(model, tiny_tokenizer(cls_sep=False))
    out = emb.encode(["", "hey"])
    assert not out[0].any()
    assert abs(float(np.linalg.norm(out[1])) - 1.0) < 1e-5


def test_unsupported_models_fall_back_to_the_padded_path():
    model, tok = _bert(hidden_act="relu")
    assert not supports(model)
    assert TransformerEmbedder(model, tok).packed is None
    with pytest.raises(ValueError, match="packed forward supports"):
        PackedBertEncoder(model)


def test_pooled_rejects_an_empty_sequence():
    model, _ = _bert()
    with pytest.raises(ValueError, match="at least one token"):
        PackedBertEncoder(model).pooled([[4, 5], []])
