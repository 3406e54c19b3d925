"""An aiohttp client middleware that respects HTTP 429 rate limits and retries server errors.

Platform libraries (twitchio 3) raise on the first 429 or 5xx; this middleware sits under them in the
``aiohttp.ClientSession`` they are given, so every request they make is retried the way the platform asks:

- **429 Too Many Requests**: wait until the bucket resets, then retry. The wait comes from
  ``Ratelimit-Reset`` (Twitch: epoch seconds when the bucket refills,
  https://dev.twitch.tv/docs/api/guide/#twitch-rate-limits) or ``Retry-After`` (RFC 9110 §10.2.3, seconds),
  whichever is present; otherwise ``policy.base_delay_s``.
- **5xx**: exponential backoff with full jitter (``delay = uniform(0, min(cap, base * 2**attempt))``,
  AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), at most ``policy.max_retries`` times.

401 is left to the library (twitchio refreshes the token once and repeats the request).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

from bot.backoff import Backoff

log = logging.getLogger("chatcast.adapters.http")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait.

    ``max_retries`` counts retries after the first attempt (per request, 429 and 5xx together).
    ``base_delay_s``/``max_delay_s`` bound the 5xx backoff and the 429 wait when no header says how long;
    ``max_wait_s`` caps any single wait (a bucket reset far in the future is not waited for: the
    response is returned to the caller). ``sleep``/``now`` are injectable so tests run without sleeping.
    """

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_wait_s: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    now: Callable[[], float] = field(default=time.time)
    rng: random.Random = field(default_factory=random.Random)


def retry_after_s(headers: dict[str, str] | object, now_epoch: float) -> float | None:
    """Seconds to wait according to a 429 response's headers, or None when none says.

    Reads ``Ratelimit-Reset`` (epoch seconds, Twitch) first, then ``Retry-After`` (seconds). Malformed
    values are ignored (None). Never negative.
    """
    get = getattr(headers, "get", None)
    if get is None:
        return None
    reset = get("Ratelimit-Reset")
    if reset is not None:
        try:
            return max(0.0, float(reset) - now_epoch)
        except ValueError:
            log.debug("ignoring malformed Ratelimit-Reset header %r", reset)
    after = get("Retry-After")
    if after is not None:
        try:
            return max(0.0, float(after))
        except ValueError:
            log.debug("ignoring malformed Retry-After header %r", after)
    return None


def backoff_delay_s(attempt: int, policy: RetryPolicy) -> float:
    """Full-jitter backoff (s): ``uniform(0, min(max_delay_s, base_delay_s * 2**attempt))``, computed by the
    core's shared ``bot.backoff.Backoff`` (one formula for reconnects and HTTP retries)."""
    return Backoff(policy.base_delay_s, policy.max_delay_s, policy.rng).delay(attempt)


def retrying_middleware(
    policy: RetryPolicy | None = None,
) -> Callable[[ClientRequest, ClientHandlerType], Awaitable[ClientResponse]]:
    """Return an aiohttp client middleware (``ClientSession(middlewares=(mw,))``) applying ``policy``.

    The final response (success, a non-retryable error, or the last failed attempt) is returned
    unchanged, so the library above raises its usual error for it.
    """
    pol = policy or RetryPolicy()

    async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        attempt = 0
        while True:
            response = await handler(request)
            status = response.status
            if attempt >= pol.max_retries or not (status == 429 or 500 <= status < 600):
                return response
            if status == 429:
                wait = retry_after_s(response.headers, pol.now())
                wait = pol.base_delay_s if wait is None else wait
            else:
                wait = backoff_delay_s(attempt, pol)
            if wait > pol.max_wait_s:
                log.warning(
                    "%s %s: rate limited for %.0f s, giving up", request.method, request.url.path, wait
                )
                return response
            log.info(
                "%s %s -> HTTP %d; retry %d/%d in %.2f s",
                request.method,
                request.url.path,
                status,
                attempt + 1,
                pol.max_retries,
                wait,
            )
            response.release()
            await pol.sleep(wait)
            attempt += 1

    return middleware
