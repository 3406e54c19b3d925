"""``chatcast train sentiment`` and ``chatcast eval sentiment``.

Train (writes ``./sentiment_head.npz`` and ``./train_sentiment.json`` unless ``--out`` / ``--json`` say
otherwise; the shipped head is replaced only when ``--out skills/mood/weights/sentiment_head.npz`` is
given explicitly, see docs/mood.md)::

    chatcast train sentiment --data ../shared/data/tweeteval_sentiment/val_text.txt \
        --data ../shared/data/twitch_sentiment_dev/dev.csv --data ../shared/data/sst2/dev.tsv \
        --weight 1 --weight 1 --weight 0.3 --cv-on ../shared/data/twitch_sentiment_dev/dev.csv

Evaluate (prints a table, writes ``./eval_sentiment.json`` unless ``--json`` says otherwise)::

    chatcast eval sentiment --data ../shared/data/tweeteval_sentiment/test_text.txt

Every data file is read and checked before the embedding model is loaded; a bad one ends the command
with one line ``error: FILE: what is wrong`` and exit code 2 (``skills.cli_errors``). ``train`` refuses a
file named like a test split (``--allow-test`` overrides); ``eval`` warns when the file is in the head's
training data (the score is then in-sample). Embeddings come from ``skills.embedding_cache`` (the engine's
model, cached on disk).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from skills.cli_errors import data_errors
from skills.mood.datasets import LABELS, LabelledTexts, is_tweeteval, load_sentiment
from skills.mood.head import DEFAULT_WEIGHTS, HeadWeights
from skills.mood.metrics import classes_note, scores
from skills.run_info import device_info

DEFAULT_TRAIN = [
    "../shared/data/tweeteval_sentiment/val_text.txt",
    "../shared/data/twitch_sentiment_dev/dev.csv",
    "../shared/data/sst2/dev.tsv",
]
DEFAULT_TRAIN_WEIGHTS = [1.0, 1.0, 0.3]  # source weights of DEFAULT_TRAIN (used only without --data)
DEFAULT_OUT = Path("sentiment_head.npz")  # in the current folder: never the shipped head by default
DEFAULT_TRAIN_JSON = Path("train_sentiment.json")
DEFAULT_EVAL_JSON = Path("eval_sentiment.json")
TEST_SPLIT = re.compile(r"(?<![a-z])test", re.IGNORECASE)  # test.tsv, test_text.txt, my-test.csv; not latest
HELD_OUT_DOC = (
    "docs/mood.md ('Measured') gives the held-out figures: TweetEval test, and for Twitch chat the "
    "5-fold cross-validated macro-F1 0.658 of the shipped head"
)


def _embed(texts: list[str]) -> np.ndarray:
    """``(n, 384)`` float32 sentence embeddings (disk cache, else all-MiniLM-L6-v2 on the CPU). Tests replace
    this function with a tiny embedder."""
    from skills.embedding_cache import embed_cached

    return embed_cached(texts)


def _features(data: LabelledTexts) -> tuple[np.ndarray, np.ndarray]:
    """Head features ``(n, f)`` and labels ``(n,)`` of loaded data (embeds the texts)."""
    from skills.mood.features import message_features

    return message_features(data.texts, _embed(data.texts)), np.asarray(data.labels)


def fingerprint(data: LabelledTexts) -> str:
    """16 hex digits of SHA-256 over the usable rows (text and label): the same rows give the same value
    whatever the file is called."""
    digest = hashlib.sha256()
    for text, label in zip(data.texts, data.labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def looks_like_test_split(path: str | Path) -> bool:
    """Whether the file name says ``test`` (``test.tsv``, ``test_text.txt``, ``chat-test.csv``; not
    ``latest.csv`` or ``contest.csv``)."""
    return bool(TEST_SPLIT.search(Path(path).name))


def _same_file(path: str | Path) -> Path:
    """The file a path stands for (absolute; a TweetEval pair as its ``_text.txt`` file)."""
    p = Path(path).expanduser()
    if is_tweeteval(p):
        p = p.with_name(p.name.rsplit("_", 1)[0] + "_text.txt")
    return p.resolve()


# ------------------------------------------------------------------------------------------- training


def check_training_args(
    data: list[str],
    weights: list[float],
    c: float,
    cv_on: str | None = None,
    allow_test: bool = False,
) -> int | None:
    """Check the arguments of ``train_sentiment`` without reading any file; return the index of the
    ``cv_on`` file in ``data`` (``None`` without ``cv_on``).

    Raises ``ValueError`` (message: the argument or file, then what is wrong): ``weights`` not one per
    ``data`` file or not > 0, ``c`` not > 0, a file given twice, a file named like a test split (unless
    ``allow_test``), ``cv_on`` not among ``data``.
    """
    if not data:
        raise ValueError("--data: give at least one labelled file")
    if len(weights) != len(data):
        raise ValueError(
            f"--weight given {len(weights)} times for {len(data)} --data files: give one per --data, "
            "in the same order (or none: every file then weighs 1)"
        )
    for w in weights:
        if not w > 0 or not np.isfinite(w):
            raise ValueError(f"--weight {w:g}: a source weight must be > 0")
    if not c > 0 or not np.isfinite(c):
        raise ValueError(f"--c {c:g}: must be > 0 (inverse L2 strength; docs/mood.md uses 0.003)")
    seen: dict[Path, str] = {}
    for p in data:
        same = _same_file(p)
        if same in seen:
            raise ValueError(f"{p}: given twice (also as {seen[same]})")
        seen[same] = p
    if not allow_test:
        for p in data:
            if looks_like_test_split(p):
                raise ValueError(
                    f"{p}: looks like a test split (its name contains 'test'); the evaluation numbers in "
                    "docs/mood.md assume the test splits are never trained on. Pass --allow-test to train on "
                    "it anyway (and do not report an evaluation on it as held out)"
                )
    if cv_on is None:
        return None
    target = _same_file(cv_on)
    for i, p in enumerate(data):
        if _same_file(p) == target:
            return i
    raise ValueError(f"--cv-on {cv_on}: must be one of the --data files")


def load_training_data(data: list[str]) -> list[LabelledTexts]:
    """Read every ``data`` file; raises what ``load_sentiment`` raises, and ``ValueError`` when all files
    together hold fewer than two classes (nothing to learn)."""
    loaded = [load_sentiment(p) for p in data]
    classes = sorted({label for d in loaded for label in d.labels})
    if len(classes) < 2:
        raise ValueError(
            f"{';'.join(data)}: only {LABELS[classes[0]]} rows: training needs at least two classes"
        )
    return loaded


def check_out_path(out: Path, what: str = "--out", suffix: str = ".npz") -> None:
    """``ValueError`` when ``out`` is a folder or does not end in ``suffix``."""
    if out.is_dir():
        raise ValueError(f"{what} {out}: is a folder; give a file name ending in {suffix}")
    if out.suffix.lower() != suffix:
        raise ValueError(f"{what} {out}: the file name must end in {suffix}")


def train_sentiment(
    data: list[str],
    weights: list[float],
    out: Path,
    c: float = 0.003,
    cv_on: str | None = None,
    folds: int = 5,
    seed: int = 0,
    *,
    allow_test: bool = False,
    loaded: list[LabelledTexts] | None = None,
) -> dict[str, Any]:
    """Train the head on ``data`` files (source weights ``weights``, one per file), optionally report
    ``folds``-fold cross-validation on the ``cv_on`` file (the other files stay in every training fold),
    save to ``out`` (.npz). ``loaded`` passes the files already read by ``load_training_data``.

    Returns the JSON-ready result (files, rows, skipped rows, C, CV scores, device). Raises ``ValueError``
    for bad arguments or files (see ``check_training_args``, ``load_training_data``), before any embedding.
    """
    from skills.mood.training import balanced_weights, train_head

    cv_i = check_training_args(data, weights, c, cv_on, allow_test)
    check_out_path(Path(out))
    loaded = loaded if loaded is not None else load_training_data(data)
    sets = [(_features(d), str(p), w) for d, p, w in zip(loaded, data, weights, strict=True)]
    result: dict[str, Any] = {
        "data": data,
        "weights": weights,
        "C": c,
        "rows": {p: len(d.labels) for p, d in zip(data, loaded, strict=True)},
        "skipped": {p: d.skipped for p, d in zip(data, loaded, strict=True)},
    }

    def fit(parts: list[tuple[np.ndarray, np.ndarray, str, float]]) -> HeadWeights:
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        groups = np.concatenate([[p[2]] * len(p[1]) for p in parts])
        return train_head(x, y, balanced_weights(y, groups, {p[2]: p[3] for p in parts}), l2=c)

    if cv_i is not None:
        (xc, yc), name, wc = sets[cv_i]
        fold = np.random.default_rng(seed).permutation(len(yc)) % folds
        pred = np.zeros(len(yc), int)
        others = [(s[0][0], s[0][1], s[1], s[2]) for i, s in enumerate(sets) if i != cv_i]
        for f in range(folds):
            head = fit(others + [(xc[fold != f], yc[fold != f], name, wc)])
            pred[fold == f] = head.logits(xc[fold == f]).argmax(1)
        result["cv"] = scores(yc, pred)
        result["cv_on"] = name
        typer.echo(
            f"{folds}-fold CV on {name}: macro-F1 {result['cv']['macro_f1']:.3f} "
            f"macro-recall {result['cv']['macro_recall']:.3f} accuracy {result['cv']['accuracy']:.3f}"
        )
        if note := classes_note(result["cv"]):
            typer.echo(f"  ({note})")
    head = fit([(s[0][0], s[0][1], s[1], s[2]) for s in sets])
    head.meta = {
        "trained_on": ";".join(Path(d.source).name for d in loaded),
        "trained_on_sha256": ";".join(fingerprint(d) for d in loaded),
        "C": str(c),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(out)
    head.save(out)
    typer.echo(f"saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    if out.resolve() == DEFAULT_WEIGHTS.resolve():
        typer.echo(f"note: this replaced the shipped head {DEFAULT_WEIGHTS}", err=True)
    result["out"] = str(out)
    result["device"] = device_info(embedding_device="cpu", head="numpy")
    result["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return result


# ----------------------------------------------------------------------------------------- evaluation


def in_sample_reason(head: HeadWeights, data: LabelledTexts) -> str | None:
    """Why ``data`` is (or looks like) part of the head's training data, or ``None``: the same rows
    (``trained_on_sha256`` in the head's metadata) or the same file name (``trained_on``)."""
    trained_on = head.meta.get("trained_on", "")
    if fingerprint(data) in head.meta.get("trained_on_sha256", "").split(";"):
        return f"the head was trained on these very rows (trained_on: {trained_on})"
    name = Path(data.source).name
    if name in trained_on.split(";"):
        return f"{name} is in the head's training data (trained_on: {trained_on})"
    return None


def evaluate_head(data: LabelledTexts, head: HeadWeights) -> dict[str, Any]:
    """Accuracy, macro-F1, macro-recall (over the classes in the gold labels) of ``head`` on loaded data,
    with the skipped rows, whether the data is in-sample, and the device."""
    x, y = _features(data)
    result: dict[str, Any] = scores(y, head.logits(x).argmax(1))
    reason = in_sample_reason(head, data)
    result.update(
        {
            "skipped": data.skipped,
            "bad_rows": list(data.bad_rows),
            "in_sample": reason is not None,
            "in_sample_reason": reason,
            "device": device_info(embedding_device="cpu", head="numpy"),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    return result


def eval_sentiment(data: str, weights: Path = DEFAULT_WEIGHTS) -> dict[str, Any]:
    """Accuracy, macro-F1, macro-recall of the head ``weights`` on a labelled file (see ``evaluate_head``).

    Raises ``FileNotFoundError``/``IsADirectoryError``/``ValueError`` naming the file for a bad data or
    weights file, before any embedding.
    """
    loaded = load_sentiment(data)
    head = HeadWeights.load_checked(weights)
    result = evaluate_head(loaded, head)
    result.update({"data": str(data), "weights": str(weights)})
    return result


def _write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    typer.echo(f"wrote {path}")


def register(train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``train sentiment`` and ``eval sentiment`` to the ``chatcast`` CLI."""

    @train_app.command("sentiment")
    def train_cmd(
        data: list[str] = typer.Option(DEFAULT_TRAIN, "--data", help="labelled files (repeat)"),
        weight: list[float] = typer.Option(
            [], "--weight", help="source weight per --data, > 0, one per file in order (default: all 1)"
        ),
        out: Path = typer.Option(
            DEFAULT_OUT, help="weights file to write (.npz); the shipped head only if named explicitly"
        ),
        c: float = typer.Option(0.003, "--c", help="inverse L2 strength of the logistic regression, > 0"),
        cv_on: str = typer.Option(None, "--cv-on", help="report k-fold CV on this --data file"),
        allow_test: bool = typer.Option(
            False, "--allow-test", help="train on a file named like a test split (scores on it are in-sample)"
        ),
        json_out: Path = typer.Option(DEFAULT_TRAIN_JSON, "--json", help="result JSON to write"),
    ) -> None:
        """Train the sentiment head on labelled files (see docs/mood.md); writes the .npz and a JSON."""
        if not weight:
            weight = DEFAULT_TRAIN_WEIGHTS if data == DEFAULT_TRAIN else [1.0] * len(data)
        with data_errors():
            check_training_args(data, weight, c, cv_on, allow_test)
            check_out_path(out)
            check_out_path(json_out, "--json", ".json")
            loaded = load_training_data(data)
        result = train_sentiment(data, weight, out, c, cv_on, allow_test=allow_test, loaded=loaded)
        _write_json(json_out, result)

    @eval_app.command("sentiment")
    def eval_cmd(
        data: str = typer.Option(
            ..., "--data", help="CSV sentiment,message | TweetEval *_text.txt | SST-2 .tsv"
        ),
        weights: Path = typer.Option(DEFAULT_WEIGHTS, help="head weights (.npz)"),
        json_out: Path = typer.Option(DEFAULT_EVAL_JSON, "--json", help="result JSON to write"),
    ) -> None:
        """Accuracy, macro-F1 and macro-recall of the head on a labelled file; prints a table, writes JSON."""
        with data_errors():
            check_out_path(json_out, "--json", ".json")
            loaded = load_sentiment(data)
            head = HeadWeights.load_checked(weights)
        result = evaluate_head(loaded, head)
        result.update({"data": str(data), "weights": str(weights)})
        typer.echo(
            f"{'data':<40} {'n':>6} {'skipped':>8} {'accuracy':>9} {'macro-F1':>9} {'macro-rec':>9}"
        )
        typer.echo(
            f"{Path(data).name:<40} {int(result['n']):>6} {result['skipped']:>8} {result['accuracy']:>9.3f} "
            f"{result['macro_f1']:>9.3f} {result['macro_recall']:>9.3f}"
            + ("  in-sample" if result["in_sample"] else "")
        )
        if note := classes_note(result):
            typer.echo(f"note: {note}")
        if result["in_sample"]:
            typer.echo(
                f"warning: {result['in_sample_reason']}: this score is in-sample, not a held-out "
                f"evaluation; {HELD_OUT_DOC}",
                err=True,
            )
        _write_json(json_out, result)
