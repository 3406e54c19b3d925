"""Per-model serving statistics: batches, batch sizes, queue wait and latency percentiles, shedding."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

_WINDOW = 4096  # recent samples kept per series; percentiles describe the recent past, not all time


class ModelStats:
    """Counters and recent-latency windows of one served model. Thread-safe (the worker thread and the
    event loop both record).

    ``summary()`` returns floats: ``requests`` (answered, all time), ``batches`` (for generation: decoding
    steps), ``items``, ``mean_batch_size``, ``max_batch_size``,
    ``queue_wait_p50_ms`` / ``p95`` / ``p99``, ``latency_p50_ms`` / ``p95`` / ``p99``, ``shed``,
    ``timeouts``, ``errors``, ``oom_splits``, ``queued``, ``fused_items`` (classifier items served inside
    an embedding batch instead of their own batches) and, for generation, ``ttft_p50_ms`` / ``p95``
    and ``tokens``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches = 0
        self.requests = 0
        self.items = 0
        self.max_batch = 0
        self.shed = 0
        self.timeouts = 0
        self.errors = 0
        self.oom_splits = 0
        self.tokens = 0
        self.queued = 0
        self.fused_items = 0
        self._waits: deque[float] = deque(maxlen=_WINDOW)
        self._latencies: deque[float] = deque(maxlen=_WINDOW)
        self._ttft: deque[float] = deque(maxlen=_WINDOW)

    def record_batch(self, size: int) -> None:
        """One batch (or one decoding step) of ``size`` items ran."""
        with self._lock:
            self.batches += 1
            self.items += size
            self.max_batch = max(self.max_batch, size)

    def record_wait(self, seconds: float) -> None:
        with self._lock:
            self._waits.append(seconds)

    def record_latency(self, seconds: float) -> None:
        """One request was answered, ``seconds`` after it was queued."""
        with self._lock:
            self.requests += 1
            self._latencies.append(seconds)

    def record_ttft(self, seconds: float) -> None:
        with self._lock:
            self._ttft.append(seconds)

    def add(self, field: str, n: int = 1) -> None:
        """Increment a counter (``shed``, ``timeouts``, ``errors``, ``oom_splits``, ``tokens``,
        ``fused_items``)."""
        with self._lock:
            setattr(self, field, getattr(self, field) + n)

    @staticmethod
    def _pcts(name: str, values: list[float]) -> dict[str, float]:
        if not values:
            return {f"{name}_p50_ms": 0.0, f"{name}_p95_ms": 0.0, f"{name}_p99_ms": 0.0}
        p50, p95, p99 = np.percentile(np.asarray(values) * 1000.0, [50, 95, 99])
        return {f"{name}_p50_ms": float(p50), f"{name}_p95_ms": float(p95), f"{name}_p99_ms": float(p99)}

    def summary(self) -> dict[str, float]:
        with self._lock:
            waits, lats, ttft = list(self._waits), list(self._latencies), list(self._ttft)
            out: dict[str, float] = {
                "requests": float(self.requests),
                "batches": float(self.batches),
                "items": float(self.items),
                "mean_batch_size": self.items / self.batches if self.batches else 0.0,
                "max_batch_size": float(self.max_batch),
                "shed": float(self.shed),
                "timeouts": float(self.timeouts),
                "errors": float(self.errors),
                "oom_splits": float(self.oom_splits),
                "queued": float(self.queued),
                "fused_items": float(self.fused_items),
            }
        out.update(self._pcts("queue_wait", waits))
        out.update(self._pcts("latency", lats))
        if ttft or self.tokens:
            out.update(self._pcts("ttft", ttft))
            out["tokens"] = float(self.tokens)
        return out
