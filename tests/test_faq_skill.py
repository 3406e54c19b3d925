"""FAQ skill: question gate, threshold/margin logic, cooldowns, !faq add validation, config errors, and a
replay of a short chat log with an FAQ config asserting the exact replies."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fakes.commands import FakeCommandContext
from fakes.text_engine import FakeEngine

from bot.adapters.replay import ReplayAdapter
from bot.clock import ManualClock
from bot.config import ConfigError, load_config
from bot.events import StreamStatus
from bot.runtime import Runtime
from skills.faq.entries import FaqEntry, check_answer, parse_add, render_answer
from skills.faq.gate import AnswerGate
from skills.faq.matcher import FaqIndex, decide
from skills.faq.question import is_question, keyword_hit
from skills.faq.skill import FaqSkill
from storage.db import Database

CONFIG = """
[bot]
data_dir = "data"

[[channels]]
platform = "replay"
name = "chan"

[skills.faq]
threshold = 0.6
margin = 0.05
entry_cooldown_s = 60
viewer_entry_cooldown_s = 600
viewer_cooldown_s = 0

[[skills.faq.entries]]
id = "game"
questions = ["what game is this", "which game are you playing", "game name"]
answer = "{streamer} has been live for {uptime}, check the title!"
keywords = ["game", "playing"]

[[skills.faq.entries]]
id = "discord"
questions = ["is there a discord server", "discord link"]
answer = "Join the Discord: discord.gg/example"
"""

LOG = "\n".join(
    [
        "[2024-05-10 20:00:00 UTC] alice: hi everyone",  # not a question
        "[2024-05-10 20:01:00 UTC] bob: what game is this?",  # -> game
        "[2024-05-10 20:01:10 UTC] carol: what game is this",  # entry cooldown (60 s)
        "[2024-05-10 20:02:30 UTC] bob: which game are you playing?",  # same viewer+entry: 600 s
        "[2024-05-10 20:03:00 UTC] dave: is there a discord server?",  # -> discord
        "[2024-05-10 20:04:00 UTC] erin: what did you eat for lunch?",  # question, no match
        "[2024-05-10 20:05:00 UTC] frank: this game is so good",  # statement: no answer
        '{"ts": "2024-05-10T20:06:00Z", "user": "mod", '
        '"text": "!faq add \\"when do you stream|stream schedule\\" '
        'Mon-Fri 6pm CET", "roles": ["moderator"]}',
        "[2024-05-10 20:07:00 UTC] gina: when do you stream?",  # -> the new entry
        "[2024-05-10 20:08:00 UTC] hal: @sam is there a discord server?",  # to another viewer: theirs
        "[2024-05-10 20:09:00 UTC] ivy: @ChatCast is there a discord server?",  # to the bot: answered
        "",
    ]
)


@pytest.mark.parametrize("embed_model", [None, "org/faq-embedder"])
async def test_replay_answers_exactly_the_faq_questions(tmp_path: Path, embed_model: str | None) -> None:
    cfg = tmp_path / "chatcast.toml"
    extra = "" if embed_model is None else f'embed_model = "{embed_model}"\n'
    cfg.write_text(CONFIG.replace("viewer_cooldown_s = 0\n", "viewer_cooldown_s = 0\n" + extra))
    classes = {"faq": FaqSkill}
    config = load_config(cfg, skill_classes=classes)
    clock = ManualClock(datetime(2024, 5, 10, 19, 59, tzinfo=UTC))
    runtime = Runtime(
        config, clock=clock, db_path=":memory:", use_engine=True, skill_classes=classes, daily_purge=False
    )
    engine = FakeEngine()

    async def fake_engine() -> FakeEngine:
        return engine

    runtime._start_engine = fake_engine  # type: ignore[method-assign]
    await runtime.start()
    try:
        start = datetime(2024, 5, 10, 19, 30, tzinfo=UTC)
        await runtime.dispatch(StreamStatus("replay", "chan", True, start, title="t", category="Celeste"))
        adapter = ReplayAdapter(io.StringIO(LOG), channel="chan", clock=clock)
        await runtime.replay(adapter)
        texts = [e.text for e in adapter.transcript]
    finally:
        await runtime.stop()
    assert texts == [
        "@bob chan has been live for 31m, check the title!",
        "@dave Join the Discord: discord.gg/example",
        'Added FAQ entry \'stream-schedule\' (2 question(s)): "when do you stream" -> "Mon-Fri 6pm CET"',
        "@gina Mon-Fri 6pm CET",
        "@ivy Join the Discord: discord.gg/example",  # the bot's name comes from the runtime's channel info
    ]
    if embed_model is not None:  # every FAQ embedding (examples and chat lines) went to the FAQ's own model
        assert engine.registered == [embed_model] and not engine.embed_calls
        embedded = [t for _, texts in engine.model_calls for t in texts]
        assert "what game is this" in embedded and "is there a discord server" in embedded
    else:
        assert not engine.model_calls


def test_question_detection() -> None:
    assert is_question("what game is this")
    assert is_question("@streamer how long have you been live")
    assert is_question("ok?")
    assert not is_question("this game is so good")
    assert not is_question("what")  # a lone word is a reaction, not a question
    assert not is_question("")


def test_keywords_are_whole_words() -> None:
    assert keyword_hit("What GAME is it", ["game"])
    assert not keyword_hit("gamer moment", ["game"])
    assert keyword_hit("when is the next stream", ["next stream"])


def test_threshold_and_margin_decide() -> None:
    assert decide(np.array([0.8, 0.3]), 0.6, 0.1).accepted
    assert not decide(np.array([0.55, 0.3]), 0.6, 0.1).accepted  # under threshold
    assert not decide(np.array([0.80, 0.75]), 0.6, 0.1).accepted  # ambiguous: margin too small
    m = decide(np.array([]), 0.6)
    assert m.entry == -1 and not m.accepted


def test_index_blends_best_example_and_centroid() -> None:
    ex = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    idx = FaqIndex(ex, [0, 0, 1], 2, alpha=1.0)
    np.testing.assert_allclose(idx.scores(np.array([[1, 0, 0]], np.float32)), [[1.0, 0.0]], atol=1e-6)
    cent = FaqIndex(ex, [0, 0, 1], 2, alpha=0.0).scores(np.array([[1, 0, 0]], np.float32))
    np.testing.assert_allclose(cent, [[1 / np.sqrt(2), 0.0]], atol=1e-6)
    with pytest.raises(ValueError, match="no example"):
        FaqIndex(ex, [0, 0, 0], 2)


def test_a_not_question_vetoes_its_entry_for_queries_closer_to_it() -> None:
    # regression (trial 9, F1): "where can I buy this game?" scored 0.66 against "what game is this" and
    # got "We're playing ..."; a near miss listed under not_questions keeps the entry out
    from skills.faq.matcher import VETOED, index_from

    game, buy, social = (np.array(v, np.float32) for v in ([1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]))
    idx = index_from(np.stack([game, social, buy]), [0, 1], [0], 2, alpha=1.0)
    near_buy = np.array([0.7, 0.7, 0.0], np.float32)  # cos 0.71 to the example, 0.99 to the not_question
    near_game = np.array([0.9, 0.3, 0.0], np.float32)  # cos 0.95 to the example, 0.82 to the not_question
    rows = idx.scores(np.stack([near_buy, near_game]))
    assert rows[0, 0] == VETOED and rows[1, 0] > 0.9 and rows[0, 1] == rows[1, 1] == 0.0
    (veto,) = idx.vetoes(near_buy)
    assert (veto.entry, veto.negative) == (0, 0) and veto.negative_cos > veto.example_cos
    assert idx.vetoes(near_game) == []
    assert not decide(rows[0], 0.5).accepted and decide(rows[1], 0.5).entry == 0


def test_not_questions_are_checked_like_questions() -> None:
    entry = FaqEntry(id="game", questions=["what game is this"], answer="x", not_questions=[" who made it "])
    assert entry.not_questions == ["who made it"]
    with pytest.raises(ValueError, match="'What game is this\\?' is also an example question of this entry"):
        FaqEntry(id="game", questions=["what game is this"], answer="x", not_questions=["What game is this?"])
    with pytest.raises(ValueError, match="'Who made it\\?' is listed twice"):  # regression (trial 10, F4)
        FaqEntry(id="game", questions=["q"], answer="x", not_questions=["who made it", "Who made it?"])
    with pytest.raises(ValueError, match="a not_question is empty"):
        FaqEntry(id="game", questions=["q"], answer="x", not_questions=[" "])


def test_the_text_matched_drops_mentions_of_the_channel_and_folds_full_width() -> None:
    # regression (trial 9): "@cozycoder what game is this?" scored 0.70 (0.97 without the mention) and
    # "hey @cozycoder what pc do you have?" got no answer; full-width "ｗｈａｔ ｇａｍｅ" scored 0.15
    from skills.faq.question import matching_text

    own = ["cozycoder", "chatcast"]
    assert matching_text("@CozyCoder what game is this?", own) == "what game is this?"
    assert matching_text("hey @cozycoder, what pc do you have?", own) == "hey, what pc do you have?"
    assert matching_text("what game is this @chatcast", own) == "what game is this"
    assert matching_text("ｗｈａｔ ｇａｍｅ ｉｓ ｔｈｉｓ？", own) == "what game is this?"
    assert matching_text("@retro_rita what game?", own) == "@retro_rita what game?"  # not ours: kept
    assert matching_text("@cozycoder", own) == "@cozycoder"  # nothing left: the text itself
    assert matching_text("mail me@cozycoder.com", own) == "mail me@cozycoder.com"


def test_cooldowns_per_entry_viewer_and_entry_viewer() -> None:
    gate = AnswerGate(entry_s=60, viewer_entry_s=600, viewer_s=30)
    assert gate.allowed("t", "c", "bob", "game", 0) is None
    gate.record("t", "c", "bob", "game", 0)
    assert gate.allowed("t", "c", "amy", "game", 10) == "entry"
    assert gate.allowed("t", "c", "bob", "rules", 10) == "viewer"
    assert gate.allowed("t", "c", "amy", "rules", 10) is None
    assert gate.allowed("t", "c", "bob", "game", 100) == "viewer_entry"
    assert gate.allowed("t", "c", "bob", "game", 600) is None
    assert gate.allowed("t", "other", "amy", "game", 10) is None  # channels are separate
    assert gate.forget_viewer("bob") == 2


def test_faq_add_refuses_a_token_in_the_answer_questions_or_keywords() -> None:
    # trial 14: `!faq add "what is the token" it is <token>` stored it and the confirmation repeated it
    from bot.logs import setup_logging

    loaded = "Faq-loaded-secret-value-77"
    setup_logging("info", [loaded])
    for rest in ['"what is the token" it is oauth:abcdef0123456789abcdef012345',
                 f'"what is the key" it is {loaded}', '"k3x9qpzv7m2l8n4b6c1d5f0g7h2j9a" no',
                 '"key?" no keywords: k3x9qpzv7m2l8n4b6c1d5f0g7h2j9a']:
        with pytest.raises(ValueError, match="looks like a token, so it is not saved") as info:
            parse_add(rest, [])
        assert "abcdef0123" not in str(info.value) and loaded not in str(info.value)


def test_faq_add_without_quotes_is_refused_not_misread() -> None:
    # regression: "!faq add lunch When is lunch? | Lunch is at noon" added an entry whose question was "lunch"
    with pytest.raises(ValueError, match="put the questions in quotes"):
        parse_add("lunch When is lunch? | Lunch is at noon", [])


def test_faq_add_reads_curly_quotes_and_a_question_mark_and_refuses_the_rest() -> None:
    # regression: "?faq add what is love? baby don't hurt me" added the question "what", and a phone's
    # curly quotes the question "“are"; "?faq add question only" the question "question"
    new = parse_add("what is love? baby don't hurt me", [])
    assert (new.questions, new.answer) == (["what is love?"], "baby don't hurt me")
    new = parse_add("“are you single|single?” No! keywords: single", [])
    assert (new.questions, new.answer, new.keywords) == (["are you single", "single?"], "No!", ["single"])
    assert parse_add("‘pets?’ Mochi the cat", []).questions == ["pets?"]
    with pytest.raises(ValueError, match="put the questions in quotes or end them with '\\?'"):
        parse_add("question only", [])


def test_faq_add_validation() -> None:
    existing = [FaqEntry(id="game", questions=["what game is this"], answer="{game}")]
    new = parse_add('"discord?|discord link" Join discord.gg/x keywords: discord, server', existing)
    assert new.questions == ["discord?", "discord link"] and new.answer == "Join discord.gg/x"
    assert new.keywords == ["discord", "server"]
    with pytest.raises(ValueError, match="usage"):
        parse_add("   ", existing)
    with pytest.raises(ValueError, match="empty"):
        parse_add('"a question"', existing)
    with pytest.raises(ValueError, match="at most 400"):
        parse_add('"q" ' + "x" * 401, existing)
    with pytest.raises(ValueError, match="already a question of entry 'game'"):
        parse_add('"What game is this?!" It is {game}', existing)
    with pytest.raises(ValueError, match="unknown variable"):
        parse_add('"q" hi {viewer}', existing)
    with pytest.raises(ValueError, match="max 1"):
        parse_add('"q" answer', existing, max_entries=1)
    with pytest.raises(ValueError, match="closing quote"):
        parse_add('"q answer', existing)


def test_answer_rendering_never_fails() -> None:
    class Info:
        category, streamer, uptime_s, title, channel = "Celeste", "Sam", 5025.0, "t", "sam"

    assert render_answer("{game} by {streamer}, {uptime}", Info()) == "Celeste by Sam, 1h 23m"
    # regression (trial 9): "We're playing Just Chatting!" answered "what are you playing now?"
    for category in ("Just Chatting", "DJs", "I'm Only Sleeping", "Games + Demos"):  # trial 10, F5 too
        assert render_answer("We're playing {game}!", SimpleNamespace(category=category)) is None
    assert render_answer("{game}", SimpleNamespace(category="Stardew Valley")) == "Stardew Valley"
    # regression (trial 9, F5): "merch at {title}" with no title known was posted as "@fay merch at"
    assert render_answer("{title}!", None) is None
    assert render_answer("merch at {title}", SimpleNamespace(title="")) is None
    assert render_answer("merch at {title}", SimpleNamespace(title="shop.example")) == "merch at shop.example"
    # regression: with no category known the example FAQ said "We're playing unknown!"; now: no answer
    assert render_answer("We're playing {game}!", None) is None
    assert render_answer("We're playing {game}!", SimpleNamespace(category="")) is None
    # regression: the example FAQ's uptime answer read "cozycoder has been live for offline."
    offline = SimpleNamespace(streamer="cozycoder", uptime_s=None)
    answer = render_answer("{streamer} has been live for {uptime}.", offline)
    assert answer == "cozycoder is not live right now."
    with pytest.raises(ValueError, match="unbalanced"):
        check_answer("oops {game")
    # regression (trial 6): "{title}" with no title known was posted as a bare "@viewer"
    assert render_answer("{title}", None) is None
    assert render_answer(" {title} ", SimpleNamespace(title="")) is None


def test_faq_add_reads_bracketed_keywords_and_refuses_a_command_answer() -> None:
    # regressions (trial 6): "... Celeste! [keywords: game]", as the usage line shows it, left "[" in the
    # answer posted to chat and made "game]" the keyword; ".ban everyone" passed !faq add but not !cmd add
    new = parse_add('"what game is this|which game" We are playing Celeste! [keywords: game, title]', [])
    assert (new.answer, new.keywords) == ("We are playing Celeste!", ["game", "title"])
    for answer, char in ((".ban everyone", "."), ("\u202e/ban x", "/"), ("!hi", "!")):
        with pytest.raises(ValueError, match=f"the answer cannot start with '{re.escape(char)}'"):
            parse_add('"why?" ' + answer, [])


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.replace("threshold = 0.6", "threshold = 1.5"))
    with pytest.raises(ConfigError, match="threshold"):
        load_config(cfg, skill_classes={"faq": FaqSkill})
    cfg.write_text(CONFIG.replace('id = "discord"', 'id = "game"'))
    with pytest.raises(ConfigError, match="already the id") as dup:
        load_config(cfg, skill_classes={"faq": FaqSkill})
    # regression: "skills.faq: value error, duplicate FAQ entry id(s): game, got a table"; then the error
    # named the table's line (9), not the second id's
    assert str(dup.value).endswith(
        "c.toml: line 23: skills.faq.entries[1].id: FAQ entry id 'game' is already the id of an earlier "
        "entry")
    cfg.write_text(CONFIG.replace("Join the Discord", "Join {nope}"))
    with pytest.raises(ConfigError, match=r"entries\[1\]\.answer") as var:
        load_config(cfg, skill_classes={"faq": FaqSkill})
    # regression: it said "expected a string, got ..." of a string with an unknown variable
    assert "answer: unknown variable(s) {nope}" in str(var.value)
    assert "expected a string" not in str(var.value)


def Ctx(rest: str, settings: object) -> FakeCommandContext:  # noqa: N802 - reads as a class
    """A moderator's ``!faq ...`` with ``rest`` after it, for calling FAQ handlers directly."""
    from bot.events import ChatMessage, Role, Viewer

    message = ChatMessage(
        "console", "chan", "m1", Viewer("console", "mod", "Mod", frozenset({Role.MODERATOR})), "!faq"
    )
    return FakeCommandContext(message, settings, rest, invoked_as="faq")


async def test_faq_test_and_remove_commands(tmp_path: Path) -> None:
    import tomllib

    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings
    from storage.db import Database

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    ctx = SkillContext(
        storage=Database(":memory:"),
        engine=FakeEngine(),
        post=None,
        settings_for=lambda p, c: settings,
        channel_info=lambda p, c: None,
        data_dir=tmp_path,
    )
    skill = FaqSkill(ctx)
    await skill.start()
    c = Ctx("discord link please?", settings)
    await skill.faq_test(c)
    assert c.replies[0].startswith("would answer: best 'discord' score ")
    # regression: "would answer 'game'" while {game} was unknown, and chat got no answer
    entries = [e.model_copy(update={"answer": "We're playing {game}!"}) if e.id == "game" else e
               for e in settings.entries]
    settings_game = settings.model_copy(update={"entries": entries})
    ctx.settings_for = lambda p, c: settings_game
    c = Ctx("what game is this?", settings_game)
    await skill.faq_test(c)
    assert c.replies[0].startswith("would match, but not answer yet ({game} is not known")
    ctx.settings_for = lambda p, c: settings
    c = Ctx("i love this song", settings)
    await skill.faq_test(c)
    assert c.replies[0].startswith("no answer (not a question): ") and c.replies[0].endswith("not a question")
    # regression: "no answer: ... score 0.79 (threshold 0.66), margin 0.45 (min 0.04)" hid the real reason
    c = Ctx("which one is the discord server?", settings.model_copy(update={"keyword_bypass": 1.0}))
    c.settings.entries[1].keywords.append("invite")
    await skill.faq_test(c)
    assert c.replies[0].startswith("no answer (none of its keywords (invite) is in the message): ")
    c = Ctx("discord", settings)
    await skill.faq_remove(c)
    assert c.replies == [
        "Hid config FAQ entry 'discord' in this channel (!faq restore discord brings it back)."]
    assert [e.id for e in skill.entries_for("console", "chan", settings)] == ["game"]
    # regression (trial 9): a hidden config entry could not be brought back from chat
    for text, reply in (("discord", "Restored config FAQ entry 'discord' in this channel."),
                        ("discord", "FAQ entry 'discord' is not hidden here."),
                        ("nope", "No config FAQ entry 'nope' (only config entries can be restored).")):
        c = Ctx(text, settings)
        await skill.faq_restore(c)
        assert c.replies == [reply]
    assert [e.id for e in skill.entries_for("console", "chan", settings)] == ["game", "discord"]
    # regression (trial 10, F11): a restored entry sharing a question with an added one was not mentioned
    await skill.faq_remove(Ctx("discord", settings))
    await skill.faq_add(Ctx('"discord link" ours is private', settings))
    c = Ctx("discord", settings)
    await skill.faq_restore(c)
    assert c.replies == [
        "Restored config FAQ entry 'discord' in this channel. Entry 'discord-link' has the same question "
        "'discord link': remove one, or chat gets either answer or none."]
    await skill.faq_remove(Ctx("discord-link", settings))
    await skill.faq_remove(Ctx("discord", settings))
    c = Ctx("nope", settings)
    await skill.faq_remove(c)
    assert c.replies == ["No FAQ entry 'nope' (see !faq list)."]
    c = Ctx('"discord?" new link', settings)
    await skill.faq_add(c)
    assert c.replies == ['Added FAQ entry \'discord-2\' (1 question(s)): "discord?" -> "new link"']
    assert await skill.delete_user_data(c.author) == 1  # the creator id is dropped, the entry stays
    # trial 25: a replay stored the wall clock as created_at; the command's (the log's) time is kept
    from dataclasses import replace
    from datetime import UTC, datetime

    c = Ctx('"schedule?" mon wed fri', settings)
    c.message = replace(c.message, timestamp=datetime(2024, 5, 10, 20, 0, tzinfo=UTC))
    await skill.faq_add(c)
    assert ctx.storage.raw.execute("SELECT created_at FROM faq_entries WHERE entry_id = 'schedule'"
                                   ).fetchone() == ("2024-05-10T20:00:00+00:00",)
    await skill.faq_remove(Ctx("schedule", settings))
    assert [e.id for e in skill.entries_for("console", "chan", settings)] == ["game", "discord-2"]
    # regression: an example shorter than min_chars was added silently, yet typed alone it never answers
    c = Ctx('"mic?|is your mic broken" it is fine', settings.model_copy(update={"min_chars": 6}))
    await skill.faq_add(c)
    assert c.replies == ['Added FAQ entry \'mic\' (2 question(s)): "mic?" -> "it is fine" Note: chat lines '
                         'shorter than 6 characters get no answer, so "mic?" alone will not trigger it.']


async def test_faq_is_embedded_once_at_start_and_shared_by_concurrent_questions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: every question re-embedded the whole FAQ while it was not ready (19 warnings in the
    demo). Now one embedding per entry set starts at start(); waiters share it; it is cached."""
    import asyncio
    import tomllib

    from bot.events import ChatMessage, Viewer
    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    engine = FakeEngine()
    gate = asyncio.Event()
    real = engine.embed

    calls: list[int] = []

    async def slow_embed(texts, **kwargs):
        calls.append(len(texts))
        if len(texts) > 1:  # the FAQ's questions (a chat message is embedded alone)
            await gate.wait()
        return await real(texts, **kwargs)

    engine.embed = slow_embed
    monkeypatch.setattr("skills.faq.skill.MESSAGE_WAIT_S", 0.2)
    posted: list[str] = []

    async def post(platform, channel, text, **_):
        posted.append(text)

    ctx = SkillContext(
        storage=Database(":memory:"), engine=engine, post=post, settings_for=lambda p, c: settings,
        channel_info=lambda p, c: None, data_dir=tmp_path,
    )
    skill = FaqSkill(ctx)
    await skill.start()
    await asyncio.sleep(0)
    assert calls == [5]  # started at start(), before any question

    def ask(i: int) -> ChatMessage:
        return ChatMessage("console", "chan", f"m{i}", Viewer("console", f"u{i}", f"u{i}"),
                           "is there a discord server?", datetime(2024, 5, 10, 20, i, tzinfo=UTC))

    with caplog.at_level(logging.INFO, logger="skills.faq.skill"):
        await asyncio.gather(*(skill.on_message(ask(i)) for i in range(5)))  # waits, then keywords
    assert calls == [5] and posted == []  # one shared embedding, no per-message retries
    # regression (trial 17): the keyword-only fallback while the FAQ is embedded was silent
    assert caplog.text.count("embeddings are not ready yet") == 5
    gate.set()
    await asyncio.sleep(0.05)
    await skill.on_message(ask(10))
    assert posted == ["@u10 Join the Discord: discord.gg/example"]
    assert calls == [5, 1]  # the FAQ once, then the question only


@pytest.mark.parametrize(
    ("text", "best", "score", "expected"),
    [
        ("6 hour stream where?", "schedule", 0.72, None),  # real chat: answered the schedule before
        ("why do you do stream only 2 hours today", "schedule", 0.69, None),
        ("how long is a short stream??", "uptime", 0.78, None),
        ("what are the stream rules?", "rules", 0.79, "rules"),  # had no entry: got the schedule
        ("what keyboard do you use?", "peripherals", 0.92, "peripherals"),  # got the PC specs
        ("when does the stream usually start?", "schedule", 0.83, "schedule"),  # still answered
        ("what game is this?", "game", 0.80, "game"),
    ],
)
def test_example_faq_keywords_refuse_the_false_answers_of_real_chat(
    text: str, best: str, score: float, expected: str | None
) -> None:
    """Regression (scores as measured with MiniLM, below the keyword bypass): the example FAQ's keywords
    decide; bare "stream"/"long"/"start" no longer let unrelated questions through."""
    import tomllib

    from skills.faq.policy import should_answer
    from skills.faq.skill import FaqSettings

    root = Path(__file__).resolve().parents[1]
    settings = FaqSettings(**tomllib.loads((root / "config.example.toml").read_text())["skills"]["faq"])
    ids = [e.id for e in settings.entries]
    row = np.full(len(ids), 0.3)
    row[ids.index(best)] = score
    chosen, _ = should_answer(text, row, settings.entries, settings)
    assert (ids[chosen] if chosen >= 0 else None) == expected


async def test_without_an_engine_the_faq_says_keywords_only_not_an_error(tmp_path: Path, caplog) -> None:
    # Regression: `chatcast replay --no-engine` warned "cannot embed 42 FAQ questions ('NoneType' object
    # has no attribute 'embed')" at start.
    import logging
    import tomllib

    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings
    from storage.db import Database

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    ctx = SkillContext(storage=Database(":memory:"), engine=None, post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    with caplog.at_level(logging.INFO):
        await skill.start()
        await asyncio.sleep(0)
    assert "keywords only" in caplog.text
    assert "cannot embed" not in caplog.text and "NoneType" not in caplog.text
    await skill.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what time zone are you in?", -1),  # regression: keywords alone answered the schedule
        ("is this game on sale right now?", -1),  # regression: keywords alone answered the game
        ("what game is this?", "game"),
        ("is there a discord server?", "discord"),
    ],
)
def test_keyword_only_mode_needs_the_words_of_an_example_question(text: str, expected) -> None:
    import tomllib

    from skills.faq.skill import FaqSettings

    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    settings = FaqSettings(**tomllib.loads(example.read_text())["skills"]["faq"])
    skill = FaqSkill.__new__(FaqSkill)
    chosen = skill._keyword_only(text, list(settings.entries))
    assert (settings.entries[chosen].id if chosen >= 0 else -1) == expected


async def test_a_faq_model_that_failed_to_load_falls_back_to_the_shared_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # regression (trial 22): the FAQ matched by keywords only for the whole stream (2 of 10 demo answers
    # lost), warned every 30 s, and !faq test put the model's folder path in public chat
    import tomllib

    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"], embed_model="/home/streamer/mpnet")
    engine = FakeEngine()
    engine.unavailable["embed:/home/streamer/mpnet"] = "embedding model '/home/streamer/mpnet' failed to load"
    ctx = SkillContext(storage=Database(":memory:"), engine=engine, post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    with caplog.at_level(logging.WARNING, logger="skills.faq.skill"):
        await skill.start()
        for text in ("what game is this?", "which game are you playing?"):
            c = Ctx(text, settings)
            await skill.faq_test(c)
            assert c.replies[0].startswith("would answer: best 'game' score"), c.replies
            assert "/home/streamer" not in c.replies[0]
    assert engine.registered == ["/home/streamer/mpnet"] and not engine.model_calls
    assert engine.embed_calls  # the shared model embedded the FAQ and the lines
    said = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(said) == 1 and "matching with the shared model" in said[0], said
    await skill.stop()


async def test_a_faq_model_failing_while_it_loads_is_said_once_and_answers_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the real engine reports a model as available while it loads; its failure then reached the FAQ as a
    # failed embedding, warned "keyword matching for 30 s" (a retry that never helps) before the fallback
    import tomllib

    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings

    spec = "org/faq-model"
    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"], embed_model=spec)
    engine = FakeEngine()
    real_embed = engine.embed

    async def failing_load(texts, **kwargs):
        if kwargs.get("model") == spec:
            engine.unavailable[f"embed:{spec}"] = "embedding model 'org/faq-model' failed to load"
        return await real_embed(texts, **kwargs)

    engine.embed = failing_load  # type: ignore[method-assign]
    ctx = SkillContext(storage=Database(":memory:"), engine=engine, post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    with caplog.at_level(logging.WARNING, logger="skills.faq.skill"):
        await skill.start()
        await asyncio.sleep(0)
        c = Ctx("what game is this?", settings)
        await skill.faq_test(c)
    assert c.replies[0].startswith("would answer: best 'game' score"), c.replies
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "matching with the shared model" in warnings[0], warnings
    await skill.stop()


def test_config_check_warns_of_a_faq_model_that_cannot_load(tmp_path: Path) -> None:
    from skills.faq.skill import FaqSettings

    assert FaqSettings().config_warnings() == []
    missing = FaqSettings(embed_model=str(tmp_path / "mpnet")).config_warnings()
    assert missing and missing[0][0] == ("embed_model",) and "no folder at" in missing[0][1]
    (tmp_path / "mpnet").mkdir()
    (tmp_path / "mpnet" / "config.json").write_text("{}")
    (tmp_path / "mpnet" / "pytorch_model.bin").write_bytes(b"x")
    pickle_only = FaqSettings(embed_model=str(tmp_path / "mpnet")).config_warnings()
    assert "has no model.safetensors" in pickle_only[0][1]
    (tmp_path / "mpnet" / "model.safetensors").write_bytes(b"x")
    assert FaqSettings(embed_model=str(tmp_path / "mpnet")).config_warnings() == []
    with pytest.raises(ValueError, match="not only spaces"):
        FaqSettings(embed_model="   ")


async def test_faq_test_without_an_engine_gives_the_same_verdict_as_chat(tmp_path: Path) -> None:
    # regression: it answered "(no embeddings) keywords -> 'game'; question", which did not say whether
    # the bot would answer
    import tomllib

    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    ctx = SkillContext(storage=Database(":memory:"), engine=None, post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    await skill.start()
    for text, expected in (("what game is this?", "would answer 'game' (keyword matching only"),
                           ("this game is so good", "no answer (keyword matching only"),  # a statement
                           ("what time zone are you in?", "no answer (keyword matching only")):
        c = Ctx(text, settings)
        await skill.faq_test(c)
        assert c.replies[0].startswith(expected), (text, c.replies)
    # keyword-only chat answers questions only, whatever require_question says; so does !faq test
    # (it said "would answer 'game'" here while chat stayed silent)
    loose = settings.model_copy(update={"require_question": False})
    c = Ctx("game name", loose)
    await skill.faq_test(c)
    assert c.replies[0].startswith("no answer (keyword matching only"), c.replies
    await skill.stop()


def test_config_pattern_and_duplicate_question_errors_say_the_real_problem(tmp_path: Path) -> None:
    # regressions: id "Emotes!" was "expected a string of 1 to 40 characters"; the same question in two
    # config entries passed (both became ambiguous)
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.replace('id = "discord"', 'id = "Emotes!"'))
    with pytest.raises(ConfigError) as bad_id:
        load_config(cfg, skill_classes={"faq": FaqSkill})
    assert str(bad_id.value).endswith(
        'skills.faq.entries[1].id: expected lower-case letters, digits, _ and - (a letter or digit first), '
        'got "Emotes!"'
    )
    cfg.write_text(CONFIG.replace('"discord link"', '"Game name?"'))
    with pytest.raises(ConfigError) as dup:
        load_config(cfg, skill_classes={"faq": FaqSkill})
    assert str(dup.value).endswith("line 24: skills.faq.entries[1].questions[1]: the question 'Game name?' "
                                   "is also in entry 'game'")
    # trial 14: more config entries than max_entries passed `config check`
    cfg.write_text(CONFIG.replace("[skills.faq]", "[skills.faq]\nmax_entries = 1", 1))
    with pytest.raises(ConfigError, match=r"entries, more than max_entries \(1, config and !faq add"):
        load_config(cfg, skill_classes={"faq": FaqSkill})


async def test_faq_test_says_not_ready_when_the_engine_is_still_busy(tmp_path: Path, monkeypatch) -> None:
    # regression: right after start-up "!faq test" said "the embedding model is not loaded" although it was
    # only still loading
    import tomllib

    from bot.inference.api import EngineBusy
    from skills.faq.skill import FaqSettings

    monkeypatch.setattr("skills.faq.skill.COMMAND_WAIT_S", 0.05)

    class Loading(FakeEngine):
        async def embed(self, texts, **kwargs):
            raise EngineBusy("embed: loading")

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    skill = await started_skill(tmp_path, settings, Loading())
    c = Ctx("what game is this?", settings)
    await skill.faq_test(c)
    assert "the FAQ's embeddings are not ready yet, try again in a few seconds" in c.replies[0]


def test_a_question_addressed_to_another_viewer_is_theirs() -> None:
    # regression (QA): "@mossy_dev what keyboard do you use?" got the streamer's gear list
    from skills.faq.question import addressed_to

    own = {"Sam", "ChatCast"}  # the streamer and the bot; Twitch names are case-insensitive
    assert addressed_to("@mossy_dev what keyboard do you use?", own) == "mossy_dev"
    assert addressed_to("  @Retro_Rita, what are your pc specs?", own) == "retro_rita"
    assert addressed_to("@sam @quietquokka do you have a youtube?", own) == "quietquokka"
    assert addressed_to("@SAM what keyboard do you use?", own) is None
    assert addressed_to("@chatcast: what keyboard do you use?", own) is None
    assert addressed_to("@mossy_dev what keyboard do you use?", ()) == "mossy_dev"


def test_a_question_mentioning_another_viewer_anywhere_is_theirs() -> None:
    # regression (QA D19): only a leading ASCII "@name" was seen; these got the streamer's gear list
    from skills.faq.question import addressed_to

    own = {"cozycoder", "chatcast"}
    assert addressed_to("hey @mossy_dev what keyboard do you use?", own) == "mossy_dev"
    assert addressed_to("what keyboard do you use @mossy_dev?", own) == "mossy_dev"
    assert addressed_to("what keyboard do you use, @mossy_dev?", own) == "mossy_dev"
    assert addressed_to("\uff20mossy_dev what keyboard do you use?", own) == "mossy_dev"  # full-width
    assert addressed_to("@ mossy_dev what keyboard do you use?", own) == "mossy_dev"
    assert addressed_to("what game is this @retro_rita", own) == "retro_rita"
    assert addressed_to("@CozyCoder what game is this? @chatcast", own) is None  # every mention is ours
    assert addressed_to("what is @cozycoder's keyboard?", own) is None
    assert addressed_to("\uff20CozyCoder what keyboard?", {"\uff20cozycoder"}) is None
    assert addressed_to("is cozy@mail.com your email?", own) is None  # not a mention
    assert addressed_to("@cozycoder is @mossy_dev a mod?", own) == "mossy_dev"


def _faq_ctx(tmp_path: Path, settings: object, engine: object, posted: list[str]) -> object:
    """A ``SkillContext`` for channel ``sam`` (streamer ``sam``, bot ``chatcast``) collecting posts."""
    from skills.base import SkillContext

    async def post(platform, channel, text, **_):
        posted.append(text)

    info = SimpleNamespace(streamer="sam", channel="sam", bot_name="chatcast", uptime_s=None, category=None)
    return SkillContext(storage=Database(":memory:"), engine=engine, post=post,
                        settings_for=lambda p, c: settings, channel_info=lambda p, c: info, data_dir=tmp_path)


@pytest.mark.parametrize("engine", [FakeEngine(), None], ids=["embeddings", "keywords-only"])
async def test_chat_does_not_answer_a_question_addressed_to_another_viewer(tmp_path: Path, engine) -> None:
    import tomllib

    from bot.events import ChatMessage, Viewer
    from skills.faq.skill import FaqSettings

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    posted: list[str] = []
    skill = FaqSkill(_faq_ctx(tmp_path, settings, engine, posted))
    await skill.start()

    async def say(minute: int, text: str) -> None:
        viewer = Viewer("twitch", f"v{minute}", f"v{minute}")
        when = datetime(2024, 5, 10, 20, minute, tzinfo=UTC)  # minutes apart: past the entry cooldown
        await skill.on_message(ChatMessage("twitch", "sam", f"m{minute}", viewer, text, when))

    await say(0, "@quietquokka which game are you playing?")
    await say(10, "hey @quietquokka which game are you playing?")  # regression (QA D19): not only first
    await say(20, "which game are you playing \uff20quietquokka")
    assert posted == []
    await say(2, "@Sam which game are you playing?")  # asked of the streamer
    await say(4, "@ChatCast which game are you playing?")  # asked of the bot
    assert posted == ["@v2 sam is not live right now.", "@v4 sam is not live right now."]
    await skill.stop()


@pytest.mark.parametrize(
    ("engine", "expected"),
    [(FakeEngine(), "no answer (addressed to @mossy_dev, not to the streamer or the bot): best 'game' "),
     (None, "no answer (keyword matching only: the embedding model is not loaded): addressed to @mossy_dev, "
            "not to the streamer or the bot; question")],
    ids=["embeddings", "keywords-only"],
)
async def test_faq_test_says_a_question_to_another_viewer_is_not_answered(
    tmp_path: Path, engine, expected: str
) -> None:
    import tomllib

    from skills.faq.skill import FaqSettings

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    skill = FaqSkill(_faq_ctx(tmp_path, settings, engine, []))
    await skill.start()
    for text in ["@mossy_dev which game are you playing?", "which game are you playing @mossy_dev?"]:
        c = Ctx(text, settings)  # regression (QA D19): the trailing mention was answered, and said so
        await skill.faq_test(c)
        assert c.replies[0].startswith(expected), c.replies
    c = Ctx("@sam which game are you playing?", settings)
    await skill.faq_test(c)
    assert c.replies[0].startswith("would answer"), c.replies
    await skill.stop()


def test_ids_of_added_entries_are_made_of_content_words() -> None:
    # regression (trial): !faq add made ids like "what-is-the", "what-is-the-2" ... "what-is-the-12"
    from skills.faq.entries import slug

    assert slug("What game is this?") == "game"
    assert slug("what is the wifi password", ["wifi-password"]) == "wifi-password-2"
    assert slug("how do i join?") == "join" and slug("is it?") == "is-it" and slug("??") == "entry"


async def test_faq_test_with_one_entry_shows_no_margin(tmp_path: Path) -> None:
    # regression (trial 6): with one entry the margin read "1.21" (score minus a runner-up of -1)
    import tomllib

    from skills.faq.skill import FaqSettings

    full = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    settings = full.model_copy(update={"entries": [e for e in full.entries if e.id == "discord"]})
    skill = await started_skill(tmp_path, settings, FakeEngine())
    c = Ctx("discord link please?", settings)
    await skill.faq_test(c)
    assert c.replies[0].startswith("would answer: best 'discord' score ")
    assert "margin n/a (one entry)" in c.replies[0]


async def started_skill(tmp_path: Path, settings, engine) -> FaqSkill:
    """A started ``FaqSkill`` on an in-memory database with ``settings`` everywhere and no channel info."""
    from skills.base import SkillContext

    ctx = SkillContext(storage=Database(":memory:"), engine=engine, post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    await skill.start()
    return skill


def test_advice_for_the_viewer_is_not_answered_by_an_entry_about_the_stream() -> None:
    # regression (trial 4): "what game should I play after this?" scored 0.68 against "what game is this"
    # and got "We're playing {game}"
    from skills.faq.policy import refusal_reason, should_answer

    settings = FaqSettingsStub()
    game = FaqEntry(id="game", questions=["what game is this", "what are you playing"], answer="{game}")
    gear = FaqEntry(id="gear", questions=["should i use a capture card"], answer="yes")
    row = np.asarray([0.68, 0.1], np.float32)
    for text, expected in (("what game should I play after this?", -1), ("what game is this?", 0),
                           ("where can I buy this game?", 0)):  # "can I": left alone (15 % of StackFAQ)
        assert should_answer(text, row, [game, gear], settings)[0] == expected, text
    chosen, match = should_answer("what game should I play after this?", row, [game, gear], settings)
    assert refusal_reason("what game should I play after this?", match, [game, gear], settings).startswith(
        "asks for advice for the viewer")
    # an entry whose examples speak as the viewer takes such questions
    assert should_answer("should I get a capture card?", row[::-1].copy(), [game, gear], settings)[0] == 1


class FaqSettingsStub:
    threshold, margin, require_question, keyword_bypass, min_chars = 0.6, 0.04, True, 0.92, 6


def test_a_short_request_that_is_a_near_verbatim_example_is_asked() -> None:
    # regression (trial 9): "discord link" scored 0.92 against the example "discord link?" and got no answer
    from skills.faq.policy import asks

    s = SimpleNamespace(require_question=True, keyword_bypass=0.85)
    discord = SimpleNamespace(questions=["discord link?"], keywords=["server"])
    specs = SimpleNamespace(questions=["pc specs?"], keywords=[])
    assert asks("discord link", 0.92, s, discord) and asks("what game is this", 0.1, s)
    assert asks("discord server", 0.86, s, discord)  # a keyword counts as said
    assert not asks("discord link", 0.84, s, discord)  # short but not near-verbatim
    assert not asks("the discord link is in the panels", 0.92, s, discord)  # a statement
    # regression (trial 10): a compliment that shares the example's words is no request
    assert not asks("nice pc specs", 0.87, s, specs)
    assert asks("pc specs pls", 0.86, s, specs)  # a filler is no new word
    assert asks("nice", 0.0, SimpleNamespace(require_question=False, keyword_bypass=0.85))


async def test_moderators_add_and_remove_not_questions_from_chat(tmp_path: Path) -> None:
    # trial 9/10: not_questions could only be set in the config; a moderator who saw a wrong answer live
    # could not stop it from chat
    import tomllib

    from bot.events import Viewer
    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings
    from storage.db import Database

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    ctx = SkillContext(storage=Database(":memory:"), engine=FakeEngine(), post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    await skill.start()
    replies = []
    for rest in ("discord is   discord down?", "discord is discord down?", "discord discord link", "nope x",
                 "discord"):
        c = Ctx(rest, settings)
        await skill.faq_not(c)
        replies += c.replies
    assert replies == [
        "Added: 'discord' will not answer messages closer to \"is discord down?\" than to its examples "
        "(!faq unnot discord <question> removes it).",
        "'discord' already has that not_question.",
        "Not added: that is an example question of 'discord'.",
        "No FAQ entry 'nope' here (see !faq list).",
        "Not for 'discord': \"is discord down?\"",
    ]
    (discord,) = [e for e in skill.entries_for("console", "chan", settings) if e.id == "discord"]
    assert discord.not_questions == ["is discord down?"]
    built = await skill.index_for("console", "chan", settings, wait_s=5)
    assert built.index is not None and len(built.index.negatives) == 1  # the matcher uses it
    assert await skill.user_data_summary(Viewer("console", "mod", "Mod")) == (
        "faq: you added 1 FAQ entry or not_question(s)")
    c = Ctx("discord is discord down?", settings)
    await skill.faq_unnot(c)
    assert c.replies == ["Removed the not_question \"is discord down?\" of 'discord'."]
    assert [e.not_questions for e in skill.entries_for("console", "chan", settings)] == [[], []]
    # trial 11: a not_question worded like an example took the right question too, without a word
    c = Ctx("discord discord link please", settings)
    await skill.faq_not(c)
    assert c.replies[0].endswith('Careful: it is 0.82 close to the example "discord link", so right '
                                 "questions worded like it lose the answer too.")


async def test_not_question_commands_fold_like_the_matcher_and_die_with_their_entry(tmp_path: Path) -> None:
    # regressions (trial 11): full-width and "whats" copies of an example were accepted as not_questions,
    # "?" alone was stored, quotes were kept, !faq unnot needed the exact case, and the not_questions of a
    # removed entry came back on a new entry of the same id
    import tomllib

    from skills.base import SkillContext
    from skills.faq.skill import FaqSettings
    from storage.db import Database

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    ctx = SkillContext(storage=Database(":memory:"), engine=None, post=None,
                       settings_for=lambda p, c: settings, channel_info=lambda p, c: None, data_dir=tmp_path)
    skill = FaqSkill(ctx)
    await skill.start()  # migrates its tables

    async def say(handler, rest: str) -> str:
        c = Ctx(rest, settings)
        await handler(c)
        return c.replies[0]

    full_width = await say(skill.faq_not, "discord ｄｉｓｃｏｒｄ ｌｉｎｋ")
    assert full_width.startswith("Not added: that is an example")
    assert await say(skill.faq_not, "discord ?") == "Not added: a not_question needs words."
    assert (await say(skill.faq_not, 'discord "is discord dead"')).startswith(
        "Added: 'discord' will not answer messages closer to \"is discord dead\"")
    assert await say(skill.faq_unnot, "discord IS DISCORD DEAD?") == (
        "Removed the not_question \"is discord dead\" of 'discord'.")
    added = await say(skill.faq_add, '"what is love" baby')
    entry_id = added.split("'")[1]  # "Added FAQ entry 'love' ..."
    await say(skill.faq_not, f"{entry_id} what is love island")
    await say(skill.faq_remove, entry_id)
    assert await say(skill.faq_add, '"what is love" baby') == added
    assert await say(skill.faq_not, entry_id) == f"Not for '{entry_id}': none"


def test_worth_scoring_never_refuses_a_line_should_answer_would_answer() -> None:
    # the skill and eval faq embed only lines worth_scoring passes; that gate must be a pure shortcut
    import tomllib

    from skills.faq.policy import should_answer, worth_scoring
    from skills.faq.skill import FaqSettings

    settings = FaqSettings(**tomllib.loads(CONFIG)["skills"]["faq"])
    entries = settings.entries
    lines = ["gg wp", "discord link", "discord link pls", "game name", "what game is this?", "LUL",
             "!faq test x", "hi", "@sam is there a discord server?", "@chatcast discord link",
             "this game is so good", "nice game name", "which game are you playing"]
    gated = []
    for text in lines:
        for best in range(len(entries)):  # whatever entry scores best, near-verbatim
            row = np.full(len(entries), 0.1)
            row[best] = 0.99
            if should_answer(text, row, entries, settings, ["chatcast"])[0] >= 0:
                assert worth_scoring(text, settings, ["chatcast"], entries), text
        if not worth_scoring(text, settings, ["chatcast"], entries):
            gated.append(text)
    assert gated == ["gg wp", "LUL", "!faq test x", "hi", "@sam is there a discord server?",
                     "this game is so good", "nice game name"]


async def test_an_answer_waiting_for_the_category_is_said_once_per_channel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # trial 23: a real-chat replay without "# category:" lost "what are you playing now?" with its reason
    # logged at debug level only
    import tomllib

    from bot.events import ChatMessage, Viewer
    from skills.faq.skill import FaqSettings

    raw = tomllib.loads(CONFIG)["skills"]["faq"]
    raw["entries"][0]["answer"] = "We're playing {game}!"
    settings = FaqSettings(**raw)
    posted: list[str] = []
    skill = FaqSkill(_faq_ctx(tmp_path, settings, FakeEngine(), posted))
    await skill.start()
    with caplog.at_level(logging.INFO, logger="skills.faq.skill"):
        for minute in (0, 20):
            viewer = Viewer("twitch", f"v{minute}", f"v{minute}")
            when = datetime(2024, 5, 10, 20, minute, tzinfo=UTC)
            line = ChatMessage("twitch", "sam", f"m{minute}", viewer, "what game is this?", when)
            await skill.on_message(line)
    assert posted == []
    said = [r.getMessage() for r in caplog.records if "category" in r.getMessage()]
    assert said == ["faq: twitch/sam: an answer needing {game} or {title} was not sent: the stream has no "
                    "category or title yet (a replay log sets one with '# category: NAME')"]
    await skill.stop()
