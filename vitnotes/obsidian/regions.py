"""Generated regions in a note: find them, hash them, and merge new section bodies in.

A region is delimited by two HTML comments (hidden in every Markdown renderer), and only where
Markdown renders them as comments: not in fenced or indented code, not in a code span
(``commonmark.comment_lines`` decides the indented cases)::

    <!-- vitnotes:begin shapes sha=1a2b3c4d -->

    ...generated Markdown...

    <!-- vitnotes:end shapes -->

The note is handled as a list of lines split on "\\n" only (a "\\r" before it is the CRLF
style, any other "\\r" is content), so every byte outside the regions survives: BOM, CRLF,
a missing final newline, tabs and trailing spaces. Markdown-it cannot do this: it
normalises whitespace and does not round-trip, so the few block rules we need
(fences, list items, headings) are recognised here by hand.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from vitnotes.errors import NoteError

HEADING = "## vitnotes"
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_BEGIN = re.compile(rf"^([ \t]*)<!--[ \t]*vitnotes:begin[ \t]+({_NAME})(?:[ \t]+sha=([0-9A-Fa-f]*))?[ \t]*-->[ \t]*$")
_END = re.compile(rf"^([ \t]*)<!--[ \t]*vitnotes:end[ \t]+({_NAME})[ \t]*-->[ \t]*$")
_MARKERISH = re.compile(r"^[ \t]*<!--[ \t]*vitnotes:")
_AFTER_MARKER = re.compile(r"-->[ \t]*\S")


def _malformed(i: int, content: str) -> NoteError:
    """A marker vitnotes cannot read; say what is wrong when it can tell."""
    if _AFTER_MARKER.search(content):
        return NoteError(f"line {i + 1}: text after a vitnotes marker on the same line",
                         "move that text to a line of its own, then fill again")
    return NoteError(f"line {i + 1}: malformed vitnotes marker", "delete it or restore it, then fill again")


_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")


# --------------------------------------------------------------------------- lines

@dataclass
class Line:
    content: str  # without the line ending ("\r" of a CRLF excluded)
    eol: str  # "\n", "\r\n" or "" (last line without a final newline)


def split_lines(text: str) -> list[Line]:
    """Split on "\\n" only; ``join_lines(split_lines(t)) == t`` for every string."""
    if not text:
        return []
    parts = text.split("\n")
    lines = []
    for part in parts[:-1]:
        if part.endswith("\r"):
            lines.append(Line(part[:-1], "\r\n"))
        else:
            lines.append(Line(part, "\n"))
    if parts[-1]:
        lines.append(Line(parts[-1], ""))
    return lines


def join_lines(lines: Sequence[Line]) -> str:
    return "".join(line.content + line.eol for line in lines)


def newline_style(text: str) -> str:
    """"\\r\\n" when most line endings are CRLF, else "\\n"."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def is_blank(s: str) -> bool:
    return not s.strip(" \t\r")


def leading_ws(s: str) -> str:
    return s[: len(s) - len(s.lstrip(" \t"))]


def width(s: str, start: int = 0) -> int:
    """Column reached after ``s`` starting at column ``start`` (tabs stop every 4, as CommonMark)."""
    col = start
    for ch in s:
        col = col + 4 - col % 4 if ch == "\t" else col + 1
    return col


# --------------------------------------------------------------------------- scanning

@dataclass(frozen=True)
class Region:
    name: str
    sha: str | None
    begin: int  # 0-based index of the begin-marker line
    end: int  # 0-based index of the end-marker line
    indent: str  # leading whitespace of the begin marker
    body: str  # lines between the markers, "\n"-joined, as in the file

    @property
    def edited(self) -> bool:
        """True when the body no longer matches the hash written with it (the user changed it)."""
        if not _normalise(self.body):
            return False  # an empty region is a placeholder the user put there: fill it
        return self.sha is None or self.sha.lower() != body_hash(self.body)


@dataclass
class Scan:
    lines: list[Line]
    regions: list[Region]
    code: list[bool]  # line is a fence line or inside a fenced code block (outside regions)
    open_after: list[bool]  # a fence is still open after this line
    in_region: list[bool]
    frontmatter_end: int  # index of the closing "---" line, -1 when there is no frontmatter

    def plain(self, i: int) -> bool:
        """A line that is ordinary note text: not frontmatter, code or a region."""
        return i > self.frontmatter_end and not self.code[i] and not self.in_region[i]


def frontmatter_end(lines: Sequence[Line]) -> int:
    """Index of the line closing a leading ``---`` YAML block, or -1 (Obsidian's rule: line 1 is ``---``)."""
    if not lines or lines[0].content.lstrip("\ufeff").rstrip(" \t") != "---":
        return -1
    for i in range(1, len(lines)):
        if lines[i].content.rstrip(" \t") in ("---", "..."):
            return i
        if _MARKERISH.match(lines[i].content):
            return -1  # a region is never frontmatter (a "---" in its body must not close an open one)
    return -1


def _fence_open(content: str) -> tuple[str, int] | None:
    m = _FENCE.match(content)
    if not m:
        return None
    run, info = m.group(1), m.group(2)
    if run[0] == "`" and "`" in info:
        return None  # inline code such as ```x``` is not a fence (CommonMark)
    return run[0], len(run)


def _fence_closes(content: str, char: str, n: int) -> bool:
    m = _FENCE.match(content)
    return bool(m) and m.group(1)[0] == char and len(m.group(1)) >= n and is_blank(m.group(2))


class _TextMarkers:
    """Is this marker-looking line shown as text (indented code, a code span) rather than a comment?

    Only a line indented 4 columns or more can be (a fence is the scanner's own business); for those
    CommonMark decides (list continuation vs code), asked once per scan."""

    def __init__(self, lines: Sequence[Line], frontmatter_end: int):
        self.lines, self.fm = lines, frontmatter_end
        self.comments: frozenset[int] | None = None

    def __call__(self, i: int) -> bool:
        if width(leading_ws(self.lines[i].content)) < 4:
            return False
        if self.comments is None:
            from vitnotes.obsidian.commonmark import comment_lines

            self.comments = comment_lines(self._opaque_regions(), self.fm)
        return i not in self.comments

    def _opaque_regions(self) -> list[str]:
        """The lines with every region's body blanked: generated text (a fence in it, say) must not
        change how CommonMark reads the user's lines after it, as it does not for the scanner."""
        rows, inside = [], False
        for ln in self.lines:
            if inside:
                inside = not _END.match(ln.content)
                rows.append(ln.content if not inside else "")
            else:
                inside = bool(_BEGIN.match(ln.content))
                rows.append(ln.content)
        return rows


_Open = tuple[str, "str | None", int, str]  # an open region: name, sha, begin line, indent


def scan(text_or_lines: str | list[Line]) -> Scan:
    """Find regions, fenced code and frontmatter. Markers inside code fences are ordinary text."""
    lines = split_lines(text_or_lines) if isinstance(text_or_lines, str) else text_or_lines
    n = len(lines)
    fm = frontmatter_end(lines)
    code, open_after, in_region = [False] * n, [False] * n, [False] * n
    regions: list[Region] = []
    seen: dict[str, int] = {}
    fence: tuple[str, int] | None = None
    current: _Open | None = None
    shown_as_text = _TextMarkers(lines, fm)
    for i in range(fm + 1, n):
        content = lines[i].content
        if fence is not None:
            code[i] = True
            if _fence_closes(content, *fence):
                fence = None
            open_after[i] = fence is not None
            continue
        if current is not None:
            in_region[i] = True
            closed = _closing(i, content, current, lines)
            if closed is not None:
                regions.append(closed)
                current = None
            continue
        if _MARKERISH.match(content) and shown_as_text(i):
            code[i] = True  # the user's example in an indented code block or a code span: plain text
            continue
        current = _opening(i, content, seen)
        if current is not None:
            in_region[i] = True
            continue
        opened = _fence_open(content)
        if opened:
            fence = opened
            code[i] = True
            open_after[i] = True
    if current is not None:
        raise NoteError(
            f"line {current[2] + 1}: the region '{current[0]}' is never closed "
            f"(no '<!-- vitnotes:end {current[0]} -->')",
            "restore the end marker or delete the begin marker, then fill again",
        )
    return Scan(lines, regions, code, open_after, in_region, fm)


def _closing(i: int, content: str, current: _Open, lines: Sequence[Line]) -> Region | None:
    """Line ``i`` inside the open region ``current``: the Region its end marker closes, or None.
    NoteError for any other marker there (a mismatched end, a nested begin, a malformed one)."""
    m = _END.match(content)
    if m:
        name, sha, begin, indent = current
        if m.group(2) != name:
            raise NoteError(
                f"line {i + 1}: 'vitnotes:end {m.group(2)}' closes the region "
                f"'{name}' opened at line {begin + 1}",
                "fix or delete the mismatched marker, then fill again",
            )
        body = "\n".join(ln.content for ln in lines[begin + 1 : i])
        return Region(name, sha, begin, i, indent, body)
    if _BEGIN.match(content):
        raise NoteError(
            f"line {i + 1}: a vitnotes region begins inside the region '{current[0]}' "
            f"opened at line {current[2] + 1} (regions cannot nest)",
            "delete the stray marker, then fill again",
        )
    if _MARKERISH.match(content):
        raise _malformed(i, content)
    return None


def _opening(i: int, content: str, seen: dict[str, int]) -> _Open | None:
    """Line ``i`` outside regions and code: the region its begin marker opens, or None.
    NoteError for a region seen before, an end without a begin, or a malformed marker."""
    m = _BEGIN.match(content)
    if m:
        name = m.group(2)
        if name in seen:
            raise NoteError(
                f"lines {seen[name] + 1} and {i + 1}: the region '{name}' appears twice",
                "delete one copy (markers and body), then fill again",
            )
        seen[name] = i
        return (name, m.group(3) or None, i, m.group(1))
    if _END.match(content):
        raise NoteError(
            f"line {i + 1}: 'vitnotes:end' without a matching begin marker",
            "delete the stray marker, then fill again",
        )
    if _MARKERISH.match(content):
        raise _malformed(i, content)
    return None


def find_regions(text: str) -> list[Region]:
    """All generated regions in document order; NoteError (with line numbers) on broken markers."""
    return scan(text).regions


def _normalise(body: str) -> str:
    """Region body without line-ending style, indentation, trailing spaces or surrounding blank lines."""
    rows = [row.strip(" \t\r") for row in body.replace("\r\n", "\n").split("\n")]
    while rows and not rows[0]:
        rows.pop(0)
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows)


def body_hash(body: str) -> str:
    """8 hex chars of sha256 over the normalised body: moving or re-indenting a region is not an edit."""
    return hashlib.sha256(_normalise(body).encode("utf-8")).hexdigest()[:8]


# --------------------------------------------------------------------------- merging

@dataclass
class MergeResult:
    text: str
    changed: bool
    updated: list[str] = field(default_factory=list)
    inserted: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def region_lines(name: str, body: str, indent: str) -> list[str]:
    """The lines of one region (no line endings). Blank lines carry no indentation."""
    rows = [row.rstrip("\r") for row in body.replace("\r\n", "\n").split("\n")]
    while rows and is_blank(rows[0]):
        rows.pop(0)
    while rows and is_blank(rows[-1]):
        rows.pop()
    for row in rows:
        if _MARKERISH.match(row):
            raise NoteError(
                f"the generated section '{name}' contains a vitnotes marker",
                "this is a bug in a section template; remove the marker from it",
            )
    # A comment line is a complete CommonMark HTML block (type 2 ends on the line holding `-->`) and may
    # interrupt a paragraph, so the body needs no blank line inside the markers; blank lines there would
    # only add two lines per region and loosen the user's list. A table keeps one on the side it touches
    # a marker, as Obsidian's own habit has tables set apart.
    table = [bool(rows) and rows[0].lstrip().startswith("|"), bool(rows) and rows[-1].lstrip().startswith("|")]
    out = [f"{indent}<!-- vitnotes:begin {name} sha={body_hash(body)} -->"] + ([""] if table[0] else [])
    out += [indent + row if not is_blank(row) else "" for row in rows]
    out += ([""] if table[1] else []) + [f"{indent}<!-- vitnotes:end {name} -->"]
    return out


_Op = tuple[int, int, int, list[str]]  # (position, kind, end, new lines); kind 1 replace, 0 insert


def _replacements(sections: Mapping[str, str], by_name: dict[str, Region], lines: list[Line],
                  result: MergeResult, force: bool) -> list[_Op]:
    """The regions already in the note: replaced, unchanged or (edited by the user) kept."""
    ops: list[_Op] = []
    for name, body in sections.items():
        region = by_name.get(name)
        if region is None:
            continue
        new = region_lines(name, body, region.indent)
        old = [ln.content for ln in lines[region.begin : region.end + 1]]
        if new == old:
            result.unchanged.append(name)
            continue
        current = body_hash(region.body)
        if region.edited and not force and current != body_hash(body):
            result.kept_edited.append(name)
            continue
        ops.append((region.begin, 1, region.end, new))
        result.updated.append(name)
    return ops


def _apply(lines: list[Line], ops: list[_Op], nl: str) -> None:
    """Splice the operations in, last first, so earlier positions stay valid."""
    for pos, kind, end, rows in sorted(ops, key=lambda op: (op[0], op[1]), reverse=True):
        if kind == 1:
            last_eol = lines[end].eol
            new_lines = [Line(row, nl) for row in rows]
            new_lines[-1].eol = last_eol
            lines[pos : end + 1] = new_lines
        else:
            new_lines = [Line(row, nl) for row in rows]
            if pos == len(lines) and lines and lines[-1].eol == "":
                # keep "no final newline": the new last line gets none. A last line ending in a lone
                # "\r" gets "\r\n", not "\n": "\r"+"\n" would turn the user's "\r" into a line ending.
                lines[-1].eol = "\r\n" if lines[-1].content.endswith("\r") else nl
                new_lines[-1].eol = ""
            lines[pos:pos] = new_lines


def merge(
    text: str,
    sections: Mapping[str, str],
    anchors: Mapping[str, Sequence[str]] | None = None,
    *,
    force: bool = False,
) -> MergeResult:
    """Put each generated section into the note: in place if its region exists, else at its anchor.

    Text outside regions is kept byte for byte; regions not named in ``sections`` are untouched;
    a region whose body the user edited is kept (``kept_edited``) unless ``force``.
    ``sections`` (the note's `sections:` list) is the source of truth: a region the user deleted
    is generated text, so it comes back at its anchor on the next fill (to drop a section for good,
    remove it from `sections:`; its region is then left as it is, never deleted by vitnotes).
    """
    from vitnotes.obsidian import placement

    for name in sections:
        if not re.fullmatch(_NAME, name):
            raise ValueError(f"invalid section name {name!r}")
    nl = newline_style(text)
    sc = scan(text)
    lines = sc.lines
    result = MergeResult(text, False)
    by_name = {r.name: r for r in sc.regions}

    ops = _replacements(sections, by_name, lines, result, force)
    missing = [name for name in sections if name not in by_name]
    if missing:
        for pos, rows, names in placement.plan(sc, missing, sections, anchors or {}):
            ops.append((pos, 0, pos, rows))
            result.inserted.extend(names)
    _apply(lines, ops, nl)

    result.text = join_lines(lines)
    result.changed = result.text != text
    # Names in sections order, so reports read the same on every run.
    order = list(sections)
    for seq in (result.updated, result.inserted):
        seq.sort(key=order.index)
    lost = _unrecognised(result.text, result.inserted)
    if lost:
        if anchors is not None and all(not anchors.get(n) for n in lost):
            raise NoteError(f"the sections {', '.join(lost)} cannot be placed where Markdown shows their markers "
                            "as comments", "close the code block at the end of the note, then fill again")
        # An anchor inside what CommonMark renders as code (an indented block, a fence the scanner
        # took for closed): put those sections under the `## vitnotes` heading at the end instead.
        return merge(text, sections, {**(anchors or {}), **{n: [] for n in lost}}, force=force)
    return result


def _unrecognised(text: str, inserted: Sequence[str]) -> list[str]:
    """Inserted sections whose region a fresh scan does not find (CommonMark put it in code)."""
    if not inserted:
        return []
    try:
        found = {r.name for r in scan(text).regions}
    except NoteError:
        found = set()
    return [n for n in inserted if n not in found]
