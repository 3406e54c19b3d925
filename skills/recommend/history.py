"""Watch history -> implicit feedback events -> the per-channel interaction matrix (pure functions).

A presence session (viewer, stream session, first seen, last seen, messages) counts as one view of every
category that was live while the viewer was there (from the category spans the skill records on
``StreamStatus`` events; the category the stream session started in when no span is known). Explicit
signals (``!like``, ``!watched``) are views of the named item with their own strength.

An item's popularity (cold start "popular here", the popularity compensation) counts distinct viewers
(:func:`viewer_popularity`), not events: one account repeating ``!like`` cannot make an item popular.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from skills.recommend.model import interaction_matrix, time_decay


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One implicit-feedback event: ``user`` watched ``item_key`` at ``time`` (epoch s), ``strength``."""

    user: str
    item_key: str
    time: float
    strength: float


def category_key(name: str) -> str:
    """Catalog key of a live category: ``"Just Chatting"`` -> ``"category:just chatting"``."""
    return "category:" + re.sub(r"\s+", " ", name.strip().lower())


def parse_time(stamp: str) -> float:
    """ISO-8601 text (as stored) -> epoch seconds. Raises ``ValueError`` on malformed text."""
    return datetime.fromisoformat(stamp).timestamp()


def watch_events(
    rows: Iterable[tuple[str, str, str, int, str | None]],
    spans: Sequence[tuple[str, str, str | None]],
    *,
    strength: float = 1.0,
) -> list[WatchEvent]:
    """Presence rows ``(user_id, first_seen, last_seen, messages, session_category)`` and category spans
    ``(category, started_at, ended_at or None)`` -> one event per (presence row, overlapping category).

    The event time is the end of the overlap; malformed rows are skipped.
    """
    parsed = []
    for cat, start, end in spans:
        try:
            parsed.append((cat, parse_time(start), parse_time(end) if end else float("inf")))
        except (TypeError, ValueError):
            continue
    out: list[WatchEvent] = []
    for user, first, last, _messages, session_cat in rows:
        try:
            t0, t1 = parse_time(first), parse_time(last)
        except (TypeError, ValueError):
            continue
        cats = {}
        for cat, s, e in parsed:
            if s <= t1 and e >= t0:
                cats[category_key(cat)] = min(t1, e)
        if not cats and session_cat:
            cats[category_key(session_cat)] = t1
        out.extend(WatchEvent(user, key, t, strength) for key, t in cats.items())
    return out


def signal_events(
    signals: Iterable[tuple[str, str, str, str]],
    *,
    like: float = 3.0,
    watched: float = 2.0,
) -> list[WatchEvent]:
    """Explicit signals ``(user_id, item_key, kind, at)`` -> events weighted ``like`` / ``watched``."""
    weights = {"like": like, "watched": watched}
    out = []
    for user, key, kind, at in signals:
        try:
            out.append(WatchEvent(user, key, parse_time(at), weights[kind]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def build_matrix(
    events: Sequence[WatchEvent],
    users: dict[str, int],
    items: dict[str, int],
    *,
    now: float,
    half_life_days: float | None,
    half_life_events: float | None = None,
) -> sp.csr_matrix:
    """Events -> (len(users), len(items)) decayed matrix (``model.interaction_matrix``, reference ``now``).

    Users missing from ``users`` are added to it (in place); events on unknown items are dropped.
    """
    us, its, ts, ss = [], [], [], []
    for ev in events:
        j = items.get(ev.item_key)
        if j is None:
            continue
        us.append(users.setdefault(ev.user, len(users)))
        its.append(j)
        ts.append(ev.time)
        ss.append(ev.strength)
    return interaction_matrix(
        np.array(us, np.int64),
        np.array(its, np.int64),
        np.array(ts, np.float64),
        len(users),
        len(items),
        strengths=np.array(ss, np.float64),
        half_life_days=half_life_days,
        reference=now,
        half_life_events=half_life_events,
    )


def viewer_popularity(
    events: Sequence[WatchEvent],
    items: dict[str, int],
    *,
    now: float,
    half_life_days: float | None,
) -> np.ndarray:
    """How many distinct viewers engaged with each item, ``(len(items),)`` float32.

    Each viewer counts at most once per item, weighted by the time decay of their latest event on it
    (``2 ** (-age_days / half_life_days)`` from ``now``; 1 without decay): however often one viewer
    watched, liked or said ``!watched``, the item gains at most one viewer. Events of strength 0 (a
    signal weighted 0 in the config) and on unknown items are ignored.
    """
    latest: dict[tuple[str, int], float] = {}
    for ev in events:
        j = items.get(ev.item_key)
        if j is None or not ev.strength > 0:
            continue
        key = (ev.user, j)
        if ev.time > latest.get(key, float("-inf")):
            latest[key] = ev.time
    pop = np.zeros(len(items), dtype=np.float64)
    if not latest:
        return pop.astype(np.float32)
    cols = np.fromiter((j for _, j in latest), dtype=np.int64, count=len(latest))
    times = np.fromiter(latest.values(), dtype=np.float64, count=len(latest))
    weight = np.ones(len(latest))
    if half_life_days is not None:
        weight = time_decay(times, now, half_life_days)
    np.add.at(pop, cols, weight)
    return pop.astype(np.float32)
