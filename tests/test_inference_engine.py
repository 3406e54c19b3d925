"""Engine on tiny random models: embed batching correctness, cache, classify, policy, availability."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from bot.inference.api import EngineBusy, InferenceError, ModelUnavailable, RequestPriority
from bot.inference.engine import Engine
from bot.inference.settings import InferenceSettings
from bot.inference.testing import tiny_embedder, tiny_engine

RAGGED = ["gg", "what game is this?", "LUL", "that was the most insane clutch I have seen all week",
          "", "a b c d e f g h i j k l m n o p", "!story"]


@pytest.fixture
async def engine():
    e = await tiny_engine(InferenceSettings(device="cpu", stats_log_interval_s=0), with_generator=False)
    yield e
    await e.stop()


async def test_embed_batched_equals_one_by_one_in_order(engine):
    ref = tiny_embedder()  # same seed, same weights as the engine's
    one_by_one = np.stack([ref.encode([t])[0] for t in RAGGED])
    batched = await asyncio.gather(*(engine.embed([t]) for t in RAGGED))
    together = np.concatenate(batched)
    assert together.shape == (len(RAGGED), 32)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert engine.stats()["embed"]["max_batch_size"] > 1


async def test_embed_cache_and_shared_inflight(engine):
    a, b = await asyncio.gather(engine.embed(["same line", "other"]), engine.embed(["same line"]))
    np.testing.assert_array_equal(a[0], b[0])
    st = engine.stats()["embed"]
    assert st["items"] == 2  # "same line" ran once
    await engine.embed(["other"])
    assert engine.stats()["embed"]["items"] == 2
    assert engine.stats()["embed"]["cache_hits"] >= 1


async def test_embed_rejects_bad_input_clearly(engine):
    with pytest.raises(TypeError, match="one string"):
        await engine.embed("not a list")
    with pytest.raises(TypeError, match="item 1"):
        await engine.embed(["ok", 3])
    assert (await engine.embed([])).shape[0] == 0


async def test_classify_uses_cached_embeddings_and_batches(engine):
    seen = []

    def head(texts, emb):
        seen.append((list(texts), emb.shape))
        logits = emb[:, :3] * 10
        p = np.exp(logits - logits.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    engine.register_classifier("sentiment", lambda: head)
    assert engine.available("classify:sentiment")
    vecs = await engine.embed(["hype", "sad"])
    probs = await engine.classify("sentiment", ["hype", "sad"])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1.0)
    assert engine.stats()["embed"]["items"] == 2  # classify reused the cached embeddings
    assert engine.stats()["embed"]["cache_hits"] == 2  # one lookup per text (it was counted twice)
    np.testing.assert_allclose(probs, head(["hype", "sad"], vecs), atol=1e-6)
    with pytest.raises(ModelUnavailable, match="nothing registered"):
        await engine.classify("toxicity", ["x"])


async def test_classifier_loader_failure_disables_only_it(engine):
    def broken():
        raise FileNotFoundError("weights missing")

    engine.register_classifier("broken", broken)
    with pytest.raises(Exception, match="weights missing"):
        await engine.classify("broken", ["x"])
    assert not engine.available("classify:broken")
    assert engine.available("embed")


class TinyPolicy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Linear(12, 8)

    def forward(self, x):
        h = self.body(x.flatten(1))
        return h[:, :7], torch.tanh(h[:, 7:8])


async def test_policy_batched_equals_direct(engine):
    engine.register_policy("c4", TinyPolicy, max_batch_size=16, max_wait_ms=20)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(10, 2, 6)).astype(np.float32)
    parts = await asyncio.gather(*(engine.policy("c4", states[i:i + 1]) for i in range(10)))
    logits = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    ref_l, ref_v = TinyPolicy()(torch.from_numpy(states))
    np.testing.assert_allclose(logits, ref_l.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(values, ref_v.detach().numpy()[:, 0], atol=1e-5)
    assert values.shape == (10,)
    assert engine.stats()["policy:c4"]["max_batch_size"] > 1
    with pytest.raises(ValueError, match="state_shape"):
        await engine.policy("c4", np.zeros(12, dtype=np.float32))


async def test_missing_model_disables_only_that_kind(tmp_path):
    s = InferenceSettings(device="cpu", stats_log_interval_s=0)
    s.generate.model = str(tmp_path / "no-such-model")
    e = Engine(s, data_dir=tmp_path, embedder=tiny_embedder())
    await e.start()  # the language model loads in the background (and fails)
    try:
        with pytest.raises(ModelUnavailable, match="no-such-model"):
            await e.generate("hi")  # waits for the load, then reports why
        await e.wait_loaded()
        assert e.available("embed") and not e.available("generate")
        reason = e.why_unavailable("generate")
        assert "no-such-model" in reason and "Hugging Face" in reason
        with pytest.raises(ModelUnavailable, match="no-such-model"):
            await e.generate("hi")
        assert (await e.embed(["still works"])).shape == (1, 32)
    finally:
        await e.stop()


async def test_generate_through_engine_and_stop_answers_everyone():
    e = await tiny_engine(InferenceSettings(device="cpu", stats_log_interval_s=0, shutdown_grace_s=0.05))
    out = await e.generate("hello", max_new_tokens=5, temperature=0, seed=1)
    assert isinstance(out, str)
    tasks = [asyncio.create_task(e.generate(f"p{i}", max_new_tokens=300, temperature=0)) for i in range(3)]
    bg = RequestPriority.BACKGROUND
    tasks += [asyncio.create_task(e.embed([f"line {i}"], priority=bg)) for i in range(5)]
    await asyncio.sleep(0.05)
    await e.stop()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    assert all(isinstance(r, (str, np.ndarray, EngineBusy)) for r in results), results
    assert not e.available("embed")
    st = e.stats()["generate"]
    assert st["tokens"] >= 1 and st["ttft_p50_ms"] > 0


def _softmax_head(texts, emb):
    logits = emb[:, :3] * 10
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


async def test_classify_of_new_texts_rides_the_embedding_batch(engine):
    # one worker turn per message: the head runs inside the embedding batch (no second queue)
    engine.register_classifier("sentiment", lambda: _softmax_head)
    texts = ["pog", "sadge", "pog", "what game is this"]
    probs = await engine.classify("sentiment", texts)
    st = engine.stats()
    assert st["classify:sentiment"]["fused_items"] == 3  # "pog" twice: computed once
    assert st["classify:sentiment"]["batches"] == 0  # the classifier queue never ran
    assert st["embed"]["items"] == 3
    vecs = await engine.embed(texts)  # cached by the fused call: no new model work
    assert engine.stats()["embed"]["items"] == 3
    np.testing.assert_allclose(probs, _softmax_head(texts, vecs), atol=1e-6)
    # a mix of cached and new texts keeps the order
    mixed = ["new line", "pog", "another one"]
    got = await engine.classify("sentiment", mixed)
    np.testing.assert_allclose(got, _softmax_head(mixed, await engine.embed(mixed)), atol=1e-6)


async def test_a_failing_head_fails_only_its_own_requests(engine):
    def bad_head(texts, emb):
        return np.ones((len(texts) + 1, 3), np.float32)  # wrong shape

    engine.register_classifier("bad", lambda: bad_head)
    engine.register_classifier("good", lambda: _softmax_head)
    bad, good, vec = await asyncio.gather(
        engine.classify("bad", ["one"]), engine.classify("good", ["two"]), engine.embed(["three"]),
        return_exceptions=True)
    assert isinstance(bad, InferenceError) and "returned shape" in str(bad)
    assert good.shape == (1, 3) and vec.shape[0] == 1


async def test_embed_of_a_line_being_classified_shares_the_model_call(engine):
    # mood classifies every line while the FAQ embeds the same line: one model call, not two
    engine.register_classifier("sentiment", lambda: _softmax_head)
    probs, vec = await asyncio.gather(engine.classify("sentiment", ["is the stream on?"]),
                                      engine.embed(["is the stream on?"]))
    assert engine.stats()["embed"]["items"] == 1
    np.testing.assert_allclose(probs, _softmax_head(["x"], vec), atol=1e-6)
