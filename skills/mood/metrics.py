"""Classification metrics for 3-class sentiment (NumPy only).

Macro recall is TweetEval's official sentiment metric (Rosenthal et al., SemEval-2017 Task 4, "AvgRec");
macro F1 is the unweighted mean of per-class F1. Both average over the classes present in the gold labels
(all three for TweetEval and Twitch chat; negative and positive for binary SST-2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CLASS_NAMES = ("negative", "neutral", "positive")


def confusion(y_true: Sequence[int], y_pred: Sequence[int], k: int = 3) -> np.ndarray:
    """``(k, k)`` int matrix, rows = true class, columns = predicted class."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def scores(y_true: Sequence[int], y_pred: Sequence[int], k: int = 3) -> dict[str, Any]:
    """Accuracy, macro-F1, macro-recall and per-class recall/F1.

    The macro averages run over the classes present in ``y_true`` (binary SST-2 has no neutral: its
    macro-F1 is the mean over negative and positive, not a mean that counts an absent neutral as 0);
    ``classes`` lists them. A class absent from ``y_true`` has ``None`` as its recall and F1 (undefined).
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
    present = support > 0
    names = CLASS_NAMES[:k]
    out: dict[str, Any] = {
        "n": float(m.sum()),
        "accuracy": float(tp.sum() / m.sum()),
        "macro_f1": float(f1[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "classes": [name for name, p in zip(names, present, strict=True) if p],
    }
    for i, name in enumerate(names):
        out[f"recall_{name}"] = float(recall[i]) if present[i] else None
        out[f"f1_{name}"] = float(f1[i]) if present[i] else None
    return out


def classes_note(result: dict[str, Any], k: int = 3) -> str | None:
    """``"2 classes: no neutral in the gold labels"`` when ``scores`` averaged over fewer than ``k``
    classes, else ``None``."""
    present = list(result.get("classes", CLASS_NAMES[:k]))
    missing = [name for name in CLASS_NAMES[:k] if name not in present]
    if not missing:
        return None
    return (
        f"{len(present)} class{'es' if len(present) != 1 else ''}: no {' or '.join(missing)} in the gold "
        f"labels; macro-F1 and macro-recall average over {', '.join(present)} only"
    )
