"""Matching a chat message against FAQ entries with sentence embeddings (pure NumPy, no model here).

An entry has several example questions. For a query embedding ``q`` (L2-normalised) the score of entry
``e`` blends the best single example and the entry's centroid::

    score(e) = alpha * max_i cos(q, x_ei) + (1 - alpha) * cos(q, mean_i x_ei / |mean_i x_ei|)

(max-sim catches a paraphrase of one listed question; the centroid is robust when examples differ,
as in prototypical networks, Snell et al. 2017). The best entry is accepted when its score reaches
``threshold`` *and* beats the second best entry by ``margin`` (ambiguous questions are not answered:
a false answer in chat is spam).

An entry may also list questions that must *not* get its answer (``not_questions``: "where can I buy
this game?" for the game entry). A query closer to one of them than to every example of the entry is
vetoed for that entry (its score becomes ``VETOED``): the nearest-neighbour rule over the entry's
examples and its "not" examples, so the paraphrases of a near miss are caught as well as the near miss.
A query as close to an example as to a "not" example keeps the entry.

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


VETOED = -1.0
"""The score of an entry for a query closer to one of its "not" examples than to its examples."""


@dataclass(frozen=True, slots=True)
class Veto:
    """Why an entry was left out for a query: its nearest "not" example (index into the negatives) and
    the cosine to it, against the cosine to the entry's nearest example."""

    entry: int
    negative: int
    negative_cos: float
    example_cos: float


class FaqIndex:
    """Example-question embeddings of every entry, ready to score queries.

    ``alpha`` weighs max-sim against centroid similarity (0..1). ``negatives`` ``(k, d)`` and
    ``negative_owners`` ``(k,)``: the entries' "not" examples (see the module docstring). Raises
    ``ValueError`` when owners do not match their rows or an entry has no example.
    """

    def __init__(
        self, examples: np.ndarray, owners: Sequence[int], n_entries: int, *, alpha: float = 0.5,
        negatives: np.ndarray | None = None, negative_owners: Sequence[int] = (),
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
        neg_owners = np.asarray(negative_owners, dtype=np.int64)
        neg = np.zeros((0, self.examples.shape[1] if examples.ndim == 2 else 0), np.float32)
        if negatives is not None and len(neg_owners):
            neg = np.asarray(negatives, dtype=np.float32)
            if neg.ndim != 2 or len(neg) != len(neg_owners):
                raise ValueError(
                    f"negatives {neg.shape} and negative_owners ({len(neg_owners)},) do not match")
            if neg_owners.min() < 0 or neg_owners.max() >= n_entries:
                raise ValueError("negative_owners must be entry indices in [0, n_entries)")
            neg = _normalise(neg)
        self.negatives = neg
        self.negative_owners = neg_owners[: len(neg)]

    def _nearest(self, q: np.ndarray) -> np.ndarray:
        """``(n, n_entries)`` cosine of each query to each entry's nearest example."""
        sims = q @ self.examples.T
        best = np.full((len(q), self.n_entries), -1.0, np.float32)
        for e in range(self.n_entries):
            best[:, e] = sims[:, self.owners == e].max(axis=1)
        return best

    def scores(self, queries: np.ndarray, *, veto: bool = True) -> np.ndarray:
        """``(n, n_entries)`` blended scores of each query against each entry (cosine scale, <= 1);
        ``VETOED`` where the query is closer to one of the entry's "not" examples (``veto=False``: the
        scores before that, for explaining a decision)."""
        q = _normalise(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        if self.n_entries == 0:
            return np.zeros((len(q), 0), np.float32)
        best = self._nearest(q)
        out = self.alpha * best + (1 - self.alpha) * (q @ self.centroids.T)
        for v in self._vetoes(q, best) if veto else ():
            out[v[0], v[1].entry] = VETOED
        return out

    def vetoes(self, query: np.ndarray) -> list[Veto]:
        """The entries left out for one query ``(d,)`` and why (``Veto``), nearest "not" example first."""
        q = _normalise(np.atleast_2d(np.asarray(query, dtype=np.float32)))[:1]
        found = [v for _, v in self._vetoes(q, self._nearest(q))] if self.n_entries else []
        return sorted(found, key=lambda v: -v.negative_cos)

    def _vetoes(self, q: np.ndarray, best: np.ndarray) -> list[tuple[int, Veto]]:
        if not len(self.negatives):
            return []
        sims = q @ self.negatives.T
        out = []
        for e in np.unique(self.negative_owners):
            cols = np.flatnonzero(self.negative_owners == e)
            top = cols[np.argmax(sims[:, cols], axis=1)]
            for row in np.flatnonzero(sims[np.arange(len(q)), top] > best[:, e]):
                out.append((int(row), Veto(int(e), int(top[row]), float(sims[row, top[row]]),
                                           float(best[row, e]))))
        return out

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


def index_from(vectors: np.ndarray, owners: Sequence[int], negative_owners: Sequence[int], n_entries: int,
               *, alpha: float = 0.5) -> FaqIndex:
    """A ``FaqIndex`` from the embeddings of ``entries.index_texts``' texts: the first ``len(owners)``
    rows are examples, the rest "not" examples."""
    m = len(owners)
    return FaqIndex(vectors[:m], owners, n_entries, alpha=alpha, negatives=vectors[m:],
                    negative_owners=negative_owners)
