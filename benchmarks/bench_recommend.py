"""Recommender at scale: synthetic 100,000 viewers x 10,000 items with power-law popularity.

Measures training time and memory of the item-item model (EASE^R and cosine kNN) and the latency of one
``!recommend`` query (the model part: score, mask seen/excluded items, top-3 with reasons; the skill's
SQLite read of the viewer's history is not included). Prints a table and writes
``benchmarks/results/recommend_bench.json``.

    .venv/bin/python benchmarks/bench_recommend.py [--users 100000] [--items 10000] [--queries 2000]

Data: item popularity ~ Zipf (p_j proportional to 1 / rank^alpha, alpha = 1.0), viewers belong to one of
50 taste clusters (half of each viewer's watches come from their cluster's items, so the item-item model
has structure to find), history lengths ~ 1 + geometric(mean 20), times uniform over 90 days, 30 % of
watches repeated (live platforms are repeat-heavy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skills.recommend.model import HybridParams, HybridRecommender, interaction_matrix  # noqa: E402

DAY = 86_400.0


def synthetic(n_users: int, n_items: int, *, mean_len: float = 20.0, alpha: float = 1.0, clusters: int = 50,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, times) of a power-law, clustered, repeat-heavy watch log (see module docstring)."""
    rng = np.random.default_rng(seed)
    lengths = 1 + rng.geometric(1.0 / mean_len, n_users)
    users = np.repeat(np.arange(n_users), lengths)
    m = len(users)
    p = 1.0 / np.arange(1, n_items + 1) ** alpha
    p /= p.sum()
    global_items = rng.choice(n_items, size=m, p=p)
    cluster_of_item = rng.permutation(n_items) % clusters
    members = [np.flatnonzero(cluster_of_item == c) for c in range(clusters)]
    user_cluster = rng.integers(0, clusters, n_users)[users]
    in_cluster = np.empty(m, dtype=np.int64)
    for c in range(clusters):
        idx = np.flatnonzero(user_cluster == c)
        pc = p[members[c]] / p[members[c]].sum()
        in_cluster[idx] = members[c][rng.choice(len(members[c]), size=len(idx), p=pc)]
    items = np.where(rng.random(m) < 0.5, in_cluster, global_items)
    repeat = rng.random(m) < 0.3
    items[1:][repeat[1:] & (users[1:] == users[:-1])] = items[:-1][repeat[1:] & (users[1:] == users[:-1])]
    times = rng.uniform(0, 90 * DAY, m)
    return users, items, times


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--methods", default="ease,knn")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/recommend_bench.json"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    users, items, times = synthetic(args.users, args.items)
    gen_s = time.perf_counter() - t0
    X = interaction_matrix(users, items, times, args.users, args.items, half_life_days=30.0,
                           reference="global")
    print(f"data: {args.users:,} viewers x {args.items:,} items, {len(users):,} watches "
          f"({X.nnz:,} distinct pairs), generated in {gen_s:.1f}s; peak RSS {peak_rss_mb():.0f} MiB")
    rng = np.random.default_rng(1)
    E = rng.normal(size=(args.items, 384)).astype(np.float32)  # stand-in item-text embeddings
    query_users = rng.choice(args.users, size=args.queries, replace=False)
    exclude = np.zeros(args.items, dtype=bool)
    exclude[rng.choice(args.items, 20, replace=False)] = True  # streamer exclusions

    rows = []
    for method in args.methods.split(","):
        params = HybridParams(method=method, l2=200.0, neighbors=200, content_weight=0.3, diversity=0.3)
        before = peak_rss_mb()
        t0 = time.perf_counter()
        model = HybridRecommender(params).fit(X, E)
        train_s = time.perf_counter() - t0
        train_peak = peak_rss_mb()
        model_mb = (model.B.data.nbytes + model.B.indices.nbytes + model.B.indptr.nbytes
                    + model.embeddings.nbytes + model.popularity.nbytes) / 2**20
        for label, p in (("hybrid + MMR", params),
                         ("CF only", HybridParams(method=method, l2=200.0, neighbors=200))):
            model.params = p
            lat, cpu = [], []
            for u in query_users:
                h = X[int(u)]
                c1, t1 = time.thread_time(), time.perf_counter()
                model.recommend(h, 3, exclude=exclude)
                lat.append((time.perf_counter() - t1) * 1000)
                cpu.append((time.thread_time() - c1) * 1000)
            lat, cpu = np.array(lat), np.array(cpu)
            rows.append({
                "method": method, "query": label, "train_s": round(train_s, 2),
                "peak_rss_mb": round(train_peak, 1), "rss_before_mb": round(before, 1),
                "model_mb": round(model_mb, 1), "p50_ms": round(float(np.percentile(lat, 50)), 3),
                "p95_ms": round(float(np.percentile(lat, 95)), 3),
                "p99_ms": round(float(np.percentile(lat, 99)), 3),
                "max_ms": round(float(lat.max()), 3),
                "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
                "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
            })
        del model

    header = ["method", "query", "train_s", "peak_rss_mb", "model_mb", "p50_ms", "p99_ms", "cpu_p50_ms",
              "cpu_p99_ms"]
    print(" | ".join(f"{h:>12}" for h in header))
    for r in rows:
        print(" | ".join(f"{r[h]!s:>12}" for h in header))
    result = {
        "device": f"{platform.processor() or platform.machine()} ({platform.system()}), CPU only, "
                  "2 cores shared with other jobs",
        "users": args.users, "items": args.items, "watches": int(len(users)), "distinct_pairs": int(X.nnz),
        "queries": args.queries, "target_p99_ms": 5.0, "rows": rows,
        "load_average_at_end": list(os.getloadavg()),
        "note": "latency of the model part of one !recommend (top-3, seen + excluded masked, reasons). "
                "p*_ms is wall-clock time, which on this shared 2-core machine includes waiting for other "
                "processes; cpu_p*_ms is the thread's CPU time for the same queries. peak_rss_mb is the "
                "process peak after training (includes the data).",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
