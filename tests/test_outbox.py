"""Outbox: the mixed mod/non-mod rate limit (property test), duplicates, backlog, splitting, errors."""

from __future__ import annotations

import asyncio
import dataclasses
import random

import pytest

from bot.adapters.base import CONSOLE_LIMITS, DISCORD_LIMITS, TWITCH_LIMITS, Adapter, PlatformLimits
from bot.clock import ManualClock, SystemClock
from bot.events import Priority, Reply
from bot.outbox import Outbox, SendRateLimiter

WINDOW = TWITCH_LIMITS.rate_window_s


UNPACED = dataclasses.replace(TWITCH_LIMITS, burst_messages=0)  # Twitch's limit without our pacing


class FakeAdapter(Adapter):
    platform = "twitch"

    def __init__(self, clock, limits: PlatformLimits = TWITCH_LIMITS, privileged=frozenset(), fail=()):
        self.clock = clock
        self.limits = limits
        self.privileged = set(privileged)
        self.fail = set(fail)
        self.sent: list[tuple[float, str, str]] = []
        self.privileged_at_send: list[bool] = []

    async def connect(self) -> None:
        pass

    def listen(self):  # pragma: no cover - not used
        raise NotImplementedError

    async def send(self, reply: Reply) -> None:
        if reply.text in self.fail:
            raise ConnectionError("socket closed")
        assert len(reply.text) <= self.limits.max_message_len
        self.sent.append((self.clock.monotonic(), reply.channel, reply.text))
        self.privileged_at_send.append(reply.channel in self.privileged)

    async def close(self) -> None:
        pass

    def is_privileged(self, channel: str) -> bool:
        if channel == "explodes":
            raise RuntimeError("lookup failed")
        return channel in self.privileged


def worst_windows(sent, privileged, window: float = WINDOW) -> tuple[int, int]:
    """(max count in a closed window holding a normal-channel send, max count in any window).

    ``privileged``: a set of channels, or one bool per send (the channel's state when it was sent).
    """
    flags = privileged if isinstance(privileged, list) else [ch in privileged for _, ch, _ in sent]
    times = [t for t, _, _ in sent]
    assert times == sorted(times)
    worst_mixed = worst_any = 0
    for i, start in enumerate(times):
        j = i
        while j < len(times) and times[j] <= start + window:
            j += 1
        worst_any = max(worst_any, j - i)
        if not all(flags[i:j]):
            worst_mixed = max(worst_mixed, j - i)
    return worst_mixed, worst_any


@pytest.mark.parametrize("seed", range(12))
async def test_never_more_than_20_in_a_window_with_a_normal_message(seed):
    rng = random.Random(seed)
    clock = ManualClock()
    channels = [f"c{i}" for i in range(6)]
    privileged = set(rng.sample(channels, rng.randint(0, 5)))
    adapter = FakeAdapter(clock, privileged=privileged)
    outbox = Outbox(adapter, clock=clock, backlog=10_000, max_age_s=1e9)  # the limiter alone, nothing stale
    await outbox.start()
    n = rng.randint(100, 400)
    for i in range(n):
        # bursts and gaps, like a busy chat with several channels on one connection
        clock.advance(rng.choice([0.0, 0.0, 0.01, 0.3, 1.0, 5.0, 31.0]) * rng.random())
        await outbox.put(Reply("twitch", rng.choice(channels), f"msg {i}"))
        outbox.tick()
        await asyncio.sleep(0)
    await outbox.flush()
    await outbox.stop()
    assert outbox.stats["sent"] == n and len(adapter.sent) == n
    worst_mixed, worst_any = worst_windows(adapter.sent, privileged)
    assert worst_mixed <= 20
    assert worst_any <= 100


async def test_privileged_only_connection_uses_100_limit():
    clock = ManualClock()
    adapter = FakeAdapter(clock, privileged={"mine"})
    outbox = Outbox(adapter, clock=clock, backlog=1000)
    for i in range(250):  # staff replies may use the whole window (viewers' leave STAFF_RESERVE free)
        await outbox.put(Reply("twitch", "mine", f"m{i}", priority=Priority.STAFF))
    await outbox.flush()
    times = [t for t, _, _ in adapter.sent]
    assert sum(t == 0.0 for t in times) == 100  # a full privileged burst goes out at once
    assert worst_windows(adapter.sent, {"mine"})[1] == 100


async def test_one_normal_message_caps_the_window_at_20():
    clock = ManualClock()
    adapter = FakeAdapter(clock, UNPACED, privileged={"mine"})
    outbox = Outbox(adapter, clock=clock, backlog=1000)
    await outbox.put(Reply("twitch", "normal", "hello", priority=Priority.STAFF))
    for i in range(50):
        await outbox.put(Reply("twitch", "mine", f"m{i}", priority=Priority.STAFF))
    await outbox.pump()
    assert len(adapter.sent) == 20  # 1 normal + 19 privileged until the normal one leaves the window
    await outbox.flush()
    assert len(adapter.sent) == 51
    assert worst_windows(adapter.sent, {"mine"})[0] <= 20


def test_limiter_waits_exactly_until_oldest_leaves():
    limiter = SendRateLimiter(PlatformLimits(500, 2, 10.0, 5), margin_s=0.0)
    limiter.record(0.0, False)
    limiter.record(1.0, False)
    assert limiter.delay(1.0, False) == pytest.approx(9.0)
    assert limiter.delay(10.0, False) == 0.0
    with pytest.raises(ValueError):
        SendRateLimiter(PlatformLimits(500, 0, 10.0, 5))


async def test_a_repeated_answer_to_a_viewer_is_addressed_not_dropped():
    # regression: viewer_c's !discord 11 s after viewer_a's (past the channel cooldown) got nothing: the
    # identical reply was dropped for Twitch's 30 s duplicate rule
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock)
    for who in ("Ann", "Cy", "Cy"):
        await outbox.put(Reply("twitch", "a", "Join discord.gg/x", addressee=who))
    await outbox.put(Reply("twitch", "a", "@Dee hi", addressee="Dee"))
    await outbox.put(Reply("twitch", "a", "@Dee hi", addressee="Dee"))  # already addressed: dropped
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == ["Join discord.gg/x", "@Cy Join discord.gg/x",
                                               "Join discord.gg/x", "@Dee hi"]
    assert outbox.stats["dropped_duplicate"] == 1


def _manual_outbox() -> tuple[FakeAdapter, Outbox]:
    """A fake Twitch adapter and its outbox on a ``ManualClock``."""
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    return adapter, Outbox(adapter, clock=clock)


async def _sent_after(replies: list[Reply]) -> list[str]:
    """The texts a fresh ``_manual_outbox`` sends for ``replies`` queued at once, in sending order."""
    adapter, outbox = _manual_outbox()
    for reply in replies:
        await outbox.put(reply)
    await outbox.flush()
    return [t for _, _, t in adapter.sent]


async def test_a_reply_no_longer_wanted_when_its_turn_comes_is_withdrawn(caplog):
    # trial 24: a stopped game's prompt waited behind the rate limit and went out after the stop
    adapter, outbox = _manual_outbox()
    wanted = {"board": True}

    def broken() -> bool:
        raise RuntimeError("boom")

    first = await outbox.put(Reply("twitch", "a", "board", still_wanted=lambda: wanted["board"]))
    await outbox.put(Reply("twitch", "a", "kept", still_wanted=broken))
    wanted["board"] = False  # the game ended before the outbox sent its prompt
    await outbox.put(Reply("twitch", "a", "result", still_wanted=None))
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == ["kept", "result"]  # a failing check sends, as before
    assert outbox.stats["dropped_withdrawn"] == 1 and first.done() and first.result() is None
    assert "still_wanted of a reply to a failed" in caplog.text


async def test_a_repeated_reply_starting_with_the_name_is_addressed_once():
    # regression (trial 17): "ann is lurking" twice in 30 s went out as "@ann ann is lurking"
    adapter, outbox = _manual_outbox()
    for _ in range(2):
        await outbox.put(Reply("twitch", "a", "Ann is lurking", addressee="ann"))
    for _ in range(2):
        await outbox.put(Reply("twitch", "a", "Annie says hi", addressee="ann"))
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == ["Ann is lurking", "@Ann is lurking",
                                               "Annie says hi", "@ann Annie says hi"]


async def test_a_reply_holding_a_loaded_secret_is_never_sent(caplog):
    # trial 14: a token pasted into a command response went to chat verbatim (only logs were redacted)
    from bot.logs import setup_logging

    secret = "Qx7-outbox-test-secret-value-42"
    setup_logging("info", [secret])
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock)
    sent = await outbox.put(Reply("twitch", "a", f"my key is {secret} ok"))
    await outbox.put(Reply("twitch", "a", "Qx7-outbox-test is fine"))
    await outbox.flush()
    assert sent.result() is None and [t for _, _, t in adapter.sent] == ["Qx7-outbox-test is fine"]
    assert outbox.stats["rejected"] == 1
    assert "holds a loaded secret" in caplog.text and secret not in caplog.text


async def test_duplicates_dropped_within_window_only(caplog):
    caplog.set_level("INFO", logger="chatcast.outbox")
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock)
    for text, channel in [("gg", "a"), ("gg", "a"), ("gg", "b"), ("wp", "a"), ("gg", "a")]:
        await outbox.put(Reply("twitch", channel, text))
    await outbox.flush()
    assert [(c, t) for _, c, t in adapter.sent] == [("a", "gg"), ("b", "gg"), ("a", "wp"), ("a", "gg")]
    clock.advance(10)
    await outbox.put(Reply("twitch", "a", "gg"))
    await outbox.flush()
    clock.advance(31)
    await outbox.put(Reply("twitch", "a", "gg"))
    await outbox.flush()
    assert outbox.stats["dropped_duplicate"] == 2 and len(adapter.sent) == 5
    # regression: the drop was silent, so a repeated console reply just vanished
    said = [r.getMessage() for r in caplog.records if "identical" in r.getMessage()]
    assert len(said) == 2 and "duplicate_window_s" in said[0] and " a " in said[0]


async def test_backlog_drops_oldest_lowest_priority_and_never_blocks():
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock, backlog=5)
    await outbox.put(Reply("twitch", "c", "low-old", priority=Priority.LOW))
    await outbox.put(Reply("twitch", "c", "low-new", priority=Priority.LOW))
    for i in range(4):
        await outbox.put(Reply("twitch", "c", f"high{i}", priority=Priority.HIGH))
    assert outbox.stats["dropped_backlog"] == 1 and len(outbox) == 5
    await outbox.put(Reply("twitch", "c", "normal", priority=Priority.NORMAL))
    assert outbox.stats["dropped_backlog"] == 2
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == ["high0", "high1", "high2", "high3", "normal"]


async def test_intake_is_fast_when_rate_limited():
    clock = SystemClock()
    adapter = FakeAdapter(clock, limits=PlatformLimits(500, 1, 3600.0, 1))
    outbox = Outbox(adapter, clock=clock, backlog=50)
    await outbox.start()
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(500):
        await outbox.put(Reply("twitch", "c", f"m{i}"))
    await asyncio.sleep(0.01)
    assert loop.time() - start < 1.0
    # the worker only runs once intake yields: the oldest 450 went, the newest 50 wait their turn
    assert outbox.stats["dropped_backlog"] == 450
    assert [t for _, _, t in adapter.sent] == ["m450"] and len(outbox) == 49
    await outbox.stop()


async def test_real_clock_sleeps_for_the_limit():
    clock = SystemClock()
    adapter = FakeAdapter(clock, limits=PlatformLimits(500, 2, 0.1, 2))
    outbox = Outbox(adapter, clock=clock, margin_s=0.0)
    await outbox.start()
    for i in range(5):
        await outbox.put(Reply("twitch", "c", f"m{i}"))
    await asyncio.wait_for(outbox.flush(), timeout=5)
    await outbox.stop()
    times = [t for t, _, _ in adapter.sent]
    assert len(times) == 5
    assert times[4] - times[0] >= 0.2 - 1e-3


async def test_flush_timeout_drops_rest():
    clock = SystemClock()
    adapter = FakeAdapter(clock, limits=PlatformLimits(500, 1, 60.0, 1))
    outbox = Outbox(adapter, clock=clock)
    for i in range(3):
        await outbox.put(Reply("twitch", "c", f"m{i}"))
    await outbox.flush(timeout_s=0.05)
    assert len(adapter.sent) == 1 and outbox.stats["dropped_unsent"] == 2


async def test_long_reply_split_in_order_and_truncate_mode():
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock)
    words = [f"w{i}" for i in range(400)]
    await outbox.put(Reply("twitch", "c", " ".join(words)))
    await outbox.put(Reply("twitch", "c", "after"))
    await outbox.flush()
    texts = [t for _, _, t in adapter.sent]
    assert texts[-1] == "after" and len(texts) >= 4
    assert " ".join(texts[:-1]).split() == words
    assert outbox.stats["split_parts"] == len(texts) - 1

    adapter2 = FakeAdapter(clock)
    truncating = Outbox(adapter2, clock=clock, overflow="truncate")
    await truncating.put(Reply("twitch", "c", " ".join(words)))
    await truncating.flush()
    assert len(adapter2.sent) == 1 and adapter2.sent[0][2].endswith("\u2026")
    assert truncating.stats["truncated"] == 1


async def test_send_errors_counted_queue_survives(caplog):
    clock = ManualClock()
    adapter = FakeAdapter(clock, fail={"bad"})
    outbox = Outbox(adapter, clock=clock)
    await outbox.start()
    for text in ["one", "bad", "two"]:
        await outbox.put(Reply("twitch", "c", text))
    await outbox.put(Reply("twitch", "explodes", "three"))  # is_privileged raises: strict limit used
    await outbox.put("not a reply")  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await outbox.flush()
    await outbox.stop()
    assert [t for _, _, t in adapter.sent] == ["one", "three", "two"]  # channels take turns
    assert outbox.stats["send_errors"] == 1 and outbox.stats["rejected"] == 1


async def test_channels_of_one_connection_take_turns():
    # regression (QA D15): a flood of replies in one channel kept every other channel of the connection
    # waiting until it was sent; now the channels alternate, each channel's replies in their order
    sent = await _sent_after([*(Reply("twitch", "busy", f"busy {i}") for i in range(6)),
                              Reply("twitch", "calm", "calm 0"), Reply("twitch", "calm", "calm 1")])
    assert sent == ["busy 0", "calm 0", "busy 1", "calm 1", "busy 2", "busy 3", "busy 4", "busy 5"]


async def test_channels_take_turns_across_priorities():
    # regression (trial 18): three channels' Connect Four boards (HIGH) kept a fourth channel's FAQ answer
    # (LOW) waiting 21 s; priorities now order one channel's replies, channels take turns
    boards = [Reply("twitch", game, f"{game} board {i}", priority=Priority.HIGH)
              for i in range(3) for game in ("g1", "g2")]
    sent = await _sent_after([*boards, Reply("twitch", "other", "faq low", priority=Priority.LOW),
                              Reply("twitch", "other", "cmd high", priority=Priority.HIGH),
                              Reply("twitch", "g2", "mod staff", priority=Priority.STAFF)])
    assert sent == [
        "mod staff", "g1 board 0", "cmd high", "g2 board 0", "g1 board 1", "faq low", "g2 board 1",
        "g1 board 2", "g2 board 2"]


async def test_other_channels_moderators_do_not_starve_a_quiet_channel():
    # regression (trial 20): two channels' moderators (STAFF replies, within their budget) went before
    # everything, and a third channel's viewers got 1 of 4 answers, 78 s late
    mods = [Reply("twitch", chan, f"{chan} mod {i}", priority=Priority.STAFF)
            for i in range(5) for chan in ("alpha", "bravo")]
    sent = await _sent_after([*mods, Reply("twitch", "delta", "delta viewer", priority=Priority.HIGH)])
    assert sent.index("delta viewer") == 2  # its turn after one reply of each busy channel
    assert [t for t in sent if t.startswith("alpha")] == [f"alpha mod {i}" for i in range(5)]


async def test_a_flood_is_paced_so_a_new_reply_waits_seconds_not_a_whole_window():
    # regression (trial 20): under a flood the 20 sends of a window went out in its first 5 s, and a quiet
    # channel's FAQ answer asked mid-window waited 11-15 s for the next one
    adapter, outbox = _manual_outbox()
    for i in range(40):
        await outbox.put(Reply("twitch", "busy", f"flood {i}"))
    await outbox.pump()
    assert len(adapter.sent) == 5  # at most 5 per 7.5 s
    adapter.clock.advance(12.0)
    await outbox.put(Reply("twitch", "quiet", "faq answer", priority=Priority.LOW))
    await outbox.flush()
    when = {t: at for at, _, t in adapter.sent}
    assert when["faq answer"] - 12.0 <= 7.6
    assert worst_windows(adapter.sent, set())[0] <= 20  # Twitch's 20 per 30 s still holds


async def test_another_channels_staff_replies_do_not_hold_a_viewer_reply_behind_the_reserve():
    # regression (trial 20): a viewer reply that met the staff reserve gave way to ANY waiting staff reply,
    # so two channels' moderators at their budget kept a third channel's viewers out (1 answer of 4, 78 s
    # late); now only its own channel's staff reply goes first
    adapter, outbox = _manual_outbox()
    for i in range(17):  # the window is at the viewers' share (20 - STAFF_RESERVE)
        await outbox.put(Reply("twitch", "zeta", f"zeta mod {i}", priority=Priority.STAFF))
    await outbox.pump()
    await outbox.put(Reply("twitch", "delta", "delta viewer", priority=Priority.HIGH))
    for i in range(3):
        await outbox.put(Reply("twitch", "alpha", f"alpha mod {i}", priority=Priority.STAFF))
    await outbox.flush()
    sent = [t for _, _, t in adapter.sent][17:]
    # alpha's first reply wins the tie of two channels never served (higher priority); then it is delta's
    # turn, and delta's reply waits for room instead of giving way to alpha's other two (it went last)
    assert sent == ["alpha mod 0", "delta viewer", "alpha mod 1", "alpha mod 2"]
    # ... while a staff reply of its own channel still goes first
    adapter, outbox = _manual_outbox()
    for i in range(17):
        await outbox.put(Reply("twitch", "zeta", f"zeta viewer {i}", priority=Priority.HIGH))
        adapter.clock.advance(1.5)  # paced: at most 5 per 7.5 s
        await outbox.pump()
    await outbox.put(Reply("twitch", "zeta", "zeta viewer late", priority=Priority.HIGH))
    await outbox.put(Reply("twitch", "zeta", "zeta mod", priority=Priority.STAFF))
    await outbox.pump()
    assert adapter.sent[-1][2] == "zeta mod"


def test_bad_config_raises():
    clock = ManualClock()
    with pytest.raises(ValueError, match="backlog"):
        Outbox(FakeAdapter(clock), clock=clock, backlog=0)
    with pytest.raises(ValueError, match="overflow"):
        Outbox(FakeAdapter(clock), clock=clock, overflow="drop")  # type: ignore[arg-type]


async def test_duplicate_memory_is_bounded(monkeypatch):
    import bot.outbox as outbox_module

    monkeypatch.setattr(outbox_module, "_MAX_REMEMBERED", 50)
    clock = ManualClock()
    adapter = FakeAdapter(clock, limits=PlatformLimits(500, 1000, 30.0, 1000))
    outbox = Outbox(adapter, clock=clock, backlog=1000)
    for i in range(300):
        await outbox.put(Reply("twitch", "c", "same text", whisper_to=f"user{i}"))
    await outbox.flush()
    assert len(adapter.sent) == 300  # different whisper targets are not duplicates
    assert len(outbox._last) <= 50


@pytest.mark.parametrize("seed", range(6))
async def test_limit_holds_when_moderator_status_changes(seed):
    rng = random.Random(100 + seed)
    clock = ManualClock()
    channels = ["a", "b", "c"]
    adapter = FakeAdapter(clock, privileged={"a"})
    outbox = Outbox(adapter, clock=clock, backlog=10_000, max_age_s=1e9)  # the limiter alone
    await outbox.start()
    for i in range(300):
        if rng.random() < 0.05:  # the bot is modded / unmodded somewhere
            adapter.privileged ^= {rng.choice(channels)}
        clock.advance(rng.choice([0.0, 0.05, 0.5, 3.0]))
        await outbox.put(Reply("twitch", rng.choice(channels), f"m{i}"))
        outbox.tick()
        await asyncio.sleep(0)
    await outbox.flush()
    await outbox.stop()
    assert len(adapter.sent) == 300
    worst_mixed, worst_any = worst_windows(adapter.sent, adapter.privileged_at_send)
    assert worst_mixed <= 20 and worst_any <= 100


async def test_attachment_rides_on_last_part_and_survives_blank_text():
    clock = ManualClock()
    sent: list[Reply] = []

    class Recording(FakeAdapter):
        async def send(self, reply: Reply) -> None:
            sent.append(reply)

    adapter = Recording(clock, limits=PlatformLimits(20, 100, 1.0, 100))
    outbox = Outbox(adapter, clock=clock)
    await outbox.put(Reply("discord", "g/c", "one two three four five six seven", attachment="/tmp/a.png"))
    await outbox.put(Reply("discord", "g/c", "   ", attachment="/tmp/b.png"))
    await outbox.put(Reply("discord", "g/c", "   "))  # nothing to send at all
    await outbox.flush()
    assert [r.attachment for r in sent] == [None, "/tmp/a.png", "/tmp/b.png"]
    assert sent[-1].text == ""


async def test_connection_error_is_retried_in_place():
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    failures = {"flaky": 2}

    original = adapter.send

    async def flaky_send(reply: Reply) -> None:
        if failures.get(reply.text, 0) > 0:
            failures[reply.text] -= 1
            raise ConnectionError("reconnecting")
        if reply.text == "broken":
            raise ValueError("bad request")
        await original(reply)

    adapter.send = flaky_send  # type: ignore[method-assign]
    outbox = Outbox(adapter, clock=clock, rng=random.Random(0))
    for text in ["flaky", "broken", "after"]:
        await outbox.put(Reply("twitch", "c", text))
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == ["flaky", "after"]  # order kept, flaky retried twice
    assert outbox.stats["send_retries"] == 2 and outbox.stats["send_errors"] == 1


async def test_connection_error_gives_up_after_max_retries():
    clock = ManualClock()
    adapter = FakeAdapter(clock, fail={"never"})
    outbox = Outbox(adapter, clock=clock, max_send_retries=2, rng=random.Random(0))
    await outbox.put(Reply("twitch", "c", "never"))
    await outbox.put(Reply("twitch", "c", "next"))
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == ["next"]
    assert outbox.stats["send_retries"] == 2 and outbox.stats["send_errors"] == 1


async def test_no_part_starts_with_a_chat_command_character_and_twitch_gets_one_line():
    # regression: "{title}" with the title "/ban x", a zero-width space before "/ban", a newline before
    # "/ban", and a split point before ".timeout" all went out as chat commands
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock)
    long = "x" * 495 + " .timeout bob 600"
    for text in ["/ban titleuser", "\u200b/ban zw", "hi\n/ban newline", " ．hack", long, "a/b. ok"]:
        await outbox.put(Reply("twitch", "a", text))
    await outbox.flush()
    sent = [t for _, _, t in adapter.sent]
    assert sent == ["\u2215ban titleuser", "\u200b\u2215ban zw", "hi /ban newline", "\u2024hack", "x" * 495,
                    "\u2024timeout bob 600", "a/b. ok"]


async def test_no_part_starts_with_an_exclamation_mark_or_a_look_alike():
    # regression (QA D13/D25): "!help cmd" answered "!cmd (moderators and up): ..." and a text command
    # answered "！cmd add pwn hi" (also ﹗ ¡ ǃ): another bot with moderator rights (StreamElements' !cmd)
    # would run it
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock)
    long = "x" * 497 + " !cmd add pwn hi"
    texts = ["!cmd a", "\uff01cmd b", "\ufe57cmd c", "\u00a1Hola d", "\u01c3cmd e", "\ufe15cmd f",
             "\u2d51cmd g", "\u200b \u2800!cmd h", long, "hi!cmd", "\u2755 ok"]
    for text in texts:
        await outbox.put(Reply("twitch", "b", text))
    await outbox.flush()
    sent = [t for _, _, t in adapter.sent]
    assert sent == ["\u2755cmd a", "\u2755cmd b", "\u2755cmd c", "\u00a1Hola d", "\u2755cmd e", "\u2755cmd f",
                    "\u2755cmd g", "\u200b \u2800\u2755cmd h", "x" * 497, "\u2755cmd add pwn hi", "hi!cmd",
                    "\u2755 ok"]
    assert all(len(t) <= 500 for t in sent)  # one character for one: a fitted part stays fitted


@pytest.mark.parametrize(
    ("limits", "text"),
    [
        (DISCORD_LIMITS, "line 1\n/line 2"),
        # regression: the single-line guard flattened the console's Connect Four board into one line
        (CONSOLE_LIMITS, "1 2 3\n. . .\n. X ."),
    ],
)
async def test_multiline_platforms_keep_line_breaks(limits: PlatformLimits, text: str):
    clock = ManualClock()
    adapter = FakeAdapter(clock, limits=limits)
    outbox = Outbox(adapter, clock=clock)
    await outbox.put(Reply("discord", "a", text))
    await outbox.flush()
    assert [t for _, _, t in adapter.sent] == [text]


async def test_stale_replies_are_dropped_and_staff_replies_go_first():
    # regression: 400 viewers' !mydata kept the bot sending for 6 minutes and the broadcaster's !help went
    # out 300 s late
    clock = ManualClock()
    adapter = FakeAdapter(clock)
    outbox = Outbox(adapter, clock=clock, backlog=1000, max_age_s=90)
    for i in range(100):
        await outbox.put(Reply("twitch", "a", f"viewer reply {i}", priority=Priority.HIGH))
    await outbox.put(Reply("twitch", "a", "help for the streamer", priority=Priority.STAFF))
    await outbox.flush()
    sent = [t for _, _, t in adapter.sent]
    assert sent[0] == "help for the streamer"
    # viewers' replies use 17 of every 20 sends per 30 s: within 90 s about 3 windows' worth went out,
    # the rest was too old to send
    assert 45 <= len(sent) <= 60 and outbox.stats["dropped_stale"] == 101 - len(sent)
    assert all(t.startswith("viewer reply") for t in sent[1:])
    assert max(t for t, _, _ in adapter.sent) - min(t for t, _, _ in adapter.sent) <= 90 + 1


async def test_a_staff_reply_during_a_viewer_flood_goes_out_within_seconds():
    # regression: the streamer's command waited 30 s because viewers' replies had used the whole window
    clock = ManualClock()
    adapter = FakeAdapter(clock, UNPACED)  # the reserve, without the pacing (tested below)
    outbox = Outbox(adapter, clock=clock, backlog=1000)
    for i in range(60):
        await outbox.put(Reply("twitch", "a", f"viewer reply {i}", priority=Priority.HIGH))
    await outbox.pump()
    assert len(adapter.sent) == 20 - 3  # STAFF_RESERVE sends stay free
    clock.advance(5)
    await outbox.put(Reply("twitch", "a", "help for the streamer", priority=Priority.STAFF))
    await outbox.pump()
    assert adapter.sent[-1][2] == "help for the streamer" and adapter.sent[-1][0] == 5.0


async def test_put_answers_the_send_time_or_none_when_dropped():
    # a game's "(30 s)" timer must start when chat sees the board, not when it was queued behind the limit
    clock = ManualClock()
    outbox = Outbox(FakeAdapter(clock, UNPACED), clock=clock)
    fill = [await outbox.put(Reply("twitch", "c", f"m{i}")) for i in range(20)]
    board = await outbox.put(Reply("twitch", "c", "board"))
    await outbox.flush()
    assert fill[0].result() == 0.0 and board.result() == pytest.approx(WINDOW + 0.05)
    again = await outbox.put(Reply("twitch", "c", "board"))
    await outbox.flush()
    assert again.result() is None  # dropped: a duplicate within 30 s
    stale = Outbox(FakeAdapter(clock, UNPACED), clock=clock, max_age_s=20.0)
    held = [await stale.put(Reply("twitch", "c", f"n{i}")) for i in range(20)]
    await stale.flush()
    assert [f.result() for f in held[17:]] == [None] * 3  # held past max_age_s behind 3 staff sends
