"""Injectable clocks, so cooldowns, rate limits, vote windows and replays are testable without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds (``monotonic()``) and wall time (``now()``, aware UTC)."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: ``advance(seconds)`` or ``set(datetime)``.

    Replays drive one of these from the log's timestamps so cooldowns follow the log's time, not the CPU's.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._mono = 0.0

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` (>= 0; a negative value raises ``ValueError``)."""
        if seconds < 0:
            raise ValueError(f"clock cannot go backwards ({seconds} s)")
        from datetime import timedelta

        self._mono += seconds
        self._now = self._now + timedelta(seconds=seconds)

    def begin(self, when: datetime) -> None:
        """Start at ``when`` (aware) when the clock has not moved yet, earlier or later than its start: a
        replay of a 2022 log must not sit at the default start (2024-01-01) until the log passes it.
        Later, the same as ``set``."""
        if self._mono == 0.0:
            self._now = when
        else:
            self.set(when)

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (aware); earlier times than now are ignored (logs are not always sorted)."""
        delta = (when - self._now).total_seconds()
        if delta > 0:
            self.advance(delta)
