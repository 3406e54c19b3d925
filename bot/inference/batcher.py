"""Per-model micro-batching with priorities, bounded queues, shedding, timeouts and graceful shutdown.

Requests are split into items (one text, one state); a ``MicroBatcher`` collects items from every caller
and runs ``run_batch(items) -> results`` on the device worker thread when ``max_batch_size`` items wait or
when the oldest has waited ``max_wait_ms`` (the dynamic batching of NVIDIA Triton / TorchServe:
https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/batcher.html).
Interactive items are taken before background ones. One batch per model runs at a time; items that
arrive meanwhile form the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.inference.api import EngineBusy, InferenceError, RequestPriority
from bot.inference.device import DeviceWorker, run_with_oom_split
from bot.inference.settings import BatchSettings
from bot.inference.stats import ModelStats


def take_by_priority(queues: dict[RequestPriority, deque[Any]], n: int) -> list[Any]:
    """Pop up to ``n`` waiting requests, interactive before background, oldest first within a priority.

    Each queued object has a ``future``; ones already done (cancelled or timed out while waiting) are
    discarded, never returned. Shared by the micro-batcher and the continuous-batching generator.
    """
    taken: list[Any] = []
    for priority in sorted(RequestPriority):
        q = queues[priority]
        while q and len(taken) < n:
            item = q.popleft()
            if not item.future.done():
                taken.append(item)
    return taken

log = logging.getLogger("chatcast.inference")


@dataclass(eq=False)
class _Item:
    payload: Any
    priority: RequestPriority
    future: asyncio.Future[Any]
    enqueued: float = field(default_factory=time.monotonic)
    waiting: bool = False  # counted in MicroBatcher._waiting (queued, not taken, not done)


class MicroBatcher:
    """Queue and batch the items of one model.

    ``run_batch(payloads: list) -> list`` (same length and order) runs on ``worker``'s thread; an element
    that is an ``Exception`` fails only its own item. Accelerator OOM splits the batch and retries
    (``run_with_oom_split``). When ``run_batch`` raises for a batch of several items, each is run alone, so
    only the items that fail alone get ``InferenceError`` (one bad input never fails its neighbours).
    """

    def __init__(self, name: str, run_batch: Callable[[list[Any]], list[Any]], settings: BatchSettings,
                 worker: DeviceWorker, *, stats: ModelStats | None = None) -> None:
        self.name = name
        self.settings = settings
        self.stats = stats or ModelStats()
        self._run_batch = run_batch
        self._worker = worker
        self._queues: dict[RequestPriority, deque[_Item]] = {p: deque() for p in RequestPriority}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._waiting = 0  # live queued items, kept by _admit/_take/_left so queued() is O(1)

    # -- callers -----------------------------------------------------------------------------------
    async def submit(self, payloads: Sequence[Any], *, priority: RequestPriority = RequestPriority.BACKGROUND,
                     timeout: float | None = None) -> list[Any]:
        """Queue ``payloads`` and return their results in order.

        Raises ``EngineBusy`` when shed (queue full), when ``timeout`` seconds (default: the model's
        ``timeout_s``) pass before every result is in, or when the engine is stopping; ``InferenceError``
        when the model failed. Cancelling the caller withdraws its waiting items.
        """
        if self._closing:
            raise EngineBusy(f"{self.name}: the inference engine is shutting down")
        if not payloads:
            return []
        self._ensure_started()
        loop = asyncio.get_running_loop()
        items: list[_Item] = []
        try:
            for p in payloads:
                item = _Item(p, RequestPriority(priority), loop.create_future())
                self._admit(item)
                items.append(item)
        except EngineBusy:
            for it in items:
                it.future.cancel()
            raise
        assert self._wake is not None
        self._wake.set()
        futures = [it.future for it in items]
        limit = self.settings.timeout_s if timeout is None else timeout
        try:
            done, pending = await asyncio.wait(futures, timeout=limit)
        except asyncio.CancelledError:
            for f in futures:
                f.cancel()
            raise
        if pending:
            for f in pending:
                f.cancel()
            self.stats.add("timeouts")
            raise EngineBusy(f"{self.name}: no answer within {limit:g} s ({self.queued()} items queued)")
        for f in futures:
            exc = f.exception()
            if exc is not None:
                raise exc
        return [f.result() for f in futures]

    def queued(self) -> int:
        """Items waiting (not yet running, not cancelled or timed out). O(1): under overload every admit
        asks, and counting a 10,000-item queue each time made admission quadratic."""
        return self._waiting

    def _left(self, item: _Item) -> None:
        """``item`` stops counting as waiting (taken to run, or done while queued)."""
        if item.waiting:
            item.waiting = False
            self._waiting -= 1

    def _admit(self, item: _Item) -> None:
        if self.queued() >= self.settings.max_queue:
            if item.priority is RequestPriority.BACKGROUND:
                self.stats.add("shed")
                raise EngineBusy(
                    f"{self.name}: queue full ({self.settings.max_queue}); background request shed")
            victim = self._pop_newest(RequestPriority.BACKGROUND)
            if victim is None:
                self.stats.add("shed")
                raise EngineBusy(f"{self.name}: busy, {self.settings.max_queue} interactive requests waiting")
            self.stats.add("shed")
            self._left(victim)
            victim.future.set_exception(
                EngineBusy(f"{self.name}: background request shed for an interactive one"))
        self._queues[item.priority].append(item)
        item.waiting = True
        self._waiting += 1
        item.future.add_done_callback(lambda _f, it=item: self._left(it))

    def _pop_newest(self, priority: RequestPriority) -> _Item | None:
        q = self._queues[priority]
        while q:
            it = q.pop()
            if not it.future.done():
                return it
        return None

    # -- scheduler ---------------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    def _purge_heads(self) -> None:
        for q in self._queues.values():
            while q and q[0].future.done():
                q.popleft()

    def _take(self, n: int) -> list[_Item]:
        taken = take_by_priority(self._queues, n)
        for it in taken:
            self._left(it)
        return taken

    async def _loop(self) -> None:
        assert self._wake is not None
        max_wait = self.settings.max_wait_ms / 1000.0
        while True:
            self._purge_heads()
            live = self.queued()
            self.stats.queued = live
            if live == 0:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            heads = [q[0].enqueued for q in self._queues.values() if q]
            wait = min(heads) + max_wait - time.monotonic()
            if live < self.settings.max_batch_size and wait > 0 and not self._closing:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            batch = self._take(self.settings.max_batch_size)
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[_Item], *, isolating: bool = False) -> None:
        start = time.monotonic()
        if not isolating:
            for it in batch:
                self.stats.record_wait(start - it.enqueued)
        try:
            results = await self._worker.run(
                run_with_oom_split, self._run_batch, [it.payload for it in batch],
                lambda: self.stats.add("oom_splits"))
            if len(results) != len(batch):
                raise InferenceError(
                    f"{self.name}: model returned {len(results)} results for {len(batch)} inputs")
        except Exception as exc:  # the model failed: the batch's items get the error, the loop lives on
            self.stats.add("errors")
            live = [it for it in batch if not it.future.done()]
            if len(live) > 1:
                # one bad input (text a tokenizer refuses) must not fail the others: run them one by one,
                # so only the items that fail alone get an error
                log.warning("%s: batch of %d failed (%s: %s); running its items one by one", self.name,
                            len(batch), type(exc).__name__, exc)
                for it in live:
                    await self._run([it], isolating=True)
                return
            if isolating:
                log.warning("%s: one input failed: %s: %s", self.name, type(exc).__name__, exc)
            else:
                log.exception("%s: batch of %d failed", self.name, len(batch))
            err = exc if isinstance(exc, InferenceError) else InferenceError(f"{self.name} failed: {exc}")
            for it in batch:
                if not it.future.done():
                    it.future.set_exception(err)
            return
        end = time.monotonic()
        self.stats.record_batch(len(batch))
        for it, res in zip(batch, results, strict=True):
            if it.future.done():
                continue  # timed out or cancelled meanwhile
            if isinstance(res, Exception):
                it.future.set_exception(res)
            else:
                it.future.set_result(res)
                self.stats.record_latency(end - it.enqueued)

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop taking requests; serve what is queued for up to ``grace_s`` seconds, then fail the rest with
        ``EngineBusy``. A batch already running on the worker finishes and delivers its results."""
        self._closing = True
        if self._task is None:
            return
        assert self._wake is not None
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            pass
        for q in self._queues.values():
            while q:
                it = q.popleft()
                if not it.future.done():
                    it.future.set_exception(EngineBusy(f"{self.name}: the inference engine shut down"))
        if not self._task.done():
            # the running batch (if any) is on the worker thread; wait for it so its callers get answers
            try:
                await asyncio.wait_for(asyncio.shield(self._task), max(grace_s, 30.0))
            except TimeoutError:
                self._task.cancel()
        self._closed = True
