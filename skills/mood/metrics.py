"""Classification metrics for 3-class sentiment (NumPy only).

Macro recall is TweetEval's official sentiment metric (Rosenthal et al., SemEval-2017 Task 4, "AvgRec");
macro F1 is the unweighted mean of per-class F1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion(y_true: Sequence[int], y_pred: Sequence[int], k: int = 3) -> np.ndarray:
    """``(k, k)`` int matrix, rows = true class, columns = predicted class."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def scores(y_true: Sequence[int], y_pred: Sequence[int], k: int = 3) -> dict[str, float]:
    """Accuracy, macro-F1, macro-recall and per-class recall/F1 (a class absent from both counts as 0).

    Raises ``ValueError`` for empty or mismatched inputs.
    """
    if len(y_true) == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"need equal, non-zero lengths: {len(y_true)} true vs {len(y_pred)} predicted")
    m = confusion(y_true, y_pred, k)
    tp = np.diag(m).astype(float)
    support, predicted = m.sum(axis=1), m.sum(axis=0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0
    )
    out = {
        "n": float(m.sum()),
        "accuracy": float(tp.sum() / m.sum()),
        "macro_f1": float(f1.mean()),
        "macro_recall": float(recall.mean()),
    }
    for i, name in enumerate(("negative", "neutral", "positive")[:k]):
        out[f"recall_{name}"] = float(recall[i])
        out[f"f1_{name}"] = float(f1[i])
    return out
