"""Where each key of a TOML file is written: key paths to line numbers, for config error messages.

``tomllib`` gives no positions, so ``key_lines`` scans the text itself. It runs only on text ``tomllib``
has already accepted (it is no validator), and knows just enough TOML to find keys:

- tables ``[a.b]`` and arrays of tables ``[[channels]]`` (the n-th is ``("channels", n)``), sub-tables
  of an array's last element (``[channels.skills.faq]`` -> ``("channels", 1, "skills", "faq")``), nested
  arrays of tables (``[[channels.skills.recommend.catalog]]``, counted per channel);
- dotted keys (``a.b = 1`` also defines ``a``), quoted keys (``"a b" = 1``, ``'c' = 2``);
- values it skips without looking for keys in them: strings (multi-line ones too), numbers, dates;
  arrays (over several lines, with comments) whose items are ``path + (i,)``, inline tables whose keys
  are ``path + (key,)``.

A path is a tuple of keys (``str``) and array indexes (``int``), the way ``bot.config`` names problems:
``channels[0].skills.faq.threshold`` is ``("channels", 0, "skills", "faq", "threshold")``.
"""

from __future__ import annotations

import bisect
import re
import tomllib

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")  # numbers, booleans, dates (a space may separate date and time)


class _Unexpected(ValueError):
    """The text is not what a valid TOML file holds here (``key_lines`` then gives up)."""


def key_lines(text: str) -> dict[KeyPath, int]:
    """Every key path of the TOML ``text`` mapped to the 1-based line where it is written.

    A key is found on its own line; a table (``[a.b]``, ``[[a]]``) on its header's line, or, when it has
    no header of its own (``a`` of ``[a.b]`` or of ``a.b = 1``), where it is first mentioned; an item of
    an inline array on the line where the item starts. Raises ``ValueError`` for text that is not valid
    TOML (check it with ``tomllib`` first)."""
    return _Scanner(text).scan()


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, else of its nearest enclosing table or key in the file (a missing key is
    reported at its table's header); ``None`` when not even the first key of ``path`` is in the file."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}  # array of tables -> how many elements so far
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self) -> int:
        return bisect.bisect_right(self.starts, self.pos)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def scan(self) -> dict[KeyPath, int]:
        current: KeyPath = ()
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return self.found
            line = self.line()
            if self.peek(2) == "[[":
                self.pos += 2
                keys = self.key()
                self.expect("]]")
                table = self.resolve(keys[:-1]) + (keys[-1],)
                index = self.arrays.get(table, 0)
                self.arrays[table] = index + 1
                current = table + (index,)
                self.note(current, line)
                self.found[current] = line
            elif self.peek() == "[":
                self.pos += 1
                keys = self.key()
                self.expect("]")
                current = self.resolve(keys)
                self.note(current, line)
                self.found[current] = line  # its own header wins over an earlier [a.b] that implied it
            else:
                self.pair(current)

    def resolve(self, keys: list[str]) -> KeyPath:
        """A header's keys as a path: an array of tables on the way means its last element."""
        path: KeyPath = ()
        for key in keys:
            path += (key,)
            if path in self.arrays:
                path += (self.arrays[path] - 1,)
        return path

    def note(self, path: KeyPath, line: int) -> None:
        """``path`` and every table above it are on ``line`` unless found earlier."""
        for end in range(1, len(path) + 1):
            self.found.setdefault(path[:end], line)

    def pair(self, table: KeyPath) -> None:
        """``key = value`` in ``table`` (a top-level line or an inline table's member)."""
        line = self.line()
        path = table + tuple(self.key())
        self.expect("=")
        self.note(path, line)
        self.value(path)

    def key(self) -> list[str]:
        keys = []
        while True:
            self.skip()
            keys.append(self.simple_key())
            self.skip()
            if self.peek() != ".":
                return keys
            self.pos += 1

    def simple_key(self) -> str:
        start = self.pos
        if self.peek() == '"':
            self.basic_string()
            return tomllib.loads("k = " + self.text[start : self.pos])["k"]  # its escapes, decoded
        if self.peek() == "'":
            self.literal_string()
            return self.text[start + 1 : self.pos - 1]
        match = _BARE_KEY.match(self.text, self.pos)
        if match is None:
            raise _Unexpected(f"no key at line {self.line()}")
        self.pos = match.end()
        return match.group()

    def expect(self, token: str) -> None:
        self.skip()
        if self.peek(len(token)) != token:
            raise _Unexpected(f"expected {token!r} at line {self.line()}")
        self.pos += len(token)

    def skip(self, *, newlines: bool = False) -> None:
        """Spaces and tabs, comments, and (``newlines``) line breaks."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def value(self, path: KeyPath) -> None:
        self.skip()
        ch = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline_string()
        elif ch == '"':
            self.basic_string()
        elif ch == "'":
            self.literal_string()
        elif ch == "[":
            self.array(path)
        elif ch == "{":
            self.inline_table(path)
        else:
            match = _SCALAR.match(self.text, self.pos)
            if match is None or not match.group().strip():
                raise _Unexpected(f"no value at line {self.line()}")
            self.pos = match.end()

    def array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                return
            item = path + (index,)
            self.found.setdefault(item, self.line())
            self.value(item)
            index += 1
            self.skip(newlines=True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise _Unexpected(f"expected ',' or ']' at line {self.line()}")

    def inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while True:
            self.skip(newlines=True)
            if self.peek() == "}":
                self.pos += 1
                return
            self.pair(path)
            self.skip(newlines=True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise _Unexpected(f"expected ',' or '}}' at line {self.line()}")

    def basic_string(self) -> None:
        text, i = self.text, self.pos + 1
        while i < len(text) and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        if i >= len(text):
            raise _Unexpected("unterminated string")
        self.pos = i + 1

    def literal_string(self) -> None:
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise _Unexpected("unterminated string")
        self.pos = end + 1

    def multiline_string(self) -> None:
        text, quotes = self.text, self.peek(3)
        i = self.pos + 3
        while i < len(text):
            if quotes == '"""' and text[i] == "\\":
                i += 2
            elif text.startswith(quotes, i):
                end = i + 3
                while end < len(text) and end - i < 5 and text[end] == quotes[0]:
                    end += 1  # up to two quotes right before the closing ones belong to the string
                self.pos = end
                return
            else:
                i += 1
        raise _Unexpected("unterminated multi-line string")
