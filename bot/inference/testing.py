"""Tiny random models and an engine built on them, for tests (no downloads, no files, ~1 s on CPU).

Use in a test::

    from bot.inference.testing import tiny_engine

    async def test_something():
        engine = await tiny_engine()          # started; embed dim 32; generate() returns random characters
        try:
            vecs = await engine.embed(["hello", "hi"])
        finally:
            await engine.stop()

The embeddings and generations are deterministic for a given ``seed`` but meaningless: assert shapes,
plumbing and bookkeeping, not quality.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import torch

from bot.inference.engine import Engine
from bot.inference.models import LoadedCausalLM, TransformerEmbedder
from bot.inference.settings import InferenceSettings

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>", "[CLS]", "[SEP]"]


def tiny_tokenizer(*, cls_sep: bool = False) -> Any:
    """A character-level ``PreTrainedTokenizerFast`` over printable ASCII plus specials (vocab ~106),
    built in memory. Pads on the left (what batched decoding wants). ``cls_sep`` wraps every text in
    ``[CLS] ... [SEP]`` as BERT tokenizers do."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    chars = [c for c in string.printable if c not in "\x0b\x0c\r"]
    vocab = {tok: i for i, tok in enumerate(SPECIALS + chars)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tk.decoder = decoders.Fuse()
    if cls_sep:
        tk.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<bos>", eos_token="<eos>", cls_token="[CLS]",
                                   sep_token="[SEP]", padding_side="left")


def tiny_embedder(seed: int = 0, hidden_size: int = 32) -> TransformerEmbedder:
    """A 2-layer random BERT (hidden 32) wrapped as the engine's embedder: ``encode(texts) -> (n, 32)``."""
    from transformers import BertConfig, BertModel

    tok = tiny_tokenizer(cls_sep=True)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=2 * hidden_size, max_position_embeddings=256,
                     pad_token_id=tok.pad_token_id)
    return TransformerEmbedder(BertModel(cfg).eval(), tok, max_length=128, chunk_size=8)


def tiny_causal_lm(seed: int = 0) -> LoadedCausalLM:
    """A 2-layer random Gemma 3 (hidden 32, sliding window 16 on layer 0) with the tiny tokenizer."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=512, sliding_window=16,
        layer_types=["sliding_attention", "full_attention"], pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = Gemma3ForCausalLM(cfg).eval()
    return LoadedCausalLM(model, tok, "tiny random Gemma 3")


async def tiny_engine(settings: InferenceSettings | None = None, *, data_dir: Path | None = None,
                      seed: int = 0, with_generator: bool = True) -> Engine:
    """A started ``Engine`` on CPU with ``tiny_embedder`` and (unless ``with_generator=False``)
    ``tiny_causal_lm``. Call ``await engine.stop()`` when done."""
    settings = settings or InferenceSettings(device="cpu")
    engine = Engine(settings, data_dir=data_dir or Path("chatcast-data"), embedder=tiny_embedder(seed),
                    generator=tiny_causal_lm(seed) if with_generator else None)
    if not with_generator:
        engine.settings.load_generator = False
    await engine.start()
    return engine
