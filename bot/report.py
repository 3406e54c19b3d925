"""The replay report: ``summary.json``, ``transcript.txt`` and ``skipped.txt`` in a report folder.

``summary.json`` keys (all counts are integers):

- ``lines_read``: non-blank log lines; ``lines_skipped``: malformed ones (``skipped_examples`` lists the
  first 10 with line numbers; ``skipped_not_listed`` counts the others; ``skipped_file``, the path of
  ``skipped.txt``, lists every one; ``None`` when no line was skipped); ``messages``: chat messages
  routed; ``distinct_viewers``: distinct chatters;
- ``lines_warned``: lines replayed but suspicious: a jump of more than 30 days after the latest line (a
  typo'd date?), a step back in time (the clock stays at the latest time), a ``\\r`` before what looks like
  another log line, bytes that are not UTF-8; ``line_warnings`` lists the first 100 as ``{"line",
  "reason", "text"}``; ``bytes_not_utf8``: undecodable bytes of the log, each replayed as U+FFFD;
- ``commands_handled``, ``skill_errors``, ``skill_timeouts``: from the router;
- ``replies_sent``: messages the outbox sent (parts of split replies count one each);
  ``replies_dropped``: duplicates, backlog overflow and unsent at the end;
- ``messages_per_s``: ``messages`` / wall seconds from the first line read to the last reply flushed;
- ``presence_rows``: presence rows in the replay's channels as the database holds them at the end (after
  the retention purge; one per chatter, channel and stream session, so a chatter of two channels has two
  and ``presence_rows`` may exceed ``distinct_viewers``); ``viewers_without_presence`` (should be 0):
  chatters without a row, checked before the purge (a check that the watch history was recorded);
  ``storage_errors`` (should be 0): presence flushes or event recordings that failed (rows dropped);
- ``db``: the database replayed into (default: ``chatcast.db`` in the report folder); ``purged``: rows
  removed by the retention purge, run after the log relative to the log's last timestamp;
- ``log_start`` / ``log_end``: the log's first and last timestamps;
- ``wall_s``: wall seconds of ``WALL_S_SPAN`` (also written to the summary as ``wall_s_span``): the replay
  itself, not start-up (model loading) nor writing the report, which the CLI's progress bar also counts;
- ``engine``: the inference engine's ``stats()`` when it ran; ``skills``: each skill's ``report()``
  section; ``disabled_skills``: skills that failed to start, with the reason.

- ``reply_delay_s``: ``p50`` / ``p95`` / ``max`` log seconds from a message to the bot's reply to it.

``transcript.txt`` has one block per message the bot sent: the log time it was sent, then (for a reply)
the causing message's own log time and ``reply_delay_s``, the log seconds between them::

    [2024-05-19 15:10:01 UTC] #dorozea chatcast: Commands: !help, !mydata ...
        in reply to [2024-05-19 15:10:00 UTC] (reply_delay_s=1) viewer: !help

At ``--speed 0`` the log is read as fast as possible while model-backed skills take real seconds, so the
log clock moves on before a slow reply is sent: a large ``reply_delay_s`` there measures the models'
lag against an unthrottled log, not how late the reply would be live.

``skipped.txt`` (only when a line was skipped) has one line per skipped log line, written during the
replay: ``LINE<TAB>REASON<TAB>EXCERPT``, the excerpt the first 80 characters of the line, control
characters escaped as in the transcript.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.adapters.chatlog import escape_controls
from bot.adapters.replay import ReplayAdapter, TranscriptEntry

log = logging.getLogger("chatcast.report")

WALL_S_SPAN = (
    "from reading the log's first line to the last reply flushed (skills' background work included); "
    "start-up, model loading, the retention purge, the report and shutdown are not counted"
)
"""What ``wall_s`` (and so ``messages_per_s``) measures: ``Runtime.replay`` times ``pump`` and
``finish_pending``."""

SUMMARY_FILE = "summary.json"
"""The replay summary in a report folder; a folder with one is an earlier replay's report."""
SKIPPED_FILE = "skipped.txt"
"""The list of every skipped line, in the report folder (written by the replay adapter)."""
SKIPPED_EXAMPLES = 10
"""Skipped lines listed in ``summary.json``'s ``skipped_examples``."""

# The keys the issue requires in every summary.json (tests check them).
REQUIRED_KEYS: tuple[str, ...] = (
    "lines_read",
    "lines_skipped",
    "messages",
    "distinct_viewers",
    "commands_handled",
    "replies_sent",
    "replies_dropped",
    "skill_errors",
    "messages_per_s",
)


def build_summary(
    adapter: ReplayAdapter,
    stats: dict[str, Any],
    wall_s: float,
    *,
    presence_rows: int | None = None,
    viewers_without_presence: int | None = None,
) -> dict[str, Any]:
    """The summary dict of one replay (keys in the module docstring).

    ``stats`` is ``Runtime.stats()`` (router counters plus ``replies_sent`` / ``replies_dropped``);
    ``wall_s`` in seconds; ``presence_rows`` / ``viewers_without_presence`` as counted by the caller
    (``None``: not checked).
    """
    messages = adapter.messages
    examples = adapter.skipped[:SKIPPED_EXAMPLES]
    return {
        "lines_read": adapter.lines_read,
        "lines_skipped": adapter.lines_skipped,
        "messages": messages,
        "distinct_viewers": len({user for _, user in adapter.viewers}),
        "commands_handled": int(stats.get("commands_handled", 0)),
        "replies_sent": int(stats.get("replies_sent", 0)),
        "replies_dropped": int(stats.get("replies_dropped", 0)),
        "skill_errors": int(stats.get("skill_errors", 0)),
        "skill_timeouts": int(stats.get("skill_timeouts", 0)),
        "storage_errors": int(stats.get("storage_errors", 0)),
        "messages_per_s": round(messages / wall_s, 1) if wall_s > 0 else 0.0,
        "wall_s": round(wall_s, 3),
        "wall_s_span": WALL_S_SPAN,
        "log_start": adapter.first_time.isoformat() if adapter.first_time else None,
        "log_end": adapter.last_time.isoformat() if adapter.last_time else None,
        "presence_rows": presence_rows,
        "viewers_without_presence": viewers_without_presence,
        "skipped_examples": [{"line": s.line_no, "reason": s.reason, "text": s.snippet} for s in examples],
        "skipped_not_listed": adapter.lines_skipped - len(examples),
        "skipped_file": str(adapter.skipped_path) if adapter.lines_skipped and adapter.skipped_path else None,
        "lines_warned": adapter.lines_warned,
        "bytes_not_utf8": adapter.bytes_not_utf8,
        "line_warnings": [
            {"line": w.line_no, "reason": w.reason, "text": w.snippet} for w in adapter.line_warnings
        ],
        "reply_delay_s": _delays(adapter.transcript),
        "router": {k: v for k, v in stats.items() if k not in ("outbox",)},
        "outbox": stats.get("outbox", {}),
    }


def format_transcript(entries: Iterable[TranscriptEntry], bot_name: str = "chatcast") -> str:
    """The transcript text (format in the module docstring)."""
    out = []
    for e in entries:
        who = f"{bot_name} (whisper to {e.whisper_to})" if e.whisper_to else bot_name
        out.append(f"[{_stamp(e.time)}] #{escape_controls(e.channel)} {who}: {escape_controls(e.text)}")
        if e.cause_time is not None:
            out.append(
                f"    in reply to [{_stamp(e.cause_time)}] (reply_delay_s={e.reply_delay_s:g}) "
                f"{escape_controls(e.cause_user)}: {escape_controls(e.cause_text)}"
            )
    return "\n".join(out) + ("\n" if out else "")


def write_report(
    report_dir: Path,
    summary: dict[str, Any],
    transcript: Iterable[TranscriptEntry],
    *,
    bot_name: str = "chatcast",
) -> Path:
    """Write ``summary.json`` and ``transcript.txt`` into ``report_dir`` (created); returns the folder."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8"
    )
    # errors="replace": a lone surrogate that reached a reply must not cost the whole transcript
    (report_dir / "transcript.txt").write_text(
        format_transcript(transcript, bot_name), encoding="utf-8", errors="replace"
    )
    return report_dir


def default_report_dir(data_dir: Path, now: datetime | None = None) -> Path:
    """A new folder ``<data_dir>/reports/replay-YYYYMMDD-HHMMSS`` (suffixed ``-2``, ``-3`` if taken).

    The folder is created here (atomically), so two replays started in the same second never share one.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    base = data_dir / "reports" / f"replay-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")


def _delays(entries: Iterable[TranscriptEntry]) -> dict[str, float]:
    delays = sorted(d for d in (e.reply_delay_s for e in entries) if d is not None)
    if not delays:
        return {}

    def pick(q: float) -> float:
        return round(delays[min(len(delays) - 1, int(q * len(delays)))], 1)

    return {"p50": pick(0.5), "p95": pick(0.95), "max": round(delays[-1], 1)}


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars from engine stats
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
