"""The adapter interface every platform fills in, and each platform's limits.

An adapter only connects, yields events, sends text and closes (opsdroid/errbot style). Splitting long
replies, rate limiting, duplicate suppression and reconnect backoff live once in the core
(``bot/outbox.py``, ``bot/backoff.py``), driven by the ``PlatformLimits`` an adapter declares.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.events import Event, Reply


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    """Limits of one connection.

    ``max_message_len`` in characters (Twitch 500, Discord 2000). ``rate_messages`` per ``rate_window_s``
    seconds for a normal channel (Twitch 20 / 30 s); ``privileged_rate_messages`` where the bot is
    moderator or broadcaster (Twitch 100 / 30 s). Twitch's limit is per connection: see ``bot.outbox``.
    ``burst_messages`` per ``burst_window_s``: pacing inside that window where the normal limit applies
    (0 = none).
    Sources: https://dev.twitch.tv/docs/chat/#rate-limits, https://discord.com/developers/docs/topics/rate-limits
    """

    max_message_len: int
    rate_messages: int
    rate_window_s: float
    privileged_rate_messages: int
    can_whisper: bool = False
    duplicate_window_s: float = 30.0  # Twitch rejects an identical message within 30 s
    multiline: bool = False  # line breaks allowed in a message (Discord); else they become spaces
    burst_messages: int = 0  # at most this many sends per burst_window_s (0: no such rule); see below
    burst_window_s: float = 0.0


TWITCH_LIMITS = PlatformLimits(500, 20, 30.0, 100, can_whisper=True, burst_messages=5, burst_window_s=7.5)
"""Twitch's 20 per 30 s, sent at most 5 per 7.5 s (our pacing, not Twitch's rule): under a flood the
connection sent its 20 in the first 5 s of each window and then nothing for ~24 s, so a question in a
quiet channel waited up to 24 s for the next window (trial 20: FAQ answers 11-15 s late). The same 20
per 30 s go out; a new reply waits at most ~7.5 s for room."""
DISCORD_LIMITS = PlatformLimits(2000, 5, 5.0, 5, can_whisper=True, duplicate_window_s=0.0, multiline=True)
CONSOLE_LIMITS = PlatformLimits(500, 1_000_000, 1.0, 1_000_000, multiline=True)  # a terminal shows lines
REPLAY_LIMITS = TWITCH_LIMITS


class Adapter(abc.ABC):
    """One connection to one platform (it may serve several channels).

    ``platform`` is the platform's name as used in events and config (``"twitch"``, ``"discord"``,
    ``"console"``, ``"replay"``). ``is_privileged(channel)`` tells the outbox whether the bot is moderator or
    broadcaster there (fed by what the adapter observes).
    """

    platform: str = "base"
    limits: PlatformLimits = CONSOLE_LIMITS

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection and join the configured channels. Raises ``ConnectionError`` on failure."""

    @abc.abstractmethod
    def listen(self) -> AsyncIterator[Event]:
        """Yield incoming events until closed. A replay ends when the log ends."""

    @abc.abstractmethod
    async def send(self, reply: Reply) -> None:
        """Send one already split, rate-limited message (``len(reply.text) <= limits.max_message_len``)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connection; must not raise."""

    def is_privileged(self, channel: str) -> bool:
        """True where the bot is moderator/broadcaster (higher send rate). Default: False."""
        return False
