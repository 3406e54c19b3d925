"""``chatcast eval recommend``: offline evaluation of the recommender against baselines (see evaluate.py)."""

from __future__ import annotations

import contextlib
import csv
import errno
import importlib.util
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import typer

from skills.cli_errors import data_errors, decode_utf8, fail
from skills.run_info import device_info

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
        """Recall@10, NDCG@10, coverage, ARP and Gini: ours vs popularity, implicit ALS and BPR.

        Every input is read and checked before a model is fitted: a bad file ends the command with one
        "error: FILE: ..." line and exit code 2."""
        if out.is_dir():
            fail(f"{out}: --out is a folder; give a file name")
        results = run_all(ratings, movies, twitch if live else None, content=content, quick=quick,
                          progress=typer.echo)
        with data_errors():
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2, default=str))
        typer.echo(f"wrote {out}")


def check_movies(path: Path) -> None:
    """Check a MovieLens ``movies.csv`` before it is read: UTF-8 with the columns ``movieId`` and ``title``.

    Raises ``FileNotFoundError``/``IsADirectoryError`` (with the file name) and ``ValueError`` naming the
    file otherwise."""
    text = decode_utf8(path, path.read_bytes())
    header = next(csv.reader(io.StringIO(text, newline="")), None)
    if header is None:
        raise ValueError(f"{path}: empty file; expected a header movieId,title,genres")
    if not {"movieId", "title"} <= set(header):
        raise ValueError(f"{path}: header must contain movieId,title; got {header}")


def chat_logs(folder: Path) -> list[Path]:
    """The ``*.txt`` chat logs of ``folder``. Raises ``NotADirectoryError``/``FileNotFoundError`` (with the
    name) when it is not a folder and ``ValueError`` naming it when it holds no ``*.txt``."""
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder of Twitch chat logs", str(folder))
    logs = sorted(folder.glob("*.txt"))
    if not logs:
        raise ValueError(f"{folder}: no *.txt Twitch chat log in this folder")
    return logs


IMPLICIT_MISSING = (
    "the implicit library is not installed: the ALS and BPR baselines are skipped "
    "(pip install -e '.[eval]' adds them)"
)
"""Said (not an error) when ``implicit`` is missing: the README's install has no ``eval`` extra, and the
evaluation of our model needs no baseline."""


def run_all(
    ratings: Path,
    movies: Path | None,
    twitch: Path | None,
    *,
    content: bool = True,
    quick: bool = False,
    progress: Callable[[str], object] = print,
) -> dict:
    """Run both evaluations, print tables, return the JSON-able results.

    Every file is read and checked first (ratings, movies, chat logs, enough users for the splits); a bad
    one ends the command with ``error: FILE: ...`` and exit code 2 (``typer.Exit``). A missing default
    ``movies.csv`` or default chat-log folder only skips that part, with a note."""
    from skills.recommend import datasets
    from skills.recommend.evaluate import check_split, grid, load_ratings, run_protocol, standard_methods

    t0 = time.perf_counter()
    with data_errors():
        data = load_ratings(ratings)
    with _named(ratings):
        check_split(data)
    movies_file = movies or ratings.parent / "movies.csv"
    use_movies = content and (movies is not None or movies_file.exists())
    if use_movies:
        with data_errors():
            check_movies(movies_file)
    elif content:
        progress(f"no {movies_file}: evaluating without content embeddings")
    live = presence = None
    if twitch is not None and twitch == DEFAULT_TWITCH and not twitch.is_dir():
        progress(f"no folder {twitch}: skipping the Twitch-chat evaluation")
    elif twitch is not None:
        with data_errors():
            lines = datasets.read_chat_logs(chat_logs(twitch))
        live = datasets.twitch_emote_interactions(lines)
        presence = datasets.presence_sessions(lines)
        with _named(twitch):
            check_split(live, datasets.next_session_split, repeats=True)

    baselines = importlib.util.find_spec("implicit") is not None
    if not baselines:
        progress(IMPLICIT_MISSING)

    def methods(emb: np.ndarray | None, **kw: Any) -> list:
        specs = standard_methods(emb, quick=quick, **kw)
        return specs if baselines else [m for m in specs if not m.name.startswith("implicit")]

    embeddings = None
    if use_movies:
        texts = datasets.movielens_item_texts(movies_file, data.item_ids)
        embeddings = datasets.embed_texts_cached(texts)
    results: dict = {"device": {}, "ratings": str(ratings)}
    results["movielens"] = run_protocol(data, methods(embeddings), progress=progress)
    print_table(f"{ratings.name}: per-user temporal split (last 20% test)", results["movielens"])

    if live is not None and presence is not None:
        ours = grid(l2=[1.0, 10.0, 100.0], half_life_events=[None, 10.0], repeat_weight=[0.0, 1.0, 3.0])
        res = run_protocol(
            live,
            methods(None, ours_grid=ours),
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
    results["device"] = device_info(implicit_threads=1)
    results["elapsed_s"] = time.perf_counter() - t0
    return results


@contextlib.contextmanager
def _named(path: Path) -> Iterator[None]:
    """Turn a ``ValueError`` without a file name (``check_split``) into ``error: PATH: message``, exit 2."""
    try:
        yield
    except ValueError as exc:
        fail(f"{path}: {exc}")


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
