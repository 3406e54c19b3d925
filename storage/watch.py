"""Watch history: stream sessions and presence sessions (tables from ``storage.viewers.MIGRATIONS``).

A presence session is one row per (viewer, channel, stream session) with first seen, last seen and the
number of chat messages. ``PresenceRecorder`` buffers sightings in memory and writes them in one
transaction every ``flush_every`` events or ``flush_interval_s`` seconds, so the chat path costs a dict
update, not a disk write. A crash (``kill -9``) loses at most the unflushed buffer; SQLite's WAL keeps
the file consistent (``PRAGMA integrity_check`` passes).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock, SystemClock
from bot.events import Viewer
from storage.db import Database
from storage.viewers import ensure_channel, ensure_viewer, iso

log = logging.getLogger(__name__)


def start_session(
    db: Database,
    platform: str,
    channel: str,
    started_at: datetime,
    *,
    title: str | None = None,
    category: str | None = None,
) -> int:
    """Open a stream session for a channel (closing any still-open one at ``started_at``); returns its id."""
    with db.transaction():
        channel_id = ensure_channel(db, platform, channel)
        db.raw.execute(
            "UPDATE stream_sessions SET ended_at = ? WHERE channel_id = ? AND ended_at IS NULL",
            [iso(started_at), channel_id],
        )
        row = db.raw.execute(
            "INSERT INTO stream_sessions (channel_id, started_at, title, category) "
            "VALUES (?, ?, ?, ?) RETURNING id",
            [channel_id, iso(started_at), title, category],
        ).fetchone()
    return int(row[0])


def end_session(db: Database, session_id: int, ended_at: datetime) -> None:
    """Close a stream session (no-op when already closed or unknown)."""
    with db.transaction():
        db.raw.execute(
            "UPDATE stream_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            [iso(ended_at), session_id],
        )


def open_session(db: Database, platform: str, channel: str) -> int | None:
    """Id of the channel's open stream session, or ``None``."""
    row = db.raw.execute(
        "SELECT s.id FROM stream_sessions s JOIN channels c ON c.id = s.channel_id "
        "WHERE c.platform = ? AND c.name = ? AND s.ended_at IS NULL ORDER BY s.started_at DESC LIMIT 1",
        [platform, channel.lower()],
    ).fetchone()
    return int(row[0]) if row else None


def presence_rows(db: Database, platform: str, channel: str) -> list[dict[str, Any]]:
    """Presence rows of a channel joined with the viewer: ``user_id``, ``display_name``, ``session_id``,
    ``first_seen``, ``last_seen``, ``message_count``; ordered by first seen."""
    cursor = db.raw.execute(
        "SELECT v.user_id, v.display_name, p.session_id, p.first_seen, p.last_seen, p.message_count "
        "FROM presence p JOIN viewers v ON v.id = p.viewer_id JOIN channels c ON c.id = p.channel_id "
        "WHERE c.platform = ? AND c.name = ? ORDER BY p.first_seen, v.user_id",
        [platform, channel.lower()],
    )
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


@dataclass(slots=True)
class _Sighting:
    viewer: Viewer
    session_id: int | None
    first_seen: str
    last_seen: str
    messages: int


_UPSERT = (
    "INSERT INTO presence (viewer_id, channel_id, session_id, session_key, first_seen, last_seen, "
    "message_count) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(viewer_id, channel_id, session_key) DO UPDATE SET "
    "first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen), "
    "message_count = message_count + excluded.message_count"
)


class PresenceRecorder:
    """Buffers presence sightings and writes them in batches (one transaction per flush).

    ``flush_every``: buffered events that trigger a flush (default 500). ``flush_interval_s``: seconds of
    ``clock.monotonic()`` after which the next event triggers a flush (default 2.0); callers with no
    traffic should also call ``flush()`` on a timer. At most ``flush_every`` events (or
    ``flush_interval_s`` seconds of events) are lost by a crash.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        flush_every: int = 500,
        flush_interval_s: float = 2.0,
    ) -> None:
        if flush_every < 1 or flush_interval_s <= 0:
            raise ValueError("flush_every must be >= 1 and flush_interval_s > 0")
        self.db = db
        self.clock = clock or SystemClock()
        self.flush_every = flush_every
        self.flush_interval_s = flush_interval_s
        self._buffer: dict[tuple[str, str, str, int], _Sighting] = {}
        self._pending = 0
        self._last_flush = self.clock.monotonic()
        self._sessions: dict[tuple[str, str], int | None] = {}
        self._viewer_ids: dict[tuple[str, str], int] = {}
        self._channel_ids: dict[tuple[str, str], int] = {}
        self.flushes = 0
        self.events = 0
        self._last_when: datetime | None = None
        self._last_stamp = ""

    def set_session(self, platform: str, channel: str, session_id: int | None) -> None:
        """Sightings in this channel from now on belong to stream session ``session_id``."""
        self._sessions[(platform, channel.lower())] = session_id

    def seen(
        self, platform: str, channel: str, viewer: Viewer, when: datetime, *, message: bool = False
    ) -> None:
        """Record that ``viewer`` was in the channel at ``when``; ``message=True`` counts a chat message."""
        channel = channel.lower()
        session_id = self._sessions.get((platform, channel))
        key = (platform, channel, viewer.user_id, session_id or 0)
        if when == self._last_when:
            stamp = self._last_stamp  # a chat line and its presence event share a time: format once
        else:
            stamp = self._last_stamp = iso(when)
            self._last_when = when
        entry = self._buffer.get(key)
        if entry is None:
            self._buffer[key] = _Sighting(viewer, session_id, stamp, stamp, 1 if message else 0)
        else:
            if stamp < entry.first_seen:
                entry.first_seen = stamp
            if stamp > entry.last_seen:
                entry.last_seen = stamp
            entry.messages += 1 if message else 0
            entry.viewer = viewer
        self._pending += 1
        self.events += 1
        if (
            self._pending >= self.flush_every
            or self.clock.monotonic() - self._last_flush >= self.flush_interval_s
        ):
            self.flush()

    def forget(self, viewer: Viewer) -> None:
        """Drop buffered sightings and cached ids of ``viewer`` (before deleting their rows)."""
        for key in [k for k in self._buffer if k[0] == viewer.platform and k[2] == viewer.user_id]:
            del self._buffer[key]
        self._viewer_ids.pop((viewer.platform, viewer.user_id), None)

    def clear_cache(self) -> None:
        """Forget cached row ids (after a retention purge removed rows)."""
        self._viewer_ids.clear()
        self._channel_ids.clear()

    @property
    def buffered(self) -> int:
        """Distinct (viewer, channel, session) entries waiting to be written."""
        return len(self._buffer)

    def flush(self) -> int:
        """Write the buffer in one transaction; returns the rows upserted. A database error is logged, the
        caches are cleared and the write retried once; if it fails again the batch is dropped."""
        self._last_flush = self.clock.monotonic()
        self._pending = 0
        if not self._buffer:
            return 0
        batch, self._buffer = self._buffer, {}
        for attempt in (1, 2):
            try:
                self._write(batch)
                self.flushes += 1
                return len(batch)
            except sqlite3.Error as exc:
                log.warning("presence flush failed (attempt %d, %d rows): %s", attempt, len(batch), exc)
                self.clear_cache()
        return 0

    def _write(self, batch: dict[tuple[str, str, str, int], _Sighting]) -> None:
        rows = []
        with self.db.transaction():
            for (platform, channel, user_id, session_key), s in batch.items():
                cid = self._channel_ids.get((platform, channel))
                if cid is None:
                    cid = self._channel_ids[(platform, channel)] = ensure_channel(self.db, platform, channel)
                vid = self._viewer_ids.get((s.viewer.platform, user_id))
                if vid is None:
                    vid = self._viewer_ids[(s.viewer.platform, user_id)] = ensure_viewer(self.db, s.viewer)
                rows.append((vid, cid, s.session_id, session_key, s.first_seen, s.last_seen, s.messages))
            self.db.raw.conn.executemany(_UPSERT, rows)
