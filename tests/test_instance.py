"""One bot per data folder (``bot.instance``): a second ``chatcast run`` must refuse, not double-answer."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.instance import PID_NAME, AlreadyRunning, single_instance

HOLD = """
import sys, time
from pathlib import Path
from bot.instance import single_instance
with single_instance(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(30)
"""


@contextlib.contextmanager
def held(folder: Path) -> Iterator[subprocess.Popen]:
    """Another process holding ``folder``'s bot lock for the ``with`` block (killed at its end)."""
    root = Path(__file__).resolve().parents[1]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], cwd=root, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_second_bot_on_the_same_data_folder_is_refused_and_named(tmp_path: Path) -> None:
    """Regression: two ``chatcast run`` on one config both started (every command answered twice)."""
    with held(tmp_path) as holder:
        with pytest.raises(AlreadyRunning) as info, single_instance(tmp_path):
            pass
        assert f"data folder {tmp_path} (pid {holder.pid})" in str(info.value)
    deadline = time.monotonic() + 5
    while True:  # the OS released the dead holder's lock: no stale lock after a crash
        try:
            with single_instance(tmp_path):
                assert (tmp_path / PID_NAME).exists()
            break
        except AlreadyRunning:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert not (tmp_path / PID_NAME).exists()  # removed when the bot stops


def test_chatcast_run_refuses_while_another_bot_holds_the_data_folder(tmp_path: Path) -> None:
    from fakes.cli import invoke, one_error_line

    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n', encoding="utf-8")
    with held(tmp_path / "data"):
        result = invoke(["run", "--config", str(cfg), "--no-engine", "--console"])
        one_error_line(result, str(tmp_path / "data"), "another chatcast is already running",
                       last_line_only=True)


def test_a_file_in_the_way_of_the_data_folder_is_one_error_line(tmp_path: Path) -> None:
    # regression (trial 7): data_dir = "afile" (an existing file) ended "chatcast run" in a FileExistsError
    # traceback from the lock
    from fakes.cli import invoke, one_error_line

    (tmp_path / "afile").write_text("x", encoding="utf-8")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "afile"\n', encoding="utf-8")
    result = invoke(["run", "--config", str(cfg), "--no-engine", "--console"])
    one_error_line(result, str(tmp_path / "afile"), "cannot use it as the data folder", last_line_only=True)


def test_a_replay_into_a_running_bots_database_is_refused(tmp_path: Path) -> None:
    # regression (trial 7): "replay LOG --db data/chatcast.db" wrote into the database a running bot used
    from fakes.cli import invoke, one_error_line

    log = tmp_path / "log.txt"
    log.write_text("[2024-10-10 18:00:00 UTC] ann: hi\n", encoding="utf-8")
    with held(tmp_path / "data"):
        result = invoke(["replay", str(log), "--no-engine", "--speed", "0", "--report", str(tmp_path / "r"),
                         "--db", str(tmp_path / "data" / "chatcast.db")])
        one_error_line(result, "--db", "another chatcast is already running", last_line_only=True)
