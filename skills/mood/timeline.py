"""A stream's mood timeline: top moments and the matplotlib plot written into the report folder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from storage.mood import MinuteRow


def smoothed_scores(rows: Sequence[MinuteRow], span: int = 3) -> np.ndarray:
    """Per-minute scores smoothed by a weighted moving average over ``span`` minutes (weights = message
    weights, so a one-message minute does not make a "moment"). ``(len(rows),)``; empty -> empty."""
    if not rows:
        return np.zeros(0)
    w = np.array([r.weight for r in rows])
    s = np.array([r.positive - r.negative for r in rows])  # weighted sums
    kernel = np.ones(span)
    # "full" then the centred slice: numpy's mode="same" returns max(len, span) values, so a log of
    # fewer minutes than ``span`` would get a longer array than it has rows
    off = (span - 1) // 2
    num = np.convolve(s, kernel, mode="full")[off : off + len(rows)]
    den = np.convolve(w, kernel, mode="full")[off : off + len(rows)]
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def top_moments(
    rows: Sequence[MinuteRow], k: int = 3, min_messages: int = 3, span: int = 3
) -> tuple[list[int], list[int]]:
    """Indices of the ``k`` most positive and ``k`` most negative minutes (smoothed), at least ``span``
    minutes apart, among minutes with ``>= min_messages`` messages. Negative moments need a score < 0."""
    scores = smoothed_scores(rows, span)
    eligible = [i for i, r in enumerate(rows) if r.messages >= min_messages]

    def pick(order: list[int], ok: callable) -> list[int]:
        chosen: list[int] = []
        for i in order:
            if ok(scores[i]) and all(abs(i - j) >= span for j in chosen):
                chosen.append(i)
            if len(chosen) == k:
                break
        return chosen

    best = pick(sorted(eligible, key=lambda i: -scores[i]), lambda s: s > 0)
    worst = pick(sorted(eligible, key=lambda i: scores[i]), lambda s: s < 0)
    return best, worst


def plot_timeline(rows: Sequence[MinuteRow], path: str | Path, title: str) -> Path | None:
    """Write a PNG of mood over time (score line, message-volume bars, top moments marked).

    Returns the path, or ``None`` when there are no rows. Uses matplotlib's non-interactive Agg backend.
    """
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [datetime.fromisoformat(r.minute) for r in rows]
    scores = smoothed_scores(rows)
    best, worst = top_moments(rows)
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    vol = ax.twinx()
    vol.bar(times, [r.messages for r in rows], width=1 / 1440, color="0.85", zorder=0)
    vol.set_ylabel("messages / minute")
    ax.set_zorder(vol.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(times, scores, color="tab:blue", label="mood (positive - negative)")
    ax.axhline(0, color="0.5", lw=0.8)
    for idx, color, marker in ((best, "tab:green", "^"), (worst, "tab:red", "v")):
        ax.scatter([times[i] for i in idx], scores[idx], color=color, marker=marker, s=80, zorder=3)
        for i in idx:
            ax.annotate(
                times[i].strftime("%H:%M"),
                (times[i], scores[i]),
                textcoords="offset points",
                xytext=(0, 8 if color == "tab:green" else -14),
                ha="center",
                fontsize=8,
            )
    ax.set_ylim(-1, 1)
    ax.set_ylabel("mood score")
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
