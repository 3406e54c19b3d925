"""The outgoing queue of one connection: split, deduplicate, rate-limit, bounded backlog.

One ``Outbox`` per adapter (Twitch's limit is per connection, not per channel). ``put`` never blocks
and returns a future of the reply's send time (``clock.monotonic()`` when its first part went out; ``None``
when it was dropped or rejected unsent), so a skill can start a timer when chat sees its message. It
splits (or truncates) the reply to ``adapter.limits.max_message_len`` and appends it to a backlog of
at most ``backlog`` replies, one FIFO per ``Priority``. When the backlog is full, the oldest reply of the
lowest priority present is dropped and counted. A worker (``start``) or ``flush`` sends parts in this
order: the channels take turns (the one served longest ago first) and a channel's turn sends its
highest-priority reply (FIFO within a priority; the parts of one reply stay together and in order).
Priorities order one channel's replies, not channels: three Connect Four challenges' boards (``HIGH``) in
three channels held an FAQ answer (``LOW``) in a fourth for 21 s, and two channels' moderators (``STAFF``)
starved a third channel's viewers. ``STAFF_RESERVE`` sends of each rate-limit window stay for ``STAFF``.

Rate limit (``SendRateLimiter``): a sliding-window log of send times. Twitch allows 20 messages per
30 s per connection, and 100 per 30 s for messages to channels where the bot is moderator or broadcaster
(https://dev.twitch.tv/docs/chat/#rate-limits). Because the limit is per connection, a window that
contains even one message to a normal channel is held to 20: a send is allowed at time ``t`` when the
sends in ``(t - W, t]`` (``W`` = window + a small safety margin), counting this one, are at most 20 if
this one or any of those went to a non-privileged channel, else at most 100. Checking at every send is
enough: any 30 s window's count is the count ending at its last send. A token bucket cannot express the
mixed rule (it forgets which channel used the tokens); the log costs at most 100 floats.

Safety: every part is passed through ``bot.defuse`` after splitting, so no message the bot sends starts
with a chat-command character (``/ban``, ``.timeout``), whatever a template, a category or a split point
put there; on single-line platforms (``PlatformLimits.multiline`` false) line breaks become spaces.

Duplicates: Twitch silently drops a message identical to the bot's previous one in the same channel
within 30 s. A reply to a viewer (``Reply.addressee``) is then sent as ``@viewer text``, so the second
viewer asking ``!discord`` gets the answer; anything else identical is dropped first
(``limits.duplicate_window_s``; 0 disables) and counted.

Clocks: with ``SystemClock`` the worker sleeps until the limiter allows the next send. With
``ManualClock`` (replay) nothing sleeps: the worker sends what the clock's current time allows whenever
a reply is queued or ``tick()`` is called (call it after advancing the clock), and ``flush()`` sends the
rest by advancing the clock to each allowed send time.

Send errors never stop the queue. A ``ConnectionError`` from ``adapter.send`` (the adapter is
reconnecting) keeps the part at the head of the queue and retries it after a full-jitter backoff
(``bot.backoff``), at most ``max_send_retries`` times (``send_retries``). Any other error, or a send that
hangs past ``send_timeout_s`` (it may have arrived), is logged, counted in ``send_errors`` and not
retried. Every attempt counts against the rate limit. Reply text is not logged (it may quote viewers).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.adapters.base import Adapter, PlatformLimits
from bot.backoff import Backoff
from bot.clock import Clock
from bot.defuse import defuse, single_line
from bot.events import Priority, Reply
from bot.logs import holds_secret
from bot.splitting import Overflow, fit_message

log = logging.getLogger("chatcast.outbox")

STAFF_RESERVE = 3
"""Sends of each rate-limit window (3 of Twitch's 20 per 30 s) only replies to the streamer and moderators
may use: under a viewer flood the streamer's command is still answered within seconds."""
FAIR_WINDOW = 64  # queued replies looked at when choosing the channel whose turn it is
_MAX_REMEMBERED = 10_000  # channels/whisper targets whose last message is kept for duplicate checks


def addressed_to(name: str, text: str) -> str:
    """``text`` addressed to the viewer ``name``, as Twitch's duplicate filter needs a different message:
    ``@name text``, or ``@text`` when it already starts with the name ("ann is lurking" -> "@ann is
    lurking", not "@ann ann is lurking")."""
    head, rest = text[: len(name)], text[len(name):]
    if head.casefold() == name.casefold() and not (rest[:1].isalnum() or rest[:1] == "_"):
        return "@" + text
    return f"@{name} {text}"


class SendRateLimiter:
    """Sliding-window log limiter for one connection (rule in the module docstring).

    ``limits``: ``rate_messages`` / ``privileged_rate_messages`` per ``rate_window_s`` seconds.
    ``margin_s``: extra seconds added to the window, so clock skew and network jitter between us and
    the platform cannot push a window over (default 0.05 s). Times are monotonic seconds.
    """

    def __init__(self, limits: PlatformLimits, *, margin_s: float = 0.05) -> None:
        if limits.rate_messages < 1 or limits.privileged_rate_messages < limits.rate_messages:
            raise ValueError(
                f"need 1 <= rate_messages <= privileged_rate_messages, got {limits.rate_messages}"
                f" and {limits.privileged_rate_messages}"
            )
        if limits.rate_window_s <= 0 or margin_s < 0:
            raise ValueError("rate_window_s must be > 0 and margin_s >= 0")
        self.limit = limits.rate_messages
        self.privileged_limit = limits.privileged_rate_messages
        self.window_s = limits.rate_window_s + margin_s
        self.burst = limits.burst_messages if 0 < limits.burst_window_s <= limits.rate_window_s else 0
        self.burst_window_s = limits.burst_window_s + margin_s
        self._all: deque[float] = deque()  # send times inside the window, oldest first
        self._normal: deque[float] = deque()  # the subset sent to non-privileged channels

    def _prune(self, now: float) -> None:
        edge = now - self.window_s
        while self._all and self._all[0] <= edge:
            self._all.popleft()
        while self._normal and self._normal[0] <= edge:
            self._normal.popleft()

    def delay(self, now: float, privileged: bool, reserve: int = 0, *, paced: bool = True) -> float:
        """Seconds to wait before a send at ``now`` is allowed (0.0 = send now). Re-ask after waiting.

        ``reserve``: sends of the window kept free for others (the outbox keeps a few for replies to the
        streamer and moderators); the limits used are ``limit - reserve`` (at least 1). ``paced``: also
        keep to ``burst_messages`` per ``burst_window_s`` (our pacing; the streamer's and moderators'
        replies skip it, never Twitch's own limit)."""
        self._prune(now)
        count = len(self._all)
        limit = max(1, self.limit - reserve)
        if not privileged or self._normal:
            pace = self._burst_wait(now, count) if paced else 0.0
            if count < limit:
                return pace
            wait = self._all[count - limit] + self.window_s - now
            if privileged:  # the 100 limit returns once the last normal send leaves the window
                wait = min(wait, self._normal[-1] + self.window_s - now)
            return max(wait, pace, 1e-9)
        plimit = max(1, self.privileged_limit - reserve)
        if count < plimit:
            return 0.0
        return max(self._all[count - plimit] + self.window_s - now, 1e-9)

    def _burst_wait(self, now: float, count: int) -> float:
        """Seconds until ``burst`` sends no longer fall within ``burst_window_s`` (0.0 without the rule)."""
        if self.burst <= 0 or count < self.burst:
            return 0.0
        return max(self._all[count - self.burst] + self.burst_window_s - now, 0.0)

    def record(self, now: float, privileged: bool) -> None:
        """Note a send at ``now`` (monotonic seconds, not decreasing)."""
        self._all.append(now)
        if not privileged:
            self._normal.append(now)


@dataclass
class _Pending:
    reply: Reply
    parts: deque[str] = field(default_factory=deque)
    retries: int = 0  # failed attempts of the current part
    queued_at: float = 0.0  # clock.monotonic() when put
    started: bool = False  # a part went out: the rest follows, in order, whatever its age
    sent: asyncio.Future[float | None] | None = None  # put's answer: first part's send time, or None

    def settle(self, at: float | None) -> None:
        """Resolve ``sent`` once: the send time of the first part, or ``None`` (dropped unsent)."""
        if self.sent is not None and not self.sent.done():
            self.sent.set_result(at)


class Outbox:
    """Outgoing queue of one adapter (see module docstring).

    - ``adapter``: its ``limits``, ``is_privileged(channel)`` and ``send(reply)`` are used.
    - ``clock``: ``SystemClock`` (sleeps) or ``ManualClock`` (advanced instead, see ``flush``).
    - ``backlog``: replies held at most (>= 1). ``overflow``: ``"split"`` or ``"truncate"`` long replies.
    - ``max_parts``: a split reply keeps at most this many parts, the last ending with an ellipsis.
    - ``max_send_retries``: retries of a part whose send raised ``ConnectionError``.
    - ``on_sent(reply, monotonic_s)``: called after each part is sent (transcripts); errors are logged.
    - ``rng``: randomness of the retry backoff (tests pass a seeded ``random.Random``).
    - ``max_age_s``: a reply still queued this many seconds after ``put`` (the rate limit held it behind a
      flood) is dropped when its turn comes (``dropped_stale``); file attachments are kept.

    ``stats``: ``sent`` (parts), ``dropped_duplicate``, ``dropped_backlog``, ``dropped_stale``,
    ``dropped_withdrawn`` (replies whose ``still_wanted`` said no when their turn came),
    ``split_parts`` (parts made from replies that needed splitting), ``truncated``, ``send_errors``
    (parts given up), ``send_retries``, ``rejected``
    (not a ``Reply`` / wrong platform text), ``dropped_unsent`` (left when ``flush`` timed out).
    Raises ``ValueError`` for ``backlog < 1``, ``max_parts < 1`` or an unknown ``overflow``.
    """

    def __init__(
        self,
        adapter: Adapter,
        *,
        clock: Clock,
        backlog: int = 200,
        overflow: Overflow = "split",
        max_parts: int = 5,
        margin_s: float = 0.05,
        send_timeout_s: float = 10.0,
        max_send_retries: int = 3,
        on_sent: Callable[[Reply, float], None] | None = None,
        rng: random.Random | None = None,
        max_age_s: float = 90.0,
    ) -> None:
        if backlog < 1:
            raise ValueError(f"backlog must be >= 1, got {backlog}")
        if overflow not in ("split", "truncate"):
            raise ValueError(f'overflow must be "split" or "truncate", got {overflow!r}')
        if max_parts < 1:
            raise ValueError(f"max_parts must be >= 1, got {max_parts}")
        self.adapter = adapter
        self.limits: PlatformLimits = adapter.limits
        self.clock = clock
        self.backlog = backlog
        self.overflow: Overflow = overflow
        self.max_parts = max_parts
        self.send_timeout_s = send_timeout_s
        self.max_age_s = max_age_s
        self.max_send_retries = max_send_retries
        self._retry_backoff = Backoff(base_s=1.0, cap_s=30.0, rng=rng or random.Random())
        self.on_sent = on_sent
        self.limiter = SendRateLimiter(self.limits, margin_s=margin_s)
        self.stats: dict[str, int] = {
            "sent": 0, "dropped_duplicate": 0, "dropped_backlog": 0, "dropped_stale": 0,
            "dropped_withdrawn": 0, "split_parts": 0,
            "truncated": 0,
            "send_errors": 0, "send_retries": 0, "rejected": 0, "dropped_unsent": 0,
        }
        self._queues: tuple[deque[_Pending], ...] = tuple(deque() for _ in Priority)
        self._turn = 0  # replies taken so far; _last_turn: the turn each channel was last served
        self._last_turn: dict[str, int] = {}
        self._current: _Pending | None = None
        self._size = 0
        self._last: dict[tuple[str, str | None], tuple[str, float]] = {}  # (channel, whisper) -> text, t
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._worker: asyncio.Task[None] | None = None
        self._manual = callable(getattr(clock, "advance", None))

    def __len__(self) -> int:
        """Replies waiting (the one being sent included)."""
        return self._size + (self._current is not None)

    # ---- intake ------------------------------------------------------------------------------------

    async def put(self, reply: Reply) -> asyncio.Future[float | None]:
        """Queue ``reply`` (split/truncated to the platform's length). Never blocks, never raises.

        Returns a future resolved with ``clock.monotonic()`` when the reply's first part was sent, or with
        ``None`` when it is dropped or rejected before any part went out (never awaited by most callers)."""
        sent: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        try:
            if not isinstance(reply, Reply) or not isinstance(reply.text, str):
                self.stats["rejected"] += 1
                log.warning("outbox: rejected %r (not a Reply with text)", type(reply).__name__)
                sent.set_result(None)
                return sent
            if holds_secret(reply.text):  # a token pasted into a command response or a skill's text
                self.stats["rejected"] += 1
                log.warning("outbox: a reply to %s holds a loaded secret (a token or client secret): "
                            "not sent", reply.channel)
                sent.set_result(None)
                return sent
            max_len = self.limits.max_message_len
            text = reply.text if getattr(self.limits, "multiline", False) else single_line(reply.text)
            parts = [defuse(p) for p in fit_message(text, max_len, self.overflow, max_parts=self.max_parts)]
            if not parts:
                if not reply.attachment:
                    sent.set_result(None)
                    return sent
                parts = [""]  # a file with no caption
            if len(parts) > 1:
                self.stats["split_parts"] += len(parts)
            elif len(reply.text.strip()) > max_len:
                self.stats["truncated"] += 1
            priority = reply.priority if isinstance(reply.priority, Priority) else Priority.NORMAL
            self._queues[priority].append(
                _Pending(reply, deque(parts), queued_at=self.clock.monotonic(), sent=sent)
            )
            self._size += 1
            while self._size > self.backlog:
                self._drop_one()
            self._wake.set()
        except Exception:  # noqa: BLE001 - intake must never fail the caller
            self.stats["rejected"] += 1
            log.exception("outbox: could not queue a reply for %s", getattr(reply, "channel", "?"))
            if not sent.done():
                sent.set_result(None)
        return sent

    def _drop_one(self) -> None:
        for queue in reversed(self._queues):  # LOW first
            if queue:
                dropped = queue.popleft()
                dropped.settle(None)
                self._size -= 1
                self.stats["dropped_backlog"] += 1
                log.warning(
                    "outbox: backlog full (%d); dropped the oldest %s-priority reply to %s",
                    self.backlog, Priority(self._queues.index(queue)).name, dropped.reply.channel,
                )
                return

    def tick(self) -> None:
        """Wake the worker to re-check the limiter (call after advancing a ``ManualClock``)."""
        self._wake.set()

    # ---- sending -----------------------------------------------------------------------------------

    def _next(self) -> _Pending | None:
        if self._current is not None:
            return self._current
        item = self._take(self._queues)
        if item is None:
            return None
        self._current = item
        self._size -= 1
        self._turn += 1
        self._last_turn[item.reply.channel] = self._turn
        if len(self._last_turn) > _MAX_REMEMBERED:
            self._last_turn.clear()
        return item

    def _take(self, queues: Sequence[deque[_Pending]]) -> _Pending | None:
        """The next reply of ``queues`` (highest priority first), channels taking turns: among the first
        ``FAIR_WINDOW`` replies of each queue, the channel served longest ago, and its highest-priority,
        oldest reply (a flood in one channel of a multi-channel connection kept every other channel
        waiting). A channel's own replies keep their order. ``None`` when all are empty."""
        first: dict[str, tuple[deque[_Pending], int]] = {}
        for queue in queues:
            for i, item in enumerate(queue):
                if i >= FAIR_WINDOW:
                    break
                first.setdefault(item.reply.channel, (queue, i))
        if not first:
            return None
        # ties (channels never served) go to the first found: the highest priority, then the oldest
        channel = min(first, key=lambda c: self._last_turn.get(c, 0))
        queue, index = first[channel]
        item = queue[index]
        del queue[index]
        return item

    def _drop_stale(self) -> None:
        """Drop the current reply: minutes late, it answers a chat that has moved on (a flood of 400 !mydata
        kept the bot sending for 6 minutes). Counted; said once per burst."""
        if self._current is not None:
            self._current.settle(None)
        self._current = None
        self.stats["dropped_stale"] += 1
        if self.stats["dropped_stale"] % 100 == 1:
            log.info("outbox: dropping replies older than %g s (%d so far)", self.max_age_s,
                     self.stats["dropped_stale"])

    def _privileged(self, channel: str) -> bool:
        try:
            return bool(self.adapter.is_privileged(channel))
        except Exception:  # noqa: BLE001 - when unsure, assume the stricter limit
            log.exception("outbox: is_privileged(%s) failed; assuming not", channel)
            return False

    async def pump(self) -> float | None:
        """Send every part the limiter allows at the clock's current time.

        Returns ``None`` when the queue is empty, else the seconds until the next part may go.
        """
        async with self._lock:
            while True:
                item = self._next()
                if item is None:
                    return None
                if not item.parts:
                    item.settle(None)  # every part was a dropped duplicate or failed (sent ones settled)
                    self._current = None
                    continue
                reply = item.reply
                if not item.started and not _still_wanted(reply):
                    item.settle(None)  # e.g. the prompt of a game stopped while this waited for its turn
                    self._current = None
                    self.stats["dropped_withdrawn"] += 1
                    continue
                text = item.parts[0]
                now = self.clock.monotonic()
                key = (reply.channel, reply.whisper_to)
                last = self._last.get(key)
                window = self.limits.duplicate_window_s
                if (
                    window > 0 and last is not None and last[0] == text and now - last[1] < window
                    and not (reply.attachment and len(item.parts) == 1)
                ):
                    addressed = addressed_to(reply.addressee, text) if reply.addressee else ""
                    if (addressed and not text.startswith(f"@{reply.addressee}")
                            and len(addressed) <= self.limits.max_message_len):
                        # a second viewer asking the same thing gets the answer, addressed to them
                        item.parts[0] = addressed
                        continue
                    self.stats["dropped_duplicate"] += 1
                    item.parts.popleft()
                    log.info(  # said, not silent: a streamer testing in the console sees why
                        "outbox: not sending a reply to %s identical to the one sent %.0f s ago "
                        "(Twitch drops repeats within %g s; limits.duplicate_window_s)",
                        reply.channel, now - last[1], window,
                    )
                    continue
                if not item.started and now - item.queued_at > self.max_age_s and not reply.attachment:
                    self._drop_stale()  # it waited for the rate limit until the chat moved on
                    continue
                staff = reply.priority is Priority.STAFF
                privileged = reply.whisper_to is None and self._privileged(reply.channel)
                wait = self.limiter.delay(now, privileged, 0 if staff else STAFF_RESERVE, paced=not staff)
                if wait > 0:
                    # the channel's own waiting staff reply goes first (the reserve is for it); another
                    # channel's does not: two channels' moderators starved a third's viewers (trial 20)
                    if not staff and not item.started and any(
                            r.reply.channel == reply.channel for r in self._queues[Priority.STAFF]):
                        self._queues[reply.priority].appendleft(item)  # let the waiting staff reply go first
                        self._size += 1
                        self._current = None
                        continue
                    return wait
                item.parts.popleft()
                item.started = True
                self.limiter.record(now, privileged)  # counted even if it fails: it may have arrived
                attachment = reply.attachment if not item.parts else None
                part = Reply(
                    reply.platform, reply.channel, text, in_reply_to=reply.in_reply_to,
                    priority=reply.priority, whisper_to=reply.whisper_to, attachment=attachment,
                )
                outcome = await self._send(part, now)
                if outcome == "sent":
                    item.settle(now)
                    item.retries = 0
                    self._last[key] = (text, now)
                    if len(self._last) > _MAX_REMEMBERED:
                        self._forget_old(now)
                elif outcome == "retry" and item.retries < self.max_send_retries:
                    item.retries += 1
                    self.stats["send_retries"] += 1
                    item.parts.appendleft(text)  # keep its place: same reply, same order
                    return self._retry_backoff.delay(item.retries - 1)
                else:
                    item.retries = 0
                    self.stats["send_errors"] += 1

    def _forget_old(self, now: float) -> None:
        """Bound the last-message memory (one entry per channel and whisper target)."""
        window = self.limits.duplicate_window_s
        self._last = {k: v for k, v in self._last.items() if now - v[1] < window}
        if len(self._last) > _MAX_REMEMBERED:  # all recent: keep the newest half
            newest = sorted(self._last.items(), key=lambda kv: kv[1][1])[-_MAX_REMEMBERED // 2:]
            self._last = dict(newest)

    async def _send(self, part: Reply, now: float) -> str:
        """Send one part: ``"sent"``, ``"retry"`` (``ConnectionError``: the adapter is reconnecting) or
        ``"failed"`` (any other error, or no answer within ``send_timeout_s``: it may have arrived)."""
        try:
            async with asyncio.timeout(self.send_timeout_s):
                await self.adapter.send(part)
        except ConnectionError as exc:
            log.warning("outbox: %s send to %s failed (%s); will retry", self.adapter.platform, part.channel,
                        type(exc).__name__)
            return "retry"
        except Exception as exc:  # noqa: BLE001 - a failed send must not kill the queue
            log.error(
                "outbox: %s send to %s failed: %s", self.adapter.platform, part.channel,
                type(exc).__name__ if isinstance(exc, TimeoutError) else exc,
                exc_info=not isinstance(exc, TimeoutError),
            )
            return "failed"
        self.stats["sent"] += 1
        if self.on_sent is not None:
            try:
                self.on_sent(part, now)
            except Exception:  # noqa: BLE001
                log.exception("outbox: on_sent callback failed")
        return "sent"

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self.pump()
            except Exception:  # noqa: BLE001 - keep the worker alive whatever happens
                log.exception("outbox: worker error")
                wait = 1.0
            if wait is None or self._manual:
                await self._wake.wait()
            else:
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def start(self) -> None:
        """Start the background worker (idempotent)."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="chatcast-outbox")

    async def stop(self) -> None:
        """Stop the worker; queued replies stay queued (call ``flush`` first to send them)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def catch_up(self, until: datetime) -> None:
        """Manual clock only: send what the rate limit allows at each moment up to ``until``, advancing
        the clock to each allowed send time. A replay calls it before jumping to the next line's time, so
        replies held back by the limit go out when a live bot would have sent them (not all dropped as
        stale when the log has a quiet gap). A real clock: does nothing (the worker sleeps instead)."""
        if not self._manual:
            return
        while True:
            wait = await self.pump()
            if wait is None or self.clock.now() + timedelta(seconds=wait) > until:
                return
            self.clock.advance(wait)  # type: ignore[attr-defined]

    async def flush(self, timeout_s: float | None = None) -> None:
        """Send everything queued, respecting the limiter.

        With a ``ManualClock`` the clock is advanced to each allowed send time (no sleeping). With a real
        clock this sleeps; after ``timeout_s`` seconds of waiting the rest is dropped and counted in
        ``dropped_unsent``.
        """
        waited = 0.0
        while True:
            wait = await self.pump()
            if wait is None:
                return
            if self._manual:
                self.clock.advance(wait)  # type: ignore[attr-defined]
                continue
            if timeout_s is not None and waited + wait > timeout_s:
                self._discard_all()
                return
            await asyncio.sleep(wait)
            waited += wait

    def _discard_all(self) -> None:
        left = len(self)
        for queue in self._queues:
            for item in queue:
                item.settle(None)
            queue.clear()
        if self._current is not None:
            self._current.settle(None)
        self._current = None
        self._size = 0
        self.stats["dropped_unsent"] += left
        if left:
            log.warning("outbox: flush timed out; %d replies not sent", left)


def _still_wanted(reply: Reply) -> bool:
    """``reply.still_wanted()`` (``True`` without one); a predicate that raises is logged and the reply
    sent, as before predicates existed."""
    if reply.still_wanted is None:
        return True
    try:
        return bool(reply.still_wanted())
    except Exception:  # noqa: BLE001 - a skill's check must not stop the outbox
        log.exception("outbox: still_wanted of a reply to %s failed; sending it", reply.channel)
        return True
