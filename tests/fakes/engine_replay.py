"""A replay through the real runtime and replay adapter with a fake inference engine, for skills whose
replies depend on the model's timing (story paragraphs, votes)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from bot.adapters.replay import ReplayAdapter
from bot.clock import ManualClock
from bot.config import Config
from bot.runtime import Runtime


async def replay_with_engine(config: Config, log: str, engine: Any, skills: dict[str, type]) -> ReplayAdapter:
    """Replay ``log`` (text or JSON lines, channel ``chan``) with ``engine`` standing in for the inference
    engine; returns the adapter, whose ``transcript`` holds what the bot sent, at which log time."""
    clock = ManualClock(datetime(2024, 10, 10, 17, 59, tzinfo=UTC))
    runtime = Runtime(config, clock=clock, db_path=":memory:", use_engine=True, skill_classes=skills,
                      daily_purge=False)

    async def start_engine() -> Any:
        return engine

    runtime._start_engine = start_engine  # type: ignore[method-assign]
    await runtime.start()
    try:
        adapter = ReplayAdapter(io.StringIO(log), channel="chan", clock=clock)
        await runtime.replay(adapter)
    finally:
        await runtime.stop()
    return adapter
