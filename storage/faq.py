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
    """,
    """
    CREATE TABLE faq_not (      -- not_questions moderators add with !faq not, per channel and entry
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        question TEXT NOT NULL,
        created_by TEXT,          -- platform user id of the moderator; NULL after !forgetme
        created_at TEXT NOT NULL,
        PRIMARY KEY (platform, channel, entry_id, question)
    );
    """,
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
    created_at: datetime | None = None,
) -> None:
    """Insert an entry (``created_at``: when it was added, default now; a replay passes the log's time).
    Raises ``sqlite3.IntegrityError`` when ``entry_id`` exists in that channel."""
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
                (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
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
    """Delete an added entry and its not_questions (a new entry of that id must not inherit them);
    returns whether an entry was deleted."""
    removed = _delete(db, "faq_entries", platform, channel, entry_id)
    if removed:
        _delete(db, "faq_not", platform, channel, entry_id)
    return removed


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


def add_not_question(
    db: Database, platform: str, channel: str, entry_id: str, question: str, *, created_by: str | None,
    created_at: datetime | None = None,
) -> bool:
    """Store a not_question of an entry in one channel (``!faq not``; ``created_at`` default now);
    ``False`` when it is there."""
    with db.transaction() as raw:
        cur = raw.execute(
            "INSERT OR IGNORE INTO faq_not (platform, channel, entry_id, question, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [platform, channel, entry_id, question, created_by,
             (created_at or datetime.now(UTC)).isoformat(timespec="seconds")],
        )
    return cur.rowcount > 0


def remove_not_question(db: Database, platform: str, channel: str, entry_id: str, question: str) -> bool:
    """Delete a stored not_question (``!faq unnot``); whether there was one."""
    with db.transaction() as raw:
        cur = raw.execute(
            "DELETE FROM faq_not WHERE platform = ? AND channel = ? AND entry_id = ? AND question = ?",
            [platform, channel, entry_id, question],
        )
    return cur.rowcount > 0


def not_questions(db: Database, platform: str, channel: str) -> dict[str, list[str]]:
    """Stored not_questions of a channel by entry id, oldest first."""
    rows = db.raw.execute(
        "SELECT entry_id, question FROM faq_not WHERE platform = ? AND channel = ? ORDER BY rowid",
        [platform, channel],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for entry_id, question in rows:
        out.setdefault(entry_id, []).append(question)
    return out


def forget_creator(db: Database, platform: str, user_id: str) -> int:
    """Remove a viewer's id from the entries and not_questions they added (the rows stay: they belong to
    the channel). Returns the number of rows changed."""
    return sum(clear_creator(db, table, platform, user_id) for table in ("faq_entries", "faq_not"))


def created_count(db: Database, platform: str, user_id: str) -> int:
    """How many entries and not_questions a viewer added (for ``!mydata``)."""
    return sum(count_created(db, table, platform, user_id) for table in ("faq_entries", "faq_not"))
