"""Core tables (component ``core``): channels, viewers, stream sessions and presence, plus viewer-level
functions (``ensure_viewer``, ``delete_viewer_data``, ``viewer_summary``).

Times are stored as ISO-8601 UTC text with second precision (``2024-05-19T15:06:56+00:00``), so text
comparison orders them. Presence functions live in ``storage.watch``.

Example::

    db = Database(":memory:")
    migrate_core(db)
    vid = ensure_viewer(db, Viewer("twitch", "alice", "Alice"))
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from bot.events import Viewer
from storage.db import Database

COMPONENT = "core"

MIGRATIONS: list[str] = [
    # 1: the core tables
    """
    CREATE TABLE channels (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (platform, name)
    );
    CREATE TABLE viewers (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        UNIQUE (platform, user_id)
    );
    CREATE TABLE stream_sessions (
        id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        title TEXT,
        category TEXT
    );
    CREATE INDEX stream_sessions_channel ON stream_sessions (channel_id, started_at);
    CREATE TABLE presence (
        id INTEGER PRIMARY KEY,
        viewer_id INTEGER NOT NULL REFERENCES viewers(id) ON DELETE CASCADE,
        channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        session_id INTEGER REFERENCES stream_sessions(id) ON DELETE SET NULL,
        session_key INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (viewer_id, channel_id, session_key)
    );
    CREATE INDEX presence_last_seen ON presence (last_seen);
    """,
]
"""``presence.session_key`` is ``session_id`` or 0 (no known stream session), so the UNIQUE key works
without NULLs; ``session_id`` keeps the foreign key."""


def migrate_core(db: Database) -> int:
    """Apply pending ``core`` migrations; returns how many ran. Raises ``storage.db.SchemaTooNew``."""
    return db.migrate(COMPONENT, MIGRATIONS)


def iso(when: datetime) -> str:
    """Aware ``datetime`` -> ISO-8601 UTC text, second precision. Naive values are taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def ensure_channel(db: Database, platform: str, name: str) -> int:
    """Row id of channel ``(platform, name)`` (name lower-cased), inserting it when new."""
    row = db.raw.execute(
        "INSERT INTO channels (platform, name) VALUES (?, ?) "
        "ON CONFLICT(platform, name) DO UPDATE SET name = excluded.name RETURNING id",
        [platform, name.lower()],
    ).fetchone()
    return int(row[0])


def ensure_viewer(db: Database, viewer: Viewer) -> int:
    """Row id of ``viewer`` (keyed by platform + platform user id).

    Inserts it when new, else updates its display name.
    """
    row = db.raw.execute(
        "INSERT INTO viewers (platform, user_id, display_name) VALUES (?, ?, ?) "
        "ON CONFLICT(platform, user_id) DO UPDATE SET display_name = excluded.display_name RETURNING id",
        [viewer.platform, viewer.user_id, viewer.display_name],
    ).fetchone()
    return int(row[0])


def find_viewer(db: Database, platform: str, user_id: str) -> int | None:
    """Row id of a viewer, or ``None`` when never stored."""
    row = db.raw.execute(
        "SELECT id FROM viewers WHERE platform = ? AND user_id = ?", [platform, user_id]
    ).fetchone()
    return int(row[0]) if row else None


def chatter_display_name(db: Database, platform: str, channel: str, name: str) -> str | None:
    """The stored display name of a viewer called ``name`` (display name or user id, any case) who has
    been seen in that channel, else ``None``. A scan of the viewers joined to presence: for commands that
    name another viewer (``{touser}``), which cooldowns keep rare."""
    row = db.raw.execute(
        "SELECT v.display_name FROM viewers v JOIN presence p ON p.viewer_id = v.id "
        "JOIN channels c ON c.id = p.channel_id "
        "WHERE v.platform = ? AND c.platform = ? AND c.name = ? "
        "AND (lower(v.display_name) = lower(?) OR lower(v.user_id) = lower(?)) LIMIT 1",
        [platform, platform, channel.lower(), name, name],
    ).fetchone()
    return row[0] if row else None


def delete_viewer_data(db: Database, viewer: Viewer) -> int:
    """Delete every core row about ``viewer`` (presence rows, then the viewer row) in one transaction.

    Skill tables that reference ``viewers(id)`` with ``ON DELETE CASCADE`` go with it; skills delete the
    rest in their own ``delete_user_data``. Returns the number of core rows removed (0 when unknown).
    """
    with db.transaction():
        vid = find_viewer(db, viewer.platform, viewer.user_id)
        if vid is None:
            return 0
        removed = db.raw.execute("DELETE FROM presence WHERE viewer_id = ?", [vid]).rowcount
        removed += db.raw.execute("DELETE FROM viewers WHERE id = ?", [vid]).rowcount
    return removed


def viewer_summary(db: Database, viewer: Viewer) -> dict[str, Any] | None:
    """What the core stores about ``viewer``: ``None`` when nothing, else a dict with ``display_name``,
    ``channels`` (distinct), ``sessions`` (presence rows), ``messages`` (sum), ``first_seen``,
    ``last_seen``."""
    vid = find_viewer(db, viewer.platform, viewer.user_id)
    if vid is None:
        return None
    row = db.raw.execute(
        "SELECT v.display_name, COUNT(DISTINCT p.channel_id), COUNT(p.id), "
        "COALESCE(SUM(p.message_count), 0), "
        "MIN(p.first_seen), MAX(p.last_seen) FROM viewers v LEFT JOIN presence p ON p.viewer_id = v.id "
        "WHERE v.id = ? GROUP BY v.id",
        [vid],
    ).fetchone()
    return {
        "display_name": row[0],
        "channels": int(row[1]),
        "sessions": int(row[2]),
        "messages": int(row[3]),
        "first_seen": row[4],
        "last_seen": row[5],
    }


CORE_TABLES = ("channels", "viewers", "stream_sessions", "presence")


def count_rows(db: Database, table: str) -> int:
    """Number of rows in a core table (``CORE_TABLES``)."""
    if table not in CORE_TABLES:
        raise ValueError(f"not a core table: {table!r}")
    return int(db.raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def purge_older_than(db: Database, cutoff: datetime) -> dict[str, int]:
    """Retention: delete presence rows last seen before ``cutoff``, stream sessions that ended before it,
    and the viewers whose last presence row was purged (skill rows referencing them with
    ``ON DELETE CASCADE`` go too; a viewer still referenced without cascade is kept).

    Returns ``{"presence": n, "stream_sessions": n, "viewers": n}`` rows removed.
    """
    stamp = iso(cutoff)
    with db.transaction():
        stale = [
            r[0]
            for r in db.raw.execute(
                "SELECT DISTINCT viewer_id FROM presence WHERE last_seen < ?", [stamp]
            ).fetchall()
        ]
        presence = db.raw.execute("DELETE FROM presence WHERE last_seen < ?", [stamp]).rowcount
        sessions = db.raw.execute(
            "DELETE FROM stream_sessions WHERE ended_at IS NOT NULL AND ended_at < ?", [stamp]
        ).rowcount
    viewers = 0
    for vid in stale:
        try:
            with db.transaction():
                viewers += db.raw.execute(
                    "DELETE FROM viewers WHERE id = ? "
                    "AND NOT EXISTS (SELECT 1 FROM presence WHERE viewer_id = ?)",
                    [vid, vid],
                ).rowcount
        except sqlite3.IntegrityError:  # a skill row still references the viewer without ON DELETE CASCADE
            continue
    return {"presence": presence, "stream_sessions": sessions, "viewers": viewers}
