"""Evaluations of FAQ matching on public data (``chatcast eval faq``).

- ``retrieval``: StackFAQ (Karan & Šnajder 2018): entries = the FAQ questions, queries = the paraphrases;
  precision@1 and mean reciprocal rank.
- ``intents``: intent data with out-of-scope queries (CLINC150, Larson et al. 2019, or CSV ``text,category``
  train/test files where category ``oos`` marks out-of-scope): an FAQ of ``shots`` examples per intent
  taken from the training data; in-scope accuracy (right entry *and* accepted) and out-of-scope recall
  (rejected) at the given threshold/margin, plus the whole trade-off curve.
- ``chat_false_answers``: how many messages of a real chat log get an answer with a given FAQ.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skills import cli_errors
from skills.faq.entries import index_texts
from skills.faq.matcher import FaqIndex, index_from
from skills.faq.policy import should_answer, worth_scoring
from skills.faq.question import matching_text

Embed = Callable[[list[str]], np.ndarray]
OOS = "oos"


def retrieval(
    questions: Sequence[str], queries: Sequence[str], gold: Sequence[int], embed: Embed, alpha: float = 0.5
) -> dict[str, float]:
    """P@1 and MRR of ranking the ``questions`` (one entry each) for each query (``gold`` = entry index)."""
    idx = FaqIndex(embed(list(questions)), range(len(questions)), len(questions), alpha=alpha)
    s = idx.scores(embed(list(queries)))
    gold_a = np.asarray(gold)
    rank = (s > s[np.arange(len(gold_a)), gold_a][:, None]).sum(1) + 1
    return {"n": float(len(gold_a)), "p_at_1": float((rank == 1).mean()), "mrr": float((1 / rank).mean())}


class DataFormatError(ValueError):
    """A data file that cannot be evaluated; the message starts with the file's path."""


MAX_REPORTED = 5
"""Skipped rows named one by one (with their line numbers) in a report; the rest are only counted."""

_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (``surrogateescape``)


def decode_utf8(path: str | Path, raw: bytes) -> str:
    """``raw`` as UTF-8 text (``skills.cli_errors.decode_utf8``); raises ``DataFormatError``."""
    return cli_errors.decode_utf8(path, raw, error=DataFormatError)


def read_json(path: str | Path) -> Any:
    """Parse a UTF-8 JSON file. Raises ``FileNotFoundError``/``IsADirectoryError`` (with the file name) and
    ``DataFormatError`` naming the file when it is empty, not UTF-8 or not JSON."""
    text = decode_utf8(path, Path(path).read_bytes())
    if not text.strip():
        raise DataFormatError(f"{path}: empty file; expected JSON")
    return cli_errors.parse_json(path, text, error=DataFormatError)


def json_kind(path: str | Path) -> str:
    """``"stackfaq"`` (``{"root": {"qapair": ...}}``) or ``"intents"`` (CLINC150: ``train``/``test``).

    Raises ``DataFormatError`` (and ``read_json``'s errors) for any other JSON."""
    data = read_json(path)
    if isinstance(data, dict) and "root" in data:
        return "stackfaq"
    if isinstance(data, dict) and "train" in data:
        return "intents"
    got = f"keys {sorted(data)[:5]}" if isinstance(data, dict) else f"a JSON {type(data).__name__}"
    raise DataFormatError(
        f"{path}: expected StackFAQ JSON (root.qapair) or CLINC150 JSON (train/test lists), got {got}"
    )


def load_stackfaq(path: str | Path) -> tuple[list[str], list[str], list[int]]:
    """StackFAQ JSON -> (questions, queries, gold entry per query).

    Null paraphrases and placeholders without a letter or digit (every thread holds a ``"*"`` slot: 125 of
    the 1,375) are skipped: they are no query, and counting them as misses cut P@1 from 0.945 to 0.860.
    Raises ``DataFormatError`` naming the file when it is not ``{"root": {"qapair": [{"question": str,
    "rephr": [str, ...]}, ...]}}`` with at least one entry and one paraphrase (and ``read_json``'s errors)."""
    data = read_json(path)
    root = data.get("root") if isinstance(data, dict) else None
    pairs = root.get("qapair") if isinstance(root, dict) else None
    if not isinstance(pairs, list) or not pairs:
        raise DataFormatError(f"{path}: expected a non-empty list root.qapair of {{question, rephr}} entries")
    questions, queries, gold = [], [], []
    for i, p in enumerate(pairs):
        if not isinstance(p, dict) or not isinstance(p.get("question"), str) or not isinstance(
            p.get("rephr"), list
        ):
            raise DataFormatError(f"{path}: root.qapair[{i}]: expected {{question: str, rephr: [str, ...]}}")
        questions.append(p["question"])
        for r in p["rephr"]:
            if isinstance(r, str) and re.search(r"\w", r):
                queries.append(r)
                gold.append(i)
    if not queries:
        raise DataFormatError(f"{path}: no paraphrase (rephr) to use as a query")
    return questions, queries, gold


@dataclass(slots=True)
class Skipped:
    """Rows left out of an evaluation: how many, and ``where: why`` of the first ``MAX_REPORTED``."""

    count: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, where: str, why: str) -> None:
        """Count one skipped row (``where``: ``line 7`` or ``test[3]``)."""
        self.count += 1
        if len(self.first) < MAX_REPORTED:
            self.first.append(f"{where}: {why}")

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "first": list(self.first)}


@dataclass(frozen=True, slots=True)
class IntentData:
    """Labelled texts: train (for building the FAQ) and test; ``OOS`` marks out-of-scope test texts.

    ``bad_train``/``bad_test``: malformed rows skipped while reading; ``unknown_test``: test rows skipped
    because their category is neither a training intent nor ``OOS``."""

    train: list[tuple[str, str]]
    test: list[tuple[str, str]]
    bad_train: Skipped = field(default_factory=Skipped)
    bad_test: Skipped = field(default_factory=Skipped)
    unknown_test: Skipped = field(default_factory=Skipped)


Row = tuple[str, str, str]  # (where, text, category)


def read_intent_csv(path: str | Path) -> tuple[list[Row], Skipped]:
    """Rows of a CSV with the columns ``text,category`` (UTF-8, an Excel byte-order mark is fine), each as
    ``("line N", text, category)`` with surrounding spaces stripped.

    Bad rows (empty text or category, a missing or extra field, bytes that are not UTF-8) are counted and
    skipped, never relabelled. Raises ``FileNotFoundError``/``IsADirectoryError`` and ``DataFormatError``
    naming the file for an empty file, a header without ``text`` and ``category``, or no good row."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise DataFormatError(f"{path}: empty file; expected CSV columns text,category")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataFormatError(f"{path}: UTF-16 text; save it as UTF-8")
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig", errors="surrogateescape"), newline=""))
    header: list[str] = []
    for header in reader:
        if header:
            break
    header = [h.strip() for h in header]
    if any(_NOT_UTF8.search(h) for h in header):
        raise DataFormatError(f"{path}: the header line is not UTF-8 text; save the file as UTF-8")
    if not {"text", "category"} <= set(header):
        raise DataFormatError(f"{path}: expected CSV columns text,category, got {header}")
    ti, ci = header.index("text"), header.index("category")
    rows: list[Row] = []
    bad = Skipped()
    line = reader.line_num + 1  # first line of the next record
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            bad.add(f"line {line}", str(exc))
            line = reader.line_num + 1
            continue
        where, line = f"line {line}", reader.line_num + 1
        if not fields:
            continue  # a blank line
        why = _row_problem(fields, header, ti, ci)
        if why:
            bad.add(where, why)
        else:
            rows.append((where, fields[ti].strip(), fields[ci].strip()))
    if not rows:
        raise DataFormatError(f"{path}: no usable text,category row ({_skipped_text(bad)})")
    return rows, bad


def _row_problem(fields: list[str], header: list[str], ti: int, ci: int) -> str | None:
    """Why a CSV row cannot be used, or ``None``."""
    if any(_NOT_UTF8.search(f) for f in fields):
        return "bytes that are not UTF-8"
    if len(fields) < len(header):
        return f"missing column(s) {','.join(header[len(fields):])}"
    if len(fields) > len(header):
        return f"{len(fields) - len(header)} extra field(s) (quote a text that holds a comma)"
    if not fields[ti].strip():
        return "empty text"
    if not fields[ci].strip():
        return "empty category"
    return None


def _skipped_text(s: Skipped) -> str:
    return f"{s.count} bad row(s): " + "; ".join(s.first) if s.count else "no data rows"


def _json_pairs(path: Path, data: dict, key: str, bad: Skipped, required: bool = True) -> list[Row]:
    """``data[key]`` of a CLINC150 JSON ([text, intent] pairs) as rows; bad items are counted in ``bad``."""
    items = data.get(key, [] if not required else None)
    if not isinstance(items, list):
        raise DataFormatError(f"{path}: {key!r} must be a list of [text, intent] pairs")
    rows = []
    for i, item in enumerate(items):
        ok = isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, str) for x in item)
        if not ok:
            bad.add(f"{key}[{i}]", "expected [text, intent]")
        elif not item[0].strip():
            bad.add(f"{key}[{i}]", "empty text")
        elif not item[1].strip():
            bad.add(f"{key}[{i}]", "empty category")
        else:
            rows.append((f"{key}[{i}]", item[0].strip(), item[1].strip()))
    return rows


def load_intents(path: str | Path, test: str | Path | None = None) -> IntentData:
    """CLINC150 JSON (``train``/``test``/``oos_test``) or CSV ``text,category`` train + ``test`` files.

    Malformed rows are counted and skipped (``IntentData.bad_train``/``bad_test``), and so are test rows
    whose category is neither a training intent nor ``oos`` (``unknown_test``); only the category ``oos``
    (or CLINC150's ``oos_test``) makes a test text out-of-scope. Raises ``DataFormatError`` naming the file
    when a CSV lacks the columns, no ``test`` file is given for a CSV, the JSON has the wrong shape, or no
    in-scope training row or no usable test row is left (and ``read_json``'s / ``read_intent_csv``'s errors).
    """
    path = Path(path)
    bad_train, bad_test = Skipped(), Skipped()
    if path.suffix.lower() == ".json":
        data = read_json(path)
        if not isinstance(data, dict) or "train" not in data or "test" not in data:
            raise DataFormatError(f"{path}: expected CLINC150 JSON with 'train' and 'test' lists")
        train = _json_pairs(path, data, "train", bad_train)
        test_rows = _json_pairs(path, data, "test", bad_test)
        oos_rows = _json_pairs(path, data, "oos_test", bad_test, required=False)
        test_rows += [(where, text, OOS) for where, text, _ in oos_rows]
        test_label: Path = path
    else:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if test is None:
            raise DataFormatError(f"{path}: a CSV intent set needs --test FILE too")
        test_label = Path(test)
        train, bad_train = read_intent_csv(path)
        test_rows, bad_test = read_intent_csv(test_label)
    known = {c for _, _, c in train if c != OOS}
    if not known:
        raise DataFormatError(f"{path}: no in-scope training row (every category is {OOS!r})")
    unknown = Skipped()
    kept = []
    for where, text, category in test_rows:
        if category == OOS or category in known:
            kept.append((text, category))
        else:
            unknown.add(where, f"category {category!r}")
    if not kept:
        raise DataFormatError(f"{test_label}: no test row with a training intent or {OOS!r}")
    return IntentData([(t, c) for _, t, c in train], kept, bad_train, bad_test, unknown)


def few_shot(train: Sequence[tuple[str, str]], shots: int) -> tuple[list[str], list[str], list[int]]:
    """First ``shots`` examples of every in-scope intent (file order): (intents, texts, owner index)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        if intent != OOS and len(by_intent[intent]) < shots:
            by_intent[intent].append(text)
    intents = sorted(by_intent)
    texts = [t for i in intents for t in by_intent[i]]
    owners = [n for n, i in enumerate(intents) for _ in by_intent[i]]
    return intents, texts, owners


def intents(
    data: IntentData, shots: int, embed: Embed, *, threshold: float, margin: float, alpha: float = 0.5
) -> dict[str, Any]:
    """In-scope accuracy and out-of-scope recall at ``threshold``/``margin`` plus a threshold sweep.

    Test texts whose category is neither a training intent nor ``OOS`` are left out and counted (with the
    loader's skipped rows) in ``skipped``. Raises ``ValueError`` when no training row is in scope."""
    names, texts, owners = few_shot(data.train, shots)
    if not names:
        raise ValueError(f"no in-scope training intent (every training category is {OOS!r})")
    pos = {n: i for i, n in enumerate(names)}
    unknown = Skipped(data.unknown_test.count, list(data.unknown_test.first))
    for i, (_, c) in enumerate(data.test):
        if c != OOS and c not in pos:
            unknown.add(f"test[{i}]", f"category {c!r}")
    idx = FaqIndex(embed(texts), owners, len(names), alpha=alpha)
    ins = [(t, pos[c]) for t, c in data.test if c in pos]
    oos = [t for t, c in data.test if c == OOS]
    s_in = idx.scores(embed([t for t, _ in ins])) if ins else np.zeros((0, len(names)))
    s_oos = idx.scores(embed(oos)) if oos else np.zeros((0, len(names)))
    y = np.asarray([g for _, g in ins])

    def at(thr: float, mar: float) -> tuple[float, float]:
        def accepted(s: np.ndarray) -> np.ndarray:
            srt = np.sort(s, 1)
            second = srt[:, -2] if s.shape[1] > 1 else np.full(len(s), -1.0)
            return (srt[:, -1] >= thr) & (srt[:, -1] - second >= mar)

        acc = float(((s_in.argmax(1) == y) & accepted(s_in)).mean()) if len(ins) else float("nan")
        rec = float(1 - accepted(s_oos).mean()) if oos else float("nan")
        return acc, rec

    acc, rec = at(threshold, margin)
    sweep = [(round(float(t), 3), *at(float(t), margin)) for t in np.arange(0.2, 0.95, 0.01)]
    at95 = max((a for _, a, r in sweep if r >= 0.95), default=float("nan"))
    return {
        "shots": shots,
        "intents": len(names),
        "in_scope": len(ins),
        "out_of_scope": len(oos),
        "skipped": {
            "train_bad_rows": data.bad_train.as_dict(),
            "test_bad_rows": data.bad_test.as_dict(),
            "test_unknown_category": unknown.as_dict(),
        },
        "threshold": threshold,
        "margin": margin,
        "alpha": alpha,
        "top1_accuracy_no_rejection": float((s_in.argmax(1) == y).mean()) if len(ins) else float("nan"),
        "in_scope_accuracy": acc,
        "oos_recall": rec,
        "best_in_scope_accuracy_at_oos_recall_0.95_(oracle_threshold)": at95,
        "sweep": sweep,
    }


_LOG_LINE = re.compile(r"^\[[^\]]+\]\s+([^:]+):\s?(.*)$")


def read_chat_lines(path: str | Path) -> list[str]:
    """Messages of a chat log: ``[ts] user: text`` lines, or a CSV with a ``comment``/``message``/``text``
    column (UTF-8; a byte-order mark is fine).

    Raises ``FileNotFoundError``/``IsADirectoryError`` (with the file name) and ``DataFormatError`` naming
    the file when it is not UTF-8, a CSV lacks the column, or no message is found."""
    path = Path(path)
    text = decode_utf8(path, path.read_bytes())
    out: list[str] = []
    if text.strip() and path.suffix.lower() == ".csv":
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            col = next((c for c in ("comment", "message", "text") if c in (reader.fieldnames or [])), None)
            if col is None:
                raise DataFormatError(
                    f"{path}: expected a comment, message or text column, got {reader.fieldnames}"
                )
            out = [r[col] for r in reader if (r[col] or "").strip()]
        except csv.Error as exc:
            raise DataFormatError(f"{path}: line {reader.line_num}: {exc}") from None
    else:
        for line in text.splitlines():
            m = _LOG_LINE.match(line)
            if m and m.group(1).lower() not in {"streamelements", "nightbot", "fossabot", "moobot"}:
                out.append(m.group(2))
    if not text.strip():
        raise DataFormatError(f"{path}: empty file")
    if not out:
        raise DataFormatError(
            f"{path}: no message in the CSV column" if path.suffix.lower() == ".csv"
            else f"{path}: no chat line of the form '[time] user: text'"
        )
    return out


def chat_false_answers(
    lines: Sequence[str],
    entries: Sequence[Any],
    settings: Any,
    embed: Embed,
    sample: int = 30,
    own_names: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the bot's answer decision over every chat line (no cooldowns): how many would get an answer
    and which (a sample for a human to judge). Only the lines the skill would embed (``worth_scoring``;
    ``scored`` in the result) are embedded and scored. ``own_names``: the bot's and the streamer's names
    (a line that ``@``-mentions anyone else is addressed to that viewer: ``should_answer``)."""
    texts, owners, negative_owners = index_texts(entries)  # what the skill embeds, "not" questions too
    idx = index_from(embed(texts), owners, negative_owners, len(entries), alpha=settings.alpha)
    scored = [t for t in lines if worth_scoring(t, settings, own_names, entries)]  # what the skill embeds ...
    queries = [matching_text(t, own_names) for t in scored]  # ... as it embeds them
    scores = idx.scores(embed(queries)) if scored else np.zeros((0, len(entries)))
    answered = []
    for text, row in zip(scored, scores, strict=True):
        chosen, match = should_answer(text, row, entries, settings, own_names)
        if chosen >= 0:
            answered.append((text, entries[chosen].id, round(match.score, 3)))
    rng = np.random.default_rng(0)
    pick = (
        sorted(rng.choice(len(answered), size=min(sample, len(answered)), replace=False)) if answered else []
    )
    return {
        "messages": len(lines),
        "scored": len(scored),
        "answered": len(answered),
        "answer_rate": len(answered) / len(lines) if lines else 0.0,
        "sample": [answered[i] for i in pick],
    }
