"""Splitting at 500 (Twitch) and 2000 (Discord): word boundaries, graphemes, emotes, truncation."""

from __future__ import annotations

import random

import pytest

from bot.splitting import ELLIPSIS, fit_message, graphemes, split_message, truncate_message

FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"  # ZWJ sequence, 7 code points
THUMB = "\U0001F44D\U0001F3FD"  # thumbs up + skin tone
FLAG = "\U0001F1EF\U0001F1F5"  # regional indicator pair
ACCENT = "e\u0301"  # e + combining acute
EMOTES = ["PogChamp", "catJAM", "KEKW", "monkaS", FAMILY, THUMB, FLAG, ACCENT + "t" + ACCENT, "日本語", "ok"]


def assert_clean_split(text: str, parts: list[str], max_len: int) -> None:
    assert all(1 <= len(p) <= max_len for p in parts)
    # no grapheme is cut: each part is a whole number of clusters of the original
    original = graphemes(text)
    rebuilt = [g for p in parts for g in graphemes(p)]
    assert [g for g in rebuilt if not g.isspace()] == [g for g in original if not g.isspace()]


@pytest.mark.parametrize("max_len", [500, 2000])
def test_split_on_word_boundaries_keeps_every_word(max_len):
    rng = random.Random(max_len)
    words = [rng.choice(EMOTES) for _ in range(3000)]
    text = " ".join(words)
    parts = split_message(text, max_len)
    assert len(parts) > 1
    assert_clean_split(text, parts, max_len)
    # words are never cut: the parts' words are exactly the original words
    assert [w for p in parts for w in p.split(" ")] == words
    # parts are full: each but the last could not take the next word
    for part, nxt in zip(parts, parts[1:], strict=False):
        assert len(part) + 1 + len(nxt.split(" ")[0]) > max_len


def test_short_text_unchanged_and_blank_dropped():
    assert split_message("  hi there ", 500) == ["hi there"]
    assert split_message("   ", 500) == []


def test_long_word_hard_split_at_grapheme_boundaries():
    text = (FAMILY + THUMB + FLAG + ACCENT) * 100  # no whitespace at all
    parts = split_message(text, 500)
    assert "".join(parts) == text
    assert_clean_split(text, parts, 500)
    # a cut never lands between a ZWJ and the next emoji or before a skin tone / combining mark
    for p in parts:
        assert not p.endswith("\u200d") and p[0] not in "\u200d\u0301\U0001F3FD"


def test_grapheme_at_the_limit_moves_to_next_part():
    text = "a" * 498 + FAMILY  # 505 code points, the family would straddle 500
    parts = split_message(text, 500)
    assert parts == ["a" * 498, FAMILY]


def test_prefers_newline_in_second_half():
    text = "x" * 300 + "\n" + "y " * 200
    parts = split_message(text, 500)
    assert parts[0] == "x" * 300


def test_max_parts_ends_with_ellipsis():
    parts = split_message("word " * 1000, 500, max_parts=3)
    assert len(parts) == 3
    assert parts[-1].endswith(ELLIPSIS) and all(len(p) <= 500 for p in parts)


def test_truncate_on_word_boundary():
    text = "PogChamp " * 100
    out = truncate_message(text, 50)
    assert len(out) <= 50 and out.endswith(ELLIPSIS)
    assert out[:-1].split() == ["PogChamp"] * (len(out[:-1].split()))


def test_truncate_graphemes_when_no_space():
    out = truncate_message(FAMILY * 100, 500)
    assert len(out) <= 500 and out.endswith(ELLIPSIS)
    assert set(graphemes(out[:-1])) == {FAMILY}


def test_fit_message_modes():
    long = "word " * 300
    assert len(fit_message(long, 500, "split")) == 3
    assert len(fit_message(long, 500, "truncate")) == 1
    with pytest.raises(ValueError, match="overflow"):
        fit_message(long, 500, "explode")  # type: ignore[arg-type]


def test_bad_limits_raise():
    with pytest.raises(ValueError):
        split_message("x", 1)
    with pytest.raises(ValueError):
        truncate_message("x", 1)


def test_zalgo_cluster_longer_than_limit_still_bounded():
    text = "Z" + "\u0336" * 30  # one grapheme of 31 code points
    parts = split_message(text, 10)
    assert "".join(parts) == text and all(len(p) <= 10 for p in parts)


@pytest.mark.parametrize("seed", range(20))
def test_random_texts_keep_invariants(seed):
    rng = random.Random(seed)
    pieces = [*EMOTES, " ", " ", "  ", "\n", "a" * rng.randint(1, 40), "\u0336", "\U0001F3FD"]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 800)))
    max_len = rng.choice([5, 17, 80, 500, 2000])
    parts = split_message(text, max_len)
    assert all(1 <= len(p) <= max_len and p == p.strip() for p in parts)
    # nothing but whitespace is lost, and order is kept
    assert "".join("".join(parts).split()) == "".join(text.split())
    one = truncate_message(text, max_len)
    assert len(one) <= max_len and text.strip().startswith(one.removesuffix(ELLIPSIS).rstrip())
