"""Connect Four agent benchmark: the same measurements as ``chatcast eval game`` (strength and speed).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_game.py                      # shipped weights, default test sets
    .venv/bin/python benchmarks/bench_game.py --weights runs/game/latest_net.pt --max-positions 1000

Prints tables and writes ``benchmarks/results/game_eval.json`` (see ``skills/game/evaluate.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import typer  # noqa: E402

from skills.game.evaluate import eval_game  # noqa: E402

if __name__ == "__main__":
    typer.run(eval_game)
