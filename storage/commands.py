"""Custom-command tables (component ``commands``): text commands moderators add from chat, and how many
times each command (config or added) was used, for ``{count}``. Config commands live in the config file.

Example::

    db.migrate("commands", MIGRATIONS)
    add_command(db, "twitch", "chan", "discord", "Join: discord.gg/x", "everyone", created_by="mod1")
    count_use(db, "twitch", "chan", "discord")  # 1
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Database, clear_creator, count_created

COMPONENT = "commands"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE custom_commands (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        name TEXT NOT NULL,
        response TEXT NOT NULL,
        permission TEXT NOT NULL DEFAULT 'everyone',
        cooldown_user_s REAL NOT NULL DEFAULT 10,
        cooldown_channel_s REAL NOT NULL DEFAULT 5,
        created_by TEXT,          -- platform user id of the moderator; NULL after !forgetme
        created_at TEXT NOT NULL,
        UNIQUE (platform, channel, name)
    );
    CREATE TABLE custom_command_uses (
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        name TEXT NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (platform, channel, name)
    );
    """
]


@dataclass(frozen=True, slots=True)
class StoredCommand:
    """One row of ``custom_commands``; cooldowns in seconds."""

    name: str
    response: str
    permission: str
    cooldown_user_s: float
    cooldown_channel_s: float
    created_by: str | None


def add_command(
    db: Database, platform: str, channel: str, name: str, response: str, permission: str, *,
    cooldown_user_s: float = 10.0, cooldown_channel_s: float = 5.0, created_by: str | None,
    created_at: datetime | None = None,
) -> None:
    """Insert a command (``created_at``: when it was added, default now; a replay passes the log's time).
    Raises ``sqlite3.IntegrityError`` when ``name`` exists in that channel."""
    with db.transaction() as raw:
        raw.execute(
            "INSERT INTO custom_commands (platform, channel, name, response, permission, cooldown_user_s, "
            "cooldown_channel_s, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [platform, channel, name, response, permission, cooldown_user_s, cooldown_channel_s, created_by,
             (created_at or datetime.now(UTC)).isoformat(timespec="seconds")],
        )


def update_command(
    db: Database, platform: str, channel: str, name: str, response: str | None, permission: str | None = None,
    *, cooldown_channel_s: float | None = None,
) -> bool:
    """Change a command's response, permission and per-channel cooldown (seconds); ``None`` keeps that
    one. Returns whether the command exists."""
    with db.transaction() as raw:
        cur = raw.execute(
            "UPDATE custom_commands SET response = COALESCE(?, response), "
            "permission = COALESCE(?, permission), cooldown_channel_s = COALESCE(?, cooldown_channel_s) "
            "WHERE platform = ? AND channel = ? AND name = ?",
            [response, permission, cooldown_channel_s, platform, channel, name],
        )
    return cur.rowcount > 0


def remove_command(db: Database, platform: str, channel: str, name: str, *, keep_count: bool = False) -> bool:
    """Delete an added command and (unless ``keep_count``) its use count; returns whether one was deleted.

    The count belongs to the name in the channel (``count_use``): ``keep_count`` when a config command of
    the same name goes on answering it (its ``{count}`` was reset by a moderator's clean-up)."""
    with db.transaction() as raw:
        cur = raw.execute(
            "DELETE FROM custom_commands WHERE platform = ? AND channel = ? AND name = ?",
            [platform, channel, name],
        )
        if cur.rowcount and not keep_count:
            raw.execute(
                "DELETE FROM custom_command_uses WHERE platform = ? AND channel = ? AND name = ?",
                [platform, channel, name],
            )
    return cur.rowcount > 0


def channel_commands(db: Database, platform: str, channel: str) -> list[StoredCommand]:
    """Commands added in a channel, oldest first."""
    rows = db.raw.execute(
        "SELECT name, response, permission, cooldown_user_s, cooldown_channel_s, created_by "
        "FROM custom_commands WHERE platform = ? AND channel = ? ORDER BY id",
        [platform, channel],
    ).fetchall()
    return [StoredCommand(r[0], r[1], r[2], float(r[3]), float(r[4]), r[5]) for r in rows]


def count_use(db: Database, platform: str, channel: str, name: str) -> int:
    """Add one use of a command in a channel; returns the new total. Keyed by the command's name: a
    config command and one added in chat under the same name (hidden by it) count together."""
    with db.transaction() as raw:
        raw.execute(
            "INSERT INTO custom_command_uses (platform, channel, name, uses) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (platform, channel, name) DO UPDATE SET uses = uses + 1",
            [platform, channel, name],
        )
        row = raw.execute(
            "SELECT uses FROM custom_command_uses WHERE platform = ? AND channel = ? AND name = ?",
            [platform, channel, name],
        ).fetchone()
    return int(row[0])


def forget_creator(db: Database, platform: str, user_id: str) -> int:
    """Remove a viewer's id from the commands they added (the commands stay: they belong to the channel).

    Returns the number of rows changed."""
    return clear_creator(db, "custom_commands", platform, user_id)


def created_count(db: Database, platform: str, user_id: str) -> int:
    """How many commands a viewer added (for ``!mydata``)."""
    return count_created(db, "custom_commands", platform, user_id)
