"""Rolling chat mood: time-windowed weighted means of sentiment probabilities, and spam de-weighting.

The mood *score* of a window is ``mean(p_positive) - mean(p_negative)`` in [-1, 1], each message weighted
(1 by default; ``SpamDeweighter`` gives the k-th repeat of the same text by one viewer weight ``1/k``).
Times are seconds (floats, e.g. ``datetime.timestamp()``).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOWS_S = (60.0, 300.0, 900.0)


@dataclass(frozen=True, slots=True)
class MoodSummary:
    """Weighted mean probabilities over a window; ``n`` messages, ``weight`` their total weight.
    An empty window has ``n == 0``, probabilities ``(0, 1, 0)`` (neutral) and score 0."""

    n: int
    weight: float
    negative: float
    neutral: float
    positive: float

    @property
    def score(self) -> float:
        return self.positive - self.negative


EMPTY = MoodSummary(0, 0.0, 0.0, 1.0, 0.0)


class RollingMood:
    """Messages of the last ``horizon_s`` seconds of one channel; ``summary(now, window_s)`` per window."""

    def __init__(self, horizon_s: float = max(WINDOWS_S)) -> None:
        self.horizon_s = horizon_s
        self._items: deque[tuple[float, float, np.ndarray]] = deque()

    def add(self, t: float, probs: np.ndarray, weight: float = 1.0) -> None:
        """Add one scored message (``probs`` shape ``(3,)``) at time ``t`` (out-of-order times are fine)."""
        self._items.append((t, float(weight), np.asarray(probs, dtype=np.float64)))
        self._trim(t)

    def _trim(self, now: float) -> None:
        while self._items and self._items[0][0] < now - self.horizon_s:
            self._items.popleft()

    def summary(self, now: float, window_s: float) -> MoodSummary:
        """Weighted mean over messages with ``now - window_s < t <= now``; ``EMPTY`` when none."""
        total = np.zeros(3)
        weight, n = 0.0, 0
        for t, w, p in self._items:
            if now - window_s < t <= now:
                total += w * p
                weight += w
                n += 1
        if n == 0 or weight <= 0:
            return MoodSummary(n, 0.0, 0.0, 1.0, 0.0) if n else EMPTY
        mean = total / weight
        return MoodSummary(n, weight, float(mean[0]), float(mean[1]), float(mean[2]))


class SpamDeweighter:
    """Weight ``1/k`` for the k-th time one viewer repeats the same (normalised) text within ``window_s``."""

    def __init__(self, window_s: float = 60.0, max_users: int = 20_000) -> None:
        self.window_s = window_s
        self.max_users = max_users
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    @staticmethod
    def normalise(text: str) -> str:
        return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))[:200]

    def weight(self, user: str, text: str, t: float) -> float:
        """Weight of this message in (0, 1]; remembers it."""
        key = (user, self.normalise(text))
        last = self._seen.get(key)
        count = last[1] + 1 if last is not None and t - last[0] <= self.window_s else 1
        self._seen[key] = (t, count)
        if len(self._seen) > self.max_users:
            cutoff = t - self.window_s
            self._seen = {k: v for k, v in self._seen.items() if v[0] >= cutoff}
        return 1.0 / count

    def forget_user(self, user: str) -> int:
        keys = [k for k in self._seen if k[0] == user]
        for k in keys:
            del self._seen[k]
        return len(keys)


def mood_words(score: float) -> str:
    """Words for a score in [-1, 1]: thresholds at +-0.1, +-0.3, +-0.55."""
    if score >= 0.55:
        return "hyped"
    if score >= 0.3:
        return "very positive"
    if score >= 0.1:
        return "positive"
    if score > -0.1:
        return "neutral"
    if score > -0.3:
        return "a bit negative"
    if score > -0.55:
        return "negative"
    return "very negative"


def mood_bar(score: float, width: int = 10) -> str:
    """A text bar: ``[-----|##---]`` with the marker right of centre for positive scores."""
    score = max(-1.0, min(1.0, score))
    half = width // 2
    filled = round(abs(score) * half)
    left = "-" * (half - filled) + "#" * filled if score < 0 else "-" * half
    right = "#" * filled + "-" * (half - filled) if score > 0 else "-" * half
    return f"[{left}|{right}]"
