"""``chatcast train game`` and ``chatcast eval game``.

``register(train_app, eval_app)`` adds a ``game`` command to each Typer app. Also runnable directly:
``python -m skills.game.cli train --minutes 90 --out runs/game`` / ``python -m skills.game.cli eval``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import typer

DEFAULT_DATA = Path("../shared/data/connect4_positions")
TRAIN_EVAL_SETS = ("test_easy_begin.json", "test_easy_middle.json", "test_medium_middle.json")


def train_game(
    minutes: float = typer.Option(90.0, help="Wall-clock minutes of training in this session."),
    resume: bool = typer.Option(
        False, "--resume/--fresh", help="Continue from <out>/checkpoint.pt when present."
    ),
    seed: int = typer.Option(0, help="Seed of numpy and torch (self-play, sampling, initial weights)."),
    out: Path = typer.Option(Path("runs/game"), help="Run directory: checkpoint, metrics.jsonl, curve.png."),
    data: Path = typer.Option(DEFAULT_DATA, help="Folder of solved positions, used ONLY to log strength."),
    threads: int = typer.Option(1, min=1, max=256, help="torch CPU threads."),
    games_in_flight: int = typer.Option(
        128, min=1, help="Self-play games searched concurrently (one network batch)."
    ),
) -> None:
    """Train the Connect Four policy-value network by self-play (AlphaZero-style, skills/game/train.py)."""
    if not math.isfinite(minutes) or minutes <= 0:  # NaN never reached the deadline: a run without end
        raise typer.BadParameter(f"give a number of minutes above 0, got {minutes}", param_hint="--minutes")
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file; give a folder for the run", param_hint="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /proc/x: a traceback
        why = exc.strerror or exc
        raise typer.BadParameter(f"{out} cannot be created ({why})", param_hint="--out") from None
    import torch

    from skills.game.train import TrainConfig, Trainer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(threads)
    config = TrainConfig(seed=seed, minutes=minutes, games_in_flight=games_in_flight)
    eval_sets = [data / name for name in TRAIN_EVAL_SETS if (data / name).exists()]
    if not eval_sets:
        typer.echo(f"note: no evaluation positions under {data}; logging match results only", err=True)
    trainer = Trainer(out, config, resume=resume, eval_positions=eval_sets)
    row = trainer.run()
    typer.echo(f"done: {row}")
    typer.echo(f"weights: {out / 'latest_net.pt'}  curve: {out / 'curve.png'}")


def register(train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``game`` to ``chatcast train`` and ``chatcast eval``."""
    train_app.command("game")(train_game)
    try:
        from skills.game.evaluate import eval_game
    except ImportError:  # evaluation needs the optional 'eval' extras (bitbully)
        return
    eval_app.command("game")(eval_game)


def main() -> None:
    """Entry point for ``python -m skills.game.cli``."""
    app = typer.Typer(add_completion=False, no_args_is_help=True)

    @app.callback()
    def _group() -> None:
        """Connect Four self-play training and evaluation."""

    app.command("train")(train_game)
    try:
        from skills.game.evaluate import eval_game

        app.command("eval")(eval_game)
    except ImportError:
        pass
    app()


if __name__ == "__main__":
    main()
