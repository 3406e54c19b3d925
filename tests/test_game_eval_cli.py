"""``chatcast eval game`` with unreadable position files (QA trial C, F15): one ``error: FILE: ...`` line and
exit code 2 before the network loads, never an exit 0 that evaluated nothing or a ZeroDivisionError; bad
lines of a usable file are counted; ``--solver-games 0`` plays no solver game; the JSON records the device.

Position files are a few lines written in the test (JSON with per-move analysis, so no solver is needed);
the timing parts of a full run are stubbed, so each test takes well under a second or two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.cli import invoke, one_error_line, write

from skills.game import evaluate

WON = {"sequence": "112233", "score": 18, "analysis": [-1, -1, -1, 18, -1, -1, -1]}
QUICK = ["--levels", "easy", "--random-games", "0", "--greedy-games", "0", "--solver-games", "0"]


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the network is loaded (bad inputs must be found before)."""

    def load_network(path):  # noqa: ANN001, ANN202
        raise AssertionError("the network was loaded before the inputs were checked")

    monkeypatch.setattr("skills.game.network.load_network", load_network)


def test_no_readable_position_set_is_an_error_not_an_empty_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    write(tmp_path / "empty.csv", "")
    write(tmp_path / "wrongcols.csv", "label,text\n1,great\n")
    write(tmp_path / "latin1.txt", b"4 caf\xe9\n")
    write(tmp_path / "ints.json", "[1, 2]")
    write(tmp_path / "broken.json", "[{")
    write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    (tmp_path / "adir").mkdir()
    out = tmp_path / "out.json"
    cases = [
        ("missing.txt", "No such file or directory"),  # was a note, then exit 0 with "sets": {}
        ("adir", "Is a directory"),
        ("empty.csv", "empty file"),  # was ZeroDivisionError
        ("wrongcols.csv", "no valid position"),  # was ZeroDivisionError
        ("latin1.txt", "not UTF-8 text (byte 0xe9 on line 1)"),
        ("ints.json", "expected a JSON array of {sequence, score, analysis} objects"),  # was AttributeError
        ("broken.json", "invalid JSON at line 1"),
        ("deep.json", "nested too deeply"),  # was a RecursionError traceback
    ]
    for name, what in cases:
        args = ["eval", "game", "--positions", str(tmp_path / name), *QUICK, "--out", str(out)]
        result = invoke(args)
        one_error_line(result, name, what)
    # no --positions and no default sets (run away from a ../shared/data): was exit 0, an empty table
    monkeypatch.setattr(evaluate, "DEFAULT_DATA", tmp_path / "no_such_folder")
    result = invoke(["eval", "game", *QUICK, "--out", str(out)])
    one_error_line(result, "no_such_folder", "no test position set")
    assert not out.exists()


def test_bad_options_are_one_line_before_the_network(tmp_path: Path, no_network: None) -> None:
    good = write(tmp_path / "set.json", json.dumps([WON]))
    base = ["eval", "game", "--positions", str(good), "--out", str(tmp_path / "o.json")]
    one_error_line(invoke([*base, "--levels", "expert"]), "--levels", "unknown level 'expert'")
    one_error_line(invoke([*base, "--depths", "2,x"]), "--depths", "comma-separated integers")
    one_error_line(invoke([*base, "--weights", str(tmp_path / "no.pt")]), "no.pt", "no such")
    write(tmp_path / "old.json", "{oops")
    result = invoke([*base[:-1], str(tmp_path / "old.json"), "--update"])
    one_error_line(result, "old.json", "not valid JSON")


def test_read_positions_counts_bad_lines_and_outcome_rates_refuse_an_empty_set(tmp_path: Path) -> None:
    f = write(tmp_path / "mixed.json", json.dumps([WON, {"sequence": "1x", "score": 1}, {"score": 2}]))
    positions, bad = evaluate.read_positions(f, solver=None)
    assert len(positions) == 1 and len(bad) == 2 and bad[0].startswith("entry 1: ")
    text = write(tmp_path / "Test_L3_R1", "112233 18\nnot a position\n")
    with pytest.raises(evaluate.PositionsError, match="Test_L3_R1: Pons text positions need bitbully"):
        evaluate.read_positions(text, solver=None)
    with pytest.raises(ValueError, match="at least one position"):
        evaluate.outcome_rates(None, [])  # type: ignore[arg-type]  # was ZeroDivisionError


def test_a_run_records_device_and_skipped_lines_and_plays_no_solver_game_at_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate, "latency", lambda *a, **k: {"p50_ms": 1.0, "p99_ms": 2.0, "moves": 1})
    monkeypatch.setattr(
        evaluate, "throughput", lambda *a, **k: {"one_game": 1.0, "32_batched": 2.0, "32_sequential": 1.0}
    )
    monkeypatch.setattr(evaluate, "speed_boards", lambda n, seed=11: [])
    f = write(tmp_path / "set.json", json.dumps([WON, {"sequence": "9", "score": 0}]))
    out = tmp_path / "out.json"
    result = invoke(["eval", "game", "--positions", str(f), *QUICK, "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "warning: " in result.stderr and "skipped 1 bad line(s): entry 1:" in result.stderr
    report = json.loads(out.read_text())
    assert report["positions"] == {"set.json": {"positions": 1, "skipped_lines": 1}}
    assert report["sets"]["set.json"]["easy"]["positions"] == 1
    assert report["device"]["torch_threads"] == 1 and report["device"]["model_device"] == "cpu"
    assert "full_solver_second" not in report["matches"]["easy"]  # F15: one solver game was still played
