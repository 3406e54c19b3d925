"""Second sentence-embedding models, served beside the engine's shared one (``engine.embed(texts,
model=spec)``).

The shared embedder (``[inference.embed]``, all-MiniLM-L6-v2 by default) serves every skill, and one call
serves both mood and FAQ. A skill may ask for a stronger model for its own few requests: the FAQ matches
only lines that look like questions, so
``[skills.faq] embed_model = "sentence-transformers/all-mpnet-base-v2"`` costs little even on a CPU
(measured in docs/faq.md), while mood keeps the fast shared model for every message. Each model here has
its own micro-batcher, its own LRU cache and its own statistics (``embed:<spec>``); it loads in the
background on the engine's worker thread when first registered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.inference.api import EngineBusy, ModelUnavailable, RequestPriority
from bot.inference.batcher import MicroBatcher
from bot.inference.cache import EmbeddingCache
from bot.inference.device import DeviceWorker
from bot.inference.settings import EmbedSettings

log = logging.getLogger("chatcast.inference")

Loader = Callable[[str], Any]
"""``spec -> embedder`` with ``encode(list[str]) -> (n, d)`` and ``dim``; runs on the worker thread."""


@dataclass
class _Extra:
    cache: EmbeddingCache
    batcher: MicroBatcher | None = None
    model: Any = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class ExtraEmbedders:
    """The second embedding models of one engine, by spec (an installed model package, a local folder or a
    Hugging Face id, as ``[inference.embed] model``).

    ``register(spec)`` starts loading ``spec`` (idempotent); ``embed(spec, texts)`` returns ``(n, d)``
    float32 rows of unit norm, waiting for the load when it is still running. Raises ``ModelUnavailable``
    (not registered, or its load failed: the message says why) and ``EngineBusy`` (shed, timed out, or
    the load outlasted ``timeout``).
    """

    def __init__(self, settings: EmbedSettings, worker: DeviceWorker, load: Loader) -> None:
        self.settings = settings
        self._worker = worker
        self._load = load
        self._models: dict[str, _Extra] = {}

    def register(self, spec: str) -> None:
        """Load ``spec`` in the background (once; a failed load is not retried)."""
        if spec in self._models:
            return
        extra = _Extra(EmbeddingCache(self.settings.cache_size))
        self._models[spec] = extra
        extra.task = asyncio.get_running_loop().create_task(self._load_one(spec, extra),
                                                             name=f"load-embed:{spec}")

    async def _load_one(self, spec: str, extra: _Extra) -> None:
        try:
            extra.model = await self._worker.run(self._load, spec)
        except Exception as exc:  # noqa: BLE001 - a broken model disables its own requests only
            extra.error = f"embedding model {spec!r} failed to load: {type(exc).__name__}: {exc}"
            log.error("%s", extra.error)
            return
        extra.batcher = MicroBatcher(f"embed:{spec}", lambda texts: self._run(extra, texts), self.settings,
                                     self._worker)
        log.info("embedding model %s loaded (%d dimensions)", spec, int(getattr(extra.model, "dim", 0)))

    @staticmethod
    def _run(extra: _Extra, texts: list[str]) -> list[np.ndarray]:
        emb = np.asarray(extra.model.encode(texts), dtype=np.float32)
        return list(emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12))

    def available(self, spec: str) -> bool:
        """Registered and not failed (it may still be loading: ``embed`` waits for it)."""
        extra = self._models.get(spec)
        return extra is not None and extra.error is None

    def why_unavailable(self, spec: str) -> str:
        extra = self._models.get(spec)
        return f"embedding model {spec!r} is not registered" if extra is None else (extra.error or "")

    async def embed(self, spec: str, texts: Sequence[str], *, priority: RequestPriority,
                    timeout: float | None) -> np.ndarray:
        """``(len(texts), d)`` float32 embeddings of ``texts`` by ``spec`` (see the class docstring)."""
        extra = self._models.get(spec)
        if extra is None or extra.error is not None:
            raise ModelUnavailable(f"embed:{spec}: {self.why_unavailable(spec)}")
        if extra.task is not None and not extra.task.done():
            wait = self.settings.timeout_s if timeout is None else timeout
            try:
                await asyncio.wait_for(asyncio.shield(extra.task), wait)
            except TimeoutError:
                raise EngineBusy(f"embed:{spec}: still loading after {wait:g} s") from None
            if extra.error is not None:
                raise ModelUnavailable(f"embed:{spec}: {extra.error}")
        assert extra.batcher is not None
        rows = [extra.cache.get(t) for t in texts]
        missing = list(dict.fromkeys(t for t, row in zip(texts, rows, strict=True) if row is None))
        if missing:
            got = dict(zip(missing, await extra.batcher.submit(missing, priority=priority, timeout=timeout),
                           strict=True))
            for t, row in got.items():
                extra.cache.put(t, row)
            rows = [got[t] if row is None else row for t, row in zip(texts, rows, strict=True)]
        if not rows:
            return np.zeros((0, int(getattr(extra.model, "dim", 0))), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    def batchers(self) -> dict[str, MicroBatcher]:
        """``embed:<spec>`` -> its batcher, for the loaded models (stats and shutdown)."""
        return {f"embed:{spec}": x.batcher for spec, x in self._models.items() if x.batcher is not None}

    async def stop(self) -> None:
        """Wait for loads in flight (a load cannot be interrupted mid-file); batchers stop with the engine."""
        pending = [x.task for x in self._models.values() if x.task is not None and not x.task.done()]
        if pending:
            await asyncio.wait(pending)
