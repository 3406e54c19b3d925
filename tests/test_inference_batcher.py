"""MicroBatcher: batching policy, priorities, shedding, timeouts, cancellation, OOM split, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import torch

from bot.inference.api import EngineBusy, InferenceError, RequestPriority
from bot.inference.batcher import MicroBatcher
from bot.inference.device import DeviceWorker, run_with_oom_split
from bot.inference.settings import BatchSettings

BG, INT = RequestPriority.BACKGROUND, RequestPriority.INTERACTIVE


class Recorder:
    """A fake model: squares numbers, remembers every batch, can block until released."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, items: list[int]) -> list[int]:
        self.gate.wait(5)
        if self.delay:
            time.sleep(self.delay)
        self.batches.append(list(items))
        return [x * x for x in items]


@pytest.fixture
def worker():
    w = DeviceWorker(torch.device("cpu"))
    yield w
    w.shutdown()


async def test_results_in_order_and_batched(worker):
    model = Recorder()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=8, max_wait_ms=50), worker)
    out = await asyncio.gather(*(b.submit([i, i + 100]) for i in range(10)))
    assert out == [[i * i, (i + 100) ** 2] for i in range(10)]
    assert all(len(batch) <= 8 for batch in model.batches)
    assert len(model.batches) < 20  # 20 items did not run one by one
    assert b.stats.summary()["max_batch_size"] == 8
    await b.stop()


async def test_runs_when_oldest_waited_max_wait(worker):
    model = Recorder()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=64, max_wait_ms=30), worker)
    t0 = time.monotonic()
    assert await b.submit([3]) == [9]
    took = time.monotonic() - t0
    assert 0.025 <= took < 1.0
    await b.stop()


async def test_interactive_served_before_background(worker):
    model = Recorder()
    model.gate.clear()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=2, max_wait_ms=0), worker)
    first = asyncio.create_task(b.submit([0], priority=BG))
    await asyncio.sleep(0.05)  # batch [0] is running and blocked
    bg = asyncio.create_task(b.submit([1, 2], priority=BG))
    await asyncio.sleep(0.01)
    it = asyncio.create_task(b.submit([3, 4], priority=INT))
    await asyncio.sleep(0.01)
    model.gate.set()
    await asyncio.gather(first, bg, it)
    assert model.batches[1] == [3, 4]
    assert model.batches[2] == [1, 2]
    await b.stop()


async def test_background_shed_when_queue_full(worker):
    model = Recorder()
    model.gate.clear()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=1, max_wait_ms=0, max_queue=3), worker)
    running = asyncio.create_task(b.submit([0]))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(b.submit([i], priority=BG)) for i in range(1, 4)]
    await asyncio.sleep(0.01)
    with pytest.raises(EngineBusy, match="shed"):
        await b.submit([9], priority=BG)
    # an interactive request displaces the newest background one
    inter = asyncio.create_task(b.submit([7], priority=INT))
    await asyncio.sleep(0.01)
    model.gate.set()
    assert await inter == [49]
    results = await asyncio.gather(running, *queued, return_exceptions=True)
    assert isinstance(results[-1], EngineBusy)
    assert results[:-1] == [[0], [1], [4]]
    assert b.stats.summary()["shed"] == 2
    await b.stop()


async def test_timeout_raises_busy_and_withdraws(worker):
    model = Recorder()
    model.gate.clear()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=1, max_wait_ms=0), worker)
    blocker = asyncio.create_task(b.submit([1]))
    await asyncio.sleep(0.05)
    with pytest.raises(EngineBusy, match="no answer within"):
        await b.submit([2], timeout=0.05)
    model.gate.set()
    assert await blocker == [1]
    assert await b.submit([5]) == [25]
    assert [2] not in model.batches  # the timed-out request never ran
    assert b.stats.summary()["timeouts"] == 1
    await b.stop()


async def test_cancelled_waiting_request_is_not_run(worker):
    model = Recorder()
    model.gate.clear()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=1, max_wait_ms=0), worker)
    blocker = asyncio.create_task(b.submit([1]))
    await asyncio.sleep(0.05)
    victim = asyncio.create_task(b.submit([2]))
    await asyncio.sleep(0.01)
    victim.cancel()
    model.gate.set()
    assert await blocker == [1]
    assert await b.submit([3]) == [9]
    assert victim.cancelled()
    assert [2] not in model.batches
    await b.stop()


async def test_model_error_fails_batch_but_batcher_survives(worker):
    calls = []

    def flaky(items):
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return items

    b = MicroBatcher("m", flaky, BatchSettings(max_batch_size=4, max_wait_ms=0), worker)
    with pytest.raises(InferenceError, match="boom"):
        await b.submit([1])
    assert await b.submit([2]) == [2]
    await b.stop()


def test_oom_split_keeps_every_item_in_order():
    seen = []

    def fits_two(items):
        seen.append(len(items))
        if len(items) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return [x + 1 for x in items]

    splits = []
    assert run_with_oom_split(fits_two, list(range(7)), lambda: splits.append(1)) == list(range(1, 8))
    assert seen[0] == 7 and sum(n for n in seen if n <= 2) == 7  # every item ran exactly once
    assert splits


def test_oom_on_single_item_reraises():
    def never(items):
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        run_with_oom_split(never, [1, 2])


async def test_oom_split_through_batcher(worker):
    def fits_two(items):
        if len(items) > 2:
            raise RuntimeError("CUDA error: out of memory")
        return [-x for x in items]

    b = MicroBatcher("m", fits_two, BatchSettings(max_batch_size=8, max_wait_ms=20), worker)
    assert await b.submit(list(range(6))) == [0, -1, -2, -3, -4, -5]
    assert b.stats.summary()["oom_splits"] >= 1
    await b.stop()


async def test_shutdown_with_requests_in_flight(worker):
    model = Recorder(delay=0.05)
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=2, max_wait_ms=0), worker)
    tasks = [asyncio.create_task(b.submit([i])) for i in range(20)]
    await asyncio.sleep(0.02)
    await b.stop(grace_s=0.1)
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    answered = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, EngineBusy)]
    assert len(answered) + len(refused) == 20  # everyone heard back
    assert answered and refused
    with pytest.raises(EngineBusy, match="shutting down"):
        await b.submit([1])


async def test_queued_counts_only_live_waiting_items(worker):
    # queued() is a counter now (it was a scan of the whole queue on every admit): it must follow
    # cancellations in the middle of the queue, shedding and items taken to run.
    model = Recorder()
    model.gate.clear()
    b = MicroBatcher("m", model, BatchSettings(max_batch_size=1, max_wait_ms=0, max_queue=4), worker)
    running = asyncio.create_task(b.submit([0]))
    await asyncio.sleep(0.05)
    assert b.queued() == 0  # taken to run
    waiting = [asyncio.create_task(b.submit([i], priority=BG)) for i in range(1, 5)]
    await asyncio.sleep(0.01)
    assert b.queued() == 4
    waiting[1].cancel()  # one in the middle
    await asyncio.sleep(0.01)
    assert b.queued() == 3
    inter = asyncio.create_task(b.submit([7], priority=INT))  # room for it: no shedding
    await asyncio.sleep(0.01)
    assert b.queued() == 4 and b.stats.summary()["shed"] == 0
    model.gate.set()
    assert await inter == [49]
    results = await asyncio.gather(running, *waiting, return_exceptions=True)
    assert results[:2] == [[0], [1]] and results[3:] == [[9], [16]]
    assert isinstance(results[2], asyncio.CancelledError) and [2] not in model.batches
    assert b.queued() == 0
    await b.stop()


async def test_one_bad_input_fails_only_its_own_request(worker):
    # regression: a text the tokenizer refused (a lone surrogate) failed every message in its batch
    def picky(items):
        if any(x < 0 for x in items):
            raise TypeError("TextEncodeInput must be Union[...]")
        return [x * 10 for x in items]

    b = MicroBatcher("m", picky, BatchSettings(max_batch_size=8, max_wait_ms=50), worker)
    results = await asyncio.gather(*(b.submit([x]) for x in (1, 2, -1, 3)), return_exceptions=True)
    assert results[:2] == [[10], [20]] and results[3] == [30]
    assert isinstance(results[2], InferenceError) and "TextEncodeInput" in str(results[2])
    await b.stop()
