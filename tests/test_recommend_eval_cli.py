"""``chatcast eval recommend`` on bad inputs (QA trial C, F16): one ``error: FILE: ...`` line and exit code 2
before any model is fitted, never a traceback; rows with bytes that are not UTF-8 are skipped like other
malformed rows; the JSON records the device. Files are a few lines written in the test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from fakes.cli import invoke, one_error_line, write

from skills.recommend.evaluate import load_ratings

HEADER = "userId,movieId,rating,timestamp\n"
spec = importlib.util.find_spec  # the real one, for the monkeypatched lookups


def without_implicit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``implicit`` look not installed (the README's install has no eval extra)."""
    def find_spec(name: str, *args: object) -> object:
        return None if name == "implicit" else spec(name, *args)

    monkeypatch.setattr("importlib.util.find_spec", find_spec)


def ratings(path: Path, users: int = 20, per_user: int = 10) -> Path:
    """Enough ratings for the temporal split: each user rates ``per_user`` of 30 items over time."""
    rows = [f"{u},{(u * 7 + k * 3) % 30},4,{1000 + k}" for u in range(users) for k in range(per_user)]
    return write(path, HEADER + "\n".join(rows) + "\n")


@pytest.fixture()
def no_fitting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the protocol starts fitting models (bad inputs must be found before)."""

    def run_protocol(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("models were fitted before the inputs were checked")

    monkeypatch.setattr("skills.recommend.evaluate.run_protocol", run_protocol)


def test_every_bad_input_is_one_error_line_with_exit_code_2(tmp_path: Path, no_fitting: None) -> None:
    write(tmp_path / "empty.csv", "")
    write(tmp_path / "wrongcols.csv", "label,text\n1,great\n")
    write(tmp_path / "latin1.csv", HEADER.encode() + b"1,caf\xe9,4,100\n")
    write(tmp_path / "tiny.csv", HEADER + "1,10,4,100\n1,11,4,101\n")
    (tmp_path / "adir").mkdir()
    good = ratings(tmp_path / "good.csv")
    write(tmp_path / "badmovies.csv", "movieId,name\n1,x\n")
    write(tmp_path / "latinmovies.csv", b"movieId,title\n1,caf\xe9\n")
    out = str(tmp_path / "out.json")
    cases = [
        (["--ratings", str(tmp_path / "missing.csv")], "missing.csv", "No such file or directory"),
        (["--ratings", str(tmp_path / "empty.csv")], "empty.csv", "empty file"),  # was a traceback
        (["--ratings", str(tmp_path / "wrongcols.csv")], "wrongcols.csv", "header must contain"),
        (["--ratings", str(tmp_path / "adir")], "adir", "Is a directory"),  # was IsADirectoryError
        (["--ratings", str(tmp_path / "latin1.csv")], "latin1.csv", "no valid rating rows"),
        (["--ratings", str(tmp_path / "tiny.csv")], "tiny.csv", "too little data"),
        (["--ratings", str(good), "--movies", str(tmp_path / "badmovies.csv")], "badmovies.csv", "movieId"),
        (["--ratings", str(good), "--movies", str(tmp_path / "latinmovies.csv")], "latinmovies.csv", "UTF-8"),
        (["--ratings", str(good), "--movies", str(tmp_path / "nomovies.csv")], "nomovies.csv", "No such"),
        (["--ratings", str(good), "--no-content", "--twitch", str(good)], "good.csv", "not a folder"),
        (["--ratings", str(good), "--no-content", "--twitch", str(tmp_path / "adir")], "adir", "no *.txt"),
        (["--ratings", str(good), "--no-content", "--twitch", str(tmp_path / "no")], "no", "No such file"),
    ]
    for args, where, what in cases:
        one_error_line(invoke(["eval", "recommend", *args, "--quick", "--out", out]), where, what,
                       last_line_only=True)
    assert not Path(out).exists()


def test_rows_that_are_not_utf8_are_skipped_like_other_malformed_rows(tmp_path: Path) -> None:
    rows = b"1,10,4,100\n1,caf\xe9,4,101\n2,10,5,200\n"
    path = write(tmp_path / "r.csv", b"\xef\xbb\xbf" + HEADER.encode() + rows)
    data = load_ratings(path)  # was a UnicodeDecodeError without a file name (and the BOM hid userId)
    assert (data.n_users, data.item_ids, len(data.users)) == (2, ["10"], 2)


def test_eval_json_records_the_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the device record does not depend on the baselines: they are skipped without the eval extra
    without_implicit(monkeypatch)
    out = tmp_path / "out.json"
    args = ["--ratings", str(ratings(tmp_path / "r.csv")), "--no-live", "--no-content", "--quick"]
    result = invoke(["eval", "recommend", *args, "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(out.read_text())
    assert report["movielens"]["split"]["test_users"] > 0
    device = report["device"]
    assert device["model_device"] == "cpu" and device["implicit_threads"] == 1 and device["cpus"]
    assert "torch_threads" in device and "load_average_1m" in device


def test_without_the_implicit_library_the_baselines_are_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: after the README's install (no eval extra) the command printed our results, then a
    40-line traceback ending in ModuleNotFoundError: implicit."""
    without_implicit(monkeypatch)
    out = tmp_path / "out.json"
    args = ["--ratings", str(ratings(tmp_path / "r.csv")), "--no-live", "--no-content", "--quick"]
    result = invoke(["eval", "recommend", *args, "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "the implicit library is not installed: the ALS and BPR baselines are skipped" in result.output
    assert list(json.loads(out.read_text())["movielens"]["methods"]) == ["ours (EASE hybrid)", "popularity"]
