"""Recommendation tables (component ``recommend``): catalog items, explicit signals, pins/exclusions,
category spans and the per-channel switch; plus the watch-history read the recommender needs.

Viewers are referenced by the core ``viewers(id)`` with ``ON DELETE CASCADE``, so the core's
``delete_viewer_data`` also removes their signals; :func:`delete_viewer` removes them explicitly too.
Times are ISO-8601 UTC text (``storage.viewers.iso``).

Example::

    db = Database(":memory:"); migrate_core(db); db.migrate("recommend", MIGRATIONS)
    upsert_item(db, CatalogRow("twitch", "chan", "vod:42", "vod", "Speedrun night", "speedrun", "", ""))
    add_signal(db, viewer, "twitch", "chan", "vod:42", "like", when)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.events import Viewer
from storage.db import Database
from storage.viewers import ensure_viewer, find_viewer, iso

COMPONENT = "recommend"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE rec_items (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        item_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT 'config',
        added_at TEXT NOT NULL,
        UNIQUE (platform, channel, item_key)
    );
    CREATE TABLE rec_signals (
        id INTEGER PRIMARY KEY,
        viewer_id INTEGER NOT NULL REFERENCES viewers(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        item_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX rec_signals_channel ON rec_signals (platform, channel, at);
    CREATE INDEX rec_signals_viewer ON rec_signals (viewer_id);
    CREATE TABLE rec_overrides (
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        item_key TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('pin', 'exclude')),
        at TEXT NOT NULL,
        PRIMARY KEY (platform, channel, item_key)
    );
    CREATE TABLE rec_category_spans (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        category TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT
    );
    CREATE INDEX rec_category_spans_channel ON rec_category_spans (platform, channel, started_at);
    CREATE TABLE rec_channel_state (
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (platform, channel)
    );
    """,
]

SignalKind = Literal["like", "watched"]


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One recommendable item of a channel. ``item_key`` is ``<kind>:<id>`` (``category:minecraft``)."""

    platform: str
    channel: str
    item_key: str
    kind: str
    title: str
    tags: str = ""
    description: str = ""
    link: str = ""
    source: str = "config"
    added_at: str = ""


def migrate(db: Database) -> int:
    """Apply pending ``recommend`` migrations (the core's must have run first)."""
    return db.migrate(COMPONENT, MIGRATIONS)


def upsert_item(db: Database, item: CatalogRow, when: datetime | None = None) -> None:
    """Insert or update a catalog item; ``added_at`` keeps its first value unless ``item.added_at`` is set."""
    added = item.added_at or (iso(when) if when else "1970-01-01T00:00:00+00:00")
    with db.transaction():
        db.raw.execute(
            "INSERT INTO rec_items (platform, channel, item_key, kind, title, tags, description, link, "
            "source, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(platform, channel, item_key) DO UPDATE "
            "SET kind = excluded.kind, title = excluded.title, tags = excluded.tags, "
            "description = excluded.description, link = excluded.link, source = excluded.source, "
            "added_at = CASE WHEN ? != '' THEN excluded.added_at ELSE rec_items.added_at END",
            [
                item.platform,
                item.channel.lower(),
                item.item_key,
                item.kind,
                item.title,
                item.tags,
                item.description,
                item.link,
                item.source,
                added,
                item.added_at,
            ],
        )


def catalog(db: Database, platform: str, channel: str) -> list[CatalogRow]:
    """Every catalog item of a channel, ordered by ``item_key``."""
    rows = db.raw.execute(
        "SELECT platform, channel, item_key, kind, title, tags, description, link, source, added_at "
        "FROM rec_items WHERE platform = ? AND channel = ? ORDER BY item_key",
        [platform, channel.lower()],
    ).fetchall()
    return [CatalogRow(*r) for r in rows]


def add_signal(
    db: Database, viewer: Viewer, platform: str, channel: str, item_key: str, kind: SignalKind, when: datetime
) -> bool:
    """Record an explicit signal (``like`` / ``watched``) of ``viewer`` for ``item_key``.

    Idempotent: a viewer holds at most one signal of each kind per item. Saying it again only moves the
    stored time forward to ``when`` (it counts as recent again) and returns ``False``; a new signal returns
    ``True``. (Databases written before this rule may hold repeats: :func:`signals` and
    :func:`count_signals` collapse them, and a repeat refreshes every copy.)"""
    if kind not in ("like", "watched"):
        raise ValueError(f"signal kind must be 'like' or 'watched', got {kind!r}")
    with db.transaction():
        vid = ensure_viewer(db, viewer)
        args = [vid, platform, channel.lower(), item_key, kind]
        refreshed = db.raw.execute(  # a repeat: one statement finds and refreshes it (every copy)
            "UPDATE rec_signals SET at = MAX(at, ?) WHERE viewer_id = ? AND platform = ? AND channel = ? "
            "AND item_key = ? AND kind = ?",
            [iso(when), *args],
        ).rowcount
        if refreshed:
            return False
        db.raw.execute(
            "INSERT INTO rec_signals (viewer_id, platform, channel, item_key, kind, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [*args, iso(when)],
        )
        return True


def signals(
    db: Database, platform: str, channel: str, user_id: str | None = None
) -> list[tuple[str, str, str, str]]:
    """``(user_id, item_key, kind, at)`` of every explicit signal in a channel (of one viewer when
    ``user_id`` is given), oldest first: one per viewer, item and kind (repeats stored by older versions
    are collapsed here, at their latest time), so a repeated ``!like`` never counts twice."""
    sql = (
        "SELECT v.user_id, s.item_key, s.kind, MAX(s.at) AS latest FROM rec_signals s "
        "JOIN viewers v ON v.id = s.viewer_id WHERE s.platform = ? AND s.channel = ?"
    )
    args: list = [platform, channel.lower()]
    if user_id is not None:
        sql += " AND v.platform = ? AND v.user_id = ?"
        args += [platform, user_id]
    sql += " GROUP BY s.viewer_id, s.item_key, s.kind ORDER BY latest, MIN(s.id)"
    return [tuple(r) for r in db.raw.execute(sql, args).fetchall()]


def signalled_items(db: Database, platform: str, channel: str, item_keys: list[str]) -> set[str]:
    """The ``item_keys`` that some viewer of the channel holds a ``like`` / ``watched`` signal for."""
    if not item_keys:
        return set()
    marks = ", ".join("?" * len(item_keys))
    return {r[0] for r in db.raw.execute(
        "SELECT DISTINCT item_key FROM rec_signals WHERE platform = ? AND channel = ? "
        f"AND item_key IN ({marks})",
        [platform, channel.lower(), *item_keys],
    ).fetchall()}


def open_category_span(
    db: Database, platform: str, channel: str, category: str | None, when: datetime
) -> None:
    """Close the channel's open span at ``when`` and, when ``category`` is given, open a new one."""
    with db.transaction():
        db.raw.execute(
            "UPDATE rec_category_spans SET ended_at = ? "
            "WHERE platform = ? AND channel = ? AND ended_at IS NULL",
            [iso(when), platform, channel.lower()],
        )
        if category:
            db.raw.execute(
                "INSERT INTO rec_category_spans (platform, channel, category, started_at) "
                "VALUES (?, ?, ?, ?)",
                [platform, channel.lower(), category, iso(when)],
            )


def category_spans(db: Database, platform: str, channel: str) -> list[tuple[str, str, str | None]]:
    """``(category, started_at, ended_at or None)`` of a channel, oldest first."""
    return [
        tuple(r)
        for r in db.raw.execute(
            "SELECT category, started_at, ended_at FROM rec_category_spans "
            "WHERE platform = ? AND channel = ? "
            "ORDER BY started_at, id",
            [platform, channel.lower()],
        ).fetchall()
    ]


def latest_span(db: Database, platform: str, channel: str) -> tuple[str, str, str | None] | None:
    """The channel's most recent ``(category, started_at, ended_at or None)`` (the last of
    ``category_spans``), or ``None`` when it has none; one indexed row, for the per-query paths."""
    row = db.raw.execute(
        "SELECT category, started_at, ended_at FROM rec_category_spans "
        "WHERE platform = ? AND channel = ? ORDER BY started_at DESC, id DESC LIMIT 1",
        [platform, channel.lower()],
    ).fetchone()
    return tuple(row) if row else None


def watch_rows(
    db: Database, platform: str, channel: str, user_id: str | None = None
) -> list[tuple[str, str, str, int, str | None]]:
    """Presence rows of a channel (of one viewer when ``user_id`` is given) with the category the stream
    session started in (core tables): ``(user_id, first_seen, last_seen, message_count, session_category
    or None)``, oldest first."""
    sql = (
        "SELECT v.user_id, p.first_seen, p.last_seen, p.message_count, s.category FROM presence p "
        "JOIN viewers v ON v.id = p.viewer_id JOIN channels c ON c.id = p.channel_id "
        "LEFT JOIN stream_sessions s ON s.id = p.session_id WHERE c.platform = ? AND c.name = ?"
    )
    args: list = [platform, channel.lower()]
    if user_id is not None:
        sql += " AND v.platform = ? AND v.user_id = ?"
        args += [platform, user_id]
    return [tuple(r) for r in db.raw.execute(sql + " ORDER BY p.first_seen, v.user_id", args).fetchall()]


def activity(db: Database, platform: str, channel: str) -> int:
    """Explicit signals plus presence rows of a channel: a cheap count whose growth tells the skill its
    model has new data to learn from (``RecommendSkill.model_for``)."""
    sig = db.raw.execute(
        "SELECT COUNT(*) FROM rec_signals WHERE platform = ? AND channel = ?", [platform, channel.lower()]
    ).fetchone()[0]
    pres = db.raw.execute(
        "SELECT COUNT(*) FROM presence p JOIN channels c ON c.id = p.channel_id "
        "WHERE c.platform = ? AND c.name = ?",
        [platform, channel.lower()],
    ).fetchone()[0]
    return int(sig) + int(pres)


def set_override(
    db: Database,
    platform: str,
    channel: str,
    item_key: str,
    action: Literal["pin", "exclude"] | None,
    when: datetime,
) -> None:
    """Pin or exclude an item in a channel; ``action=None`` clears it."""
    with db.transaction():
        if action is None:
            db.raw.execute(
                "DELETE FROM rec_overrides WHERE platform = ? AND channel = ? AND item_key = ?",
                [platform, channel.lower(), item_key],
            )
            return
        if action not in ("pin", "exclude"):
            raise ValueError(f"action must be 'pin', 'exclude' or None, got {action!r}")
        db.raw.execute(
            "INSERT INTO rec_overrides (platform, channel, item_key, action, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(platform, channel, item_key) DO UPDATE "
            "SET action = excluded.action, at = excluded.at",
            [platform, channel.lower(), item_key, action, iso(when)],
        )


def overrides(db: Database, platform: str, channel: str) -> dict[str, str]:
    """``item_key -> "pin" | "exclude"`` for a channel."""
    return dict(
        db.raw.execute(
            "SELECT item_key, action FROM rec_overrides WHERE platform = ? AND channel = ?",
            [platform, channel.lower()],
        ).fetchall()
    )


def set_channel_enabled(db: Database, platform: str, channel: str, enabled: bool) -> None:
    """Turn recommendations on/off for a channel (on top of the config's ``enabled``)."""
    with db.transaction():
        db.raw.execute(
            "INSERT INTO rec_channel_state (platform, channel, enabled) VALUES (?, ?, ?) "
            "ON CONFLICT(platform, channel) DO UPDATE SET enabled = excluded.enabled",
            [platform, channel.lower(), int(enabled)],
        )


def channel_enabled(db: Database, platform: str, channel: str) -> bool:
    """False only when a moderator switched the channel off."""
    row = db.raw.execute(
        "SELECT enabled FROM rec_channel_state WHERE platform = ? AND channel = ?",
        [platform, channel.lower()],
    ).fetchone()
    return True if row is None else bool(row[0])


def delete_viewer(db: Database, viewer: Viewer) -> int:
    """Delete every explicit signal of ``viewer``; returns rows removed (0 when unknown)."""
    with db.transaction():
        vid = find_viewer(db, viewer.platform, viewer.user_id)
        if vid is None:
            return 0
        return db.raw.execute("DELETE FROM rec_signals WHERE viewer_id = ?", [vid]).rowcount


def count_signals(db: Database, viewer: Viewer) -> int:
    """Number of explicit signals stored for ``viewer``: one per channel, item and kind (repeats stored by
    older versions count once, as :func:`signals` reads them)."""
    vid = find_viewer(db, viewer.platform, viewer.user_id)
    if vid is None:
        return 0
    return int(db.raw.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM rec_signals WHERE viewer_id = ? "
        "GROUP BY platform, channel, item_key, kind)",
        [vid],
    ).fetchone()[0])


def purge_signals_older_than(db: Database, cutoff: datetime) -> int:
    """Retention: delete explicit signals recorded before ``cutoff``; returns rows removed."""
    with db.transaction():
        return db.raw.execute("DELETE FROM rec_signals WHERE at < ?", [iso(cutoff)]).rowcount
