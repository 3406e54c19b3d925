"""Story tables (component ``story``): stories per channel and their lines with authors.

``story_stories`` holds one row per story (``active`` while it runs, ``finished`` after ``!story end``);
``story_contributions`` its lines in order: the bot's paragraphs (``opening``, ``bot``, ``ending``; no
author) and viewers' lines (``viewer``, author = ``viewers.id`` from the core tables). A viewer's lines go
with the viewer row (``ON DELETE CASCADE``) or with ``delete_viewer_contributions`` (``!forgetme``).
Times are ISO-8601 UTC text (``storage.viewers.iso``).

Example::

    db = Database(":memory:"); migrate_core(db); migrate_story(db)
    sid = create_story(db, "twitch", "chan", "The Fox", "fairy tale", None, None, now)
    add_line(db, sid, "opening", "Once upon a time ...", None, now)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.viewers import find_viewer, iso

COMPONENT = "story"
KINDS = ("opening", "viewer", "bot", "ending")

MIGRATIONS: list[str] = [
    # 1: stories and their lines
    """
    CREATE TABLE story_stories (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        title TEXT NOT NULL,
        genre TEXT NOT NULL,
        premise TEXT,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'finished')),
        started_by INTEGER REFERENCES viewers(id) ON DELETE SET NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT
    );
    CREATE INDEX story_stories_channel ON story_stories (platform, channel, status, id);
    CREATE TABLE story_contributions (
        id INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL REFERENCES story_stories(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('opening', 'viewer', 'bot', 'ending')),
        author_id INTEGER REFERENCES viewers(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (story_id, seq)
    );
    CREATE INDEX story_contributions_author ON story_contributions (author_id);
    """,
]


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One story. ``lines`` is the number of its contributions (bot and viewers)."""

    id: int
    platform: str
    channel: str
    title: str
    genre: str
    premise: str | None
    status: str
    started_at: str
    ended_at: str | None
    lines: int


@dataclass(frozen=True, slots=True)
class LineRow:
    """One line of a story; ``author`` is the viewer's display name (``None`` for the bot's lines)."""

    seq: int
    kind: str
    text: str
    author: str | None
    author_user_id: str | None
    created_at: str


def migrate_story(db: Database) -> int:
    """Apply pending ``story`` migrations (the core tables must exist for the foreign keys to be used)."""
    return db.migrate(COMPONENT, MIGRATIONS)


_STORY_COLUMNS = (
    "s.id, s.platform, s.channel, s.title, s.genre, s.premise, s.status, s.started_at, s.ended_at, "
    "(SELECT COUNT(*) FROM story_contributions c WHERE c.story_id = s.id)"
)


def _story(row: tuple) -> StoryRow:
    return StoryRow(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], int(row[9]))


def create_story(
    db: Database, platform: str, channel: str, title: str, genre: str, premise: str | None,
    started_by: int | None, at: datetime,
) -> int:
    """Insert an ``active`` story; returns its id. ``started_by`` is a ``viewers.id`` or ``None``."""
    with db.transaction():
        row = db.raw.execute(
            "INSERT INTO story_stories (platform, channel, title, genre, premise, started_by, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [platform, channel, title, genre, premise, started_by, iso(at)],
        ).fetchone()
    return int(row[0])


def add_line(db: Database, story_id: int, kind: str, text: str, author_id: int | None, at: datetime) -> int:
    """Append a line to a story; returns its ``seq`` (1-based). Raises ``ValueError`` for an unknown kind.

    ``seq`` 1 is kept for the ``opening``: viewers may add lines while the opening is still being written,
    and the story reads (and exports) opening first. An opening stored when ``seq`` 1 is taken (a story
    from before this rule) is appended."""
    if kind not in KINDS:
        raise ValueError(f"unknown story line kind {kind!r}; expected one of {KINDS}")
    after = "SELECT COALESCE(MAX(seq), 0) + 1 FROM story_contributions WHERE story_id = ?"
    if kind == "opening":
        seq = (f"(SELECT CASE WHEN EXISTS (SELECT 1 FROM story_contributions WHERE story_id = ? AND seq = 1) "
               f"THEN ({after}) ELSE 1 END)")
        params = [story_id, story_id, story_id]
    else:
        seq = "(SELECT MAX(COALESCE(MAX(seq), 0), 1) + 1 FROM story_contributions WHERE story_id = ?)"
        params = [story_id, story_id]
    with db.transaction():
        row = db.raw.execute(
            "INSERT INTO story_contributions (story_id, seq, kind, author_id, text, created_at) "
            f"VALUES (?, {seq}, ?, ?, ?, ?) RETURNING seq",
            [*params, kind, author_id, text, iso(at)],
        ).fetchone()
    return int(row[0])


def finish_story(db: Database, story_id: int, at: datetime) -> None:
    """Mark a story ``finished`` at ``at``."""
    with db.transaction():
        db.raw.execute(
            "UPDATE story_stories SET status = 'finished', ended_at = ? WHERE id = ?", [iso(at), story_id]
        )


def get_story(db: Database, story_id: int) -> StoryRow | None:
    """The story with that id, or ``None``."""
    row = db.raw.execute(
        f"SELECT {_STORY_COLUMNS} FROM story_stories s WHERE s.id = ?", [story_id]
    ).fetchone()
    return _story(row) if row else None


def active_stories(db: Database) -> list[StoryRow]:
    """Every ``active`` story (to resume after a restart), oldest first."""
    rows = db.raw.execute(
        f"SELECT {_STORY_COLUMNS} FROM story_stories s WHERE s.status = 'active' ORDER BY s.id"
    ).fetchall()
    return [_story(r) for r in rows]


def finished_stories(db: Database, platform: str, channel: str, limit: int = 10) -> list[StoryRow]:
    """The channel's finished stories, newest first, at most ``limit``."""
    rows = db.raw.execute(
        f"SELECT {_STORY_COLUMNS} FROM story_stories s WHERE s.platform = ? AND s.channel = ? "
        "AND s.status = 'finished' ORDER BY s.id DESC LIMIT ?",
        [platform, channel, limit],
    ).fetchall()
    return [_story(r) for r in rows]


def latest_story(db: Database, platform: str, channel: str) -> StoryRow | None:
    """The channel's newest story (active or finished), or ``None``."""
    row = db.raw.execute(
        f"SELECT {_STORY_COLUMNS} FROM story_stories s WHERE s.platform = ? AND s.channel = ? "
        "ORDER BY s.id DESC LIMIT 1",
        [platform, channel],
    ).fetchone()
    return _story(row) if row else None


def story_lines(db: Database, story_id: int) -> list[LineRow]:
    """The story's lines in order, with the author's display name and platform user id for viewer lines."""
    rows = db.raw.execute(
        "SELECT c.seq, c.kind, c.text, v.display_name, v.user_id, c.created_at FROM story_contributions c "
        "LEFT JOIN viewers v ON v.id = c.author_id WHERE c.story_id = ? ORDER BY c.seq",
        [story_id],
    ).fetchall()
    return [LineRow(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


def viewer_story_ids(db: Database, platform: str, user_id: str) -> list[int]:
    """Ids of the stories a viewer contributed lines to or started."""
    vid = find_viewer(db, platform, user_id)
    if vid is None:
        return []
    rows = db.raw.execute(
        "SELECT story_id FROM story_contributions WHERE author_id = ? "
        "UNION SELECT id FROM story_stories WHERE started_by = ? ORDER BY 1",
        [vid, vid],
    ).fetchall()
    return [int(r[0]) for r in rows]


def started_story_ids(db: Database, platform: str, user_id: str) -> list[int]:
    """Ids of the stories a viewer started with a premise of their own."""
    vid = find_viewer(db, platform, user_id)
    if vid is None:
        return []
    rows = db.raw.execute(
        "SELECT id FROM story_stories WHERE started_by = ? AND premise IS NOT NULL ORDER BY id", [vid]
    ).fetchall()
    return [int(r[0]) for r in rows]


def count_viewer_lines(db: Database, platform: str, user_id: str) -> int:
    """How many story lines a viewer wrote (0 when unknown)."""
    vid = find_viewer(db, platform, user_id)
    if vid is None:
        return 0
    return int(
        db.raw.execute("SELECT COUNT(*) FROM story_contributions WHERE author_id = ?", [vid]).fetchone()[0]
    )


def viewer_words(db: Database, platform: str, user_id: str) -> dict[int, list[str]]:
    """What a viewer wrote, per story id: their lines and the premise of a story they started (``!forgetme``
    also removes these words where the bot repeated them). Empty when the viewer is unknown."""
    vid = find_viewer(db, platform, user_id)
    if vid is None:
        return {}
    rows = db.raw.execute(
        "SELECT story_id, text FROM story_contributions WHERE author_id = ? "
        "UNION ALL SELECT id, premise FROM story_stories WHERE started_by = ? AND premise IS NOT NULL",
        [vid, vid],
    ).fetchall()
    out: dict[int, list[str]] = {}
    for story_id, text in rows:
        out.setdefault(int(story_id), []).append(text)
    return out


def set_line_text(db: Database, story_id: int, seq: int, text: str) -> None:
    """Replace a line's text; an empty ``text`` deletes the line."""
    with db.transaction():
        if text.strip():
            db.raw.execute("UPDATE story_contributions SET text = ? WHERE story_id = ? AND seq = ?",
                           [text, story_id, seq])
        else:
            db.raw.execute("DELETE FROM story_contributions WHERE story_id = ? AND seq = ?", [story_id, seq])


def delete_viewer_contributions(db: Database, platform: str, user_id: str) -> int:
    """``!forgetme``: delete the viewer's lines and forget them as starter: the premise is cleared and a
    title made from it becomes ``Story #<id>``.

    Returns the number of rows deleted or changed (0 when the viewer is unknown).
    """
    vid = find_viewer(db, platform, user_id)
    if vid is None:
        return 0
    with db.transaction():
        removed = db.raw.execute("DELETE FROM story_contributions WHERE author_id = ?", [vid]).rowcount
        removed += db.raw.execute(
            "UPDATE story_stories SET title = CASE WHEN premise IS NULL THEN title ELSE 'Story #' || id END, "
            "started_by = NULL, premise = NULL WHERE started_by = ?", [vid]
        ).rowcount
    return removed
