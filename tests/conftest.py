"""Every test runs in an empty working directory of its own, without the caller's Chatcast environment
variables: a streamer's ``./config.toml`` (``chatcast init`` writes one in the repository root),
``$CHATCAST_CONFIG`` or a token in the environment changed what the CLI tests read (trial 28: seven
failed after ``chatcast init``). Tests reach the repository's files by absolute paths."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_from_the_callers_setup(tmp_path_factory: pytest.TempPathFactory,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    for name in list(os.environ):
        if name.startswith("CHATCAST_"):
            monkeypatch.delenv(name)
