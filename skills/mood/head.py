"""The shipped sentiment head: a small MLP (or logistic regression) on ``skills.mood.features``.

``SentimentHead(texts, embeddings)`` -> ``(n, 3)`` float32 probabilities (negative, neutral, positive):
the contract of ``engine.register_classifier`` (``bot/inference/api.py``). Inference is plain NumPy so the
bot does not need torch for it; training lives in ``skills.mood.training``.

Weights file (``.npz``): ``mean``/``std`` (feature standardisation), ``W1``/``b1`` (hidden layer, absent
for a linear head), ``W2``/``b2`` (output layer), ``bias`` (per-class logit offset from calibration),
``temperature`` (scalar) and ``feature_names`` (checked at load time).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skills.mood.features import EXTRA_FEATURE_NAMES, message_features

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "sentiment_head.npz"


@dataclass
class HeadWeights:
    """Parameters of the head; ``W1 is None`` means a linear (logistic-regression) head."""

    mean: np.ndarray
    std: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    W1: np.ndarray | None = None
    b1: np.ndarray | None = None
    bias: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    temperature: float = 1.0
    meta: dict[str, str] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` (float16 weights keep the file small; inference is float32)."""
        arrays = {
            "mean": self.mean.astype(np.float32),
            "std": self.std.astype(np.float32),
            "W2": self.W2.astype(np.float16),
            "b2": self.b2.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "temperature": np.float32(self.temperature),
            "feature_names": np.asarray(EXTRA_FEATURE_NAMES),
            "meta_keys": np.asarray(list(self.meta)),
            "meta_values": np.asarray(list(self.meta.values())),
        }
        if self.W1 is not None and self.b1 is not None:
            arrays["W1"] = self.W1.astype(np.float16)
            arrays["b1"] = self.b1.astype(np.float32)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> HeadWeights:
        """Read weights written by ``save``. Raises ``FileNotFoundError``/``ValueError``."""
        with np.load(path, allow_pickle=False) as data:
            names = tuple(str(n) for n in data["feature_names"])
            if names != EXTRA_FEATURE_NAMES:
                raise ValueError(
                    f"{path}: trained for features {names}, this code computes {EXTRA_FEATURE_NAMES}"
                )
            get = lambda k: data[k].astype(np.float32) if k in data else None  # noqa: E731
            meta = dict(
                zip((str(k) for k in data["meta_keys"]), (str(v) for v in data["meta_values"]), strict=True)
            )
            return cls(
                mean=get("mean"),
                std=get("std"),
                W2=get("W2"),
                b2=get("b2"),
                W1=get("W1"),
                b1=get("b1"),
                bias=get("bias"),
                temperature=float(data["temperature"]),
                meta=meta,
            )

    @classmethod
    def load_checked(cls, path: str | Path) -> HeadWeights:
        """``load`` for a file a user named (``--weights``, ``[skills.mood] weights``): every way it can be
        unreadable (missing, a folder, not an ``.npz``, not a head, made for other features) becomes a
        ``ValueError`` whose message starts with the path and says what is wrong."""
        path = Path(path)
        if not path.exists():
            raise ValueError(f"{path}: no such file")
        if path.is_dir():
            raise ValueError(f"{path}: is a folder, not a weights file (.npz)")
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path}: not an .npz weights file")
        try:
            head = cls.load(path)
        except ValueError as exc:
            if str(exc).startswith(str(path)):
                raise
            raise ValueError(f"{path}: not a sentiment head weights file ({exc})") from None
        except (OSError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise ValueError(f"{path}: not a sentiment head weights file ({why})") from None
        missing = [k for k in ("mean", "std", "W2", "b2") if getattr(head, k) is None]
        if missing:
            raise ValueError(f"{path}: not a sentiment head weights file (no {', '.join(missing)})")
        if head.W2.ndim != 2 or head.W2.shape[1] != 3:
            raise ValueError(
                f"{path}: not a sentiment head (output layer {head.W2.shape}, expected 3 classes)"
            )
        return head

    def logits(self, x: np.ndarray) -> np.ndarray:
        """``(n, f)`` features -> ``(n, 3)`` calibrated logits."""
        h = (x - self.mean) / self.std
        if self.W1 is not None:
            h = np.maximum(h @ self.W1 + self.b1, 0.0)
        return (h @ self.W2 + self.b2 + self.bias) / self.temperature


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits (numerically stable)."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class SentimentHead:
    """Callable head ``(texts, embeddings (n, 384)) -> (n, 3)`` probabilities negative/neutral/positive.

    ``emotes`` adds channel emotes (name -> category of ``skills.mood.emotes.CATEGORIES``).
    """

    def __init__(self, weights: HeadWeights, emotes: Mapping[str, str] | None = None) -> None:
        self.weights = weights
        self.emotes = dict(emotes or {})

    @classmethod
    def load(
        cls, path: str | Path = DEFAULT_WEIGHTS, emotes: Mapping[str, str] | None = None
    ) -> SentimentHead:
        """Load the shipped (or a trained) weights file."""
        return cls(HeadWeights.load(path), emotes)

    def __call__(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 3), np.float32)
        x = message_features(texts, embeddings, self.emotes)
        return softmax(self.weights.logits(x))
