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

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skills.faq.matcher import FaqIndex
from skills.faq.policy import should_answer

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


def load_stackfaq(path: str | Path) -> tuple[list[str], list[str], list[int]]:
    """StackFAQ JSON -> (questions, queries, gold entry per query).

    Null paraphrases and placeholders without a letter or digit (every thread holds a ``"*"`` slot: 125 of
    the 1,375) are skipped: they are no query, and counting them as misses cut P@1 from 0.945 to 0.860."""
    pairs = json.loads(Path(path).read_text(encoding="utf-8"))["root"]["qapair"]
    questions = [p["question"] for p in pairs]
    queries, gold = [], []
    for i, p in enumerate(pairs):
        for r in p["rephr"]:
            if isinstance(r, str) and re.search(r"\w", r):
                queries.append(r)
                gold.append(i)
    return questions, queries, gold


@dataclass(frozen=True, slots=True)
class IntentData:
    """Labelled texts: train (for building the FAQ) and test; ``OOS`` marks out-of-scope test texts."""

    train: list[tuple[str, str]]
    test: list[tuple[str, str]]


def load_intents(path: str | Path, test: str | Path | None = None) -> IntentData:
    """CLINC150 JSON (``train``/``test``/``oos_test``) or CSV ``text,category`` train + ``test`` files.

    Raises ``ValueError`` when a CSV lacks the columns or no test file is given for a CSV."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return IntentData(
            [tuple(x) for x in data["train"]],
            [tuple(x) for x in data["test"]] + [(t, OOS) for t, _ in data.get("oos_test", [])],
        )
    if test is None:
        raise ValueError(f"{path}: a CSV intent set needs --test FILE too")

    def read(p: Path) -> list[tuple[str, str]]:
        with p.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not {"text", "category"} <= set(reader.fieldnames or []):
                raise ValueError(f"{p}: expected CSV columns text,category, got {reader.fieldnames}")
            return [(r["text"], (r["category"] or OOS).strip()) for r in reader if (r["text"] or "").strip()]

    return IntentData(read(path), read(Path(test)))


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
    """In-scope accuracy and out-of-scope recall at ``threshold``/``margin`` plus a threshold sweep."""
    names, texts, owners = few_shot(data.train, shots)
    idx = FaqIndex(embed(texts), owners, len(names), alpha=alpha)
    pos = {n: i for i, n in enumerate(names)}
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
    """Messages of a chat log: ``[ts] user: text`` lines, or a CSV with a ``comment``/``message`` column."""
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            col = next((c for c in ("comment", "message", "text") if c in (reader.fieldnames or [])), None)
            if col is None:
                raise ValueError(f"{path}: expected a comment, message or text column")
            return [r[col] for r in reader if (r[col] or "").strip()]
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LOG_LINE.match(line)
        if m and m.group(1).lower() not in {"streamelements", "nightbot", "fossabot", "moobot"}:
            out.append(m.group(2))
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
    and which (a sample for a human to judge). ``own_names``: the bot's and the streamer's names (a line
    starting with ``@`` anyone else is addressed to that viewer: ``should_answer``)."""
    questions = [q for e in entries for q in e.questions]
    owners = [i for i, e in enumerate(entries) for _ in e.questions]
    idx = FaqIndex(embed(questions), owners, len(entries), alpha=settings.alpha)
    scores = idx.scores(embed(list(lines))) if lines else np.zeros((0, len(entries)))
    answered = []
    for text, row in zip(lines, scores, strict=True):
        chosen, match = should_answer(text, row, entries, settings, own_names)
        if chosen >= 0:
            answered.append((text, entries[chosen].id, round(match.score, 3)))
    rng = np.random.default_rng(0)
    pick = (
        sorted(rng.choice(len(answered), size=min(sample, len(answered)), replace=False)) if answered else []
    )
    return {
        "messages": len(lines),
        "answered": len(answered),
        "answer_rate": len(answered) / len(lines) if lines else 0.0,
        "sample": [answered[i] for i in pick],
    }
