"""Second sentence-embedding models, served beside the engine's shared one (``engine.embed(texts,
model=spec)``).

The shared embedder (``[inference.embed]``, all-MiniLM-L6-v2 by default) serves every skill, and one call
serves both mood and FAQ. A skill may ask for a stronger model for its own few requests: the FAQ matches
only lines that look like questions, so
``[skills.faq] embed_model = "sentence-transformers/all-mpnet-base-v2"`` costs little even on a CPU
(measured in docs/faq.md), while mood keeps the fast shared model for every message. Each model here has
its own micro-batcher, its own LRU cache and its own statistics (``embed:<spec>``). It loads in a thread
of its own when first registered, not on the engine's worker: a Hugging Face id that cannot be reached
retries its download for ~50 s, and on the worker that held every other model's requests as long (trial
22: ``!mood`` answered 80 s late).
"""

from __future__ import annotations

import asyncio
import logging
import threading
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
            extra.model = await _in_daemon_thread(self._load, spec)
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

    def cache_counts(self) -> dict[str, tuple[int, int]]:
        """``embed:<spec>`` -> (cache hits, cache misses) of each registered model."""
        return {f"embed:{spec}": (x.cache.hits, x.cache.misses) for spec, x in self._models.items()}

    async def stop(self) -> None:
        """Stop waiting for loads in flight (their daemon threads end with the process); batchers stop with
        the engine."""
        for extra in self._models.values():
            if extra.task is not None and not extra.task.done():
                extra.task.cancel()
                extra.error = "the engine stopped while it was loading"


async def _in_daemon_thread(fn: Loader, spec: str) -> Any:
    """``fn(spec)`` in a daemon thread (a load stuck on the network never holds up the process's exit, as
    a thread of asyncio's default executor would). Raises what ``fn`` raises."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, exc: BaseException | None) -> None:
        if done.cancelled():
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(value)

    def run() -> None:
        try:
            value, exc = fn(spec), None
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting task
            value, exc = None, error
        try:
            loop.call_soon_threadsafe(settle, value, exc)
        except RuntimeError:  # the loop closed while it was loading
            pass

    threading.Thread(target=run, name=f"load-embed:{spec}", daemon=True).start()
    return await done
