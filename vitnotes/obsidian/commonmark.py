"""Which lines of a note Markdown renders as HTML comments: only there is a vitnotes marker a marker.

A marker inside fenced code, an indented code block (4 spaces or a tab, per CommonMark) or an
inline code span is shown to the reader as text: it is the user's example, not a region. Fences
are recognised by the region scanner itself; the indented cases depend on list nesting
(an indented line inside a list item is its continuation, not code — vitnotes itself puts regions
there) and on paragraph continuation, so they are left to markdown-it-py, a CommonMark parser,
rather than re-implemented here. It is asked only about notes with an indented marker line.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence


def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def comment_lines(lines: Sequence[str], frontmatter_end: int = -1) -> frozenset[int]:
    """0-based indexes of the lines holding an HTML comment as CommonMark renders it (block or inline)."""
    return _comment_lines(tuple(lines), frontmatter_end)


@lru_cache(maxsize=4)  # one fill scans the same text a few times
def _comment_lines(lines: tuple[str, ...], frontmatter_end: int) -> frozenset[int]:
    # markdown-it splits lines on \r, \r\n and \n; the note engine only on \n. Keep the counts equal,
    # and blank the frontmatter (YAML is not Markdown).
    rows = ["" if i <= frontmatter_end else ln.replace("\r", " ") for i, ln in enumerate(lines)]
    found: set[int] = set()
    for tok in _parser().parse("\n".join(rows)):
        if tok.map is None:
            continue
        if tok.type == "html_block":
            found.update(range(tok.map[0], tok.map[1]))
        elif tok.type == "inline":
            # A comment inside a paragraph (a continuation line): find its line by its text (a code
            # span's newlines are not counted by the parser, so counting line breaks would drift).
            comments = {c.content.strip() for c in tok.children or ()
                        if c.type == "html_inline" and c.content.startswith("<!--")}
            found.update(i for i in range(tok.map[0], tok.map[1]) if rows[i].strip() in comments)
    return frozenset(found)
