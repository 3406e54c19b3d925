"""The runtime: wires config, storage, the inference engine, skills, the router and one outbox per adapter.

Start-up order (``Runtime.start``): open ``<data_dir>/chatcast.db`` and run the core migrations, purge
core rows older than ``retention_days``, start the inference engine (optional: a missing engine module, a
missing model or a failed start is logged in one line and the bot runs with ``engine=None``), start every
skill enabled in at least one place (a skill whose ``start()`` raises is logged and left out, the rest
run), purge the skills' old rows (each running skill's ``purge_older_than(cutoff)`` hook), then build the
``Router`` with the core skills (``!help`` from ``bot.builtin``, ``!forgetme`` / ``!mydata`` from
``bot.privacy``) first.

Per event (``Runtime.dispatch``): presence is recorded in the batched ``PresenceRecorder`` *before* the
router sees the event (so ``!forgetme`` also removes the row of the message that asked for it), stream
status opens/closes stream sessions, then ``router.handle(event)``.

``serve(adapter)`` runs a live adapter under ``bot.backoff.reconnecting`` (connect, listen, reconnect with
jittered exponential backoff); ``serve_all(adapters)`` serves several at once, each failure logged and
isolated; ``replay(adapter)`` runs one pass, then waits for the router, for every skill with a
``drain(timeout=...)`` method (background work such as story paragraphs) and for the outbox. ``stop()``
stops adapters, outboxes, skills, the engine, flushes presence and closes the database; it is safe to
call twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.adapters.base import Adapter
from bot.clock import Clock, SystemClock
from bot.config import Config, core_skill_classes
from bot.events import ChatMessage, Event, Presence, Priority, Reply, StreamStatus, scrub
from bot.outbox import Outbox
from bot.router import Router
from bot.votes import NumberVotes
from skills.base import Skill, SkillContext
from storage.db import Database
from storage.viewers import migrate_core, purge_older_than
from storage.watch import PresenceRecorder, end_session, start_session

log = logging.getLogger("chatcast.runtime")

DB_NAME = "chatcast.db"
PURGE_EVERY_S = 24 * 3600.0
REPLAY_SETTLE_S = 2.0  # replay: wall seconds a line's handlers get before the next line is read
REPLAY_STEP_S = 120.0  # replay: wall seconds for skills' replay_step (a story paragraph, a bot move)
MAX_TIMER_STEPS = 1000  # replay: skill timers run in one quiet gap of the log at most (a guard)
STATS_FILE = "bot-stats.json"  # next to the database: what `chatcast stats` shows of the running bot
STATS_EVERY_S = 60.0
DRAIN_TIMEOUT_S = 300.0  # replay end: how long skills' background work may still run before the report


@dataclass
class ChannelState:
    """What the core knows about a channel (``skills.base.ChannelInfo``)."""

    platform: str
    channel: str
    streamer: str
    live: bool = False
    category: str | None = None
    title: str | None = None
    online_since: datetime | None = None
    max_message_len: int = 500
    clock: Clock | None = None
    bot_name: str = ""  # the bot's account on this platform (Twitch login), else ``[bot] name``

    @property
    def uptime_s(self) -> float | None:
        """Seconds since the stream went online; ``None`` when offline or unknown."""
        if not self.live or self.online_since is None:
            return None
        now = (self.clock or SystemClock()).now()
        return max(0.0, (now - self.online_since).total_seconds())


class Runtime:
    """One running bot (see module docstring).

    ``config``: validated ``Config``. ``clock``: ``SystemClock`` live, a ``ManualClock`` for replays.
    ``db_path``: overrides ``<data_dir>/chatcast.db`` (``":memory:"`` in tests). ``use_engine``: start the
    inference engine when its module exists. ``skill_classes``: config name -> class (default
    ``skills.registry()``). ``daily_purge``: run the retention purge every 24 h while serving.
    ``max_in_flight``: skill handlers running at once before intake waits (back-pressure; replays use a
    smaller value so a fast replay does not queue thousands of model requests that then time out).
    ``skills_dir``: where skills write files (exports, plots), one folder per skill; default
    ``<data_dir>/skills`` (a replay gives its report folder, so it never writes into the live data dir).
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        db_path: str | Path | None = None,
        use_engine: bool = True,
        skill_classes: dict[str, type[Skill]] | None = None,
        daily_purge: bool = True,
        max_in_flight: int = 10_000,
        purge_on_start: bool = True,
        skills_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.max_in_flight = max_in_flight
        self.clock: Clock = clock or SystemClock()
        self.data_dir = config.data_dir
        self.db_path = db_path if db_path is not None else self.data_dir / DB_NAME
        self.skills_dir = skills_dir if skills_dir is not None else self.data_dir / "skills"
        self.votes = NumberVotes()  # which skill reads chat's bare numbers per channel (bot.votes)
        self.use_engine = use_engine
        self._skill_classes = skill_classes
        self.daily_purge = daily_purge
        self.purge_on_start = purge_on_start
        self.storage_errors = 0  # presence flushes that failed (their batch was dropped)
        self.ignored_events = 0  # chat and presence of [bot] ignored_users (other chat bots), dropped
        # the bot's own name too: a replayed log recorded where the bot ran holds its own lines, which it
        # answered and counted as a viewer (live adapters drop the bot's messages by id)
        self._ignored = frozenset(n.lower() for n in (*config.bot.ignored_users, config.bot.name) if n)
        self._hint_re: re.Pattern[str] | None = None  # "!name" of declared commands (see _with_prefix)
        self.db: Database | None = None
        self.engine: Any = None
        self.recorder: PresenceRecorder | None = None
        self.skills: list[Skill] = []
        self.disabled_skills: dict[str, str] = {}
        self.router: Router | None = None
        self.outboxes: dict[str, Outbox] = {}
        self.adapters: dict[str, Adapter] = {}
        self.channels: dict[tuple[str, str], ChannelState] = {}
        self.purged: dict[str, int] = {}
        self.undrained: list[str] = []  # skills whose drain() timed out or failed at the end of a replay
        self._sessions: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._stopped = False

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Storage, retention purge, engine, skills, router (see module docstring).

        Raises ``storage.db.SchemaTooNew`` when the database was written by a newer Chatcast.
        """
        if self._started:
            return
        self._started = True
        if str(self.db_path) != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.db_path)
        migrate_core(self.db)
        self.recorder = _CountingRecorder(self.db, self)
        now = self.clock.now()
        if self.purge_on_start:
            self.purge(now, skills=False)  # before the skills start: they may cache viewers
        if self.use_engine:
            self.engine = await self._start_engine()
        await self._start_skills()
        if self.purge_on_start:
            self.purge(now, core=False)  # the skills' tables exist now
        bot = self.config.bot
        self.router = Router(
            self.skills,
            prefix_for=self.config.prefix_for,
            enabled_for=self._enabled_for,
            settings_for=self._settings_for,
            send=self._send,
            clock=self.clock,
            mods_bypass_cooldowns=bot.mods_bypass_cooldowns,
            notify_denied=bot.notify_denied,
            viewer_commands_per_30s=bot.viewer_commands_per_30s,
            staff_commands_per_30s=bot.staff_commands_per_30s,
            time_budget_s=bot.time_budget_s,
            max_in_flight=self.max_in_flight,
        )
        if self.daily_purge:
            self._spawn(self._purge_daily(), "chatcast-purge")
        self._spawn(self._flush_presence_periodically(), "chatcast-presence")
        if self.db_path != ":memory:":
            self._spawn(self._save_stats_periodically(), "chatcast-stats")

    async def stop(self) -> None:
        """Stop everything in reverse order; never raises (problems are logged)."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        for adapter in self.adapters.values():
            await _quietly(adapter.close(), f"adapter {adapter.platform} close")
        if self.router is not None:
            await _quietly(self.router.drain(), "router drain")
        for outbox in self.outboxes.values():
            await _quietly(outbox.flush(timeout_s=5.0), "outbox flush")
            await _quietly(outbox.stop(), "outbox stop")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for skill in reversed(self.skills):
            await _quietly(skill.stop(), f"skill {skill.name} stop")
        self.save_stats()
        if self.engine is not None:
            await _quietly(self.engine.stop(), "engine stop")
        if self.recorder is not None:
            self.recorder.flush()
        now = self.clock.now()
        if self.db is not None:
            for session_id in self._sessions.values():
                end_session(self.db, session_id, now)
            self.db.close()

    def purge(self, now: datetime | None = None, *, core: bool = True, skills: bool = True) -> dict[str, int]:
        """Delete rows older than ``retention_days`` before ``now`` (default: the runtime's clock, so a
        replay purges relative to the log's time, never the wall clock; 0 days = keep everything);
        returns rows removed.

        ``core``: presence, stream sessions and viewers (``storage.viewers.purge_older_than``), keyed by
        table. ``skills``: every running skill that overrides ``Skill.purge_older_than(cutoff)``, keyed by
        the skill's name; a hook that raises is logged and the others still run.
        """
        days = self.config.bot.retention_days
        if days <= 0 or self.db is None:
            return {}
        cutoff = (now or self.clock.now()) - timedelta(days=days)
        removed: dict[str, int] = {}
        if core:
            if self.recorder is not None:
                self.recorder.flush()
            removed.update(purge_older_than(self.db, cutoff))
            if self.recorder is not None:
                self.recorder.clear_cache()
        if skills:
            for skill in self.skills:
                if type(skill).purge_older_than is Skill.purge_older_than:
                    continue  # no hook: nothing of its own to purge
                try:
                    removed[skill.name] = int(skill.purge_older_than(cutoff))
                except Exception:  # noqa: BLE001 - one skill's purge must not stop the others
                    log.exception("retention: skill %s purge failed", skill.name)
        for key, value in removed.items():
            self.purged[key] = self.purged.get(key, 0) + value
        if any(removed.values()):
            log.info("retention: purged %s (older than %d days)", removed, days)
        return removed

    # ---- adapters ---------------------------------------------------------------------------------

    async def attach(self, adapter: Adapter) -> Outbox:
        """Register ``adapter`` (one per platform) and start its outbox; returns the outbox."""
        if adapter.platform in self.adapters:
            raise ValueError(f"an adapter for platform {adapter.platform!r} is already attached")
        bot = self.config.bot
        outbox = Outbox(
            adapter, clock=self.clock, backlog=bot.backlog, overflow=bot.overflow,
            max_age_s=bot.reply_max_age_s,
        )
        self.adapters[adapter.platform] = adapter
        self.outboxes[adapter.platform] = outbox
        await outbox.start()
        return outbox

    async def pump(self, adapter: Adapter) -> None:
        """Feed every event ``adapter.listen()`` yields to ``dispatch`` until it ends."""
        outbox = self.outboxes.get(adapter.platform)
        router = self.router
        assert router is not None
        manual = outbox is not None and hasattr(self.clock, "advance")
        if manual and hasattr(adapter, "before_clock"):
            # a quiet gap in the log: the skills' timers due in it fire at their own time and the replies
            # the rate limit held back go out when a live bot would have sent them, before the clock jumps
            # to the next line
            async def before_clock(until: datetime) -> None:
                await self._timers_until(until, outbox)  # type: ignore[arg-type]

            adapter.before_clock = before_clock  # type: ignore[attr-defined, union-attr]
        async for event in adapter.listen():
            await self.dispatch(event)
            if manual:
                # A replay moves the clock to each line's time. Read on only when this line's handlers are
                # done (at most REPLAY_SETTLE_S of wall time) and each skill's replay_step ran (due timers,
                # then the bot's game move or the story paragraph they started, at most REPLAY_STEP_S), so a
                # reply is stamped at the log time of its message as if the models were instant, not
                # minutes later because a fast replay ran ahead of a model call.
                await router.settle(REPLAY_SETTLE_S)
                await self._replay_step(REPLAY_STEP_S)
                if len(outbox):  # type: ignore[arg-type]
                    outbox.tick()  # type: ignore[union-attr]  # send what the rate limit allows now ...
                    for _ in range(5):  # ... at this line's time: its worker needs a few loop turns
                        await asyncio.sleep(0)
                        if not len(outbox):  # type: ignore[arg-type]
                            break
                continue
            # An adapter that never waits (piped input) would starve the handlers until it ends: give them
            # and the outbox a few loop turns now, so each message is answered in order.
            for _ in range(3):
                if not (router.in_flight or (outbox is not None and len(outbox))):
                    break
                await asyncio.sleep(0)

    async def _timers_until(self, until: datetime, outbox: Outbox) -> None:
        """Replay only: before the clock jumps to ``until`` (the next line's time), move it to each skill
        timer due earlier (``Skill.next_due``: a vote window's close), run the skills' ``replay_step``
        there and send what the rate limit allows, then send what is left up to ``until``. A window that
        closed in a quiet gap was closed by the next line, and the game's next window opened there."""
        clock = self.clock
        for _ in range(MAX_TIMER_STEPS):
            await outbox.catch_up(clock.now())  # a board sent now starts the timer it announces ...
            await asyncio.sleep(0)  # ... in its send future's callback
            due = self._earliest_due()
            if due is None or clock.now() + timedelta(seconds=due - clock.monotonic()) >= until:
                break
            await outbox.catch_up(clock.now() + timedelta(seconds=due - clock.monotonic()))
            if due > clock.monotonic():
                clock.advance(due - clock.monotonic())  # type: ignore[attr-defined]
            await self._replay_step(REPLAY_STEP_S)
            if self._earliest_due() == due:
                break  # nothing closed it (a skill that ignores its own time): the next line will
        await outbox.catch_up(until)

    def _earliest_due(self) -> float | None:
        """The earliest ``Skill.next_due`` of the running skills (``clock.monotonic()`` time), or ``None``."""
        return min((d for s in self.skills if (d := _next_due(s)) is not None), default=None)

    async def _replay_step(self, timeout: float) -> None:
        """Every running skill's ``replay_step`` at once (each bounded by ``timeout``); failures logged."""
        stepping = [s for s in self.skills if type(s).replay_step is not Skill.replay_step]
        if not stepping:
            return
        results = await asyncio.gather(*(s.replay_step(timeout) for s in stepping), return_exceptions=True)
        for skill, result in zip(stepping, results, strict=True):
            if isinstance(result, Exception):
                log.error("skill %s: replay_step failed: %s: %s", skill.name, type(result).__name__, result)

    async def replay(self, adapter: Adapter, *, drain_timeout_s: float | None = DRAIN_TIMEOUT_S) -> float:
        """Attach, connect and run ``adapter`` once to the end, then ``finish_pending(drain_timeout_s)``:
        the router, the skills (``drain_skills``) and the outboxes (``None`` = no limit).

        Returns the wall-clock seconds spent (for messages/s). Raises ``ConnectionError`` from connect.
        """
        if adapter.platform not in self.outboxes:
            await self.attach(adapter)
        await adapter.connect()
        started = time.perf_counter()
        await self.pump(adapter)
        await self.finish_pending(drain_timeout_s)
        if self.recorder is not None:
            self.recorder.flush()
        return time.perf_counter() - started

    async def drain_skills(self, timeout_s: float | None = DRAIN_TIMEOUT_S) -> list[str]:
        """Wait for background work of every running skill that has a ``drain(timeout=...)`` method
        (for example story paragraphs still being generated when a fast replay ends), all at once.

        A skill whose ``drain`` returns ``False`` (timed out) or raises is logged; the others are still
        waited for. Returns the names of those skills (also added to ``undrained``).
        """
        skills = [s for s in self.skills if callable(getattr(s, "drain", None))]
        if not skills:
            return []
        results = await asyncio.gather(
            *(s.drain(timeout=timeout_s) for s in skills), return_exceptions=True  # type: ignore[attr-defined]
        )
        late: list[str] = []
        for skill, result in zip(skills, results, strict=True):
            if isinstance(result, BaseException):
                log.error("skill %s: drain failed: %s: %s", skill.name, type(result).__name__, result)
                late.append(skill.name)
            elif result is False:
                log.warning(
                    "skill %s still busy after %g s at the end of the input; its late messages are lost",
                    skill.name, timeout_s or 0.0,
                )
                late.append(skill.name)
        self.undrained.extend(late)
        return late

    async def finish_pending(self, timeout_s: float | None = 30.0) -> None:
        """After the input ended (the end of a replay, piped console input, a closed adapter): let the
        handlers and the skills' background work finish (bot moves, model replies; at most ``timeout_s``
        seconds each stage, ``None`` = no limit) and send what they said through every outbox, so the last
        message still gets its answer."""
        assert self.router is not None
        try:
            await asyncio.wait_for(self.router.drain(), timeout_s)
        except TimeoutError:
            log.warning("handlers still running after %g s at the end of the input", timeout_s)
        await self.drain_skills(timeout_s)
        for outbox in self.outboxes.values():
            await outbox.flush(timeout_s)

    async def serve(self, adapter: Adapter, *, max_attempts: int | None = None, backoff: Any = None) -> None:
        """Run a live adapter until it is closed, reconnecting with backoff (``bot.backoff``).

        ``backoff``: a ``bot.backoff.Backoff`` (default: 1 s base, 60 s cap, full jitter);
        ``max_attempts``: consecutive failures before the last error is raised (``None`` = forever).
        """
        from bot.backoff import reconnecting

        if adapter.platform not in self.outboxes:
            await self.attach(adapter)

        async def session() -> None:
            await adapter.connect()
            await self.pump(adapter)

        await reconnecting(
            session, name=f"{adapter.platform} adapter", max_attempts=max_attempts, backoff=backoff
        )

    async def serve_all(self, adapters: list[Adapter], **serve_kwargs: Any) -> dict[str, BaseException]:
        """``serve`` every adapter at once until each has ended; one adapter giving up (``GiveUp``, too many
        failed reconnects, a bug) is logged and never stops the other adapters or the skills.

        Returns ``{platform: error}`` for the adapters that failed (empty when all ended normally).
        Cancelling this cancels every adapter (shutdown).
        """

        async def one(adapter: Adapter) -> None:
            try:
                await self.serve(adapter, **serve_kwargs)
            except Exception as exc:
                log.error(
                    "%s adapter stopped: %s: %s; the other adapters and the skills carry on",
                    adapter.platform, type(exc).__name__, exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                raise

        results = await asyncio.gather(*(one(a) for a in adapters), return_exceptions=True)
        failed: dict[str, BaseException] = {}
        for adapter, result in zip(adapters, results, strict=True):
            if isinstance(result, BaseException):
                failed[adapter.platform] = result
        return failed

    # ---- events -----------------------------------------------------------------------------------

    def ignores(self, *names: str) -> bool:
        """Whether any of ``names`` (a user id, a display name) is in ``[bot] ignored_users`` (another chat
        bot) or is the bot's own ``[bot] name``: its events are dropped by ``dispatch``; case-insensitive."""
        return bool(self._ignored) and any(n.lower() in self._ignored for n in names)

    async def dispatch(self, event: Event) -> None:
        """Record presence / stream sessions for ``event``, then route it. Never raises.

        Lone surrogates in its text fields are replaced first (``bot.events.scrub``)."""
        event = scrub(event)
        who = getattr(event, "author", None) or getattr(event, "viewer", None)
        if who is not None and self.ignores(who.user_id, who.display_name):
            self.ignored_events += 1  # another chat bot ([bot] ignored_users): not a viewer, not a command
            return
        try:
            kind = type(event)
            if kind is ChatMessage:
                self.recorder.seen(  # type: ignore[union-attr]
                    event.platform,
                    event.channel,
                    event.author,
                    event.timestamp,
                    message=True,  # type: ignore[union-attr]
                )
            elif kind is Presence:
                self.recorder.seen(  # type: ignore[union-attr]
                    event.platform,
                    event.channel,
                    event.viewer,
                    event.timestamp,  # type: ignore[union-attr]
                )
            elif kind is StreamStatus:
                self._stream_status(event)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - storage trouble must not stop the chat
            self.storage_errors += 1
            log.exception("runtime: recording %s failed", type(event).__name__)
        await self.router.handle(event)  # type: ignore[union-attr]

    def _stream_status(self, status: StreamStatus) -> None:
        state = self.channel_info(status.platform, status.channel)
        key = (status.platform, status.channel.lower())
        was_live = state.live
        state.live = status.online
        # None means "not said in this event", not "cleared": keep what an earlier event told us.
        if status.title is not None:
            state.title = status.title
        if status.category is not None:
            state.category = status.category
        assert self.db is not None and self.recorder is not None
        if status.online and not was_live:
            state.online_since = status.timestamp
            self.recorder.flush()
            sid = start_session(
                self.db,
                status.platform,
                status.channel,
                status.timestamp,
                title=status.title,
                category=status.category,
            )
            self._sessions[key] = sid
            self.recorder.set_session(status.platform, status.channel, sid)
        elif not status.online and was_live:
            state.online_since = None
            self.recorder.flush()
            sid = self._sessions.pop(key, None)
            if sid is not None:
                end_session(self.db, sid, status.timestamp)
            self.recorder.set_session(status.platform, status.channel, None)

    def channel_info(self, platform: str, channel: str) -> ChannelState:
        """The ``ChannelState`` of a channel (created on first use)."""
        key = (platform, channel.lower())
        state = self.channels.get(key)
        if state is None:
            adapter = self.adapters.get(platform)
            max_len = adapter.limits.max_message_len if adapter is not None else 500
            state = ChannelState(platform, channel, channel, max_message_len=max_len, clock=self.clock)
            self.channels[key] = state
        # known once the adapter has logged in: "@<bot> what game is this?" is a question to the channel
        state.bot_name = str(getattr(self.adapters.get(platform), "bot_login", "") or self.config.bot.name)
        return state

    async def post(
        self,
        platform: str,
        channel: str,
        text: str,
        *,
        priority: Priority = Priority.NORMAL,
        in_reply_to: str | None = None,
        attachment: str | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> asyncio.Future[float | None] | None:
        """Send an unprompted message (``skills.base.Poster``) through the platform's outbox; returns the
        outbox's future of its send time (``Outbox.put``), ``None`` when no adapter serves the platform.
        ``still_wanted``: see ``Reply`` (checked when its turn comes; ``False`` drops it unsent)."""
        return await self._send(Reply(platform, channel, text, in_reply_to, priority, attachment=attachment,
                                      still_wanted=still_wanted))

    async def _send(self, reply: Reply) -> asyncio.Future[float | None] | None:
        outbox = self.outboxes.get(reply.platform)
        if outbox is None:
            log.warning("runtime: no adapter for platform %r; reply dropped", reply.platform)
            return None
        return await outbox.put(self._with_prefix(reply))

    def _with_prefix(self, reply: Reply) -> Reply:
        """Skills write command hints with ``!`` (``"try !c4 challenge"``); in a channel whose prefix is
        another, ``!name`` of a declared command becomes ``<prefix>name`` so the hint works there."""
        try:
            prefix = self.config.prefix_for(reply.platform, reply.channel)
        except Exception:  # noqa: BLE001 - an unknown channel keeps the text as written
            return reply
        if prefix == "!" or "!" not in reply.text or self.router is None:
            return reply
        if self._hint_re is None:
            words = sorted({name.split()[0] for _, spec in self.router.commands() for name in spec.names},
                           key=len, reverse=True)
            self._hint_re = re.compile(r"(?<![\w!])!(?=(?:" + "|".join(map(re.escape, words)) + r")\b)")
        text = self._hint_re.sub(lambda _m: prefix, reply.text)
        return reply if text == reply.text else replace(reply, text=text)

    # ---- stats ------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Router counters plus ``replies_sent`` / ``replies_dropped`` summed over the outboxes."""
        out: dict[str, Any] = dict(self.router.stats) if self.router is not None else {}
        sent = dropped = 0
        for outbox in self.outboxes.values():
            s = outbox.stats
            sent += s.get("sent", 0)
            dropped += (
                s.get("dropped_duplicate", 0) + s.get("dropped_backlog", 0) + s.get("dropped_unsent", 0)
                + s.get("dropped_stale", 0)
            )
        out["replies_sent"] = sent
        out["replies_dropped"] = dropped
        out["storage_errors"] = self.storage_errors
        out["ignored_users_events"] = self.ignored_events
        out["outbox"] = {p: dict(o.stats) for p, o in self.outboxes.items()}
        return out

    # ---- internals --------------------------------------------------------------------------------

    def _settings_for(self, skill: str, platform: str, channel: str) -> Any:
        return self.config.settings_for(skill, platform, channel)

    def _enabled_for(self, skill: str, platform: str, channel: str) -> bool:
        if skill in self.disabled_skills:
            return False
        return self.config.enabled_for(skill, platform, channel)

    def _context(self, name: str) -> SkillContext:
        assert self.db is not None
        config = self.config
        return SkillContext(
            storage=self.db,
            engine=self.engine,
            post=self.post,
            settings_for=lambda platform, channel: config.settings_for(name, platform, channel),
            channel_info=self.channel_info,
            data_dir=self.skills_dir / name,
            votes=self.votes,
            clock=self.clock,
            log=logging.getLogger(f"chatcast.skill.{name}"),
        )

    async def _start_skills(self) -> None:
        from bot.privacy import PrivacySkill

        if self._skill_classes is None:
            self._skill_classes = dict(self.config.skill_classes)
        core = core_skill_classes()
        candidates: list[Skill] = []
        for name, cls in core.items():
            if cls is PrivacySkill:
                candidates.append(
                    PrivacySkill(self._context(name), skills=lambda: self.skills, recorder=self.recorder)
                )
            else:
                candidates.append(cls(self._context(name)))
        for name, cls in self._skill_classes.items():
            if name in core:
                continue
            if name not in self.config.skill_defaults:
                self.disabled_skills[name] = "no settings (config not validated against this skill)"
                continue
            if not self._enabled_anywhere(name):
                continue
            try:
                candidates.append(cls(self._context(name)))
            except Exception as exc:  # noqa: BLE001 - a broken skill must not stop the bot
                log.exception("skill %s could not be created; disabled", name)
                self.disabled_skills[name] = f"{type(exc).__name__}: {exc}"
        # One after another, in the declared order (the router's priority order): start() may migrate
        # tables, and interleaved transactions on the one connection would mix.
        for skill in candidates:
            if await self._start_skill(skill):
                self.skills.append(skill)
        log.info("skills running: %s", ", ".join(s.name for s in self.skills) or "none")

    async def _start_skill(self, skill: Skill) -> bool:
        if str(self.db_path) != ":memory:":
            skill.ctx.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            await skill.start()
        except Exception as exc:  # noqa: BLE001 - a skill that cannot start is disabled, the rest run
            log.error(
                "skill %s failed to start; disabled: %s: %s", skill.name, type(exc).__name__, exc,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            self.disabled_skills[skill.name] = f"{type(exc).__name__}: {exc}"
            return False
        return True

    def _enabled_anywhere(self, name: str) -> bool:
        if self.config.skill_defaults[name].enabled:
            return True
        return any(
            getattr(merged.get(name), "enabled", False) for merged in self.config.channel_skills.values()
        )

    async def _start_engine(self) -> Any:
        try:
            from bot.inference.engine import Engine
        except ImportError as exc:
            log.info("inference engine not available (%s); skills that need models stay quiet", exc)
            return None
        try:
            engine = Engine(self.config.inference, data_dir=self.data_dir, models_dir=self.config.models_dir)
            await engine.start()
        except Exception as exc:  # noqa: BLE001 - a missing model must not stop the bot
            log.warning(
                "inference engine failed to start, continuing without it: %s: %s", type(exc).__name__, exc
            )
            return None
        return engine

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _purge_daily(self) -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY_S)
            try:
                self.purge()
            except Exception:  # noqa: BLE001
                log.exception("retention purge failed")

    def save_stats(self) -> Path | None:
        """Write ``bot-stats.json`` next to the database (``STATS_FILE``): the time, ``stats()`` (router and
        outbox counters) and the engine's per-model stats, for ``chatcast stats`` to show while the bot
        runs and after it stopped. Returns the path, ``None`` for an in-memory database or when writing
        failed (logged, never raised)."""
        if self.db_path == ":memory:":
            return None
        path = Path(self.db_path).parent / STATS_FILE
        try:
            engine = self.engine.stats() if self.engine is not None else {}
            data = {"saved_at": self.clock.now().isoformat(), "bot": self.stats(), "engine": engine}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
            tmp.replace(path)
            return path
        except Exception:  # noqa: BLE001 - statistics must never stop the bot
            log.exception("could not write %s", path)
            return None

    async def _save_stats_periodically(self) -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            self.save_stats()

    async def _flush_presence_periodically(self) -> None:
        assert self.recorder is not None
        while True:
            await asyncio.sleep(self.recorder.flush_interval_s)
            try:
                self.recorder.flush()
            except Exception:  # noqa: BLE001
                log.exception("presence flush failed")


class _CountingRecorder(PresenceRecorder):
    """``PresenceRecorder`` that counts failed flushes (a dropped batch) in ``runtime.storage_errors``."""

    def __init__(self, db: Database, runtime: Runtime) -> None:
        super().__init__(db)
        self._runtime = runtime

    def flush(self) -> int:
        pending = bool(self._buffer)
        written = super().flush()
        if pending and written == 0:
            self._runtime.storage_errors += 1
        return written


async def _quietly(awaitable: Any, what: str) -> None:
    try:
        await awaitable
    except Exception:  # noqa: BLE001 - shutdown carries on
        log.exception("%s failed", what)


def _next_due(skill: Skill) -> float | None:
    """``skill.next_due()``, ``None`` when it fails (logged): one skill must not stop a replay."""
    try:
        return skill.next_due()
    except Exception:  # noqa: BLE001
        log.exception("skill %s: next_due failed", skill.name)
        return None
