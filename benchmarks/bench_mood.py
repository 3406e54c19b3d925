"""Mood scoring throughput through the engine's batching, on a real chat log.

Each message is one ``engine.classify("sentiment", [text], priority=BACKGROUND)`` call, as the mood skill
makes them; the engine micro-batches concurrent calls (embedding + head). Two runs:

- ``burst``: all messages submitted at once (a fast replay): messages/s the engine sustains;
- ``paced``: messages arrive at ``--rate`` per second for ``--seconds``: does scoring keep up (p50/p95
  latency, shed count)? With ``--faq-model SPEC`` every paced message the FAQ skill would embed
  (``skills.faq.policy.worth_scoring`` with ``config.example.toml``'s FAQ) is also embedded by that second
  model at interactive priority, as ``[skills.faq] embed_model`` makes the bot do: does mood still keep
  up, and how long does the FAQ's embedding take (p50/p95)?

Usage: ``python benchmarks/bench_mood.py [--log ../shared/data/twitch_chat/5-19-24.txt] [--n 2000]
[--faq-model sentence-transformers/all-mpnet-base-v2] [--out FILE]``. Prints a table and writes ``--out``
(default ``benchmarks/results/bench_mood.json``, the committed results: pass ``--out /tmp/bench_mood.json``
to keep them). A missing, empty or non-UTF-8 log ends with one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.inference.api import RequestPriority  # noqa: E402
from bot.inference.engine import Engine  # noqa: E402
from bot.inference.settings import InferenceSettings  # noqa: E402
from skills.faq.evaluate import read_chat_lines  # noqa: E402
from skills.faq.policy import worth_scoring  # noqa: E402
from skills.faq.question import matching_text  # noqa: E402
from skills.faq.skill import FaqSettings  # noqa: E402
from skills.mood.skill import load_head  # noqa: E402


async def score_one(engine: Engine, text: str, lat: list[float], errors: list[str]) -> None:
    t = time.perf_counter()
    try:
        await engine.classify("sentiment", [text], priority=RequestPriority.BACKGROUND)
        lat.append(time.perf_counter() - t)
    except Exception as exc:  # noqa: BLE001 - count shed/timeouts
        errors.append(type(exc).__name__)


async def faq_one(engine: Engine, spec: str, text: str, lat: list[float], errors: list[str]) -> None:
    """One chat line embedded by the FAQ's own model, as the FAQ skill asks for it."""
    t = time.perf_counter()
    try:
        await engine.embed([matching_text(text, ())], priority=RequestPriority.INTERACTIVE, model=spec)
        lat.append(time.perf_counter() - t)
    except Exception as exc:  # noqa: BLE001 - count shed/timeouts
        errors.append(type(exc).__name__)


def example_faq() -> FaqSettings:
    """``[skills.faq]`` of ``config.example.toml``: its entries decide which short lines the FAQ embeds."""
    import tomllib

    return FaqSettings(**tomllib.loads((ROOT / "config.example.toml").read_text())["skills"]["faq"])


def _percentiles(lat: list[float]) -> dict[str, float]:
    arr = np.array(lat) * 1000 if lat else np.zeros(1)
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench_mood.json"


async def main(args: argparse.Namespace, lines: list[str]) -> dict:
    """Run the burst and paced runs over the chat ``lines``; returns the JSON-able results."""
    settings = InferenceSettings(
        device="cpu",
        load_generator=False,
        torch_threads=args.threads,
        stats_log_interval_s=0,
        quantize_int8=args.int8,
        embed={"max_batch_size": args.batch, "max_length": args.max_length},
        classifiers={"sentiment": {"max_batch_size": args.batch, "timeout_s": 30.0}},
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(settings, data_dir=Path(tmp))
        await engine.start()
        engine.register_classifier("sentiment", load_head)
        await engine.classify("sentiment", ["warm up"])
        if args.faq_model:
            engine.register_embedder(args.faq_model)
            await engine.embed(["warm up?"], model=args.faq_model, timeout=600)
        out: dict = {
            "log": str(args.log),
            "batch": args.batch,
            "threads": args.threads,
            "int8": args.int8,
            "max_length": args.max_length,
            "faq_model": args.faq_model,
            "device": f"cpu ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
            "load_average": os.getloadavg(),
        }
        # burst: distinct texts (the engine caches embeddings by text; chat repeats a lot, which helps it)
        burst = [f"{t} " for t in lines[: args.n]]
        lat: list[float] = []
        errors: list[str] = []
        t0 = time.perf_counter()
        await asyncio.gather(*(score_one(engine, t, lat, errors) for t in burst))
        wall = time.perf_counter() - t0
        out["burst"] = {
            "messages": len(burst),
            "seconds": wall,
            "messages_per_s": len(burst) / wall,
            "errors": len(errors),
            "error_types": sorted(set(errors)),
        }
        # paced: args.rate messages/s for args.seconds
        paced = [f"{t}  " for t in lines[args.n : args.n + int(args.rate * args.seconds)]]
        lat, errors, tasks = [], [], []
        faq_lat: list[float] = []
        faq_errors: list[str] = []
        faq = example_faq()
        t0 = time.perf_counter()
        for i, text in enumerate(paced):
            delay = t0 + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(score_one(engine, text, lat, errors)))
            if args.faq_model and worth_scoring(text, faq, (), faq.entries):
                tasks.append(asyncio.create_task(faq_one(engine, args.faq_model, text, faq_lat, faq_errors)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        out["paced"] = {
            "rate": args.rate,
            "messages": len(paced),
            "seconds": wall,
            "achieved_per_s": len(paced) / wall,
            **_percentiles(lat),
            "errors": len(errors),
            "kept_up": len(errors) == 0 and wall < args.seconds * 1.1 + 1,
        }
        if args.faq_model:
            out["paced"]["faq"] = {"messages": len(faq_lat) + len(faq_errors), **_percentiles(faq_lat),
                                   "errors": len(faq_errors)}
        out["engine_stats"] = engine.stats()
        await engine.stop()
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``: default ``sys.argv[1:]``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--log", default=str(ROOT / "../shared/data/twitch_chat/5-19-24.txt"))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--int8", action="store_true", help="dynamic int8 quantisation of the embedder")
    p.add_argument("--max-length", type=int, default=64, help="tokens per message (chat lines are short)")
    p.add_argument("--batch", type=int, default=64, help="embedding and head batch size")
    p.add_argument("--faq-model", default=None,
                   help="also embed the paced questions with this second model ([skills.faq] embed_model)")
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="JSON results file (default: the committed benchmarks/results/bench_mood.json)",
    )
    return p.parse_args(argv)


def run(argv: list[str] | None = None) -> int:
    """Read the log, benchmark, print the table, write ``--out``. Returns the exit code: 0, or 2 with one
    ``error: ...`` line on stderr for a bad log (missing, a folder, empty, not UTF-8) or ``--out`` folder."""
    a = parse_args(argv)
    if a.out.is_dir():
        print(f"error: {a.out}: --out is a folder; give a file name", file=sys.stderr)
        return 2
    try:
        lines = read_chat_lines(a.log)
    except OSError as exc:
        print(f"error: {exc.filename or a.log}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # skills.faq.evaluate.DataFormatError names the file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = asyncio.run(main(a, lines))
    print(f"{'run':<8} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    b, q = res["burst"], res["paced"]
    print(
        f"{'burst':<8} {b['messages']:>8} {b['seconds']:>8.2f} {b['messages_per_s']:>8.1f} {'':>8} {'':>8} "
        f"{b['errors']:>7}"
    )
    print(
        f"{'paced':<8} {q['messages']:>8} {q['seconds']:>8.2f} {q['achieved_per_s']:>8.1f} "
        f"{q['p50_ms']:>8.1f} "
        f"{q['p95_ms']:>8.1f} {q['errors']:>7}"
    )
    if "faq" in q:
        f = q["faq"]
        print(f"{'paced faq':<9} {f['messages']:>7} {'':>8} {'':>8} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} "
              f"{f['errors']:>7}   ({res['faq_model']})")
    print(f"load average during run: {res['load_average']}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2, default=str))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
