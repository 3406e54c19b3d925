"""The ``chatcast`` command.

``run`` (console adapter when no platform credentials are configured), ``replay LOG|-``, ``init``,
``config check``, ``stats``, ``--version``, ``--log-level`` (on the root and on every command), and the
``train`` / ``eval`` sub-commands that each skill adds from ``skills/<name>/cli.py``
(``register(train_app, eval_app)``). ``bot/adapters/cli.py`` may add ``invite``/``doctor`` with
``register(app)`` and live adapters with ``build_adapters(config, secrets, *, clock) -> list[Adapter]``.
A skill or adapter CLI module that fails to import is logged and left out; the rest of the CLI works.

Exit codes: 0 ok, 1 runtime failure, 2 bad config / secrets / arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bot import __version__
from bot.adapters.replay import MIN_SPEED
from bot.config import DEFAULT_CONFIG_NAME, Config, ConfigError, load_config, read_config_text, safe_key_lines
from bot.config_errors import redact_tokens
from bot.logs import quiet_progress_bars, setup_logging
from bot.report import REQUIRED_KEYS
from bot.runtime import DRAIN_TIMEOUT_S
from bot.secrets import (
    SECRET_NAMES,
    SECRETS_FILE_ENV,
    Secrets,
    SecretsError,
    credential_warnings,
    load_secrets,
    secrets_location,
)
from storage.db import SchemaTooNew

log = logging.getLogger("chatcast.cli")
err = Console(stderr=True, soft_wrap=True)  # never wrap: error lines must stay copyable
out = Console(soft_wrap=True)

CONFIG_ENV = "CHATCAST_CONFIG"

app = typer.Typer(
    name="chatcast",
    help="Chatcast: an open-source AI co-host for live streams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
train_app = typer.Typer(help="Train a skill's models (added by each skill).", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate a skill's models (added by each skill).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")

_state: dict[str, Any] = {"log_level": "info"}

CONFIG_HELP = f"Config file (default: ./{DEFAULT_CONFIG_NAME} if present, else ${CONFIG_ENV}, else defaults)."
LOG_HELP = "Log level: debug, info, warning, error."


@train_app.callback()
def _train() -> None:
    """Train a skill's models: `chatcast train <skill> --help`."""


@eval_app.callback()
def _eval() -> None:
    """Evaluate a skill's models on held-out data: `chatcast eval <skill> --help`."""


def _version(value: bool) -> None:
    if value:
        out.print(f"chatcast {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
    log_level: str = typer.Option("info", "--log-level", help=LOG_HELP),
) -> None:
    """Chatcast: an open-source AI co-host for live streams."""
    _state["log_level"] = log_level
    _setup_logging(log_level)


# ---- helpers ----------------------------------------------------------------------------------------


def _setup_logging(level: str | None, secrets: Secrets | None = None) -> None:
    chosen = level or _state["log_level"]
    try:
        setup_logging(chosen, secrets.values() if secrets else ())
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    # Model libraries print "Loading weights" / download bars on every command: only with debug logging.
    quiet_progress_bars(debug=chosen.lower() == "debug")


def resolve_config_path(path: Path | None) -> Path | None:
    """``--config``, else ``./config.toml`` if it exists, else ``$CHATCAST_CONFIG``, else ``None``."""
    if path is not None:
        return path
    local = Path(DEFAULT_CONFIG_NAME)
    if local.exists():
        return local
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return None


def _read_secrets(configured: Path | None, config_path: Path | None) -> tuple[Secrets | None, str | None]:
    """``(secrets, None)`` (``bot.secrets.secrets_location``), or ``(None, the error line)`` saying what is
    wrong with them."""
    secrets_file: Path | None
    secrets_file, named_by = secrets_location(configured, config_path)
    if named_by is None and not secrets_file.exists():
        secrets_file = None
    try:
        return load_secrets(secrets_file, named_by=named_by), None
    except SecretsError as exc:
        return None, redact_tokens(str(exc))


def _env_secrets() -> Secrets:
    """The secrets of the environment variables alone (to mask them in messages when the file failed)."""
    return load_secrets(None, env={k: v for k, v in os.environ.items() if k != SECRETS_FILE_ENV})


def _config_text(path: Path | None) -> str | None:
    """The config file's text, ``None`` when there is none or it cannot be read (``read_config_text``)."""
    if path is None or not path.is_file():
        return None
    try:
        return read_config_text(path)
    except (OSError, UnicodeError):
        return None


def _raw_config(path: Path | None) -> dict[str, Any]:
    """The config file's parsed TOML, unvalidated (empty when it cannot be read or parsed)."""
    text = _config_text(path)
    try:
        return tomllib.loads(text) if text is not None else {}
    except (tomllib.TOMLDecodeError, RecursionError):
        return {}


def _raw_secrets_file(path: Path | None) -> Path | None:
    """``[bot] secrets_file`` read from the TOML of a config that failed validation (a string), else
    ``None``: the secrets it names are scanned for in the same pass (trial 26, F4: they were not)."""
    bot = _raw_config(path).get("bot")
    value = bot.get("secrets_file") if isinstance(bot, dict) else None
    return Path(value) if isinstance(value, str) and value.strip() else None


def _say(kind: str, line: str) -> None:
    err.print(f"{kind}: {line}", style="red" if kind == "error" else "yellow", highlight=False, markup=False,
              emoji=False)


def _load(path: Path | None, log_level: str | None) -> tuple[Config, Secrets]:
    """Config + secrets, or a clear error and exit code 2. Applies the config's log level unless given.
    No message shows a loaded secret's value (``Secrets.mask``): one pasted where it also fails
    validation was echoed by the error (``got "..."``)."""
    resolved = resolve_config_path(path)
    try:
        config = load_config(resolved)
    except ConfigError as exc:
        # the secrets file's own problems in the same run (they came only after the config was fixed), from
        # where [bot] secrets_file points when the raw TOML names one
        found = resolved if resolved is not None and resolved.exists() else None
        secrets, problem = _read_secrets(_raw_secrets_file(found), found)
        shown = secrets if secrets is not None else _env_secrets()
        for line in exc.problems:
            _say("error", shown.mask(line))
        if problem is not None:
            _say("error", problem)
        if secrets is not None:  # and every line repeating a loaded secret, also one with another error
            # (trial 25: one token-shaped value hid the three loaded secrets pasted beside it until fixed)
            for line in _secrets_in_config(found, secrets):
                _say("error", line)
        raise typer.Exit(2) from None
    secrets, problem = _read_secrets(config.bot.secrets_file, config.path)
    shown = secrets if secrets is not None else _env_secrets()
    for warning in config.warnings:
        _say("warning", shown.mask(warning))
    if secrets is None:
        _say("error", problem or "")
        raise typer.Exit(2)
    repeated = _secrets_in_config(config.path, secrets)
    for line in repeated:
        _say("error", line)
    if repeated:
        raise typer.Exit(2)
    level = log_level or (_state["log_level"] if _state["log_level"] != "info" else config.bot.log_level)
    _setup_logging(level, secrets)
    return config, secrets


def _secrets_in_config(path: Path | None, secrets: Secrets) -> list[str]:
    """One problem per config line that repeats a loaded secret's value (a token pasted as the bot's name
    or a command's response would be shown in chat); the secret is named, its value never shown."""
    text = _config_text(path)
    lines = text.splitlines() if text is not None else []
    return [f"{path}: line {n}: holds the value of the loaded secret {', '.join(names)}; keep a token only "
            f"in its environment variable or the secrets file (docs/core.md, Secrets) and remove it here"
            for n, line in enumerate(lines, 1) if (names := secrets.names_in(line))]


def _live_adapters(config: Config, secrets: Secrets, clock: Any) -> list[Any]:
    """Adapters from ``bot.adapters.cli.build_adapters`` (or ``bot.adapters.factory``) when present."""
    for module_name in ("bot.adapters.cli", "bot.adapters.factory"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        except Exception as exc:  # noqa: BLE001
            log.warning("%s failed to import: %s", module_name, exc)
            continue
        build = getattr(module, "build_adapters", None)
        if callable(build):
            return list(build(config, secrets, clock=clock))
    return []


# ---- commands ---------------------------------------------------------------------------------------


@app.command()
def run(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    as_: str = typer.Option("viewer", "--as", help="Console: the viewer name you chat as."),
    role: str = typer.Option(
        "everyone", "--role", help="Console: everyone, subscriber, vip, moderator, broadcaster."
    ),
    console: bool = typer.Option(False, "--console", help="Use the console even when credentials are set."),
    category: str | None = typer.Option(
        None, "--category", help="Console: the stream's category (fills {game}), e.g. 'Stardew Valley'."
    ),
    title: str | None = typer.Option(None, "--title", help="Console: the stream's title (fills {title})."),
    offline: bool = typer.Option(False, "--offline", help="Console: play an offline stream (default: live)."),
    no_engine: bool = typer.Option(
        False, "--no-engine", help="Do not load models (skills that need them stay quiet)."
    ),
    log_level: str | None = typer.Option(None, "--log-level", help=LOG_HELP),
) -> None:
    """Start the bot: live platforms when credentials are configured, else the console."""
    from bot.adapters.console import ConsoleAdapter
    from bot.clock import SystemClock
    from bot.events import Role
    from bot.instance import DataFolderError, single_instance
    from bot.runtime import Runtime

    cfg, secrets = _load(config, log_level)
    if not as_.strip():
        err.print("error: --as: give the viewer name you chat as", style="red", markup=False)
        raise typer.Exit(2)
    try:
        viewer_role = Role.parse(role)
    except ValueError as exc:
        err.print(f"error: --role: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    clock = SystemClock()
    if not console:  # a mistyped variable name left the bot on the console without a word
        _warn_missing_credentials(cfg, secrets)
    adapters = [] if console else _live_adapters(cfg, secrets, clock)
    if adapters:  # say so: piped console input was silently ignored when a secrets file was found
        names = ", ".join(sorted({a.platform for a in adapters}))
        err.print(f"platforms: {names} (credentials found); the console is not opened: add --console to chat "
                  "in the terminal instead", style="dim", highlight=False, markup=False)
    if not adapters:
        console_channel = next((c.name for c in cfg.channels if c.platform == "console"), "console")
        adapters = [
            ConsoleAdapter(user=as_, role=viewer_role, channel=console_channel, bot_name=cfg.bot.name,
                           live=not offline, category=category, title=title)
        ]

    async def serve() -> dict[str, BaseException]:
        task = asyncio.current_task()
        if task is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        runtime = Runtime(cfg, clock=clock, use_engine=not no_engine)
        await runtime.start()
        try:
            # Each adapter on its own: one giving up is logged, the others and the skills carry on.
            failed = await runtime.serve_all(adapters)
            # input ended (e.g. piped): answer the last lines first; a story's opening and ending on a CPU
            # take more than 30 s together (the ending was lost)
            log.info("input ended: waiting up to %g s for the skills' last replies (Ctrl-C stops)",
                     DRAIN_TIMEOUT_S)
            await runtime.finish_pending(DRAIN_TIMEOUT_S)
            return failed
        finally:
            await runtime.stop()

    try:
        with single_instance(cfg.data_dir):  # a second bot on this data folder would answer everything twice
            failed = asyncio.run(serve())
    except (KeyboardInterrupt, asyncio.CancelledError):
        err.print("stopped.", style="dim")
        return
    except DataFolderError as exc:  # another bot holds it, or it cannot be locked at all
        err.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    except SchemaTooNew as exc:
        err.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    for platform, exc in failed.items():
        err.print(
            f"error: {platform} adapter stopped: {type(exc).__name__}: {exc}", style="red", markup=False
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def replay(
    log_file: str = typer.Argument(
        ..., metavar="LOG", help="Chat log (Twitch dump or JSON Lines), or - for stdin."
    ),
    speed: float = typer.Option(
        0.0, "--speed",
        help=f"1 = real time, 2 = twice as fast, 0 = no waiting; otherwise at least {MIN_SPEED:g} "
        f"({1 / MIN_SPEED:g} times slower than real time).",
    ),
    report_arg: str | None = typer.Option(
        None, "--report", help="Report folder, new or existing (default: new folder in data dir)."
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    channel: str | None = typer.Option(
        None, "--channel",
        help="Channel every line is replayed into, a JSON line's own \"channel\" too: letters, digits, _ . - "
        "(default: a JSON line's \"channel\", else the log's '# channel: NAME', else 'replay').",
    ),
    db: Path | None = typer.Option(
        None, "--db",
        help="Database to replay into and keep (default: a fresh chatcast.db in the report folder). Its rows "
        "are stored under the platform 'replay', apart from live Twitch and Discord viewers.",
    ),
    no_engine: bool = typer.Option(False, "--no-engine", help="Do not load models."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    drain_timeout: float = typer.Option(
        DRAIN_TIMEOUT_S, "--drain-timeout", min=0.0,
        help="Seconds skills may finish background work (story paragraphs) after the log ends.",
    ),
    log_level: str | None = typer.Option(None, "--log-level", help=LOG_HELP),
) -> None:
    """Feed a recorded chat log through the whole bot and write a report (summary.json, transcript.txt)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from bot.replay_job import run_replay

    cfg, _ = _load(config, log_level)
    if log_file != "-" and not Path(log_file).is_file():
        why = "is a folder, not a chat log" if Path(log_file).is_dir() else "chat log not found"
        err.print(f"error: {log_file}: {why}", style="red", markup=False)
        raise typer.Exit(2)
    if report_arg is not None and not report_arg.strip():  # an unset "$OUT" wrote the report into the cwd
        err.print("error: --report is empty: give a folder for the report", style="red", markup=False)
        raise typer.Exit(2)
    report = Path(report_arg) if report_arg is not None else None
    _check_replay_args(speed, channel, report, db)
    unusable = _unusable_log(Path(log_file)) if log_file != "-" else None
    if unusable is not None:  # said before any model loads or report is written
        err.print(f"error: {log_file}: {unusable}", style="red", markup=False)
        raise typer.Exit(2)
    if log_file != "-" and _is_csv(Path(log_file)):  # said before any model loads or report is written
        err.print(f"error: {log_file}: a CSV is no chat log: replay reads '[YYYY-MM-DD HH:MM:SS UTC] user: "
                  "text' lines or JSON Lines with ts, user and text (a CSV of messages can be measured with "
                  "`chatcast eval faq --chat` or `chatcast eval sentiment`)", style="red", markup=False)
        raise typer.Exit(2)
    bar = Progress(
        TextColumn("replay"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[messages]} messages"),
        TimeElapsedColumn(),
        console=err,
        disable=not progress,
        transient=False,
    )
    holder: dict[str, Any] = {}

    async def job() -> tuple[dict[str, Any], Path | None]:
        main = asyncio.current_task()
        if main is not None:  # SIGTERM (kill, docker stop) stops a replay the way Ctrl-C does
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
        task = bar.add_task("replay", total=None, messages=0)

        def grab(adapter: Any) -> None:
            holder["adapter"] = adapter
            if adapter.bytes_total:
                bar.update(task, total=adapter.bytes_total)

        async def tick() -> None:
            while True:
                adapter = holder.get("adapter")
                if adapter is not None:
                    bar.update(task, completed=adapter.bytes_read, messages=adapter.messages)
                await asyncio.sleep(0.1)

        ticker = asyncio.get_running_loop().create_task(tick())
        try:
            return await run_replay(
                cfg,
                log_file,
                speed=speed,
                channel=channel,
                report_dir=report,
                db_path=db,
                use_engine=not no_engine,
                on_adapter=grab,
                drain_timeout_s=drain_timeout,
            )
        finally:
            ticker.cancel()
            adapter = holder.get("adapter")
            if adapter is not None:
                bar.update(task, completed=adapter.bytes_read, messages=adapter.messages)

    from bot.instance import DataFolderError, single_instance

    try:
        # a kept database is written like a running bot's: never both at once (the lock of its folder)
        with single_instance(db.parent) if db is not None else contextlib.nullcontext(), bar:
            summary, folder = asyncio.run(job())
    except (KeyboardInterrupt, asyncio.CancelledError):
        err.print("replay interrupted.", style="yellow")
        raise typer.Exit(1) from None
    except DataFolderError as exc:
        err.print(f"error: --db: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    except (ConnectionError, SchemaTooNew) as exc:
        err.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    except NotADirectoryError as exc:  # a file above the --report folder, or one not creatable (run_replay)
        err.print(f"error: {'--report: ' if report is not None else ''}{exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    _print_summary(summary, folder)
    if not summary.get("lines_read") and not summary.get("lines_skipped"):  # "cat missing.txt | replay -"
        err.print(f"error: {log_file}: the log is empty", style="red", markup=False)
        raise typer.Exit(1)
    if not summary.get("messages") and summary.get("lines_skipped"):
        err.print(f"error: {log_file}: none of its {summary['lines_skipped']} line(s) is a chat message "
                  "(see the skipped lines above and docs/core.md for the formats)", style="red", markup=False)
        raise typer.Exit(1)


def _unusable_log(path: Path) -> str | None:
    """Why the log file at ``path`` cannot be replayed, from its first 4 KiB read once, or ``None``: empty
    (nothing but white space, NULs and byte-order marks: it ran a whole empty replay and left its report
    folder) or a compressed archive (``archive_kind``: every line was skipped with a UTF-16 hint)."""
    from bot.adapters.replay import archive_kind

    try:
        with path.open("rb") as f:
            head = f.read(4097)
    except OSError:
        return None  # the replay itself says why it cannot read it
    if len(head) <= 4096 and not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        return "the log is empty"
    packed = archive_kind(head)
    return f"{packed} file, not a chat log: unpack it first" if packed else None


def _is_csv(path: Path) -> bool:
    """A ``.csv`` file whose first line is no chat-log line (``[time] user: text``, JSON, ``#`` header)."""
    if path.suffix.lower() != ".csv":
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            first = f.readline().lstrip("\ufeff").strip()
    except OSError:
        return False
    return not first.startswith(("[", "{", "#"))


def _check_replay_args(
    speed: float, channel: str | None, report: Path | None, db: Path | None = None
) -> None:
    """``replay``'s --speed, --channel, --report and --db, before anything runs: one ``error:`` line and exit
    code 2 for a bad one (``typer.Exit``)."""
    from bot.adapters.chatlog import parse_channel

    problem = None
    if not (speed == 0 or speed >= MIN_SPEED):  # negative, NaN, or so slow a replay never ends (1e-300)
        problem = (f"--speed must be 0 (no waiting) or at least {MIN_SPEED:g} ({1 / MIN_SPEED:g} times "
                   f"slower than real time), got {speed:g}")
    elif channel is not None:
        try:
            parse_channel(channel, "--channel")  # the rule a JSON line's "channel" follows
        except ValueError as exc:
            problem = str(exc)
    if problem is None and report is not None and report.exists() and not report.is_dir():
        problem = f"--report {report}: is a file, not a folder (give a new or existing folder)"
    if problem is None and db is not None and db.is_dir():
        problem = f"--db {db}: is a folder, not a database file (give a file path, e.g. {db / 'chatcast.db'})"
    if problem is None and db is not None and db.is_file() and db.stat().st_size > 0:
        from storage.db import NotADatabase, check_database

        try:  # read-only: another program's SQLite file got Chatcast's tables written into it
            check_database(db)
        except NotADatabase as exc:
            problem = f"--db {exc}"
    if problem is not None:
        err.print(f"error: {problem}", style="red", markup=False)
        raise typer.Exit(2)


def _print_summary(summary: dict[str, Any], folder: Path | None) -> None:
    table = Table(title="replay summary", show_header=True)
    table.add_column("key")
    table.add_column("value", justify="right")
    # the keys every summary.json has, then the run's health and timing
    for key in (*REQUIRED_KEYS, "skill_timeouts", "storage_errors", "presence_rows",
                "viewers_without_presence", "wall_s"):
        table.add_row(key, str(summary.get(key)))
    out.print(table)
    if summary.get("wall_s_span"):  # the progress bar's time is longer: say what each one counts
        out.print(f"wall_s: {summary['wall_s_span']}; the progress bar's time counts them too.", markup=False)
    shown = summary.get("skipped_examples", [])[:5]
    for example in shown:
        err.print(f"skipped line {example['line']}: {example['reason']}", style="yellow", markup=False)
    if summary.get("lines_skipped", 0) > len(shown) and summary.get("skipped_file"):
        err.print(f"{summary['lines_skipped'] - len(shown)} more skipped line(s): every one is in "
                  f"{summary['skipped_file']}", style="yellow", markup=False)
    for note in ("retention_note", "channel_note"):
        if summary.get(note):
            err.print(f"warning: {summary[note]}", style="yellow", markup=False)
    warnings = summary.get("line_warnings", [])
    for warning in warnings[:5]:
        err.print(f"warning: {warning['reason']}", style="yellow", markup=False)
    if summary.get("lines_warned", 0) > 5:
        err.print(f"warning: {summary['lines_warned'] - 5} more such line(s): see line_warnings in "
                  "summary.json", style="yellow", markup=False)
    if summary.get("skill_errors") or summary.get("skill_timeouts"):
        err.print(
            f"{summary.get('skill_errors')} skill error(s), {summary.get('skill_timeouts')} timeout(s): "
            "see the log above for tracebacks",
            style="yellow", markup=False,
        )
    for name, reason in summary.get("disabled_skills", {}).items():
        err.print(f"skill {name} disabled: {reason}", style="yellow", markup=False)
    for name in summary.get("undrained_skills", []):
        err.print(
            f"skill {name} was still busy when the replay ended (see --drain-timeout)",
            style="yellow", markup=False,
        )
    if summary.get("storage_errors"):
        err.print(
            f"{summary.get('storage_errors')} presence flush(es) failed: see the log above",
            style="yellow", markup=False,
        )
    if folder is not None:
        out.print(f"report: {folder}", markup=False)
    if summary.get("db"):
        out.print(f"database: {summary['db']}", markup=False)


@app.command()
def init(
    path: Path = typer.Argument(Path(DEFAULT_CONFIG_NAME), help="Where to write the config."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a starter config (then edit it and run `chatcast config check`)."""
    if path.exists() and not force:
        err.print(f"error: {path} already exists (use --force to overwrite)", style="red", markup=False)
        raise typer.Exit(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_config(), encoding="utf-8")
    out.print(f"wrote {path}; check it with: chatcast config check --config {path}", markup=False)
    out.print("its FAQ entries and recommendation catalog are commented out: they describe an example "
              "streamer; write your own (docs/faq.md, docs/recommend.md)", markup=False)


EXAMPLE_ONLY = ("[[skills.faq.entries]]", "[[skills.recommend.catalog]]")
"""Tables of ``config.example.toml`` that describe its example streamer (where they stream from, their PC,
a Discord invite, partner channels): ``chatcast init`` writes them commented out, so a new bot never
tells viewers someone else's facts."""


def starter_config() -> str:
    """The starter config: ``config.example.toml`` of the source tree with its example streamer's FAQ
    entries and catalog commented out (``EXAMPLE_ONLY``), else a minimal built-in one."""
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    if example.is_file():
        out: list[str] = []
        commenting = False
        for line in example.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                starts = line.startswith(EXAMPLE_ONLY)
                if starts and not commenting:
                    out.append("# The example streamer's entries: uncomment, then write your own.")
                commenting = starts
            out.append(f"# {line}" if commenting and line.strip() else line)
        return "\n".join(out) + "\n"
    return (
        '# Chatcast configuration; reference: docs/core.md\n[bot]\nname = "chatcast"\nprefix = "!"\n'
        'data_dir = "chatcast-data"\nretention_days = 90\n\n[[channels]]\nplatform = "console"\n'
        'name = "console"\n'
    )


@config_app.command("check")
def config_check(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    log_level: str | None = typer.Option(None, "--log-level", help=LOG_HELP),
) -> None:
    """Validate the config and secrets; print what the bot would run. Exit code 2 on problems."""
    cfg, secrets = _load(config, log_level)
    where = str(cfg.path) if cfg.path else "(no file: defaults)"
    out.print(f"{where}: ok", markup=False, emoji=False)
    out.print(f"data dir: {cfg.data_dir}", markup=False, emoji=False)
    if not cfg.channels:
        err.print(
            "warning: no channels configured ([[channels]]): `chatcast run` only has the console; add a "
            "[[channels]] entry with platform and name (see config.example.toml)",
            style="yellow", highlight=False, markup=False,
        )
    for entry in cfg.channels:
        skills = [n for n in sorted(cfg.skill_defaults) if cfg.enabled_for(n, entry.platform, entry.name)]
        out.print(
            f"channel {entry.platform}/{entry.name}: prefix {cfg.prefix_for(entry.platform, entry.name)!r}, "
            f"skills: {', '.join(skills) or 'none'}",
            markup=False, emoji=False,  # a name such as "a:x:b" is not an emoji code
        )
    for warning in _shadowed_custom_commands(cfg):
        err.print(f"warning: {warning}", style="yellow", highlight=False, markup=False, emoji=False)
    _warn_missing_credentials(cfg, secrets)
    missing = list(cfg.skill_raw)
    if missing:
        out.print(f"not installed (sections not checked): {', '.join(missing)}", markup=False)
    # names only, never values; each comes from its env var or the 0600 secrets file
    configured = [n for n in SECRET_NAMES if getattr(secrets, n)]
    out.print(f"secrets set (env or secrets file): {', '.join(configured) or 'none'}", markup=False)


def _warn_missing_credentials(cfg: Config, secrets: Secrets) -> None:
    """A warning per live platform whose ``[[channels]]`` cannot be served for lack of credentials (the
    names of the missing variables, never a value); ``config check`` and ``run`` both say it."""
    for line in credential_warnings(((c.platform, c.name) for c in cfg.channels), secrets):
        err.print(f"warning: {line}", style="yellow", highlight=False, markup=False, emoji=False)


def _shadowed_custom_commands(cfg: Config) -> list[str]:
    """``[skills.commands]`` entries (global, and each channel's own) named like a built-in command: they
    would never run. Each at its entry's line and key (``channels[0].skills.commands.entries[0].name`` for a
    channel's own: its index among the file's ``[[channels]]``, the entry's in that channel's table)."""
    path: tuple[str | int, ...] = ("skills", "commands")
    lists = [(path, getattr(cfg.skill_defaults.get("commands"), "entries", None) or [])]
    # a config that loaded has every [[channels]] entry in cfg.channels, in the file's order; a channel's
    # merged list is the global entries it keeps, then its own (``merge_override``)
    raw_channels = _raw_config(cfg.path).get("channels")
    raw_channels = raw_channels if isinstance(raw_channels, list) else []
    for i, channel in enumerate(cfg.channels):
        merged = getattr(cfg.channel_skills.get((channel.platform, channel.name.lower()), {}).get("commands"),
                         "entries", None) or []
        own: Any = raw_channels[i] if i < len(raw_channels) else None
        for key in ("skills", "commands", "entries"):
            own = own.get(key) if isinstance(own, dict) else None
        count = len(own) if isinstance(own, list) else 0
        lists.append((("channels", i, "skills", "commands"), merged[len(merged) - count:] if count else []))
    if not any(entries for _, entries in lists):
        return []
    from bot.builtin import BuiltinSkill
    from bot.commands import declared_names
    from bot.privacy import PrivacySkill
    from skills import registry
    from skills.commands.entries import shadowed

    declared: set[str] = set()
    for cls in (BuiltinSkill, PrivacySkill, *registry().values()):
        declared |= declared_names(cls)
    label = cfg.path or "config"
    from bot.config_errors import keypath_text
    from bot.config_lines import line_of

    lines = safe_key_lines(_config_text(cfg.path))
    out = []
    for where, entries in lists:
        for loc, message in shadowed(entries, declared.__contains__):
            key = (*where, *loc)
            line = line_of(lines, key)
            at = f"line {line}: " if line is not None else ""
            out.append(f"{label}: {at}{keypath_text(key)}: {message}")
    return out



@app.command()
def stats(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    engine: bool = typer.Option(
        False, "--engine",
        help="Also start an inference engine now: checks the models load and on which device (its "
        "counters start at zero; the running bot's are in bot-stats.json, shown without this flag).",
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Database to inspect, e.g. a replay's report/chatcast.db (default: data dir's)."
    ),
    log_level: str | None = typer.Option(None, "--log-level", help=LOG_HELP),
) -> None:
    """Show what the database holds and the running (or last) bot's counters: messages, commands, replies
    and, per model, batches, batch size, latency and shed requests (bot-stats.json, saved every minute
    and at stop)."""
    from bot.runtime import DB_NAME, STATS_FILE
    from storage.db import NotADatabase, read_table_sizes
    from storage.viewers import CORE_TABLES

    cfg, _ = _load(config, log_level)
    if db is not None and db.is_dir() and (db / DB_NAME).is_file():
        db = db / DB_NAME  # a replay's report folder: its database
    path = db if db is not None else cfg.data_dir / DB_NAME
    if db is not None and not db.is_file():
        what = "a folder without a chatcast.db" if db.is_dir() else "no such database file"
        err.print(f"error: {db}: {what}", style="red", markup=False)
        raise typer.Exit(2)
    table = Table(title=f"database {path}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    if path.exists():
        try:
            sizes = read_table_sizes(path)  # read-only: inspecting must not migrate or create anything
        except NotADatabase as exc:
            err.print(f"error: {exc}", style="red", markup=False)
            raise typer.Exit(2) from None
        skills_tables = [n for n in sizes if n not in CORE_TABLES and n != "schema_version"]
        for name in (*CORE_TABLES, *skills_tables):  # the core tables first, then the skills'
            table.add_row(name, str(sizes.get(name, "-")))
        out.print(table)
    else:
        out.print(f"no database yet at {path}", markup=False)
    _print_bot_stats(path.parent / STATS_FILE)
    if engine:
        out.print_json(data=asyncio.run(_engine_stats(cfg)))


def _model_label(name: str) -> str:
    """A model's row name, short enough for the table: ``embed:/home/me/models/all-mpnet-base-v2`` and
    ``embed:sentence-transformers/all-mpnet-base-v2`` -> ``embed:all-mpnet-base-v2`` (rich cut the path to
    ``embed:/tmp/tria…``)."""
    kind, _, spec = name.partition(":")
    return f"{kind}:{Path(spec).name or spec}" if kind == "embed" and "/" in spec else name


def _print_bot_stats(path: Path) -> None:
    """The counters a bot saved next to its database (``Runtime.save_stats``), as two tables."""
    if not path.is_file():
        out.print(f"no bot statistics yet ({path.name} is written by `chatcast run` every minute and at "
                  "stop)", markup=False)
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):  # "null", "[]": was an AttributeError traceback
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        bot, engine = dict(data.get("bot") or {}), dict(data.get("engine") or {})
    except (OSError, ValueError, TypeError) as exc:
        err.print(f"warning: {path}: unreadable ({exc})", style="yellow", markup=False)
        return
    counters = Table(title=f"bot at {data.get('saved_at', '?')} ({path.name})")
    counters.add_column("counter")
    counters.add_column("value", justify="right")
    for key in ("messages", "commands_handled", "commands_denied", "cooldown_hits", "viewer_throttled",
                "staff_throttled", "replies_sent", "replies_dropped", "skill_errors", "skill_timeouts"):
        if key in bot:
            counters.add_row(key, str(bot[key]))
    out.print(counters)
    if not engine:
        return
    # no inner borders and short headers: the table fits the 80 characters a pipe or a small terminal gets
    models = Table(
        title="inference engine (mean: requests per batch; latency: p50/p95/p99 ms; t/o: timed out)",
        box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("model", "served", "batches", "mean", "latency", "shed", "t/o"):
        models.add_column(column, justify="left" if column == "model" else "right")
    for name, s in sorted(engine.items()):
        if not isinstance(s, dict):
            continue
        # a generation model's batch is one decoding step of the sequences running together
        batches = f"{s.get('batches', 0):.0f}" + (" steps" if "tokens" in s else "")
        latency = "/".join(f"{s.get(f'latency_p{p}_ms', 0):.0f}" for p in (50, 95, 99))
        models.add_row(_model_label(name), f"{s.get('requests', 0):.0f}", batches,
                       f"{s.get('mean_batch_size', 0):.1f}", latency, f"{s.get('shed', 0):.0f}",
                       f"{s.get('timeouts', 0):.0f}")
    out.print(models)


async def _check_extra_embedders(engine: Any, cfg: Config) -> dict[str, str]:
    """Load every second embedding model the config names (a skill's ``embed_model`` setting, such as
    ``[skills.faq] embed_model``, globally and per channel) and embed one line with it: spec -> ``"ok"`` or
    why not (trial 22: ``stats --engine`` said nothing of a missing one)."""
    settings = [*cfg.skill_defaults.values(), *(s for c in cfg.channel_skills.values() for s in c.values())]
    specs = {getattr(s, "embed_model", None) for s in settings}
    found: dict[str, str] = {}
    for spec in sorted(s for s in specs if isinstance(s, str)):
        try:
            engine.register_embedder(spec)
            await engine.embed(["ok"], model=spec, timeout=600.0)
            found[spec] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, like the engine's own models
            found[spec] = f"{type(exc).__name__}: {exc}"
    return found


async def _engine_stats(cfg: Config) -> dict[str, Any]:
    try:
        from bot.inference.engine import Engine
    except ImportError as exc:
        return {"available": False, "reason": str(exc)}
    engine = Engine(cfg.inference, data_dir=cfg.data_dir, models_dir=cfg.models_dir)
    try:
        await engine.start()
        extra = await _check_extra_embedders(engine, cfg)
        return {"available": True, "stats": engine.stats(), **({"embed_models": extra} if extra else {})}
    except Exception as exc:  # noqa: BLE001
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    finally:
        await engine.stop()


# ---- plug-ins -----------------------------------------------------------------------------------------


def register_plugins() -> None:
    """Add each skill's train/eval commands and the adapters' commands; failures are logged, not fatal."""
    try:
        from skills import SKILL_PATHS

        names = list(SKILL_PATHS)
    except ImportError:  # pragma: no cover
        names = []
    for name in names:
        _register(f"skills.{name}.cli", lambda m: m.register(train_app, eval_app))
    _register("bot.adapters.cli", lambda m: m.register(app))


def _register(module_name: str, call: Any) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return  # the module (or its package) is not there: nothing to add
        log.warning("%s not loaded: %s", module_name, exc)
        return
    except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the CLI
        log.warning("%s not loaded: %s: %s", module_name, type(exc).__name__, exc)
        return
    if not hasattr(module, "register"):
        return
    try:
        call(module)
    except Exception as exc:  # noqa: BLE001
        log.warning("%s.register failed: %s: %s", module_name, type(exc).__name__, exc)


register_plugins()


if __name__ == "__main__":  # python -m bot.cli
    sys.exit(app())
