"""Cooldown buckets: global, per-channel, per-user, memory bound."""

from __future__ import annotations

from bot.clock import ManualClock
from bot.commands import Cooldown
from bot.cooldowns import CooldownBuckets, CooldownKind


def use(b: CooldownBuckets, cd: Cooldown, channel: str = "c1", user: str = "u1", command: str = "cmd"):
    return b.try_acquire(command, cd, platform="twitch", channel=channel, user_id=user)


def test_no_cooldown_always_allowed():
    b = CooldownBuckets(ManualClock())
    assert all(use(b, Cooldown()) is None for _ in range(10))
    assert len(b) == 0


def test_global_cooldown_spans_channels_and_users():
    clock = ManualClock()
    b = CooldownBuckets(clock)
    cd = Cooldown(global_s=10)
    assert use(b, cd) is None
    hit = use(b, cd, channel="c2", user="u2")
    assert hit is not None and hit.kind is CooldownKind.GLOBAL
    assert abs(hit.remaining_s - 10) < 1e-9
    clock.advance(9.9)
    assert use(b, cd, channel="c3") is not None
    clock.advance(0.1)
    assert use(b, cd, channel="c3") is None


def test_channel_cooldown_is_per_channel():
    clock = ManualClock()
    b = CooldownBuckets(clock)
    cd = Cooldown(channel_s=5)
    assert use(b, cd, channel="a") is None
    assert use(b, cd, channel="b") is None  # other channel unaffected
    hit = use(b, cd, channel="a", user="someone else")
    assert hit is not None and hit.kind is CooldownKind.CHANNEL
    clock.advance(5)
    assert use(b, cd, channel="a") is None


def test_user_cooldown_is_per_user_per_channel():
    clock = ManualClock()
    b = CooldownBuckets(clock)
    cd = Cooldown(user_s=30)
    assert use(b, cd, user="x") is None
    assert use(b, cd, user="y") is None
    assert use(b, cd, user="x", channel="other") is None
    hit = use(b, cd, user="x")
    assert hit is not None and hit.kind is CooldownKind.USER
    assert use(b, cd, user="x", command="different") is None  # buckets are per command


def test_denied_use_does_not_restart_timer():
    clock = ManualClock()
    b = CooldownBuckets(clock)
    cd = Cooldown(user_s=10)
    use(b, cd)
    clock.advance(6)
    assert use(b, cd) is not None
    clock.advance(4)
    assert use(b, cd) is None


def test_combined_buckets_report_first_blocking_kind():
    clock = ManualClock()
    b = CooldownBuckets(clock)
    cd = Cooldown(global_s=2, user_s=10)
    use(b, cd)
    assert use(b, cd).kind is CooldownKind.GLOBAL
    clock.advance(3)
    assert use(b, cd).kind is CooldownKind.USER
    assert use(b, cd, user="other") is None


def test_memory_is_bounded():
    clock = ManualClock()
    b = CooldownBuckets(clock, max_keys=100, sweep_every=50)
    cd = Cooldown(user_s=60)
    for i in range(5000):
        use(b, cd, user=f"u{i}")
        clock.advance(0.001)
    assert len(b) <= 101
    clock.advance(120)
    b.sweep()
    assert len(b) == 0


def test_expired_keys_swept():
    clock = ManualClock()
    b = CooldownBuckets(clock, sweep_every=10)
    cd = Cooldown(user_s=1)
    for i in range(9):
        use(b, cd, user=f"u{i}")
    assert len(b) == 9
    clock.advance(2)
    use(b, cd, user="last")  # 10th acquire triggers a sweep of the 9 expired timers
    assert len(b) == 1
