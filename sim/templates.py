"""The Antimony modules and templates of ``models/ode``: read them, and render a template per gene, miRNA or cargo row
with one :class:`sim.antimony_origins.Origin` per rendered line, so that an error in the assembled model names the
template's own file and line."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from sim.antimony_origins import IDENTIFIER, Origin
from sim.errors import ModelBuildError
from sim.textfiles import read_utf8


def read_module(path: Path, what: str) -> str:
    """The text of an Antimony module or template; a missing or non-UTF-8 file raises ModelBuildError naming it."""
    try:
        return read_utf8(path, ModelBuildError, "Antimony modules are UTF-8 text")
    except FileNotFoundError:
        raise ModelBuildError(f"{path}: the {what} file is missing.") from None


@dataclass(frozen=True)
class ModuleTemplate:
    """An Antimony template of models/ode/templates without its comment lines (the headers document, once)."""

    path: Path
    lines: tuple  # (line number in the file, text)

    def render(self, note: str = "", cells: dict | None = None, **values) -> tuple[str, list]:
        """Substitute ``values`` line by line; return (text, one :class:`Origin` per line).

        A value may be a block ``(text, origins)`` standing alone on its line (``$escape``); ``cells`` maps a
        placeholder to the table cell its value came from.
        """
        strings = {k: v for k, v in values.items() if isinstance(v, str)}
        out, origins = [], []
        for lineno, text in self.lines:
            alone = text.strip()
            block = values.get(alone[1:].strip("{}")) if alone.startswith("$") else None
            if isinstance(block, tuple):
                out.append(block[0])
                origins.extend(block[1])
                continue
            try:
                rendered = Template(text).substitute(strings)
            except KeyError as exc:
                raise ModelBuildError(f"{self.path}:{lineno}: unknown placeholder '${exc.args[0]}' — expected one of "
                                      f"{', '.join('$' + k for k in sorted(values))}.") from None
            except ValueError as exc:
                col = re.search(r"col (\d+)", str(exc))
                at = f" at column {col.group(1)}" if col else ""
                raise ModelBuildError(f"{self.path}:{lineno}: malformed placeholder{at} — expected $name or "
                                      f"${{name}} ($$ for a literal $).") from None
            used = tuple((frozenset(IDENTIFIER.findall(strings[k])), o) for k, o in (cells or {}).items()
                         if k in strings and re.search(r"\$(?:" + k + r"\b|\{" + k + r"\})", text))
            out.append(rendered)
            origins.extend([Origin(self.path, lineno, note, used)] * (rendered.count("\n") + 1))
        return "\n".join(out), origins


def load_template(root: Path, name: str) -> ModuleTemplate:
    """``models/ode/templates/<name>.ant`` under ``root`` (a catalogue's models folder)."""
    path = root / "ode" / "templates" / f"{name}.ant"
    lines = read_module(path, "template").splitlines()
    return ModuleTemplate(path, tuple((i, ln) for i, ln in enumerate(lines, 1) if not ln.lstrip().startswith("//")))
