"""Hybrid recommender: item-item collaborative filtering on implicit feedback blended with content similarity.

Pure numpy/scipy; no I/O, no asyncio. The skill (``skills/recommend/skill.py``) builds the interaction
matrix from stored watch history, trains with :meth:`HybridRecommender.fit` off the event loop and
queries with :meth:`HybridRecommender.recommend`.

The pieces and where they come from:

- **Interaction weights** (:func:`interaction_matrix`): every event (a presence session, a ``!like``, a
  rating) carries a strength; repeats of the same (user, item) are *summed* after an exponential time
  decay (half-life ``h``: ``w * 2 ** (-(t_ref - t) / h)``) and squashed with ``log1p`` so a channel watched
  40 times is a strong but not overwhelming signal (confidence scaling as in Hu, Koren & Volinsky 2008,
  "Collaborative Filtering for Implicit Feedback Datasets", ICDM). ``t_ref`` is either each user's own
  latest event ("what they are into lately", the usual choice for sequential/temporal splits, cf.
  Ding & Li 2005 "Time weight collaborative filtering", CIKM) or one global "now".
- **Collaborative filtering**: EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data",
  WWW): ``B = I - P diagMat(1 / diag(P))`` with ``P = (X^T X + lambda I)^-1`` and ``diag(B) = 0``; or
  item-item cosine kNN with shrinkage (Sarwar et al. 2001, "Item-based collaborative filtering recommendation
  algorithms", WWW; shrinkage as in Koren 2008, KDD). Both give an item-item matrix ``B`` and scores
  ``s = x B``. ``B`` is kept as a sparse top-k-per-row matrix (sparsified EASE, as in Steck 2019 sec. 4
  and Ning & Karypis 2011 SLIM) so a query costs O(|history| * k + n_items).
- **Content**: item-to-item cosine similarity of the item-text embeddings, top 100 neighbours per item;
  content score = the history-weighted average similarity to each item (item-based content filtering,
  Pazzani & Billsus 2007, "Content-based recommendation systems").
  Items nobody has interacted with yet can only be reached this way (item cold start).
- **Popularity compensation**: ``cf_j <- cf_j / (1 + pop_j) ** beta`` with ``pop_j`` the item's summed
  interaction weight, or the popularity given to :meth:`HybridRecommender.fit` (the bot gives distinct
  viewers, ``history.viewer_popularity``); popularity-bias control as in Steck 2011, "Item popularity and
  recommendation accuracy", RecSys; cf. Abdollahpouri et al. 2017, RecSys. ``beta = 0`` switches it off.
- **Blend**: ``score = (1 - a) * cf / max|cf| + a * content + r * repeat + bonus``.
- **Diversity**: optional maximal marginal relevance re-ranking (Carbonell & Goldstein 1998, SIGIR) with
  content similarity: pick ``argmax (1 - d) * rel - d * max_sim_to_picked``.
- **Cold start** (no history): time-decayed popularity (trending in this channel) plus ``bonus``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

import numpy as np
import scipy.linalg.lapack as lapack
import scipy.sparse as sp

SECONDS_PER_DAY = 86_400.0


class Reason(Enum):
    """Why an item was recommended; the skill turns it into a short phrase."""

    BECAUSE = "because"  # mostly driven by one history item (``Recommendation.anchor``)
    SIMILAR_VIEWERS = "similar_viewers"  # collaborative signal spread over the history
    CONTENT = "content"  # driven by text similarity to the history
    POPULAR = "popular"  # cold start: trending with everyone
    LISTED = "listed"  # cold start, but nobody has watched it yet: only on the streamer's list
    NEW = "new"  # lifted by the new-item bonus


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommended item: ``item`` is the column index, ``anchor`` the history item behind BECAUSE."""

    item: int
    score: float
    reason: Reason
    anchor: int | None = None


@dataclass(frozen=True)
class HybridParams:
    """Hyperparameters (defaults tuned on MovieLens latest-small's validation split, see docs/recommend.md).

    - ``method``: ``"ease"`` (dense Gram inversion, O(n_items^3) time, 4 * n_items^2 bytes) or ``"knn"``.
    - ``l2``: EASE's lambda (same units as the Gram matrix entries; larger = more smoothing).
    - ``shrink``: kNN shrinkage added to the cosine denominator.
    - ``neighbors``: keep the top-k weights per row of ``B`` (0 keeps it dense).
    - ``half_life_days``: time decay of events; ``None`` = no decay.
    - ``decay_reference``: ``"user"`` (decay from each user's latest event) or ``"global"``.
    - ``half_life_events``: position decay of the *query* history (see :func:`interaction_matrix`);
      the training matrix is not position-decayed. ``None`` = off. Used by callers building histories.
    - ``content_weight``: ``a`` in the blend, in [0, 1].
    - ``popularity_penalty``: ``beta`` >= 0, exponent of the popularity compensation (about 0 to 1).
    - ``diversity``: MMR trade-off ``d`` in [0, 1); 0 disables re-ranking.
    - ``repeat_weight``: ``r`` >= 0, lift of items already in the history by ``r * x_ui / max_i x_ui``
      (repeat consumption: on live platforms most views are of channels watched before; Rappaz et al.
      2021, "Recommendation on live-streaming platforms: dynamic availability and repeat consumption",
      RecSys). Only matters when history items are not excluded.
    """

    method: Literal["ease", "knn"] = "ease"
    l2: float = 200.0
    shrink: float = 10.0
    neighbors: int = 200
    half_life_days: float | None = 180.0
    decay_reference: Literal["user", "global"] = "user"
    half_life_events: float | None = None
    content_weight: float = 0.0
    popularity_penalty: float = 0.0
    diversity: float = 0.0
    repeat_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in ("ease", "knn"):
            raise ValueError(f"method must be 'ease' or 'knn', got {self.method!r}")
        if self.l2 < 0 or self.shrink < 0 or self.neighbors < 0:
            raise ValueError("l2, shrink and neighbors must be >= 0")
        if self.half_life_events is not None and self.half_life_events <= 0:
            raise ValueError("half_life_events must be > 0 (or None for no position decay)")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ValueError("half_life_days must be > 0 (or None for no decay)")
        if not 0.0 <= self.content_weight <= 1.0:
            raise ValueError(f"content_weight must be in [0, 1], got {self.content_weight}")
        if self.popularity_penalty < 0:
            raise ValueError("popularity_penalty must be >= 0")
        if self.repeat_weight < 0:
            raise ValueError("repeat_weight must be >= 0")
        if not 0.0 <= self.diversity < 1.0:
            raise ValueError(f"diversity must be in [0, 1), got {self.diversity}")


def interaction_matrix(
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    n_users: int,
    n_items: int,
    *,
    strengths: np.ndarray | None = None,
    half_life_days: float | None = None,
    reference: Literal["user", "global"] | float = "user",
    half_life_events: float | None = None,
) -> sp.csr_matrix:
    """Time-decayed, repeat-summed, log-squashed implicit feedback matrix.

    ``users``, ``items``: int arrays (m,) of row/column indices; ``times``: (m,) event times in seconds
    (any epoch); ``strengths``: (m,) non-negative event weights (default 1). ``reference`` is ``"user"``
    (each user's latest event), ``"global"`` (the latest event overall) or an explicit time in seconds.
    Returns a CSR ``(n_users, n_items)`` float32 matrix with ``x_ui = log1p(sum_k s_k 2^(-(t_ref - t_k)/h))``.
    ``half_life_events`` also halves an event's weight for every ``half_life_events`` newer events of the
    same user (position decay: what a viewer watched in their last few sessions says most about the next
    one, however far apart in time those sessions were). Raises ``ValueError`` on mismatched lengths or
    out-of-range indices.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    m = len(users)
    if len(items) != m or len(times) != m:
        raise ValueError(
            f"users, items and times must have the same length, got {m}, {len(items)}, {len(times)}"
        )
    s = np.ones(m) if strengths is None else np.asarray(strengths, dtype=np.float64)
    if len(s) != m:
        raise ValueError("strengths must have the same length as users")
    if m and (users.min() < 0 or users.max() >= n_users or items.min() < 0 or items.max() >= n_items):
        raise ValueError("user or item index out of range")
    if half_life_days is not None and m:
        if reference == "user":
            latest = np.full(n_users, -np.inf)
            np.maximum.at(latest, users, times)
            ref = latest[users]
        elif reference == "global":
            ref = np.full(m, times.max())
        else:
            ref = np.full(m, float(reference))
        s = s * time_decay(times, ref, half_life_days)
    if half_life_events is not None and m:
        s = s * np.exp2(-events_after(users, times) / half_life_events)
    X = sp.coo_matrix((s, (users, items)), shape=(n_users, n_items)).tocsr()  # sums repeats
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    return X.astype(np.float32)


def time_decay(times: np.ndarray, reference: np.ndarray | float, half_life_days: float) -> np.ndarray:
    """``2 ** (-age_days / half_life_days)`` of events at ``times`` (Unix seconds) seen from ``reference``
    (seconds, per event or one for all); an event after the reference counts as new (weight 1)."""
    return np.exp2(-np.maximum(reference - times, 0.0) / SECONDS_PER_DAY / half_life_days)


def events_after(users: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each event, how many events of the same user come later (by time, then input order). (m,) int64."""
    order = np.lexsort((np.arange(len(users)), times, users))
    u = users[order]
    starts = np.r_[0, np.flatnonzero(np.diff(u)) + 1]
    lens = np.diff(np.r_[starts, len(u)])
    rank = np.arange(len(u)) - np.repeat(starts, lens)
    out = np.empty(len(users), dtype=np.int64)
    out[order] = np.repeat(lens, lens) - 1 - rank
    return out


def gram(X: sp.spmatrix, *, chunk: int = 16_384) -> np.ndarray:
    """Dense item-item Gram matrix ``X^T X``, shape (n_items, n_items) float32 (4 * n_items^2 bytes).

    Accumulated over blocks of ``chunk`` users so the sparse intermediate stays small.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    G = np.zeros((X.shape[1], X.shape[1]), dtype=np.float32)
    for start in range(0, X.shape[0], chunk):
        block = X[start : start + chunk]
        G += (block.T @ block).toarray()
    return G


def ease_weights(X: sp.spmatrix, l2: float) -> np.ndarray:
    """EASE^R item-item weights (Steck 2019, eq. 8): ``B = -P / diag(P)`` column-wise, ``diag(B) = 0``.

    ``X``: (n_users, n_items) implicit feedback; ``l2``: lambda > 0. Returns dense (n_items, n_items)
    float32. ``P = (X^T X + lambda I)^-1`` is computed in the cheaper of two exact ways:
    with more users than items, a Cholesky factorisation (LAPACK potrf/potri) of the SPD item Gram,
    O(n_items^3); otherwise the Woodbury identity ``P = (I - X^T (X X^T + lambda I)^-1 X) / lambda``,
    O(n_users^3 + nnz * n_items) (the "dual" form, cf. Steck 2019 sec. 3). Raises ``ValueError`` when
    ``l2 <= 0`` or the factorisation fails.
    """
    if l2 <= 0:
        raise ValueError(f"EASE needs l2 > 0, got {l2}")
    X = sp.csr_matrix(X, dtype=np.float64)
    n_users, n_items = X.shape
    if n_users >= n_items:
        G = gram(X)
        G[np.diag_indices_from(G)] += l2
        P = _spd_inverse(G)
    else:
        K = np.asarray((X @ X.T).toarray(), dtype=np.float64)
        K[np.diag_indices_from(K)] += l2
        M = _spd_inverse(K)
        X32 = X.astype(np.float32)
        MX = np.ascontiguousarray((X32.T @ M.astype(np.float32)).T)  # (n_users, n_items) = M X, M symmetric
        P = np.asarray(X32.T @ MX, dtype=np.float32)
        P *= -1.0 / l2
        P[np.diag_indices_from(P)] += 1.0 / l2
    B = P.astype(np.float32, copy=False)
    B /= -np.diag(B).copy()[None, :]  # in place: column j scaled by -1 / P_jj
    B[np.diag_indices_from(B)] = 0.0
    return B


def _spd_inverse(A: np.ndarray, *, chunk: int = 1024) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix via Cholesky (potrf + potri), overwriting ``A``.

    potri fills only the lower triangle; the upper one is mirrored block by block (no n^2 temporaries).
    """
    f = lapack.dpotrf if A.dtype == np.float64 else lapack.spotrf
    g = lapack.dpotri if A.dtype == np.float64 else lapack.spotri
    c, info = f(A, lower=1, overwrite_a=1)
    if info != 0:
        raise ValueError(f"matrix is not positive definite (potrf info {info}); increase l2")
    P, info = g(c, lower=1, overwrite_c=1)
    if info != 0:
        raise ValueError(f"Cholesky inverse failed (potri info {info})")
    n = P.shape[0]
    for i0 in range(0, n, chunk):
        i1 = min(i0 + chunk, n)
        P[i0:i1, i1:] = P[i1:, i0:i1].T
        block = P[i0:i1, i0:i1]
        P[i0:i1, i0:i1] = np.tril(block) + np.tril(block, -1).T
    return P


def knn_weights(X: sp.spmatrix, shrink: float) -> np.ndarray:
    """Item-item cosine similarity with shrinkage (Sarwar et al. 2001): ``G_ij / (|x_i| |x_j| + shrink)``.

    Returns dense (n_items, n_items) float32 with a zero diagonal.
    """
    G = gram(X)
    norms = np.sqrt(np.diag(G)).astype(np.float32)
    for i0 in range(0, len(norms), 1024):  # in place, block by block: no n^2 temporaries
        G[i0 : i0 + 1024] /= np.outer(norms[i0 : i0 + 1024], norms) + shrink + 1e-12
    G[np.diag_indices_from(G)] = 0.0
    return G


def sparsify_rows(W: np.ndarray, k: int, *, chunk: int = 1024) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row of ``W`` (n, n); drops non-positive ones. CSR float32.

    Row ``i`` holds how history item ``i`` votes for every candidate, so a query touches ``|history|``
    rows of ``k`` entries. ``k = 0`` or ``k >= n`` keeps every positive entry.
    """
    n_rows, n_cols = W.shape
    if k <= 0 or k >= n_cols:
        return sp.csr_matrix(np.where(W > 0, W, 0).astype(np.float32))
    rows, cols, vals = [], [], []
    for start in range(0, n_rows, chunk):
        block = W[start : start + chunk]
        idx = np.argpartition(-block, k - 1, axis=1)[:, :k]
        v = np.take_along_axis(block, idx, axis=1)
        keep = v > 0
        r = np.broadcast_to(np.arange(start, start + len(block))[:, None], idx.shape)
        rows.append(r[keep])
        cols.append(idx[keep])
        vals.append(v[keep])
    return sp.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )


CONTENT_NEIGHBORS = 100  # text neighbours kept per item


def content_neighbors(E: np.ndarray, k: int, *, chunk: int = 1024) -> sp.csr_matrix:
    """Top-``k`` cosine neighbours per item of unit-row embeddings ``E`` (n, d), self excluded; CSR float32.

    Computed block by block (``chunk`` rows at a time: O(chunk * n) memory). A query then sums the
    neighbour rows of its history (no dense matrix product on the request path).
    """
    n = E.shape[0]
    blocks = []
    for i0 in range(0, n, chunk):
        S = E[i0 : i0 + chunk] @ E.T
        S[np.arange(len(S)), np.arange(i0, i0 + len(S))] = 0.0
        blocks.append(sparsify_rows(S, k if k < n else 0))
    return sp.vstack(blocks, format="csr").astype(np.float32)


TEXT_FEATURES_MAX = 4096
"""Vocabulary size cap of ``text_vectors`` (the most frequent words of the catalog)."""

_WORD = re.compile(r"[^\W_]{2,}")
_STOP_WORDS = frozenset(
    "the and for with from this that what you your are was were its it's not all new vod clip category "
    "channel tags of in on at to by an or is be".split()
)


def text_vectors(texts: list[str]) -> np.ndarray:
    """TF-IDF bag-of-words vectors of item texts, ``(len(texts), vocab)`` float32 with unit rows (a row
    with no known word is all zeros); ``vocab <= TEXT_FEATURES_MAX``.

    The content signal when no sentence-embedding model is available (``--no-engine``, the model missing):
    items sharing a tag or a title word ("minecraft") are neighbours. Weights: ``(1 + log tf) * (log((1 +
    n) / (1 + df)) + 1)``, the smoothed, sublinear TF-IDF of Salton & Buckley 1988 as scikit-learn writes
    it."""
    docs = [[w for w in _WORD.findall(t.lower()) if w not in _STOP_WORDS] for t in texts]
    df: dict[str, int] = {}
    for doc in docs:
        for w in set(doc):
            df[w] = df.get(w, 0) + 1
    vocab = sorted(df, key=lambda w: (-df[w], w))[:TEXT_FEATURES_MAX]
    col = {w: i for i, w in enumerate(vocab)}
    out = np.zeros((len(texts), len(vocab)), dtype=np.float32)
    n = len(texts)
    for r, doc in enumerate(docs):
        counts: dict[str, int] = {}
        for w in doc:
            if w in col:
                counts[w] = counts.get(w, 0) + 1
        for w, c in counts.items():
            out[r, col[w]] = (1.0 + np.log(c)) * (np.log((1 + n) / (1 + df[w])) + 1.0)
    return l2_normalise(out) if len(vocab) else np.zeros((len(texts), 1), dtype=np.float32)


def l2_normalise(E: np.ndarray) -> np.ndarray:
    """Rows of ``E`` scaled to unit L2 norm (zero rows stay zero). float32."""
    E = np.asarray(E, dtype=np.float32)
    n = np.linalg.norm(E, axis=-1, keepdims=True)
    return E / np.maximum(n, 1e-12)


@dataclass
class HybridRecommender:
    """Train once with :meth:`fit`, then score any history (users need not be in the training data).

    Because the model is item-item, a viewer's newest watches count at the next query without retraining
    (fold-in is free); only ``B`` and the popularity vector go stale and are refreshed by the next ``fit``.
    """

    params: HybridParams = field(default_factory=HybridParams)
    n_items: int = 0
    B: sp.csr_matrix | None = None
    embeddings: np.ndarray | None = None  # (n_items, d) float32, unit rows, or None
    popularity: np.ndarray | None = None  # (n_items,) float32: given to fit, else summed interaction weights
    C: sp.csr_matrix | None = None  # (n_items, n_items) top-k cosine neighbours of the item texts

    def fit(
        self, X: sp.spmatrix, embeddings: np.ndarray | None = None, popularity: np.ndarray | None = None
    ) -> HybridRecommender:
        """Learn ``B`` from ``X`` (n_users, n_items) and keep ``embeddings`` (n_items, d) for content scores.

        ``popularity``: (n_items,) non-negative item popularity for the cold-start ranking, the "popular"
        reason and the popularity compensation (the bot passes distinct viewers, so one account's repeats
        cannot make an item popular); default: ``X``'s column sums. Raises ``ValueError`` when
        ``embeddings`` or ``popularity`` has the wrong number of rows. Returns ``self``.
        """
        X = sp.csr_matrix(X, dtype=np.float32)
        self.n_items = X.shape[1]
        if embeddings is not None:
            if embeddings.shape[0] != self.n_items:
                raise ValueError(f"embeddings has {embeddings.shape[0]} rows, expected {self.n_items}")
            self.embeddings = l2_normalise(embeddings)
            self.C = content_neighbors(self.embeddings, CONTENT_NEIGHBORS)
        else:
            self.embeddings = None
            self.C = None
        if popularity is None:
            self.popularity = np.asarray(X.sum(axis=0)).ravel().astype(np.float32)
        else:
            popularity = np.asarray(popularity, dtype=np.float32).ravel()
            if popularity.shape != (self.n_items,):
                raise ValueError(f"popularity has {popularity.shape[0]} entries, expected {self.n_items}")
            self.popularity = popularity
        if X.nnz == 0:
            self.B = sp.csr_matrix((self.n_items, self.n_items), dtype=np.float32)
            return self
        p = self.params
        W = ease_weights(X, p.l2) if p.method == "ease" else knn_weights(X, p.shrink)
        self.B = sparsify_rows(W, p.neighbors)
        return self

    @property
    def fitted(self) -> bool:
        return self.B is not None

    def _popularity_norm(self) -> np.ndarray:
        pop = np.log1p(np.maximum(self.popularity, 0))
        top = pop.max() if pop.size else 0.0
        return pop / top if top > 0 else pop

    def score_parts(self, H: sp.spmatrix) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw scores of histories ``H`` (n, n_items): ``(cf (n, n_items), content (n, n_items) or None)``."""
        if self.B is None:
            raise RuntimeError("HybridRecommender.fit must be called before scoring")
        if not isinstance(H, sp.csr_matrix) or H.dtype != np.float32:
            H = sp.csr_matrix(H, dtype=np.float32)
        if H.shape[0] == 1:
            cf = self._votes_one(H.indices, H.data)[None, :]
        else:
            cf = np.asarray((H @ self.B).toarray(), dtype=np.float32)
        content = None
        if self.C is not None and self.params.content_weight > 0:
            mass = np.asarray(H.sum(axis=1), dtype=np.float32)
            mass[mass == 0] = 1.0
            if H.shape[0] == 1:
                content = self._votes_one(H.indices, H.data, self.C)[None, :] / mass
            else:
                content = np.asarray((H @ self.C).toarray(), dtype=np.float32) / mass
        return cf, content

    def _gather(self, items: np.ndarray, M: sp.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``M.data`` (default ``B``) of the rows ``items`` and the row (0..len-1) of each."""
        M = self.B if M is None else M
        starts, ends = M.indptr[items], M.indptr[items + 1]
        lens = ends - starts
        owner = np.repeat(np.arange(len(items)), lens)
        pos = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(starts, lens)
        return pos, owner

    def _votes_one(
        self, items: np.ndarray, weights: np.ndarray, M: sp.csr_matrix | None = None
    ) -> np.ndarray:
        """``x M`` (default ``M = B``) for one history (``items``, ``weights``) in plain numpy; (n_items,)."""
        M = self.B if M is None else M
        pos, owner = self._gather(items, M)
        return np.bincount(M.indices[pos], weights=M.data[pos] * weights[owner],
                           minlength=self.n_items).astype(np.float32)

    def score(self, H: sp.spmatrix, bonus: np.ndarray | None = None) -> np.ndarray:
        """Blended scores (see module docstring), shape (n, n_items) float32.

        Rows of ``H`` with no interactions get the cold-start score: normalised popularity (+ ``bonus``).
        ``bonus``: optional (n_items,) additive lift (e.g. for new items).
        """
        p = self.params
        if not isinstance(H, sp.csr_matrix) or H.dtype != np.float32:
            H = sp.csr_matrix(H, dtype=np.float32)
        cf, content = self.score_parts(H)
        if p.popularity_penalty > 0:  # popularity compensation: cf_j / (1 + pop_j)^beta (Steck 2011)
            cf = cf * np.power(1.0 + np.maximum(self.popularity, 0), -p.popularity_penalty)[None, :]
        scale = np.abs(cf).max(axis=1, keepdims=True)
        empty = (scale[:, 0] == 0) & (np.diff(H.indptr) == 0)
        scale[scale == 0] = 1.0
        s = (1.0 - p.content_weight) * (cf / scale) if content is not None else cf / scale
        if content is not None:
            s = s + p.content_weight * content
        if p.repeat_weight > 0:
            Hd = H.toarray()
            top = Hd.max(axis=1, keepdims=True)
            s = s + p.repeat_weight * Hd / np.where(top > 0, top, 1.0)
        pop = self._popularity_norm()
        if empty.any():
            s[empty] = pop[None, :]
        if bonus is not None:
            s = s + np.asarray(bonus, dtype=np.float32)[None, :]
        return s

    def recommend(
        self,
        history: sp.spmatrix | np.ndarray,
        k: int = 3,
        *,
        exclude: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        bonus: np.ndarray | None = None,
        exclude_history: bool = True,
    ) -> list[Recommendation]:
        """Top ``k`` items for one history row (1, n_items) (sparse or dense weights).

        ``exclude``: bool mask (n_items,) of items never to return (streamer exclusions); ``allowed``:
        bool mask of candidates (a category filter). Items in the history are excluded unless
        ``exclude_history`` is False (repeat recommendations). Returns at most ``k`` recommendations,
        best first, each with a reason.
        """
        if isinstance(history, np.ndarray):
            flat = history.reshape(-1).astype(np.float32, copy=False)
            nz = np.flatnonzero(flat)
            h = sp.csr_matrix((flat[nz], nz, np.array([0, len(nz)])), shape=(1, self.n_items))
        else:
            h = sp.csr_matrix(history, dtype=np.float32).reshape(1, self.n_items)
        s = self.score(h, bonus)[0]
        mask = np.ones(self.n_items, dtype=bool)
        if exclude_history:
            mask[h.indices] = False
        if exclude is not None:
            mask &= ~np.asarray(exclude, dtype=bool)
        if allowed is not None:
            mask &= np.asarray(allowed, dtype=bool)
        cand = np.flatnonzero(mask)
        if cand.size == 0 or k <= 0:
            return []
        picked = [int(j) for j in self._top(s, cand, k)]
        votes = None
        if h.nnz:  # votes[i, c] = B[history item i, picked c]
            pos, owner = self._gather(h.indices)
            cols = self.B.indices[pos]
            votes = np.zeros((h.nnz, len(picked)), dtype=np.float32)
            for c, j in enumerate(picked):
                hit = cols == j
                votes[owner[hit], c] = self.B.data[pos[hit]]
        return [self._explain(h, s, j, bonus, None if votes is None else votes[:, c])
                for c, j in enumerate(picked)]

    def _top(self, s: np.ndarray, cand: np.ndarray, k: int) -> list[int]:
        d = self.params.diversity
        pool_size = k if d == 0 or self.embeddings is None else min(len(cand), max(10 * k, 50))
        pool = cand[np.argpartition(-s[cand], min(pool_size, len(cand)) - 1)[:pool_size]]
        pool = pool[np.argsort(-s[pool], kind="stable")]
        if d == 0 or self.embeddings is None:
            return list(pool[:k])
        return mmr(s[pool], self.embeddings[pool], k, d, ids=pool)

    def _explain(
        self, h: sp.csr_matrix, s: np.ndarray, j: int, bonus: np.ndarray | None, votes: np.ndarray | None
    ) -> Recommendation:
        """Reason for item ``j``: ``votes`` are ``B[history items, j]`` (None for an empty history)."""
        score = float(s[j])
        if bonus is not None and bonus[j] > 0 and bonus[j] >= 0.5 * abs(score):
            return Recommendation(j, score, Reason.NEW)
        # "popular" only for an item somebody interacted with (it was said of items nobody had watched)
        popular = Reason.POPULAR if self.popularity is not None and self.popularity[j] > 0 else Reason.LISTED
        if h.nnz == 0 or votes is None:
            return Recommendation(j, score, popular)
        contrib = h.data * votes
        total = contrib[contrib > 0].sum()
        if total <= 0:
            content = self.C is not None and self.params.content_weight > 0 and score > 0
            return Recommendation(j, score, Reason.CONTENT if content else popular)
        top = int(np.argmax(contrib))
        if contrib[top] >= 0.5 * total:
            return Recommendation(j, score, Reason.BECAUSE, anchor=int(h.indices[top]))
        return Recommendation(j, score, Reason.SIMILAR_VIEWERS)


def mmr(
    relevance: np.ndarray, embeddings: np.ndarray, k: int, diversity: float, *, ids: np.ndarray
) -> list[int]:
    """Maximal marginal relevance (Carbonell & Goldstein 1998) over a candidate pool.

    ``relevance``: (m,) scores; ``embeddings``: (m, d) unit rows; ``diversity``: ``d`` in [0, 1).
    Greedily picks ``argmax (1 - d) * rel_norm - d * max cosine to already picked``; ``rel_norm`` is
    relevance min-max scaled to [0, 1]. Returns up to ``k`` entries of ``ids``.
    """
    m = len(relevance)
    if m == 0:
        return []
    lo, hi = float(relevance.min()), float(relevance.max())
    rel = (relevance - lo) / (hi - lo) if hi > lo else np.ones(m)
    # matrix-vector products only: a tiny multi-threaded GEMM stalls on a busy CPU (tens of ms)
    chosen: list[int] = []
    max_sim = np.full(m, -np.inf)
    for _ in range(min(k, m)):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        value = (1 - diversity) * rel - diversity * penalty
        value[chosen] = -np.inf
        i = int(np.argmax(value))
        chosen.append(i)
        max_sim = np.maximum(max_sim, embeddings @ embeddings[i])
    return [int(ids[i]) for i in chosen]
