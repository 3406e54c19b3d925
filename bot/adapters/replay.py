"""The replay adapter: feeds a recorded chat log through the bot as if it were live.

- Source: a file path or a text stream (``sys.stdin`` for ``chatcast replay -``); formats in
  ``bot.adapters.chatlog``.
- Time: drives a ``ManualClock`` from the log's timestamps, so cooldowns, rate limits and vote windows
  follow the log's time. ``speed=1`` also waits in real time between lines, ``speed=2`` twice as fast,
  ``speed=0`` never waits.
- Events: ``StreamStatus(online=True)`` at the first line and ``online=False`` after the last (the log is
  one stream); ``# category: NAME`` (alias ``# game:``) and ``# title: TEXT`` header lines set the
  stream's category and title (in the first status event; later in the log, a status update),
  ``Presence(SEEN)`` the first time a chatter speaks, then the ``ChatMessage``.
- Malformed lines are counted and skipped; the first ``report_first`` are logged with line numbers, the
  first ``MAX_LISTED`` kept in ``skipped``, and every one written to ``skipped_path`` (when set) as it is
  met: line number, reason and an excerpt, control characters escaped (memory stays flat on a log of
  millions of bad lines). No exception from parsing one line ends the replay: anything unexpected skips
  that line the same way.
- A line stamped more than ``JUMP_WARNING`` (30 days) after the latest time so far is kept (logs of
  streams weeks apart are legitimate) but warned about once per jump, with both line numbers
  (``line_warnings``): a typo'd year moves the clock, and the retention purge after the replay with it.
- The clock never goes back: a line stamped at least ``BACKWARD_WARNING`` (1 s) before the latest time so
  far is replayed at that latest time (cooldowns and rate limits never run backwards) and warned about,
  with both line numbers.
- Lines end at ``\\n`` (``\\r\\n`` too; a stray ``\\r`` inside a message does not split it), except in a file
  whose first 64 KiB hold a ``\\r`` and no ``\\n`` (classic Mac OS line endings): lines end at ``\\r`` there.
  A line of a ``\\n`` log holding a ``\\r`` followed by what looks like another log line is warned about.
- ``send`` records every reply with the log time, channel and the message that caused it
  (``transcript``); nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.adapters.base import REPLAY_LIMITS, Adapter
from bot.adapters.chatlog import LogLine, LogLineError, escape_controls, parse_channel, parse_line
from bot.clock import ManualClock
from bot.events import ChatMessage, Event, Presence, PresenceKind, Reply, Role, StreamStatus, Viewer

log = logging.getLogger("chatcast.replay")

DEFAULT_CHANNEL = "replay"
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST = datetime(2005, 1, 1, tzinfo=UTC)
"""Lines stamped before this are skipped as malformed (Twitch, and its chat logs, began in 2011)."""
"""A line stamped later than the wall clock plus this is skipped as malformed (a typo'd year)."""
JUMP_WARNING = timedelta(days=30)
"""A line stamped more than this after the latest message line is warned about (kept, not skipped)."""
BACKWARD_WARNING = timedelta(seconds=1)
"""A line stamped at least this before the latest message line is warned about (kept, replayed at the
latest time: the clock never goes back). Smaller steps back (sub-second jitter of merged logs) are not."""
MAX_WAIT_S = 10.0
"""With ``speed`` > 0, the longest real wait between two lines (seconds); the clock still jumps the whole gap
(a log of two streams a week apart replayed at speed 1 waited a week)."""
TYPO_JUMP = timedelta(days=180)
"""A jump this long in a log is taken for a typo'd date: the retention purge after the replay is skipped."""
MIN_SPEED = 0.1
"""The slowest positive ``speed`` (ten times slower than real time); 0 means no waiting at all."""
MAX_LISTED = 100
"""Skipped lines and warnings kept in ``skipped`` / ``line_warnings`` (all are counted; every skipped line
is written to ``skipped_path``)."""
SNIFF_BYTES = 64 * 1024
"""Bytes of a log file read to tell its line ending (``\\r`` alone: classic Mac OS) and encoding."""
MAX_CAUSES = 100_000
"""Messages remembered for the transcript's "in reply to" (the newest; memory stays flat on huge logs)."""
# the first word after "channel:" is the name (the rest of the line may be a comment, as in the demo log)
_CHANNEL_DIRECTIVE = re.compile(r"^#\s*channel:[ \t]*(\S*)", re.I)
_STATUS_DIRECTIVE = re.compile(r"^#\s*(category|game|title):[ \t]*(.*?)\s*$", re.I | re.S)
_CR_THEN_LINE = re.compile(r"\r(?:\[\d{4}-\d\d-\d\d|\{)")
"""A carriage return followed by the start of a log line: a file with mixed (``\\r``) line endings."""


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One message the bot sent during a replay. ``cause_*`` are empty for unprompted posts."""

    time: datetime
    channel: str
    text: str
    cause_time: datetime | None = None
    cause_user: str = ""
    cause_text: str = ""
    whisper_to: str | None = None

    @property
    def reply_delay_s(self) -> float | None:
        """Log seconds from the causing message to the send (``None`` for unprompted posts). At
        ``--speed 0`` the log runs ahead of model-backed skills, so this can be minutes."""
        if self.cause_time is None:
            return None
        return max(0.0, (self.time - self.cause_time).total_seconds())


@dataclass(slots=True)
class SkippedLine:
    """A malformed line: 1-based ``line_no``, ``reason``, and the start of the line."""

    line_no: int
    reason: str
    snippet: str


@dataclass(slots=True)
class LineWarning:
    """A line that was replayed but looks wrong (a clock jump): 1-based ``line_no``, ``reason`` (a whole
    sentence naming the lines), and the start of the line."""

    line_no: int
    reason: str
    snippet: str


_ARCHIVE_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz",
                  b"(\xb5/\xfd": "zstd", b"7z\xbc\xaf\x27\x1c": "7z"}
"""File signatures of compressed archives (their first bytes), from each format's specification."""


def archive_kind(head: bytes) -> str | None:
    """``"a gzip"``, ``"an xz"``... when ``head`` (a file's first bytes) is an archive's signature."""
    kind = next((kind for magic, kind in _ARCHIVE_MAGIC.items() if head.startswith(magic)), None)
    return None if kind is None else f"{'an' if kind == 'xz' else 'a'} {kind}"


_BAD_BYTE = re.compile("[\udc80-\udcff]+")


def _errors(encoding: str) -> str:
    """The decoding error handler: UTF-8 keeps undecodable bytes as lone surrogates (U+DC80-U+DCFF) so
    ``_mark_bad_bytes`` can count them per line; UTF-16 replaces them (its bad units may be < 0x80)."""
    return "surrogateescape" if encoding == "utf-8" else "replace"


def _mark_bad_bytes(raw: str) -> tuple[str, int]:
    """``raw`` with each byte ``surrogateescape`` kept replaced by U+FFFD, and how many there were."""
    count = 0

    def one(m: re.Match[str]) -> str:
        nonlocal count
        count += len(m.group())
        return "\ufffd" * len(m.group())

    return _BAD_BYTE.sub(one, raw), count


class ReplayAdapter(Adapter):
    """Replays a chat log (see module docstring).

    ``source``: path or text stream. ``channel``: the channel every line is replayed into, a JSON line's
    own ``"channel"`` too (the log's broadcaster: lines by that user get the broadcaster role); ``None``:
    a line's own channel, else a ``# channel: NAME`` comment before the first message, else ``"replay"``,
    a name no chatter is the broadcaster of (a chatter called ``replay`` must not manage the channel).
    Lines starting with ``#`` are comments. ``skipped_path``: a file every skipped line is written to
    (set before ``listen``, which removes an old one; created at the first skipped line; ``None``: none is
    written). ``platform``: platform name used in events (default ``"replay"``, so replayed viewers never
    mix with live ones). ``speed``: 0 (never wait) or at least ``MIN_SPEED`` (0.1, ten times slower than
    real time); raises ``ValueError`` otherwise (negative, NaN, 1e-300), and when ``channel`` is not a name
    as ``bot.adapters.chatlog.parse_channel`` takes it. ``sleep`` is injectable for tests.
    """

    limits = REPLAY_LIMITS

    def __init__(
        self,
        source: str | Path | TextIO,
        *,
        clock: ManualClock,
        channel: str | None = None,
        platform: str = "replay",
        speed: float = 0.0,
        report_first: int = 5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        if not (speed == 0 or speed >= MIN_SPEED):  # NaN too
            raise ValueError(
                f"speed must be 0 (as fast as possible) or at least {MIN_SPEED:g} ({1 / MIN_SPEED:g} times "
                f"slower than real time), got {speed:g}"
            )
        if channel is not None:
            channel = parse_channel(channel, "channel")
        self.source = source
        self.clock = clock
        # awaited before the clock jumps to a later line's time (the runtime sends held-back replies)
        self.before_clock: Callable[[datetime], Awaitable[None]] | None = None
        self.channel = (channel or DEFAULT_CHANNEL).lower()
        self._channel_fixed = channel is not None
        self._channel_named = channel is not None  # given or from the log: its user is the broadcaster
        self.category: str | None = None  # from '# category: NAME' (fills {game} in FAQ answers)
        self.title: str | None = None  # from '# title: TEXT'
        self.platform = platform
        self.speed = speed
        self.report_first = report_first
        self._sleep = sleep
        self.lines_read = 0
        self.lines_skipped = 0
        self.messages = 0
        self.skipped: list[SkippedLine] = []
        self.skipped_path: Path | None = None
        self._skipped_out: TextIO | None = None
        self.lines_warned = 0
        self.bytes_not_utf8 = 0  # undecodable bytes of a UTF-8 log, each replayed as U+FFFD
        self.largest_jump = timedelta(0)  # the longest gap between two message lines
        self.line_warnings: list[LineWarning] = []
        self.viewers: set[tuple[str, str]] = set()  # (channel, user_id)
        self.transcript: list[TranscriptEntry] = []
        self.first_time: datetime | None = None
        self.last_time: datetime | None = None
        self.bytes_total: int | None = None
        self.bytes_read = 0  # bytes of the file read so far, in its own encoding (for progress bars)
        self._codec = "utf-8"  # how the source's bytes are counted
        self._causes: dict[str, tuple[datetime, str, str]] = {}
        self._closed = False
        if isinstance(source, str | Path) and str(source) != "-":
            try:
                self.bytes_total = Path(source).stat().st_size
            except OSError:
                self.bytes_total = None

    async def connect(self) -> None:
        """Check the source can be opened. Raises ``ConnectionError`` naming the file otherwise."""
        if isinstance(self.source, str | Path) and str(self.source) != "-":
            path = Path(self.source)
            if not path.is_file():
                raise ConnectionError(f"{path}: chat log not found")

    async def listen(self) -> AsyncIterator[Event]:
        """Yield the log's events in order (see module docstring); ends at the end of the log."""
        if self.skipped_path is not None:  # an old replay's list in a report folder given twice
            try:
                self.skipped_path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("%s: cannot remove the old list of skipped lines: %s", self.skipped_path, exc)
        stream, owned = await self._open()
        first: datetime | None = None
        last: datetime | None = None
        seen_channels: set[str] = set()
        merged = False  # a line's own channel replaced by --channel was logged
        latest: tuple[datetime, int] | None = None  # the latest message time so far and its line number
        horizon = datetime.now(UTC) + FUTURE_TOLERANCE
        try:
            line_no = 0
            while not self._closed:
                raw = await self._readline(stream)
                if not raw:
                    if self.bytes_total is not None:
                        self.bytes_read = self.bytes_total  # the end: 100%, whatever the encoding
                    break
                line_no += 1
                self._count_bytes(raw, line_no)
                raw, bad = _mark_bad_bytes(raw)
                if bad:  # a Latin-1 log became U+FFFD with no word said
                    self.bytes_not_utf8 += bad
                    self._warn(line_no, f"line {line_no} holds {bad} byte(s) that are not UTF-8, shown as "
                               "\ufffd (a Latin-1 or Windows-1252 log? convert it first: iconv -f cp1252 "
                               "-t utf-8)", raw)
                if line_no == 1:
                    raw = raw.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not part of the line
                if not raw.strip():
                    continue  # blank lines are not log lines: neither read nor skipped
                if raw.startswith("#"):
                    directive = _CHANNEL_DIRECTIVE.match(raw)
                    if directive and not self._channel_fixed and self.messages == 0:
                        try:  # the rule --channel and a JSON line's "channel" follow ("my-chan" was "my")
                            self.channel = parse_channel(directive.group(1), "# channel:").lower()
                            self._channel_named = True
                        except ValueError as exc:
                            self._warn(line_no, f"line {line_no}: {exc}; the channel stays {self.channel!r}",
                                       raw)
                    status = _STATUS_DIRECTIVE.match(raw)
                    if status and status.group(2):
                        key, value = status.group(1).lower(), status.group(2)
                        if key == "title":
                            self.title = value
                        else:
                            self.category = value
                        for seen in sorted(seen_channels):  # already live: a status update
                            yield StreamStatus(
                                self.platform, seen, True, self.clock.now(),
                                title=value if key == "title" else None,
                                category=None if key == "title" else value,
                            )
                    continue  # comments are not log lines either
                self.lines_read += 1
                try:
                    parsed = parse_line(raw)
                except LogLineError as exc:
                    self._skip(line_no, str(exc), raw)
                    continue
                except (ValueError, OverflowError) as exc:
                    self._skip(line_no, f"bad value: {exc}", raw)
                    continue
                except Exception as exc:  # noqa: BLE001 - one line must never end the replay (no report)
                    self._skip(line_no, f"unreadable line: {type(exc).__name__}: {exc}"[:200], raw)
                    continue
                if parsed is None:
                    continue
                when = parsed.timestamp
                if when > horizon:  # a typo'd year would move the clock (and the retention purge) decades on
                    self._skip(line_no, f"timestamp {when:%Y-%m-%d %H:%M:%S} is in the future", raw)
                    continue
                if when < EARLIEST:  # 1653, or Unix time 0: a typo, not a chat log
                    self._skip(line_no, f"timestamp {when:%Y-%m-%d %H:%M:%S} is before {EARLIEST:%Y}", raw)
                    continue
                if "\r" in raw.rstrip("\r\n") and _CR_THEN_LINE.search(raw):
                    self._warn(line_no, f"line {line_no} holds a carriage return followed by what looks like "
                               "another log line (mixed \\r line endings?): replayed as one message", raw)
                if latest is not None and when - latest[0] > JUMP_WARNING:  # kept: streams weeks apart
                    days = (when - latest[0]).days
                    self.largest_jump = max(self.largest_jump, when - latest[0])
                    self._warn(line_no, f"line {line_no} is {days} days after line {latest[1]} "
                               "(a typo'd date?)", raw)
                elif latest is not None and latest[0] - when >= BACKWARD_WARNING:
                    back, ahead = _span(latest[0] - when), latest[1]
                    self._warn(line_no, f"line {line_no} is stamped {back} before line {ahead}: replayed at "
                               f"line {ahead}'s time (the clock never goes back)", raw)
                if latest is None or when >= latest[0]:
                    latest = (when, line_no)
                if last is not None and self.speed > 0 and when > last:
                    # a quiet gap (or a jump to the next stream days later) waits at most MAX_WAIT_S
                    await self._sleep(min(MAX_WAIT_S, (when - last).total_seconds() / self.speed))
                if first is None:
                    begin = getattr(self.clock, "begin", None)  # start at the log's first time, even 2022
                    (begin or self.clock.set)(when)
                else:
                    if self.before_clock is not None and when > self.clock.now():
                        await self.before_clock(when)  # e.g. send what the rate limit allowed meanwhile
                    self.clock.set(when)
                now = self.clock.now()
                last = max(last, when) if last is not None else when
                if self._channel_fixed:  # --channel wins over the line's own "channel", as over '# channel:'
                    if parsed.channel and parsed.channel.lower() != self.channel and not merged:
                        merged = True
                        log.info("line %d names channel %r: replayed into #%s, as every line (--channel)",
                                 line_no, parsed.channel, self.channel)
                    channel = self.channel
                else:
                    channel = (parsed.channel or self.channel).lower()
                if first is None:
                    first = self.first_time = when
                self.last_time = last
                if channel not in seen_channels:
                    seen_channels.add(channel)
                    yield StreamStatus(
                        self.platform, channel, True, now, title=self.title, category=self.category
                    )
                viewer = self._viewer(parsed, channel)
                key = (channel, viewer.user_id)
                if key not in self.viewers:
                    self.viewers.add(key)
                    yield Presence(self.platform, channel, viewer, PresenceKind.SEEN, now)
                message_id = parsed.message_id or f"L{line_no}"
                self._causes[message_id] = (now, viewer.display_name, parsed.text)
                if len(self._causes) > MAX_CAUSES:  # bounded: replies answer recent messages
                    del self._causes[next(iter(self._causes))]
                self.messages += 1
                yield ChatMessage(self.platform, channel, message_id, viewer, parsed.text, now)
                if self.speed == 0 and self.messages % 64 == 0:
                    await asyncio.sleep(0)  # let scheduled handlers and the outbox run
            for channel in sorted(seen_channels):
                yield StreamStatus(self.platform, channel, False, self.clock.now())
        finally:
            if owned:
                stream.close()
            if self._skipped_out is not None:
                self._close_skipped()

    async def send(self, reply: Reply) -> None:
        """Record ``reply`` in the transcript at the log's current time."""
        cause = self._causes.get(reply.in_reply_to or "")
        self.transcript.append(
            TranscriptEntry(
                time=self.clock.now(),
                channel=reply.channel,
                text=reply.text,
                cause_time=cause[0] if cause else None,
                cause_user=cause[1] if cause else "",
                cause_text=cause[2] if cause else "",
                whisper_to=reply.whisper_to,
            )
        )

    async def close(self) -> None:
        """Stop reading at the next line."""
        self._closed = True

    def is_privileged(self, channel: str) -> bool:
        """A replayed bot is never moderator: Twitch's 20 / 30 s limit applies."""
        return False

    # ---- internals -------------------------------------------------------------------------------

    async def _open(self) -> tuple[TextIO, bool]:
        """The log as text: UTF-8 (UTF-16 when it starts with a UTF-16 byte-order mark, as PowerShell
        writes), undecodable bytes as U+FFFD, lines ended by ``\\n`` only (a lone ``\\r`` inside a message
        does not split it, so line numbers match editors), or by ``\\r`` only when the first
        ``SNIFF_BYTES`` hold a ``\\r`` and no ``\\n`` (classic Mac OS). A text stream is read as it is."""
        if isinstance(self.source, str | Path):
            if str(self.source) == "-":
                import sys

                buffer = getattr(sys.stdin, "buffer", None)
                if buffer is None:  # already text (a test's StringIO)
                    return sys.stdin, False
                peek = getattr(buffer, "peek", None)  # what is buffered, not consumed
                head = await asyncio.to_thread(peek, SNIFF_BYTES) if peek is not None else b""
                packed = archive_kind(head)
                if packed is not None:  # "cat log.gz | chatcast replay -" got a Latin-1 hint (trial 20)
                    raise ConnectionError(f"-: {packed} stream, not a chat log: unpack it first (zcat)")
                encoding, newline = self._sniff(head)  # a UTF-16 log piped in was read as UTF-8
                errors = _errors(encoding)
                wrapper = io.TextIOWrapper(buffer, encoding=encoding, errors=errors, newline=newline)
                return wrapper, False
            with open(self.source, "rb") as probe:
                head = probe.read(SNIFF_BYTES)
            encoding, newline = self._sniff(head)
            return open(self.source, encoding=encoding, errors=_errors(encoding), newline=newline), True  # noqa: SIM115
        return self.source, False

    def _sniff(self, head: bytes) -> tuple[str, str | None]:
        """(encoding, newline) for a log starting with ``head``: UTF-16 after its byte-order mark (which
        sets ``_codec`` for the progress count), else UTF-8; the line end as ``_line_end`` tells it."""
        encoding = "utf-8"
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            encoding, self._codec = "utf-16", "utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be"
        return encoding, _line_end(head.decode(encoding, "replace"))

    def _count_bytes(self, raw: str, line_no: int) -> None:
        """Add ``raw``'s size in the file's encoding to ``bytes_read`` (at most ``bytes_total``)."""
        size = len(raw.encode(self._codec, "replace"))
        if line_no == 1 and self._codec != "utf-8":
            size += 2  # the UTF-16 byte-order mark, which the decoder removed
        self.bytes_read += size
        if self.bytes_total is not None:
            self.bytes_read = min(self.bytes_read, self.bytes_total)

    async def _readline(self, stream: TextIO) -> str:
        if isinstance(stream, io.StringIO) or getattr(stream, "name", None) not in (None, "<stdin>", 0):
            return stream.readline()  # a regular file: reading is fast and never blocks for long
        return await asyncio.to_thread(stream.readline)

    def _skip(self, line_no: int, reason: str, raw: str) -> None:
        self.lines_skipped += 1
        if "\x00" in raw:  # every line skipped with "\x00[\x002\x000..." and no hint what was wrong
            reason += " (NUL bytes: a UTF-16 or UTF-32 file without a byte-order mark? save it as UTF-8)"
        snippet = raw.rstrip("\r\n")[:80]
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append(SkippedLine(line_no, reason, snippet))
        if self.lines_skipped <= self.report_first:
            log.warning("line %d skipped: %s: %r", line_no, reason, snippet)
        elif self.lines_skipped == self.report_first + 1:
            where = f"every one is listed in {self.skipped_path}" if self.skipped_path else "all are counted"
            log.warning("more lines skipped: not logged here; %s", where)
        if self.skipped_path is not None:
            self._write_skipped(self.skipped_path, line_no, reason, snippet)

    def _write_skipped(self, path: Path, line_no: int, reason: str, snippet: str) -> None:
        """One line of ``path``: ``LINE<TAB>REASON<TAB>EXCERPT``, control characters escaped (the file is
        opened at the first). A write that fails (disk full) is logged once and ends the file, never the
        replay."""
        try:
            if self._skipped_out is None:
                self._skipped_out = open(path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
                self._skipped_out.write("# line\treason\tstart of the line (control characters escaped)\n")
            self._skipped_out.write(f"{line_no}\t{escape_controls(reason)}\t{escape_controls(snippet)}\n")
        except OSError as exc:
            log.warning("%s: cannot write the skipped lines: %s", path, exc)
            self._close_skipped()
            self.skipped_path = None

    def _close_skipped(self) -> None:
        out, self._skipped_out = self._skipped_out, None
        if out is not None:
            try:
                out.close()
            except OSError as exc:
                log.warning("%s: cannot write the skipped lines: %s", self.skipped_path, exc)

    def _warn(self, line_no: int, reason: str, raw: str) -> None:
        self.lines_warned += 1
        snippet = raw.rstrip("\r\n")[:80]
        if len(self.line_warnings) < MAX_LISTED:
            self.line_warnings.append(LineWarning(line_no, reason, snippet))
        if self.lines_warned <= self.report_first:
            log.warning("%s: %r", reason, snippet)
        elif self.lines_warned == self.report_first + 1:
            log.warning("more lines warned about: not logged here (counted in lines_warned)")

    def _viewer(self, parsed: LogLine, channel: str) -> Viewer:
        user_id = (parsed.user_id or parsed.user).lower()
        roles = set(parsed.roles) or {Role.EVERYONE}
        # the default channel name ("replay") is nobody's: a chatter called "replay" is no broadcaster
        if user_id == channel and (parsed.channel is not None or self._channel_named):
            roles.add(Role.BROADCASTER)
        return Viewer(self.platform, user_id, parsed.user, frozenset(roles))


def _line_end(head: str) -> str:
    """The ``newline`` to read a log with, from its first characters: ``"\\r"`` when they hold a ``\\r``
    and no ``\\n`` (classic Mac OS line endings), else ``"\\n"`` (``\\r\\n`` included)."""
    return "\r" if "\r" in head and "\n" not in head else "\n"


def _span(gap: timedelta) -> str:
    """``gap`` for a warning: ``"730 days"`` from a day on, else ``"1:00:00"`` (whole seconds)."""
    return f"{gap.days} days" if gap.days else str(timedelta(seconds=int(gap.total_seconds())))
