"""Mood: emote handling, rolling-window maths, spam de-weighting, empty windows, the head contract, and
the skill end to end with a deterministic fake engine (commands, report PNG, alerts)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fakes.commands import FakeCommandContext
from fakes.text_engine import FakeEngine

from bot.clock import ManualClock
from bot.events import ChatMessage, Viewer
from skills.base import SkillContext
from skills.mood.emotes import EMOTE_FEATURE_NAMES, emote_category, emote_features, tokens
from skills.mood.head import HeadWeights, SentimentHead
from skills.mood.metrics import scores
from skills.mood.skill import MoodSettings, MoodSkill
from skills.mood.window import EMPTY, RollingMood, SpamDeweighter, mood_bar, mood_words
from storage.db import Database

T0 = datetime(2024, 5, 10, 20, 0, tzinfo=UTC)


def test_emotes_are_whole_tokens_and_categorised() -> None:
    assert tokens("OMEGALUL OMEGALUL 😂\U000e0000") == ["OMEGALUL", "OMEGALUL", "😂"]
    assert emote_category("KEKW") == "laugh" and emote_category("kekw") == "laugh"
    assert emote_category("PepeHands") == "sad"
    assert emote_category("LUL!") == "laugh"
    assert emote_category("lul", {"lul": "angry"}) == "angry"  # channel override wins
    assert emote_category("the") is None
    f = dict(zip(EMOTE_FEATURE_NAMES, emote_features("Sadge Sadge nooo moon2M"), strict=True))
    assert f["emote_sad"] == pytest.approx(np.log1p(2))
    assert f["emote_polarity_mean"] < 0
    assert f["unknown_emote_like"] == pytest.approx(np.log1p(1))  # moon2M looks like an emote


def test_rolling_windows_weighted_mean() -> None:
    r = RollingMood(horizon_s=900)
    r.add(0, np.array([1.0, 0, 0]))  # negative, 10 min before "now"
    r.add(590, np.array([0, 0, 1.0]), weight=3)  # positive, weight 3
    r.add(600, np.array([0, 1.0, 0]))  # neutral at "now"
    one = r.summary(600, 60)
    assert one.n == 2 and one.weight == 4 and one.positive == pytest.approx(0.75)
    fifteen = r.summary(600, 900)
    assert fifteen.n == 3 and fifteen.score == pytest.approx((3 - 1) / 5)
    r.add(2000, np.array([0, 1.0, 0]))  # trims items older than the horizon
    assert r.summary(2000, 10_000).n == 1


def test_empty_window_is_neutral_without_division_by_zero() -> None:
    r = RollingMood()
    assert r.summary(100, 60) == EMPTY and EMPTY.score == 0
    r.add(0, np.array([0.2, 0.3, 0.5]), weight=0.0)
    assert r.summary(0, 60).score == 0.0


def test_spam_is_deweighted_per_viewer_and_window() -> None:
    s = SpamDeweighter(window_s=60)
    assert [s.weight("a", "KEKW KEKW", t) for t in (0, 1, 2)] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert s.weight("b", "kekw kekw", 3) == 1.0  # another viewer
    assert s.weight("a", "KEKW KEKW", 200) == 1.0  # window passed
    assert s.forget_user("a") == 1


def test_words_and_bar() -> None:
    assert mood_words(0.0) == "neutral" and mood_words(0.7) == "hyped" and mood_words(-0.7) == "very negative"
    assert mood_bar(0.0) == "[-----|-----]"
    assert mood_bar(1.0) == "[-----|#####]" and mood_bar(-0.4) == "[---##|-----]"


def test_metrics_macro_scores() -> None:
    s = scores([0, 1, 2, 2], [0, 1, 1, 2])
    assert s["accuracy"] == 0.75 and s["recall_positive"] == 0.5
    assert s["macro_recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    with pytest.raises(ValueError):
        scores([], [])


def tiny_head(d: int = 384) -> SentimentHead:
    """A linear head that reads only the emote polarity feature: positive emotes -> positive."""
    f = d + 10 + len(EMOTE_FEATURE_NAMES)
    w2 = np.zeros((f, 3), np.float32)
    pol = d + EMOTE_FEATURE_NAMES.index("emote_polarity_mean")
    w2[pol] = [-8.0, 0.0, 8.0]
    return SentimentHead(
        HeadWeights(
            mean=np.zeros(f, np.float32), std=np.ones(f, np.float32), W2=w2, b2=np.zeros(3, np.float32)
        )
    )


def test_head_contract_and_save_load(tmp_path: Path) -> None:
    head = tiny_head()
    probs = head(["PogChamp PogChamp", "PepeHands", "hello"], np.zeros((3, 384), np.float32))
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1)
    assert probs[0].argmax() == 2 and probs[1].argmax() == 0 and probs[2][1] == pytest.approx(1 / 3)
    head.weights.save(tmp_path / "h.npz")
    again = SentimentHead.load(tmp_path / "h.npz")
    np.testing.assert_allclose(again(["PepeHands"], np.zeros((1, 384))), probs[1:2], atol=1e-3)
    with pytest.raises(ValueError, match="embeddings of shape"):
        head(["a", "b"], np.zeros((1, 384)))


def test_shipped_weights_load_and_answer() -> None:
    from skills.mood.skill import load_head

    probs = load_head()(["PogChamp", "PepeHands"], np.zeros((2, 384), np.float32))
    assert probs.shape == (2, 3) and probs[0, 2] > probs[1, 2]


def make_skill(tmp_path: Path, settings: MoodSettings, posted: list) -> tuple[MoodSkill, FakeEngine]:
    engine = FakeEngine()

    async def post(platform, channel, text, *, priority=None, in_reply_to=None, attachment=None):
        posted.append((text, attachment))

    ctx = SkillContext(
        storage=Database(":memory:"),
        engine=engine,
        post=post,
        settings_for=lambda p, c: settings,
        channel_info=lambda p, c: None,
        data_dir=tmp_path,
        clock=ManualClock(T0),
    )
    return MoodSkill(ctx), engine


def Ctx(message: ChatMessage, settings: MoodSettings) -> FakeCommandContext:  # noqa: N802 - reads as a class
    return FakeCommandContext(message, settings, invoked_as="mood")


def hold_classify(engine: FakeEngine) -> asyncio.Event:
    """Make ``engine.classify`` wait until the returned event is set (a model that has not answered)."""
    gate = asyncio.Event()
    real = engine.classify

    async def held(*args, **kwargs):
        await gate.wait()
        return await real(*args, **kwargs)

    engine.classify = held
    return gate


def msg(user: str, text: str, seconds: float) -> ChatMessage:
    return ChatMessage(
        "console",
        "chan",
        f"{user}{seconds}",
        Viewer("console", user, user),
        text,
        T0 + timedelta(seconds=seconds),
    )


async def test_skill_scores_through_engine_and_reports(tmp_path: Path) -> None:
    posted: list = []
    settings = MoodSettings(alerts=True, alert_to="chat", alert_min_messages=3, alert_drop=0.5)
    skill, engine = make_skill(tmp_path, settings, posted)
    await skill.start()
    engine.heads["sentiment"] = tiny_head()  # replace the shipped head with the test's
    for i in range(10):
        await skill.on_message(msg(f"u{i}", "PogChamp let's go", i * 10))
    await skill.on_message(msg("u1", "!mood", 301))  # commands are not scored
    await skill.drain()
    assert len(engine.classify_calls) == 10
    ctx = Ctx(msg("mod", "!mood", 300), settings)
    await skill.mood(ctx)
    assert ctx.replies[0].startswith("Chat mood: hyped [-----|####")
    for i in range(5):  # a sharp drop
        await skill.on_message(msg(f"v{i}", "PepeHands", 400 + i))
    await skill.drain()
    assert any(text.startswith("Mood alert: chat turned very negative") for text, _ in posted)
    report_ctx = Ctx(msg("mod", "!mood report", 500), settings)
    await skill.mood_report(report_ctx)
    assert report_ctx.replies[0].startswith("Mood this stream: 20:00 +")
    assert "best moment 20:0" in report_ctx.replies[0] and "worst moment 20:0" in report_ctx.replies[0]
    assert "(3-min avg " in report_ctx.replies[0]  # regression: "best 18:02 (+0.51)" beside "18:00 +0.74"
    # regression: "Mood plot: mood-chan.png" went to Twitch chat, where a file name means nothing
    assert (skill.ctx.data_dir / "mood-chan.png").exists()
    assert not any("plot" in text.lower() for text, _ in posted)
    result = await skill.report(tmp_path / "report")
    chan = result["channels"]["console/chan"]
    assert chan["messages"] == 15 and result["messages_scored"] == 15
    assert Path(chan["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chan["top_positive"][0][0].startswith("2024-05-10T20:0")


async def test_mood_command_says_when_scoring_is_off(tmp_path: Path) -> None:
    # regression (trial 21): with --no-engine !mood said "not enough messages" for ever
    skill, engine = make_skill(tmp_path, MoodSettings(), [])
    skill.ctx.engine = None
    await skill.start()
    ctx = Ctx(msg("a", "!mood", 0), MoodSettings())
    await skill.mood(ctx)
    assert ctx.replies == ["Chat mood is off: the bot runs without its models (--no-engine)."]
    skill.ctx.engine = engine  # an engine whose shared embedding model failed to load
    engine.available = lambda kind: False  # type: ignore[method-assign]
    engine.why_unavailable = lambda kind: {"embed": "embedding model 'x' failed to load"}.get(kind)
    ctx = Ctx(msg("a", "!mood", 1), MoodSettings())
    await skill.mood(ctx)
    assert ctx.replies == ["Chat mood is off: the sentiment model is unavailable "
                           "(embedding model 'x' failed to load)."]


async def test_empty_channel_mood_command(tmp_path: Path) -> None:
    skill, _ = make_skill(tmp_path, MoodSettings(), [])
    await skill.start()
    ctx = Ctx(msg("a", "!mood", 0), MoodSettings())
    await skill.mood(ctx)
    assert ctx.replies == ["Chat mood: not enough messages in the last 5 minutes to tell."]
    assert (await skill.report(tmp_path)) == {"messages_scored": 0, "channels": {}}


async def test_on_message_does_not_wait_for_the_model_and_drops_over_the_bound(tmp_path: Path) -> None:
    """Regression: on_message awaited the model call (held the router past its time budget in the demo);
    now it queues a bounded background task, the score lands at the message's time and !mood sees it."""
    import asyncio

    from bot.clock import SystemClock

    settings = MoodSettings(max_pending=3)
    skill, engine = make_skill(tmp_path, settings, [])
    skill.ctx.clock = SystemClock()  # live: over the bound is dropped (a replay waits, test below)
    await skill.start()
    engine.heads["sentiment"] = tiny_head()
    gate = hold_classify(engine)
    for i in range(4):  # returns at once although the model has not answered
        await asyncio.wait_for(skill.on_message(msg(f"u{i}", "PogChamp", i)), timeout=1)
    assert skill.scored == 0 and skill.dropped == 1  # the fourth is over max_pending=3
    gate.set()
    assert await skill.drain(timeout=5)
    assert skill.scored == 3
    ctx = Ctx(msg("mod", "!mood", 30), settings)
    await skill.mood(ctx)
    assert "(5 min, 3 msgs" in ctx.replies[0]


def test_timeline_of_one_minute_does_not_crash(tmp_path: Path) -> None:
    """Regression: a log spanning one minute crashed the plot (np.convolve 'same' gave 3 values for 1 row)."""
    from skills.mood.timeline import plot_timeline, smoothed_scores
    from storage.mood import MinuteRow

    row = MinuteRow(
        minute="2024-10-10T18:00:00+00:00", messages=2, weight=2.0, negative=0.2, neutral=0.6, positive=1.2
    )
    assert smoothed_scores([row]).shape == (1,)
    assert smoothed_scores([row, row]).shape == (2,)
    assert plot_timeline([row], tmp_path / "m.png", "t").exists()


async def test_mood_asked_while_its_scores_are_queued_is_answered_late(tmp_path: Path, monkeypatch) -> None:
    """Regression (demo): every !mood said "not enough messages" because the scores were still queued.
    Now !mood waits a bounded time, then replies once the queued scores are in."""
    import asyncio

    monkeypatch.setattr("skills.mood.skill.COMMAND_WAIT_S", 0.05)
    posted: list = []
    skill, engine = make_skill(tmp_path, MoodSettings(), posted)
    await skill.start()
    engine.heads["sentiment"] = tiny_head()
    gate = hold_classify(engine)
    for i in range(3):
        await skill.on_message(msg(f"u{i}", "PogChamp", 1))
    ctx = Ctx(msg("mod", "!mood", 5), MoodSettings())
    await asyncio.wait_for(skill.mood(ctx), timeout=2)
    assert ctx.replies == [] and posted == []  # not "not enough messages": the scores are on their way
    gate.set()
    assert await skill.drain(timeout=5)
    assert posted[0][0].startswith("Chat mood: ") and "(5 min, 3 msgs" in posted[0][0]


async def test_one_message_is_not_a_mood(tmp_path: Path) -> None:
    # regression: one "welcome" in five minutes made !mood say chat was "hyped"
    skill, engine = make_skill(tmp_path, MoodSettings(), [])
    await skill.start()
    engine.heads["sentiment"] = tiny_head()
    for i in range(2):
        await skill.on_message(msg(f"u{i}", "PogChamp", i))
    assert await skill.drain(timeout=5)
    ctx = Ctx(msg("mod", "!mood", 30), MoodSettings())
    await skill.mood(ctx)
    assert ctx.replies == ["Chat mood: not enough messages in the last 5 minutes to tell."]


async def test_replay_waits_for_a_scoring_slot_instead_of_dropping(tmp_path: Path) -> None:
    """Regression: a --speed 0 replay of a real log scored only the first 256 of 1,549 messages
    (max_pending dropped the rest), so the stream's mood plot covered its first minutes only."""
    import asyncio

    settings = MoodSettings(max_pending=1)
    skill, engine = make_skill(tmp_path, settings, [])  # ManualClock: a replay
    await skill.start()
    engine.heads["sentiment"] = tiny_head()
    real = engine.classify

    async def slow_classify(*args, **kwargs):
        await asyncio.sleep(0.05)
        return await real(*args, **kwargs)

    engine.classify = slow_classify
    for i in range(3):
        await asyncio.wait_for(skill.on_message(msg(f"u{i}", "PogChamp", i)), timeout=2)
    assert await skill.drain(timeout=5)
    assert (skill.scored, skill.dropped) == (3, 0)
