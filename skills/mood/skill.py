"""The mood skill: scores every chat message (negative/neutral/positive) in the background and keeps a
rolling mood per channel (1/5/15 min) and per stream; ``!mood``, ``!mood report``, plots and alerts.

Scoring goes through ``engine.classify("sentiment", ...)`` (background priority, batched by the engine
across channels); the head is registered at start (``skills.mood.head.SentimentHead``: the shipped
weights, or the file ``[skills.mood] weights`` names).
Per-minute sums are stored (``storage.mood``): nothing about individual viewers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from bot.clock import ManualClock
from bot.commands import CommandContext, command
from bot.config_paths import config_relative
from bot.events import ChatMessage, Priority, Role, StreamStatus, Viewer
from skills.base import Skill, SkillSettings
from skills.mood.head import DEFAULT_WEIGHTS, HeadWeights, SentimentHead
from skills.mood.timeline import plot_timeline, smoothed_scores, top_moments
from skills.mood.window import WINDOWS_S, RollingMood, SpamDeweighter, mood_bar, mood_words
from storage import mood as store

log = logging.getLogger(__name__)

COMMAND_WAIT_S = 8.0  # !mood waits at most this long for queued scoring (the command budget is 10 s)
REPORT_WAIT_S = 120.0  # the end-of-replay report waits for the scoring still queued
LATE_WAIT_S = 120.0  # a !mood asked while all its scores were queued is answered when they are in
NOT_ENOUGH = "Chat mood: not enough messages in the last 5 minutes to tell."
MIN_MOOD_MESSAGES = 3  # messages in the last 5 minutes before !mood names a mood
REPLAY_SLOT_WAIT_S = 5.0  # replay: wait this long for a scoring slot (router budget is 10 s)
SCORE_TIMEOUT_S = 300.0  # a background score may wait this long in the engine's queue (nobody waits on it)


class MoodSettings(SkillSettings):
    """``[skills.mood]`` (see docs/mood.md)."""

    deweight_spam: bool = True
    spam_window_s: float = Field(60.0, gt=0, le=3600)
    alerts: bool = False
    alert_to: Literal["chat", "log"] = "log"
    alert_drop: float = Field(0.4, gt=0, le=2)
    alert_min_messages: int = Field(10, ge=1, le=100_000)
    alert_cooldown_s: float = Field(300.0, ge=0, le=86_400)
    max_pending: int = Field(256, ge=1, le=100_000)
    # A head trained with `chatcast train sentiment --out FILE` (.npz); None: the shipped head. Global: the
    # engine serves one sentiment head, so a channel's override of it is ignored (with a warning).
    weights: str | None = None

    @field_validator("weights")
    @classmethod
    def _weights_file(cls, v: str | None, info: ValidationInfo) -> str | None:
        """The weights file must exist and load as a sentiment head (``~`` expanded; a relative path is
        from the config file's folder). Raises ``ValueError`` saying what is wrong with the file."""
        if v is None:
            return None
        if not v.strip():
            raise ValueError("empty path (leave `weights` out to use the shipped head)")
        path = Path(config_relative(v, info))
        try:
            HeadWeights.load_checked(path)
        except ValueError as exc:
            hint = "expected a head written by `chatcast train sentiment --out FILE`"
            raise ValueError(f"{exc} ({hint})") from None
        return str(path)


@dataclass
class _Channel:
    rolling: RollingMood = field(default_factory=RollingMood)
    session_start: datetime | None = None
    minute: str | None = None
    sums: np.ndarray = field(default_factory=lambda: np.zeros(5))  # messages, weight, neg, neu, pos
    last_alert: float = float("-inf")


def _minute_key(ts: datetime) -> str:
    return ts.astimezone(UTC).replace(second=0, microsecond=0).isoformat(timespec="seconds")


class MoodSkill(Skill):
    """Chat mood (see module docstring)."""

    name = "mood"
    Settings = MoodSettings
    stores = "per-minute mood sums per channel; nothing about individual viewers"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.channels: dict[tuple[str, str], _Channel] = {}
        self.spam = SpamDeweighter()
        self.started_at = datetime.now(UTC)
        self.scored = 0
        self.dropped = 0  # messages not scored: too many pending, or the engine shed/failed the request
        self._pending: set[asyncio.Task] = set()
        self._late: set[asyncio.Task] = set()  # !mood replies waiting for queued scores
        self.first_minute: dict[tuple[str, str], str] = {}  # first minute this run scored, per channel
        self.head_path: Path = DEFAULT_WEIGHTS  # set in start() from [skills.mood] weights
        self._weights_warned: set[tuple[str, str]] = set()  # channels told their weights override is ignored

    async def start(self) -> None:
        self.ctx.storage.migrate(store.COMPONENT, store.MIGRATIONS)
        self.started_at = self.ctx.clock.now()
        try:
            defaults: MoodSettings = self.ctx.settings_for("", "")
            self.head_path = Path(defaults.weights) if defaults.weights else DEFAULT_WEIGHTS
        except Exception:  # noqa: BLE001 - no defaults: the shipped head
            self.head_path = DEFAULT_WEIGHTS
        if self.head_path != DEFAULT_WEIGHTS:
            log.info("mood: sentiment head from %s ([skills.mood] weights)", self.head_path)
        engine = self.ctx.engine
        if engine is not None and hasattr(engine, "register_classifier"):
            engine.register_classifier("sentiment", functools.partial(load_head, self.head_path))

    async def stop(self) -> None:
        tasks = [*self._pending, *self._late]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for key in list(self.channels):
            self._flush(key)

    def _state(self, platform: str, channel: str) -> _Channel:
        return self.channels.setdefault((platform, channel), _Channel())

    # ---- scoring ----------------------------------------------------------------------------------

    async def on_message(self, message: ChatMessage) -> None:
        """Queue the message for scoring and return at once: the model call runs as a background task (at
        most ``max_pending`` at a time; more are dropped and counted) so the router is never held by it.
        In a replay (``ManualClock``) a message over the bound first waits up to ``REPLAY_SLOT_WAIT_S``."""
        text = message.text.strip()
        if not text or text.startswith("!") or self.ctx.engine is None:
            return
        settings: MoodSettings = self.ctx.settings_for(message.platform, message.channel)
        if settings.weights and Path(settings.weights) != self.head_path:
            self._warn_weights_override(message.platform, message.channel)
        if len(self._pending) >= settings.max_pending and isinstance(self.ctx.clock, ManualClock):
            # A replay reads the log faster than the model scores it: slow the replay down rather than
            # leave most of the stream unscored (live chat sheds instead; nobody waits on mood).
            await self._wait_for_slot(settings.max_pending, REPLAY_SLOT_WAIT_S)
        if len(self._pending) >= settings.max_pending:
            self.dropped += 1
            return
        task = asyncio.create_task(self._score(message, text, settings), name="mood-score")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _warn_weights_override(self, platform: str, channel: str) -> None:
        if (platform, channel) not in self._weights_warned:
            self._weights_warned.add((platform, channel))
            log.warning(
                "mood: %s/%s: a channel's [skills.mood] weights is ignored: one head serves every channel "
                "(%s); set weights in [skills.mood]", platform, channel, self.head_path,
            )

    async def _score(self, message: ChatMessage, text: str, settings: MoodSettings) -> None:
        from bot.inference.api import RequestPriority

        try:
            probs = await self.ctx.engine.classify(
                "sentiment", [text], priority=RequestPriority.BACKGROUND, timeout=SCORE_TIMEOUT_S
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - shed under load or no model: skip this message
            self.dropped += 1
            log.debug("mood: message not scored: %s", exc)
            return
        t = message.timestamp.timestamp()  # recorded at the message's time, however late the score came
        weight = self.spam.weight(message.author.user_id, text, t) if settings.deweight_spam else 1.0
        self.add_scored(message.platform, message.channel, message.timestamp, np.asarray(probs)[0], weight)
        self.scored += 1
        try:
            await self._maybe_alert(message.platform, message.channel, t, settings)
        except Exception:  # noqa: BLE001 - a failed alert post must not lose the score
            log.exception("mood: alert failed")

    async def _wait_for_slot(self, bound: int, timeout: float) -> None:
        """Wait until fewer than ``bound`` scorings are pending, at most ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._pending) >= bound and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._pending), timeout=left, return_when=asyncio.FIRST_COMPLETED)

    async def _wait(self, tasks: Any, timeout: float | None) -> bool:
        """Wait until the set ``tasks()`` is empty (at most ``timeout`` s); ``True`` when it is."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while tasks():
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(tasks()), timeout=left)
        return True

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for the scoring queued so far and the late ``!mood`` replies (at most ``timeout`` s);
        ``True`` when nothing is pending (the runtime calls it at the end of a replay)."""
        return await self._wait(lambda: self._pending | self._late, timeout)

    def add_scored(self, platform: str, channel: str, ts: datetime, probs: np.ndarray, weight: float) -> None:
        """Record one scored message (``probs`` ``(3,)``) at ``ts`` with ``weight``."""
        state = self._state(platform, channel)
        state.rolling.add(ts.timestamp(), probs, weight)
        minute = _minute_key(ts)
        key = (platform, channel)
        self.first_minute[key] = min(self.first_minute.get(key, minute), minute)
        if state.minute is not None and minute != state.minute:
            self._flush((platform, channel))
        state.minute = minute
        state.sums += np.array([1.0, weight, *(weight * np.asarray(probs, dtype=float))])

    def _flush(self, key: tuple[str, str]) -> None:
        state = self.channels.get(key)
        if state is None or state.minute is None or state.sums[0] == 0:
            return
        s = state.sums
        store.add_minute(self.ctx.storage, key[0], key[1], state.minute, int(s[0]), *map(float, s[1:]))
        state.sums = np.zeros(5)

    async def _maybe_alert(self, platform: str, channel: str, t: float, settings: MoodSettings) -> None:
        if not settings.alerts:
            return
        state = self._state(platform, channel)
        short, long = state.rolling.summary(t, WINDOWS_S[0]), state.rolling.summary(t, WINDOWS_S[2])
        if short.n < settings.alert_min_messages or t - state.last_alert < settings.alert_cooldown_s:
            return
        if long.score - short.score >= settings.alert_drop:
            state.last_alert = t
            text = (
                f"Mood alert: chat turned {mood_words(short.score)} in the last minute "
                f"({short.score:+.2f} vs {long.score:+.2f} over 15 min, {short.n} messages)"
            )
            log.warning("%s/%s: %s", platform, channel, text)
            if settings.alert_to == "chat":
                await self.ctx.post(platform, channel, text, priority=Priority.LOW)

    async def on_stream_status(self, status: StreamStatus) -> None:
        state = self._state(status.platform, status.channel)
        if status.online and state.session_start is None:
            state.session_start = status.timestamp
        elif not status.online:
            self._flush((status.platform, status.channel))
            state.session_start = None

    # ---- reading ------------------------------------------------------------------------------------

    def current(self, platform: str, channel: str, now: datetime | None = None) -> dict[float, Any]:
        """``{window_s: MoodSummary}`` for the 1, 5 and 15 minute windows."""
        state = self._state(platform, channel)
        t = (now or self.ctx.clock.now()).timestamp()
        return {w: state.rolling.summary(t, w) for w in WINDOWS_S}

    def session_rows(self, platform: str, channel: str) -> list[store.MinuteRow]:
        """Minute rows of the current stream (since it went live; else since this run first scored it)."""
        self._flush((platform, channel))
        state = self._state(platform, channel)
        if state.session_start is not None:
            since = _minute_key(state.session_start)
        else:
            since = self.first_minute.get((platform, channel), _minute_key(self.started_at))
        return store.minutes(self.ctx.storage, platform, channel, since=since)

    @command("mood", help="How chat feels right now.", cooldown_channel=10)
    async def mood(self, ctx: CommandContext) -> None:
        platform, channel, at = ctx.message.platform, ctx.channel, ctx.message.timestamp
        off = self.off_reason()
        if off is not None:  # said so, rather than "not enough messages" for ever (trial 21)
            await ctx.reply(f"Chat mood is off: {off}.")
            return
        await self._wait(lambda: self._pending, COMMAND_WAIT_S)  # let the queued messages count (bounded)
        text = self._mood_text(platform, channel, at)
        if text is None and self._pending:  # scores still queued: answer when they are in (a late reply)
            task = asyncio.create_task(self._late_mood(platform, channel, at, ctx.message.message_id))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            return
        await ctx.reply(text or NOT_ENOUGH)

    def off_reason(self) -> str | None:
        """Why no message can be scored (``None`` when scoring works): no engine (``--no-engine``), or the
        engine cannot serve the sentiment classifier (its reason, e.g. the embedding model failed)."""
        engine = self.ctx.engine
        if engine is None:
            return "the bot runs without its models (--no-engine)"
        if not hasattr(engine, "available") or engine.available("classify:sentiment"):
            return None
        # the head rides the shared embedding: when that is down, its reason is the one to give
        kind = "classify:sentiment" if engine.available("embed") else "embed"
        why = engine.why_unavailable(kind) if hasattr(engine, "why_unavailable") else None
        return "the sentiment model is unavailable" + (f" ({why[:120]})" if why else "")

    def _mood_text(self, platform: str, channel: str, at: datetime) -> str | None:
        windows = self.current(platform, channel, at)
        five = windows[WINDOWS_S[1]]
        if five.n < MIN_MOOD_MESSAGES:  # one "welcome!" is not a hyped chat
            return None
        return (
            f"Chat mood: {mood_words(five.score)} {mood_bar(five.score)} {five.score:+.2f} "
            f"(5 min, {five.n} msgs; 1 min {windows[WINDOWS_S[0]].score:+.2f}, "
            f"15 min {windows[WINDOWS_S[2]].score:+.2f})"
        )

    async def _late_mood(self, platform: str, channel: str, at: datetime, message_id: str | None) -> None:
        await self._wait(lambda: self._pending, LATE_WAIT_S)
        text = self._mood_text(platform, channel, at) or NOT_ENOUGH
        await self.ctx.post(platform, channel, text, priority=Priority.NORMAL, in_reply_to=message_id)

    @command("mood report", permission=Role.MODERATOR, help="The stream's mood timeline (and a plot).")
    async def mood_report(self, ctx: CommandContext) -> None:
        platform, channel = ctx.message.platform, ctx.channel
        await self._wait(lambda: self._pending, COMMAND_WAIT_S)
        rows = self.session_rows(platform, channel)
        if not rows:
            await ctx.reply("No mood data for this stream yet.")
            return
        await ctx.reply(timeline_text(rows))
        path = plot_timeline(rows, self.ctx.data_dir / f"mood-{_safe(channel)}.png", f"Chat mood: {channel}")
        if path is None:
            return
        log.info("mood: plot of %s/%s written to %s", platform, channel, path)
        if platform == "discord":  # the only platform that takes a file; elsewhere a file name means nothing
            await self.ctx.post(
                platform, channel, "Mood plot of this stream:", priority=Priority.LOW, attachment=str(path)
            )

    async def report(self, report_dir: Path) -> dict[str, Any]:
        await self.drain(timeout=REPORT_WAIT_S)
        out: dict[str, Any] = {"messages_scored": self.scored, "channels": {}}
        if self.dropped:
            out["messages_not_scored"] = self.dropped
        for key in list(self.channels):
            self._flush(key)
        for (platform, channel), since in sorted(self.first_minute.items()):
            # this run's minutes only (a replay's clock is the log's, not the wall clock)
            rows = store.minutes(self.ctx.storage, platform, channel, since=since)
            if not rows:
                continue
            best, worst = top_moments(rows)
            scores = smoothed_scores(rows)
            total_w = sum(r.weight for r in rows)
            plot = plot_timeline(
                rows,
                Path(report_dir) / f"mood-{_safe(platform)}-{_safe(channel)}.png",
                f"Chat mood: {channel} ({platform})",
            )
            out["channels"][f"{platform}/{channel}"] = {
                "messages": sum(r.messages for r in rows),
                "mean_score": round(sum(r.positive - r.negative for r in rows) / total_w, 3)
                if total_w
                else 0.0,
                "top_positive": [[rows[i].minute, round(float(scores[i]), 3)] for i in best],
                "top_negative": [[rows[i].minute, round(float(scores[i]), 3)] for i in worst],
                "plot": str(plot) if plot else None,
            }
        return out

    async def delete_user_data(self, viewer: Viewer) -> int:
        return self.spam.forget_user(viewer.user_id)


def timeline_text(rows: list[store.MinuteRow], blocks: int = 8) -> str:
    """Chat-sized timeline: the stream cut into at most ``blocks`` equal blocks with their scores, plus
    the best and worst moments."""
    n = len(rows)
    size = max(1, -(-n // blocks))
    parts = []
    for start in range(0, n, size):
        chunk = rows[start : start + size]
        w = sum(r.weight for r in chunk)
        score = sum(r.positive - r.negative for r in chunk) / w if w else 0.0
        parts.append(f"{datetime.fromisoformat(chunk[0].minute):%H:%M} {score:+.2f}")
    best, worst = top_moments(rows, k=1)
    scores = smoothed_scores(rows)
    extra = []
    # the moments are 3-minute averages of busy minutes (top_moments): say so, or "best 18:02 (+0.51)"
    # reads as contradicting a block listed at +0.74
    if best:
        at = datetime.fromisoformat(rows[best[0]].minute)
        extra.append(f"best moment {at:%H:%M} (3-min avg {scores[best[0]]:+.2f})")
    if worst:
        at = datetime.fromisoformat(rows[worst[0]].minute)
        extra.append(f"worst moment {at:%H:%M} (3-min avg {scores[worst[0]]:+.2f})")
    return "Mood this stream: " + ", ".join(parts) + (" | " + ", ".join(extra) if extra else "")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]


def load_head(path: str | Path = DEFAULT_WEIGHTS) -> SentimentHead:
    """Loader given to ``engine.register_classifier("sentiment", ...)``: the shipped head, or the file
    ``[skills.mood] weights`` names (``path``)."""
    return SentimentHead.load(path)
