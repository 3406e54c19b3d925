"""Readers for labelled sentiment data: labels are always 0 = negative, 1 = neutral, 2 = positive.

Formats (the ones ``chatcast train/eval sentiment`` accept):

- CSV with columns ``sentiment`` (-1/0/1) and ``message`` (Kobs et al. 2020, ``dev.csv``);
- TweetEval's pair ``<split>_text.txt`` + ``<split>_labels.txt`` (0/1/2, one per line): pass either file;
- TSV with a header naming a ``label`` column (0/1) and one text column (GLUE SST-2, label first or last:
  0 negative, 1 positive -> 0 / 2).

Files are read as UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one).

Bad rows (missing text, unknown label, bytes that are not UTF-8, a CSV/TSV row with more or fewer fields
than the header) are counted and skipped, never fatal; ``LabelledTexts.skipped`` counts them and
``bad_rows`` describes the first few with their line numbers. A file that cannot be read as a whole
(missing, a folder, empty, wrong columns, TweetEval text and labels of different lengths, no usable row)
raises an error that names the file (``FileNotFoundError``, ``IsADirectoryError`` or
``DataFormatError``, a ``ValueError``).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")
ENCODING = "utf-8-sig"  # UTF-8; a leading byte-order mark is dropped
ERRORS = "surrogateescape"  # bytes that are not UTF-8 become lone surrogates: the row is then skipped
MAX_REPORTED = 5  # bad rows described in ``LabelledTexts.bad_rows`` (all are counted)


@dataclass(frozen=True, slots=True)
class LabelledTexts:
    """Texts and their labels (0/1/2); ``skipped`` counts the bad rows left out and ``bad_rows`` describes
    the first ``MAX_REPORTED`` (``"line 7: label '5' is not -1/0/1"``); ``source`` names the file (for
    TweetEval, the ``_text.txt`` file)."""

    texts: list[str]
    labels: list[int]
    source: str
    skipped: int = 0
    bad_rows: tuple[str, ...] = ()


class DataFormatError(ValueError):
    """The file is none of the accepted formats, or has no usable row (the message names the file and
    says what was expected)."""


class _Rows:
    """Collects good rows and counts bad ones (with the first few reasons)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.labels: list[int] = []
        self.skipped = 0
        self.bad: list[str] = []

    def add(self, text: str, label: int) -> None:
        self.texts.append(text)
        self.labels.append(label)

    def skip(self, line: int, why: str) -> None:
        self.skipped += 1
        if len(self.bad) < MAX_REPORTED:
            self.bad.append(f"line {line}: {why}")

    def result(self, path: Path) -> LabelledTexts:
        if not self.texts:
            detail = f" ({self.skipped} bad rows skipped: {'; '.join(self.bad)})" if self.skipped else ""
            raise DataFormatError(f"{path}: no usable rows{detail}")
        if self.skipped:
            log.warning("%s: skipped %d bad rows (%s)", path, self.skipped, "; ".join(self.bad))
        return LabelledTexts(self.texts, self.labels, str(path), self.skipped, tuple(self.bad))


def _utf8(*fields: str | None) -> bool:
    """Whether every field is valid text (no undecodable bytes smuggled in by ``surrogateescape``)."""
    try:
        for field in fields:
            if field is not None:
                field.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_file(path: Path, shown: Path | None = None) -> None:
    """Raise ``FileNotFoundError`` / ``IsADirectoryError`` naming ``shown`` (default ``path``)."""
    shown = shown or path
    if not path.exists():
        raise FileNotFoundError(f"{shown}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{shown}: is a folder, not a data file")


def is_tweeteval(path: str | Path) -> bool:
    """Whether ``path`` names one file of a TweetEval ``<split>_text.txt`` / ``<split>_labels.txt`` pair."""
    name = Path(path).name
    return name.endswith("_text.txt") or name.endswith("_labels.txt")


def load_sentiment(path: str | Path) -> LabelledTexts:
    """Read a labelled sentiment file in any accepted format (see module docstring).

    Raises ``FileNotFoundError`` when missing (for TweetEval: either file of the pair),
    ``IsADirectoryError`` for a folder, and ``DataFormatError`` when the format is not recognised or no
    row is usable; every message starts with the file's path.
    """
    path = Path(path)
    if is_tweeteval(path):
        return _load_tweeteval(path)
    _check_file(path)
    if path.suffix.lower() == ".tsv":
        return _load_binary_tsv(path)
    return _load_csv(path)


def _parse_label(raw: str | None, allowed: dict[str, int]) -> int | None:
    """``raw`` (stripped; ``"1.0"`` reads as ``"1"``) mapped through ``allowed``, else ``None``."""
    value = (raw or "").strip()
    if value not in allowed:
        try:
            number = float(value)
        except ValueError:
            return None
        if not number.is_integer():
            return None
        value = str(int(number))
    return allowed.get(value)


def _load_csv(path: Path) -> LabelledTexts:
    rows = _Rows()
    with path.open(encoding=ENCODING, errors=ERRORS, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise DataFormatError(
                f"{path}: empty file (expected a CSV header with columns sentiment,message)"
            )
        fields = [f.strip() for f in reader.fieldnames]
        reader.fieldnames = fields
        if not {"sentiment", "message"} <= set(fields):
            shown = ",".join(fields) if _utf8(*fields) else "a header that is not UTF-8"
            raise DataFormatError(f"{path}: expected CSV columns sentiment,message, got {shown}")
        allowed = {"-1": 0, "0": 1, "1": 2}
        for row in reader:
            line = reader.line_num
            if None in row:
                rows.skip(line, f"{len(fields) + len(row[None])} fields, the header has {len(fields)}")
                continue
            if any(v is None for v in row.values()):
                rows.skip(line, f"fewer fields than the header's {len(fields)}")
                continue
            if not _utf8(*row.values()):
                rows.skip(line, "not UTF-8 text")
                continue
            label = _parse_label(row["sentiment"], allowed)
            text = (row["message"] or "").strip()
            if label is None:
                rows.skip(line, f"sentiment {row['sentiment']!r} is not -1/0/1")
            elif not text:
                rows.skip(line, "empty message")
            else:
                rows.add(text, label)
    return rows.result(path)


def _read_lines(path: Path) -> list[str]:
    with path.open(encoding=ENCODING, errors=ERRORS, newline="") as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _load_tweeteval(path: Path) -> LabelledTexts:
    stem = path.name.rsplit("_", 1)[0]
    text_path, label_path = path.with_name(f"{stem}_text.txt"), path.with_name(f"{stem}_labels.txt")
    for p in (text_path, label_path):
        if not p.exists():
            raise FileNotFoundError(
                f"{path}: {p.name} is missing (TweetEval needs both {text_path.name} and {label_path.name} "
                "in the same folder)"
            )
        _check_file(p)
    raw_texts, raw_labels = _read_lines(text_path), _read_lines(label_path)
    if len(raw_texts) != len(raw_labels):
        raise DataFormatError(
            f"{text_path}: {len(raw_texts)} lines of text but {len(raw_labels)} in {label_path.name}"
        )
    rows = _Rows()
    allowed = {"0": 0, "1": 1, "2": 2}
    for line, (text, raw_label) in enumerate(zip(raw_texts, raw_labels, strict=True), start=1):
        text = text.strip()
        label = _parse_label(raw_label, allowed) if _utf8(raw_label) else None
        if not _utf8(text):
            rows.skip(line, "not UTF-8 text")
        elif label is None:
            rows.skip(line, f"label {raw_label.strip()!r} is not 0/1/2")
        elif not text:
            rows.skip(line, "empty text")
        else:
            rows.add(text, label)
    return rows.result(text_path)


def _load_binary_tsv(path: Path) -> LabelledTexts:
    lines = _read_lines(path)
    if not lines or not lines[0].strip():
        raise DataFormatError(f"{path}: empty file (expected a TSV header with a label and a text column)")
    header = [h.strip().lower() for h in lines[0].split("\t")]
    if len(header) != 2 or "label" not in header:
        shown = "\\t".join(header) if _utf8(*header) else "a header that is not UTF-8"
        raise DataFormatError(
            f"{path}: expected a TSV header with two columns, one of them 'label' "
            f"(SST-2: label<TAB>sentence), got {shown}"
        )
    at = header.index("label")
    rows = _Rows()
    allowed = {"0": 0, "1": 2}
    for line, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if len(fields) != 2:
            rows.skip(line, f"{len(fields)} fields, the header has 2")
            continue
        if not _utf8(raw):
            rows.skip(line, "not UTF-8 text")
            continue
        label, text = _parse_label(fields[at], allowed), fields[1 - at].strip()
        if label is None:
            rows.skip(line, f"label {fields[at].strip()!r} is not 0/1")
        elif not text:
            rows.skip(line, "empty text")
        else:
            rows.add(text, label)
    return rows.result(path)
