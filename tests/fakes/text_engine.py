"""A deterministic fake engine for the FAQ and mood tests: bag-of-words embeddings (hashed, L2-normalised).

Two texts sharing words get a high cosine, unrelated texts ~0, so FAQ matching behaves predictably without
a real model. ``classify`` runs a registered head on those embeddings.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

DIM = 384
STOP = {"the", "a", "is", "this", "it", "you", "what", "s", "to", "are", "do", "does", "how", "i", "of"}


def bow_embed(texts: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(texts), DIM), np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            out[row, zlib.crc32(word.encode()) % DIM] += 0.3 if word in STOP else 1.0
        norm = np.linalg.norm(out[row])
        out[row] = out[row] / norm if norm else out[row]
    return out


class FakeEngine:
    """Implements the parts of ``InferenceEngine`` the mood and FAQ skills use."""

    def __init__(self) -> None:
        self.embed_calls: list[list[str]] = []
        self.model_calls: list[tuple[str, list[str]]] = []  # calls to a second model (``model=spec``)
        self.registered: list[str] = []
        self.classify_calls: list[list[str]] = []
        self.heads: dict[str, Any] = {}
        self.unavailable: dict[str, str] = {}  # kind -> why (``why_unavailable``)

    async def embed(
        self, texts: Sequence[str], *, priority: Any = None, timeout: float | None = None,
        model: str | None = None,
    ) -> np.ndarray:
        if model is None:
            self.embed_calls.append(list(texts))
        else:
            assert model in self.registered, f"embed(model={model!r}) before register_embedder"
            if f"embed:{model}" in self.unavailable:
                raise RuntimeError(self.unavailable[f"embed:{model}"])
            self.model_calls.append((model, list(texts)))
        return bow_embed(texts)

    def register_embedder(self, spec: str) -> None:
        if spec not in self.registered:
            self.registered.append(spec)

    def why_unavailable(self, kind: str) -> str | None:
        return self.unavailable.get(kind)

    def register_classifier(self, name: str, loader: Any) -> None:
        self.heads[name] = loader

    async def classify(
        self, name: str, texts: Sequence[str], *, priority: Any = None, timeout: float | None = None
    ) -> np.ndarray:
        self.classify_calls.append(list(texts))
        head = self.heads[name]
        if not hasattr(head, "weights"):  # a loader, not a head yet
            head = head()
            self.heads[name] = head
        return head(list(texts), bow_embed(texts))

    async def stop(self) -> None:
        return None

    def available(self, kind: str) -> bool:
        if kind.startswith("embed:"):
            return kind[6:] in self.registered and kind not in self.unavailable
        return kind == "embed" or kind.removeprefix("classify:") in self.heads
