"""The interface every skill uses to run a model. ``bot.inference.engine.Engine`` implements it.

Shapes: ``embed`` -> ``(n, d)`` float32, rows L2-normalised (d = 384 for all-MiniLM-L6-v2);
``classify`` -> ``(n, k)`` float32 probabilities (rows sum to 1; for ``"sentiment"`` k = 3 in the
order negative, neutral, positive); ``policy`` takes ``(n, *state_shape)`` float32 and returns
``(logits (n, actions) float32, value (n,) float32 in [-1, 1])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Protocol

import numpy as np


class RequestPriority(IntEnum):
    """Interactive requests (a viewer waits: story, game moves, FAQ) are served before background ones
    (mood scoring of every message). Background requests are shed first under overload."""

    INTERACTIVE = 0
    BACKGROUND = 1


class InferenceError(Exception):
    """Base of the engine's errors."""


class EngineBusy(InferenceError):
    """The request was shed or timed out waiting in the queue; tell the viewer the bot is busy."""


class ModelUnavailable(InferenceError):
    """The named model is not loaded (missing files, disabled, failed to load); the message says why."""


class InferenceEngine(Protocol):
    async def embed(
        self, texts: Sequence[str], *, priority: RequestPriority = RequestPriority.BACKGROUND,
        timeout: float | None = None,
    ) -> np.ndarray: ...

    async def classify(
        self, name: str, texts: Sequence[str], *, priority: RequestPriority = RequestPriority.BACKGROUND,
        timeout: float | None = None,
    ) -> np.ndarray: ...

    async def generate(
        self, prompt: str, *, max_new_tokens: int = 60, temperature: float = 0.8, top_p: float = 0.95,
        repetition_penalty: float = 1.1, stop: Sequence[str] = (), seed: int | None = None,
        priority: RequestPriority = RequestPriority.INTERACTIVE, timeout: float | None = None,
    ) -> str: ...

    async def policy(
        self, name: str, states: np.ndarray, *, priority: RequestPriority = RequestPriority.INTERACTIVE,
        timeout: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def available(self, kind: str) -> bool:
        """Whether ``"embed"``, ``"generate"``, ``"classify:<name>"`` or ``"policy:<name>"`` can be served."""
        ...

    def stats(self) -> dict[str, dict[str, float]]:
        """Per model: batches, mean/max batch size, queue wait and latency p50/p95/p99 (ms), shed count."""
        ...


# Registration contract (implemented by bot.inference.engine.Engine), used by skills at start():
#
#   engine.register_classifier(name, loader)
#       loader() -> head, a callable head(texts: list[str], embeddings: (n, 384) float32) -> (n, k) float32
#       probabilities. The engine computes (and caches) the embeddings with its embedding model, batches
#       requests from every channel, and runs head off the event loop. ``classify(name, texts)`` serves it.
#       A Hugging Face sequence-classification id configured under [inference.classifiers.<name>] replaces
#       the head when set.
#
#   engine.register_policy(name, loader, *, max_batch_size=256, max_wait_ms=2.0)
#       loader() -> torch.nn.Module whose forward(x: (n, *state_shape) float32 tensor) returns
#       (logits (n, actions), value (n,) or (n, 1)). The engine moves it to its device, runs it under
#       torch.inference_mode and micro-batches ``policy(name, states)`` calls from every game.
