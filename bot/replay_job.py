"""One replay from start to report: the job behind ``chatcast replay`` (also used by tests and benchmarks).

``run_replay`` builds a ``Runtime`` on a ``ManualClock`` (so cooldowns and rate limits follow the log's
time), replays the log through the replay adapter, waits for skills' background work (``drain``), checks
that every distinct chatter has a presence row, runs the retention purge by the log's clock, counts the
presence rows left, collects the engine's and each skill's report sections and writes ``summary.json`` +
``transcript.txt`` (the adapter writes ``skipped.txt`` as it reads the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from filelock import FileLock, Timeout

from bot.adapters.replay import DEFAULT_CHANNEL, TYPO_JUMP, ReplayAdapter
from bot.clock import ManualClock
from bot.config import Config
from bot.instance import LOCK_NAME
from bot.report import SKIPPED_FILE, SUMMARY_FILE, build_summary, default_report_dir, write_report
from bot.runtime import DB_NAME, DRAIN_TIMEOUT_S, Runtime
from skills.base import Skill
from storage.watch import presence_rows

log = logging.getLogger("chatcast.replay")

REPLAY_MAX_IN_FLIGHT = 64


async def run_replay(
    config: Config,
    source: str | Path | TextIO,
    *,
    speed: float = 0.0,
    channel: str | None = None,
    report_dir: Path | None = None,
    db_path: str | Path | None = None,
    use_engine: bool = True,
    skill_classes: dict[str, type[Skill]] | None = None,
    on_adapter: Callable[[ReplayAdapter], None] | None = None,
    drain_timeout_s: float | None = DRAIN_TIMEOUT_S,
) -> tuple[dict[str, Any], Path | None]:
    """Replay ``source`` (path, ``"-"`` for stdin, or a text stream) through the whole bot.

    ``report_dir``: where to write the report (``None``: a new folder under ``<data_dir>/reports``;
    ``Path("")`` is not allowed). ``db_path``: the database replayed into (``None``: a fresh
    ``chatcast.db`` inside the report folder, so replays never share state with the live database or with
    each other; a kept database holds the rows under the platform ``replay``). The retention purge of a
    replay runs once after the log ends, relative to the log's last timestamp, never the wall clock.
    ``on_adapter`` receives the adapter before the replay starts (progress
    bars read ``bytes_read`` / ``bytes_total`` from it). ``drain_timeout_s``: how long each skill with a
    ``drain`` method may finish background work (story paragraphs) after the log ends (``None``: no
    limit); skills that timed out are listed in the summary's ``undrained_skills``.
    ``speed``: 0 (no waiting) or at least ``bot.adapters.replay.MIN_SPEED``; ``channel``: a channel name
    (``bot.adapters.chatlog.parse_channel``) every line is replayed into, a JSON line's own too.
    Returns ``(summary, report folder)``. The summary's ``presence_rows`` is counted after the purge (the
    rows the database holds at the end in the replay's channels, one per chatter, channel and stream
    session); ``viewers_without_presence`` is checked before it.
    Raises ``ConnectionError`` when the log file does not exist, ``storage.db.SchemaTooNew`` for a newer DB,
    ``NotADirectoryError`` when ``report_dir`` (or a folder above it) is an existing file or cannot be
    created, ``ValueError``
    for a bad ``speed`` or ``channel`` (before anything is written).
    """
    clock = ManualClock()
    adapter = ReplayAdapter(source, clock=clock, channel=channel, speed=speed)  # checks speed and channel
    created = report_dir is None or not report_dir.exists()  # default_report_dir makes a new one
    if report_dir is not None and report_dir.is_dir():
        _refuse_a_foreign_folder(report_dir)
    try:
        folder = report_dir if report_dir is not None else default_report_dir(config.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        where = report_dir or config.data_dir
        raise NotADirectoryError(f"{where}: a file is in the way of the report folder") from None
    except OSError as exc:  # /proc/x, a read-only place, a data_dir that cannot exist: was a traceback
        where, why = report_dir or config.data_dir / "reports", exc.strerror or exc
        raise NotADirectoryError(f"{where}: cannot create the report folder ({why})") from None
    lock = FileLock(folder / REPLAY_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:  # a second replay into the folder deleted the running one's database
        raise NotADirectoryError(f"{folder}: another replay is writing this report folder right now: give "
                                 "another --report") from None
    failed = True
    try:
        summary = await _replay_into(
            config, adapter, folder, db_path, use_engine, skill_classes, drain_timeout_s, on_adapter
        )
        failed = False
        return summary
    finally:
        lock.release()
        (folder / REPLAY_LOCK).unlink(missing_ok=True)
        if failed and created:  # a replay that failed before its report leaves no empty report folder behind
            _remove_if_empty(folder)


REPLAY_MARK = ".chatcast-replay"
"""An empty file marking a folder as a replay's report (its database may be replaced by the next replay)."""
REPLAY_LOCK = ".replay.lock"
"""Held in the report folder while a replay writes it (removed at the end)."""


def _remove_if_empty(folder: Path) -> None:
    """Delete ``folder`` and its sub-folders when no file but ``REPLAY_MARK`` is in any of them (never
    another file)."""
    with contextlib.suppress(OSError):
        if any(p.is_file() and p != folder / REPLAY_MARK for p in folder.rglob("*")):
            return
        (folder / REPLAY_MARK).unlink(missing_ok=True)
        for sub in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            sub.rmdir()
        folder.rmdir()


def _refuse_a_foreign_folder(folder: Path) -> None:
    """Raises ``NotADirectoryError`` unless ``folder`` is empty or an earlier replay's report (trial 18:
    ``--report /`` wrote a database, a transcript and eight ``skills/`` folders into ``/``, and
    ``--report .`` in a checkout would have written into its source folders)."""
    if (folder / DB_NAME).exists():
        _refuse_unless_a_report(folder)  # said in its own words: a bot's data folder?
        return
    if (folder / REPLAY_MARK).is_file():  # a replay stopped before it wrote its database
        return
    try:
        foreign = any(entry.name != REPLAY_LOCK for entry in folder.iterdir())
    except OSError:
        return  # creating the lock file below says why it cannot be used
    if foreign:
        raise NotADirectoryError(f"{folder}: is not empty and is no earlier replay's report: give a new or "
                                 "empty folder for the report")


def _refuse_unless_a_report(folder: Path) -> None:
    """Raises ``NotADirectoryError`` unless ``folder``'s database is an earlier replay's (a ``summary.json``
    or ``REPLAY_MARK`` beside it, no bot lock file): ``--report chatcast-data`` deleted the live database,
    every viewer's watch history, commands and stories with it, even under a running bot."""
    earlier = (folder / SUMMARY_FILE).is_file() or (folder / REPLAY_MARK).is_file()
    if earlier and not (folder / LOCK_NAME).exists():
        return
    raise NotADirectoryError(
        f"{folder}: holds a {DB_NAME} that is no earlier replay's report (a bot's data folder?): give a new "
        "or empty report folder (to replay into a bot's database, stop it and pass --db)"
    )


async def _replay_into(
    config: Config,
    adapter: ReplayAdapter,
    folder: Path,
    db_path: str | Path | None,
    use_engine: bool,
    skill_classes: dict[str, type[Skill]] | None,
    drain_timeout_s: float | None,
    on_adapter: Callable[[ReplayAdapter], None] | None,
) -> tuple[dict[str, Any], Path | None]:
    """``run_replay`` once its report folder exists."""
    clock = adapter.clock
    kept_db = db_path is not None  # a database that outlives the report (e.g. the live one: an import)
    if db_path is None:
        db_path = folder / DB_NAME
        if db_path.exists():  # a report folder given twice: start fresh, never on top of an old replay
            _refuse_unless_a_report(folder)
            db_path.unlink()
    (folder / REPLAY_MARK).touch()  # a replay stopped while the models loaded wrote no summary.json
    adapter.skipped_path = folder / SKIPPED_FILE  # every skipped line, as it is met
    if on_adapter is not None:
        on_adapter(adapter)
    # A fast replay would otherwise start one handler per message at once; with models behind them the
    # last ones would wait past their time budget. 64 still fills the engine's batches.
    runtime = Runtime(
        config,
        clock=clock,
        db_path=db_path,
        use_engine=use_engine,
        skill_classes=skill_classes,
        daily_purge=False,
        max_in_flight=REPLAY_MAX_IN_FLIGHT,
        purge_on_start=False,  # the clock is not at the log's time yet: purge after the log, by log time
        skills_dir=folder / "skills",  # exports and plots stay with the report, out of the live data dir
    )
    await runtime.start()
    try:
        wait_loaded = getattr(runtime.engine, "wait_loaded", None)
        if callable(wait_loaded):
            # A replay is a measurement: start it with every model loaded, not while the language model is
            # still loading in the background and competing for the CPU.
            await wait_loaded()
        await runtime.attach(adapter)
        started = time.monotonic()
        try:
            wall_s = await runtime.replay(adapter, drain_timeout_s=drain_timeout_s)
        except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C, SIGTERM: keep what was replayed
            _write_partial_report(folder, adapter, runtime, time.monotonic() - started, config.bot.name)
            raise
        # other chat bots ([bot] ignored_users) get no presence row, by design
        chatters = {user for _, user in adapter.viewers if not runtime.ignores(user)}
        # every chatter got a row (checked before the purge, which may rightly remove some) ...
        without = len(chatters - {row["user_id"] for row in _replay_presence(runtime, adapter)})
        if adapter.largest_jump > TYPO_JUMP:  # a typo'd year moved the clock: the purge would wipe the log
            log.warning("retention purge skipped: the log's clock jumped %d days (see line_warnings)",
                        adapter.largest_jump.days)
            purged: dict[str, Any] = {"skipped": f"the log's clock jumped {adapter.largest_jump.days} days "
                                                 "(a typo'd date? see line_warnings)"}
        else:
            purged = runtime.purge(adapter.last_time) if adapter.last_time is not None else {}
        summary = build_summary(
            adapter,
            runtime.stats(),
            wall_s,
            presence_rows=len(_replay_presence(runtime, adapter)),  # ... and the rows left at the end
            viewers_without_presence=without,
        )
        summary["distinct_viewers"] = len(chatters)  # other chat bots ([bot] ignored_users) are no viewers
        summary["ignored_users_events"] = runtime.ignored_events
        summary["db"] = str(db_path)
        summary["purged"] = purged
        note = retention_note(config, adapter, summary["presence_rows"]) if kept_db else None
        if note:
            log.warning("%s", note)
            summary["retention_note"] = note
        # trial 9: "Follow replay"; not when every line named its own channel (trial 15)
        if summary.get("replies_sent") and any(c == DEFAULT_CHANNEL for c, _ in adapter.viewers):
            summary["channel_note"] = (f"the replies name the streamer '{DEFAULT_CHANNEL}': give the "
                                       "channel with --channel NAME or a '# channel: NAME' line at the top "
                                       "of the log")
        if runtime.engine is not None:
            try:
                summary["engine"] = runtime.engine.stats()
            except Exception:  # noqa: BLE001
                log.exception("engine stats failed")
        sections: dict[str, Any] = {}
        for skill in runtime.skills:
            try:
                section = await skill.report(folder)
            except Exception:  # noqa: BLE001 - one skill's report must not lose the others
                log.exception("skill %s: report failed", skill.name)
                continue
            if section:
                sections[skill.name] = section
        summary["skills"] = sections
        summary["disabled_skills"] = dict(runtime.disabled_skills)
        summary["undrained_skills"] = list(runtime.undrained)
        write_report(folder, summary, adapter.transcript, bot_name=config.bot.name)
        if summary["skipped_not_listed"]:  # the console shows 5, summary.json 10: say where the rest are
            where = summary["skipped_file"] or "no file (it could not be written: see above)"
            log.warning("%d line(s) skipped, %d more than summary.json lists: every one is in %s",
                        adapter.lines_skipped, summary["skipped_not_listed"], where)
    finally:
        await runtime.stop()
    return summary, folder


def _write_partial_report(
    folder: Path, adapter: ReplayAdapter, runtime: Runtime, wall_s: float, bot_name: str
) -> None:
    """``summary.json`` (with ``"interrupted": true``) and ``transcript.txt`` of a replay stopped part-way:
    an operator who stops a long replay wants to see what was sent so far (trial 14: nothing was written).
    Synchronous, so it runs while the task is being cancelled; never raises."""
    try:
        summary = build_summary(adapter, runtime.stats(), wall_s)
        summary["interrupted"] = True
        summary["db"] = str(runtime.db_path) if getattr(runtime, "db_path", None) else None
        write_report(folder, summary, adapter.transcript, bot_name=bot_name)
        log.warning("replay interrupted after %d messages: partial report in %s", adapter.messages, folder)
    except Exception:  # noqa: BLE001 - the interrupt itself must go on
        log.exception("replay interrupted: the partial report could not be written")


def retention_note(
    config: Config, adapter: ReplayAdapter, rows: int, now: datetime | None = None
) -> str | None:
    """What the next ``chatcast run`` on a kept database will purge of this replay (``None``: nothing).

    A replay purges by the log's clock, so an old log imported into the live database (``--db``) keeps
    its rows, and the next start purges them by the real date: 170 imported viewers were gone at the next
    ``chatcast run``, and the replay had said nothing. ``now``: the real date (default: the system's)."""
    days = config.bot.retention_days
    last = adapter.last_time
    if days <= 0 or last is None or rows <= 0:
        return None
    now = now or datetime.now(UTC)
    if last >= now - timedelta(days=days):
        return None
    return (f"this log ended {last.date()}, more than retention_days ({days}) ago: the next chatcast run on "
            f"this database purges its watch history ({rows} presence rows); set [bot] retention_days = 0 "
            "(keep everything) or a larger value to keep it")


def _replay_presence(runtime: Runtime, adapter: ReplayAdapter) -> list[Any]:
    """Presence rows in the database, in the channels the replay saw (one per chatter, channel and stream
    session: a chatter of two channels has two; ``presence_rows`` counted distinct users, 256 for 504)."""
    assert runtime.db is not None
    channels = {c for c, _ in adapter.viewers}
    return [row for ch in channels for row in presence_rows(runtime.db, adapter.platform, ch)]
