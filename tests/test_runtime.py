"""Runtime wiring: reconnects, stream sessions, retention at start, channel info."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.base import CONSOLE_LIMITS, Adapter
from bot.backoff import Backoff
from bot.clock import ManualClock
from bot.config import validate_config
from bot.events import ChatMessage, Event, Reply, StreamStatus, Viewer
from bot.runtime import Runtime
from storage.db import Database
from storage.viewers import count_rows, migrate_core
from storage.watch import PresenceRecorder

T0 = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)


class FlakyAdapter(Adapter):
    """Fails to connect ``failures`` times, then yields a stream with two messages and ends."""

    platform = "console"
    limits = CONSOLE_LIMITS

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.connects = 0
        self.sent: list[Reply] = []

    async def connect(self) -> None:
        self.connects += 1
        if self.connects <= self.failures:
            raise ConnectionError("network down")

    async def listen(self) -> AsyncIterator[Event]:
        viewer = Viewer("console", "ann", "Ann")
        yield StreamStatus("console", "chan", True, T0, title="Speedrun", category="Games")
        yield ChatMessage("console", "chan", "1", viewer, "hi", T0 + timedelta(minutes=1))
        yield ChatMessage("console", "chan", "2", viewer, "!help", T0 + timedelta(minutes=2))

    async def send(self, reply: Reply) -> None:
        self.sent.append(reply)

    async def close(self) -> None:
        return None


def config(tmp_path: Path, retention: int = 90):
    return validate_config(
        {"bot": {"data_dir": str(tmp_path / "data"), "retention_days": retention}},
        label="config.toml", path=None, skill_classes={},
    )


async def test_serve_reconnects_then_routes(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    runtime = Runtime(config(tmp_path), clock=clock, use_engine=False, skill_classes={}, daily_purge=False)
    await runtime.start()
    adapter = FlakyAdapter(failures=2)
    await runtime.serve(adapter, backoff=Backoff(base_s=0.001, cap_s=0.001))
    await runtime.router.drain()  # type: ignore[union-attr]
    await runtime.outboxes["console"].flush()
    assert adapter.connects == 3
    assert [r.text.split(":")[0] for r in adapter.sent] == ["Commands"]
    info = runtime.channel_info("console", "CHAN")
    assert info.live and info.title == "Speedrun" and info.max_message_len == CONSOLE_LIMITS.max_message_len
    clock.set(T0 + timedelta(minutes=5))
    assert info.uptime_s == 300.0
    await runtime.stop()
    db = Database(tmp_path / "data" / "chatcast.db")
    row = db.raw.execute("SELECT started_at, ended_at, title FROM stream_sessions").fetchone()
    assert row[0] == "2024-03-01T20:00:00+00:00" and row[1] is not None and row[2] == "Speedrun"
    presence = db.raw.execute("SELECT message_count, session_id FROM presence").fetchone()
    assert presence[0] == 2 and presence[1] is not None


async def test_retention_purge_runs_at_start(tmp_path: Path) -> None:
    path = tmp_path / "data" / "chatcast.db"
    db = Database(path)
    migrate_core(db)
    rec = PresenceRecorder(db, flush_every=1)
    now = datetime.now(UTC)
    rec.seen("console", "c", Viewer("console", "old", "Old"), now - timedelta(days=40), message=True)
    rec.seen("console", "c", Viewer("console", "new", "New"), now - timedelta(days=2), message=True)
    db.close()
    runtime = Runtime(config(tmp_path, retention=30), use_engine=False, skill_classes={}, daily_purge=False)
    await runtime.start()
    try:
        assert runtime.purged == {"presence": 1, "stream_sessions": 0, "viewers": 1}
        assert runtime.db is not None and count_rows(runtime.db, "viewers") == 1
    finally:
        await runtime.stop()


class GivingUpAdapter(FlakyAdapter):
    """Bad credentials: ``connect`` raises ``GiveUp`` at once (no reconnect)."""

    platform = "twitch"

    async def connect(self) -> None:
        from bot.backoff import GiveUp

        self.connects += 1
        raise GiveUp("bad token")


class SlowAdapter(FlakyAdapter):
    """Starts chatting only after the other adapter has given up."""

    async def listen(self) -> AsyncIterator[Event]:
        import asyncio

        await asyncio.sleep(0.05)
        async for event in super().listen():
            yield event


async def test_serve_all_isolates_an_adapter_that_gives_up(tmp_path: Path) -> None:
    runtime = Runtime(config(tmp_path), clock=ManualClock(T0), use_engine=False, skill_classes={},
                      daily_purge=False)
    await runtime.start()
    bad, good = GivingUpAdapter(failures=0), SlowAdapter(failures=0)
    try:
        failed = await runtime.serve_all([bad, good], backoff=Backoff(base_s=0.001, cap_s=0.001))
        await runtime.router.drain()  # type: ignore[union-attr]
        await runtime.outboxes["console"].flush()
    finally:
        await runtime.stop()
    assert list(failed) == ["twitch"] and str(failed["twitch"]) == "bad token" and bad.connects == 1
    assert [r.text.split(":")[0] for r in good.sent] == ["Commands"]  # the other adapter carried on


def skill_config(tmp_path: Path, classes: dict, retention: int = 30):
    return validate_config(
        {"bot": {"data_dir": str(tmp_path / "data"), "retention_days": retention}},
        label="config.toml", path=None, skill_classes=classes,
    )


async def test_purge_calls_every_running_skills_hook(tmp_path: Path) -> None:
    from skills.base import Skill

    cutoffs: list[datetime] = []

    class Keeper(Skill):
        name = "keeper"

        def purge_older_than(self, cutoff: datetime) -> int:
            cutoffs.append(cutoff)
            return 3

    class Broken(Skill):
        name = "broken"

        def purge_older_than(self, cutoff: datetime) -> int:
            raise RuntimeError("disk on fire")

    class Plain(Skill):  # no hook: not in the counts
        name = "plain"

    classes = {"broken": Broken, "keeper": Keeper, "plain": Plain}
    runtime = Runtime(skill_config(tmp_path, classes), use_engine=False, skill_classes=classes,
                      daily_purge=False)
    await runtime.start()  # start-up purge runs after the skills started
    try:
        assert runtime.purged == {"presence": 0, "stream_sessions": 0, "viewers": 0, "keeper": 3}
        removed = runtime.purge(T0)
        assert removed == {"presence": 0, "stream_sessions": 0, "viewers": 0, "keeper": 3}
        assert cutoffs[-1] == T0 - timedelta(days=30) and runtime.purged["keeper"] == 6
    finally:
        await runtime.stop()


async def test_stream_status_without_category_keeps_the_known_one(tmp_path: Path) -> None:
    """Regression: an online event without a category (the replay's first event) erased ``{game}``."""
    runtime = Runtime(config(tmp_path), clock=ManualClock(T0), use_engine=False, skill_classes={},
                      daily_purge=False)
    await runtime.start()
    runtime._stream_status(StreamStatus("console", "chan", True, T0, title="Speedrun", category="Celeste"))
    runtime._stream_status(StreamStatus("console", "chan", True, T0 + timedelta(minutes=1)))
    info = runtime.channel_info("console", "chan")
    assert (info.category, info.title) == ("Celeste", "Speedrun")
    await runtime.stop()


def test_scrub_replaces_lone_surrogates_and_keeps_clean_events() -> None:
    # regression: a user name "bad\ud800" from a platform's JSON failed the presence batch of every viewer
    from datetime import UTC, datetime

    from bot.events import ChatMessage, StreamStatus, Viewer, scrub

    when = datetime(2024, 1, 1, tzinfo=UTC)
    clean = ChatMessage("twitch", "c", "1", Viewer("twitch", "a", "A"), "hi", when)
    assert scrub(clean) is clean
    bad = ChatMessage("twitch", "c", "1", Viewer("twitch", "b\ud800", "B\udfff"), "x\ud83d", when)
    fixed = scrub(bad)
    assert (fixed.author.user_id, fixed.author.display_name, fixed.text) == ("b\ufffd", "B\ufffd", "x\ufffd")
    fixed.text.encode("utf-8")  # encodable now
    # regression: a Discord nickname "\u202egnp.exe" turned the bot's reply around
    bidi = scrub(ChatMessage("discord", "c", "1", Viewer("discord", "42", "\u202egnp.exe\u200b"), "hi", when))
    assert bidi.author.display_name == "gnp.exe"
    named = ChatMessage("discord", "c", "1", Viewer("discord", "42", "Zoë 🌸"), "hi", when)
    assert scrub(named).author.display_name == "Zoë 🌸"
    status = scrub(StreamStatus("twitch", "c", True, when, title="t\ud800", category="ok"))
    assert (status.title, status.category) == ("t\ufffd", "ok")
