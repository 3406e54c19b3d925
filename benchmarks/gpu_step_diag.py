"""GPU decode-step diagnosis: the engine's decode step against variants of its attention, and transformers'
``generate``, per step, at batch 1 and 16, on Gemma 3 270M's architecture with random weights (timing only:
the weights do not change the work; they could not travel to the lent machine).

    DIAG_MODEL=<folder with config.json and tokenizer> python benchmarks/gpu_step_diag.py

``DIAG_DEVICE`` (default cuda), ``DIAG_STEPS`` (default 30). Prints one line per variant and a profiler
table; the H200 run's output is ``benchmarks/results/gpu/step_diag.txt``. Written for the 2026-11-29
H200 run, which found cuDNN attention behind a 3x slower step (``generation.attention_backends``; this
script's "engine step" lines were measured before that fix).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.inference.api import RequestPriority  # noqa: E402
from bot.inference.generation import SamplingParams, _DecodeState, _Sequence  # noqa: E402

DEV = torch.device(os.environ.get("DIAG_DEVICE", "cuda"))
STEPS = int(os.environ.get("DIAG_STEPS", "30"))
PROMPTS = [
    "The streamer opened the mysterious chest and found",
    "Once upon a time, in a kingdom ruled by cats,",
    "Chat voted to explore the haunted lighthouse. Inside,",
    "The raid boss had one hit point left when",
] * 4
BACKENDS = {
    "no cuDNN": [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH],
    "efficient only": [SDPBackend.EFFICIENT_ATTENTION],
    "math only": [SDPBackend.MATH],
}


def sync() -> None:
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def running(model, tok, loop, batch: int) -> _DecodeState:
    st = _DecodeState(model, tok, DEV)
    st.eos = set()
    params = SamplingParams(max_new_tokens=10**6, temperature=0.0, repetition_penalty=1.0)
    st.prefill([
        _Sequence(list(tok(p)["input_ids"]), params, RequestPriority.INTERACTIVE, loop.create_future())
        for p in PROMPTS[:batch]
    ])
    return st


def ms_per_step(st: _DecodeState) -> float:
    for _ in range(3):
        st.step()
    sync()
    t = time.perf_counter()
    for _ in range(STEPS):
        st.step()
    sync()
    return (time.perf_counter() - t) / STEPS * 1000


def main() -> None:
    folder = os.environ.get("DIAG_MODEL", "/root/g")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder), dtype=torch.bfloat16)
    model = model.to(DEV).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    loop = asyncio.new_event_loop()
    print("attn", model.config._attn_implementation, "torch", torch.__version__, flush=True)
    orig = model.forward

    def no_mask_forward(*a, **k):  # drop an all-ones mask, as generate does for an unpadded batch
        m = k.get("attention_mask")
        if m is not None and bool(m.all()):
            k["attention_mask"] = None
        return orig(*a, **k)

    with torch.inference_mode():
        ms_per_step(running(model, tok, loop, 1))  # first-use costs out of the way
        for b in (1, 16):
            print(f"batch {b}: engine step {ms_per_step(running(model, tok, loop, b)):.1f} ms", flush=True)
            for name, backends in BACKENDS.items():
                try:
                    with sdpa_kernel(backends):
                        ms = ms_per_step(running(model, tok, loop, b))
                    print(f"batch {b}: engine step, sdpa {name}: {ms:.1f} ms", flush=True)
                except RuntimeError as exc:
                    print(f"batch {b}: sdpa {name}: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
            model.forward = no_mask_forward
            ms = ms_per_step(running(model, tok, loop, b))
            print(f"batch {b}: engine step, mask dropped when all ones: {ms:.1f} ms", flush=True)
            model.forward = orig
            ids = tok(PROMPTS[:b], return_tensors="pt", padding=True, padding_side="left").to(DEV)
            model.generate(**ids, max_new_tokens=3, do_sample=False)
            sync()
            t = time.perf_counter()
            model.generate(**ids, max_new_tokens=40, min_new_tokens=40, do_sample=False)
            sync()
            ms = (time.perf_counter() - t) / 40 * 1000
            print(f"batch {b}: HF generate per step {ms:.1f} ms", flush=True)
        model.config._attn_implementation = "eager"
        print(f"batch 16: engine step, eager attention {ms_per_step(running(model, tok, loop, 16)):.1f} ms")
        st = running(model, tok, loop, 16)
        for _ in range(3):
            st.step()
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if DEV.type == "cuda" else [])
        with profile(activities=acts) as prof:
            for _ in range(3):
                st.step()
            sync()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()
