"""Readers for labelled sentiment data: labels are always 0 = negative, 1 = neutral, 2 = positive.

Formats (the ones ``chatcast train/eval sentiment`` accept):

- CSV with columns ``sentiment`` (-1/0/1) and ``message`` (Kobs et al. 2020, ``dev.csv``);
- TweetEval's pair ``<split>_text.txt`` + ``<split>_labels.txt`` (0/1/2, one per line): pass either file;
- TSV with a header whose first column is a 0/1 label (GLUE SST-2: 0 negative, 1 positive -> 0 / 2).

Bad rows (missing text, unknown label) are counted and skipped, never fatal.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class LabelledTexts:
    """Texts and their labels (0/1/2); ``skipped`` counts unreadable rows; ``source`` names the file."""

    texts: list[str]
    labels: list[int]
    source: str
    skipped: int = 0


class DataFormatError(ValueError):
    """The file is none of the accepted formats (the message says what was expected)."""


def load_sentiment(path: str | Path) -> LabelledTexts:
    """Read a labelled sentiment file in any accepted format (see module docstring).

    Raises ``FileNotFoundError`` when missing and ``DataFormatError`` when the format is not recognised.
    """
    path = Path(path)
    if path.name.endswith("_text.txt") or path.name.endswith("_labels.txt"):
        return _load_tweeteval(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".tsv":
        return _load_binary_tsv(path)
    return _load_csv(path)


def _load_csv(path: Path) -> LabelledTexts:
    texts, labels, skipped = [], [], 0
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or [])
        if not {"sentiment", "message"} <= fields:
            raise DataFormatError(
                f"{path}: expected CSV columns 'sentiment' and 'message', got {sorted(fields)}"
            )
        for row in reader:
            try:
                label = int(float(row["sentiment"])) + 1
            except (TypeError, ValueError):
                skipped += 1
                continue
            text = (row.get("message") or "").strip()
            if label not in (0, 1, 2) or not text:
                skipped += 1
                continue
            texts.append(text)
            labels.append(label)
    if skipped:
        log.warning("%s: skipped %d bad rows", path, skipped)
    return LabelledTexts(texts, labels, str(path), skipped)


def _load_tweeteval(path: Path) -> LabelledTexts:
    stem = path.name.rsplit("_", 1)[0]
    text_path, label_path = path.with_name(f"{stem}_text.txt"), path.with_name(f"{stem}_labels.txt")
    for p in (text_path, label_path):
        if not p.exists():
            raise FileNotFoundError(f"{p}: TweetEval needs both {text_path.name} and {label_path.name}")
    raw_texts = text_path.read_text(encoding="utf-8").split("\n")
    raw_labels = label_path.read_text(encoding="utf-8").split("\n")
    if raw_texts and raw_texts[-1] == "":
        raw_texts.pop()
    if raw_labels and raw_labels[-1] == "":
        raw_labels.pop()
    if len(raw_texts) != len(raw_labels):
        raise DataFormatError(f"{text_path}: {len(raw_texts)} texts but {len(raw_labels)} labels")
    texts, labels, skipped = [], [], 0
    for text, label in zip(raw_texts, raw_labels, strict=True):
        text = text.strip()
        if label.strip() not in ("0", "1", "2") or not text:
            skipped += 1
            continue
        texts.append(text)
        labels.append(int(label))
    return LabelledTexts(texts, labels, str(text_path), skipped)


def _load_binary_tsv(path: Path) -> LabelledTexts:
    texts, labels, skipped = [], [], 0
    with path.open(encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines()
    for line in lines[1:]:
        label, _, text = line.partition("\t")
        text = text.strip()
        if label.strip() not in ("0", "1") or not text:
            skipped += 1
            continue
        texts.append(text)
        labels.append(0 if label.strip() == "0" else 2)
    return LabelledTexts(texts, labels, str(path), skipped)
