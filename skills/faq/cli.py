"""``chatcast eval faq``: StackFAQ retrieval, intent sets with out-of-scope (CLINC150 JSON or CSV
``text,category``), and the answer rate on real chat logs with a config's FAQ.

Examples::

    chatcast eval faq --data ../shared/data/stackfaq/stackExchange-FAQ.json
    chatcast eval faq --data ../shared/data/clinc_oos/data_small.json --shots 5
    chatcast eval faq --data train.csv --test test.csv --shots 5
    chatcast eval faq --chat ../shared/data/twitch_chat/10-23-24.txt --config config.example.toml

With ``--chat``, lines that start with ``@`` someone other than the bot (``[bot] name`` of the config) or a
``--streamer`` are addressed to another viewer and get no answer, as in the bot.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import typer

from skills.faq import evaluate


def _settings(config: Path):  # noqa: ANN202 - FaqSettings
    from skills.faq.skill import FaqSettings

    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return FaqSettings(**data.get("skills", {}).get("faq", {}))


def _bot_name(config: Path) -> str:
    """``[bot] name`` of the config (the bot's default name when it has none)."""
    from bot.config import BotSettings

    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return str(data.get("bot", {}).get("name") or BotSettings().name)


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
        threshold: float = typer.Option(None, help="override the config's threshold"),
        margin: float = typer.Option(None, help="override the config's margin"),
        sample: int = typer.Option(30, help="answered chat lines to print"),
        json_out: Path = typer.Option(Path("benchmarks/results/eval_faq.json"), "--json"),
    ) -> None:
        """FAQ matching: StackFAQ P@1/MRR, intent sets with out-of-scope, answer rate on chat logs."""
        from skills.embedding_cache import embed_cached

        settings = _settings(config)
        if threshold is not None:
            settings.threshold = threshold
        if margin is not None:
            settings.margin = margin
        result: dict = {"config": str(config)}
        if (
            data is not None
            and data.suffix == ".json"
            and "root" in json.loads(data.read_text(encoding="utf-8"))
        ):
            q, queries, gold = evaluate.load_stackfaq(data)
            r = evaluate.retrieval(q, queries, gold, embed_cached, alpha=settings.alpha)
            result["stackfaq"] = r
            typer.echo(f"{'data':<28} {'queries':>8} {'P@1':>7} {'MRR':>7}")
            typer.echo(f"{data.name:<28} {int(r['n']):>8} {r['p_at_1']:>7.3f} {r['mrr']:>7.3f}")
        elif data is not None:
            r = evaluate.intents(
                evaluate.load_intents(data, test),
                shots,
                embed_cached,
                threshold=settings.threshold,
                margin=settings.margin,
                alpha=settings.alpha,
            )
            result["intents"] = r
            key = "best_in_scope_accuracy_at_oos_recall_0.95_(oracle_threshold)"
            typer.echo(
                f"{'data':<22} {'shots':>5} {'thr':>5} {'in-scope acc':>12} {'oos recall':>10} "
                f"{'top-1 (no rej.)':>15} {'acc@oosrec.95':>13}"
            )
            typer.echo(
                f"{data.name:<22} {shots:>5} {settings.threshold:>5.2f} {r['in_scope_accuracy']:>12.3f} "
                f"{r['oos_recall']:>10.3f} {r['top1_accuracy_no_rejection']:>15.3f} {r[key]:>13.3f}"
            )
        for log in chat:
            lines = evaluate.read_chat_lines(log)
            own = [_bot_name(config), *streamer]
            r = evaluate.chat_false_answers(
                lines, settings.entries, settings, embed_cached, sample=sample, own_names=own
            )
            result.setdefault("chat", {})[log.name] = r
            typer.echo(
                f"{log.name}: {r['answered']} of {r['messages']} messages answered "
                f"({100 * r['answer_rate']:.2f}%); sample for a human to judge:"
            )
            for text, entry, score in r["sample"]:
                typer.echo(f"  [{entry} {score:.2f}] {text[:120]}")
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
