"""Evaluation helpers of the FAQ skill (``chatcast eval faq``) on tiny files written in the test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skills.faq import evaluate


def _bag_embed(texts: list[str]) -> np.ndarray:
    """Deterministic bag-of-letters embedding: (n, 26) float32, L2-normalised."""
    out = np.zeros((len(texts), 26), np.float32)
    for i, t in enumerate(texts):
        for ch in t.lower():
            if "a" <= ch <= "z":
                out[i, ord(ch) - 97] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def test_stackfaq_placeholder_paraphrases_are_not_queries(tmp_path):
    # Regression: every real thread holds a "*" slot; it was counted as a query (and a miss).
    data = {"root": {"qapair": [
        {"rephr": ["delete facebook account?", "*", None], "question": "How do I delete Facebook?",
         "answer": ["x"]},
        {"rephr": ["  ", "zzz quiz buzz"], "question": "zig zag quiz", "answer": ["y"]},
    ]}}
    path = tmp_path / "faq.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    questions, queries, gold = evaluate.load_stackfaq(path)
    assert questions == ["How do I delete Facebook?", "zig zag quiz"]
    assert queries == ["delete facebook account?", "zzz quiz buzz"]
    assert gold == [0, 1]
    scores = evaluate.retrieval(questions, queries, gold, _bag_embed)
    assert scores == {"n": 2.0, "p_at_1": 1.0, "mrr": 1.0}


def test_few_shot_takes_the_first_k_in_scope_examples_per_intent():
    train = [("a1", "alpha"), ("o1", "oos"), ("b1", "beta"), ("a2", "alpha"), ("a3", "alpha")]
    names, texts, owners = evaluate.few_shot(train, 2)
    assert names == ["alpha", "beta"]
    assert texts == ["a1", "a2", "b1"]
    assert owners == [0, 0, 1]


def test_csv_intents_need_a_test_file_and_the_right_columns(tmp_path):
    good = tmp_path / "train.csv"
    good.write_text("text,category\nhi there,greet\n", encoding="utf-8")
    with pytest.raises(ValueError, match="--test"):
        evaluate.load_intents(good)
    bad = tmp_path / "test.csv"
    bad.write_text("sentence,label\nhi,greet\n", encoding="utf-8")
    with pytest.raises(ValueError, match="text,category"):
        evaluate.load_intents(good, bad)


def test_chat_eval_does_not_count_questions_addressed_to_another_viewer():
    # regression (QA): "@retro_rita what are your pc specs?" was answered (by the bot and in this count)
    from types import SimpleNamespace

    entry = SimpleNamespace(id="specs", questions=["what are your pc specs"], keywords=[])
    settings = SimpleNamespace(alpha=0.5, threshold=0.6, margin=0.0, require_question=True,
                               keyword_bypass=0.85, min_chars=6)
    lines = ["@retro_rita what are your pc specs?", "@Dorozea what are your pc specs?"]
    r = evaluate.chat_false_answers(lines, [entry], settings, _bag_embed, own_names=["chatcast", "dorozea"])
    assert r["answered"] == 1 and r["sample"][0][0] == "@Dorozea what are your pc specs?"
