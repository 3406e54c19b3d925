"""Matching a chat message against FAQ entries with sentence embeddings (pure NumPy, no model here).

An entry has several example questions. For a query embedding ``q`` (L2-normalised) the score of entry
``e`` blends the best single example and the entry's centroid::

    score(e) = alpha * max_i cos(q, x_ei) + (1 - alpha) * cos(q, mean_i x_ei / |mean_i x_ei|)

(max-sim catches a paraphrase of one listed question; the centroid is robust when examples differ,
as in prototypical networks, Snell et al. 2017). The best entry is accepted when its score reaches
``threshold`` *and* beats the second best entry by ``margin`` (ambiguous questions are not answered:
a false answer in chat is spam).

Shapes: ``examples`` ``(m, d)`` float32 rows L2-normalised, ``owners`` ``(m,)`` int entry index per row;
queries ``(n, d)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Match:
    """Result for one query: best entry index (``-1`` when none), its score, the runner-up's score,
    and whether it passed the threshold and margin (``accepted``)."""

    entry: int
    score: float
    second: float
    accepted: bool

    @property
    def margin(self) -> float:
        return self.score - self.second


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class FaqIndex:
    """Example-question embeddings of every entry, ready to score queries.

    ``alpha`` weighs max-sim against centroid similarity (0..1). Raises ``ValueError`` when ``owners``
    does not match ``examples`` or an entry has no example.
    """

    def __init__(
        self, examples: np.ndarray, owners: Sequence[int], n_entries: int, *, alpha: float = 0.5
    ) -> None:
        examples = np.asarray(examples, dtype=np.float32)
        owners_a = np.asarray(owners, dtype=np.int64)
        if examples.ndim != 2 or len(examples) != len(owners_a):
            raise ValueError(f"examples {examples.shape} and owners ({len(owners_a)},) do not match")
        if n_entries and (owners_a.min(initial=0) < 0 or owners_a.max(initial=0) >= n_entries):
            raise ValueError("owners must be entry indices in [0, n_entries)")
        counts = np.bincount(owners_a, minlength=n_entries)
        if n_entries and counts.min() == 0:
            raise ValueError(f"entry {int(np.argmin(counts))} has no example question")
        self.examples = _normalise(examples) if len(examples) else examples
        self.owners = owners_a
        self.n_entries = n_entries
        self.alpha = float(alpha)
        sums = np.zeros((n_entries, examples.shape[1] if examples.ndim == 2 else 0), np.float32)
        np.add.at(sums, owners_a, self.examples)
        self.centroids = _normalise(sums) if n_entries else sums

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """``(n, n_entries)`` blended scores of each query against each entry (cosine scale, <= 1)."""
        q = _normalise(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        if self.n_entries == 0:
            return np.zeros((len(q), 0), np.float32)
        sims = q @ self.examples.T
        best = np.full((len(q), self.n_entries), -1.0, np.float32)
        for e in range(self.n_entries):
            best[:, e] = sims[:, self.owners == e].max(axis=1)
        return self.alpha * best + (1 - self.alpha) * (q @ self.centroids.T)

    def match(self, queries: np.ndarray, threshold: float, margin: float = 0.0) -> list[Match]:
        """Best entry per query with the accept decision (``score >= threshold and margin >= margin``)."""
        s = self.scores(queries)
        return [decide(row, threshold, margin) for row in s]


def decide(row: np.ndarray, threshold: float, margin: float = 0.0) -> Match:
    """Accept/reject one query from its ``(n_entries,)`` scores. No entries -> ``Match(-1, 0, 0, False)``."""
    if row.size == 0:
        return Match(-1, 0.0, 0.0, False)
    order = np.argsort(-row)
    top = float(row[order[0]])
    second = float(row[order[1]]) if row.size > 1 else -1.0
    accepted = top >= threshold and (top - second) >= margin
    return Match(int(order[0]), top, second, accepted)
