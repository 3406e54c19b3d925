"""A second embedding model served beside the shared one (``engine.embed(texts, model=spec)``)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bot.inference.api import ModelUnavailable
from bot.inference.settings import InferenceSettings
from bot.inference.testing import tiny_embedder, tiny_engine


@pytest.fixture
async def engine():
    e = await tiny_engine(InferenceSettings(device="cpu", stats_log_interval_s=0), with_generator=False)
    yield e
    await e.stop()


@pytest.fixture
def model_folder(tmp_path):
    """A 48-dimensional tiny BERT saved as a model folder (a different model from the shared 32-d one)."""
    emb = tiny_embedder(seed=3, hidden_size=48)
    emb.model.save_pretrained(tmp_path / "m")
    emb.tokenizer.save_pretrained(tmp_path / "m")
    return str(tmp_path / "m"), emb


async def test_second_model_serves_its_own_embeddings_batched_and_cached(engine, model_folder):
    spec, ref = model_folder
    engine.register_embedder(spec)
    engine.register_embedder(spec)  # idempotent
    assert engine.available(f"embed:{spec}")
    texts = ["what game is this?", "gg", "what game is this?"]
    got = await engine.embed(texts, model=spec)
    assert got.shape == (3, 48)
    np.testing.assert_allclose(got, ref.encode(texts), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (await engine.embed(["gg"])).shape == (1, 32)  # the shared model is untouched
    stats = engine.stats()
    assert stats[f"embed:{spec}"]["items"] == 2  # the repeated line ran once
    await engine.embed(["gg"], model=spec)
    assert engine.stats()[f"embed:{spec}"]["items"] == 2  # served from its own cache
    assert engine.stats()[f"embed:{spec}"]["cache_hits"] >= 1
    assert (await engine.embed([], model=spec)).shape == (0, 48)


async def test_concurrent_requests_wait_for_the_load_and_are_batched(engine, model_folder):
    spec, _ = model_folder
    engine.register_embedder(spec)
    rows = await asyncio.gather(*(engine.embed([f"line {i}"], model=spec) for i in range(6)))
    assert all(r.shape == (1, 48) for r in rows)
    assert engine.stats()[f"embed:{spec}"]["max_batch_size"] > 1


async def test_a_model_that_fails_to_load_is_unavailable_with_the_reason(engine, tmp_path):
    spec = str(tmp_path / "no-such-model")
    engine.register_embedder(spec)
    with pytest.raises(ModelUnavailable, match="no-such-model"):
        await engine.embed(["hi"], model=spec)
    assert not engine.available(f"embed:{spec}")
    assert "no-such-model" in engine.why_unavailable(f"embed:{spec}")
    assert (await engine.embed(["hi"])).shape == (1, 32)  # the bot's shared embedder still works


async def test_unregistered_model_is_refused_clearly(engine):
    with pytest.raises(ModelUnavailable, match="not registered"):
        await engine.embed(["hi"], model="some/other-model")


async def test_the_shared_models_own_spec_uses_the_shared_embedder(engine):
    shared = engine.settings.embed.model
    engine.register_embedder(shared)  # regression (trial 22): it loaded a second, unused copy
    assert engine.available(f"embed:{shared}")
    np.testing.assert_array_equal(await engine.embed(["hi"], model=shared), await engine.embed(["hi"]))
    assert not [name for name in engine.stats() if name.startswith("embed:")]


async def test_register_before_start_is_an_error():
    from bot.inference.engine import Engine

    with pytest.raises(RuntimeError, match="start the engine first"):
        Engine(InferenceSettings(device="cpu")).register_embedder("x")


async def test_with_inference_disabled_the_reason_says_so():
    from bot.inference.engine import Engine

    engine = Engine(InferenceSettings(device="cpu", enabled=False, stats_log_interval_s=0))
    await engine.start()
    try:
        engine.register_embedder("org/faq-model")
        with pytest.raises(ModelUnavailable, match="inference.enabled = false"):
            await engine.embed(["hi"], model="org/faq-model")
    finally:
        await engine.stop()


async def test_a_load_stuck_on_the_network_does_not_hold_the_other_models(engine, model_folder):
    # regression (trial 22): an unreachable Hugging Face id retried its download on the engine's worker
    # thread, and every other model's requests waited ~50 s (!mood answered 80 s late)
    import threading

    spec, _ = model_folder
    release = threading.Event()
    real = engine._load_extra_embedder

    def stuck(s):
        release.wait(30)
        return real(s)

    engine._load_extra_embedder = stuck  # the loader ExtraEmbedders calls
    engine._extra_embedders._load = stuck
    engine.register_embedder(spec)
    try:
        assert (await asyncio.wait_for(engine.embed(["still served"]), 5)).shape == (1, 32)
    finally:
        release.set()
    assert (await engine.embed(["now"], model=spec)).shape == (1, 48)


@pytest.mark.parametrize("damage", ["truncated", "pickle_only"])
async def test_a_damaged_model_folder_is_refused_with_what_is_wrong(engine, model_folder, damage):
    # regression (trial 22): a truncated model.safetensors raised safetensors' own error (a traceback in
    # eval faq), and a folder with only pickle weights (pytorch_model.bin) was loaded
    from pathlib import Path

    spec, ref = model_folder
    weights = Path(spec) / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        import torch

        torch.save(ref.model.state_dict(), Path(spec) / "pytorch_model.bin")
        weights.unlink()
    engine.register_embedder(spec)
    with pytest.raises(ModelUnavailable) as info:
        await engine.embed(["hi"], model=spec)
    message = str(info.value)
    assert "could not load the folder" in message and "hf download" not in message, message
    assert "\n" not in message


async def test_stats_engine_checks_every_faq_model_the_config_names(engine, model_folder, tmp_path):
    # trial 22: `chatcast stats --engine` ("checks the models load") said nothing of a missing FAQ model
    from types import SimpleNamespace

    from bot.cli import _check_extra_embedders
    from skills.faq.skill import FaqSettings

    spec, _ = model_folder
    missing = str(tmp_path / "nowhere")
    cfg = SimpleNamespace(skill_defaults={"faq": FaqSettings(embed_model=spec)},
                          channel_skills={("twitch", "a"): {"faq": FaqSettings(embed_model=missing)},
                                          ("twitch", "b"): {"faq": FaqSettings()}})
    found = await _check_extra_embedders(engine, cfg)
    assert found[spec] == "ok"
    assert found[missing].startswith("ModelUnavailable") and "nowhere" in found[missing]
    assert len(found) == 2
