"""Engine start-up time and peak memory with every default model loaded (embeddings + Gemma 3 270M).

Each measurement is a fresh Python process that imports the engine, starts it with the default settings,
answers one ``embed`` and one 5-token ``generate``, then reports: import time, ``engine.start()`` time
(ready: chat and embeddings are served; the language model may still be loading in the background),
the time until both first answers (includes the language model's load) and peak resident memory
(``ru_maxrss``). ``warm`` runs use the converted-model cache in
``--data-dir``; ``--cold`` adds one run on an empty data dir (includes the ~1-2 minute GGUF conversion).
Targets (issue 3): peak RSS <= 2.5 GB on CPU; ready <= 10 s when the converted models are cached.

    .venv/bin/python benchmarks/bench_startup.py [--data-dir chatcast-data] [--runs 2] [--cold]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import asyncio, json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
import torch
from bot.inference.engine import Engine
from bot.inference.settings import InferenceSettings
t_import = time.perf_counter() - t0

async def main():
    s = InferenceSettings(stats_log_interval_s=0, torch_threads=int(sys.argv[2]))
    e = Engine(s, data_dir=Path(sys.argv[1]))
    t = time.perf_counter()
    await e.start()
    ready = time.perf_counter() - t
    await e.embed(["hello chat"])
    await e.wait_loaded()
    loaded = time.perf_counter() - t
    ok = {k: e.available(k) for k in ("embed", "generate")}
    await e.generate("Once upon a time", max_new_tokens=5, seed=0)
    first = time.perf_counter() - t
    await e.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
    print(json.dumps({"import_s": t_import, "ready_s": ready, "all_loaded_s": loaded,
                      "first_answers_s": first, "peak_rss_mb": rss,
                      "available": ok, "device": e.device.reason}))

asyncio.run(main())
"""


def run_child(data_dir: Path, threads: int) -> dict:
    root = Path(__file__).resolve().parents[1]
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), str(threads)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("chatcast-data"))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cold", action="store_true", help="also start once from an empty data dir")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "startup.json")
    args = ap.parse_args()
    runs: list[dict] = []
    if args.cold:
        with tempfile.TemporaryDirectory() as tmp:
            runs.append({"kind": "cold", **run_child(Path(tmp), args.threads)})
    else:
        run_child(args.data_dir, args.threads)  # makes sure the cache exists; not reported
    for _ in range(args.runs):
        runs.append({"kind": "warm", **run_child(args.data_dir, args.threads)})
    print(f"device: {runs[-1]['device']}")
    print(
        f"{'kind':6} {'import s':>9} {'ready s':>8} {'all loaded s':>13} {'1st answers s':>14} "
        f"{'peak RSS MB':>12}"
    )
    for r in runs:
        print(
            f"{r['kind']:6} {r['import_s']:9.1f} {r['ready_s']:8.1f} {r['all_loaded_s']:13.1f} "
            f"{r['first_answers_s']:14.1f} "
            f"{r['peak_rss_mb']:12.0f}"
        )
    warm = [r for r in runs if r["kind"] == "warm"]
    summary = {
        "warm_ready_s_median": sorted(r["ready_s"] for r in warm)[len(warm) // 2],
        "peak_rss_mb_max_warm": max(r["peak_rss_mb"] for r in warm),
    }
    summary["target_ready_10s"] = summary["warm_ready_s_median"] <= 10
    summary["target_rss_2_5gb"] = summary["peak_rss_mb_max_warm"] <= 2.5 * 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"device": runs[-1]["device"], "runs": runs, "summary": summary}
    args.out.write_text(json.dumps(result, indent=1))
    print(f"summary: {summary}\nwrote {args.out}")


if __name__ == "__main__":
    main()
