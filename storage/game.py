"""Connect Four results (component ``game``).

``game_results``: one row per finished game (chat vote game or a viewer's challenge) with the result from the
viewers' side (``win``/``draw``/``loss`` against the bot), difficulty and the Pons move string.
``game_viewer_stats``: per viewer and channel, wins/draws/losses of the games they took part in (voted in a
chat game, or played a challenge). Rows go with the viewer (``ON DELETE CASCADE``) or with
``delete_viewer_games`` (``!forgetme``), which also unlinks the viewer from their challenge results (the
channel's totals keep the anonymous result).

Example::

    db = Database(":memory:"); migrate_core(db); migrate_game(db)
    record_result(db, "twitch", "chan", "chat", "normal", "loss", "4453", now, [alice, bob])
    channel_record(db, "twitch", "chan")  # Record(wins=0, draws=0, losses=1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.events import Viewer
from storage.db import Database
from storage.viewers import ensure_viewer, find_viewer, iso

COMPONENT = "game"
RESULTS = ("win", "draw", "loss")
MODES = ("chat", "challenge")

MIGRATIONS: list[str] = [
    # 1: results and per-viewer tallies
    """
    CREATE TABLE game_results (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('chat', 'challenge')),
        difficulty TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('win', 'draw', 'loss')),
        moves TEXT NOT NULL,
        viewer_id INTEGER REFERENCES viewers(id) ON DELETE SET NULL,
        finished_at TEXT NOT NULL
    );
    CREATE INDEX game_results_channel ON game_results (platform, channel);
    CREATE TABLE game_viewer_stats (
        viewer_id INTEGER NOT NULL REFERENCES viewers(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        wins INTEGER NOT NULL DEFAULT 0,
        draws INTEGER NOT NULL DEFAULT 0,
        losses INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (viewer_id, platform, channel)
    );
    """,
]


@dataclass(frozen=True, slots=True)
class Record:
    """Wins, draws and losses against the bot."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


@dataclass(frozen=True, slots=True)
class Ranked:
    """One line of ``top_viewers``."""

    display_name: str
    record: Record


def migrate_game(db: Database) -> int:
    """Apply pending ``game`` migrations (needs the ``core`` tables). Returns how many ran."""
    return db.migrate(COMPONENT, MIGRATIONS)


def record_result(
    db: Database,
    platform: str,
    channel: str,
    mode: str,
    difficulty: str,
    result: str,
    moves: str,
    when: datetime,
    participants: Sequence[Viewer] = (),
) -> int:
    """Store one finished game and add it to each participant's tally; returns the result row id.

    ``result`` is from the viewers' side. For a challenge, ``participants`` is the one challenger (stored on
    the result row). Raises ``ValueError`` for an unknown mode or result.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if result not in RESULTS:
        raise ValueError(f"result must be one of {RESULTS}, got {result!r}")
    column = {"win": "wins", "draw": "draws", "loss": "losses"}[result]
    with db.transaction():
        ids = [ensure_viewer(db, v) for v in participants]
        owner = ids[0] if mode == "challenge" and ids else None
        row = db.raw.execute(
            "INSERT INTO game_results (platform, channel, mode, difficulty, result, moves, viewer_id,"
            " finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [platform, channel, mode, difficulty, result, moves, owner, iso(when)],
        ).fetchone()
        for vid in dict.fromkeys(ids):
            db.raw.execute(
                f"INSERT INTO game_viewer_stats (viewer_id, platform, channel, {column}) VALUES (?, ?, ?, 1) "
                f"ON CONFLICT(viewer_id, platform, channel) DO UPDATE SET {column} = {column} + 1",
                [vid, platform, channel],
            )
    return int(row[0])


def channel_record(db: Database, platform: str, channel: str, mode: str | None = None) -> Record:
    """The channel's record against the bot (all games, or only ``mode``)."""
    sql = "SELECT result, COUNT(*) FROM game_results WHERE platform = ? AND channel = ?"
    args: list[str] = [platform, channel]
    if mode is not None:
        sql += " AND mode = ?"
        args.append(mode)
    counts = dict(db.raw.execute(sql + " GROUP BY result", args).fetchall())
    return Record(counts.get("win", 0), counts.get("draw", 0), counts.get("loss", 0))


def viewer_record(db: Database, viewer: Viewer, channel: str | None = None) -> Record:
    """``viewer``'s record in ``channel`` (or summed over every channel of the platform)."""
    vid = find_viewer(db, viewer.platform, viewer.user_id)
    if vid is None:
        return Record()
    sql = "SELECT SUM(wins), SUM(draws), SUM(losses) FROM game_viewer_stats WHERE viewer_id = ?"
    args: list[object] = [vid]
    if channel is not None:
        sql += " AND platform = ? AND channel = ?"
        args += [viewer.platform, channel]
    w, d, lo = db.raw.execute(sql, args).fetchone()
    return Record(int(w or 0), int(d or 0), int(lo or 0))


def named_record(db: Database, platform: str, channel: str, name: str) -> Ranked | None:
    """The record in ``channel`` of the viewer called ``name`` (display name or user id, any case) with
    their stored display name, or ``None`` when no such viewer played here (``!c4 stats @name``)."""
    row = db.raw.execute(
        "SELECT v.display_name, s.wins, s.draws, s.losses FROM game_viewer_stats s "
        "JOIN viewers v ON v.id = s.viewer_id WHERE s.platform = ? AND s.channel = ? "
        "AND (lower(v.display_name) = lower(?) OR lower(v.user_id) = lower(?)) LIMIT 1",
        [platform, channel, name, name],
    ).fetchone()
    return Ranked(row[0], Record(row[1], row[2], row[3])) if row else None


def top_viewers(db: Database, platform: str, channel: str, limit: int = 5) -> list[Ranked]:
    """Viewers of ``channel`` ranked by wins, then draws, then fewest losses."""
    rows = db.raw.execute(
        "SELECT v.display_name, s.wins, s.draws, s.losses FROM game_viewer_stats s "
        "JOIN viewers v ON v.id = s.viewer_id WHERE s.platform = ? AND s.channel = ? "
        "ORDER BY s.wins DESC, s.draws DESC, s.losses ASC, v.display_name LIMIT ?",
        [platform, channel, int(limit)],
    ).fetchall()
    return [Ranked(name, Record(w, d, lo)) for name, w, d, lo in rows]


def delete_viewer_games(db: Database, viewer: Viewer) -> int:
    """Delete ``viewer``'s tallies and unlink their challenge results; returns rows changed (0 if unknown)."""
    with db.transaction():
        vid = find_viewer(db, viewer.platform, viewer.user_id)
        if vid is None:
            return 0
        n = db.raw.execute("DELETE FROM game_viewer_stats WHERE viewer_id = ?", [vid]).rowcount
        n += db.raw.execute("UPDATE game_results SET viewer_id = NULL WHERE viewer_id = ?", [vid]).rowcount
    return n
