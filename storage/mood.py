"""Mood tables (component ``mood``): per-minute sentiment sums per channel. Nothing about viewers.

Example::

    db.migrate("mood", MIGRATIONS)
    add_minute(db, "twitch", "chan", "2024-05-10T20:01:00+00:00", 12, 3.0, 5.5, 3.5, 12.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database

COMPONENT = "mood"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE mood_minutes (
        platform TEXT NOT NULL,
        channel TEXT NOT NULL,
        minute TEXT NOT NULL,        -- ISO-8601 UTC, start of the minute
        messages INTEGER NOT NULL,
        weight REAL NOT NULL,        -- sum of message weights (spam de-weighted)
        negative REAL NOT NULL,      -- weighted sums of probabilities
        neutral REAL NOT NULL,
        positive REAL NOT NULL,
        PRIMARY KEY (platform, channel, minute)
    );
    """
]


@dataclass(frozen=True, slots=True)
class MinuteRow:
    minute: str
    messages: int
    weight: float
    negative: float
    neutral: float
    positive: float

    @property
    def score(self) -> float:
        """``mean p_positive - mean p_negative`` of the minute (0 when empty)."""
        return (self.positive - self.negative) / self.weight if self.weight > 0 else 0.0


def add_minute(
    db: Database,
    platform: str,
    channel: str,
    minute: str,
    messages: int,
    weight: float,
    negative: float,
    neutral: float,
    positive: float,
) -> None:
    """Add sums into a minute row (created when missing)."""
    with db.transaction() as raw:
        raw.execute(
            "INSERT INTO mood_minutes VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(platform, channel, minute) "
            "DO UPDATE SET messages = messages + excluded.messages, weight = weight + excluded.weight, "
            "negative = negative + excluded.negative, neutral = neutral + excluded.neutral, "
            "positive = positive + excluded.positive",
            [platform, channel, minute, messages, weight, negative, neutral, positive],
        )


def minutes(
    db: Database, platform: str, channel: str, since: str = "", until: str = "9999"
) -> list[MinuteRow]:
    """Minute rows of a channel with ``since <= minute < until`` (ISO text), oldest first."""
    rows = db.raw.execute(
        "SELECT minute, messages, weight, negative, neutral, positive FROM mood_minutes "
        "WHERE platform = ? AND channel = ? AND minute >= ? AND minute < ? ORDER BY minute",
        [platform, channel, since, until],
    ).fetchall()
    return [MinuteRow(*r) for r in rows]


def channels(db: Database) -> list[tuple[str, str]]:
    """Every (platform, channel) with mood rows."""
    return [
        tuple(r) for r in db.raw.execute("SELECT DISTINCT platform, channel FROM mood_minutes").fetchall()
    ]
