"""Router overhead per chat message on a real Twitch log: parse + route, no storage, no replay adapter.

Measures messages/s through ``bot.router.Router.handle`` (plus ``drain``) on one core for:

- ``base-noop``: one skill that overrides no hook (nothing is scheduled per message);
- ``hook-noop``: one skill whose ``on_message`` does nothing (one task per message);
- ``builtin+noop``: ``BuiltinSkill`` (``!help``) plus ``base-noop``; the log's ``!`` lines are parsed;
- ``parse-only``: ``CommandParser.parse`` alone.

The end-to-end number with storage and the replay adapter is ``benchmarks/bench_core.py`` (Core A's).
Times are the best of 3 runs, as CPU time of this process (steady on a shared machine) and wall time.
Usage: ``python benchmarks/bench_router.py [LOG ...] [--repeat N]``; prints a table and writes
``benchmarks/results/bench_router.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.builtin import BuiltinSkill  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.events import ChatMessage, Reply, Viewer  # noqa: E402
from bot.parsing import CommandParser  # noqa: E402
from bot.router import Router  # noqa: E402
from skills.base import Skill, SkillSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "../shared/data/twitch_chat"
DEFAULT_LOGS = [DATA / "10-23-24.txt", DATA / "5-19-24.txt"]
LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\] ([^:]+): (.*)$")


class BaseNoop(Skill):
    name = "noop"


class HookNoop(Skill):
    name = "hook"

    async def on_message(self, message: ChatMessage) -> None:
        return None


def load(paths: list[Path]) -> list[ChatMessage]:
    """Chat lines of the logs as ``ChatMessage`` (malformed lines skipped)."""
    out = []
    for path in paths:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            m = LINE.match(line)
            if not m:
                continue
            ts = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            user = m.group(2).strip()
            out.append(ChatMessage("twitch", path.stem, f"{path.stem}:{i}", Viewer("twitch", user, user),
                                   m.group(3), ts))
    return out


async def run_router(skills: list[Skill], messages: list[ChatMessage]) -> tuple[float, float, dict[str, int]]:
    async def send(reply: Reply) -> None:
        return None

    settings = SkillSettings()
    router = Router(
        skills, prefix_for=lambda p, c: "!", enabled_for=lambda s, p, c: True,
        settings_for=lambda s, p, c: settings, send=send, clock=ManualClock(),
    )
    start, cpu = time.perf_counter(), time.process_time()
    for msg in messages:
        await router.handle(msg)
    await router.drain()
    return time.perf_counter() - start, time.process_time() - cpu, router.stats


def row(case: str, n: int, wall: float, cpu: float, commands: int | None) -> dict[str, object]:
    """One result row from the best wall and CPU times (seconds) of ``n`` messages."""
    return {"case": case, "messages": n, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
            "messages_per_s_wall": round(n / wall), "messages_per_s_cpu": round(n / max(cpu, 1e-9)),
            "us_per_message_cpu": round(cpu / n * 1e6, 2), "commands_handled": commands}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*", type=Path, default=DEFAULT_LOGS)
    parser.add_argument("--repeat", type=int, default=10, help="times the logs are replayed per case")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/bench_router.json")
    args = parser.parse_args()
    base = load(args.logs)
    if not base:
        sys.exit(f"no chat lines found in {', '.join(map(str, args.logs))}")
    messages = base * args.repeat
    commands = sum(1 for m in base if m.text.lstrip().startswith("!"))
    rows = []
    cases = {
        "base-noop": lambda: [BaseNoop(None)],  # type: ignore[arg-type]
        "hook-noop": lambda: [HookNoop(None)],  # type: ignore[arg-type]
        "builtin+noop": lambda: [BuiltinSkill(None), BaseNoop(None)],  # type: ignore[arg-type]
    }
    for name, make in cases.items():
        runs = [asyncio.run(run_router(make(), messages)) for _ in range(3)]
        rows.append(row(name, len(messages), min(r[0] for r in runs), min(r[1] for r in runs),
                        runs[0][2]["commands_handled"]))
    cmd_parser = CommandParser({"help", "commands", "qna", "vods"})
    walls, cpus = [], []
    for _ in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        for msg in messages:
            cmd_parser.parse(msg.text, "!")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    rows.append(row("parse-only", len(messages), min(walls), min(cpus), None))
    print(f"{len(base)} log lines ({commands} start with '!') x {args.repeat}; best of 3; one core")
    print(f"{'case':<14}{'messages':>10}{'msg/s CPU':>12}{'us/msg CPU':>12}{'msg/s wall':>12}")
    for r in rows:
        print(f"{r['case']:<14}{r['messages']:>10}{r['messages_per_s_cpu']:>12,}{r['us_per_message_cpu']:>12.2f}"
              f"{r['messages_per_s_wall']:>12,}")
    result = {
        "benchmark": "bench_router",
        "logs": [str(p) for p in args.logs],
        "repeat": args.repeat,
        "device": {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
                   "python": platform.python_version(), "cpus": os.cpu_count(),
                   "load_average_1m": os.getloadavg()[0]},
        "target_messages_per_s": 20_000,
        "rows": rows,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
