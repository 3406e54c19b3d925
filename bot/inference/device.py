"""Device and dtype choice, the per-device worker thread, and out-of-memory batch splitting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

log = logging.getLogger("chatcast.inference")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class DeviceChoice:
    """Where models run: ``device`` (``torch.device``), ``dtype`` for transformer weights, and ``reason``
    (one sentence, logged at start-up)."""

    device: torch.device
    dtype: torch.dtype
    reason: str


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def choose_device(device: str = "auto", dtype: str = "auto") -> DeviceChoice:
    """Pick the device and weight dtype.

    ``device``: ``auto`` -> CUDA when ``torch.cuda.is_available()``, else CPU; ``cpu`` / ``cuda`` force it
    (forcing ``cuda`` without a GPU raises ``RuntimeError`` naming the problem). ``dtype``: ``auto`` ->
    bf16 on GPUs that support it, else fp16; fp32 on CPU (half precision matmuls are slow on CPUs).
    """
    cuda_ok = torch.cuda.is_available()
    if device == "cuda" and not cuda_ok:
        raise RuntimeError("inference.device = 'cuda' but torch sees no CUDA GPU (torch.cuda.is_available() "
                           "is False); use device = 'auto' or 'cpu'")
    use_cuda = device == "cuda" or (device == "auto" and cuda_ok)
    if use_cuda:
        dev = torch.device("cuda")
        name = torch.cuda.get_device_name(0)
        if dtype == "auto":
            dt = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dt = _DTYPES[dtype]
        why = f"CUDA GPU {name} ({'forced' if device == 'cuda' else 'available'}), weights {dt}"
    else:
        dev = torch.device("cpu")
        dt = torch.float32 if dtype == "auto" else _DTYPES[dtype]
        why = ("CPU forced by config" if device == "cpu" else "no CUDA GPU found") + f", weights {dt}"
    return DeviceChoice(dev, dt, why)


class DeviceWorker:
    """One worker thread per device: every model call on that device runs here, in submission order, so
    the event loop never blocks on a model and two batches never fight over the same cores/GPU."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"chatcast-infer-{device.type}")

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(*args)`` on the worker thread under ``torch.inference_mode`` and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _in_inference_mode, fn, args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _in_inference_mode(fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    with torch.inference_mode():
        return fn(*args)


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an accelerator out-of-memory error (``torch.OutOfMemoryError`` or a
    ``RuntimeError`` whose message says "out of memory", as older CUDA/MPS builds raise)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def run_with_oom_split(fn: Callable[[list[T]], list[R]], items: Sequence[T],
                       on_split: Callable[[], None] | None = None) -> list[R]:
    """``fn(items)``, and when it runs out of memory, split the batch in halves and retry each (recursively)
    so no request is lost; a single item that still does not fit re-raises the error. Results keep the
    order of ``items``. ``on_split`` is called once per split (for stats)."""
    items = list(items)
    try:
        return fn(items)
    except Exception as exc:
        if not is_oom(exc) or len(items) <= 1:
            raise
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if on_split is not None:
        on_split()
    half = len(items) // 2
    log.warning("out of memory on a batch of %d; retrying as %d + %d", len(items), half, len(items) - half)
    return run_with_oom_split(fn, items[:half], on_split) + run_with_oom_split(fn, items[half:], on_split)
