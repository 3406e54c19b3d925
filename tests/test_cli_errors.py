"""skills.cli_errors: bad data files end a train/eval command with one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from skills.cli_errors import data_errors


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: open(p / "missing.csv"), "missing.csv: No such file or directory"),  # noqa: SIM115
        (lambda p: p.read_text(), "Is a directory"),
        (lambda p: (p / "x").write_bytes(b"caf\xe9") and (p / "x").read_text("utf-8"), "not UTF-8"),
        (lambda p: json.loads("{oops"), "invalid JSON at line 1, column 2"),
        (lambda p: (_ for _ in ()).throw(ValueError("f.csv: expected CSV columns text,category")),
         "f.csv: expected CSV columns"),
    ],
)
def test_data_errors_become_one_line_and_exit_code_2(tmp_path: Path, capsys, make, expected: str) -> None:
    with pytest.raises(typer.Exit) as info, data_errors():
        make(tmp_path)
    assert info.value.exit_code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and "Traceback" not in err and err.count("\n") == 1


def test_other_exceptions_are_bugs_and_pass_through() -> None:
    with pytest.raises(KeyError), data_errors():
        raise KeyError("x")
