"""The chatcast command: version, init, config check, replay and the console run."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import __version__
from bot.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_real_skills(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the core skills: the tests must not depend on (or load) the other skills."""
    monkeypatch.setattr("skills.registry", lambda: {})


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"chatcast {__version__}"


def test_init_then_check(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    assert path.exists()
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 2 and "already exists" in again.stderr
    check = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert check.exit_code == 0, check.stderr
    assert f"{path}: ok" in check.stdout and "channel console/console" in check.stdout
    # regression (trial): the starter config answered viewers with the example streamer's facts (streams
    # from Germany, their PC, discord.gg/example); those entries are written commented out
    from bot.config import load_config
    from skills.commands.skill import CommandsSkill
    from skills.faq.skill import FaqSkill
    from skills.recommend.skill import RecommendSkill

    cfg = load_config(path, skill_classes={"faq": FaqSkill, "recommend": RecommendSkill,
                                           "commands": CommandsSkill})
    assert cfg.settings_for("faq", "twitch", "x").entries == []
    assert cfg.settings_for("recommend", "twitch", "x").catalog == []
    assert "# [[skills.faq.entries]]" in path.read_text() and "Germany" in path.read_text()
    assert cfg.settings_for("commands", "twitch", "x").entries  # the generic text commands stay


def test_config_check_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[bot]\nprefx = "?"\nretention_days = -3\n')
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert 'config.toml: line 2: bot.prefx: unknown key; did you mean "prefix"?' in result.stderr
    assert ("config.toml: line 3: bot.retention_days: expected an integer between 0 and 36500, got -3"
            in result.stderr)


def test_bad_log_level_is_a_clear_error() -> None:
    result = runner.invoke(app, ["--log-level", "loud", "config", "check"])
    assert result.exit_code == 2 and "unknown log level 'loud'" in result.stderr


def test_stats_db_leaves_a_report_folder_as_it_was(tmp_path: Path) -> None:
    # regression: a read-only look at a WAL database left chatcast.db-wal and -shm in the report folder
    import sqlite3

    from storage.db import Database, read_table_sizes

    db = Database(tmp_path / "chatcast.db")
    db.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["stats", "--db", str(tmp_path / "chatcast.db")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["chatcast.db"]
    # while a bot has it open (WAL files beside it), rows it committed are read as usual
    conn = sqlite3.connect(tmp_path / "chatcast.db")
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE live_rows (x)")
        conn.execute("INSERT INTO live_rows VALUES (1), (2)")
        conn.commit()
        assert (tmp_path / "chatcast.db-wal").exists()
        assert read_table_sizes(tmp_path / "chatcast.db")["live_rows"] == 2
    finally:
        conn.close()


def test_replay_writes_report(tmp_path: Path) -> None:
    log = tmp_path / "chat.txt"
    log.write_text(
        "[2024-01-01 10:00:00 UTC] ann: hi\n[2024-01-01 10:00:05 UTC] ben: !help\nnot a line\n"
        "[2024-01-01 10:00:09 UTC] ann: !mydata\n",
        encoding="utf-8",
    )
    report = tmp_path / "rep"
    result = runner.invoke(
        app, ["replay", str(log), "--report", str(report), "--db", str(tmp_path / "x.db"), "--no-engine",
              "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((report / "summary.json").read_text())
    assert (summary["messages"], summary["lines_skipped"], summary["commands_handled"]) == (3, 1, 2)
    assert summary["replies_sent"] == 2 and summary["skill_errors"] == 0
    assert "skipped line 3" in result.stderr
    assert "ben: !help" in (report / "transcript.txt").read_text()
    # the replay's database can be inspected (`stats --db` did not exist), skills' tables included
    import sqlite3

    with sqlite3.connect(tmp_path / "x.db") as conn:
        conn.execute("CREATE TABLE some_skill_rows (x)")
        conn.execute("INSERT INTO some_skill_rows VALUES (1), (2), (3)")
    result = runner.invoke(app, ["stats", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 0, result.output
    assert re.search(r"viewers\s*│\s*2\b", result.stdout), result.stdout
    assert re.search(r"some_skill_rows\s*│\s*3\b", result.stdout), result.stdout
    result = runner.invoke(app, ["stats", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 2 and "no such database file" in result.stderr


def test_replay_summary_says_what_wall_s_measures(tmp_path: Path) -> None:
    # regression (trial): the summary's wall_s (0.02) and the progress bar's time (0:00:02, start-up and the
    # report included) measured different spans and nothing said which
    from bot.report import WALL_S_SPAN

    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    report = tmp_path / "rep"
    result = runner.invoke(app, ["replay", str(log), "--report", str(report), "--no-engine", "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads((report / "summary.json").read_text())
    assert summary["wall_s_span"] == WALL_S_SPAN
    assert WALL_S_SPAN.startswith("from reading the log's first line to the last reply flushed")
    assert "model loading" in WALL_S_SPAN
    printed = " ".join(result.stdout.split())
    assert f"wall_s: {WALL_S_SPAN}; the progress bar's time counts them too." in printed


def test_replay_missing_log(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(tmp_path / "nope.txt"), "--no-engine"])
    assert result.exit_code == 2 and "chat log not found" in result.stderr
    # regression: a folder was reported as "chat log not found"
    result = runner.invoke(app, ["replay", str(tmp_path), "--no-engine"])
    assert result.exit_code == 2 and "is a folder, not a chat log" in result.stderr


@pytest.mark.parametrize(("name", "content", "said"), [
    # regression: a binary file had every line skipped and the replay still exited 0
    ("junk.bin", b"\x00\x01binary\xff\n\x02\x03\n", "none of its 2 line(s) is a chat message"),
    # regression (trial 9, F13): the hasanabi CSV (",comment" rows) had 84,670 lines skipped with only the
    # generic format hint
    # generic format hint; trial 10: only after every line was read and a report written, exit code 1
    ("chat.csv", b",comment\n0,Live DinkDonk\n1,PogU\n", "a CSV is no chat log"),
])
def test_replay_of_a_file_without_one_chat_line_fails(tmp_path: Path, name: str, content: bytes,
                                                      said: str) -> None:
    log = tmp_path / name
    log.write_bytes(content)
    result = runner.invoke(app, ["replay", str(log), "--no-engine", "--speed", "0", "--report",
                                 str(tmp_path / "r")])
    assert result.exit_code == (2 if name.endswith(".csv") else 1) and said in result.stderr
    assert not (tmp_path / "r").exists() or not name.endswith(".csv")  # refused before any report


def test_run_console_as_moderator(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n[[channels]]\nplatform = "console"\nname = "console"\n')
    result = runner.invoke(
        app, ["run", "--config", str(cfg), "--as", "Mia", "--role", "moderator", "--no-engine", "--console"],
        input="!help\n!mydata\n",
    )
    assert result.exit_code == 0, result.output
    assert "chatting as Mia (moderator)" in result.stdout
    assert "chatcast: Commands: !help" in result.stdout
    assert "chatcast: @Mia stored about you: seen in 1 channel(s)" in result.stdout
    assert (tmp_path / "data" / "chatcast.db").exists()


def test_piped_console_input_gets_its_last_answer_before_exit(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # regression: `printf '!c4 challenge\n4\n' | chatcast run` quit while the bot was still thinking
    from skills.game.skill import GameSkill

    monkeypatch.setattr("skills.registry", lambda: {"game": GameSkill})
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n[[channels]]\nplatform = "console"\nname = "console"\n'
                   '[skills.game]\nnormal_simulations = 4\nseed = 1\n')
    result = runner.invoke(app, ["run", "--config", str(cfg), "--no-engine", "--console"],
                           input="!c4 challenge\n4\n")
    assert result.exit_code == 0, result.output
    assert re.search(r"You played 4, bot played \d", result.stdout), result.stdout


def test_piped_console_input_waits_as_long_as_two_story_generations(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # regression: `printf '!story start x\n!story end\n' | chatcast run` waited 30 s for the opening and
    # the ending (52 s on this CPU), logged "its late messages are lost" and exited without the ending
    from bot.runtime import Runtime
    from skills.story.skill import StorySettings

    waited: list[float | None] = []

    async def finish_pending(self, timeout_s: float | None = 30.0) -> None:
        waited.append(timeout_s)

    monkeypatch.setattr(Runtime, "finish_pending", finish_pending)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n')
    result = runner.invoke(app, ["run", "--config", str(cfg), "--no-engine", "--console"], input="hi\n")
    assert result.exit_code == 0, result.output
    assert waited and waited[0] is not None and waited[0] >= 2 * StorySettings().generation_timeout_s


def test_replay_into_a_newer_database_is_a_clear_error(tmp_path: Path) -> None:
    from storage.db import Database

    db = Database(tmp_path / "new.db")
    db.raw.execute("INSERT INTO schema_version (component, version) VALUES ('core', 99)")
    db.close()
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    result = runner.invoke(app, ["replay", str(log), "--db", str(tmp_path / "new.db"), "--no-engine",
                                 "--no-progress", "--report", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "schema version 99" in result.stderr and "upgrade Chatcast" in result.stderr


def test_run_one_adapter_giving_up_does_not_stop_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot.adapters.base import CONSOLE_LIMITS, Adapter
    from bot.backoff import GiveUp
    from bot.events import ChatMessage, Viewer

    class Fake(Adapter):
        limits = CONSOLE_LIMITS

        def __init__(self, platform: str, fail: bool) -> None:
            self.platform, self.fail, self.sent = platform, fail, []

        async def connect(self) -> None:
            if self.fail:
                raise GiveUp("bad token")

        async def listen(self):  # noqa: ANN202
            await asyncio.sleep(0.05)  # still chatting after the other adapter gave up
            yield ChatMessage(self.platform, "chan", "1", Viewer(self.platform, "ann", "Ann"), "!help")

        async def send(self, reply) -> None:  # noqa: ANN001
            self.sent.append(reply.text)

        async def close(self) -> None:
            return None

    bad, good = Fake("twitch", fail=True), Fake("discord", fail=False)
    monkeypatch.setattr("bot.cli._live_adapters", lambda config, secrets, clock: [bad, good])
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n')
    result = runner.invoke(app, ["run", "--config", str(cfg), "--no-engine"])
    assert result.exit_code == 1, result.output
    assert "error: twitch adapter stopped: GiveUp: bad token" in result.stderr
    assert [t.split(":")[0] for t in good.sent] == ["Commands"]


def test_progress_bars_hidden_unless_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import bot.logs

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(bot.logs, "_progress_env_set_by_us", False)
    assert runner.invoke(app, ["config", "check"]).exit_code == 0
    assert os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1"
    assert runner.invoke(app, ["config", "check", "--log-level", "debug"]).exit_code == 0
    assert "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ


def test_config_check_warns_when_no_channels(tmp_path: Path) -> None:
    empty = tmp_path / "config.toml"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["config", "check", "--config", str(empty)])
    assert result.exit_code == 0 and ": ok" in result.stdout
    assert "warning: no channels configured" in result.stderr
    one = tmp_path / "one.toml"
    one.write_text('[[channels]]\nplatform = "console"\nname = "console"\n', encoding="utf-8")
    result = runner.invoke(app, ["config", "check", "--config", str(one)])
    assert result.exit_code == 0 and "no channels" not in result.stderr


def test_replay_defaults_to_a_fresh_database_in_the_report_folder(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n', encoding="utf-8")
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: !mydata\n", encoding="utf-8")
    result = runner.invoke(app, ["replay", str(log), "--config", str(cfg), "--no-engine", "--no-progress"])
    assert result.exit_code == 0, result.output
    reports = list((tmp_path / "data" / "reports").iterdir())
    assert len(reports) == 1 and (reports[0] / "chatcast.db").exists()
    assert f"database: {reports[0] / 'chatcast.db'}" in result.stdout
    assert not (tmp_path / "data" / "chatcast.db").exists()


def test_config_check_names_the_secrets_set_never_their_values(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHATCAST_TWITCH_TOKEN", "oauth:supersecretvalue")
    cfg = tmp_path / "config.toml"
    cfg.write_text("[bot]\n")
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "secrets set (env or secrets file): twitch_token" in result.stdout
    assert "supersecretvalue" not in result.output


def test_a_loaded_secret_repeated_in_the_config_is_refused_by_name(tmp_path: Path, monkeypatch) -> None:
    # trial 14: a refresh token loaded from the environment and pasted into a command response was posted
    # to chat, and as [bot] name it was the bot's display name; the config is refused, naming the secret
    value = "Zq9-refresh.Value_that-no-shape-rule-knows"
    monkeypatch.setenv("CHATCAST_TWITCH_REFRESH_TOKEN", value)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\nname = "cc"\n[skills.commands]\n[[skills.commands.entries]]\nname = "pw"\n'
                   f'response = "my key is {value}"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert "config.toml: line 6: holds the value of the loaded secret twitch_refresh_token" in result.stderr
    assert value not in result.output
    # trial 25: another error in the config (a token-shaped value) hid the loaded secret until it was fixed
    cfg.write_text(cfg.read_text() + '[[skills.commands.entries]]\nname = "tok"\n'
                   'response = "oauth:abcdefghijklmnopqrstuvwxyz0123"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert "config.toml: line 6: holds the value of the loaded secret twitch_refresh_token" in result.stderr
    assert "line 9: " in result.stderr and result.stderr.count("error:") == 2, result.stderr
    assert value not in result.output and "abcdefghijklmnopqrstuvwxyz0123" not in result.output


def test_invite_refuses_a_token_in_the_client_id_variable(tmp_path: Path, monkeypatch) -> None:
    # trial 14: a Discord bot token (or a Twitch oauth: token) pasted as the client id was printed in the
    # invite link meant to be shared
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[bot]\n")
    token = "MTA5ODc2NTQzMjEwOTg3NjU0MQ.GhIjKl.abcdefghijklmnopqrstuvwxyz01234"
    monkeypatch.setenv("CHATCAST_DISCORD_CLIENT_ID", token)
    result = runner.invoke(app, ["invite", "discord", "--config", str(cfg)])
    assert result.exit_code == 2 and "must be the Application ID, a number" in result.stderr
    assert token not in result.output and "GhIjKl" not in result.output
    monkeypatch.setenv("CHATCAST_DISCORD_CLIENT_ID", "123456789012345678")
    result = runner.invoke(app, ["invite", "discord", "--config", str(cfg)])
    assert result.exit_code == 0 and "client_id=123456789012345678&" in result.stdout
    monkeypatch.setenv("CHATCAST_TWITCH_CLIENT_ID", "oauth:k3x9qpzv7m2l8n4b6c1d5f0g7h2j9a")
    monkeypatch.setenv("CHATCAST_TWITCH_CLIENT_SECRET", "s3cr3t-value-xyz")
    result = runner.invoke(app, ["invite", "twitch", "--config", str(cfg), "--timeout", "1"])
    assert result.exit_code == 2 and "holds a token or the client secret" in result.stderr
    assert "k3x9" not in result.output


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    # regression: `stats --db notes.txt` printed a sqlite3.DatabaseError traceback
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    log = tmp_path / "one.txt"
    log.write_text("[2024-10-10 18:00:05 UTC] alice: hello\n")
    for args in (["stats", "--db", str(notes)], ["replay", str(log), "--no-engine", "--db", str(notes)]):
        with contextlib.chdir(tmp_path):  # the default report folder is under ./chatcast-data: not the repo's
            result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert f"{notes}: not a Chatcast database" in result.output
        assert "Traceback" not in result.output
    # regression (trial 6): the failed replay left an empty chatcast-data/reports/replay-... folder behind
    assert not list((tmp_path / "chatcast-data" / "reports").glob("*"))


def test_stats_never_writes_to_the_database_it_inspects(tmp_path: Path) -> None:
    # trial 14: `stats --db other.db` wrote Chatcast's tables into another program's database (and an empty
    # file), and `stats --db /tmp` said "no such database file" for a folder
    import sqlite3

    other = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("create table foo(x)")
        conn.commit()
    before = other.read_bytes()
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (other, empty):
        result = runner.invoke(app, ["stats", "--db", str(path)])
        assert result.exit_code == 2, result.output
        assert f"{path}: not a Chatcast database (it has no schema_version table)" in result.stderr
    assert other.read_bytes() == before and empty.stat().st_size == 0
    result = runner.invoke(app, ["stats", "--db", str(tmp_path)])
    assert result.exit_code == 2 and f"{tmp_path}: a folder without a chatcast.db" in result.stderr


def test_sigterm_stops_a_replay_like_ctrl_c(tmp_path: Path) -> None:
    # regression: `kill` (or docker stop) killed a replay outright, without the shutdown Ctrl-C gets
    import signal
    import subprocess
    import sys

    log = tmp_path / "slow.txt"  # one line a minute, replayed in real time: it waits
    log.write_text("".join(f"[2024-10-10 18:{m:02d}:00 UTC] u: hi\n" for m in range(30)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "replay", str(log), "--no-engine", "--speed", "1",
         "--report", str(tmp_path / "r")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the bot runs
        if "skills running" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 1 and "replay interrupted." in out


def test_config_check_warns_about_a_custom_command_named_like_a_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regression: a config command "help" passed `config check`; it could never run
    from skills.commands.skill import CommandsSkill
    from skills.recommend.skill import RecommendSkill

    monkeypatch.setattr("skills.registry", lambda: {"commands": CommandsSkill, "recommend": RecommendSkill})
    path = tmp_path / "c.toml"
    path.write_text('[[skills.commands.entries]]\nname = "help"\nresponse = "hi"\n'
                    '[[skills.commands.entries]]\nname = "lurk"\naliases = ["rec"]\nresponse = "lurking"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    # trial 24: each warning names the entry's line and key (it said only "skills.commands")
    assert ("line 2: skills.commands.entries[0].name: command 'help' is never run: 'help' is a built-in "
            "command") in result.stderr
    # only the alias is shadowed: !lurk itself runs
    assert ("line 6: skills.commands.entries[1].aliases[0]: alias 'rec' of command 'lurk' is never run: "
            "'rec' is a built-in command") in result.stderr


def test_doctor_says_when_there_is_no_secrets_file(tmp_path: Path) -> None:
    # regression: doctor printed "secrets file: secrets.toml" although no such file existed
    path = tmp_path / "c.toml"
    path.write_text("[bot]\n")
    result = runner.invoke(app, ["doctor", "--config", str(path)])
    assert "(not there: secrets come from environment variables)" in result.output


def test_stats_takes_a_report_folder_and_run_needs_a_name(tmp_path: Path) -> None:
    # regressions: "stats --db <report folder>" said "no such database file"; "run --as ''" chatted as ""
    from storage.db import Database

    (tmp_path / "report").mkdir()
    Database(tmp_path / "report" / "chatcast.db").close()
    result = runner.invoke(app, ["stats", "--db", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", "--as", " ", "--no-engine"], input="")
    assert result.exit_code == 2 and "--as: give the viewer name" in result.stderr


def test_replay_report_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    # regression (QA): a 17-frame traceback ending in FileExistsError, exit code 1
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    taken = tmp_path / "taken"
    taken.write_text("", encoding="utf-8")
    for report in (taken, taken / "sub"):
        result = runner.invoke(app, ["replay", str(log), "--report", str(report), "--no-engine",
                                     "--no-progress"])
        assert result.exit_code == 2, result.output
        assert f"error: --report {report}" in result.stderr or f"error: --report: {report}" in result.stderr
        assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    assert taken.read_text(encoding="utf-8") == ""


def test_replay_says_where_the_skipped_lines_it_does_not_print_are(tmp_path: Path) -> None:
    # trial 14: 200 bad lines in a log: the console named 5 and nothing said where the others were
    log = tmp_path / "chat.txt"
    log.write_text("".join(f"bad {i}\n" for i in range(12)) + "[2024-01-01 10:00:00 UTC] ann: hi\n")
    report = tmp_path / "rep"
    result = runner.invoke(app, ["replay", str(log), "--no-engine", "--no-progress", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert f"7 more skipped line(s): every one is in {report / 'skipped.txt'}" in result.stderr
    assert len((report / "skipped.txt").read_text().splitlines()) == 1 + 12  # a header line, then each


def test_replay_never_deletes_a_database_that_is_not_an_earlier_replays(tmp_path: Path) -> None:
    # trial 14 (data loss): `replay LOG --report chatcast-data` deleted the live database, also under a
    # running bot; only an earlier replay's report folder (summary.json, no bot lock) starts afresh
    from storage.db import Database

    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    data = tmp_path / "chatcast-data"
    data.mkdir()
    Database(data / "chatcast.db").close()
    live = (data / "chatcast.db").read_bytes()
    (data / "chatcast.lock").touch()  # a bot ran here
    (data / "summary.json").write_text("{}")  # even with a summary.json dropped in by mistake
    result = runner.invoke(app, ["replay", str(log), "--no-engine", "--no-progress", "--report", str(data)])
    assert result.exit_code == 2, result.output
    assert "holds a chatcast.db that is no earlier replay's report" in result.stderr
    assert (data / "chatcast.db").read_bytes() == live
    report = tmp_path / "rep"
    for _ in range(2):  # the same report folder twice: the second replay starts afresh
        args = ["replay", str(log), "--no-engine", "--no-progress", "--report", str(report)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output


def test_replay_db_never_migrates_another_programs_database(tmp_path: Path) -> None:
    # trial 15: `replay --db other.sqlite` wrote Chatcast's tables into another program's SQLite file, and
    # `stats --db` took any table named schema_version (Flyway's) for Chatcast's
    import sqlite3

    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    for schema in ("create table foo(x)", "create table schema_version(version text, applied text)"):
        other = tmp_path / "other.sqlite"
        other.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(other)) as conn:
            conn.execute(schema)
            conn.commit()
        before = other.read_bytes()
        for args in (["replay", str(log), "--no-engine", "--no-progress", "--db", str(other),
                      "--report", str(tmp_path / "r")], ["stats", "--db", str(other)]):
            result = runner.invoke(app, args)
            assert result.exit_code == 2, result.output
            assert "not a Chatcast database" in result.stderr
        assert other.read_bytes() == before


async def test_a_second_replay_into_a_running_replays_folder_is_refused(tmp_path: Path) -> None:
    # trial 15 (data loss): a second replay given the same --report deleted the running one's database,
    # and the first then reported success with an empty database
    import asyncio

    from bot.config import load_config
    from bot.replay_job import run_replay

    log = tmp_path / "chat.txt"
    log.write_text("".join(f"[2024-10-10 12:{i // 60 % 60:02d}:{i % 60:02d} UTC] u{i % 50}: hi {i}\n"
                           for i in range(5_000)), encoding="utf-8")
    seen: list = []
    config = load_config(None, skill_classes={})
    first = asyncio.create_task(run_replay(config, log, report_dir=tmp_path / "r", use_engine=False,
                                           skill_classes={}, on_adapter=seen.append))
    while not seen or seen[0].messages < 100:
        await asyncio.sleep(0.01)
    with pytest.raises(NotADirectoryError, match="another replay is writing this report folder"):
        await run_replay(config, log, report_dir=tmp_path / "r", use_engine=False, skill_classes={})
    summary, folder = await first
    assert summary["messages"] == 5_000 and summary["presence_rows"] == 50
    assert not (folder / ".replay.lock").exists()


def test_replay_refuses_an_empty_report_and_says_an_empty_log_is_empty(tmp_path: Path) -> None:
    # trial 15: `--report ""` (an unset $OUT) wrote the report into the working folder; an empty log (a
    # failed `cat missing.txt | chatcast replay -`) was a successful replay
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    with contextlib.chdir(tmp_path):
        result = runner.invoke(app, ["replay", str(log), "--no-engine", "--no-progress", "--report", ""])
    assert result.exit_code == 2 and "--report is empty" in result.stderr
    assert not (tmp_path / "summary.json").exists()
    for content in ("", "\ufeff\n  \n"):
        empty = tmp_path / "empty.txt"
        empty.write_text(content, encoding="utf-8")
        result = runner.invoke(app, ["replay", str(empty), "--no-engine", "--no-progress", "--report",
                                     str(tmp_path / "r")])
        # regression (trial 17): said only after a whole replay, which left its report folder behind
        assert result.exit_code == 2 and f"{empty}: the log is empty" in result.stderr
        assert not (tmp_path / "r").exists()


def test_replay_paths_that_cannot_be_created_are_clear_errors(tmp_path: Path) -> None:
    # trial 14: a report folder or data dir that cannot be created, and a folder given as --db, were
    # tracebacks (exit code 1)
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[bot]\ndata_dir = "{blocker / "data"}"\n', encoding="utf-8")
    cases = [
        (["--db", str(tmp_path)], f"error: --db {tmp_path}: is a folder, not a database file"),
        (["--config", str(cfg)], f"error: {blocker / 'data'}: a file is in the way of the report folder"),
    ]
    if Path("/proc/self").is_dir():  # Linux: nothing can be created under /proc
        cases.append((["--report", "/proc/chatcast-x"],
                      "error: --report: /proc/chatcast-x: cannot create the report folder"))
    for args, expected in cases:
        result = runner.invoke(app, ["replay", str(log), "--no-engine", "--no-progress", *args])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(expected) and "Traceback" not in result.output, result.output


def test_replay_channel_follows_the_json_channel_rule(tmp_path: Path) -> None:
    # regression (QA): --channel "../../x y" was accepted (transcript "#../../x y") while the same value
    # in a JSON line's "channel" is skipped as malformed
    from bot.adapters.chatlog import parse_line

    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    result = runner.invoke(app, ["replay", str(log), "--channel", "../../x y", "--report",
                                 str(tmp_path / "r"), "--no-engine", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --channel must be a name (letters, digits, _ . -), got '../../x y'\n"
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError) as info:
        parse_line('{"ts": 1, "user": "a", "text": "t", "channel": "../../x y"}')
    assert str(info.value) == '"channel" must be a name (letters, digits, _ . -), got \'../../x y\''
    result = runner.invoke(app, ["replay", str(log), "--channel", "#Cozy.Corner", "--report",
                                 str(tmp_path / "ok"), "--no-engine", "--no-progress"])
    assert result.exit_code == 0, result.output
    from storage.db import Database
    from storage.watch import presence_rows

    db = Database(tmp_path / "ok" / "chatcast.db")
    assert [r["user_id"] for r in presence_rows(db, "replay", "cozy.corner")] == ["ann"]
    db.close()



@pytest.mark.parametrize("speed", ["1e-300", "0.05", "-1", "nan"])
def test_replay_speed_below_the_minimum_is_a_clear_error(tmp_path: Path, speed: str) -> None:
    # regression (QA): --speed 1e-300 was accepted and the replay slept effectively forever
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    result = runner.invoke(app, ["replay", str(log), "--speed", speed, "--report", str(tmp_path / "r"),
                                 "--no-engine", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.stderr == ("error: --speed must be 0 (no waiting) or at least 0.1 (10 times slower than "
                             f"real time), got {float(speed):g}\n")


def test_replay_speed_zero_and_the_minimum_are_allowed_and_the_help_says_so(tmp_path: Path) -> None:
    log = tmp_path / "chat.txt"
    log.write_text("[2024-01-01 10:00:00 UTC] ann: hi\n", encoding="utf-8")
    for ok in ("0", "0.1"):
        result = runner.invoke(app, ["replay", str(log), "--speed", ok, "--report", str(tmp_path / ok),
                                     "--no-engine", "--no-progress"])
        assert result.exit_code == 0, result.output
    help_text = runner.invoke(app, ["replay", "--help"], env={"COLUMNS": "300"}).stdout
    assert "0 = no waiting; otherwise at least 0.1 (10 times slower than real time)" in help_text


def test_a_secrets_file_named_in_the_config_but_missing_is_an_error(tmp_path: Path) -> None:
    # regressions: `config check` said ok and "secrets set: none" without a word about the missing file; then
    # (trial 5, F15) only a warning, while the same path in CHATCAST_SECRETS_FILE is an error
    path = tmp_path / "c.toml"
    path.write_text('[bot]\nsecrets_file = "nothere.toml"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"error: {tmp_path / 'nothere.toml'}: secrets file named by [bot] secrets_file "
                             f"in {path} does not exist\n")
    result = runner.invoke(app, ["run", "--config", str(path), "--no-engine"], input="")
    assert result.exit_code == 2 and "nothere.toml: secrets file named by [bot] secrets_file" in result.stderr


CREDENTIALS = ("CHATCAST_TWITCH_CLIENT_ID", "CHATCAST_TWITCH_CLIENT_SECRET", "CHATCAST_TWITCH_TOKEN",
               "CHATCAST_TWITCH_REFRESH_TOKEN", "CHATCAST_DISCORD_TOKEN", "CHATCAST_DISCORD_CLIENT_ID",
               "CHATCAST_SECRETS_FILE")


def test_channels_without_credentials_are_warned_about_in_check_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regression (trial 5, F10): twitch and discord channels without credentials: `config check` said ok and
    # `run` silently opened the console only; a mistyped variable name looked like a live bot
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHATCAST_TWITCH_TOKEN", "tok-SECRETVALUE")  # the token alone cannot log in
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ndata_dir = "data"\n[[channels]]\nplatform = "twitch"\nname = "mystreamchan"\n'
                    '[[channels]]\nplatform = "discord"\nname = "1/2"\n[[channels]]\nplatform = "discord"\n'
                    'name = "1/3"\n[[channels]]\nplatform = "console"\nname = "console"\n')
    twitch = ("warning: channel twitch/mystreamchan will not be served: missing CHATCAST_TWITCH_CLIENT_ID "
              "and CHATCAST_TWITCH_CLIENT_SECRET (environment variables, or twitch_client_id and "
              "twitch_client_secret in the secrets file; see docs/twitch.md)\n")
    discord = ("warning: channels discord/1/2, discord/1/3 will not be served: missing "
               "CHATCAST_DISCORD_TOKEN (environment variable, or discord_token in the secrets file; see "
               "docs/discord.md)\n")
    check = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert check.exit_code == 0, check.output
    assert check.stderr == twitch + discord
    monkeypatch.setattr("bot.cli._live_adapters", lambda *a: [])  # no network in a test
    run = runner.invoke(app, ["run", "--config", str(path), "--no-engine"], input="")
    assert run.exit_code == 0, run.output
    assert twitch + discord in run.stderr and "SECRETVALUE" not in run.output
    quiet = runner.invoke(app, ["run", "--config", str(path), "--no-engine", "--console"], input="")
    assert quiet.exit_code == 0 and "will not be served" not in quiet.stderr  # the console was asked for


def test_run_says_which_platforms_start_when_credentials_keep_the_console_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regression: with a secrets.toml next to the config, piped console input vanished without a word
    import io

    from bot.adapters.replay import ReplayAdapter
    from bot.clock import ManualClock

    monkeypatch.setattr(
        "bot.cli._live_adapters",
        lambda *a: [ReplayAdapter(io.StringIO(""), clock=ManualClock(), platform="twitch")],
    )
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n')
    result = runner.invoke(app, ["run", "--config", str(cfg), "--no-engine"], input="!help\n")
    assert result.exit_code == 0, result.output
    assert "platforms: twitch (credentials found); the console is not opened: add --console" in result.stderr


def test_stats_shows_the_counters_the_bot_saved(tmp_path: Path) -> None:
    # regression: `stats --engine` started a fresh engine, so its statistics were always zero; the bot now
    # saves its counters next to its database and `stats` shows them
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n')
    result = runner.invoke(app, ["stats", "--config", str(cfg)])
    assert "no bot statistics yet" in result.stdout
    result = runner.invoke(app, ["run", "--config", str(cfg), "--no-engine", "--console"],
                           input="hello\n!help\n")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "data" / "bot-stats.json").read_text())
    assert saved["bot"]["messages"] == 2 and saved["bot"]["commands_handled"] == 1
    result = runner.invoke(app, ["stats", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert re.search(r"messages\s+│\s+2", result.stdout) and "bot-stats.json" in result.stdout


def test_stats_with_a_bot_stats_file_that_is_no_object_warns(tmp_path: Path) -> None:
    # trial 14: "null" (or "[]", "42") in bot-stats.json ended `chatcast stats` with a traceback
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n')
    (tmp_path / "data").mkdir()
    for text in ("null", "[]", "42"):
        (tmp_path / "data" / "bot-stats.json").write_text(text)
        result = runner.invoke(app, ["stats", "--config", str(cfg)])
        assert result.exit_code == 0, result.output
        assert "bot-stats.json: unreadable (expected a JSON object" in result.stderr


def test_stats_table_counts_requests_and_calls_generation_batches_steps(tmp_path: Path) -> None:
    # trial 12: the generation row's "batches" were decoding steps (hundreds per story) shown as if they
    # were requests; the table now has a "served" column and says "steps" on a generation model's row
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n')
    (tmp_path / "data").mkdir()
    engine = {"embed": {"requests": 7.0, "batches": 2.0, "mean_batch_size": 3.5, "latency_p99_ms": 1203.0},
              "classify:sentiment": {"requests": 10000.0, "batches": 900.0, "latency_p50_ms": 12.3},
              "generate": {"requests": 2.0, "batches": 120.0, "mean_batch_size": 1.9, "tokens": 230.0},
              # trial 22: a second model's folder path was cut to "embed:/tmp/tria…"
              "embed:/home/someone/models/all-mpnet-base-v2": {"requests": 5.0, "batches": 3.0}}
    (tmp_path / "data" / "bot-stats.json").write_text(json.dumps({"bot": {"messages": 3}, "engine": engine}))
    result = runner.invoke(app, ["stats", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "served" in result.stdout and "…" not in result.stdout, result.stdout  # fits 80 columns
    assert re.search(r"generate\s+2\s+120 steps\s+1\.9", result.stdout), result.stdout
    assert re.search(r"embed\s+7\s+2\s+3\.5", result.stdout), result.stdout
    assert re.search(r"embed:all-mpnet-base-v2\s+5\s+3", result.stdout), result.stdout


def test_config_check_warns_about_a_channels_own_command_named_like_a_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regression (trial): the same entry under [[channels.skills.commands.entries]] passed silently; trial 26,
    # F12: then it was reported only as "channel twitch/mine: skills.commands", without its line and key
    from skills.commands.skill import CommandsSkill

    monkeypatch.setattr("skills.registry", lambda: {"commands": CommandsSkill})
    path = tmp_path / "c.toml"
    path.write_text('[[channels]]\nplatform = "twitch"\nname = "mine"\n'
                    '[[channels.skills.commands.entries]]\nname = "help"\nresponse = "hi"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 5: channels[0].skills.commands.entries[0].name: command 'help' is never run" in result.stderr


def test_console_plays_a_live_stream_with_the_category_given(tmp_path: Path, monkeypatch, caplog) -> None:
    # regression (trial 9, F11): the console had no category, so "what game is this?" got no answer, and
    # the next FAQ question was held back by the viewer cooldown without a word
    from skills.faq.skill import FaqSkill

    monkeypatch.setattr("skills.registry", lambda: {"faq": FaqSkill})
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[bot]\ndata_dir = "data"\n[skills.faq]\nviewer_cooldown_s = 30\n'
        '[[skills.faq.entries]]\nid = "game"\nquestions = ["what game is this"]\nanswer = "We play {game}!"\n'
        'keywords = ["game"]\n'
        '[[skills.faq.entries]]\nid = "discord"\nquestions = ["is there a discord"]\n'
        'answer = "discord.gg/x"\nkeywords = ["discord"]\n'
        '[[channels]]\nplatform = "console"\nname = "console"\n'
    )
    caplog.set_level("INFO", logger="skills.faq.skill")
    result = runner.invoke(
        app, ["run", "--config", str(cfg), "--as", "Mia", "--no-engine", "--console",
              "--category", "Celeste"],
        input="what game is this?\nis there a discord?\n",
    )
    assert result.exit_code == 0, result.output
    assert "chatting as Mia (everyone) in #console (live, category Celeste)" in result.stdout
    assert "chatcast: @Mia We play Celeste!" in result.stdout and "discord.gg/x" not in result.stdout
    assert ("'is there a discord?' matches 'discord' but is not answered: this viewer got an FAQ answer less "
            "than 30 s ago (viewer_cooldown_s)") in caplog.text


def test_an_offline_console_keeps_its_category_for_game_commands(tmp_path: Path, monkeypatch) -> None:
    # trial 24, F14 (not reproduced here, kept as a guard): offline, {game} commands must still answer with
    # the category given, as a Twitch channel keeps its category while offline
    from skills.commands.skill import CommandsSkill

    monkeypatch.setattr("skills.registry", lambda: {"commands": CommandsSkill})
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\ndata_dir = "data"\n[[channels]]\nplatform = "console"\nname = "console"\n')
    result = runner.invoke(
        app, ["run", "--config", str(cfg), "--as", "m", "--role", "moderator", "--no-engine", "--console",
              "--category", "Celeste", "--offline"],
        input="!cmd add gc -cd=0 {game} #{count}\n!gc\n",
    )
    assert result.exit_code == 0, result.output
    assert "(offline, category Celeste)" in result.stdout and "chatcast: Celeste #1" in result.stdout


def test_replay_without_a_channel_warns_that_replies_name_the_streamer_replay(tmp_path: Path) -> None:
    # regression (trial 9, F12): a real log replayed without --channel posted "Follow replay so you know..."
    log = tmp_path / "chat.txt"
    log.write_text("[2024-10-10 18:00:00 UTC] ann: !help\n")
    args = ["replay", str(log), "--no-engine", "--speed", "0", "--report", str(tmp_path / "r")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "the replies name the streamer 'replay'" in result.stderr
    result = runner.invoke(app, [*args[:-1], str(tmp_path / "r2"), "--channel", "dorozea"])
    assert result.exit_code == 0 and "name the streamer" not in result.stderr


def test_replay_of_a_compressed_log_says_unpack_it(tmp_path: Path) -> None:
    # regression (trial 18): a .gz log got "NUL bytes: a UTF-16 or UTF-32 file?" on every line
    import gzip

    log = tmp_path / "chat.txt.gz"
    log.write_bytes(gzip.compress(b"[2024-01-01 10:00:00 UTC] ann: hi\n"))
    result = runner.invoke(app, ["replay", str(log), "--no-engine", "--no-progress", "--report",
                                 str(tmp_path / "r")])
    assert result.exit_code == 2 and f"{log}: a gzip file, not a chat log: unpack it first" in result.stderr
    assert not (tmp_path / "r").exists()
    xz = tmp_path / "chat.txt.xz"
    xz.write_bytes(b"\xfd7zXZ\x00" + b"\x00" * 20)
    result = runner.invoke(app, ["replay", str(xz), "--no-engine", "--no-progress"])
    assert result.exit_code == 2 and f"{xz}: an xz file, not a chat log" in result.stderr  # trial 20: "a xz"


def test_a_loaded_secret_in_a_config_value_with_an_error_is_masked_and_its_line_reported(
    tmp_path: Path, monkeypatch
) -> None:
    # trial 26, F3: `got "<the secret>"` in the validation error showed a loaded secret that is not
    # token-shaped, and the "holds the value of the loaded secret" line was left out for that line
    value = "Hunter2-Secret.Value_XYZ"
    monkeypatch.setenv("CHATCAST_TWITCH_CLIENT_SECRET", value)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\nprefix = "{value}"\nlog_level = "{value}"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert value.lower() not in result.output.lower() and value[:8].lower() not in result.output.lower()
    assert ('line 2: bot.prefix: expected a string of 1 to 3 characters, got "<the loaded secret '
            'twitch_client_secret>"') in result.stderr
    assert "config.toml: line 2: holds the value of the loaded secret twitch_client_secret" in result.stderr
    assert "config.toml: line 3: holds the value of the loaded secret twitch_client_secret" in result.stderr
    # a long one, cut short by the message, is masked too
    long_value = value * 3
    monkeypatch.setenv("CHATCAST_TWITCH_CLIENT_SECRET", long_value)
    cfg.write_text(f'[bot]\nprefix = "{long_value}"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2 and value[:8] not in result.output, result.output


def test_a_secret_of_the_configured_secrets_file_is_found_in_a_config_with_errors(tmp_path: Path) -> None:
    # trial 26, F4: with [bot] secrets_file, a config that failed was scanned only with the secrets of
    # the default places, so a secret of that file pasted in the config was hidden by any other error
    value = "Zq9-refresh.Value_that-no-shape-rule-knows"
    secrets = tmp_path / "my-secrets.toml"
    secrets.write_text(f'twitch_refresh_token = "{value}"\n')
    secrets.chmod(0o600)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\nsecrets_file = "my-secrets.toml"\nprefx = "!"\nname = "{value}"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert "config.toml: line 4: holds the value of the loaded secret twitch_refresh_token" in result.stderr
    assert value not in result.output
