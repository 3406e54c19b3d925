"""Training of the sentiment head (``chatcast train sentiment``): weighted cross-entropy, full batch.

Sources are mixed with per-example weights: each (source, class) cell gets the same total weight times the
source's weight, i.e. class-balanced per source (King & Zeng 2001 re-weighting), which targets macro
recall/F1 rather than accuracy and keeps a big source (SST-2) from drowning a small one (Twitch chat).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skills.mood.head import HeadWeights


def balanced_weights(
    labels: Sequence[int], groups: Sequence[str], group_weight: dict[str, float]
) -> np.ndarray:
    """Per-example weights: every (group, class) cell sums to ``group_weight[group] / n_classes_in_group``.

    ``(n,)`` float32 with mean 1 over the data. Raises ``KeyError`` for a group without a weight.
    """
    labels_a, groups_a = np.asarray(labels), np.asarray(groups)
    w = np.zeros(len(labels_a), np.float64)
    for g in np.unique(groups_a):
        in_g = groups_a == g
        classes = np.unique(labels_a[in_g])
        for c in classes:
            cell = in_g & (labels_a == c)
            w[cell] = group_weight[str(g)] / len(classes) / cell.sum()
    return (w * len(w) / w.sum()).astype(np.float32)


def train_head(
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    l2: float = 1.0,
    max_iter: int = 500,
) -> HeadWeights:
    """Fit a multinomial logistic-regression head on features ``x`` ``(n, f)``, labels ``y`` in {0, 1, 2}.

    Features are standardised (mean/std stored in the weights); ``l2`` is the inverse regularisation
    strength ``C`` of scikit-learn's ``LogisticRegression`` (L-BFGS, deterministic). Needs the ``eval``
    extra (scikit-learn); inference does not. Raises ``ValueError`` on empty or mismatched inputs.
    """
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y)
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"need the same non-zero number of rows: x {x.shape}, y {y.shape}")
    if len(np.unique(y)) < 2:
        raise ValueError("need at least two classes in the training labels")
    mean = x.mean(axis=0)
    std = x.std(axis=0) + 1e-4
    model = LogisticRegression(C=l2, max_iter=max_iter)
    model.fit((x - mean) / std, y, sample_weight=sample_weight)
    coef = np.zeros((x.shape[1], 3), np.float32)
    bias = np.full(3, -30.0, np.float32)  # a class absent from training is never predicted
    for row, cls in enumerate(model.classes_):
        coef[:, int(cls)] = (
            model.coef_[row] if len(model.classes_) > 2 else (model.coef_[0] * (row * 2 - 1)) / 2
        )
        bias[int(cls)] = (
            model.intercept_[row] if len(model.classes_) > 2 else (model.intercept_[0] * (row * 2 - 1)) / 2
        )
    return HeadWeights(mean=mean.astype(np.float32), std=std.astype(np.float32), W2=coef, b2=bias)
