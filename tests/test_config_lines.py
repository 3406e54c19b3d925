"""``bot.config_lines``: the line of every key path of a TOML file (for config error messages)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config_lines import key_lines, line_of


def paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path and list index of parsed TOML, as ``key_lines`` names them."""
    out: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out.append((*path, key))
        out += paths(value, (*path, key))
    return out


def lines(text: str) -> dict[tuple[Any, ...], int]:
    found = key_lines(text)
    assert sorted(map(str, found)) == sorted(map(str, paths(tomllib.loads(text))))  # all keys, nothing else
    return found


def test_tables_keys_and_dotted_keys() -> None:
    text = '[bot]\nname = "x"\n\n[skills.faq]\nthreshold = 0.5\nalerts.to = "chat"\n'
    assert lines(text) == {
        ("bot",): 1, ("bot", "name"): 2,
        ("skills",): 4, ("skills", "faq"): 4, ("skills", "faq", "threshold"): 5,
        ("skills", "faq", "alerts"): 6, ("skills", "faq", "alerts", "to"): 6,
    }


def test_arrays_of_tables_count_per_parent_and_sub_tables_belong_to_the_last_element() -> None:
    text = (
        '[[channels]]\nplatform = "twitch"\n'                    # 1-2
        '[channels.skills.faq]\nthreshold = 0.5\n'               # 3-4
        '[[channels.skills.recommend.catalog]]\nid = "a"\n'      # 5-6
        '[[channels]]\nname = "b"\n'                             # 7-8
        '[[channels.skills.recommend.catalog]]\nid = "c"\n'      # 9-10
        '[[channels.skills.recommend.catalog]]\nid = "d"\n'      # 11-12
        '[[skills.recommend.catalog]]\nid = "e"\n'               # 13-14
    )
    found = lines(text)
    assert found[("channels",)] == 1 and found[("channels", 0)] == 1 and found[("channels", 1)] == 7
    assert found[("channels", 0, "skills", "faq", "threshold")] == 4
    assert found[("channels", 0, "skills", "recommend", "catalog", 0, "id")] == 6
    assert found[("channels", 1, "skills", "recommend", "catalog", 0, "id")] == 10  # counted per channel
    assert found[("channels", 1, "skills", "recommend", "catalog", 1)] == 11
    assert found[("skills", "recommend", "catalog", 0, "id")] == 14


def test_a_header_after_its_sub_table_gets_its_own_line() -> None:
    found = lines("[a.b]\nx = 1\n[a]\ny = 2\n")
    assert found[("a",)] == 3 and found[("a", "b")] == 1


def test_quoted_keys_with_dots_spaces_and_escapes() -> None:
    text = '"a.b" = 1\n\'lit key\' = 2\n"esc\\u0041" = 3\n[ "x y" . z ]\nk = 4\n'
    found = lines(text)
    assert found[("a.b",)] == 1 and found[("lit key",)] == 2 and found[("escA",)] == 3
    assert found[("x y", "z", "k")] == 5


def test_multi_line_strings_and_arrays_hide_nothing_and_fake_nothing() -> None:
    text = (
        'a = """\n[fake]\nb = 1\n"""\n'                 # 1-4: a table and a key inside a string
        "c = '''\nd = \"'\n'''\n"                       # 5-7
        'e = [\n  "one",  # comment ] , [x]\n  [2, 3],\n  { f = 1 },\n]\n'  # 8-12
        'g = """quotes at the end"""""\n'               # 13: two quotes belong to the string
        'h = "a \\" # not a comment"\n'                 # 14
        "i = 1979-05-27 07:32:00Z  # date\n"           # 15
        "[t]\nj = true\n"                               # 16-17
    )
    found = lines(text)
    assert found[("a",)] == 1 and found[("c",)] == 5 and found[("e",)] == 8
    assert (found[("e", 0)], found[("e", 1)], found[("e", 1, 1)], found[("e", 2, "f")]) == (9, 10, 10, 11)
    assert (found[("g",)], found[("h",)], found[("i",)], found[("t", "j")]) == (13, 14, 15, 17)


def test_inline_tables_and_crlf_line_ends() -> None:
    found = lines('x = { a = 1, b.c = [1, 2] }\r\n[y]\r\ny1 = 1\r\n')
    assert found[("x", "a")] == 1 and found[("x", "b", "c", 1)] == 1 and found[("y", "y1")] == 3


def test_line_of_falls_back_to_the_enclosing_table() -> None:
    found = key_lines('[bot]\nname = "x"\n[[channels]]\nplatform = "twitch"\n')
    assert line_of(found, ("channels", 0, "name")) == 3  # a missing key: its table's header
    assert line_of(found, ("bot", "name")) == 2
    assert line_of(found, ("skills", "faq")) is None and line_of(found, ()) is None


def test_every_toml_file_of_the_project_is_mapped() -> None:
    root = Path(__file__).resolve().parents[1]
    files = [root / "config.example.toml", root / "pyproject.toml"]
    for path in files:
        lines(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("text", ["a = ", "[a\nb = 1", 'a = "open'])
def test_text_tomllib_refuses_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        key_lines(text)
