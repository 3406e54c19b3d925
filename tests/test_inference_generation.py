"""Continuous batching on a tiny random Gemma 3: joining mid-batch does not change a greedy output."""

from __future__ import annotations

import asyncio

import pytest
import torch

from bot.inference.api import EngineBusy
from bot.inference.device import DeviceWorker
from bot.inference.generation import ContinuousBatcher, SamplingParams, sample_next, sampling_params
from bot.inference.settings import GenerateSettings
from bot.inference.testing import tiny_causal_lm

GREEDY = dict(temperature=0.0, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def lm():
    return tiny_causal_lm(seed=3)


@pytest.fixture
def worker():
    w = DeviceWorker(torch.device("cpu"))
    yield w
    w.shutdown()


def reference_greedy(lm, prompt: str, n: int) -> str:
    """One-at-a-time greedy decoding with transformers' own generate (no padding, no batching)."""
    ids = lm.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = lm.model.generate(**ids, max_new_tokens=n, do_sample=False,
                                pad_token_id=lm.tokenizer.pad_token_id, eos_token_id=None)
    return lm.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def batcher(lm, worker, **kw) -> ContinuousBatcher:
    return ContinuousBatcher("gen", lm.model, lm.tokenizer, GenerateSettings(max_wait_ms=0, **kw), worker)


async def test_alone_matches_transformers_generate(lm, worker):
    b = batcher(lm, worker)
    prompt = "The quick brown fox"
    b._state.eos = set()  # noqa: SLF001 - the reference below ignores EOS too
    text = await b.submit(prompt, SamplingParams(max_new_tokens=12, **GREEDY))
    assert text and text == reference_greedy(lm, prompt, 12)
    await b.stop()


async def test_joining_mid_batch_does_not_change_greedy_output(lm, worker):
    prompts = ["a", "Hello there, streamer!", "pog", "Once upon a time in a land far away"]
    b = batcher(lm, worker, max_batch_size=8)
    b._state.eos = set()  # noqa: SLF001 - fixed-length outputs make the comparison strict
    alone = [await b.submit(p, SamplingParams(max_new_tokens=20, **GREEDY)) for p in prompts]
    steps_before = b.stats.batches
    first = asyncio.create_task(b.submit(prompts[0], SamplingParams(max_new_tokens=20, **GREEDY)))
    while b.stats.batches < steps_before + 5:  # the first request is decoding
        await asyncio.sleep(0.005)
    params = SamplingParams(max_new_tokens=20, **GREEDY)
    late = [asyncio.create_task(b.submit(p, params)) for p in prompts[1:]]
    joined = await asyncio.gather(first, *late)
    assert joined == alone
    assert b.stats.summary()["max_batch_size"] >= 2  # they really shared decoding steps
    assert len(set(joined)) > 1  # different prompts, different continuations
    await b.stop()


async def test_stop_string_and_max_new_tokens(lm, worker):
    b = batcher(lm, worker)
    b._state.eos = set()  # noqa: SLF001
    full = await b.submit("xyz", SamplingParams(max_new_tokens=15, **GREEDY))
    assert len(full) == 15
    stop = full[5:7]
    cut = await b.submit("xyz", SamplingParams(max_new_tokens=15, stop=(stop,), **GREEDY))
    assert cut == full[: full.find(stop)]
    await b.stop()


async def test_seeded_sampling_is_reproducible(lm, worker):
    b = batcher(lm, worker)
    p = SamplingParams(max_new_tokens=10, temperature=1.0, top_p=0.9, seed=42)
    a1, a2 = await asyncio.gather(b.submit("abc", p), b.submit("abc", p))
    assert a1 == a2
    await b.stop()


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([0.6, 0.3, 0.05, 0.05]))
    from bot.inference.generation import _Sequence

    seq = _Sequence([0], SamplingParams(temperature=1.0, top_p=0.5, repetition_penalty=1.0), 0, None)
    seq.generator = torch.Generator().manual_seed(0)
    assert {sample_next(logits, seq) for _ in range(50)} == {0}
    seq2 = _Sequence([0], SamplingParams(temperature=1.0, top_p=0.85, repetition_penalty=1.0), 0, None)
    seq2.generator = torch.Generator().manual_seed(0)
    assert {sample_next(logits, seq2) for _ in range(200)} == {0, 1}


def test_repetition_penalty_discourages_seen_tokens():
    from bot.inference.generation import _Sequence

    logits = torch.tensor([2.0, 1.9, -1.0])
    seq = _Sequence([0], SamplingParams(temperature=0.0, repetition_penalty=1.5), 0, None)
    seq.seen = torch.tensor([0])
    assert sample_next(logits, seq) == 1


def test_sampling_params_validation():
    with pytest.raises(ValueError, match="top_p"):
        sampling_params(10, 0.8, 0.0, 1.1, (), None, 100)
    with pytest.raises(ValueError, match="max_new_tokens"):
        sampling_params(0, 0.8, 0.9, 1.1, (), None, 100)
    assert sampling_params(500, 0.8, 0.9, 1.1, "END", None, 100).max_new_tokens == 100
    assert sampling_params(5, 0.8, 0.9, 1.1, "END", None, 100).stop == ("END",)


async def test_timeout_and_shutdown(lm, worker):
    b = batcher(lm, worker, max_batch_size=1)
    long = asyncio.create_task(b.submit("a", SamplingParams(max_new_tokens=200, **GREEDY)))
    await asyncio.sleep(0.05)
    with pytest.raises(EngineBusy):
        await b.submit("b", SamplingParams(max_new_tokens=5, **GREEDY), timeout=0.05)
    waiting = asyncio.create_task(b.submit("c", SamplingParams(max_new_tokens=200, **GREEDY)))
    await asyncio.sleep(0.01)
    await b.stop(grace_s=0.05)
    results = await asyncio.wait_for(asyncio.gather(long, waiting, return_exceptions=True), 10)
    assert all(isinstance(r, (str, EngineBusy)) for r in results)
    assert isinstance(results[1], EngineBusy)


class FailsOnBang(torch.nn.Module):
    """Wraps a causal LM; raises when a prompt (prefill) contains '!' (a stand-in for a model failure)."""

    def __init__(self, inner, bang_id: int) -> None:
        super().__init__()
        self.inner = inner
        self.bang = bang_id
        self.generation_config = inner.generation_config

    def forward(self, input_ids, cache=None, **kw):
        if input_ids.shape[1] > 1 and (input_ids == self.bang).any():
            raise RuntimeError("simulated model failure")
        return self.inner(input_ids=input_ids, cache=cache, **kw)


async def test_model_failure_fails_only_that_request(lm, worker):
    from bot.inference.api import InferenceError

    model = FailsOnBang(lm.model, lm.tokenizer.convert_tokens_to_ids("!"))
    b = ContinuousBatcher("gen", model, lm.tokenizer, GenerateSettings(max_wait_ms=0), worker)
    b._state.eos = set()  # noqa: SLF001
    params = SamplingParams(max_new_tokens=30, **GREEDY)
    alone = await b.submit("calm", params)
    steps_before = b.stats.batches
    running = asyncio.create_task(b.submit("calm", params))
    while b.stats.batches < steps_before + 3:  # "calm" is decoding
        await asyncio.sleep(0.005)
    with pytest.raises(InferenceError, match="simulated"):
        await b.submit("boom!", params)
    assert await running == alone  # the running request was not disturbed
    assert b.stats.summary()["errors"] == 1
    await b.stop()


def test_wide_nucleus_falls_back_to_the_full_vocabulary():
    from bot.inference.generation import _NUCLEUS_STEPS, _Sequence, sample_batch

    vocab = 4 * _NUCLEUS_STEPS[0]
    logits = torch.zeros(vocab)  # flat: the 0.9 nucleus holds ~90 % of the vocabulary, far beyond the top-k
    seq = _Sequence([0], SamplingParams(temperature=1.0, top_p=0.9, repetition_penalty=1.0), 0, None)
    seq.generator = torch.Generator().manual_seed(0)
    drawn = {sample_batch(logits.unsqueeze(0), [seq])[0] for _ in range(800)}
    assert len(drawn) > _NUCLEUS_STEPS[0]


def test_sample_batch_mixes_greedy_and_sampled_rows():
    from bot.inference.generation import _Sequence, sample_batch

    logits = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 0.0]])
    greedy = _Sequence([0], SamplingParams(temperature=0.0, repetition_penalty=1.0), 0, None)
    hot = _Sequence([0], SamplingParams(temperature=1.0, top_p=0.5, repetition_penalty=1.0), 0, None)
    hot.generator = torch.Generator().manual_seed(1)
    assert sample_batch(logits, [greedy, hot]) == [1, 0]


def _full_sort_draw(probs: torch.Tensor, top_p: float, gen: torch.Generator) -> int:
    """The textbook nucleus draw (Holtzman et al. 2020): sort everything, keep the smallest prefix."""
    v, i = torch.sort(probs, descending=True)
    cum = torch.cumsum(v, dim=-1)
    n = max(1, int((cum - v < top_p).sum()))
    return int(i[int(torch.multinomial(v[:n] / v[:n].sum(), 1, generator=gen))])


def test_nucleus_search_steps_equal_the_full_sort_draw():
    from bot.inference.generation import _NUCLEUS_STEPS, _nucleus_candidates, _Sequence, sample_batch

    vocab = 4 * _NUCLEUS_STEPS[1]
    logits = torch.randn(3, vocab, generator=torch.Generator().manual_seed(3)) * 2.0
    params = [SamplingParams(temperature=1.0, top_p=p, repetition_penalty=1.0) for p in (0.3, 0.9, 0.999)]
    probs = torch.softmax(logits, dim=-1)
    cands = _nucleus_candidates(probs, [p.top_p for p in params])
    sizes = [len(v) for v, _ in cands]
    assert sizes == [_NUCLEUS_STEPS[0], _NUCLEUS_STEPS[1], vocab]  # each step of the search is used
    assert all(float(v.sum()) >= p.top_p for (v, _), p in zip(cands, params, strict=True))
    for seed in range(20):
        seqs = []
        for p in params:
            s = _Sequence([0], p, 0, None)
            s.generator = torch.Generator().manual_seed(seed)
            seqs.append(s)
        want = [_full_sort_draw(probs[r], p.top_p, torch.Generator().manual_seed(seed))
                for r, p in enumerate(params)]
        assert sample_batch(logits, seqs) == want


def test_rows_without_a_nucleus_sort_nothing(monkeypatch):
    from bot.inference.generation import _Sequence, sample_batch

    def no_sort(*a, **k):
        raise AssertionError("top_p = 1 needs no sorted vocabulary")

    monkeypatch.setattr(torch, "sort", no_sort)
    seq = _Sequence([0], SamplingParams(temperature=1.0, top_p=1.0, repetition_penalty=1.0), 0, None)
    seq.generator = torch.Generator().manual_seed(0)
    assert 0 <= sample_batch(torch.zeros(1, 5000), [seq])[0] < 5000


def test_decode_attention_leaves_out_cudnn_on_cuda_only():
    # regression (H200 run): with the loop's padding mask torch chose cuDNN attention, which plans every new
    # shape: 112.8 instead of 35.8 ms a step at batch 16
    from bot.inference.generation import attention_backends

    with attention_backends(torch.device("cpu")):
        assert torch.backends.cuda.cudnn_sdp_enabled() is True  # CPU runs are not restricted
    with attention_backends(torch.device("cuda")):
        assert torch.backends.cuda.cudnn_sdp_enabled() is False
        assert torch.backends.cuda.mem_efficient_sdp_enabled() and torch.backends.cuda.math_sdp_enabled()
    assert torch.backends.cuda.cudnn_sdp_enabled() is True  # restored for every other model
