"""``benchmarks/bench_mood.py``: ``--out`` like the other benchmarks, so a run need not overwrite the
committed ``benchmarks/results/bench_mood.json`` (QA trial C, F13); a bad log is one ``error:`` line and
exit code 2. The engine run itself is replaced by a stub: no model loads."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_mood():  # noqa: ANN201 - the benchmark script as a module
    spec = importlib.util.spec_from_file_location("bench_mood", ROOT / "benchmarks" / "bench_mood.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_result() -> dict:
    burst = {"messages": 1, "seconds": 1.0, "messages_per_s": 1.0, "errors": 0, "error_types": []}
    paced = {"rate": 1.0, "messages": 1, "seconds": 1.0, "achieved_per_s": 1.0, "p50_ms": 1.0, "p95_ms": 1.0,
             "errors": 0, "kept_up": True}
    return {"device": "cpu", "load_average": [0.0, 0.0, 0.0], "burst": burst, "paced": paced}


def test_out_defaults_to_the_committed_results_and_can_be_changed(
    bench_mood, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_mood.parse_args([]).out == ROOT / "benchmarks" / "results" / "bench_mood.json"
    committed = bench_mood.DEFAULT_OUT.read_bytes() if bench_mood.DEFAULT_OUT.exists() else None
    seen: list[list[str]] = []

    async def main(args: argparse.Namespace, lines: list[str]) -> dict:
        seen.append(lines)
        return fake_result()

    monkeypatch.setattr(bench_mood, "main", main)
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hello\n", encoding="utf-8")
    out = tmp_path / "sub" / "mood.json"
    assert bench_mood.run(["--log", str(log), "--out", str(out)]) == 0
    assert seen == [["hello"]] and json.loads(out.read_text())["burst"]["messages"] == 1
    assert f"wrote {out}" in capsys.readouterr().out
    after = bench_mood.DEFAULT_OUT.read_bytes() if bench_mood.DEFAULT_OUT.exists() else None
    assert after == committed


def test_a_bad_log_is_one_error_line(bench_mood, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.txt").write_text("")
    for name, what in (("missing.txt", "No such file or directory"), ("empty.txt", "empty file")):
        assert bench_mood.run(["--log", str(tmp_path / name), "--out", str(tmp_path / "o.json")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {tmp_path / name}: ") and what in err and err.count("\n") == 1
    assert not (tmp_path / "o.json").exists()


def test_bench_inference_prints_a_run_that_served_nothing() -> None:
    # regression: under heavy contention every request timed out, p99 was NaN and round(NaN) raised
    # ValueError after the whole run, so its JSON was never written
    path = ROOT / "benchmarks" / "bench_inference.py"
    spec = importlib.util.spec_from_file_location("bench_inference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.ms_list([173.4, float("nan")]) == [173, "nan"]
