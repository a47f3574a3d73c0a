"""Where a new region goes on the first fill: right under the template line that asks for it.

An anchor is a substring (or ``re:<regex>``) matched against note lines outside code, frontmatter
and regions; headings and list items win over other lines (the ViT template mentions
``模型结构图`` in a tip before the real checklist item). Inside a list item the region is indented
to belong to the item and goes after everything the user already wrote under it (continuation
lines, lazy lines, nested lists), so it never splits the user's text.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from vitnotes.errors import NoteError
from vitnotes.obsidian.regions import HEADING, Scan, is_blank, leading_ws, region_lines, width

_LIST = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$")
_ATX = re.compile(r"^[ \t]*#{1,6}(?:[ \t]|$)")
_HR = re.compile(r"^[ \t]*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_QUOTE = re.compile(r"^[ \t]*>")


def _heading_level(content: str) -> int:
    if not _ATX.match(content):
        return 0
    return len(content.lstrip(" \t")) - len(content.lstrip(" \t").lstrip("#"))


def _list_item(content: str) -> tuple[str, int] | None:
    """(indent, content column) of a list item line, or None."""
    if _HR.match(content):
        return None
    m = _LIST.match(content)
    if not m:
        return None
    indent, marker, gap = m.group(1), m.group(2), m.group(3)
    start = width(indent) + len(marker)
    after = width(gap, start)
    if not m.group(4) or after - start > 4:  # empty item, or indented code after the marker
        return indent, start + 1
    return indent, after


def _block_start(sc: Scan, i: int) -> bool:
    c = sc.lines[i].content
    return bool(
        sc.in_region[i] or sc.code[i] or _list_item(c) or _ATX.match(c) or _HR.match(c) or _QUOTE.match(c)
    )


def _matcher(pattern: str):
    if pattern.startswith("re:"):
        rx = re.compile(pattern[3:])
        return lambda s: rx.search(s) is not None
    return lambda s: pattern in s


def find_anchor(sc: Scan, patterns: Sequence[str]) -> int | None:
    """Index of the line for the first pattern that matches; headings and list items preferred."""
    for pattern in patterns:
        match = _matcher(pattern)
        hits = [i for i in range(len(sc.lines)) if sc.plain(i) and match(sc.lines[i].content)]
        if hits:
            structural = [i for i in hits if _heading_level(sc.lines[i].content) or _list_item(sc.lines[i].content)]
            return (structural or hits)[0]
    return None


def _region_end(sc: Scan, i: int) -> int:
    for r in sc.regions:
        if r.begin == i:
            return r.end
    return i


def _code_end(sc: Scan, i: int) -> int:
    while i + 1 < len(sc.lines) and sc.code[i + 1] and sc.open_after[i]:
        i += 1
    return i


def _after_item(sc: Scan, i: int) -> tuple[int, str]:
    """Insertion index after list item ``i`` and everything under it, and the indent to use."""
    lines = sc.lines
    indent, col = _list_item(lines[i].content)
    last, j, blank_before, para = i, i + 1, False, not is_blank(_list_item_text(lines[i].content))
    text_indent = nested_indent = None
    nested_col = 1 << 30
    while j < len(lines):
        c = lines[j].content
        if is_blank(c):
            blank_before, para, j = True, False, j + 1
            continue
        w = width(leading_ws(c))
        if w >= col:
            end = j
            if sc.in_region[j]:
                end, para = _region_end(sc, j), False
            elif sc.code[j]:
                end, para = _code_end(sc, j), False
            else:
                para = True
            ws, sub = leading_ws(c), _list_item(c)
            if sub and not sc.in_region[j] and w <= col + 3:
                nested_col = sub[1]  # lines indented this far belong to the nested item, not ours
                nested_indent = nested_indent if nested_indent is not None else ws
            elif not sub and w <= col + 3 and w < nested_col and text_indent is None:
                text_indent = ws
            last, blank_before, j = end, False, end + 1
            continue
        if blank_before or not para or _block_start(sc, j):
            break
        last, j = j, j + 1  # lazy continuation of the item's paragraph
    if text_indent is not None:
        use = text_indent
    elif nested_indent is not None:
        use = nested_indent
    elif "\t" in indent and col <= width(indent + "\t") <= col + 3:
        use = indent + "\t"
    else:
        use = indent + " " * (col - width(indent))
    return last + 1, use


def _list_item_text(content: str) -> str:
    m = _LIST.match(content)
    return m.group(4) if m else content


def insertion_point(sc: Scan, i: int) -> tuple[int, str]:
    """Where a region anchored at line ``i`` goes, and its indentation."""
    lines = sc.lines
    content = lines[i].content
    if _list_item(content):
        return _after_item(sc, i)
    j = i + 1
    if _heading_level(content):
        while j < len(lines) and sc.in_region[j]:  # after regions already under the heading
            j = _region_end(sc, j) + 1
        return j, leading_ws(content)
    quoted = bool(_QUOTE.match(content))
    while j < len(lines) and sc.plain(j) and not is_blank(lines[j].content) and (
        not _block_start(sc, j) or (quoted and _QUOTE.match(lines[j].content))
    ):
        j += 1  # never split a paragraph, a table, or a callout / quote (its "> " lines and lazy lines)
    return j, leading_ws(content)


def _check_not_in_code(sc: Scan, pos: int) -> None:
    if pos > 0 and sc.open_after[pos - 1]:
        start = pos - 1
        while start > 0 and sc.open_after[start - 1]:
            start -= 1
        raise NoteError(
            f"line {start + 1}: a code fence opened here is never closed, so vitnotes cannot add its sections after it",
            "close the code block (``` on its own line), then fill again",
        )


def is_vitnotes_heading(content: str) -> bool:
    """``## vitnotes`` (older notes) or ``## vitnotes: <what it holds>``."""
    text = content.strip(" \t")
    return text == HEADING or text.startswith(HEADING + ": ")


def heading_for(names: Sequence[str]) -> str:
    """The heading a new ``## vitnotes`` section gets: it names what goes under it."""
    from vitnotes.sections import is_section, get

    titles = [get(n).title or n if is_section(n) else n for n in names]
    return f"{HEADING}: {', '.join(titles)}" if titles else HEADING


def _vitnotes_section(sc: Scan, names: Sequence[str] = ()) -> tuple[int, list[str]]:
    """Insertion index at the end of the ``## vitnotes`` section, and the lines to put first."""
    lines = sc.lines
    for h in range(len(lines)):
        if sc.plain(h) and is_vitnotes_heading(lines[h].content):
            last, j = h, h + 1
            while j < len(lines):
                level = _heading_level(lines[j].content)
                if sc.plain(j) and level and level <= 2:
                    break
                if not is_blank(lines[j].content):
                    last = j
                j += 1
            return last + 1, []
    head = [""] if lines and not is_blank(lines[-1].content) else []
    return len(lines), head + [heading_for(names)]


def plan(
    sc: Scan, names: Sequence[str], sections: Mapping[str, str], anchors: Mapping[str, Sequence[str]]
) -> list[tuple[int, list[str], list[str]]]:
    """Insertions for sections that have no region yet: [(index, lines, names)], names in ``names`` order."""
    groups: dict[int, tuple[list[str], list[str]]] = {}
    leftovers: list[str] = []
    for name in names:
        line = find_anchor(sc, anchors.get(name) or ())
        if line is None:
            leftovers.append(name)
            continue
        pos, indent = insertion_point(sc, line)
        _check_not_in_code(sc, pos)
        rows, got = groups.setdefault(pos, ([], []))
        rows.extend(region_lines(name, sections[name], indent))
        got.append(name)
    if leftovers:
        pos, rows = _vitnotes_section(sc, leftovers)
        _check_not_in_code(sc, pos)
        for name in leftovers:
            rows += [""] + region_lines(name, sections[name], "")
        if pos in groups:  # an anchored group at the very end goes first
            groups[pos][0].extend(rows)
            groups[pos][1].extend(leftovers)
        else:
            groups[pos] = (rows, leftovers)
    return [(pos, rows, got) for pos, (rows, got) in groups.items()]
