"""Backoff with full jitter and the reconnect supervisor, with injected sleep, RNG and clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.backoff import Backoff, GiveUp, reconnecting


def test_full_jitter_bounds_and_cap():
    backoff = Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(1))
    assert [backoff.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.ceiling(10_000) == 8.0  # no overflow
    for attempt in range(12):
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0.0 <= d <= backoff.ceiling(attempt) for d in delays)
        # full jitter spreads over the whole interval, not just near the ceiling
        assert min(delays) < 0.2 * backoff.ceiling(attempt) < 0.8 * backoff.ceiling(attempt) < max(delays)


def test_bad_bounds_raise():
    with pytest.raises(ValueError):
        Backoff(base_s=0)
    with pytest.raises(ValueError):
        Backoff(base_s=5, cap_s=1)
    with pytest.raises(ValueError):
        Backoff().ceiling(-1)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class MaxRng:
    """Always the top of the interval, so delays are predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def test_retries_until_session_returns():
    fake = FakeTime()
    calls = []

    async def session() -> None:
        calls.append(fake.now)
        if len(calls) < 4:
            raise ConnectionError("refused")

    await reconnecting(
        session, backoff=Backoff(1.0, 10.0, rng=MaxRng()), sleep=fake.sleep, monotonic=fake.monotonic
    )
    assert len(calls) == 4
    assert fake.sleeps == [1.0, 2.0, 4.0]


async def test_max_attempts_reraises_last_error():
    fake = FakeTime()

    async def session() -> None:
        raise OSError("network unreachable")

    with pytest.raises(OSError, match="unreachable"):
        await reconnecting(session, max_attempts=3, sleep=fake.sleep, monotonic=fake.monotonic)
    assert len(fake.sleeps) == 2


async def test_give_up_is_not_retried():
    fake = FakeTime()

    async def session() -> None:
        raise GiveUp("bad token")

    with pytest.raises(GiveUp):
        await reconnecting(session, sleep=fake.sleep, monotonic=fake.monotonic)
    assert fake.sleeps == []


async def test_healthy_session_resets_attempts():
    fake = FakeTime()
    runs = iter([0.0, 0.0, 120.0, 0.0, None])  # seconds each session stays up before failing

    async def session() -> None:
        up = next(runs)
        if up is None:
            return
        fake.now += up
        raise ConnectionResetError("reset by peer")

    await reconnecting(
        session, backoff=Backoff(1.0, 60.0, rng=MaxRng()), healthy_after_s=60.0,
        sleep=fake.sleep, monotonic=fake.monotonic,
    )
    assert fake.sleeps == [1.0, 2.0, 1.0, 2.0]  # the 120 s session reset the counter


async def test_cancellation_propagates():
    async def session() -> None:
        await asyncio.sleep(10)

    task = asyncio.create_task(reconnecting(session))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
