"""Surgical edits of vitnotes' own frontmatter keys; every other frontmatter byte stays as it was.

Values are compared, not bytes: when Obsidian's property editor, the Linter plugin or Obsidian Sync
re-serialised the block in their own style (quotes, key order, flow or block lists, comments
dropped), the parsed values still match and nothing is written, so there is no tug of war with
them and no `watch` loop. When a value does differ, only that key's line changes (its trailing
comment kept); missing keys are appended at the end of the block; owned keys that no longer apply
are removed. The result is parsed again and must hold exactly the old values of every other key:
a frontmatter vitnotes cannot edit line by line (a flow-style mapping, say) is left alone, and the
caller says so. A YAML emitter (ruamel.yaml round-trip included) would re-indent and re-quote the
user's keys; that is why this edits lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from vitnotes.obsidian import yaml_bounded
from vitnotes.obsidian.regions import Line, frontmatter_end, join_lines, split_lines


def yaml_scalar(value: str) -> str:
    """``value`` as it must be typed after ``key: `` in YAML: plain when that is safe, else quoted
    (a name with ": " or " #" would otherwise break the frontmatter or be cut by a comment)."""
    return yaml.safe_dump({"k": value}, allow_unicode=True, width=1 << 16)[3:].rstrip("\n")


def yaml_value(value: Any) -> str:
    """A number or string as one YAML scalar. Floats never use exponent notation: PyYAML (YAML 1.1)
    reads ``1e-05`` as a string."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a property value: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.20f}".rstrip("0")
            text = text + "0" if text.endswith(".") else text
        return text
    return yaml_scalar(str(value))


def same_value(a: Any, b: Any) -> bool:
    """Equal as property values: 224 and 224.0 are the same number, True is not 1, "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


@dataclass
class PropertyEdit:
    text: str
    changed: bool = False
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: str = ""  # why the properties were not written ("" when they were, or needed nothing)


_KEY = re.compile(r"""^(?P<key>(?P<q>["']?)(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]*)(?P=q))[ \t]*:(?=[ \t]|$)"""
                  r"(?P<rest>.*)$")


def _key_at(content: str) -> tuple[str, str, str] | None:
    """(name, key as written, text after the colon) for a top-level ``key:`` line, else None."""
    m = _KEY.match(content)
    return (m.group("name"), m.group("key"), m.group("rest")) if m else None


def _extent(lines: list[Line], i: int, end: int) -> int:
    """Index after the value that starts on line ``i``: indented lines and ``- `` items that follow."""
    last, j = i, i + 1
    while j < end:
        content = lines[j].content
        if content.strip(" \t") == "":
            j += 1
            continue
        item = content.startswith("-") and content[:3] != "---" and content[1:2] in ("", " ", "\t")
        if content[0] in " \t" or item:
            last = j
            j += 1
            continue
        break
    return last + 1


def _trailing_comment(rest: str) -> str:
    """The `` # comment`` ending a one-line value (kept when the value changes), or ""."""
    try:
        whole = yaml.safe_load("k:" + rest)
    except yaml.YAMLError:
        return ""
    for m in re.finditer(r"[ \t]+#", rest):
        try:
            if yaml.safe_load("k:" + rest[: m.start()]) == whole:
                return rest[m.start():]
        except yaml.YAMLError:
            continue
    return ""


def _parse(lines: list[Line], end: int) -> Any:
    """The block's data, with the bounds every vault YAML is read with (yaml_bounded); None if refused."""
    try:
        return yaml_bounded.load("\n".join(ln.content for ln in lines[1:end])) or {}
    except yaml.YAMLError:
        return None


def set_properties(text: str, values: Mapping[str, Any], owned: Iterable[str], newline: str = "\n") -> PropertyEdit:
    """``text`` with the ``owned`` keys of its frontmatter set to ``values`` (owned keys absent from
    ``values`` removed). Unchanged text when every value already matches. Without a frontmatter a
    block holding only ``values`` is put on top."""
    owned = set(owned) | set(values)
    lines = split_lines(text)
    end = frontmatter_end(lines)
    if end < 0:
        return _new_block(text, lines, values, newline)
    old = _parse(lines, end)
    if not isinstance(old, dict):
        return PropertyEdit(text, skipped="the frontmatter is not YAML key: value pairs")
    wanted = {k: v for k, v in values.items()}
    current = {k: old[k] for k in owned if k in old}
    if current.keys() == wanted.keys() and all(same_value(current[k], wanted[k]) for k in wanted):
        return PropertyEdit(text)
    edit = PropertyEdit(text)
    new_lines = _edit_lines(lines, end, wanted, owned, current, newline, edit)
    new_end = frontmatter_end(new_lines)
    after = _parse(new_lines, new_end) if new_end > 0 else None
    if not _holds(after, old, wanted, owned):
        return PropertyEdit(text, skipped="vitnotes cannot edit this frontmatter line by line "
                                          "(write it as one `key: value` per line to get properties)")
    edit.text = join_lines(new_lines)
    edit.changed = edit.text != text
    return edit


def _edit_lines(lines: list[Line], end: int, wanted: Mapping[str, Any], owned: set[str],
                current: Mapping[str, Any], newline: str, edit: PropertyEdit) -> list[Line]:
    out = list(lines[:1])
    seen: set[str] = set()
    i = 1
    while i < end:
        found = _key_at(lines[i].content)
        if found is None or found[0] not in owned:
            out.append(lines[i])
            i += 1
            continue
        name, key, rest = found
        stop = _extent(lines, i, end)
        if name in wanted and name not in seen:
            if name in current and same_value(current[name], wanted[name]):
                out.extend(lines[i:stop])
            else:
                comment = _trailing_comment(rest) if stop == i + 1 else ""
                out.append(Line(f"{key}: {yaml_value(wanted[name])}{comment}", lines[i].eol))
                edit.updated.append(name)
            seen.add(name)
        elif name not in wanted:
            edit.removed.append(name)
        # a second copy of a key (YAML keeps the last one) goes: one key, one value
        i = stop
    for name, value in wanted.items():
        if name not in seen:
            out.append(Line(f"{name}: {yaml_value(value)}", newline))
            edit.added.append(name)
    out.extend(lines[end:])
    return out


def _holds(after: Any, old: Mapping[str, Any], wanted: Mapping[str, Any], owned: set[str]) -> bool:
    """The edited block parses, keeps every other key's value and holds exactly the wanted ones."""
    if not isinstance(after, dict):
        return False
    rest_old = {k: v for k, v in old.items() if k not in owned}
    rest_new = {k: v for k, v in after.items() if k not in owned}
    mine = {k: after[k] for k in owned if k in after}
    return (rest_old == rest_new and list(rest_old) == list(rest_new) and mine.keys() == wanted.keys()
            and all(same_value(mine[k], wanted[k]) for k in wanted))


def _new_block(text: str, lines: list[Line], values: Mapping[str, Any], newline: str) -> PropertyEdit:
    if not values:
        return PropertyEdit(text)
    if lines and lines[0].content.rstrip(" \t") == "---":
        # an unclosed (or region-cut) block: Obsidian might read a later "---" as its end
        return PropertyEdit(text, skipped="the note starts with '---' but its frontmatter is never closed")
    block = ["---", *(f"{k}: {yaml_value(v)}" for k, v in values.items()), "---"]
    new = "".join(row + newline for row in block) + text
    return PropertyEdit(new, changed=True, added=list(values))
