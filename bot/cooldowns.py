"""Command cooldowns: global, per-channel and per-user buckets on an injectable clock.

A command with ``Cooldown(global_s=G, channel_s=C, user_s=U)`` may run when none of its three buckets
is cooling down; running it starts all three. This is how Nightbot's "cooldown" and StreamElements'
"global/user cooldown" behave: a denied use does *not* restart the timer.

Buckets are keyed by command name, so aliases share one bucket. ``global`` is one bucket for the
whole bot (all channels and platforms), ``channel`` one per (platform, channel), ``user`` one per
(platform, channel, user id). Memory is bounded: expired keys are swept every ``sweep_every`` acquires,
and when more than ``max_keys`` are live the ones closest to expiry are evicted (a viewer may then use
that command a little early; nothing else changes).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import Enum

from bot.clock import Clock
from bot.commands import Cooldown


class CooldownKind(Enum):
    """Which bucket denied a use."""

    GLOBAL = "global"
    CHANNEL = "channel"
    USER = "user"


@dataclass(frozen=True, slots=True)
class CooldownHit:
    """A denied use: which bucket and how many seconds remain (> 0)."""

    kind: CooldownKind
    remaining_s: float


class CooldownBuckets:
    """All cooldown timers of one bot.

    ``clock``: any ``bot.clock.Clock``; only ``monotonic()`` is used (seconds).
    ``max_keys``: live timers kept at most (>= 1). Raises ``ValueError`` for ``max_keys < 1``.
    """

    def __init__(self, clock: Clock, *, max_keys: int = 100_000, sweep_every: int = 1024) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys}")
        self._clock = clock
        self._max_keys = max_keys
        self._sweep_every = max(1, sweep_every)
        self._until: dict[tuple[str, ...], float] = {}  # key -> monotonic time the cooldown ends
        self._acquires = 0

    def __len__(self) -> int:
        """Number of timers held (live or not yet swept)."""
        return len(self._until)

    @staticmethod
    def _keys(command: str, platform: str, channel: str, user_id: str) -> tuple[tuple[str, ...], ...]:
        return (("g", command), ("c", command, platform, channel), ("u", command, platform, channel, user_id))

    def check(
        self, command: str, cooldown: Cooldown, *, platform: str, channel: str, user_id: str
    ) -> CooldownHit | None:
        """Return the first bucket still cooling down (global, then channel, then user) or ``None``."""
        now = self._clock.monotonic()
        durations = (cooldown.global_s, cooldown.channel_s, cooldown.user_s)
        kinds = (CooldownKind.GLOBAL, CooldownKind.CHANNEL, CooldownKind.USER)
        keys = self._keys(command, platform, channel, user_id)
        for key, dur, kind in zip(keys, durations, kinds, strict=True):
            if dur <= 0:
                continue
            until = self._until.get(key)
            if until is not None and until > now:
                return CooldownHit(kind, until - now)
        return None

    def try_acquire(
        self, command: str, cooldown: Cooldown, *, platform: str, channel: str, user_id: str
    ) -> CooldownHit | None:
        """If no bucket is cooling down, start all configured ones and return ``None``; else the hit."""
        if cooldown.global_s <= 0 and cooldown.channel_s <= 0 and cooldown.user_s <= 0:
            return None
        hit = self.check(command, cooldown, platform=platform, channel=channel, user_id=user_id)
        if hit is not None:
            return hit
        self.start(command, cooldown, platform=platform, channel=channel, user_id=user_id)
        return None

    def start(self, command: str, cooldown: Cooldown, *, platform: str, channel: str, user_id: str) -> None:
        """Start every configured bucket now, without checking them (the caller checked with ``check``
        and decided to run the command)."""
        now = self._clock.monotonic()
        durations = (cooldown.global_s, cooldown.channel_s, cooldown.user_s)
        for key, dur in zip(self._keys(command, platform, channel, user_id), durations, strict=True):
            if dur > 0:
                self._until[key] = now + dur
        self._acquires += 1
        if self._acquires % self._sweep_every == 0 or len(self._until) > self._max_keys:
            self.sweep()

    def reset(self, command: str | None = None) -> None:
        """Forget every timer (``command=None``) or those of one command."""
        if command is None:
            self._until.clear()
        else:
            self._until = {k: v for k, v in self._until.items() if k[1] != command}

    def sweep(self) -> int:
        """Drop expired timers, evict the soonest-to-expire down to ``max_keys``; returns how many went."""
        now = self._clock.monotonic()
        before = len(self._until)
        live = {k: v for k, v in self._until.items() if v > now}
        if len(live) > self._max_keys:
            keep = heapq.nlargest(self._max_keys, live.items(), key=lambda kv: kv[1])
            live = dict(keep)
        self._until = live
        return before - len(live)
