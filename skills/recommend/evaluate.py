"""Offline evaluation of the recommender: temporal splits, ranking metrics, baselines, grid tuning.

Used by ``chatcast eval recommend`` (``skills/recommend/cli.py``). Protocol (same for every method, in one
run): each user's interactions are sorted by time and the last ``test_frac`` are held out as the test set;
the last ``test_frac`` of what remains is the validation set for tuning; the best grid point on validation
NDCG@10 is refit on the full training part and scored on test. Items already in a user's training part are
never recommended. The catalog is every item with at least one training interaction (the only items any
of the compared collaborative methods can rank).

Metrics (binary relevance, k = 10):
- recall@k = hits / min(k, |test items|) (the normalisation of Liang et al. 2018, "Variational
  autoencoders for collaborative filtering", WWW), averaged over users;
- NDCG@k = DCG / ideal DCG with gain 1 and discount 1/log2(rank + 1) (Jarvelin & Kekalainen 2002);
- coverage = distinct recommended items / catalog size;
- ARP = average training popularity (interaction count) of recommended items (Abdollahpouri et al. 2019,
  "Managing popularity bias in recommender systems with personalized re-ranking");
- Gini of how often each catalog item is recommended (0 = perfectly even, 1 = one item only).
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skills.recommend.model import HybridParams, HybridRecommender, interaction_matrix

log = logging.getLogger(__name__)

K = 10
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (read with ``surrogateescape``)


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays of implicit events: ``users``, ``items`` (int64 indices), ``times`` (seconds),
    optional ``sessions`` (int64 stream-session index of each event)."""

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray
    n_users: int
    n_items: int
    item_ids: list[str]  # original id of each item index
    sessions: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> Interactions:
        """The events selected by bool ``mask`` (same index spaces)."""
        return Interactions(
            self.users[mask],
            self.items[mask],
            self.times[mask],
            self.n_users,
            self.n_items,
            self.item_ids,
            None if self.sessions is None else self.sessions[mask],
        )


def load_ratings(path: str | Path) -> Interactions:
    """Read a MovieLens-format CSV (``userId,movieId,rating,timestamp``, header required) as implicit events.

    Every rating counts as one interaction (the usual implicit-feedback reading of MovieLens). UTF-8 (an
    Excel byte-order mark is fine). Rows with a wrong field count, non-numeric values or bytes that are not
    UTF-8 are logged and skipped. Raises ``FileNotFoundError``/``IsADirectoryError`` (with the file name)
    and ``ValueError`` naming the file when it is empty, the header lacks a needed column, or no valid row
    is left.
    """
    user_ix: dict[str, int] = {}
    item_ix: dict[str, int] = {}
    us, its, ts = [], [], []
    skipped = 0
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.DictReader(fh)
        need = {"userId", "movieId", "timestamp"}
        if reader.fieldnames is None:
            raise ValueError(f"{path}: empty file; expected a header userId,movieId,rating,timestamp")
        if not need <= set(reader.fieldnames):
            raise ValueError(f"{path}: header must contain userId,movieId,timestamp; got {reader.fieldnames}")
        for row in reader:
            try:
                u, i, t = row["userId"].strip(), row["movieId"].strip(), float(row["timestamp"])
                if not u or not i or not math.isfinite(t) or _NOT_UTF8.search(u + i):
                    raise ValueError("empty field")
            except (ValueError, AttributeError, TypeError):
                skipped += 1
                continue
            us.append(user_ix.setdefault(u, len(user_ix)))
            its.append(item_ix.setdefault(i, len(item_ix)))
            ts.append(t)
    if skipped:
        log.warning("%s: skipped %d malformed rows", path, skipped)
    if not us:
        raise ValueError(f"{path}: no valid rating rows")
    return Interactions(
        np.array(us, np.int64),
        np.array(its, np.int64),
        np.array(ts, np.float64),
        len(user_ix),
        len(item_ix),
        list(item_ix),
    )


def temporal_split(data: Interactions, frac: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Per user, the last ``frac`` of interactions by time (ties broken by input order) -> test mask.

    Returns ``(train_mask, test_mask)`` over the events. A user with n events holds out ``floor(frac * n)``
    of them (so users with fewer than ``1 / frac`` events keep everything in train).
    """
    order = np.lexsort((np.arange(len(data.users)), data.times, data.users))
    test = np.zeros(len(data.users), dtype=bool)
    users_sorted = data.users[order]
    bounds = np.flatnonzero(np.diff(users_sorted)) + 1
    for block in np.split(order, bounds):
        n_out = int(math.floor(frac * len(block)))
        if n_out:
            test[block[-n_out:]] = True
    return ~test, test


def ndcg_recall(ranked: np.ndarray, truth: Sequence[set[int]], k: int = K) -> tuple[float, float]:
    """Mean NDCG@k and recall@k. ``ranked``: (n_users, >= k) item indices; ``truth``: held-out sets.

    Users with an empty truth set are skipped. Returns ``(ndcg, recall)``; (0, 0) when no user counts.
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    nd, rc, n = 0.0, 0.0, 0
    for row, rel in zip(ranked, truth, strict=True):
        if not rel:
            continue
        hits = np.array([int(i) in rel for i in row[:k]], dtype=float)
        ideal = discounts[: min(k, len(rel))].sum()
        nd += float(hits @ discounts[: len(hits)]) / ideal
        rc += hits.sum() / min(k, len(rel))
        n += 1
    return (nd / n, rc / n) if n else (0.0, 0.0)


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative ``counts`` (n,): 0 = even, -> 1 = concentrated (Lorenz-curve form)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def beyond_accuracy(ranked: np.ndarray, catalog: np.ndarray, popularity: np.ndarray, k: int = K) -> dict:
    """Coverage, ARP and Gini of top-k lists ``ranked`` (n_users, >= k) over ``catalog`` (item indices)."""
    top = ranked[:, :k].ravel()
    counts = np.bincount(top, minlength=len(popularity))[catalog]
    return {
        "coverage": float((counts > 0).mean()),
        "arp": float(popularity[top].mean()),
        "gini": gini(counts),
    }


Ranker = Callable[[sp.csr_matrix, np.ndarray], np.ndarray]
"""(train matrix (n_users, n_items), user indices) -> (len(users), K) ranked item indices."""


def rank_from_scores(
    scores: np.ndarray,
    seen: sp.csr_matrix | None,
    allowed: np.ndarray,
    k: int = K,
) -> np.ndarray:
    """Top-k of ``scores`` (n, n_items) with ``seen`` (n, n_items; None keeps repeats) and items outside
    ``allowed`` removed."""
    s = np.array(scores, dtype=np.float32, copy=True)
    s[:, ~allowed] = -np.inf
    if seen is not None:
        rows, cols = seen.nonzero()
        s[rows, cols] = -np.inf
    top = np.argpartition(-s, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def evaluate_ranker(
    rank: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    truth: list[set[int]],
    catalog: np.ndarray,
    popularity: np.ndarray,
    batch: int = 2048,
) -> dict:
    """Run ``rank(user_batch) -> (b, K)`` over ``users`` and compute every metric."""
    ranked = np.concatenate([rank(users[s : s + batch]) for s in range(0, len(users), batch)])
    nd, rc = ndcg_recall(ranked, truth)
    return {"ndcg@10": nd, "recall@10": rc, **beyond_accuracy(ranked, catalog, popularity)}


# ---------------------------------------------------------------- methods: fit(train) -> rank(users)


def fit_ours(
    params: HybridParams,
    train: Interactions,
    embeddings: np.ndarray | None,
    allowed: np.ndarray,
    repeats: bool = False,
):
    """Fit the hybrid model on ``train``; returns ``rank(users) -> (b, K)``. ``repeats`` keeps seen items."""
    X = interaction_matrix(
        train.users,
        train.items,
        train.times,
        train.n_users,
        train.n_items,
        half_life_days=params.half_life_days,
        reference=params.decay_reference,
    )
    model = HybridRecommender(params).fit(X, embeddings)
    seen = None if repeats else counts(train)
    if params.half_life_events is not None:  # the query histories get the position decay on top
        X = interaction_matrix(train.users, train.items, train.times, train.n_users, train.n_items,
                               half_life_days=params.half_life_days, reference=params.decay_reference,
                               half_life_events=params.half_life_events)

    def rank(users: np.ndarray) -> np.ndarray:
        if params.diversity > 0 and model.embeddings is not None:
            rows = []
            for u in users:
                recs = model.recommend(X[u], K, exclude=~allowed, exclude_history=not repeats)
                rows.append([r.item for r in recs] + [0] * (K - len(recs)))
            return np.array(rows, dtype=np.int64)
        return rank_from_scores(model.score(X[users]), None if seen is None else seen[users], allowed)

    return rank


def fit_popularity(train: Interactions, allowed: np.ndarray, repeats: bool = False):
    """Most-popular baseline (training interaction counts)."""
    pop = np.bincount(train.items, minlength=train.n_items).astype(np.float32)
    seen = None if repeats else counts(train)

    def rank(users: np.ndarray) -> np.ndarray:
        return rank_from_scores(
            np.broadcast_to(pop, (len(users), len(pop))), None if seen is None else seen[users], allowed
        )

    return rank


def fit_implicit(
    kind: str, params: dict, train: Interactions, allowed: np.ndarray, repeats: bool = False, seed: int = 0
):
    """The ``implicit`` library's ALS (Hu et al. 2008) or BPR (Rendle et al. 2009) on the count matrix."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    C = counts(train)
    if kind == "als":
        model = AlternatingLeastSquares(random_state=seed, num_threads=1, **params)
    else:
        model = BayesianPersonalizedRanking(random_state=seed, num_threads=1, **params)
    model.fit(C, show_progress=False)
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)

    def rank(users: np.ndarray) -> np.ndarray:
        return rank_from_scores(U[users] @ V.T, None if repeats else C[users], allowed)

    return rank


def counts(data: Interactions) -> sp.csr_matrix:
    """User x item interaction counts of ``data`` (float32 CSR; 0/1 when each pair occurs once)."""
    X = sp.csr_matrix(
        (np.ones(len(data.users), np.float32), (data.users, data.items)), shape=(data.n_users, data.n_items)
    )
    X.sum_duplicates()
    return X


# ---------------------------------------------------------------- the protocol


def held_out(data: Interactions) -> tuple[np.ndarray, list[set[int]]]:
    """Users with held-out items and their item sets."""
    by_user: dict[int, set[int]] = {}
    for u, i in zip(data.users.tolist(), data.items.tolist(), strict=True):
        by_user.setdefault(u, set()).add(i)
    users = np.array(sorted(by_user), dtype=np.int64)
    return users, [by_user[int(u)] for u in users]


def grid(**axes: Iterable) -> list[dict]:
    """Cartesian product of keyword axes as a list of dicts."""
    keys = list(axes)
    combos = itertools.product(*(list(axes[k]) for k in keys))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


Fit = Callable[[dict, Interactions, np.ndarray, bool], Callable[[np.ndarray], np.ndarray]]
Split = Callable[[Interactions], tuple[np.ndarray, np.ndarray]]


@dataclass
class MethodSpec:
    """A compared method: a name, its grid and ``fit(params, train, allowed, repeats) -> rank``."""

    name: str
    grid: list[dict]
    fit: Fit


def run_protocol(
    data: Interactions,
    methods: list[MethodSpec],
    *,
    split: Split | None = None,
    repeats: bool = False,
    tolerance: float = 0.01,
    progress: Callable[[str], None] = lambda s: None,
) -> dict:
    """Tune each method on validation NDCG@10, refit on train, score on test. Returns a JSON-able dict.

    ``split`` (default: :func:`temporal_split` with 20 %) is applied twice: to all events (train/test)
    and to the train part (fit/validation). ``repeats`` keeps already-seen items rankable and counts
    them as hits (next-session prediction on live data); otherwise they are filtered. Model selection
    (:func:`select`, the same rule for every method): the highest validation coverage among the grid
    points within ``tolerance`` (relative) of the best validation NDCG@10.
    """
    train_mask, test_mask, val_mask, (train, test, fit_part, val) = _splits(data, split, repeats)
    results: dict = {
        "split": {
            "train_events": int(train_mask.sum()),
            "test_events": int(test_mask.sum()),
            "validation_events": int(val_mask.sum()),
            "users": data.n_users,
            "items": data.n_items,
            "test_users": len(held_out(test)[0]),
            "repeats_allowed": repeats,
        },
        "methods": {},
    }
    for method in methods:
        tried = []
        pop_val = np.bincount(fit_part.items, minlength=data.n_items).astype(np.float64)
        allowed_val = pop_val > 0
        val_users, val_truth = held_out(val)
        for params in method.grid:
            t0 = time.perf_counter()
            rank = method.fit(params, fit_part, allowed_val, repeats)
            m = evaluate_ranker(rank, val_users, val_truth, np.flatnonzero(allowed_val), pop_val)
            tried.append({"params": params, "val_ndcg@10": m["ndcg@10"], "val_coverage": m["coverage"]})
            took = time.perf_counter() - t0
            progress(
                f"{method.name} {params}: val NDCG@10 {m['ndcg@10']:.4f} coverage {m['coverage']:.3f} "
                f"({took:.1f}s)"
            )
        best, best_nd = select(tried, tolerance)
        pop = np.bincount(train.items, minlength=data.n_items).astype(np.float64)
        allowed = pop > 0
        t0 = time.perf_counter()
        rank = method.fit(best, train, allowed, repeats)
        fit_s = time.perf_counter() - t0
        users, truth = held_out(test)
        m = evaluate_ranker(rank, users, truth, np.flatnonzero(allowed), pop)
        results["methods"][method.name] = {
            **m,
            "best_params": best,
            "val_ndcg@10": best_nd,
            "fit_s": fit_s,
            "grid": tried,
        }
        progress(
            f"{method.name}: test NDCG@10 {m['ndcg@10']:.4f} recall@10 {m['recall@10']:.4f} "
            f"coverage {m['coverage']:.3f}"
        )
    return results


def _splits(
    data: Interactions, split: Split | None, repeats: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[Interactions, Interactions, Interactions, Interactions]]:
    """``run_protocol``'s splits: the train/test and validation masks and (train, test, fit, validation)."""
    split = split or temporal_split
    train_mask, test_mask = split(data)
    train, test = data.subset(train_mask), data.subset(test_mask)
    fit_mask, val_mask = split(train)
    fit_part, val = train.subset(fit_mask), train.subset(val_mask)
    if not repeats:  # a held-out repeat of a training pair cannot be recommended: drop it from the truth
        test = test.subset(~_pairs_in(test, train))
        val = val.subset(~_pairs_in(val, fit_part))
    return train_mask, test_mask, val_mask, (train, test, fit_part, val)


def check_split(data: Interactions, split: Split | None = None, repeats: bool = False) -> None:
    """Check, before any model is fitted, that ``run_protocol`` has users to test and to validate on.

    Raises ``ValueError`` (no file name: the caller adds it) when the split leaves no test user or no
    validation user (under the default 20 % temporal split a user needs 6 or more events for both)."""
    _, _, _, (_, test, _, val) = _splits(data, split, repeats)
    n_test, n_val = len(held_out(test)[0]), len(held_out(val)[0])
    if not n_test or not n_val:
        raise ValueError(
            f"too little data to evaluate: {data.n_users} users and {len(data.users)} events leave "
            f"{n_test} test and {n_val} validation users after the split"
        )


def select(tried: list[dict], tolerance: float = 0.01) -> tuple[dict, float]:
    """Pick the grid point with the best ``val_coverage`` among those whose ``val_ndcg@10`` is at least
    ``(1 - tolerance)`` times the best; returns ``(params, its val NDCG@10)``. Raises ``ValueError`` when
    ``tried`` is empty."""
    if not tried:
        raise ValueError("empty grid")
    top = max(t["val_ndcg@10"] for t in tried)
    near = [t for t in tried if t["val_ndcg@10"] >= (1 - tolerance) * top]
    best = max(near, key=lambda t: (t["val_coverage"], t["val_ndcg@10"]))
    return best["params"], best["val_ndcg@10"]


def _pairs_in(a: Interactions, b: Interactions) -> np.ndarray:
    """Mask over ``a``'s events whose (user, item) pair also occurs in ``b``."""
    key_b = set((b.users * b.n_items + b.items).tolist())
    return np.array([k in key_b for k in (a.users * a.n_items + a.items).tolist()], dtype=bool)


def standard_methods(
    embeddings: np.ndarray | None, *, quick: bool = False, ours_grid: list[dict] | None = None
) -> list[MethodSpec]:
    """Ours, popularity, implicit ALS and BPR with comparable small grids (``quick`` shrinks them)."""
    if ours_grid is None:
        ours_grid = grid(
            l2=[100.0, 300.0] if not quick else [100.0],
            half_life_events=[None, 3.0, 10.0] if not quick else [3.0],
            content_weight=([0.0, 0.1] if embeddings is not None else [0.0]) if not quick else [0.0],
            popularity_penalty=[0.0, 0.25] if not quick else [0.0],
        )
    als_grid = grid(
        factors=[16, 32, 64, 128] if not quick else [32],
        regularization=[0.01, 0.1, 1.0],
        alpha=[1.0, 10.0] if not quick else [1.0],
        iterations=[15],
    )
    bpr_grid = grid(
        factors=[16, 32, 64] if not quick else [32],
        learning_rate=[0.01, 0.05],
        regularization=[0.001, 0.01] if not quick else [0.01],
        iterations=[100],
    )
    return [
        MethodSpec(
            "ours (EASE hybrid)",
            ours_grid,
            lambda p, tr, al, rep: fit_ours(HybridParams(**p), tr, embeddings, al, rep),
        ),
        MethodSpec("popularity", [{}], lambda p, tr, al, rep: fit_popularity(tr, al, rep)),
        MethodSpec("implicit ALS", als_grid, lambda p, tr, al, rep: fit_implicit("als", p, tr, al, rep)),
        MethodSpec("implicit BPR", bpr_grid, lambda p, tr, al, rep: fit_implicit("bpr", p, tr, al, rep)),
    ]
