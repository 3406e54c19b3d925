"""Twitch/BTTV/FFZ/7TV emotes and emoji as whole tokens, with a coarse sentiment category each.

Emotes carry most of the sentiment in Twitch chat, but a sub-word tokenizer splits ``OMEGALUL`` or
``PepeHands`` into meaningless pieces. This module finds emote tokens *whole* (case-sensitive, as chat
clients match them, with a lower-case fallback for people who type ``kekw``) and turns them into a small
feature vector (counts per category, polarity sums) that the sentiment head reads next to the sentence
embedding.

The list below was written for Chatcast from the emotes' commonly understood meaning (Twitch global
emotes, popular BetterTTV/FrankerFaceZ/7TV emotes, emoticons and emoji). It deliberately uses coarse
categories rather than numeric ratings; it is *not* derived from the Kobs et al. (2020) lexicon, whose
licence forbids commercial use. ``SentimentHead(weights, emotes={...})`` accepts extra emotes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping

import numpy as np

# category -> polarity in [-1, 1] (used for the summed-polarity feature and for the lexicon-only fallback)
CATEGORIES: dict[str, float] = {
    "laugh": 0.6,
    "hype": 0.8,
    "love": 0.9,
    "sad": -0.7,
    "angry": -0.8,
    "fear": -0.4,
    "bored": -0.5,
    "troll": 0.1,
    "neutral": 0.0,
}
CATEGORY_NAMES = tuple(CATEGORIES)

_EMOTE_LISTS: dict[str, str] = {
    "laugh": """LUL LULW LuL OMEGALUL KEKW KEK KEKL ICANT 4Head EleGiggle ZULUL PepeLaugh pepeLaugh
        OMEGAROLL LOLW forsenKek kekw xD XD xd lmao LMAO lol LOL lul lulw pepeLaughing KEKWait
        PepeLaughing EleGiggle haHAA 😂 🤣 😆 😹""",
    "hype": """PogChamp Pog POGGERS PogU POGGIES PagMan PogBones Poggers pog HYPERS Kreygasm EZ EZClap
        Clap Clap2 HandsUp gachiBASS gachiGASM gachiHYPER GachiPls catJAM pepeJAM PepePls pepeD
        forsenPls SourPls PepoDance peepoClap peepoHappy widepeepoHappy FeelsGoodMan FeelsOkayMan
        SeemsGood VoteYea TwitchLit CurseLit BlessRNG HeyGuys VoHiYo KonCha GivePLZ TakeNRG
        OkayChamp PogSlide LETSGO letsgo POGSLIDE xqcPls PartyParrot Kreygasm FeelsAmazingMan
        peepoPog Chad GIGACHAD GigaChad FeelsStrongMan PowerUpL PowerUpR 🔥 💯 👍 🙌 🎉 😎 💪 👏""",
    "love": """<3 bleedPurple peepoLove TwitchUnity KappaPride AYAYA Ayaya peepoHug HUGGIES
        widepeepoLove FeelsLoveMan catKISS peepoShy :) :-) :D :-D ;) ;-) :P :p ^^ ❤ ❤️ 💜 💕 😍 🥰
        😊 🙂 😁 😄 😀 ♥""",
    "sad": """PepeHands pepeHands Sadge sadge FeelsBadMan BibleThump NotLikeThis peepoSad widepeepoSad
        PoroSad Pepepains RIP rip Deadge PepeHands forsenSad FeelsBadMan Sadeg SadCat :( :-( D:
        😭 😢 😞 😔 ☹️ 💔""",
    "angry": """DansGame WutFace SwiftRage BabyRage PJSalt FailFish cmonBruh WeirdChamp FeelsWeirdMan
        Weirdge PunOko VoteNay Madge ReallyMad pepeMeltdown NOPERS forsenT forsenWut WutFaceW
        ANGERY Angerge HYPERBRUH BRUH Pepega PepeRage FeelsDankMan TriKool >( 😡 🤬 🤮 👎 🖕 😠""",
    "fear": """monkaS monkaW monkaGIGA monkaEyes monkaOMEGA monkaTOS WAYTOODANK Scared 😱 😨 😰""",
    "bored": """ResidentSleeper Zzz zzz Bedge FeelsTiredMan 😴 🥱""",
    "troll": """Kappa Keepo KappaHD Kapp Jebaited 4House TriHard Clueless Copium COPIUM Aware
        SMOrc ANELE OpieOP forsenCD moon2SMUG 5Head 4HEad 3Head Susge Stare Hmm monkaHmm
        modCheck NOTED Okayge Tssk BOOBA 🤡 🙃 😏""",
    "neutral": """PagChomp forsenE forsenD forsenSWA MingLee MrDestructoid NaM HeyGuys FrankerZ
        OhMyDog CoolCat CoolStoryBob DoritosChip TheIlluminati SeriousSloth Squid1 Squid2 Squid3
        Squid4 MercyWing1 MercyWing2 PurpleStar RedCoat FortOne GOWKratos KAPOW BloodTrail
        BrokeBack KKona peepoWave ppHop""",
}


def _build(lists: Mapping[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for category, names in lists.items():
        for name in names.split():
            table.setdefault(name, category)  # first listing wins (lists above are in priority order)
    return table


EMOTES: dict[str, str] = _build(_EMOTE_LISTS)
"""emote or emoji -> category (case-sensitive)."""

_LOWER: dict[str, str] = {}
for _name, _cat in EMOTES.items():
    _LOWER.setdefault(_name.lower(), _cat)

# invisible characters chat clients append to dodge duplicate filters (Unicode tags, word joiners)
_INVISIBLE = re.compile("[\U000e0000-\U000e007f\u200b-\u200f\u2060-\u206f\ufe0f]")
_EDGE_PUNCT = ".,!?\"'()[]{}…:;"
_EMOTE_LIKE = re.compile(r"^(?:[a-z]+[A-Z0-9][A-Za-z0-9]*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*)$")
_EMOJI_SPLIT = re.compile(r"([\U0001F300-\U0001FAFF\u2600-\u27BF])")


def clean_text(text: str) -> str:
    """Remove invisible duplicate-dodging characters and collapse whitespace."""
    return " ".join(_INVISIBLE.sub("", text).split())


def tokens(text: str) -> list[str]:
    """Whitespace tokens of ``text`` with emoji split off as their own tokens (emotes are never split)."""
    out: list[str] = []
    for raw in clean_text(text).split(" "):
        if not raw:
            continue
        if raw in EMOTES:
            out.append(raw)
            continue
        out.extend(piece for piece in _EMOJI_SPLIT.split(raw) if piece)
    return out


def emote_category(token: str, extra: Mapping[str, str] | None = None) -> str | None:
    """Category of one token, or ``None`` when it is no known emote.

    Exact match first (``extra`` overrides the built-in list), then the token without edge punctuation
    (``LUL!``), then a lower-case match (``kekw``) for emotes longer than 3 characters.
    """
    if extra and token in extra:
        return extra[token]
    if token in EMOTES:
        return EMOTES[token]
    stripped = token.strip(_EDGE_PUNCT)
    if stripped and stripped != token:
        if extra and stripped in extra:
            return extra[stripped]
        if stripped in EMOTES:
            return EMOTES[stripped]
    lowered = stripped.lower()
    if len(lowered) > 3 and lowered in _LOWER:
        return _LOWER[lowered]
    return None


def is_emote_like(token: str) -> bool:
    """Heuristic for an unknown third-party emote: ``camelCase``/``PascalCase`` single words (``moon2M``)."""
    return bool(_EMOTE_LIKE.match(token))


EMOTE_FEATURE_NAMES: tuple[str, ...] = (
    *(f"emote_{c}" for c in CATEGORY_NAMES),
    "emote_polarity_sum",
    "emote_polarity_mean",
    "emote_share",
    "unknown_emote_like",
)


def emote_features(text: str, extra: Mapping[str, str] | None = None) -> np.ndarray:
    """Emote features of one message: ``(len(EMOTE_FEATURE_NAMES),)`` float32.

    Per category ``log1p(count)`` (spam of one emote counts, but sub-linearly), then the summed and mean
    polarity of the emotes (``CATEGORIES``), the share of tokens that are emotes, and ``log1p`` of the
    count of unknown emote-like tokens.
    """
    counts = dict.fromkeys(CATEGORY_NAMES, 0)
    toks = tokens(text)
    unknown = 0
    polarity = 0.0
    for tok in toks:
        cat = emote_category(tok, extra)
        if cat is None:
            unknown += is_emote_like(tok)
            continue
        counts[cat] += 1
        polarity += CATEGORIES.get(cat, 0.0)
    n_emotes = sum(counts.values())
    feats = [math.log1p(counts[c]) for c in CATEGORY_NAMES]
    feats.append(math.copysign(math.log1p(abs(polarity)), polarity))
    feats.append(polarity / n_emotes if n_emotes else 0.0)
    feats.append(n_emotes / len(toks) if toks else 0.0)
    feats.append(math.log1p(unknown))
    return np.asarray(feats, dtype=np.float32)


def lexicon_polarity(text: str, extra: Mapping[str, str] | None = None) -> float | None:
    """Mean emote polarity of ``text`` in [-1, 1], or ``None`` when it holds no known emote."""
    values = [CATEGORIES.get(c, 0.0) for t in tokens(text) if (c := emote_category(t, extra)) is not None]
    return sum(values) / len(values) if values else None


def is_symbol_art(text: str) -> bool:
    """True for ASCII/Braille art (most characters are symbols or box drawing, not letters)."""
    chars = [ch for ch in text if not ch.isspace()]
    if len(chars) < 20:
        return False
    symbols = sum(1 for ch in chars if unicodedata.category(ch)[0] in "SP" or "\u2500" <= ch <= "\u28ff")
    return symbols / len(chars) > 0.6
