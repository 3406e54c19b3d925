"""``chatcast eval faq``: StackFAQ retrieval, intent sets with out-of-scope (CLINC150 JSON or CSV
``text,category``), and the answer rate on real chat logs with a config's FAQ.

Examples::

    chatcast eval faq --data ../shared/data/stackfaq/stackExchange-FAQ.json
    chatcast eval faq --data ../shared/data/clinc_oos/data_small.json --shots 5
    chatcast eval faq --data train.csv --test test.csv --shots 5
    chatcast eval faq --chat ../shared/data/twitch_chat/10-23-24.txt --config config.example.toml

With ``--chat``, lines that start with ``@`` someone other than the bot (``[bot] name`` of the config) or a
``--streamer`` are addressed to another viewer and get no answer, as in the bot.

The embedding model is the one the bot would use for the FAQ of ``--config``: ``[skills.faq] embed_model``
when set, else ``[inference.embed] model``, else all-MiniLM-L6-v2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from skills.cli_errors import data_errors, fail
from skills.faq import evaluate
from skills.run_info import device_info


def _config_table(config: Path) -> dict[str, Any]:
    """The parsed TOML of ``--config``. Raises ``FileNotFoundError`` (with the file name) and
    ``ValueError`` naming the file for bad TOML or text that is not UTF-8."""
    from bot.config import parse_toml

    return parse_toml(evaluate.decode_utf8(config, config.read_bytes()), str(config))


def _settings(config: Path, data: dict[str, Any]):  # noqa: ANN202 - FaqSettings
    """``[skills.faq]`` of the config as ``FaqSettings``. Raises ``DataFormatError`` naming the file and the
    first bad key (pydantic's message is several lines)."""
    from pydantic import ValidationError

    from skills.faq.skill import FaqSettings

    try:
        return FaqSettings(**data.get("skills", {}).get("faq", {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in ("skills", "faq", *first["loc"]))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise evaluate.DataFormatError(f"{config}: {where}: {first['msg']}{more}") from None
    except (TypeError, AttributeError):  # [skills] or [skills.faq] is not a table
        raise evaluate.DataFormatError(f"{config}: [skills.faq] must be a table") from None


def faq_model(settings: Any, data: dict[str, Any]) -> str:
    """The embedding model the bot would match this FAQ with: ``[skills.faq] embed_model``, else
    ``[inference.embed] model``, else the engine's default (all-MiniLM-L6-v2)."""
    from skills.embedding_cache import DEFAULT_MODEL

    if settings.embed_model:
        return str(settings.embed_model)
    inference = data.get("inference", {})
    embed = inference.get("embed", {}) if isinstance(inference, dict) else {}
    model = embed.get("model") if isinstance(embed, dict) else None
    return model if isinstance(model, str) and model else DEFAULT_MODEL


def _bot_name(data: dict[str, Any]) -> str:
    """``[bot] name`` of the config (the bot's default name when it has none)."""
    from bot.config import BotSettings

    bot = data.get("bot", {})
    return str((bot.get("name") if isinstance(bot, dict) else None) or BotSettings().name)


def _report_skipped(label: Path, what: str, skipped: evaluate.Skipped) -> None:
    """``warning: FILE: skipped N ...: line 3: why; ...`` on stderr when ``skipped`` counts any row."""
    if skipped.count:
        more = "; ..." if skipped.count > len(skipped.first) else ""
        typer.echo(
            f"warning: {label}: skipped {skipped.count} {what}: {'; '.join(skipped.first)}{more}", err=True
        )


def register(train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``eval faq`` to the ``chatcast`` CLI (FAQ matching needs no training)."""

    @eval_app.command("faq")
    def eval_faq(
        data: Path = typer.Option(
            None, "--data", help="StackFAQ JSON, CLINC150 JSON or CSV text,category (train)"
        ),
        test: Path = typer.Option(None, "--test", help="CSV text,category test file (with --data CSV)"),
        shots: int = typer.Option(5, "--shots", min=1, help="example questions per intent"),
        chat: list[Path] = typer.Option([], "--chat", help="real chat logs: measure the answer rate"),
        streamer: list[str] = typer.Option(
            [], "--streamer", help="the chat logs' streamer: '@streamer ...' lines may be answered"
        ),
        config: Path = typer.Option(Path("config.example.toml"), "--config", help="config with [skills.faq]"),
        threshold: float = typer.Option(None, min=0.0, max=1.0, help="override the config's threshold"),
        margin: float = typer.Option(None, min=0.0, max=1.0, help="override the config's margin"),
        sample: int = typer.Option(30, min=0, help="answered chat lines to print"),
        json_out: Path = typer.Option(Path("benchmarks/results/eval_faq.json"), "--json"),
    ) -> None:
        """FAQ matching: StackFAQ P@1/MRR, intent sets with out-of-scope, answer rate on chat logs.

        Every input is read and checked before the model loads: a bad file ends the command with one
        "error: FILE: ..." line and exit code 2. Intent CSVs: bad rows are counted, the first few reported
        with their line numbers, and skipped (never counted as out-of-scope)."""
        if data is None and not chat:
            fail("nothing to evaluate: give --data FILE (StackFAQ/CLINC150 JSON or CSV) and/or --chat LOG")
        if test is not None and (data is None or data.suffix.lower() == ".json"):
            fail(f"{test}: --test goes with a CSV --data (a JSON --data holds its own test split)")
        if json_out.is_dir():
            fail(f"{json_out}: --json is a folder; give a file name")
        inputs = _read_inputs(config, data, test, chat)
        if threshold is not None:
            inputs.settings.threshold = threshold
        if margin is not None:
            inputs.settings.margin = margin
        from bot.inference.models import ModelNotFound

        try:
            result = _evaluate(inputs, shots, [_bot_name(inputs.config_table), *streamer], sample)
        except ModelNotFound as exc:  # the config's embedding model: a missing folder, offline hub id
            fail(f"{config}: {exc}")
        with data_errors():
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


@dataclass
class _Inputs:
    """Everything ``eval faq`` reads, checked before the model loads."""

    config: Path
    config_table: dict[str, Any]
    settings: Any  # FaqSettings
    data: Path | None = None
    test: Path | None = None
    stackfaq: tuple[list[str], list[str], list[int]] | None = None
    intents: evaluate.IntentData | None = None
    logs: dict[Path, list[str]] = field(default_factory=dict)


def _read_inputs(config: Path, data: Path | None, test: Path | None, chat: list[Path]) -> _Inputs:
    """Read and check the config, ``--data``/``--test`` and the ``--chat`` logs. A bad file ends the command
    with ``error: FILE: what is wrong`` and exit code 2 (``typer.Exit``)."""
    with data_errors():
        table = _config_table(config)
        inputs = _Inputs(config, table, _settings(config, table), data, test)
        if data is not None:
            kind = evaluate.json_kind(data) if data.suffix.lower() == ".json" else "intents"
            if kind == "stackfaq":
                inputs.stackfaq = evaluate.load_stackfaq(data)
            else:
                inputs.intents = evaluate.load_intents(data, test)
        inputs.logs = {log: evaluate.read_chat_lines(log) for log in chat}
    if chat and not inputs.settings.entries:
        fail(f"{config}: [skills.faq] has no entries, so --chat has nothing to answer with")
    return inputs


def _evaluate(inputs: _Inputs, shots: int, own_names: list[str], sample: int) -> dict[str, Any]:
    """Run the checked inputs through the model and print the tables; returns the JSON-able results."""
    from functools import partial

    from skills import embedding_cache

    settings = inputs.settings
    model = faq_model(settings, inputs.config_table)
    embed_cached = partial(embedding_cache.embed_cached, model=model)
    typer.echo(f"embedding model: {model}")
    from bot.inference.specs import spec_problem

    problem = spec_problem(model)
    if problem is not None and "Hugging Face cache" in problem:  # a download, or ~50 s of retries offline
        typer.echo(f"note: {problem}", err=True)
    result: dict[str, Any] = {"config": str(inputs.config), "embed_model": model}
    if inputs.stackfaq is not None and inputs.data is not None:
        r = evaluate.retrieval(*inputs.stackfaq, embed_cached, alpha=settings.alpha)
        result["stackfaq"] = r
        typer.echo(f"{'data':<28} {'queries':>8} {'P@1':>7} {'MRR':>7}")
        typer.echo(f"{inputs.data.name:<28} {int(r['n']):>8} {r['p_at_1']:>7.3f} {r['mrr']:>7.3f}")
    if inputs.intents is not None and inputs.data is not None:
        result["intents"] = _intents(inputs.intents, inputs.data, inputs.test, shots, settings, embed_cached)
    for log, lines in inputs.logs.items():
        r = evaluate.chat_false_answers(
            lines, settings.entries, settings, embed_cached, sample=sample, own_names=own_names
        )
        result.setdefault("chat", {})[log.name] = r
        typer.echo(
            f"{log.name}: {r['answered']} of {r['messages']} messages answered "
            f"({100 * r['answer_rate']:.2f}%); sample for a human to judge:"
        )
        for text, entry, score in r["sample"]:
            typer.echo(f"  [{entry} {score:.2f}] {text[:120]}")
    result["device"] = device_info()
    return result


def _intents(
    data: evaluate.IntentData,
    train: Path,
    test: Path | None,
    shots: int,
    settings: Any,
    embed: evaluate.Embed,
) -> dict[str, Any]:
    """The intent evaluation: skipped rows reported on stderr, the table printed; returns its results."""
    test_label = test or train
    _report_skipped(train, "bad training row(s)", data.bad_train)
    _report_skipped(test_label, "bad test row(s)", data.bad_test)
    r = evaluate.intents(
        data, shots, embed, threshold=settings.threshold, margin=settings.margin, alpha=settings.alpha
    )
    unknown = r["skipped"]["test_unknown_category"]
    _report_skipped(
        test_label,
        "test row(s) whose category is not a training intent",
        evaluate.Skipped(unknown["count"], unknown["first"]),
    )
    skipped = sum(v["count"] for v in r["skipped"].values())
    key = "best_in_scope_accuracy_at_oos_recall_0.95_(oracle_threshold)"
    typer.echo(
        f"{'data':<22} {'shots':>5} {'thr':>5} {'in-scope acc':>12} {'oos recall':>10} "
        f"{'top-1 (no rej.)':>15} {'acc@oosrec.95':>13} {'test in/oos':>11} {'skipped':>7}"
    )
    typer.echo(
        f"{train.name:<22} {shots:>5} {settings.threshold:>5.2f} {r['in_scope_accuracy']:>12.3f} "
        f"{r['oos_recall']:>10.3f} {r['top1_accuracy_no_rejection']:>15.3f} {r[key]:>13.3f} "
        f"{str(r['in_scope']) + '/' + str(r['out_of_scope']):>11} {skipped:>7}"
    )
    return r
