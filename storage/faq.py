"""FAQ tables (component ``faq``): entries moderators add with ``!faq add`` and config entries they hid
with ``!faq remove``. Config entries themselves live in the config file, not here.

Example::

    db.migrate("faq", MIGRATIONS)
    add_entry(db, "twitch", "chan", "discord", ["discord link?"], "discord.gg/x", [], created_by="mod1")
    [row.entry_id for row in channel_entries(db, "twitch", "chan")]  # ["discord"]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Database, clear_creator, count_created

COMPONENT = "faq"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE faq_entries (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        questions TEXT NOT NULL,  -- JSON list of strings
        answer TEXT NOT NULL,
        keywords TEXT NOT NULL DEFAULT '[]',
        created_by TEXT,          -- platform user id of the moderator; NULL after !forgetme
        created_at TEXT NOT NULL,
        UNIQUE (platform, channel, entry_id)
    );
    CREATE TABLE faq_hidden (
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        PRIMARY KEY (platform, channel, entry_id)
    );
    """
]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of ``faq_entries``."""

    entry_id: str
    questions: list[str]
    answer: str
    keywords: list[str]
    created_by: str | None


def add_entry(
    db: Database,
    platform: str,
    channel: str,
    entry_id: str,
    questions: list[str],
    answer: str,
    keywords: list[str],
    *,
    created_by: str | None,
) -> None:
    """Insert an entry. Raises ``sqlite3.IntegrityError`` when ``entry_id`` exists in that channel."""
    with db.transaction() as raw:
        raw.execute(
            "INSERT INTO faq_entries (platform, channel, entry_id, questions, answer, keywords, created_by, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                platform,
                channel,
                entry_id,
                json.dumps(questions),
                answer,
                json.dumps(keywords),
                created_by,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ],
        )
        raw.execute(
            "DELETE FROM faq_hidden WHERE platform = ? AND channel = ? AND entry_id = ?",
            [platform, channel, entry_id],
        )


def channel_entries(db: Database, platform: str, channel: str) -> list[StoredEntry]:
    """Entries added in a channel, oldest first."""
    rows = db.raw.execute(
        "SELECT entry_id, questions, answer, keywords, created_by FROM faq_entries "
        "WHERE platform = ? AND channel = ? ORDER BY id",
        [platform, channel],
    ).fetchall()
    return [StoredEntry(r[0], json.loads(r[1]), r[2], json.loads(r[3]), r[4]) for r in rows]


def _delete(db: Database, table: str, platform: str, channel: str, entry_id: str) -> bool:
    """Delete one channel's row of ``entry_id`` from ``table`` (one of ours); whether there was one."""
    with db.transaction() as raw:
        cur = raw.execute(
            f"DELETE FROM {table} WHERE platform = ? AND channel = ? AND entry_id = ?",  # noqa: S608
            [platform, channel, entry_id],
        )
    return cur.rowcount > 0


def remove_entry(db: Database, platform: str, channel: str, entry_id: str) -> bool:
    """Delete an added entry; returns whether one was deleted."""
    return _delete(db, "faq_entries", platform, channel, entry_id)


def hide_entry(db: Database, platform: str, channel: str, entry_id: str) -> None:
    """Hide a config entry in one channel (``!faq remove`` of an entry that comes from the config)."""
    with db.transaction() as raw:
        raw.execute(
            "INSERT OR IGNORE INTO faq_hidden (platform, channel, entry_id) VALUES (?, ?, ?)",
            [platform, channel, entry_id],
        )


def unhide_entry(db: Database, platform: str, channel: str, entry_id: str) -> bool:
    """Show a hidden config entry again (``!faq restore``); returns whether it was hidden."""
    return _delete(db, "faq_hidden", platform, channel, entry_id)


def hidden_entries(db: Database, platform: str, channel: str) -> set[str]:
    """Ids of config entries hidden in a channel."""
    rows = db.raw.execute(
        "SELECT entry_id FROM faq_hidden WHERE platform = ? AND channel = ?", [platform, channel]
    ).fetchall()
    return {r[0] for r in rows}


def forget_creator(db: Database, platform: str, user_id: str) -> int:
    """Remove a viewer's id from the entries they added (the entries stay: they belong to the channel).

    Returns the number of rows changed."""
    return clear_creator(db, "faq_entries", platform, user_id)


def created_count(db: Database, platform: str, user_id: str) -> int:
    """How many entries a viewer added (for ``!mydata``)."""
    return count_created(db, "faq_entries", platform, user_id)
