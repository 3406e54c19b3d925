"""Features of a chat message for the sentiment head: sentence embedding + emote + lexical features.

``message_features(texts, embeddings)`` -> ``(n, 384 + len(EXTRA_FEATURE_NAMES))`` float32. The embedding
part comes from the engine (all-MiniLM-L6-v2, L2-normalised); the extra part is computed here from the raw
text, so emotes count whole (see ``skills.mood.emotes``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from skills.mood.emotes import EMOTE_FEATURE_NAMES, clean_text, emote_features, is_symbol_art, tokens

LEXICAL_FEATURE_NAMES: tuple[str, ...] = (
    "log_tokens",
    "upper_share",
    "exclamations",
    "question",
    "is_command",
    "mentions",
    "repeat_share",
    "symbol_art",
    "has_url",
    "elongated",
)
EXTRA_FEATURE_NAMES: tuple[str, ...] = (*EMOTE_FEATURE_NAMES, *LEXICAL_FEATURE_NAMES)

_URL = re.compile(r"https?://|www\.", re.I)
_ELONGATED = re.compile(r"(\w)\1{2,}")


def lexical_features(text: str) -> np.ndarray:
    """Surface features of one message, ``(len(LEXICAL_FEATURE_NAMES),)`` float32.

    Shouting (share of upper-case letters), ``!`` count (log), a question mark, a ``!command``, ``@``
    mentions, the share of repeated tokens (copy-pasta and emote spam), symbol art, a URL and elongated
    words (``sooooo``).
    """
    text = clean_text(text)
    toks = tokens(text)
    letters = [ch for ch in text if ch.isalpha()]
    upper = sum(ch.isupper() for ch in letters) / len(letters) if len(letters) >= 4 else 0.0
    repeat = 1.0 - len(set(toks)) / len(toks) if toks else 0.0
    return np.asarray(
        [
            math.log1p(len(toks)),
            upper,
            math.log1p(text.count("!")),
            float("?" in text),
            float(text.startswith("!")),
            math.log1p(sum(t.startswith("@") for t in toks)),
            repeat,
            float(is_symbol_art(text)),
            float(bool(_URL.search(text))),
            float(bool(_ELONGATED.search(text))),
        ],
        dtype=np.float32,
    )


def extra_features(texts: Sequence[str], emotes: Mapping[str, str] | None = None) -> np.ndarray:
    """Emote + lexical features of each text: ``(n, len(EXTRA_FEATURE_NAMES))`` float32."""
    if not texts:
        return np.zeros((0, len(EXTRA_FEATURE_NAMES)), np.float32)
    return np.stack([np.concatenate([emote_features(t, emotes), lexical_features(t)]) for t in texts])


def message_features(
    texts: Sequence[str], embeddings: np.ndarray, emotes: Mapping[str, str] | None = None
) -> np.ndarray:
    """``[embeddings | extra_features(texts)]`` as ``(n, d + len(EXTRA_FEATURE_NAMES))`` float32.

    Raises ``ValueError`` when the number of texts and embedding rows differ.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
        raise ValueError(f"got {len(texts)} texts but embeddings of shape {embeddings.shape}")
    return np.concatenate([embeddings, extra_features(texts, emotes)], axis=1)
