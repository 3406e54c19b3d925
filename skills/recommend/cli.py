"""``chatcast eval recommend``: offline evaluation of the recommender against baselines (see evaluate.py)."""

from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path

import typer

log = logging.getLogger(__name__)

DATA = Path("../shared/data")
DEFAULT_RATINGS = DATA / "movielens_latest_small" / "ratings.csv"
DEFAULT_TWITCH = DATA / "twitch_chat"
DEFAULT_OUT = Path("benchmarks/results/recommend_eval.json")


def register(train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``chatcast eval recommend`` (no ``train`` command: the bot trains on its own watch history)."""

    @eval_app.command("recommend")
    def eval_recommend(
        ratings: Path = typer.Option(
            DEFAULT_RATINGS, help="CSV in MovieLens format: userId,movieId,rating,timestamp"
        ),
        movies: Path | None = typer.Option(
            None, help="movies.csv for item texts (default: next to --ratings)"
        ),
        twitch: Path = typer.Option(DEFAULT_TWITCH, help="folder of Twitch chat logs (*.txt)"),
        live: bool = typer.Option(True, help="also run the Twitch-chat next-session evaluation"),
        out: Path = typer.Option(DEFAULT_OUT, help="JSON results file"),
        content: bool = typer.Option(True, help="use MiniLM embeddings of item texts (cached on disk)"),
        quick: bool = typer.Option(False, help="one grid point per method (smoke test)"),
    ) -> None:
        """Recall@10, NDCG@10, coverage, ARP and Gini: ours vs popularity, implicit ALS and BPR."""
        results = run_all(ratings, movies, twitch if live else None, content=content, quick=quick,
                          progress=typer.echo)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
        typer.echo(f"wrote {out}")


def run_all(
    ratings: Path,
    movies: Path | None,
    twitch: Path | None,
    *,
    content: bool = True,
    quick: bool = False,
    progress=print,
) -> dict:
    """Run both evaluations, print tables, return the JSON-able results."""
    from skills.recommend import datasets
    from skills.recommend.evaluate import grid, load_ratings, run_protocol, standard_methods

    if not ratings.exists():
        raise typer.BadParameter(f"ratings file not found: {ratings}")
    t0 = time.perf_counter()
    data = load_ratings(ratings)
    embeddings = None
    movies = movies or ratings.parent / "movies.csv"
    if content and movies.exists():
        texts = datasets.movielens_item_texts(movies, data.item_ids)
        embeddings = datasets.embed_texts_cached(texts)
    elif content:
        progress(f"no {movies}: evaluating without content embeddings")
    results: dict = {
        "device": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "ratings": str(ratings),
    }
    results["movielens"] = run_protocol(data, standard_methods(embeddings, quick=quick), progress=progress)
    print_table(f"{ratings.name}: per-user temporal split (last 20% test)", results["movielens"])

    if twitch is not None and not Path(twitch).is_dir():
        progress(f"no folder {twitch}: skipping the Twitch-chat evaluation")
    elif twitch is not None:
        lines = datasets.read_chat_logs(sorted(Path(twitch).glob("*.txt")))
        live = datasets.twitch_emote_interactions(lines)
        presence = datasets.presence_sessions(lines)
        ours = grid(l2=[1.0, 10.0, 100.0], half_life_events=[None, 10.0], repeat_weight=[0.0, 1.0, 3.0])
        res = run_protocol(
            live,
            standard_methods(None, quick=quick, ours_grid=ours),
            split=datasets.next_session_split,
            repeats=True,
            progress=progress,
        )
        res["presence"] = {
            "viewers": len({r["viewer"] for r in presence}),
            "presence_rows": len(presence),
            "segments": len({r["segment"] for r in presence}),
        }
        results["twitch_next_session"] = res
        print_table("Twitch chat: next-session emote engagement (repeats allowed)", res)
    results["elapsed_s"] = time.perf_counter() - t0
    return results


def print_table(title: str, res: dict) -> None:
    """Rich table of the per-method metrics in ``res['methods']``."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("method", "NDCG@10", "recall@10", "coverage", "ARP", "Gini", "best params"):
        table.add_column(col)
    for name, m in res["methods"].items():
        table.add_row(
            name,
            f"{m['ndcg@10']:.4f}",
            f"{m['recall@10']:.4f}",
            f"{m['coverage']:.3f}",
            f"{m['arp']:.1f}",
            f"{m['gini']:.3f}",
            json.dumps(m["best_params"]),
        )
    Console().print(table)
