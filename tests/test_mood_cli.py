"""``chatcast train sentiment`` / ``chatcast eval sentiment``: bad inputs end with one ``error:`` line and
exit code 2 before any embedding, bad rows are counted and skipped (encoding, ragged rows), test splits are
refused for training, in-sample evaluations are flagged, the shipped head is never overwritten by default,
binary data is averaged over its two classes, and the JSON records the device (QA trial C, F1-F4, F8-F12).

The real embedding model is replaced by ``fakes.text_engine.bow_embed`` (hashed bag of words), so every
test runs in well under a second and needs no data set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from fakes.cli import one_error_line, write
from fakes.text_engine import bow_embed
from typer.testing import CliRunner

from skills.mood import cli
from skills.mood.datasets import DataFormatError, load_sentiment
from skills.mood.head import DEFAULT_WEIGHTS, HeadWeights
from skills.mood.metrics import classes_note, scores

runner = CliRunner()
GOOD_CSV = "sentiment,message\n1,great stream PogChamp\n0,what time is it\n-1,awful lag PepeHands\n"


@pytest.fixture()
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """A ``chatcast``-like app with only the mood commands; the embedder is the tiny bag of words, and
    ``embedded`` (``app.embedded``) records every call so tests can assert nothing was embedded."""
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return bow_embed(texts)

    monkeypatch.setattr(cli, "_embed", embed)
    train_app, eval_app, root = typer.Typer(), typer.Typer(), typer.Typer()
    cli.register(train_app, eval_app)
    root.add_typer(train_app, name="train")
    root.add_typer(eval_app, name="eval")
    root.embedded = calls  # type: ignore[attr-defined]
    return root


# ---- F2: every bad input: one line, exit code 2, nothing embedded ------------------------------------


def _bad_inputs(tmp: Path) -> list[tuple[str, str, str]]:
    """(data argument, file named in the error, what is wrong) for each bad input of QA trial C."""
    write(tmp / "empty.csv", "")
    write(tmp / "wrongcols.csv", "label,text\n1,great\n")
    write(tmp / "lonely_text.txt", "hello\n")
    write(tmp / "mm_text.txt", "a\nb\nc\nd\ne\n")
    write(tmp / "mm_labels.txt", "0\n1\n2\n")
    write(tmp / "none_text.txt", "")
    write(tmp / "none_labels.txt", "")
    write(tmp / "badrows.csv", "sentiment,message\n5,x\n1,\n")
    write(tmp / "empty.tsv", "")
    write(tmp / "nolabel.tsv", "index\tsentence\n0\tgood\n")
    (tmp / "adir").mkdir()
    return [
        ("missing.csv", "missing.csv", "no such file"),
        ("adir", "adir", "is a folder"),
        ("empty.csv", "empty.csv", "empty file"),
        ("wrongcols.csv", "wrongcols.csv", "expected CSV columns sentiment,message, got label,text"),
        ("lonely_text.txt", "lonely_text.txt", "lonely_labels.txt is missing"),
        ("mm_text.txt", "mm_text.txt", "5 lines of text but 3 in mm_labels.txt"),
        ("none_text.txt", "none_text.txt", "no usable rows"),
        ("badrows.csv", "badrows.csv", "no usable rows (2 bad rows skipped"),
        ("empty.tsv", "empty.tsv", "empty file"),
        ("nolabel.tsv", "nolabel.tsv", "one of them 'label'"),
    ]


@pytest.mark.parametrize("command", ["eval", "train"])
def test_bad_inputs_end_with_one_error_line_and_exit_code_2(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for data, where, what in _bad_inputs(tmp_path):
        result = runner.invoke(app, [command, "sentiment", "--data", data, "--json", "r.json"])
        one_error_line(result, where, what)
    assert app.embedded == []  # type: ignore[attr-defined]  # checked before the embedding model loads
    assert not (tmp_path / "r.json").exists()


def test_bad_weights_file_is_one_error_line(app: typer.Typer, tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", GOOD_CSV)
    for weights, what in (
        (tmp_path / "nothere.npz", "no such file"),
        (data, "not an .npz weights file"),
        (tmp_path, "is a folder"),
    ):
        result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--weights", str(weights)])
        one_error_line(result, str(weights), what)
    assert app.embedded == []  # type: ignore[attr-defined]


# ---- F3 / F4: encoding and bad rows --------------------------------------------------------------------


def test_byte_order_mark_does_not_break_the_header(tmp_path: Path) -> None:
    data = load_sentiment(write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + GOOD_CSV.encode()))
    assert data.labels == [2, 1, 0] and data.skipped == 0
    tsv = load_sentiment(write(tmp_path / "bom.tsv", b"\xef\xbb\xbflabel\tcontent\n1\tgood\n"))
    assert tsv.labels == [2]


def test_a_row_that_is_not_utf8_is_a_skipped_row_not_a_crash(tmp_path: Path) -> None:
    data = load_sentiment(write(tmp_path / "latin1.csv", b"sentiment,message\n1,caf\xe9 great\n-1,awful\n"))
    assert data.texts == ["awful"] and data.skipped == 1 and data.bad_rows == ("line 2: not UTF-8 text",)
    write(tmp_path / "t_text.txt", b"good\ncaf\xe9\n")
    write(tmp_path / "t_labels.txt", "2\n2\n")
    assert load_sentiment(tmp_path / "t_labels.txt").skipped == 1
    tsv = load_sentiment(write(tmp_path / "l.tsv", b"label\tsentence\n1\tgood\n0\tcaf\xe9\n"))
    assert tsv.texts == ["good"] and tsv.skipped == 1


def test_ragged_rows_and_bad_labels_are_skipped_and_counted(tmp_path: Path) -> None:
    data = load_sentiment(
        write(tmp_path / "ragged.csv", "sentiment,message\n1,great\n0\n-1,awful,extra,fields\n1.7,odd\n")
    )
    assert data.texts == ["great"] and data.skipped == 3
    assert data.bad_rows[0] == "line 3: fewer fields than the header's 2"
    assert data.bad_rows[1] == "line 4: 4 fields, the header has 2"
    assert "'1.7' is not -1/0/1" in data.bad_rows[2]
    tsv = load_sentiment(write(tmp_path / "r.tsv", "label\tsentence\n1\tgood\n0\tbad\textra\n"))
    assert tsv.texts == ["good"] and tsv.skipped == 1
    # GLUE's original layout (label last) reads too
    assert load_sentiment(write(tmp_path / "glue.tsv", "sentence\tlabel\nbad film\t0\n")).labels == [0]


def test_skipped_rows_in_the_table_and_json_for_every_format(app: typer.Typer, tmp_path: Path) -> None:
    head = tmp_path / "h.npz"
    train = write(tmp_path / "train.csv", GOOD_CSV)
    assert runner.invoke(app, ["train", "sentiment", "--data", str(train), "--out", str(head),
                               "--json", str(tmp_path / "t.json")]).exit_code == 0
    write(tmp_path / "x_text.txt", "nice\n\nugh\n")
    write(tmp_path / "x_labels.txt", "2\n1\n7\n")
    files = {
        write(tmp_path / "e.csv", "sentiment,message\n1,great\n0\n"): 1,
        tmp_path / "x_text.txt": 2,
        write(tmp_path / "e.tsv", "label\tsentence\n1\tgood\n2\tbad\n"): 1,
    }
    for data, skipped in files.items():
        out = tmp_path / "e.json"
        result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--weights", str(head),
                                     "--json", str(out)])
        assert result.exit_code == 0, result.output
        header, row = result.stdout.splitlines()[:2]
        assert header.split()[:3] == ["data", "n", "skipped"] and row.split()[2] == str(skipped)
        assert json.loads(out.read_text())["skipped"] == skipped


# ---- F1: in-sample evaluation --------------------------------------------------------------------------


def test_eval_on_a_training_file_warns_in_sample(app: typer.Typer, tmp_path: Path) -> None:
    train, other = write(tmp_path / "dev.csv", GOOD_CSV), write(tmp_path / "new.csv", GOOD_CSV + "1,yay\n")
    head = tmp_path / "h.npz"
    runner.invoke(app, ["train", "sentiment", "--data", str(train), "--out", str(head),
                        "--json", str(tmp_path / "t.json")])
    out = tmp_path / "e.json"
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(train), "--weights", str(head),
                                 "--json", str(out)])
    assert result.exit_code == 0
    assert "in-sample, not a held-out evaluation" in result.stderr and "docs/mood.md" in result.stderr
    assert json.loads(out.read_text())["in_sample"] is True
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(other), "--weights", str(head),
                                 "--json", str(out)])
    assert "in-sample" not in result.output and json.loads(out.read_text())["in_sample"] is False


def test_shipped_head_on_its_training_file_name_is_in_sample(app: typer.Typer, tmp_path: Path) -> None:
    """The shipped head records only file names (``trained_on``), e.g. dev.csv."""
    assert "dev.csv" in HeadWeights.load(DEFAULT_WEIGHTS).meta["trained_on"].split(";")
    data = write(tmp_path / "dev.csv", GOOD_CSV)
    out = tmp_path / "e.json"
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--json", str(out)])
    assert result.exit_code == 0 and "warning: dev.csv is in the head's training data" in result.stderr
    assert json.loads(out.read_text())["in_sample"] is True


# ---- F9: test splits are not trained on ----------------------------------------------------------------


def test_train_refuses_a_test_split_unless_allowed(app: typer.Typer, tmp_path: Path) -> None:
    write(tmp_path / "test_text.txt", "great\nawful\n")
    write(tmp_path / "test_labels.txt", "2\n0\n")
    test_tsv = write(tmp_path / "test.tsv", "label\tsentence\n1\tgood\n0\tbad\n")
    h = tmp_path / "h.npz"
    for data in (tmp_path / "test_text.txt", tmp_path / "test_labels.txt", test_tsv):
        result = runner.invoke(app, ["train", "sentiment", "--data", str(data), "--out", str(h)])
        one_error_line(result, str(data), "looks like a test split")
        assert "--allow-test" in result.stderr and "never trained on" in result.stderr
    assert not (tmp_path / "h.npz").exists()
    result = runner.invoke(app, ["train", "sentiment", "--data", str(test_tsv), "--allow-test",
                                 "--out", str(tmp_path / "h.npz"), "--json", str(tmp_path / "t.json")])
    assert result.exit_code == 0 and (tmp_path / "h.npz").exists()
    assert not cli.looks_like_test_split("latest.csv") and not cli.looks_like_test_split("contest.csv")


# ---- F8: default outputs stay out of the package and benchmarks/results --------------------------------


def test_train_defaults_write_in_the_current_folder_not_the_shipped_head(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = DEFAULT_WEIGHTS.read_bytes()
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d.csv", GOOD_CSV)
    result = runner.invoke(app, ["train", "sentiment", "--data", "d.csv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sentiment_head.npz").exists() and (tmp_path / "train_sentiment.json").exists()
    result = runner.invoke(app, ["eval", "sentiment", "--data", "d.csv", "--weights", "sentiment_head.npz"])
    assert result.exit_code == 0 and (tmp_path / "eval_sentiment.json").exists()
    assert DEFAULT_WEIGHTS.read_bytes() == shipped
    assert not (tmp_path / "benchmarks").exists()


def test_settings_weights_file_is_validated(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from skills.mood.skill import MoodSettings

    head = tmp_path / "h.npz"
    HeadWeights.load(DEFAULT_WEIGHTS).save(head)
    assert MoodSettings(weights=str(head)).weights == str(head)
    assert MoodSettings().weights is None
    for bad, what in ((tmp_path / "no.npz", "no such file"), (tmp_path, "is a folder"),
                      (write(tmp_path / "x.csv", GOOD_CSV), "not an .npz weights file")):
        with pytest.raises(ValidationError, match=what):
            MoodSettings(weights=str(bad))


def test_config_error_names_the_weights_key(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_config
    from skills.mood.skill import MoodSkill

    path = write(tmp_path / "c.toml", f'[skills.mood]\nweights = "{tmp_path / "no.npz"}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, skill_classes={"mood": MoodSkill})
    assert any("skills.mood.weights" in p and "no such file" in p for p in info.value.problems)


async def test_skill_registers_the_configured_head(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from fakes.text_engine import FakeEngine

    from bot.clock import ManualClock
    from skills.base import SkillContext
    from skills.mood.skill import MoodSettings, MoodSkill
    from storage.db import Database

    weights = HeadWeights.load(DEFAULT_WEIGHTS)
    weights.W2 = np.zeros_like(weights.W2)  # this head says "positive" to everything
    weights.b2 = np.array([-50.0, -50.0, 50.0], np.float32)
    path = tmp_path / "always_positive.npz"
    weights.save(path)
    settings = MoodSettings(weights=str(path))
    engine = FakeEngine()

    async def post(*args, **kwargs) -> None:
        return None

    skill = MoodSkill(SkillContext(
        storage=Database(":memory:"), engine=engine, post=post, settings_for=lambda p, c: settings,
        channel_info=lambda p, c: None, data_dir=tmp_path,
        clock=ManualClock(datetime(2024, 5, 10, tzinfo=UTC)),
    ))
    await skill.start()
    assert skill.head_path == path
    probs = await engine.classify("sentiment", ["PepeHands this is awful"])
    assert probs[0].argmax() == 2


# ---- F12: binary data is averaged over its two classes -------------------------------------------------


def test_macro_scores_average_over_the_gold_classes() -> None:
    s = scores([0, 2], [0, 2])  # SST-2 like: no neutral
    assert s["macro_f1"] == 1.0 and s["macro_recall"] == 1.0 and s["classes"] == ["negative", "positive"]
    assert s["recall_neutral"] is None
    assert classes_note(s) == (
        "2 classes: no neutral in the gold labels; macro-F1 and macro-recall average over negative, "
        "positive only"
    )
    three = scores([0, 1, 2, 2], [0, 1, 1, 2])
    assert three["macro_recall"] == pytest.approx((1 + 1 + 0.5) / 3) and classes_note(three) is None


def test_eval_on_binary_data_says_two_classes(app: typer.Typer, tmp_path: Path) -> None:
    data = write(tmp_path / "sst.tsv", "label\tsentence\n1\tgood\n0\tbad\n")
    out = tmp_path / "e.json"
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--json", str(out)])
    assert result.exit_code == 0 and "2 classes: no neutral in the gold labels" in result.stdout


# ---- OK-1 (low): the eval JSON records the device ------------------------------------------------------


def test_eval_json_records_device_and_torch_threads(app: typer.Typer, tmp_path: Path) -> None:
    data, out = write(tmp_path / "d.csv", GOOD_CSV), tmp_path / "e.json"
    assert runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--json", str(out)]).exit_code == 0
    device = json.loads(out.read_text())["device"]
    assert device["embedding_device"] == "cpu" and "torch_threads" in device and device["processor"]


# ---- F10: --weight and --c -----------------------------------------------------------------------------


def test_weight_and_c_arguments_are_checked_before_embedding(app: typer.Typer, tmp_path: Path) -> None:
    data, h = str(write(tmp_path / "d.csv", GOOD_CSV)), tmp_path / "h.npz"
    cases = [
        (["--weight", "1", "--weight", "5"], "--weight given 2 times for 1 --data files"),
        (["--weight", "-1"], "--weight -1: a source weight must be > 0"),
        (["--weight", "0"], "--weight 0: a source weight must be > 0"),
        (["--c", "0"], "--c 0: must be > 0"),
        (["--c", "-0.5"], "--c -0.5: must be > 0"),
        (["--cv-on", str(tmp_path / "other.csv")], "must be one of the --data files"),
    ]
    for extra, what in cases:
        result = runner.invoke(app, ["train", "sentiment", "--data", data, *extra, "--out", str(h)])
        one_error_line(result, "error: --", what)
    one_class = write(tmp_path / "one.csv", "sentiment,message\n1,great\n1,nice\n")
    result = runner.invoke(app, ["train", "sentiment", "--data", str(one_class), "--out", str(h)])
    one_error_line(result, str(one_class), "training needs at least two classes")
    assert app.embedded == []  # type: ignore[attr-defined]


def test_cv_on_matches_the_same_file_by_any_path(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d.csv", GOOD_CSV + "1,love it\n0,ok then\n-1,boring\n")
    write(tmp_path / "e.csv", GOOD_CSV)
    result = runner.invoke(app, ["train", "sentiment", "--data", str(tmp_path / "d.csv"), "--data", "e.csv",
                                 "--cv-on", "./d.csv", "--json", "t.json"])
    assert result.exit_code == 0, result.output
    assert "5-fold CV on" in result.stdout and "cv" in json.loads((tmp_path / "t.json").read_text())


def test_data_format_error_is_a_value_error() -> None:
    assert issubclass(DataFormatError, ValueError)
