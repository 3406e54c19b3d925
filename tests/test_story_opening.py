"""The opening's first sentence from a premise: noun phrases are introduced ("there lived ..."), clauses are
told ("Once upon a time, ... finds a map.")."""

from __future__ import annotations

import pytest

from skills.story.prompting import opening_lead, premise_is_clause
from skills.story.skill import DEFAULT_PREMISES

LIVED = "Once upon a time there lived {}."
TOLD = "Once upon a time, {}."

TABLE = [
    # clauses: the premise has its own verb
    ("a lighthouse keeper finds a map", TOLD.format("a lighthouse keeper finds a map")),
    ("A lighthouse keeper finds a map.", TOLD.format("a lighthouse keeper finds a map")),
    ("two sisters find a door", TOLD.format("two sisters find a door")),
    ("wolves howl at the moon", TOLD.format("wolves howl at the moon")),
    ("the king lost his crown", TOLD.format("the king lost his crown")),
    ("a lighthouse keeper wants to fly", TOLD.format("a lighthouse keeper wants to fly")),
    ("the wizard sneezes", TOLD.format("the wizard sneezes")),
    ("a dragon sneezed", TOLD.format("a dragon sneezed")),
    ("the king is dying", TOLD.format("the king is dying")),
    ("a boy meets Tom", TOLD.format("a boy meets Tom")),
    ("a cat and a dog share a house", TOLD.format("a cat and a dog share a house")),
    ("a lighthouse keeper with a map finds gold", TOLD.format("a lighthouse keeper with a map finds gold")),
    ("the stars go out", TOLD.format("the stars go out")),
    # noun phrases: introduced
    ("Two sisters who find a door!", LIVED.format("two sisters who find a door")),
    ("a fox who finds a key", LIVED.format("a fox who finds a key")),
    ("two sisters", LIVED.format("two sisters")),
    ("three old sisters", LIVED.format("three old sisters")),
    ("a boy named Tom", LIVED.format("a boy named Tom")),
    ("a girl with a red kite", LIVED.format("a girl with a red kite")),
    ("a box of old letters", LIVED.format("a box of old letters")),
    ("a knight fighting a dragon", LIVED.format("a knight fighting a dragon")),
    ("a princess", LIVED.format("a princess")),
    ("a news reporter", LIVED.format("a news reporter")),
    ("a lost puppy", LIVED.format("a lost puppy")),
    ("an owl that cannot sleep", LIVED.format("an owl that cannot sleep")),
    ("a village where it always rains", LIVED.format("a village where it always rains")),
    ("NASA's two engineers", LIVED.format("NASA's two engineers")),
    ("two lighthouse keepers", LIVED.format("two lighthouse keepers")),
    ("some fire ants", LIVED.format("some fire ants")),
    (" ... ", ""),
]


@pytest.mark.parametrize(("premise", "opening"), TABLE)
def test_opening_lead_table(premise: str, opening: str) -> None:
    assert opening_lead(premise) == opening


@pytest.mark.parametrize("premise", DEFAULT_PREMISES)
def test_default_premises_are_noun_phrases(premise: str) -> None:
    assert not premise_is_clause(premise)
    assert opening_lead(premise) == LIVED.format(premise)
