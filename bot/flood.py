"""A per-viewer command budget: one viewer cannot take over the bot's replies.

Twitch lets a bot account send 20 messages per 30 s per channel (``bot.outbox``); cooldowns are per command,
so a viewer alternating ``!lurk``, ``!mydata`` and ``!mood`` every half second still got 42 % of all the
bot's replies in a flood test while replies to 300 other viewers were dropped. ``ViewerBudget`` allows each
viewer ``limit`` commands per ``window_s`` seconds in a channel; further ones are ignored silently, like a
command on cooldown (a reply would itself be spam). Nightbot and Fossabot only have per-command cooldowns;
this is the "per-user command rate" of chat-moderation bots, applied to the bot's own commands.

The router keeps two: one for viewers (``bot.viewer_commands_per_30s``) and a larger one for each moderator
and the broadcaster (``bot.staff_commands_per_30s``, default 3x): Twitch's 20 messages per 30 s are per
connection, and one channel's broadcaster typing ``!help`` every 0.7 s took 117 of 120 messages while the
other channels' viewers got 3. It counts only uses that get past the permission check and the cooldowns, and
not those of commands declared free (``CommandSpec.budget``: ``!forgetme``, Connect Four moves).
"""

from __future__ import annotations

from collections import deque

from bot.clock import Clock

_MAX_VIEWERS = 50_000  # remembered (platform, channel, viewer) keys before idle ones are forgotten


class ViewerBudget:
    """``allow(platform, channel, user_id) -> bool``: True while the viewer has used fewer than ``limit``
    commands in the last ``window_s`` seconds of ``clock.monotonic()`` (the call counts it). ``limit`` 0
    disables the budget. Memory: at most ``limit`` timestamps per viewer, idle viewers forgotten."""

    def __init__(self, clock: Clock, limit: int = 4, window_s: float = 30.0) -> None:
        if limit < 0 or window_s <= 0:
            raise ValueError(f"need limit >= 0 and window_s > 0, got {limit}, {window_s}")
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        self._used: dict[tuple[str, str, str], deque[float]] = {}

    def allow(self, platform: str, channel: str, user_id: str) -> bool:
        if self.limit == 0:
            return True
        now = self.clock.monotonic()
        key = (platform, channel, user_id)
        times = self._used.get(key)
        if times is None:
            if len(self._used) >= _MAX_VIEWERS:
                self._forget_idle(now)
            times = self._used[key] = deque(maxlen=self.limit)
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def retry_in(self, platform: str, channel: str, user_id: str) -> float:
        """Seconds until ``allow`` would let this viewer's next command through (0.0 when it would now)."""
        times = self._used.get((platform, channel, user_id))
        if self.limit == 0 or times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window_s - self.clock.monotonic())

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, t in self._used.items() if not t or now - t[-1] >= self.window_s]
        for k in idle:
            del self._used[k]
        if len(self._used) >= _MAX_VIEWERS:  # all active: forget the oldest half
            for k in list(self._used)[: _MAX_VIEWERS // 2]:
                del self._used[k]
