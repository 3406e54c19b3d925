"""Ranking maths of the recommender on tiny hand-made matrices with known answers, plus a planted-structure
sanity check against random and popularity rankings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from skills.recommend.evaluate import Interactions, gini, ndcg_recall, select, temporal_split
from skills.recommend.model import (
    HybridParams,
    HybridRecommender,
    Reason,
    ease_weights,
    interaction_matrix,
    knn_weights,
    mmr,
    sparsify_rows,
)


def test_ease_primal_matches_hand_computed_weights() -> None:
    # G = [[2,1],[1,2]], lambda = 1 -> P = 1/8 [[3,-1],[-1,3]] -> B_01 = -P_01 / P_11 = 1/3
    X = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1]], dtype=np.float32))
    B = ease_weights(X, 1.0)
    np.testing.assert_allclose(B, [[0, 1 / 3], [1 / 3, 0]], atol=1e-6)


def test_ease_dual_form_matches_hand_computed_weights() -> None:
    # 2 users < 3 items takes the Woodbury path.
    # G + I = [[2,1,0],[1,3,1],[0,1,2]], P = 1/8 [[5,-2,1],[-2,4,-2],[1,-2,5]]
    X = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32))
    B = ease_weights(X, 1.0)
    expected = [[0, 0.5, -0.2], [0.4, 0, 0.4], [-0.2, 0.5, 0]]
    np.testing.assert_allclose(B, expected, atol=1e-6)


def test_blocked_cholesky_inverse_matches_numpy() -> None:
    from skills.recommend.model import _spd_inverse

    rng = np.random.default_rng(0)
    M = rng.normal(size=(40, 30))
    A = M.T @ M + np.eye(30)
    np.testing.assert_allclose(_spd_inverse(A.copy(), chunk=7), np.linalg.inv(A), rtol=1e-8, atol=1e-10)


def test_ease_rejects_zero_l2() -> None:
    with pytest.raises(ValueError, match="l2 > 0"):
        ease_weights(sp.csr_matrix(np.eye(2, dtype=np.float32)), 0.0)


def test_knn_cosine_with_shrinkage() -> None:
    X = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1]], dtype=np.float32))
    S = knn_weights(X, shrink=1.0)
    # G_01 = 1, |x_0| = |x_1| = sqrt(2): 1 / (2 + 1)
    assert S[0, 1] == pytest.approx(1 / 3, abs=1e-6) and S[0, 0] == 0


def test_interaction_matrix_decays_sums_repeats_and_squashes() -> None:
    day = 86_400.0
    X = interaction_matrix(
        np.array([0, 0, 0, 1]), np.array([1, 1, 0, 0]), np.array([10 * day, 9 * day, 10 * day, 0.0]),
        2, 2, half_life_days=1.0, reference="user",
    ).toarray()
    # user 0: item 1 seen now (1) and a day earlier (0.5); user 1's single event is "now" for them
    assert X[0, 1] == pytest.approx(math.log1p(1.5), rel=1e-6)
    assert X[0, 0] == pytest.approx(math.log1p(1.0), rel=1e-6)
    assert X[1, 0] == pytest.approx(math.log1p(1.0), rel=1e-6)
    G = interaction_matrix(np.array([0, 1]), np.array([0, 0]), np.array([0.0, 2 * day]), 2, 1,
                           half_life_days=1.0, reference="global").toarray()
    assert G[0, 0] == pytest.approx(math.log1p(0.25), rel=1e-6)


def test_position_decay_counts_newer_events_of_the_same_user() -> None:
    from skills.recommend.model import events_after

    users = np.array([0, 1, 0, 0])
    times = np.array([5.0, 1.0, 3.0, 9.0])
    assert events_after(users, times).tolist() == [1, 0, 2, 0]
    X = interaction_matrix(users, np.array([0, 0, 1, 2]), times, 2, 3, half_life_events=1.0).toarray()
    np.testing.assert_allclose(X[0], np.log1p([0.5, 0.25, 1.0]), rtol=1e-6)


def test_interaction_matrix_rejects_bad_indices() -> None:
    with pytest.raises(ValueError, match="out of range"):
        interaction_matrix(np.array([0]), np.array([5]), np.array([0.0]), 1, 2)


def test_sparsify_rows_keeps_top_k_positive() -> None:
    W = np.array([[0, 3, 1, 2], [-1, 0, -2, 5], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    S = sparsify_rows(W, 2).toarray()
    np.testing.assert_array_equal(S[0], [0, 3, 0, 2])
    np.testing.assert_array_equal(S[1], [0, 0, 0, 5])  # negatives dropped
    np.testing.assert_array_equal(S[3], [0, 0, 0, 0])


def _two_blocks() -> sp.csr_matrix:
    # users 0-2 watch items {0,1,2}; users 3-5 watch {3,4}; item 0 is watched by everyone in block A
    rows = [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 0, 1, 0, 0],
            [0, 0, 0, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 1, 0]]
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


def test_recommend_excludes_history_and_explains_because() -> None:
    model = HybridRecommender(HybridParams(l2=0.5, neighbors=0)).fit(_two_blocks())
    history = np.array([0, 0, 0, 1, 0], dtype=np.float32)  # watched item 3 only
    recs = model.recommend(history, 2)
    assert recs[0].item == 4  # the other item of its block
    assert all(r.item != 3 for r in recs)
    assert recs[0].reason is Reason.BECAUSE and recs[0].anchor == 3


def test_recommend_respects_exclude_and_allowed_masks() -> None:
    model = HybridRecommender(HybridParams(l2=0.5, neighbors=0)).fit(_two_blocks())
    history = np.array([1, 0, 0, 0, 0], dtype=np.float32)
    exclude = np.array([0, 1, 0, 0, 0], dtype=bool)
    items = [r.item for r in model.recommend(history, 5, exclude=exclude)]
    assert 1 not in items and 0 not in items and items[0] == 2
    allowed = np.array([0, 0, 0, 0, 1], dtype=bool)
    assert [r.item for r in model.recommend(history, 3, allowed=allowed)] == [4]


def test_cold_start_returns_most_popular_then_new_items() -> None:
    model = HybridRecommender(HybridParams(l2=0.5)).fit(_two_blocks())
    recs = model.recommend(np.zeros(5, dtype=np.float32), 2)
    assert [r.item for r in recs] == [0, 3]  # 3 views each, ordered by index on ties
    assert all(r.reason is Reason.POPULAR for r in recs)
    bonus = np.array([0, 0, 0, 0, 2.0], dtype=np.float32)
    first = model.recommend(np.zeros(5, dtype=np.float32), 1, bonus=bonus)[0]
    assert first.item == 4 and first.reason is Reason.NEW


def test_repeat_weight_lets_history_items_rank_when_allowed() -> None:
    model = HybridRecommender(HybridParams(l2=0.5, repeat_weight=5.0)).fit(_two_blocks())
    history = np.array([0, 0, 0, 1, 0], dtype=np.float32)
    assert model.recommend(history, 1, exclude_history=False)[0].item == 3
    assert model.recommend(history, 1)[0].item != 3


def test_content_reaches_items_nobody_watched() -> None:
    X = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0]], dtype=np.float32))  # items 2, 3 never watched
    E = np.array([[1, 0], [0.9, 0.1], [0.95, 0.05], [0, 1]], dtype=np.float32)
    model = HybridRecommender(HybridParams(l2=1.0, content_weight=0.5)).fit(X, E)
    recs = model.recommend(np.array([1, 1, 0, 0], dtype=np.float32), 1)
    assert recs[0].item == 2 and recs[0].reason is Reason.CONTENT


def test_popularity_penalty_promotes_the_long_tail() -> None:
    # item 1 co-occurs with 0 in 8 users; item 2 (rare) co-occurs with 0 in 2 users of 2
    rows = [[1, 1, 0]] * 8 + [[1, 0, 1]] * 2 + [[0, 1, 0]] * 20
    X = sp.csr_matrix(np.array(rows, dtype=np.float32))
    plain = HybridRecommender(HybridParams(method="knn", shrink=0.0)).fit(X)
    fair = HybridRecommender(HybridParams(method="knn", shrink=0.0, popularity_penalty=1.0)).fit(X)
    h = np.array([1, 0, 0], dtype=np.float32)
    assert plain.recommend(h, 1)[0].item == 1
    assert fair.recommend(h, 1)[0].item == 2


def test_mmr_prefers_a_dissimilar_second_item() -> None:
    rel = np.array([1.0, 0.95, 0.6])
    E = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)  # item 1 duplicates item 0
    assert mmr(rel, E, 2, 0.0, ids=np.array([10, 11, 12])) == [10, 11]
    assert mmr(rel, E, 2, 0.5, ids=np.array([10, 11, 12])) == [10, 12]


def test_params_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="content_weight"):
        HybridParams(content_weight=2.0)
    with pytest.raises(ValueError, match="diversity"):
        HybridParams(diversity=1.0)


def test_ndcg_and_recall_on_a_hand_example() -> None:
    ranked = np.array([[3, 1, 2], [7, 8, 9]])
    nd, rc = ndcg_recall(ranked, [{1, 5}, {7}], k=3)
    ndcg_a = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert nd == pytest.approx((ndcg_a + 1.0) / 2)
    assert rc == pytest.approx((0.5 + 1.0) / 2)


def test_gini_extremes() -> None:
    assert gini(np.array([5, 5, 5, 5])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 1])) == pytest.approx(0.75)


def test_temporal_split_holds_out_each_users_latest_fifth() -> None:
    users = np.array([0] * 10 + [1] * 4)
    times = np.array(list(range(10, 0, -1)) + [1, 2, 3, 4], dtype=float)
    data = Interactions(users, np.arange(14), times, 2, 14, [str(i) for i in range(14)])
    train, test = temporal_split(data, 0.2)
    assert sorted(np.flatnonzero(test).tolist()) == [0, 1]  # user 0's two latest (times 10, 9)
    assert test[10:].sum() == 0  # 4 events: floor(0.8) = 0 held out


def test_select_prefers_coverage_within_tolerance() -> None:
    tried = [{"params": {"a": 1}, "val_ndcg@10": 0.200, "val_coverage": 0.1},
             {"params": {"a": 2}, "val_ndcg@10": 0.199, "val_coverage": 0.3},
             {"params": {"a": 3}, "val_ndcg@10": 0.150, "val_coverage": 0.9}]
    assert select(tried, 0.01) == ({"a": 2}, 0.199)
    assert select(tried, 0.0) == ({"a": 1}, 0.200)


def test_beats_random_and_popularity_on_planted_clusters() -> None:
    rng = np.random.default_rng(7)
    n_users, n_items, n_groups = 300, 60, 4
    group_of_user = rng.integers(0, n_groups, n_users)
    group_of_item = np.arange(n_items) % n_groups
    pop = rng.pareto(1.5, n_items) + 1  # popularity skew across all items
    rows, test = [], []
    for u in range(n_users):
        p = np.where(group_of_item == group_of_user[u], 1.0, 0.05) * pop
        picks = rng.choice(n_items, size=12, replace=False, p=p / p.sum())
        rows.append(picks[:9])
        test.append(set(picks[9:].tolist()))
    X = sp.lil_matrix((n_users, n_items), dtype=np.float32)
    for u, items in enumerate(rows):
        X[u, items] = 1.0
    X = X.tocsr()
    model = HybridRecommender(HybridParams(l2=10.0)).fit(X)
    scores = model.score(X)
    scores[X.nonzero()] = -np.inf
    ours = np.argsort(-scores, axis=1)[:, :10]
    counts = np.asarray(X.sum(axis=0)).ravel()
    order = np.argsort(-counts, kind="stable")
    popular = np.array([[i for i in order if X[u, i] == 0][:10] for u in range(n_users)])
    unseen = [np.flatnonzero(X[u].toarray()[0] == 0) for u in range(n_users)]
    random = np.array([rng.choice(c, 10, replace=False) for c in unseen])
    nd_ours, _ = ndcg_recall(ours, test)
    nd_pop, _ = ndcg_recall(popular, test)
    nd_rand, _ = ndcg_recall(random, test)
    assert nd_ours > 2 * nd_rand
    assert nd_ours > nd_pop


def test_load_ratings_skips_malformed_rows_and_rejects_a_bad_header(tmp_path) -> None:
    from skills.recommend.evaluate import load_ratings

    good = tmp_path / "r.csv"
    good.write_text("userId,movieId,rating,timestamp\r\n1,10,4.0,100\r\n1,11,3.5,oops\r\n2,10,5.0,200\r\n,12,1,3\r\n")
    data = load_ratings(good)
    assert (data.n_users, data.n_items, len(data.users)) == (2, 1, 2)
    assert data.item_ids == ["10"] and data.times.tolist() == [100.0, 200.0]
    bad = tmp_path / "b.csv"
    bad.write_text("user,item\n1,2\n")
    with pytest.raises(ValueError, match="userId,movieId,timestamp"):
        load_ratings(bad)


def test_popularity_counts_distinct_viewers_not_events() -> None:
    """Regression (trial 13): popularity was the summed interaction weight, so one viewer's repeats of an
    item outweighed two viewers'; now each viewer counts once per item, decayed by their latest event."""
    from skills.recommend.history import WatchEvent, viewer_popularity

    day = 86_400.0
    events = [WatchEvent("ann", "x", 0.0, 3.0)] * 3 + [WatchEvent("bo", "y", 0.0, 2.0),
                                                       WatchEvent("cy", "y", -30 * day, 1.0),
                                                       WatchEvent("cy", "y", 0.0, 1.0),
                                                       WatchEvent("di", "z", 0.0, 0.0),  # weighted 0
                                                       WatchEvent("di", "nope", 0.0, 1.0)]
    items = {"x": 0, "y": 1, "z": 2}
    np.testing.assert_allclose(viewer_popularity(events, items, now=0.0, half_life_days=None), [1, 2, 0])
    later = viewer_popularity(events, items, now=30 * day, half_life_days=30.0)
    np.testing.assert_allclose(later, [0.5, 1.0, 0], rtol=1e-5)  # cy counts once, at their latest watch
    X = sp.csr_matrix(np.array([[3, 0, 0], [0, 1, 0], [0, 1, 0]], dtype=np.float32))
    model = HybridRecommender(HybridParams()).fit(X, popularity=np.array([1, 2, 0]))
    assert [r.item for r in model.recommend(np.zeros(3), 2)] == [1, 0]  # cold start: two viewers first
    assert [r.item for r in HybridRecommender(HybridParams()).fit(X).recommend(np.zeros(3), 2)] == [0, 1]
    with pytest.raises(ValueError, match="popularity has 2 entries, expected 3"):
        HybridRecommender(HybridParams()).fit(X, popularity=np.ones(2))
