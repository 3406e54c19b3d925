"""Continuous batching for a causal language model.

Iteration-level scheduling (Yu et al., "Orca", OSDI 2022): the running batch is decoded one token per step;
between steps, waiting requests are prefilled and join the batch, finished ones leave. Rows share one
left-padded KV cache (``transformers.DynamicCache`` with full layers; sliding-window layers get their window
from the attention mask); a joining row's cache is left-padded to the batch's length and concatenated along
the batch axis, a leaving row is dropped and columns that became all padding are trimmed. Each row carries
explicit position ids, so padding never shifts positions and a request's greedy output is the same alone or
joined mid-batch (up to float rounding).

Sampling per request: repetition penalty (Keskar et al. 2019, CTRL, as in transformers'
``RepetitionPenaltyLogitsProcessor``), temperature, nucleus/top-p (Holtzman et al. 2020), seeded
``torch.Generator``, stop strings, EOS and ``max_new_tokens``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

from bot.inference.api import EngineBusy, InferenceError, RequestPriority
from bot.inference.batcher import take_by_priority
from bot.inference.device import DeviceWorker, is_oom
from bot.inference.settings import GenerateSettings
from bot.inference.stats import ModelStats

log = logging.getLogger("chatcast.inference")


@dataclass(frozen=True)
class SamplingParams:
    """How one request samples. ``temperature`` <= 1e-5 means greedy; ``top_p`` in (0, 1];
    ``repetition_penalty`` >= 1 (1 = off); ``stop``: strings that end the text (not included);
    ``seed``: makes sampling reproducible (None = random)."""

    max_new_tokens: int = 60
    temperature: float = 0.8
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(eq=False)
class _Sequence:
    prompt_ids: list[int]
    params: SamplingParams
    priority: RequestPriority
    future: asyncio.Future[str]
    enqueued: float = field(default_factory=time.monotonic)
    generated: list[int] = field(default_factory=list)
    text: str = ""
    done: bool = False
    first_token_at: float | None = None
    generator: torch.Generator | None = None
    seen: torch.Tensor | None = None  # token ids for the repetition penalty


_NUCLEUS_STEPS = (256, 4096)
"""Candidate counts tried in turn (``topk``) before sorting the whole vocabulary: a row's nucleus is exact as
soon as its candidates hold ``top_p`` of the mass. Gemma 3 270M at temperature 0.8 needed more than 256
candidates in most rows of a long story continuation (sorting 262k tokens per row was 58 of a 304 ms
step on the CPU)."""


def _apply_repetition_penalty(logits: torch.Tensor, seqs: Sequence[_Sequence]) -> torch.Tensor:
    """``logits`` ``(B, vocab)`` with every row's seen tokens penalised (CTRL), all rows in one gather and
    one scatter on ``logits``' device (the seen ids live on the CPU; only their indices travel)."""
    rows, cols, pens = [], [], []
    for i, s in enumerate(seqs):
        p = s.params.repetition_penalty
        if p == 1.0 or s.seen is None or not s.seen.numel():
            continue
        idx = torch.unique(s.seen)
        rows.append(torch.full_like(idx, i))
        cols.append(idx)
        pens.append(torch.full(idx.shape, p))
    if not rows:
        return logits
    dev = logits.device
    r, c = torch.cat(rows).to(dev), torch.cat(cols).to(dev)
    pen = torch.cat(pens).to(dev, logits.dtype)
    picked = logits[r, c]
    logits = logits.clone()
    logits[r, c] = torch.where(picked < 0, picked * pen, picked / pen)
    return logits


_Candidates = tuple[torch.Tensor, torch.Tensor]


def _nucleus_candidates(probs: torch.Tensor, top_ps: Sequence[float]) -> list[_Candidates]:
    """Per row of ``probs`` ``(n, vocab)`` (any device): the most likely tokens, probabilities descending,
    as CPU ``(values, ids)``, enough of them to hold ``top_ps[row]`` of the mass (``_NUCLEUS_STEPS``
    candidates, then the whole vocabulary for the rows that still fall short)."""
    n, vocab = probs.shape
    out: list[_Candidates | None] = [None] * n
    todo = list(range(n))
    for k in (*(min(k, vocab) for k in _NUCLEUS_STEPS), vocab):
        sub = probs if len(todo) == n else probs[todo]
        v, i = torch.sort(sub, descending=True) if k == vocab else torch.topk(sub, k, dim=-1)
        v, i = v.cpu(), i.cpu()
        mass = torch.cumsum(v, dim=-1)[:, -1]
        rest = []
        for j, row in enumerate(todo):
            if k == vocab or mass[j] >= top_ps[row]:
                out[row] = (v[j], i[j])
            else:
                rest.append(row)
        todo = rest
        if not todo:
            break
    return [c for c in out if c is not None]


def _sample_row(probs: torch.Tensor, candidates: _Candidates, seq: _Sequence) -> int:
    """One draw from the nucleus; ``candidates`` (CPU values and ids, descending) hold at least ``top_p``
    of the mass; ``probs`` (the whole row, any device) is read only when ``top_p`` >= 1."""
    top_p = seq.params.top_p
    if top_p >= 1.0:
        return int(torch.multinomial(probs.cpu(), 1, generator=seq.generator))
    top_v, top_i = candidates
    cum = torch.cumsum(top_v, dim=-1)
    n = max(1, int((cum - top_v < top_p).sum()))  # smallest prefix whose mass reaches top_p
    nucleus = top_v[:n]
    return int(top_i[int(torch.multinomial(nucleus / nucleus.sum(), 1, generator=seq.generator))])


def sample_batch(logits: torch.Tensor, seqs: Sequence[_Sequence]) -> list[int]:
    """Next token of each row of ``logits`` ``(B, vocab)`` under its sequence's ``SamplingParams``.

    Repetition penalty first (CTRL), then greedy (temperature <= 1e-5) or temperature + nucleus sampling.
    The nucleus is found among the few most likely tokens (``topk``, linear time; ``_NUCLEUS_STEPS``) and
    only a row whose candidates hold less than ``top_p`` of the mass sorts the whole vocabulary, so the
    result equals the full-sort definition (Holtzman et al. 2020) at a fraction of the cost on a 262k
    vocabulary. Everything up to the ``topk`` runs where ``logits`` are (the GPU, when there is one) and
    only the candidates come to the CPU, where each row's seeded ``torch.Generator`` draws.
    """
    logits = _apply_repetition_penalty(logits.float(), seqs)
    out = [0] * len(seqs)
    greedy = [i for i, s in enumerate(seqs) if s.params.temperature <= 1e-5]
    sampled = [i for i, s in enumerate(seqs) if s.params.temperature > 1e-5]
    if greedy:
        best = torch.argmax(logits[greedy], dim=-1).tolist()
        for i, tok in zip(greedy, best, strict=True):
            out[i] = int(tok)
    if sampled:
        temps = torch.tensor([seqs[i].params.temperature for i in sampled], device=logits.device).unsqueeze(1)
        probs = torch.softmax(logits[sampled] / temps, dim=-1)
        # a row without nucleus (top_p >= 1) draws from ``probs``: any candidates will do
        top_ps = [p if (p := seqs[i].params.top_p) < 1.0 else 0.0 for i in sampled]
        for j, (i, cands) in enumerate(zip(sampled, _nucleus_candidates(probs, top_ps), strict=True)):
            out[i] = _sample_row(probs[j], cands, seqs[i])
    return out


def sample_next(logits: torch.Tensor, seq: _Sequence) -> int:
    """Next token of one sequence from its ``(vocab,)`` logits (``sample_batch`` for one row)."""
    return sample_batch(logits.unsqueeze(0), [seq])[0]


def attention_backends(device: torch.device) -> AbstractContextManager[Any]:
    """The scaled-dot-product-attention backends the decode loop may use: on CUDA every backend except
    cuDNN, elsewhere no restriction. With the loop's explicit padding mask torch 2.11 chose cuDNN
    attention, which builds an execution plan for every new (batch, length) shape, and a continuous
    batcher meets a new one almost every step: on an NVIDIA H200 a decode step of Gemma 3 270M at batch 16
    took 112.8 ms on new shapes (28.9 ms once the same shapes came again), 35.8 ms with cuDNN left out
    whatever the shape; at batch 1, 35.6 ms against 27.5 (``benchmarks/results/gpu/step_diag.txt``).
    The flags are process-wide while the context is open, so it wraps only model calls, which all run on
    the device's one worker thread."""
    if device.type != "cuda":
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


class _DecodeState:
    """The running batch: rows, their shared left-padded KV cache and 2-D attention mask. Only touched on
    the device worker thread."""

    def __init__(self, model: Any, tokenizer: Any, device: torch.device) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.rows: list[_Sequence] = []
        self.kv: list[tuple[torch.Tensor, torch.Tensor]] = []  # per layer (B, heads, T, head_dim)
        self.mask: torch.Tensor | None = None  # (B, T) long, 1 = real token
        self.positions: torch.Tensor | None = None  # (B,) position id of the next token
        self.last: torch.Tensor | None = None  # (B,) last sampled token id
        # transformers 5.2x renamed the forward argument ``past_key_values`` to ``cache``
        params = inspect.signature(model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        eos = getattr(model.generation_config, "eos_token_id", None) or tokenizer.eos_token_id
        self.eos = set(eos if isinstance(eos, list) else [eos]) - {None}

    # -- joining --------------------------------------------------------------------------------------
    def prefill(self, joiners: list[_Sequence]) -> None:
        """Run the prompts of ``joiners`` (left-padded together), sample each first token, and merge their
        cache into the running batch."""
        from transformers import DynamicCache

        pad = self.tokenizer.pad_token_id or 0
        width = max(len(s.prompt_ids) for s in joiners)
        ids = torch.full((len(joiners), width), pad, dtype=torch.long)
        mask = torch.zeros((len(joiners), width), dtype=torch.long)
        for i, s in enumerate(joiners):
            ids[i, width - len(s.prompt_ids):] = torch.tensor(s.prompt_ids)
            mask[i, width - len(s.prompt_ids):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        with attention_backends(self.device):
            out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                             position_ids=pos.to(self.device), use_cache=True, logits_to_keep=1,
                             **{self.cache_arg: cache})
        logits = out.logits[:, -1, :]  # sampled where it is: see sample_batch
        new_kv = [(layer.keys, layer.values) for layer in cache.layers]
        for s in joiners:
            s.generator = torch.Generator().manual_seed(s.params.seed) if s.params.seed is not None else None
            s.seen = torch.tensor(s.prompt_ids, dtype=torch.long)
        firsts = sample_batch(logits, joiners)
        now = time.monotonic()
        for s, tok in zip(joiners, firsts, strict=True):
            s.first_token_at = now
            self._append(s, tok)
        self._merge(joiners, new_kv, mask.to(self.device), mask.sum(-1).to(self.device),
                    torch.tensor(firsts, device=self.device))

    def _merge(self, joiners: list[_Sequence], new_kv: list[tuple[torch.Tensor, torch.Tensor]],
               new_mask: torch.Tensor, new_pos: torch.Tensor, new_last: torch.Tensor) -> None:
        if not self.rows:
            self.rows, self.kv, self.mask, self.positions, self.last = (
                list(joiners), new_kv, new_mask, new_pos, new_last)
            return
        assert self.mask is not None and self.positions is not None and self.last is not None
        t_old, t_new = self.mask.shape[1], new_mask.shape[1]
        width = max(t_old, t_new)

        def left_pad(x: torch.Tensor, dim: int, n: int) -> torch.Tensor:
            if n == 0:
                return x
            shape = list(x.shape)
            shape[dim] = n
            return torch.cat([x.new_zeros(shape), x], dim=dim)

        self.kv = [(torch.cat([left_pad(k0, 2, width - t_old), left_pad(k1, 2, width - t_new)]),
                    torch.cat([left_pad(v0, 2, width - t_old), left_pad(v1, 2, width - t_new)]))
                   for (k0, v0), (k1, v1) in zip(self.kv, new_kv, strict=True)]
        self.mask = torch.cat([left_pad(self.mask, 1, width - t_old), left_pad(new_mask, 1, width - t_new)])
        self.positions = torch.cat([self.positions, new_pos])
        self.last = torch.cat([self.last, new_last])
        self.rows.extend(joiners)

    # -- decoding -------------------------------------------------------------------------------------
    def step(self) -> None:
        """Decode one token for every running row."""
        from transformers import DynamicCache

        assert self.mask is not None and self.positions is not None and self.last is not None
        b = len(self.rows)
        mask = torch.cat([self.mask, self.mask.new_ones((b, 1))], dim=1)
        cache = DynamicCache(ddp_cache_data=self.kv)
        t = self.mask.shape[1]
        with attention_backends(self.device):
            out = self.model(input_ids=self.last.view(b, 1), attention_mask=mask,
                             position_ids=self.positions.view(b, 1), use_cache=True,
                             **{self.cache_arg: cache}, cache_position=torch.tensor([t], device=self.device))
        self.kv = [(layer.keys, layer.values) for layer in cache.layers]
        self.mask = mask
        self.positions = self.positions + 1
        logits = out.logits[:, -1, :]
        nxt = sample_batch(logits, self.rows)
        for s, tok in zip(self.rows, nxt, strict=True):
            self._append(s, tok)
        self.last = torch.tensor(nxt, device=self.device)

    def step_and_evict(self) -> list[_Sequence]:
        """``step()`` then ``evict()`` in one call (one hop to the worker thread per token)."""
        self.step()
        return self.evict()

    def _append(self, s: _Sequence, tok: int) -> None:
        if s.done:
            return
        if tok in self.eos:
            s.done = True
            return
        s.generated.append(tok)
        if s.seen is not None:
            s.seen = torch.cat([s.seen, torch.tensor([tok])])
        s.text = self.tokenizer.decode(s.generated, skip_special_tokens=True)
        for stop in s.params.stop:
            cut = s.text.find(stop) if stop else -1
            if cut >= 0:
                s.text = s.text[:cut]
                s.done = True
        if len(s.generated) >= s.params.max_new_tokens:
            s.done = True

    def evict(self) -> list[_Sequence]:
        """Remove finished or abandoned rows; return the finished ones."""
        keep = [i for i, s in enumerate(self.rows) if not s.done and not s.future.done()]
        gone = [s for s in self.rows if s.done]
        if len(keep) == len(self.rows):
            return gone
        if not keep:
            self.rows, self.kv, self.mask, self.positions, self.last = [], [], None, None, None
            return gone
        assert self.mask is not None and self.positions is not None and self.last is not None
        idx = torch.tensor(keep, device=self.device)
        mask = self.mask.index_select(0, idx)
        first = int(torch.nonzero(mask.any(0))[0])  # columns before it are padding in every kept row
        self.mask = mask[:, first:]
        self.kv = [(k.index_select(0, idx)[:, :, first:], v.index_select(0, idx)[:, :, first:])
                   for k, v in self.kv]
        self.positions = self.positions.index_select(0, idx)
        self.last = self.last.index_select(0, idx)
        self.rows = [self.rows[i] for i in keep]
        return gone


class ContinuousBatcher:
    """Serves ``generate`` requests of one causal LM with continuous batching.

    ``submit(prompt, params)`` -> generated text (prompt excluded). At most ``settings.max_batch_size``
    sequences decode together; the rest wait (interactive first). Raises ``EngineBusy`` on timeout, full
    queue or shutdown, ``InferenceError`` if the model fails. Every model call runs on ``worker``.
    """

    def __init__(self, name: str, model: Any, tokenizer: Any, settings: GenerateSettings,
                 worker: DeviceWorker, *, device: torch.device | None = None,
                 stats: ModelStats | None = None) -> None:
        self.name = name
        self.settings = settings
        self.stats = stats or ModelStats()
        self.tokenizer = tokenizer
        self._worker = worker
        self._state = _DecodeState(model, tokenizer, device or next(model.parameters()).device)
        self._waiting: dict[RequestPriority, deque[_Sequence]] = {p: deque() for p in RequestPriority}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of ``prompt``, keeping its last ``max_prompt_tokens``; raises ``ValueError`` if empty."""
        ids = list(self.tokenizer(prompt)["input_ids"])
        if not ids:
            bos = self.tokenizer.bos_token_id
            if bos is None:
                raise ValueError("generate: the prompt is empty and the tokenizer has no BOS token")
            ids = [bos]
        return ids[-self.settings.max_prompt_tokens:]

    def queued(self) -> int:
        return sum(1 for q in self._waiting.values() for s in q if not s.future.done())

    async def submit(self, prompt: str, params: SamplingParams, *,
                     priority: RequestPriority = RequestPriority.INTERACTIVE,
                     timeout: float | None = None) -> str:
        """Generate a continuation of ``prompt``. See the class docstring for errors."""
        if self._closing:
            raise EngineBusy(f"{self.name}: the inference engine is shutting down")
        ids = self.encode_prompt(prompt)
        loop = asyncio.get_running_loop()
        seq = _Sequence(ids, params, RequestPriority(priority), loop.create_future())
        if self.queued() >= self.settings.max_queue:
            self.stats.add("shed")
            raise EngineBusy(f"{self.name}: {self.settings.max_queue} generations waiting; try again later")
        self._waiting[seq.priority].append(seq)
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._loop(), name=f"generation-{self.name}")
        assert self._wake is not None
        self._wake.set()
        limit = self.settings.timeout_s if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.shield(seq.future), limit)
        except TimeoutError:
            seq.future.cancel()
            self.stats.add("timeouts")
            raise EngineBusy(f"{self.name}: no answer within {limit:g} s") from None
        except asyncio.CancelledError:
            seq.future.cancel()
            raise

    def _take_joiners(self, n: int) -> list[_Sequence]:
        return take_by_priority(self._waiting, n)

    async def _loop(self) -> None:
        assert self._wake is not None
        state = self._state
        while True:
            free = self.settings.max_batch_size - len(state.rows)
            if not state.rows and self.queued() == 0:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                if not state.rows and self.settings.max_wait_ms > 0:
                    await asyncio.sleep(self.settings.max_wait_ms / 1000.0)  # let a burst prefill together
                continue
            joiners = self._take_joiners(free) if free > 0 and not self._closing else []
            try:
                if joiners:
                    now = time.monotonic()
                    for s in joiners:
                        self.stats.record_wait(now - s.enqueued)
                    await self._worker.run(state.prefill, joiners)
                    for s in joiners:
                        if s.first_token_at is not None:
                            self.stats.record_ttft(s.first_token_at - s.enqueued)
                    finished = await self._worker.run(state.evict)
                else:
                    self.stats.record_batch(len(state.rows))
                    finished = await self._worker.run(state.step_and_evict)
            except Exception as exc:
                self._fail_running(exc, joiners)
                continue
            for s in finished:
                self.stats.add("tokens", len(s.generated))
                if not s.future.done():
                    s.future.set_result(s.text)
                    self.stats.record_latency(time.monotonic() - s.enqueued)

    def _fail_running(self, exc: Exception, joiners: list[_Sequence]) -> None:
        state = self._state
        rows = list(state.rows) + [s for s in joiners if s not in state.rows]
        if is_oom(exc) and len(rows) > 1:
            # out of memory: restart the newest half later (same seed -> same text), keep the rest
            self.stats.add("oom_splits")
            log.warning("%s: out of memory with %d sequences; requeueing half", self.name, len(rows))
            keep, back = rows[: len(rows) // 2], rows[len(rows) // 2:]
            for s in back:
                s.generated, s.text, s.done = [], "", False
                self._waiting[s.priority].appendleft(s)
            state.rows, state.kv, state.mask, state.positions, state.last = [], [], None, None, None
            for s in keep:
                s.generated, s.text, s.done = [], "", False
                self._waiting[s.priority].appendleft(s)
            self.settings = self.settings.model_copy(update={"max_batch_size": max(1, len(keep))})
            return
        self.stats.add("errors")
        log.error("%s: generation failed", self.name, exc_info=exc)
        err = InferenceError(f"{self.name} failed: {exc}")
        if joiners and not any(s in state.rows for s in joiners):
            rows = joiners  # the prefill failed before merging: the running batch is intact
        for s in rows:
            if not s.future.done():
                s.future.set_exception(err)
        if rows is not joiners:
            state.rows, state.kv, state.mask, state.positions, state.last = [], [], None, None, None

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop taking requests; running and waiting generations get up to ``grace_s`` seconds to finish,
        then fail with ``EngineBusy``."""
        self._closing = True
        if self._task is None:
            return
        assert self._wake is not None
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            pass
        pending = [s for q in self._waiting.values() for s in q] + list(self._state.rows)
        for s in pending:
            if not s.future.done():
                s.future.set_exception(EngineBusy(f"{self.name}: the inference engine shut down"))
        for q in self._waiting.values():
            q.clear()
        if not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 30.0)
            except TimeoutError:
                self._task.cancel()


def sampling_params(max_new_tokens: int, temperature: float, top_p: float, repetition_penalty: float,
                    stop: Sequence[str], seed: int | None, limit: int) -> SamplingParams:
    """Validate generate() arguments into ``SamplingParams``; raises ``ValueError`` naming the bad one."""
    if not 1 <= int(max_new_tokens):
        raise ValueError(f"generate: max_new_tokens must be >= 1, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"generate: top_p must be in (0, 1], got {top_p}")
    if repetition_penalty <= 0:
        raise ValueError(f"generate: repetition_penalty must be > 0, got {repetition_penalty}")
    if isinstance(stop, str):
        stop = (stop,)
    return SamplingParams(min(int(max_new_tokens), limit), float(temperature), float(top_p),
                          float(repetition_penalty), tuple(s for s in stop if s), seed)
