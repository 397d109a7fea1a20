"""Read the project's text files (tables, TOML, Antimony modules, .bnet) as UTF-8, with errors that name the file,
and find the line of a key in a TOML file for messages that point at it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

# cell values that stand in for documentation without being any (a unit, source or meaning of "NA" or "TODO")
PLACEHOLDERS = {"na", "n/a", "nan", "none", "null", "-", "--", "?", "??", "todo", "tbd", "tba", "unknown", "xxx"}


def read_utf8(path: Path, error: type[Exception], hint: str, prefix: str = "") -> str:
    """The text of a UTF-8 file; bytes that are not UTF-8 raise ``error`` naming the file, the byte and its offset,
    then ``hint`` (what the file should be)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {prefix}not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                    f"{hint}.") from None


def read_toml(path: Path, error: type[Exception], what: str) -> dict:
    """Read a TOML file with the standard library; a missing file or bad TOML raises ``error`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} '{path}' does not exist.")
    try:
        text = read_utf8(path, error, "TOML files are UTF-8", "not valid TOML: ")
    except OSError as exc:
        raise error(f"{what} '{path}' cannot be read: {exc.strerror or exc}.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}.") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise error(f"{path}: not valid TOML: arrays or inline tables nested too deeply.") from None


def toml_line(path: Path, section: str, key: str | None = None, value: str | None = None) -> int | None:
    """1-based line in a TOML file of ``[section]``, of its ``key = ...`` line, or of the line of that key's (possibly
    multi-line) array holding the string ``value``; the closest of these found, None when the section is not found (a
    message then names the file and key only)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    header = re.compile(r"^\s*\[\s*(?:" + re.escape(section) + r'|"' + re.escape(section) + r'")\s*\]')
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
    if start is None:
        return None
    found = start
    if key is not None:
        key_re = re.compile(r"^\s*(?:" + re.escape(key) + r'|"' + re.escape(key) + r'")\s*=')
        for i in range(start + 1, len(lines)):
            if re.match(r"^\s*\[", lines[i]):
                break
            if key_re.match(lines[i]):
                found = i
                break
        if value is not None and found != start:
            quoted = (f'"{value}"', f"'{value}'")
            for i in range(found, len(lines)):
                if i > found and (re.match(r"^\s*\[", lines[i]) or re.match(r"^\s*[\w\"-]+\s*=", lines[i])):
                    break
                if any(q in lines[i] for q in quoted):
                    found = i
                    break
    return found + 1
