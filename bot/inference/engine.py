"""The inference engine: the only door to models (implements ``bot.inference.api.InferenceEngine``).

Usage (``bot/runtime.py``)::

    engine = Engine(settings.inference, data_dir=data_dir)
    await engine.start()          # picks the device, loads models (missing ones are reported, not fatal)
    vecs = await engine.embed(["hello chat"])            # (1, 384) float32, unit rows
    probs = await engine.classify("sentiment", ["gg"])    # after a skill called register_classifier
    text = await engine.generate("Once upon a time", max_new_tokens=40)
    await engine.stop()

Tests inject tiny models: ``Engine(settings, embedder=..., generator=...)`` or ``bot.inference.testing``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bot.inference.api import EngineBusy, InferenceError, ModelUnavailable, RequestPriority
from bot.inference.batcher import MicroBatcher
from bot.inference.cache import EmbeddingCache
from bot.inference.device import DeviceChoice, DeviceWorker, choose_device, is_oom
from bot.inference.extra_embedders import ExtraEmbedders
from bot.inference.generation import ContinuousBatcher, sampling_params
from bot.inference.models import (
    LoadedCausalLM,
    SentenceTransformerEmbedder,
    TransformerEmbedder,
    load_causal_lm,
    load_embedder,
    resolve_folder,
)
from bot.inference.settings import BatchSettings, ClassifierSettings, InferenceSettings, PolicySettings
from bot.inference.stats import ModelStats

log = logging.getLogger("chatcast.inference")


@dataclass
class _Registered:
    loader: Callable[[], Any]
    batcher: MicroBatcher | None = None
    model: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _WithHead:
    """An embedding-batch payload that also wants classifier head ``head`` applied to its embedding."""

    text: str
    head: str


def _as_embedder(obj: Any, device: torch.device, max_length: int) -> Any:
    """Accept an object with ``encode(list[str]) -> (n, d)``, a ``SentenceTransformer`` or a
    ``(model, tokenizer)`` pair."""
    if isinstance(obj, tuple) and len(obj) == 2:
        return TransformerEmbedder(obj[0], obj[1], device=device, max_length=max_length)
    if hasattr(obj, "get_sentence_embedding_dimension"):
        return SentenceTransformerEmbedder(obj)
    if not hasattr(obj, "encode"):
        raise TypeError("embedder must have encode(texts) -> (n, d) array, be a SentenceTransformer, "
                        "or be a (model, tokenizer) pair")
    return obj


def _as_causal_lm(obj: Any) -> LoadedCausalLM:
    if isinstance(obj, LoadedCausalLM):
        return obj
    if isinstance(obj, tuple) and len(obj) == 2:
        model, tok = obj
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        return LoadedCausalLM(model.eval(), tok, type(model).__name__)
    raise TypeError("generator must be a LoadedCausalLM or a (model, tokenizer) pair")


def _load_with_cpu_fallback(what: str, choice: DeviceChoice,
                            load: Callable[[torch.device, torch.dtype], Any]) -> Any:
    """``load(device, dtype)`` on the chosen device; if the GPU runs out of memory, load it on the CPU (fp32)
    instead and say so."""
    try:
        return load(choice.device, choice.dtype)
    except Exception as exc:
        if choice.device.type == "cpu" or not is_oom(exc):
            raise
        log.warning("%s model does not fit on %s (%s); running it on the CPU", what, choice.device, exc)
        torch.cuda.empty_cache()
        return load(torch.device("cpu"), torch.float32)


def _check_texts(texts: Sequence[str], what: str) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{what}: expected a sequence of strings, got one string (wrap it in a list)")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}: item {i} is {type(t).__name__}, not str")
    return out


class Engine:
    """Owns every model and every batch. See the module docstring and ``bot.inference.api``.

    ``settings``: the ``[inference]`` table (defaults when None). ``data_dir``: where converted models are
    cached (``<data_dir>/models``) unless ``models_dir`` names the folder. ``embedder`` / ``generator``:
    already-loaded models to use instead of loading the configured ones (tests, notebooks).
    """

    def __init__(self, settings: InferenceSettings | None = None, *, data_dir: Path = Path("chatcast-data"),
                 embedder: Any = None, generator: Any = None, models_dir: Path | None = None) -> None:
        self.settings = settings or InferenceSettings()
        self.data_dir = Path(data_dir)
        self.models_dir = models_dir
        self._embedder_in = embedder
        self._generator_in = generator
        self.device: DeviceChoice | None = None
        self._worker: DeviceWorker | None = None
        self._embedder: Any = None
        self._embed_batcher: MicroBatcher | None = None
        self._generation: ContinuousBatcher | None = None
        self._unavailable: dict[str, str] = {}
        self._classifiers: dict[str, _Registered] = {}
        self._policies: dict[str, _Registered] = {}
        self._extra_embedders: ExtraEmbedders | None = None
        self.cache = EmbeddingCache(self.settings.embed.cache_size)
        self._inflight: dict[str, asyncio.Future[np.ndarray]] = {}
        self._stats_task: asyncio.Task[None] | None = None
        self._generator_task: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False
        self.ready_s: float | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Choose the device and load the models on the worker thread. A model that cannot be loaded is
        logged once (with what provides it) and reported by ``available``; the engine still starts."""
        t0 = time.monotonic()
        s = self.settings
        if s.torch_threads:
            torch.set_num_threads(s.torch_threads)
        self.device = choose_device(s.device, s.dtype)
        log.info("inference device: %s (%s)", self.device.device, self.device.reason)
        self._worker = DeviceWorker(self.device.device)
        self._extra_embedders = ExtraEmbedders(s.embed, self._worker, self._load_extra_embedder)
        if not s.enabled:
            self._unavailable["embed"] = self._unavailable["generate"] = "inference.enabled = false"
            self._started = True
            return
        await self._load_embedder()
        if self._generator_in is None and s.background_load and s.load_generator:
            # the bot serves chat and embeddings while the ~1 GB language model loads
            self._generator_task = asyncio.get_running_loop().create_task(self._load_generator())
        else:
            await self._load_generator()
        for name, reg in self._classifiers.items():
            self._make_classifier_batcher(name, reg)
        if s.stats_log_interval_s > 0:
            self._stats_task = asyncio.get_running_loop().create_task(self._log_stats_forever())
        self._started = True
        self.ready_s = time.monotonic() - t0
        log.info("inference engine ready in %.1f s", self.ready_s)

    async def _load_embedder(self) -> None:
        assert self._worker is not None and self.device is not None
        s = self.settings.embed
        try:
            if self._embedder_in is not None:
                self._embedder = _as_embedder(self._embedder_in, self.device.device, s.max_length)
            else:
                self._embedder = await self._worker.run(
                    _load_with_cpu_fallback, "embeddings", self.device,
                    lambda dev, dt: load_embedder(s.model, device=dev, dtype=dt, max_length=s.max_length,
                                                  quantize_int8=self.settings.quantize_int8))
        except Exception as exc:  # a broken model disables embeddings, not the bot
            self._unavailable["embed"] = str(exc) if isinstance(exc, ModelUnavailable) else (
                f"embedding model {s.model!r} failed to load: {type(exc).__name__}: {exc}")
            log.error("embeddings disabled: %s", exc)
            return
        self._embed_batcher = MicroBatcher("embed", self._run_embed, s, self._worker)

    async def _load_generator(self) -> None:
        assert self._worker is not None and self.device is not None
        s = self.settings.generate
        if self._generator_in is None and not self.settings.load_generator:
            self._unavailable["generate"] = "inference.load_generator = false"
            return
        try:
            if self._generator_in is not None:
                lm = _as_causal_lm(self._generator_in)
                lm.model.to(self.device.device)
            else:
                # its own thread, not the device worker: embeddings keep being served while it loads
                lm = await asyncio.to_thread(
                    _load_with_cpu_fallback, "generation", self.device,
                    lambda dev, dt: load_causal_lm(s.model, device=dev, dtype=dt, data_dir=self.data_dir,
                                                   models_dir=self.models_dir))
        except Exception as exc:  # a broken model disables generation, not the bot
            self._unavailable["generate"] = str(exc) if isinstance(exc, ModelUnavailable) else (
                f"generation model {s.model!r} failed to load: {type(exc).__name__}: {exc}")
            log.error("generation disabled: %s", exc)
            return
        log.info("generation model: %s", lm.source)
        self._generation = ContinuousBatcher("generate", lm.model, lm.tokenizer, s, self._worker,
                                             device=next(lm.model.parameters()).device)

    async def wait_loaded(self) -> None:
        """Wait until models loading in the background (the language model, see ``background_load``) are
        loaded or have failed."""
        if self._generator_task is not None:
            await asyncio.shield(self._generator_task)

    async def stop(self) -> None:
        """Stop taking requests, let queued ones finish for ``shutdown_grace_s`` (then they fail with
        ``EngineBusy``), and release the worker. Safe to call twice."""
        if self._stopping:
            return
        self._stopping = True
        grace = self.settings.shutdown_grace_s
        if self._stats_task is not None:
            self._stats_task.cancel()
        if self._generator_task is not None and not self._generator_task.done():
            await asyncio.wait([self._generator_task])  # the load cannot be interrupted mid-file
        if self._extra_embedders is not None:
            await self._extra_embedders.stop()
        batchers: list[Any] = [b for b in (self._embed_batcher, self._generation) if b is not None]
        batchers += list(self._extra_batchers().values())
        batchers += [r.batcher for r in (*self._classifiers.values(), *self._policies.values()) if r.batcher]
        await asyncio.gather(*(b.stop(grace) for b in batchers), return_exceptions=True)
        if self._worker is not None:
            self._worker.shutdown()
        if self._started:
            stats = self.stats()
            used = {n: st for n, st in stats.items() if st.get("batches")}
            log.info(
                "inference at stop: %s",
                ", ".join(
                    f"{n} {int(st['batches'])} batches, p95 {st.get('latency_p95_ms', 0.0):.0f} ms"
                    for n, st in used.items()
                ) or "no requests",
            )
            log.debug("inference stats at stop: %s", stats)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- registration -------------------------------------------------------------------------------
    def register_embedder(self, spec: str) -> None:
        """Serve ``embed(texts, model=spec)`` from a second sentence-embedding model (an installed model
        package, a local folder or a Hugging Face id), loaded now in a daemon thread of its own (a slow
        download never holds the worker the other models run on); idempotent. Call it after ``start``;
        raises ``RuntimeError`` before. With inference disabled the model is not loaded and
        ``available("embed:<spec>")`` stays false."""
        if self._extra_embedders is None:
            raise RuntimeError("register_embedder: start the engine first")
        if spec == self.settings.embed.model:
            return  # served by the shared embedder (``embed`` routes it there): no second copy
        if not self.settings.enabled:
            self._unavailable[f"embed:{spec}"] = "inference.enabled = false"
        elif not self._stopping:
            self._extra_embedders.register(spec)

    def _load_extra_embedder(self, spec: str) -> Any:
        """Load a second embedding model (in ``ExtraEmbedders``' loading thread; on the GPU, else the CPU
        when it does not fit)."""
        assert self.device is not None
        s = self.settings.embed
        return _load_with_cpu_fallback(
            f"embeddings {spec}", self.device,
            lambda dev, dt: load_embedder(spec, device=dev, dtype=dt, max_length=s.max_length,
                                          quantize_int8=self.settings.quantize_int8))

    def _extra_batchers(self) -> dict[str, MicroBatcher]:
        return {} if self._extra_embedders is None else self._extra_embedders.batchers()

    def register_classifier(self, name: str, loader: Callable[[], Any]) -> None:
        """Register ``classify(name, ...)``: ``loader() -> head`` with ``head(texts, embeddings (n, d))
        -> (n, k)`` probabilities; called once, lazily, on the worker thread. If
        ``[inference.classifiers.<name>].model`` names a Hugging Face sequence-classification model, that
        model serves the name instead (softmax of its logits)."""
        reg = _Registered(loader)
        self._classifiers[name] = reg
        if self._worker is not None:
            self._make_classifier_batcher(name, reg)

    def _make_classifier_batcher(self, name: str, reg: _Registered) -> None:
        if reg.batcher is not None:
            return
        assert self._worker is not None
        cfg = self.settings.classifiers.get(name, ClassifierSettings())
        reg.extra["hf"] = cfg.model
        reg.batcher = MicroBatcher(f"classify:{name}", lambda items: self._run_classifier(name, items), cfg,
                                   self._worker)

    def register_policy(self, name: str, loader: Callable[[], torch.nn.Module], *, max_batch_size: int = 256,
                        max_wait_ms: float = 2.0) -> None:
        """Register ``policy(name, states)``: ``loader() -> torch.nn.Module`` whose ``forward(x (n, *shape))``
        returns ``(logits (n, actions), value (n,) or (n, 1))``. ``[inference.policies.<name>]`` overrides
        the batch settings."""
        cfg = self.settings.policies.get(name) or PolicySettings(max_batch_size=max_batch_size,
                                                                  max_wait_ms=max_wait_ms)
        self._policies[name] = _Registered(loader, extra={"settings": cfg})

    def available(self, kind: str) -> bool:
        """Whether ``"embed"``, ``"embed:<spec>"`` (a second embedding model: registered and not failed;
        it may still be loading), ``"generate"``, ``"classify:<name>"`` or ``"policy:<name>"`` can be
        served."""
        if self._stopping:
            return False
        if kind == "embed":
            return self._embed_batcher is not None
        if kind.startswith("embed:"):
            if kind[6:] == self.settings.embed.model:
                return self._embed_batcher is not None
            return self._extra_embedders is not None and self._extra_embedders.available(kind[6:])
        if kind == "generate":
            loading = self._generator_task is not None and not self._generator_task.done()
            return self._generation is not None or loading
        if kind.startswith("classify:"):
            reg = self._classifiers.get(kind.split(":", 1)[1])
            return reg is not None and reg.error is None and (
                self._embed_batcher is not None or bool(reg.extra.get("hf")))
        if kind.startswith("policy:"):
            reg = self._policies.get(kind.split(":", 1)[1])
            return reg is not None and reg.error is None
        return False

    def why_unavailable(self, kind: str) -> str | None:
        """The reason ``kind`` is unavailable (None when it is available)."""
        if self.available(kind):
            return None
        if kind in self._unavailable:
            return self._unavailable[kind]
        if kind.startswith("embed:") and self._extra_embedders is not None and not self._stopping:
            return self._extra_embedders.why_unavailable(kind[6:])
        for regs, prefix in ((self._classifiers, "classify:"), (self._policies, "policy:")):
            if kind.startswith(prefix):
                reg = regs.get(kind[len(prefix):])
                return reg.error if reg and reg.error else f"nothing registered as {kind!r}"
        return "engine stopping" if self._stopping else f"unknown kind {kind!r}"

    def _require(self, kind: str) -> None:
        if not self.available(kind):
            raise ModelUnavailable(f"{kind}: {self.why_unavailable(kind)}")

    # -- embed ----------------------------------------------------------------------------------------
    def _run_embed(self, payloads: list[str | _WithHead]) -> list[Any]:
        """One embedding batch on the worker. A ``_WithHead`` payload also gets its classifier head applied
        in the same worker turn: its result is ``(embedding (d,), probabilities (k,))``, or the head's
        exception (which fails only the items of that head)."""
        texts = [p.text if isinstance(p, _WithHead) else p for p in payloads]
        emb = np.asarray(self._embedder.encode(texts), dtype=np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        emb = emb / np.maximum(norms, 1e-12)
        out: list[Any] = list(emb)
        heads: dict[str, list[int]] = {}
        for i, p in enumerate(payloads):
            if isinstance(p, _WithHead):
                heads.setdefault(p.head, []).append(i)
        for name, idx in heads.items():
            try:
                probs = self._apply_head(name, [texts[i] for i in idx], emb[idx])
            except Exception as exc:  # noqa: BLE001 - a failing head fails its own items only
                for i in idx:
                    out[i] = exc
                continue
            for i, row in zip(idx, probs, strict=True):
                out[i] = (emb[i], row)
        return out

    async def _embed_in_flight(self, mine: dict[str, asyncio.Future[np.ndarray]], payloads: list[Any],
                               priority: RequestPriority, timeout: float | None) -> list[Any]:
        """Run ``payloads`` (one per text of ``mine``, in its order: the text, or a ``_WithHead``) through
        the embedding batcher for the in-flight futures ``mine`` registered in ``_inflight``: each future
        gets its text's embedding (also cached) or the error, and the texts leave ``_inflight`` either
        way. Returns the batcher's results; raises what ``submit`` raises."""
        try:
            results = await self._embed_batcher.submit(payloads, priority=priority, timeout=timeout)
        except BaseException as exc:
            for fut in mine.values():
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else EngineBusy("embed: cancelled"))
                    fut.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            for t in mine:
                self._inflight.pop(t, None)
        for (t, fut), payload, result in zip(mine.items(), payloads, results, strict=True):
            row = result[0] if isinstance(payload, _WithHead) else result
            self.cache.put(t, row)
            fut.set_result(row)
        return results

    async def embed(self, texts: Sequence[str], *, priority: RequestPriority = RequestPriority.BACKGROUND,
                    timeout: float | None = None, model: str | None = None) -> np.ndarray:
        """Sentence embeddings: ``(n, d)`` float32, rows L2-normalised, in the order of ``texts``.

        ``model``: None (or the ``[inference.embed]`` model) for the shared embedder, else the spec of a
        second model registered with ``register_embedder`` (its own batches and cache; waits while it
        loads). Cached by exact text (LRU); concurrent requests for the same text share one model call.
        Raises ``ModelUnavailable``, ``EngineBusy`` (shed / timeout), ``TypeError`` for non-string items.
        """
        texts = _check_texts(texts, "embed")
        if model is not None and model != self.settings.embed.model:
            self._require(f"embed:{model}")
            assert self._extra_embedders is not None
            return await self._extra_embedders.embed(model, texts, priority=priority, timeout=timeout)
        self._require("embed")
        assert self._embed_batcher is not None
        dim = int(self._embedder.dim) if hasattr(self._embedder, "dim") else None
        rows: list[np.ndarray | None] = [None] * len(texts)
        mine: dict[str, asyncio.Future[np.ndarray]] = {}
        theirs: dict[str, asyncio.Future[np.ndarray]] = {}
        for i, t in enumerate(texts):
            row = self.cache.get(t)
            if row is not None:
                rows[i] = row
            elif t in self._inflight and t not in mine:
                theirs[t] = self._inflight[t]
            elif t not in mine:
                fut = asyncio.get_running_loop().create_future()
                mine[t] = self._inflight[t] = fut
        deadline = time.monotonic() + (self.settings.embed.timeout_s if timeout is None else timeout)
        if mine:
            await self._embed_in_flight(mine, list(mine), priority, timeout)
        if theirs:
            left = max(0.0, deadline - time.monotonic())
            try:
                shared = asyncio.gather(*(asyncio.shield(f) for f in theirs.values()))
                got = await asyncio.wait_for(shared, left)
            except TimeoutError:
                raise EngineBusy(f"embed: no answer within {left:g} s") from None
            found = dict(zip(theirs, got, strict=True))
        else:
            found = {}
        for i, t in enumerate(texts):
            if rows[i] is None:
                rows[i] = mine[t].result() if t in mine else found[t]
        if not rows:
            return np.zeros((0, dim or 0), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    # -- classify -------------------------------------------------------------------------------------
    def _apply_head(self, name: str, texts: list[str], emb: np.ndarray) -> np.ndarray:
        """``(n, k)`` float32 probabilities of the embedding head ``name`` (loaded on first use; on the
        worker thread). Raises ``ModelUnavailable`` when the loader fails, ``InferenceError`` on a bad
        shape."""
        reg = self._classifiers[name]
        if reg.model is None:
            try:
                reg.model = reg.loader()
            except Exception as exc:
                reg.error = f"classifier {name!r} failed to load: {exc}"
                raise ModelUnavailable(reg.error) from exc
        probs = np.asarray(reg.model(texts, emb.astype(np.float32, copy=False)), dtype=np.float32)
        if probs.ndim != 2 or probs.shape[0] != len(texts):
            raise InferenceError(f"classifier {name!r} returned shape {probs.shape} for {len(texts)} texts")
        return probs

    def _run_classifier(self, name: str, items: list[tuple[str, np.ndarray | None]]) -> list[Any]:
        reg = self._classifiers[name]
        texts = [t for t, _ in items]
        if reg.extra.get("hf"):
            probs = np.asarray(self._run_hf_classifier(name, reg, texts), dtype=np.float32)
            if probs.ndim != 2 or probs.shape[0] != len(items):
                raise InferenceError(
                    f"classifier {name!r} returned shape {probs.shape} for {len(items)} texts")
        else:
            probs = self._apply_head(name, texts, np.stack([e for _, e in items]))
        return list(probs)

    def _run_hf_classifier(self, name: str, reg: _Registered, texts: list[str]) -> np.ndarray:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        assert self.device is not None
        if reg.model is None:
            spec = reg.extra["hf"]
            try:
                where = resolve_folder(spec)
                tok = AutoTokenizer.from_pretrained(where)
                model = AutoModelForSequenceClassification.from_pretrained(where, dtype=self.device.dtype)
            except (OSError, ValueError) as exc:
                reg.error = f"classifier {name!r}: could not load {spec!r}: {exc}"
                raise ModelUnavailable(reg.error) from exc
            reg.model = (model.to(self.device.device).eval(), tok)
        model, tok = reg.model
        enc = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        enc = enc.to(self.device.device)
        return torch.softmax(model(**enc).logits.float(), dim=-1).cpu().numpy()

    async def classify(self, name: str, texts: Sequence[str], *,
                       priority: RequestPriority = RequestPriority.BACKGROUND,
                       timeout: float | None = None) -> np.ndarray:
        """``(n, k)`` float32 probabilities from the classifier registered as ``name`` (rows sum to 1).
        Raises ``ModelUnavailable`` (not registered / its model missing), ``EngineBusy``, ``TypeError``."""
        texts = _check_texts(texts, "classify")
        self._require(f"classify:{name}")
        reg = self._classifiers[name]
        assert reg.batcher is not None
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        limit = reg.batcher.settings.timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        if reg.extra.get("hf"):
            items: list[tuple[str, np.ndarray | None]] = [(t, None) for t in texts]
            rows = await reg.batcher.submit(items, priority=priority, timeout=limit)
            return np.stack(rows).astype(np.float32, copy=False)
        # Texts without a cached or in-flight embedding ride the embedding batch, head applied in the same
        # worker turn (a second hop through the classifier queue waited behind the next embedding batch:
        # p99 414 vs 206 ms at 240 msgs/s). They are registered in flight like embed()'s, so another
        # skill embedding the same line meanwhile shares this model call. The others only need the head.
        out: list[np.ndarray | None] = [None] * len(texts)
        mine: dict[str, asyncio.Future[np.ndarray]] = {}
        cached: dict[int, np.ndarray] = {}  # embeddings found in the cache: one lookup per text
        for i, t in enumerate(texts):
            if t in mine or t in self._inflight:
                continue
            row = self.cache.get(t)
            if row is None:
                mine[t] = self._inflight[t] = asyncio.get_running_loop().create_future()
            else:
                cached[i] = row
        if mine:
            t0 = time.monotonic()
            got = await self._embed_in_flight(mine, [_WithHead(t, name) for t in mine], priority, limit)
            fused = {t: probs for t, (_, probs) in zip(mine, got, strict=True)}
            for i, t in enumerate(texts):
                out[i] = fused.get(t)
            reg.batcher.stats.add("fused_items", len(mine))
            reg.batcher.stats.record_latency(time.monotonic() - t0)
        rest = [i for i in range(len(texts)) if out[i] is None]
        if rest:
            shared = [i for i in rest if i not in cached]  # in flight for another caller: wait for it
            if shared:
                left = max(0.0, deadline - time.monotonic())
                emb = await self.embed([texts[i] for i in shared], priority=priority, timeout=left)
                cached.update(zip(shared, emb, strict=True))
            left = max(0.0, deadline - time.monotonic())
            rows = await reg.batcher.submit([(texts[i], cached[i]) for i in rest], priority=priority,
                                            timeout=left)
            for i, probs in zip(rest, rows, strict=True):
                out[i] = probs
        return np.stack(out).astype(np.float32, copy=False)

    # -- generate -------------------------------------------------------------------------------------
    async def generate(
        self, prompt: str, *, max_new_tokens: int = 60, temperature: float = 0.8, top_p: float = 0.95,
        repetition_penalty: float = 1.1, stop: Sequence[str] = (), seed: int | None = None,
        priority: RequestPriority = RequestPriority.INTERACTIVE, timeout: float | None = None,
    ) -> str:
        """Continue ``prompt`` (the prompt is not included in the result) with continuous batching.
        ``temperature`` 0 is greedy. Raises ``ModelUnavailable``, ``EngineBusy``, ``ValueError`` for bad
        sampling arguments or an empty prompt without BOS, ``TypeError`` for a non-string prompt."""
        if not isinstance(prompt, str):
            raise TypeError(f"generate: prompt must be str, got {type(prompt).__name__}")
        self._require("generate")
        if self._generation is None and self._generator_task is not None:
            limit = self.settings.generate.timeout_s if timeout is None else timeout
            try:
                await asyncio.wait_for(asyncio.shield(self._generator_task), limit)
            except TimeoutError:
                raise EngineBusy("generate: the language model is still loading") from None
            self._require("generate")
        assert self._generation is not None
        params = sampling_params(max_new_tokens, temperature, top_p, repetition_penalty, stop, seed,
                                 self.settings.generate.max_new_tokens_limit)
        return await self._generation.submit(prompt, params, priority=priority, timeout=timeout)

    # -- policy ---------------------------------------------------------------------------------------
    def _run_policy(self, name: str, states: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
        assert self.device is not None
        reg = self._policies[name]
        if reg.model is None:
            try:
                reg.model = reg.loader().to(self.device.device).eval()
            except Exception as exc:
                reg.error = f"policy {name!r} failed to load: {exc}"
                raise ModelUnavailable(reg.error) from exc
        x = torch.from_numpy(np.stack(states).astype(np.float32)).to(self.device.device)
        logits, value = reg.model(x)
        logits = logits.float().cpu().numpy()
        value = value.float().reshape(len(states)).cpu().numpy()
        return [(logits[i], float(value[i])) for i in range(len(states))]

    async def policy(
        self, name: str, states: np.ndarray, *, priority: RequestPriority = RequestPriority.INTERACTIVE,
        timeout: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(logits (n, actions) float32, value (n,) float32)`` of the policy registered as ``name`` for
        ``states (n, *state_shape)``. Raises ``ModelUnavailable``, ``EngineBusy``, ``ValueError`` (shape)."""
        self._require(f"policy:{name}")
        reg = self._policies[name]
        states = np.asarray(states, dtype=np.float32)
        if states.ndim < 2:
            raise ValueError(f"policy {name!r}: states must be (n, *state_shape), got shape {states.shape}")
        if reg.batcher is None:
            assert self._worker is not None
            cfg: BatchSettings = reg.extra["settings"]
            reg.batcher = MicroBatcher(f"policy:{name}", lambda items: self._run_policy(name, items), cfg,
                                       self._worker)
        if len(states) == 0:
            return np.zeros((0, 0), dtype=np.float32), np.zeros((0,), dtype=np.float32)
        rows = await reg.batcher.submit(list(states), priority=priority, timeout=timeout)
        return (np.stack([r[0] for r in rows]).astype(np.float32),
                np.array([r[1] for r in rows], dtype=np.float32))

    # -- stats ----------------------------------------------------------------------------------------
    def _named_stats(self) -> dict[str, ModelStats]:
        out: dict[str, ModelStats] = {}
        if self._embed_batcher is not None:
            out["embed"] = self._embed_batcher.stats
        if self._generation is not None:
            out["generate"] = self._generation.stats
        for kind, regs in (("classify", self._classifiers), ("policy", self._policies)):
            for name, reg in regs.items():
                if reg.batcher is not None:
                    out[f"{kind}:{name}"] = reg.batcher.stats
        out.update((name, b.stats) for name, b in self._extra_batchers().items())
        return out

    def stats(self) -> dict[str, dict[str, float]]:
        """Per model: ``requests`` (answered), ``batches``, ``mean_batch_size``, ``max_batch_size``,
        ``queue_wait_p50/p95/p99_ms``, ``latency_p50/p95/p99_ms``, ``shed``, ``timeouts``, ``errors``,
        ``oom_splits``; ``embed`` adds ``cache_hits`` / ``cache_misses``; ``generate`` adds ``tokens`` and
        ``ttft_p50/p95/p99_ms`` (its ``batches`` are decoding steps)."""
        out = {name: st.summary() for name, st in self._named_stats().items()}
        if "embed" in out:
            out["embed"]["cache_hits"] = float(self.cache.hits)
            out["embed"]["cache_misses"] = float(self.cache.misses)
        counts = {} if self._extra_embedders is None else self._extra_embedders.cache_counts()
        for name, (hits, misses) in counts.items():
            if name in out:
                out[name]["cache_hits"], out[name]["cache_misses"] = float(hits), float(misses)
        return out

    async def _log_stats_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stats_log_interval_s)
            for name, st in self.stats().items():
                log.info("inference %s: %d batches, mean size %.1f, wait p95 %.0f ms, latency p50/p99 "
                         "%.0f/%.0f ms, shed %d", name, st["batches"], st["mean_batch_size"],
                         st["queue_wait_p95_ms"], st["latency_p50_ms"], st["latency_p99_ms"], st["shed"])
