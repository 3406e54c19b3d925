"""``bot.secrets``: the secrets file's errors and the credentials each live platform needs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.secrets import SecretsError, load_secrets


def private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def test_a_secrets_file_named_explicitly_must_exist(tmp_path: Path) -> None:
    # regression (trial 5, F15): a missing file passed to load_secrets (the config's [bot] secrets_file) was
    # silently ignored, although the docstring said it is an error, as it is for CHATCAST_SECRETS_FILE
    missing = tmp_path / "nothere.toml"
    with pytest.raises(SecretsError) as info:
        load_secrets(missing, env={})
    assert str(info.value) == f"{missing}: secrets file does not exist"
    with pytest.raises(SecretsError) as info:
        load_secrets(missing, env={}, named_by="[bot] secrets_file in config.toml")
    assert str(info.value) == (f"{missing}: secrets file named by [bot] secrets_file in config.toml does not "
                               "exist")
    with pytest.raises(SecretsError) as info:
        load_secrets(None, env={"CHATCAST_SECRETS_FILE": str(missing)})
    assert str(info.value) == f"{missing}: secrets file named by CHATCAST_SECRETS_FILE does not exist"


def test_a_folder_given_as_the_secrets_file_is_called_a_folder(tmp_path: Path) -> None:
    # regression (trial 5, F15): "secrets file has mode 0755, so other users can read it" for a folder
    folder = tmp_path / "d.toml"
    folder.mkdir(mode=0o755)
    with pytest.raises(SecretsError) as info:
        load_secrets(folder, env={})
    assert str(info.value) == (f"{folder}: is a folder, not a secrets file: name the TOML file itself "
                               f"(e.g. {folder / 'secrets.toml'})")


@pytest.mark.parametrize(("value", "found"), [
    ("123456789012", "an integer"), ("1.5", "a number"), ("true", "true or false"), ('["a"]', "a list"),
    ("{ a = 'b' }", "a table"), ("2024-01-01", "a date or time"),
])
def test_a_value_that_is_not_a_string_is_named_in_toml_words_without_showing_it(
    tmp_path: Path, value: str, found: str
) -> None:
    # regression (trial 5, F11): "twitch_token: expected a string, got a int"
    path = private(tmp_path / "secrets.toml", f"twitch_token = {value}\n")
    with pytest.raises(SecretsError) as info:
        load_secrets(path, env={})
    assert str(info.value) == (f'{path}: line 1: twitch_token: expected a string in quotes (twitch_token = '
                               f'"..."), got {found}')


def test_what_each_platform_needs_and_the_warning_names_only_the_missing_names(tmp_path: Path) -> None:
    # regression (trial 5, F10): nothing said which credentials a configured channel lacked
    from bot.secrets import credential_warnings, missing_credentials

    path = private(tmp_path / "secrets.toml", 'twitch_token = "tok-VALUE1"\n')
    secrets = load_secrets(path, env={"CHATCAST_TWITCH_CLIENT_ID": "id-VALUE2"})
    assert missing_credentials("twitch", secrets) == ["twitch_client_secret"]
    assert missing_credentials("console", secrets) == [] and missing_credentials("replay", secrets) == []
    channels = [("twitch", "a"), ("console", "console"), ("twitch", "b"), ("discord", "1/2")]
    assert credential_warnings(channels, secrets) == [
        "channels twitch/a, twitch/b will not be served: missing CHATCAST_TWITCH_CLIENT_SECRET (environment "
        "variable, or twitch_client_secret in the secrets file; see docs/twitch.md)",
        "channel discord/1/2 will not be served: missing CHATCAST_DISCORD_TOKEN (environment variable, or "
        "discord_token in the secrets file; see docs/discord.md)",
    ]
    none = load_secrets(None, env={})
    assert credential_warnings([("twitch", "a")], none) == [
        "channel twitch/a will not be served: missing CHATCAST_TWITCH_CLIENT_ID, "
        "CHATCAST_TWITCH_CLIENT_SECRET and CHATCAST_TWITCH_TOKEN (environment variables, or "
        "twitch_client_id, twitch_client_secret and twitch_token in the secrets file; see docs/twitch.md); "
        "the bot's token comes from `chatcast invite twitch --bot`"
    ]
    everything = load_secrets(None, env={
        "CHATCAST_TWITCH_CLIENT_ID": "i", "CHATCAST_TWITCH_CLIENT_SECRET": "s", "CHATCAST_TWITCH_TOKEN": "t",
        "CHATCAST_DISCORD_TOKEN": "d",
    })
    assert credential_warnings(channels, everything) == []


def test_the_bot_reads_the_secrets_file_the_invite_flow_writes(tmp_path: Path, monkeypatch) -> None:
    """Regression: with both ``[bot] secrets_file`` and ``$CHATCAST_SECRETS_FILE`` set, ``chatcast run`` read
    the config's file and ``chatcast invite`` wrote refreshed tokens to the variable's."""
    from types import SimpleNamespace

    from bot.adapters.cli import secrets_path
    from bot.secrets import secrets_location

    config_path = tmp_path / "config.toml"
    monkeypatch.setenv("CHATCAST_SECRETS_FILE", str(tmp_path / "env.toml"))
    read, named_by = secrets_location(Path("mine.toml"), config_path)
    config = SimpleNamespace(bot=SimpleNamespace(secrets_file=Path("mine.toml")), path=config_path)
    assert read == secrets_path(config) == tmp_path / "mine.toml"
    assert named_by is not None and named_by.startswith("[bot] secrets_file")
    # without the config key: the variable, for both
    config.bot.secrets_file = None
    assert secrets_location(None, config_path) == (tmp_path / "env.toml", "CHATCAST_SECRETS_FILE")
    assert secrets_path(config) == tmp_path / "env.toml"
    monkeypatch.delenv("CHATCAST_SECRETS_FILE")
    assert secrets_location(None, config_path) == (tmp_path / "secrets.toml", None)
    assert secrets_path(config) == tmp_path / "secrets.toml"


def test_a_token_pasted_with_spaces_around_it_is_trimmed(tmp_path: Path) -> None:
    # regression (trial 5, F11): "  oauth:abc  " was kept with its spaces and the login failed
    secrets = load_secrets(private(tmp_path / "s.toml", 'twitch_token = "  abc123 \\n"\n'), env={})
    assert secrets.twitch_token is not None and secrets.twitch_token.reveal() == "abc123"


def test_config_check_lists_the_secrets_files_problem_with_the_configs(tmp_path: Path, monkeypatch) -> None:
    # regression (trial 6): a world-readable secrets.toml was reported only once the config's own errors
    # were fixed (one more round trip for a new streamer)
    from fakes.cli import invoke

    monkeypatch.delenv("CHATCAST_SECRETS_FILE", raising=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[bot]\nprefx = "!"\n', encoding="utf-8")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('twitch_token = "abc"\n', encoding="utf-8")
    os.chmod(secrets, 0o644)
    result = invoke(["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "bot.prefx: unknown key" in errors[0]
    assert errors[1].startswith(f"error: {secrets}: secrets file has mode 0644")
    assert "abc" not in result.stderr


def test_a_secrets_file_nested_too_deeply_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = private(tmp_path / "s.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SecretsError, match="nested too deeply"):
        load_secrets(path, env={})


def test_environment_values_are_trimmed_and_blank_ones_are_not_set() -> None:
    # regression (trial 7): CHATCAST_TWITCH_TOKEN="  " counted as set (no "missing credentials" warning)
    # and " x " kept its spaces; only the secrets file's values were trimmed
    secrets = load_secrets(None, env={"CHATCAST_TWITCH_TOKEN": "  ", "CHATCAST_TWITCH_CLIENT_ID": " x \n"})
    assert secrets.twitch_token is None
    assert secrets.twitch_client_id is not None and secrets.twitch_client_id.reveal() == "x"


def test_an_unknown_key_that_may_be_a_token_is_not_shown(tmp_path: Path) -> None:
    # regression (trial 7): "SECRETTOKENASKEY: unknown key" printed a token pasted in as a key
    with pytest.raises(SecretsError) as info:
        load_secrets(private(tmp_path / "s.toml", 'oauthabcdef0123456789 = "x"\n'), env={})
    message = str(info.value)
    assert "oauthabcdef0123456789" not in message and "known keys: twitch_client_id" in message
    with pytest.raises(SecretsError, match='twich_token: unknown key; did you mean "twitch_token"'):
        load_secrets(private(tmp_path / "t.toml", 'twich_token = "x"\n'), env={})


def test_secrets_file_problems_name_their_line_and_an_empty_value_is_warned_about(tmp_path: Path,
                                                                                   caplog) -> None:
    # regression (trial 9, F10): no line in secrets-file errors; twitch_token = "" accepted without a word
    path = private(tmp_path / "secrets.toml", '# mine\ndiscord_token = "d"\ntwitch_tokne = "x"\n')
    with pytest.raises(SecretsError, match=r'secrets.toml: line 3: twitch_tokne: unknown key; did you mean'):
        load_secrets(path, env={})
    path.write_text('\ntwitch_token = ""\n')
    with caplog.at_level("WARNING", logger="bot.secrets"):
        secrets = load_secrets(path, env={})
    assert secrets.twitch_token is None
    assert "secrets.toml: line 2: twitch_token is empty, so it counts as not set" in caplog.text


def test_a_utf16_secrets_file_is_read_and_a_non_utf8_one_names_its_line_not_its_value(tmp_path: Path) -> None:
    # trial 26, F5: PowerShell's `>` (UTF-16 with BOM) failed with "'utf-8' codec can't decode byte 0xff"
    path = tmp_path / "secrets.toml"
    path.write_bytes('twitch_token = "abc"\n'.encode("utf-16"))
    os.chmod(path, 0o600)
    secrets = load_secrets(path, env={})
    assert secrets.twitch_token is not None and secrets.twitch_token.reveal() == "abc"
    path.write_bytes(b'discord_token = "d"\ntwitch_token = "p\xe4ss"\n')
    with pytest.raises(SecretsError) as info:
        load_secrets(path, env={})
    message = str(info.value)
    assert "secrets.toml: line 2: not UTF-8 text" in message
    assert "0xe4" not in message and "\\xe4" not in message and "ss" not in message.split("secrets.toml")[-1]


def test_mask_finds_a_secret_whose_lower_case_is_longer() -> None:
    # trial 27: "İstanbul2024x" lowered is "i̇stanbul2024x" (one letter more): `log_level` printed it in clear
    from bot.secrets import Secret, Secrets

    secrets = Secrets(twitch_client_secret=Secret("İstanbul2024x"))
    for shown in ("İstanbul2024x", "İstanbul2024x".lower(), "İSTANBUL2024X"):
        masked = secrets.mask(f'bot.log_level: expected one of ..., got "{shown}"')
        assert masked.endswith('got "<the loaded secret twitch_client_secret>"'), masked


def test_a_secrets_file_path_with_a_tilde_is_the_home_folder(tmp_path: Path) -> None:
    # trial 27: "~/secrets.toml" in [bot] secrets_file was looked for in a folder named "~"
    from bot.secrets import SECRETS_FILE_ENV, secrets_location

    home = Path.home()
    where, _ = secrets_location(Path("~/s.toml"), tmp_path / "config.toml", env={})
    assert where == home / "s.toml"
    where, _ = secrets_location(None, tmp_path / "config.toml", env={SECRETS_FILE_ENV: "~/t.toml"})
    assert where == home / "t.toml"
