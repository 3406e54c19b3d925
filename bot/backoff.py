"""Reconnect with exponential backoff and full jitter, written once for every adapter.

Full jitter: the ``n``-th retry (``n`` from 0) waits ``uniform(0, min(cap, base * 2**n))`` seconds.
Randomising the whole interval spreads reconnecting clients best and finishes the work with the fewest
calls of the variants compared in Marc Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog,
2015 (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).

``reconnecting(session)`` runs ``session()`` (connect, then serve until the connection ends) again and
again: when it raises, the error is logged and the next try waits the backoff delay; a session that stayed
up for ``healthy_after_s`` resets the attempt counter; a session that returns normally ends the loop
(the adapter was closed on purpose). Sleep, RNG and clock are injectable, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("chatcast.backoff")


@dataclass
class Backoff:
    """Full-jitter exponential backoff delays.

    ``base_s`` (> 0): scale of the first delay; ``cap_s`` (>= base_s): largest delay; ``rng``: any object
    with ``uniform(a, b)`` (``random.Random``). Raises ``ValueError`` for bad bounds.
    """

    base_s: float = 1.0
    cap_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got base_s={self.base_s}, cap_s={self.cap_s}")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay before retry ``attempt`` (0-based): ``min(cap, base * 2**attempt)``."""
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        # 2**attempt overflows float beyond ~1024; past the cap it no longer matters
        return self.cap_s if attempt >= 64 else min(self.cap_s, self.base_s * 2.0**attempt)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt``: ``uniform(0, ceiling(attempt))``."""
        return self.rng.uniform(0.0, self.ceiling(attempt))


class GiveUp(Exception):
    """Raised by a session to stop ``reconnecting`` at once (bad credentials, banned, config error)."""


async def reconnecting(
    session: Callable[[], Awaitable[None]],
    *,
    name: str = "connection",
    backoff: Backoff | None = None,
    max_attempts: int | None = None,
    healthy_after_s: float = 60.0,
    give_up_on: tuple[type[BaseException], ...] = (GiveUp,),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    logger: logging.Logger | None = None,
) -> None:
    """Run ``session()`` until it returns normally, retrying failures with ``backoff`` delays.

    - ``max_attempts``: consecutive failures allowed (``None`` = forever); after that the last error is
      re-raised.
    - ``give_up_on``: exception types re-raised at once, never retried (default ``GiveUp``).
    - ``healthy_after_s``: a session that ran at least this long before failing resets the counter.
    - ``asyncio.CancelledError`` always propagates (shutdown).

    Only the exception's type and message are logged, never arguments (they could hold tokens).
    """
    backoff = backoff or Backoff()
    logger = logger or log
    failures = 0
    while True:
        started = monotonic()
        try:
            await session()
            return
        except give_up_on:
            raise
        except Exception as exc:  # noqa: BLE001 - every other error means "try again"
            if monotonic() - started >= healthy_after_s:
                failures = 0
            failures += 1
            if max_attempts is not None and failures >= max_attempts:
                logger.error("%s: giving up after %d failed attempts: %s", name, failures, _describe(exc))
                raise
            wait = backoff.delay(failures - 1)
            logger.warning(
                "%s lost (%s); reconnecting in %.1f s (attempt %d)", name, _describe(exc), wait, failures + 1
            )
            await sleep(wait)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
