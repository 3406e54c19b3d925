"""``chatcast train sentiment`` and ``chatcast eval sentiment``.

Train::

    chatcast train sentiment --data ../shared/data/tweeteval_sentiment/val_text.txt \
        --data ../shared/data/twitch_sentiment_dev/dev.csv --data ../shared/data/sst2/dev.tsv \
        --weight 1 --weight 1 --weight 0.3 --cv-on ../shared/data/twitch_sentiment_dev/dev.csv

Evaluate (prints a table, writes JSON next to ``--out``)::

    chatcast eval sentiment --data ../shared/data/tweeteval_sentiment/test_text.txt

Embeddings come from ``skills.embedding_cache`` (the engine's model, cached on disk).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import typer

from skills.mood.head import DEFAULT_WEIGHTS, HeadWeights
from skills.mood.metrics import scores

DEFAULT_TRAIN = [
    "../shared/data/tweeteval_sentiment/val_text.txt",
    "../shared/data/twitch_sentiment_dev/dev.csv",
    "../shared/data/sst2/dev.tsv",
]


def _features(path: str) -> tuple[np.ndarray, np.ndarray]:
    from skills.embedding_cache import embed_cached
    from skills.mood.datasets import load_sentiment
    from skills.mood.features import message_features

    data = load_sentiment(path)
    return message_features(data.texts, embed_cached(data.texts)), np.asarray(data.labels)


def train_sentiment(
    data: list[str],
    weights: list[float],
    out: Path,
    c: float = 0.003,
    cv_on: str | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict:
    """Train the head on ``data`` files (source weights ``weights``), optionally report ``folds``-fold
    cross-validation on the ``cv_on`` file (the other files stay in every training fold), save to ``out``."""
    from skills.mood.training import balanced_weights, train_head

    if len(weights) < len(data):
        weights = list(weights) + [1.0] * (len(data) - len(weights))
    sets = [(_features(p), str(p), w) for p, w in zip(data, weights, strict=False)]
    result: dict = {"data": data, "weights": weights, "C": c}

    def fit(parts: list[tuple[np.ndarray, np.ndarray, str, float]]) -> HeadWeights:
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        groups = np.concatenate([[p[2]] * len(p[1]) for p in parts])
        return train_head(x, y, balanced_weights(y, groups, {p[2]: p[3] for p in parts}), l2=c)

    if cv_on is not None:
        cv_i = [i for i, s in enumerate(sets) if s[1] == str(cv_on)]
        if not cv_i:
            raise typer.BadParameter(f"--cv-on {cv_on} must be one of the --data files")
        (xc, yc), name, wc = sets[cv_i[0]]
        fold = np.random.default_rng(seed).permutation(len(yc)) % folds
        pred = np.zeros(len(yc), int)
        others = [(s[0][0], s[0][1], s[1], s[2]) for i, s in enumerate(sets) if i != cv_i[0]]
        for f in range(folds):
            head = fit(others + [(xc[fold != f], yc[fold != f], name, wc)])
            pred[fold == f] = head.logits(xc[fold == f]).argmax(1)
        result["cv"] = scores(yc, pred)
        typer.echo(
            f"{folds}-fold CV on {name}: macro-F1 {result['cv']['macro_f1']:.3f} "
            f"macro-recall {result['cv']['macro_recall']:.3f} accuracy {result['cv']['accuracy']:.3f}"
        )
    head = fit([(s[0][0], s[0][1], s[1], s[2]) for s in sets])
    head.meta = {
        "trained_on": ";".join(Path(p).name for p in data),
        "C": str(c),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    head.save(out)
    typer.echo(f"saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return result


def eval_sentiment(data: str, weights: Path = DEFAULT_WEIGHTS) -> dict:
    """Accuracy, macro-F1, macro-recall of the head ``weights`` on a labelled file."""
    x, y = _features(data)
    head = HeadWeights.load(weights)
    result = scores(y, head.logits(x).argmax(1))
    result.update({"data": str(data), "weights": str(weights)})
    return result


def register(train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``train sentiment`` and ``eval sentiment`` to the ``chatcast`` CLI."""

    @train_app.command("sentiment")
    def train_cmd(
        data: list[str] = typer.Option(DEFAULT_TRAIN, "--data", help="labelled files (repeat)"),
        weight: list[float] = typer.Option([], "--weight", help="source weight per --data (default 1)"),
        out: Path = typer.Option(DEFAULT_WEIGHTS, help="weights file to write (.npz)"),
        c: float = typer.Option(0.003, "--c", help="inverse L2 strength of the logistic regression"),
        cv_on: str = typer.Option(None, "--cv-on", help="report k-fold CV on this --data file"),
        json_out: Path = typer.Option(Path("benchmarks/results/train_sentiment.json"), "--json"),
    ) -> None:
        """Train the sentiment head on labelled files (see docs/mood.md); writes the .npz and a JSON."""
        result = train_sentiment(data, weight or [1.0, 1.0, 0.3][: len(data)], out, c, cv_on)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))

    @eval_app.command("sentiment")
    def eval_cmd(
        data: str = typer.Option(
            ..., "--data", help="CSV sentiment,message | TweetEval *_text.txt | SST-2 .tsv"
        ),
        weights: Path = typer.Option(DEFAULT_WEIGHTS, help="head weights (.npz)"),
        json_out: Path = typer.Option(Path("benchmarks/results/eval_sentiment.json"), "--json"),
    ) -> None:
        """Accuracy, macro-F1 and macro-recall of the head on a labelled file; prints a table, writes JSON."""
        result = eval_sentiment(data, weights)
        typer.echo(f"{'data':<40} {'n':>6} {'accuracy':>9} {'macro-F1':>9} {'macro-rec':>9}")
        typer.echo(
            f"{Path(data).name:<40} {int(result['n']):>6} {result['accuracy']:>9.3f} "
            f"{result['macro_f1']:>9.3f} {result['macro_recall']:>9.3f}"
        )
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))
