"""Config validation (exact messages), per-channel merging, secrets and log redaction."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import pytest
from pydantic import Field

from bot.config import ConfigError, load_config
from bot.logs import SecretRedactingFilter
from bot.secrets import Secret, SecretsError, load_secrets
from skills.base import Skill, SkillSettings


class FaqSettings(SkillSettings):
    threshold: float = Field(0.5, ge=0, le=1)
    max_answers: int = Field(3, ge=1)
    greeting: str = "hi"


class FakeFaq(Skill):
    name = "faq"
    Settings = FaqSettings


SKILLS = {"faq": FakeFaq}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problems of ``text`` loaded as ``config.toml`` from the current folder (short messages)."""
    with pytest.raises(ConfigError) as info:
        with contextlib.chdir(tmp_path):
            load_config(write(tmp_path, text).name, skill_classes=SKILLS)
    return info.value.problems


def test_defaults_without_file() -> None:
    config = load_config(None, skill_classes=SKILLS)
    assert config.bot.prefix == "!" and config.bot.retention_days == 90
    assert config.settings_for("faq", "twitch", "any").threshold == 0.5
    assert config.enabled_for("faq", "twitch", "any")
    assert config.enabled_for("core", "twitch", "any")  # the built-in help is always known
    assert not config.enabled_for("nope", "twitch", "any")


def test_channel_value_error_names_file_path_expected_and_found(tmp_path: Path) -> None:
    text = '[[channels]]\nplatform = "twitch"\nname = "a"\n[channels.skills.faq]\nthreshold = "high"\n'
    assert problems(tmp_path, text) == [
        'config.toml: line 5: channels[0].skills.faq.threshold: expected a number between 0 and 1, got "high"'
    ]


def test_bot_section_errors(tmp_path: Path) -> None:
    text = '[bot]\nprefx = "?"\noverflow = "wrap"\ntime_budget_s = -1\nmods_bypass_cooldowns = "maybe"\n'
    assert problems(tmp_path, text) == [  # in the file's order
        'config.toml: line 2: bot.prefx: unknown key; did you mean "prefix"?',
        'config.toml: line 3: bot.overflow: expected one of "split", "truncate", got "wrap"',
        "config.toml: line 4: bot.time_budget_s: expected a number > 0 and <= 600, got -1",
        'config.toml: line 5: bot.mods_bypass_cooldowns: expected true or false, got "maybe"',
    ]


def test_unknown_skill_top_level_and_channel_keys(tmp_path: Path) -> None:
    text = (
        '[skils]\n[skills.fqa]\nx = 1\n[skills.faq]\nmax_answer = 2\n'
        '[[channels]]\nplatform = "twitch"\nnme = "a"\n'
        '[[channels]]\nplatform = "twich"\nname = "b"\n'
    )
    assert problems(tmp_path, text) == [
        'config.toml: line 1: skils: unknown key; did you mean "skills"?',
        'config.toml: line 2: skills.fqa: unknown skill; did you mean "faq"?',
        'config.toml: line 5: skills.faq.max_answer: unknown key; did you mean "max_answers"?',
        "config.toml: line 6: channels[0].name: missing required key",  # at its [[channels]] header
        'config.toml: line 8: channels[0].nme: unknown key; did you mean "name"?',
        'config.toml: line 10: channels[1].platform: expected one of "twitch", "discord", "console", '
        '"replay", got "twich"; did you mean "twitch"?',
    ]


def test_quoted_keys_keep_their_quotes_in_errors(tmp_path: Path) -> None:
    # regression: '"bot.prefix" = "!"' under [bot] was reported as bot.bot.prefix, three keys deep
    text = '[bot]\n"bot.prefix" = "!"\n[skills."faq.x"]\n'
    assert problems(tmp_path, text) == [
        'config.toml: line 2: bot."bot.prefix": unknown key; did you mean "prefix"?',
        'config.toml: line 3: skills."faq.x": unknown skill; did you mean "faq"?',
    ]


def test_duplicate_channel(tmp_path: Path) -> None:
    text = '[[channels]]\nplatform = "twitch"\nname = "A"\n[[channels]]\nplatform = "twitch"\nname = "a"\n'
    assert problems(tmp_path, text) == [
        "config.toml: line 4: channels[1]: channel twitch/a is already configured as channels[0]"
    ]


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    assert problems(tmp_path, '[bot]\nname = "x"\nprefix = \n') == [
        "config.toml: line 3, column 10: bot.prefix: invalid TOML: Invalid value"
    ]


def test_toml_errors_name_the_key_and_explain_an_open_string(tmp_path: Path) -> None:
    # trial 14: a key defined twice, or an unclosed string, named the line but not the key ("Illegal
    # character '\n'")
    assert problems(tmp_path, '[bot]\nprefix = "!"\nprefix = "?"\n')[0].startswith(
        "config.toml: line 3, column 13: bot.prefix: invalid TOML: Cannot overwrite a value")
    assert problems(tmp_path, '[bot]\nprefix = "!\nname = "x"\n') == [
        'config.toml: line 2, column 12: bot.prefix: invalid TOML: a quoted string is not closed on this '
        'line (a missing ")']
    assert problems(tmp_path, 'x = 1\n[skills.faq]\n[skills.faq]\n')[0].startswith(
        "config.toml: line 3, column 12: skills.faq: invalid TOML:")


def test_arrays_nested_too_deeply_are_an_error_not_a_traceback(tmp_path: Path) -> None:
    # regression: "x = [[[[...]]]]" 5,000 deep ended config check with a RecursionError traceback
    assert problems(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n") == [
        "config.toml: invalid TOML: arrays or inline tables nested too deeply"
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", skill_classes=SKILLS)


def test_channel_overrides_merge_over_defaults(tmp_path: Path) -> None:
    text = (
        '[bot]\nprefix = "?"\ndata_dir = "d"\n[skills.faq]\nthreshold = 0.7\ngreeting = "yo"\n'
        '[[channels]]\nplatform = "twitch"\nname = "Loud"\nprefix = "!"\n'
        "[channels.skills.faq]\nthreshold = 0.9\n"
        '[[channels]]\nplatform = "twitch"\nname = "quiet"\n[channels.skills.faq]\nenabled = false\n'
    )
    config = load_config(write(tmp_path, text), skill_classes=SKILLS)
    loud = config.settings_for("faq", "twitch", "loud")
    assert (loud.threshold, loud.greeting) == (0.9, "yo")
    assert config.settings_for("faq", "twitch", "other").threshold == 0.7
    assert not config.enabled_for("faq", "twitch", "quiet")
    assert config.prefix_for("twitch", "LOUD") == "!" and config.prefix_for("twitch", "quiet") == "?"
    assert config.data_dir == tmp_path / "d"


def test_a_channels_faq_entries_and_commands_add_to_the_global_ones(tmp_path: Path) -> None:
    # regression: one [[channels.skills.faq.entries]] dropped every global FAQ entry in that channel (and
    # one channel text command every global command); lists of tables now merge by id / name
    from skills.commands.skill import CommandsSkill
    from skills.faq.skill import FaqSkill

    text = (
        '[[skills.faq.entries]]\nid = "cat"\nquestions = ["what is the cat called"]\nanswer = "Mochi"\n'
        '[[skills.faq.entries]]\nid = "game"\nquestions = ["what game is this"]\nanswer = "Celeste"\n'
        '[[skills.commands.entries]]\nname = "discord"\nresponse = "discord.gg/x"\n'
        '[[channels]]\nplatform = "twitch"\nname = "mine"\n'
        '[[channels.skills.faq.entries]]\nid = "dog"\nquestions = ["do you have a dog"]\nanswer = "No dog"\n'
        '[[channels.skills.faq.entries]]\nid = "game"\nquestions = ["what game is this"]\nanswer = "Hades"\n'
        '[[channels.skills.commands.entries]]\nname = "merch"\nresponse = "shop.example"\n'
    )
    config = load_config(write(tmp_path, text), skill_classes={"faq": FaqSkill, "commands": CommandsSkill})
    faq = config.settings_for("faq", "twitch", "mine")
    assert [(e.id, e.answer) for e in faq.entries] == [("cat", "Mochi"), ("dog", "No dog"), ("game", "Hades")]
    assert [e.id for e in config.settings_for("faq", "twitch", "other").entries] == ["cat", "game"]
    assert [e.name for e in config.settings_for("commands", "twitch", "mine").entries] == ["discord", "merch"]


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    config = load_config(example)  # the real skills: every [skills.<name>] section must validate
    assert any(c.platform == "console" for c in config.channels)


def test_secret_never_shows_its_value() -> None:
    secret = Secret("oauth:abcdef123456")
    assert "abcdef" not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    assert secret.reveal() == "oauth:abcdef123456"


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('twitch_token = "tok-from-file"\ndiscord_token = "disc"\n')
    os.chmod(path, 0o644)
    with pytest.raises(SecretsError, match="mode 0644.*chmod 600"):
        load_secrets(path, env={})
    os.chmod(path, 0o600)
    secrets = load_secrets(path, env={"CHATCAST_TWITCH_TOKEN": "tok-from-env"})
    assert secrets.twitch_token is not None and secrets.twitch_token.reveal() == "tok-from-env"
    assert secrets.discord_token is not None and secrets.discord_token.reveal() == "disc"
    assert not secrets.has_twitch and secrets.has_discord  # Twitch also needs the app's id and secret
    path.write_text('twitch_tokn = "x"\n')
    with pytest.raises(SecretsError, match='twitch_tokn: unknown key; did you mean "twitch_token"'):
        load_secrets(path, env={})


def test_no_secrets_configured() -> None:
    secrets = load_secrets(None, env={})
    assert not secrets.has_twitch and secrets.values() == []


def test_redaction_filter_hides_secrets_in_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    redactor = SecretRedactingFilter(["supersecrettoken"])
    logger.addFilter(redactor)
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("connecting with %s", "supersecrettoken")
            try:
                raise RuntimeError("bad token supersecrettoken")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.removeFilter(redactor)
    text = caplog.text
    assert "supersecrettoken" not in text
    assert text.count("********") >= 2


def test_twitch_and_discord_sections(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[twitch]\nopen_joins = true\n[discord]\nmod_roles = ["Mods"]\nvip_roles = ["VIP"]'),
        skill_classes=SKILLS,
    )
    assert config.twitch.open_joins is True
    assert (config.discord.mod_roles, config.discord.vip_roles, config.discord.subscriber_roles) == (
        ["Mods"], ["VIP"], []
    )
    defaults = load_config(None, skill_classes=SKILLS)
    assert defaults.twitch.open_joins is False and defaults.discord.mod_roles == []
    bad = '[twitch]\nopen_join = true\n[discord]\nmod_roles = ["a", 3]\nroles = []\n'
    assert problems(tmp_path, bad) == [
        'config.toml: line 2: twitch.open_join: unknown key; did you mean "open_joins"?',
        "config.toml: line 4: discord.mod_roles[1]: expected a string, got 3",
        'config.toml: line 5: discord.roles: unknown key; did you mean "vip_roles"?',
    ]


def test_build_adapters_reads_twitch_and_discord_sections(tmp_path: Path) -> None:
    from bot.adapters.cli import build_adapters

    config = load_config(
        write(tmp_path, '[twitch]\nopen_joins = true\n[discord]\nmod_roles = ["Mods"]\n'
                        'subscriber_roles = ["Subs"]\n'),
        skill_classes={},
    )
    secrets = load_secrets(None, env={
        "CHATCAST_DISCORD_TOKEN": "d.t.x", "CHATCAST_TWITCH_TOKEN": "t",
        "CHATCAST_TWITCH_CLIENT_ID": "c", "CHATCAST_TWITCH_CLIENT_SECRET": "s",
    })
    twitch, discord = build_adapters(config, secrets)
    assert twitch._open_joins is True
    assert discord.settings_for("123").mod_roles == ("Mods",)
    assert discord.settings_for("123").subscriber_roles == ("Subs",)


def test_a_twitch_token_alone_starts_no_twitch_adapter(tmp_path: Path) -> None:
    # regression: has_twitch was "a token is set", so the adapter started without the application's id
    # and secret (and could not log in) while `config check` said the channels would not be served
    from bot.adapters.cli import build_adapters

    config = load_config(write(tmp_path, "[bot]\n"), skill_classes={})
    secrets = load_secrets(None, env={"CHATCAST_TWITCH_TOKEN": "t"})
    assert not secrets.has_twitch and build_adapters(config, secrets) == []


def test_errors_name_the_config_path_as_given(tmp_path: Path) -> None:
    # regression: a config in a sub-folder was named by its base name only ("stream.toml: ...")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "stream.toml").write_text("[bot]\nprefx = '!'\n", encoding="utf-8")
    with contextlib.chdir(tmp_path), pytest.raises(ConfigError) as info:
        load_config("configs/stream.toml", skill_classes=SKILLS)
    assert info.value.problems[0].startswith("configs/stream.toml: line 2: bot.prefx: unknown key")


def test_loose_values_are_refused_with_short_messages(tmp_path: Path) -> None:
    # regressions from a fresh tester: "yes" was taken as true, prefix "/" (which chat clients run as their
    # own /help) and an invisible prefix (no command could ever match) passed, an empty list was "expected
    # a list, got a list", and a 100 KB value was printed whole
    long = "x" * 100_000
    assert problems(tmp_path, f'[bot]\nmods_bypass_cooldowns = "yes"\nprefix = "/"\nname = "{long}"\n') == [
        'config.toml: line 2: bot.mods_bypass_cooldowns: expected true or false, got "yes"',
        "config.toml: line 3: bot.prefix: the prefix cannot start with '/': chat clients read /help and "
        ".help as their own commands",
        'config.toml: line 4: bot.name: expected a string of 1 to 64 characters, got "' + "x" * 60
        + '..." (100000 characters)',
    ]
    assert problems(tmp_path, '[bot]\nprefix = "\\u200b"\n') == [
        'config.toml: line 2: bot.prefix: the prefix "\\u200b" has spaces, control or invisible characters'
    ]
    text = '[[channels]]\nplatform = "twitch"\nname = "a"\nprefix = ".."\n'
    assert problems(tmp_path, text)[0].startswith(
        "config.toml: line 4: channels[0].prefix: the prefix cannot start")


def test_empty_list_says_how_many_items_are_needed(tmp_path: Path) -> None:
    from skills.faq.skill import FaqSkill

    (tmp_path / "config.toml").write_text('[[skills.faq.entries]]\nid = "x"\nquestions = []\nanswer = "a"\n')
    with pytest.raises(ConfigError) as info, contextlib.chdir(tmp_path):
        load_config("config.toml", skill_classes={"faq": FaqSkill})
    assert info.value.problems == [
        "config.toml: line 3: skills.faq.entries[0].questions: expected a list of 1 to 20 items, "
        "got a list of 0 items"
    ]


def test_a_byte_order_mark_is_ignored_and_a_table_written_twice_is_explained(tmp_path: Path) -> None:
    # regressions: a config saved by a Windows editor (UTF-8 with BOM) failed with "line 1, column 1:
    # invalid TOML: Invalid statement"; [skills.commands.entries] written with single brackets next to
    # [[...]] said only "Cannot overwrite a value"
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbf[bot]\nprefix = "?"\n')
    assert load_config(path, skill_classes=SKILLS).bot.prefix == "?"
    bad = write(tmp_path, '[bot]\nprefix = "?"\nprefix = "!"\n')
    with pytest.raises(ConfigError, match=r"line 3, .*defined twice, or a table written \[name\]"):
        load_config(bad, skill_classes=SKILLS)


def test_a_config_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    # trial 24: a Latin-1 "café" said "'utf-8' codec can't decode byte 0xe9 in position 32"
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[bot]\nprefix = "!"\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, skill_classes=SKILLS)
    assert info.value.problems == [f"{path}: line 3: not UTF-8 text (byte 0xe9); save it as UTF-8, e.g. "
                                   "`iconv -f latin1 -t utf-8 latin.toml > fixed.toml`"]


def test_a_utf16_config_with_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    # trial 25: PowerShell's `>` writes UTF-16; the error advised `iconv -f latin1`, which made it garbage
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.toml"
        bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
        path.write_bytes(bom + '[bot]\nprefix = "?"\nname = "café"\n'.encode(encoding))
        config = load_config(path, skill_classes=SKILLS)
        assert (config.bot.prefix, config.bot.name) == ("?", "café")


def test_models_dir_defaults_to_the_data_dir_and_resolves_against_the_config(tmp_path: Path) -> None:
    # a second config with another data_dir converted the 1.1 GB story model again: models_dir shares it
    config = load_config(write(tmp_path, '[bot]\ndata_dir = "d"\n'), skill_classes=SKILLS)
    assert config.models_dir == tmp_path / "d" / "models"
    config = load_config(write(tmp_path, '[bot]\ndata_dir = "d"\n[inference]\nmodels_dir = "../m"\n'),
                         skill_classes=SKILLS)
    assert config.models_dir == tmp_path / ".." / "m"


def test_staff_command_budget_defaults_to_three_times_the_viewers(tmp_path: Path) -> None:
    # regression (QA D15): moderators and the broadcaster had no command budget at all
    assert load_config(None, skill_classes=SKILLS).bot.staff_commands_per_30s is None  # the router: 3 x 4
    config = load_config(write(tmp_path, "[bot]\nstaff_commands_per_30s = 20\n"), skill_classes=SKILLS)
    assert config.bot.staff_commands_per_30s == 20
    assert problems(tmp_path, "[bot]\nviewer_commands_per_30s = 6\nstaff_commands_per_30s = 5\n") == [
        "config.toml: line 1: bot: staff_commands_per_30s (5) is below viewer_commands_per_30s (6): "
        "moderators would get fewer commands than viewers"
    ]


def test_an_error_in_a_channels_own_entry_names_its_index_in_the_file(tmp_path: Path) -> None:
    # regression (trial): the index was the merged list's (global entries first): the channel's first
    # command was "entries[2]", its 2nd FAQ entry "faq.entries[9]"
    from skills.commands.skill import CommandsSkill

    text = (
        '[[skills.commands.entries]]\nname = "discord"\nresponse = "x"\n'
        '[[skills.commands.entries]]\nname = "lurk"\nresponse = "y"\n'
        '[[channels]]\nplatform = "twitch"\nname = "mine"\n'
        '[[channels.skills.commands.entries]]\nname = "so"\nresponse = "z"\n'
        '[[channels.skills.commands.entries]]\nname = "merch"\nresponse = "m"\ncooldown_user_s = -5\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), skill_classes={"commands": CommandsSkill})
    assert "channels[0].skills.commands.entries[1].cooldown_user_s" in str(info.value), str(info.value)


def test_every_problem_names_the_line_of_its_key(tmp_path: Path) -> None:
    # regression (trial 5, F2): problems named the file and key path but no line ("channels[3]" meant
    # counting [[channels]] tables by hand); a missing key or a whole-table problem names its table's header
    from skills.commands.skill import CommandsSkill

    text = (
        '[bot]\n'                                                  # 1
        'name = """a\n[fake]\nprefx = 1\n"""\n'                    # 2-5: a multi-line string hides nothing
        'log_level = "loud"\n'                                     # 6
        '[[skills.commands.entries]]\nname = "a"\nresponse = "x"\n'  # 7-9
        '[[channels]]\nplatform = "twitch"\nname = "one"\n'        # 10-12
        '[[channels]]\nplatform = "twitch"\n'                      # 13-14: name missing
        '[channels.skills.faq]\n'                                  # 15
        'threshold = [\n  0.5,\n]\n'                               # 16-18: a multi-line array
        '[[channels.skills.commands.entries]]\nname = "b"\nresponse = "y"\n'    # 19-21
        '[[channels.skills.commands.entries]]\nname = "c"\nresponse = "z"\ncooldown_user_s = -5\n'  # 22-25
        '"quoted key" = 1\n'                                       # 26: in the entry above
    )
    assert problems_with(tmp_path, text, {"faq": FakeFaq, "commands": CommandsSkill}) == [
        'config.toml: line 6: bot.log_level: expected one of "debug", "info", "warning", "error", got "loud"',
        "config.toml: line 13: channels[1].name: missing required key",
        "config.toml: line 16: channels[1].skills.faq.threshold: expected a number between 0 and 1, got a "
        "list of 1 item",
        # the channel's own 2nd command: its index and line in the file, not in the merged list
        "config.toml: line 25: channels[1].skills.commands.entries[1].cooldown_user_s: expected a number "
        "between 0 and 86400, got -5",
        'config.toml: line 26: channels[1].skills.commands.entries[1]."quoted key": unknown key; expected '
        "one of: aliases, cooldown_channel_s, cooldown_user_s, name, permission, response",
    ]


def problems_with(tmp_path: Path, text: str, skills: dict[str, type]) -> list[str]:
    """``problems`` with other skill classes."""
    with pytest.raises(ConfigError) as info, contextlib.chdir(tmp_path):
        load_config(write(tmp_path, text).name, skill_classes=skills)
    return info.value.problems


def test_all_problems_of_a_file_are_reported_together(tmp_path: Path) -> None:
    # regressions (trial 5, F1): a platform typo hid the channel's skill-override errors; an unknown key in
    # an entry hid that it duplicates another; another [bot] error hid staff < viewer budget
    text = (
        '[bot]\nprefx = "!"\nviewer_commands_per_30s = 10\nstaff_commands_per_30s = 2\n'   # 1-4
        '[[channels]]\nplatform = "twich"\nname = "a"\n'                                     # 5-7
        '[channels.skills.faq]\nthreshhold = 0.5\n[channels.skills.gaem]\nenabled = false\n'  # 8-11
        '[[channels]]\nplatform = "twitch"\nname = "b"\n'                                    # 12-14
        '[[channels]]\nplatform = "twitch"\nname = "B"\n[channels.nonsense]\nx = 1\n'        # 15-19
    )
    assert problems(tmp_path, text) == [
        "config.toml: line 1: bot: staff_commands_per_30s (2) is below viewer_commands_per_30s (10): "
        "moderators would get fewer commands than viewers",
        'config.toml: line 2: bot.prefx: unknown key; did you mean "prefix"?',
        'config.toml: line 6: channels[0].platform: expected one of "twitch", "discord", "console", '
        '"replay", got "twich"; did you mean "twitch"?',
        'config.toml: line 9: channels[0].skills.faq.threshhold: unknown key; did you mean "threshold"?',
        'config.toml: line 10: channels[0].skills.gaem: unknown skill; did you mean "game"?',
        "config.toml: line 15: channels[2]: channel twitch/B is already configured as channels[1]",
        "config.toml: line 18: channels[2].nonsense: unknown key; expected one of: name, platform, prefix, "
        "skills",
    ]


def test_a_check_across_keys_waits_for_the_values_it_compares(tmp_path: Path) -> None:
    # with viewer_commands_per_30s invalid, its default (4) must not be compared with staff = 2
    text = '[bot]\nviewer_commands_per_30s = "ten"\nstaff_commands_per_30s = 2\n'
    assert problems(tmp_path, text) == [
        'config.toml: line 2: bot.viewer_commands_per_30s: expected an integer between 0 and 1000, got "ten"'
    ]


def test_a_secret_pasted_into_the_config_says_where_secrets_go_and_never_shows_it(tmp_path: Path) -> None:
    # regression (trial 5, F3): "[bot] twitch_token" got "unknown key; expected one of: backlog, ..." and a
    # streamer would try the next key name
    text = (
        'twitch_token = "oauth:TOPSECRET1"\n[bot]\ntwitch_token = "oauth:TOPSECRET2"\n'
        '[twitch]\ntoken = "TOPSECRET3"\nclient_secret = "TOPSECRET4"\n[discord]\ntoken = "TOPSECRET5"\n'
        '[skills.faq]\napi_password = "TOPSECRET6"\n'
    )
    found = problems(tmp_path, text)
    hint = "unknown key: secrets never go in the config file; set the environment variable {} or put {} in " \
           "the secrets file (chmod 600; see docs/core.md, Secrets)"
    assert found == [
        "config.toml: line 1: twitch_token: " + hint.format("CHATCAST_TWITCH_TOKEN", "twitch_token"),
        "config.toml: line 3: bot.twitch_token: " + hint.format("CHATCAST_TWITCH_TOKEN", "twitch_token"),
        "config.toml: line 5: twitch.token: " + hint.format("CHATCAST_TWITCH_TOKEN", "twitch_token"),
        "config.toml: line 6: twitch.client_secret: "
        + hint.format("CHATCAST_TWITCH_CLIENT_SECRET", "twitch_client_secret"),
        "config.toml: line 8: discord.token: " + hint.format("CHATCAST_DISCORD_TOKEN", "discord_token"),
        "config.toml: line 10: skills.faq.api_password: unknown key: secrets never go in the config file; "
        "set an environment variable (CHATCAST_TWITCH_TOKEN or CHATCAST_DISCORD_TOKEN) or put its key "
        "(twitch_token or discord_token) in the secrets file (chmod 600; see docs/core.md, Secrets)",
    ]
    assert "TOPSECRET" not in "\n".join(found)


def test_a_config_without_its_text_still_validates_without_lines() -> None:
    from bot.config import validate_config

    with pytest.raises(ConfigError) as info:
        validate_config({"bot": {"prefx": "!"}}, label="c.toml", path=None, skill_classes=SKILLS)
    assert info.value.problems == ['c.toml: bot.prefx: unknown key; did you mean "prefix"?']


def test_channel_names_the_platform_cannot_join_are_errors(tmp_path: Path) -> None:
    # regression (trial 5, F16): "general" for Discord and "#My Channel!" for Twitch passed config check,
    # and the bot started and never joined them
    text = (
        '[[channels]]\nplatform = "discord"\nname = "general"\n'       # 1-3
        '[[channels]]\nplatform = "twitch"\nname = "#My Channel!"\n'   # 4-6
        '[[channels]]\nplatform = "twitch"\nname = "#Mossy_Dev"\n'     # 7-9: the # is dropped
        '[[channels]]\nplatform = "discord"\nname = "123/456"\n'       # 10-12
        '[[channels]]\nplatform = "discord"\nname = "１２３/４５６"\n'   # 13-15: full-width digits (trial 7)
    )
    assert problems_with(tmp_path, text, {}) == [
        'config.toml: line 3: channels[0].name: a Discord channel is named <server id>/<channel id> (two '
        'numbers; copy them with Developer Mode, see docs/discord.md), got "general"',
        'config.toml: line 6: channels[1].name: a Twitch channel is named by its login as in '
        'twitch.tv/<login> (letters, digits and _, at most 25), got "#My Channel!"',
        'config.toml: line 15: channels[4].name: a Discord channel is named <server id>/<channel id> (two '
        'numbers; copy them with Developer Mode, see docs/discord.md), got "１２３/４５６"',
    ]
    text = text.replace("general", "1/2").replace("#My Channel!", "b").replace("１２３/４５６", "7/8")
    config = load_config(write(tmp_path, text), skill_classes={})
    assert [c.name for c in config.channels] == ["1/2", "b", "Mossy_Dev", "123/456", "7/8"]


def test_single_brackets_for_a_list_and_a_typo_in_a_choice_get_a_hint(tmp_path: Path) -> None:
    # regressions (trial 6): "[skills.recommend.catalog]" said only "expected a list, got a table"; a
    # platform "twich" got no did-you-mean (keys do)
    from skills.recommend.skill import RecommendSkill

    text = '[skills.recommend.catalog]\nid = "x"\ntitle = "X"\n[[channels]]\nplatform = "twich"\nname = "a"\n'
    assert problems_with(tmp_path, text, {"recommend": RecommendSkill}) == [
        "config.toml: line 1: skills.recommend.catalog: expected a list, got a table (write each entry under "
        "[[skills.recommend.catalog]], with double brackets)",
        'config.toml: line 5: channels[0].platform: expected one of "twitch", "discord", "console", '
        '"replay", got "twich"; did you mean "twitch"?',
    ]


def test_a_twitch_channel_written_with_a_hash_keeps_its_overrides_and_is_a_duplicate(tmp_path: Path) -> None:
    # regression (trial 7): name = "#mychan" stored its [channels.skills.*] under "#mychan" while the bot
    # asks for "mychan": faq and game stayed on; "mychan" next to "#MYCHAN" was no duplicate
    from skills.faq.skill import FaqSkill

    text = '[[channels]]\nplatform = "twitch"\nname = "#mychan"\n[channels.skills.faq]\nenabled = false\n'
    config = load_config(write(tmp_path, text), skill_classes={"faq": FaqSkill})
    assert not config.enabled_for("faq", "twitch", "mychan")
    text += '[[channels]]\nplatform = "twitch"\nname = "#MYCHAN"\n'
    assert problems_with(tmp_path, text, {"faq": FaqSkill}) == [
        "config.toml: line 6: channels[1]: channel twitch/MYCHAN is already configured as channels[0]"]


def test_inf_and_nan_are_no_numbers_for_the_settings(tmp_path: Path) -> None:
    # regression (trial 7): "l2 = inf" passed config check and the recommender divided by it (NaN scores)
    from skills.recommend.skill import RecommendSkill

    text = "[skills.recommend]\nl2 = inf\nlike_weight = nan\n[bot]\ntime_budget_s = inf\n"
    assert problems_with(tmp_path, text, {"recommend": RecommendSkill}) == [
        "config.toml: line 2: skills.recommend.l2: expected a number > 0, got inf",
        "config.toml: line 3: skills.recommend.like_weight: expected a number >= 0, got nan",
        "config.toml: line 5: bot.time_budget_s: expected a number > 0 and <= 600, got inf",
    ]


def test_an_empty_path_is_an_error_not_the_config_folder(tmp_path: Path) -> None:
    # regression (trial 7): secrets_file = "" became "." and was reported as ".: is a folder"
    assert problems_with(tmp_path, '[bot]\nsecrets_file = ""\ndata_dir = " "\n', {}) == [
        "config.toml: line 2: bot.secrets_file: an empty path: name a file or folder, or leave the key out",
        "config.toml: line 3: bot.data_dir: an empty path: name a file or folder, or leave the key out",
    ]


def test_a_token_pasted_as_a_value_is_an_error_and_never_shown(tmp_path: Path) -> None:
    # regression (trial 9, F9): name = "oauth:..." was accepted and a token in log_level was echoed back
    twitch = "oauth:abcdef0123456789abcdef012345"
    discord = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.abcdefghijklmnopqrstuvwxyz0123"
    joins = "oauth:opensecret42opensecret42abcdef"
    text = f'[bot]\nname = "{twitch}"\nlog_level = "{discord}"\n[twitch]\nopen_joins = "{joins}"\n'
    found = problems(tmp_path, text)
    hint = ("a value that looks like a token (not shown): secrets never go in the config file; set an "
            "environment variable (CHATCAST_TWITCH_TOKEN or CHATCAST_DISCORD_TOKEN) or put it in the secrets "
            "file (chmod 600; see docs/core.md, Secrets)")  # the "not a token?" hint is for bare 30-char ones
    assert found == [
        f"config.toml: line 2: bot.name: {hint}",
        'config.toml: line 3: bot.log_level: expected one of "debug", "info", "warning", "error", got a '
        "value that looks like a token (not shown)",
        f"config.toml: line 3: bot.log_level: {hint}",
        "config.toml: line 5: twitch.open_joins: expected true or false, got a value that looks like a token "
        "(not shown)",
        f"config.toml: line 5: twitch.open_joins: {hint}",
    ]
    assert not any(secret in line for line in found for secret in (twitch, discord, "opensecret42"))
    bare = problems(tmp_path, '[bot]\nname = "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7"\n')
    assert bare[0].endswith("; not a token? a whole value of 30 or 45-55 lower-case letters and digits reads "
                            "as one")
    # trial 14: a Twitch refresh token (Twitch's example: 49 lower-case letters and digits) was accepted
    refresh = "gdw3k62zpqi0kw01escg7zgbdhtxi6hm0155tiwcztxczkx17"
    found = problems(tmp_path, f'[bot]\nname = "{refresh}"\n')
    assert found[0].startswith("config.toml: line 2: bot.name: a value that looks like a token (not shown)")
    assert not any(refresh in line for line in found)
    sha1 = "4e1243bd22c66e76c2ba9eddc1f91394e57f9f83"  # a model revision: no token
    assert load_config(write(tmp_path, f'[bot]\nname = "{sha1}"\n'), skill_classes={}).bot.name == sha1
    # ordinary values are not taken for tokens (trial 11: "See oauth:tutorial" was)
    assert load_config(write(tmp_path, '[bot]\nname = "chatcast_bot_2024"\n'), skill_classes={}).bot.name
    assert load_config(write(tmp_path, '[bot]\nname = "See oauth:tutorial"\n'), skill_classes={}).bot.name


def test_no_config_error_repeats_a_token_whichever_check_wrote_it(tmp_path: Path) -> None:
    # regression (trial 10, F6/F7): validators of their own quoted the value ("a command name is 1-25 letters
    # ... (got '<token>')", "unknown role '<token>'", a key path), and a token inside a command response or
    # FAQ answer, text the bot posts to chat, passed
    token = "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7"
    discord = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.abcdefghijklmnopqrstuvwxyz0123"
    text = (f'[[skills.commands.entries]]\nname = "{token}"\nresponse = "hi"\npermission = "{token}"\n'
            f'[[skills.commands.entries]]\nname = "lurk"\nresponse = "{{user}} lurks {discord}"\n'
            f'[skills."oauth:{token}"]\n')
    from skills.commands.skill import CommandsSkill

    found = problems_with(tmp_path, text, {"commands": CommandsSkill})
    assert found and not any(token in line or discord in line or discord[:30] in line for line in found)
    # a token pasted as [bot] secrets_file was no error (the key reads as a secret's name) and was printed
    # as "error: <token>: secrets file named by [bot] secrets_file ... does not exist"
    assert problems(tmp_path, f'[bot]\nsecrets_file = "{token}"\n')[0].startswith(
        "config.toml: line 2: bot.secrets_file: a value that looks like a token (not shown)")
    assert any("entries[1].response: a value that looks like a token (not shown)" in line for line in found)


def test_a_channel_entry_replaces_the_global_one_of_the_same_name_or_id_in_another_case(
    tmp_path: Path,
) -> None:
    # trial 26, F2: "HUG" in a channel was a duplicate of the global "hug" instead of replacing it
    from skills.commands.skill import CommandsSkill
    from skills.recommend.skill import RecommendSkill

    text = ('[[skills.commands.entries]]\nname = "hug"\nresponse = "global"\n'
            '[[skills.recommend.catalog]]\nid = "v1"\ntitle = "Global"\n'
            '[[channels]]\nplatform = "twitch"\nname = "a"\n'
            '[[channels.skills.commands.entries]]\nname = "HUG"\nresponse = "ours"\n'
            '[[channels.skills.recommend.catalog]]\nid = "V1"\ntitle = "Ours"\n')
    with contextlib.chdir(tmp_path):
        cfg = load_config(write(tmp_path, text).name,
                          skill_classes={"commands": CommandsSkill, "recommend": RecommendSkill})
    assert [e.response for e in cfg.settings_for("commands", "twitch", "a").entries] == ["ours"]
    assert [e.title for e in cfg.settings_for("recommend", "twitch", "a").catalog] == ["Ours"]
