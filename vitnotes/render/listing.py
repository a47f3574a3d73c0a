"""One code listing of the `code` section: a snippet's source with what this model did, 80 wide.

The Report holds the source verbatim (``CodeSnippet.source``, as ``inspect.getsource`` gave it);
here it is dedented and gets end-of-line comments: ``# B×197×2304`` (the output of that line's
``self.<layer>(…)`` call, recorded for the first block) and ``# ran`` / ``# not run`` on ``if`` and
``else`` lines.

Width (Obsidian's 700 px reading column holds about 80 characters of its code font): a one-line
statement that, with its comment, is wider than ``CODE_WIDTH`` is broken after an opening bracket
or after a comma inside brackets — Python's implicit line joining, so the meaning cannot change,
and the result is checked: if the wrapped snippet's AST differs from the original's in any way,
the snippet is shown unwrapped. What cannot be broken (a long string) is left to Obsidian, which
soft-wraps code-block lines in reading view and Live Preview by default.
"""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize
from typing import Any

from vitnotes.analysis.report import CodeBranch, CodeSnippet, ShapeNote

CODE_WIDTH = 80  # columns of Obsidian's monospace code font in a 700 px reading column


def permalink(s: CodeSnippet) -> str:
    """``{repo}/blob/{tag}/{path}#L{start}-L{end}``; "" when no tag of this version is known."""
    if not (s.repo and s.ref):
        return ""
    return f"{s.repo}/blob/{s.ref}/{s.path}#L{s.start}-L{s.end}"


def annotate(s: CodeSnippet, width: int = CODE_WIDTH) -> str:
    """The dedented source with end-of-line comments, wide one-line statements wrapped."""
    source = textwrap.dedent(s.source).rstrip("\n")
    lines = source.split("\n")
    try:
        statements, unsafe = _layout(source)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    notes: dict[int, list[str]] = {}
    for offset, text in _shape_comments(s.shapes).items():
        notes.setdefault(offset, []).append(text)
    for b in s.branches:
        notes.setdefault(b.offset, []).append(_branch_comment(b, taken=True))
        if b.else_offset is not None:
            notes.setdefault(b.else_offset, []).append(_branch_comment(b, taken=False))
    out = []
    for offset, line in enumerate(lines):
        comment = f"  # {'; '.join(notes[offset])}" if offset in notes and offset not in unsafe else ""
        breaks = statements.get(offset, [])
        out.extend(_wrap(line, breaks, comment, width) if len(line) + len(comment) > width else [line + comment])
    wrapped = "\n".join(out)
    return wrapped if _same_code(source, wrapped) else "\n".join(
        line + (f"  # {'; '.join(notes[i])}" if i in notes and i not in unsafe else "") for i, line in enumerate(lines))


def _layout(source: str) -> tuple[dict[int, list[tuple[int, bool]]], set[int]]:
    """Break columns of every one-line statement (after ``(``/``[``/``{``, after a comma inside
    brackets), and the lines a comment may not end (inside a string, a backslash continuation)."""
    statements: dict[int, list[tuple[int, bool]]] = {}
    unsafe: set[int] = set()
    row_tokens: list[tokenize.TokenInfo] = []
    commented = False
    string_types = {tokenize.STRING} | {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE")
                                        if hasattr(tokenize, n)}
    for tok in tokenize.generate_tokens(io.StringIO(source + "\n").readline):
        if tok.type in string_types and tok.end[0] > tok.start[0]:
            unsafe.update(range(tok.start[0] - 1, tok.end[0] - 1))
        if tok.type == tokenize.NEWLINE:
            first = row_tokens[0].start[0] if row_tokens else tok.start[0]
            if first == tok.start[0] and not commented:
                statements[first - 1] = _break_columns(row_tokens)
            row_tokens, commented = [], False
        elif tok.type == tokenize.COMMENT:
            commented = bool(row_tokens)  # a comment after code stays where its author put it
        elif tok.type not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            row_tokens.append(tok)
    for i, line in enumerate(source.split("\n")):
        if line.rstrip().endswith("\\"):
            unsafe.add(i)
    return statements, unsafe


def _break_columns(tokens: list[tokenize.TokenInfo]) -> list[tuple[int, bool]]:
    """(column, is a right-hand split) for each place a statement may break: after the opening
    bracket of an argument list, or after one of its commas — only in a list that closes the
    statement (``….permute(2, 0, 3, 1, 4)``) or the one outermost list (a ``def``'s parameters),
    so a break never lands in the middle of a sub-expression. A right-hand split opens the list
    that closes the statement."""
    pairs: list[list[Any]] = []  # [open index, close index, depth, direct commas]
    stack: list[list[Any]] = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.OP:
            continue
        if tok.string in "([{":
            stack.append([i, None, len(stack) + 1, []])
        elif tok.string in ")]}" and stack:
            pair = stack.pop()
            pair[1] = i
            pairs.append(pair)
        elif tok.string == "," and stack:
            stack[-1][3].append(i)
    if stack:
        return []

    def closes_statement(close: int) -> bool:
        return all(t.type == tokenize.OP and t.string in ")]}" for t in tokens[close + 1:])

    outer = [p for p in pairs if p[2] == 1]
    out: dict[int, bool] = {}
    for open_, close, depth, commas in pairs:
        tail = closes_statement(close)
        if not commas or not (tail or len(outer) == 1 and depth == 1):
            continue
        for i in [open_] + commas:
            if i + 1 < len(tokens) and tokens[i + 1].string not in ")]}":
                out[tokens[i].end[1]] = out.get(tokens[i].end[1], False) or (tail and i == open_)
    return sorted(out.items())


def _wrap(line: str, breaks: list[tuple[int, bool]], comment: str, width: int) -> list[str]:
    """A right-hand split when its two lines fit, else greedy: each piece as long as fits.
    Continuation lines are indented 8 past the statement, as timm's own signatures are."""
    pad = " " * (len(line) - len(line.lstrip()) + 8)
    rhs = [col for col, tail in breaks if tail and col <= width]
    if rhs and len(pad) + len(line[max(rhs):].lstrip()) + len(comment) <= width:
        return [line[:max(rhs)].rstrip(), pad + line[max(rhs):].lstrip() + comment]
    pieces: list[str] = []
    begin = 0
    cols = [col for col, _ in breaks]
    while True:
        lead = pad if pieces else ""
        if len(lead) + len(line[begin:].lstrip()) + len(comment) <= width:
            break
        room = width - len(lead)
        fits = [c for c in cols if begin < c and c - begin <= room]
        cut = max(fits) if fits else next((c for c in cols if c > begin), None)
        if cut is None:
            break
        pieces.append(lead + line[begin:cut].strip() if pieces else line[:cut].rstrip())
        begin = cut
    last = pad + line[begin:].lstrip() if pieces else line
    return pieces + [last + comment]


def _same_code(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except SyntaxError:
        return False


def _shape_comments(shapes: list[ShapeNote]) -> dict[int, str]:
    by_line: dict[int, list[ShapeNote]] = {}
    for n in shapes:
        by_line.setdefault(n.offset, []).append(n)
    out = {}
    for offset, group in by_line.items():
        if len({n.shape for n in group}) == 1:
            shape = group[0].shape
            whole = any(n.whole_value for n in group)
            out[offset] = shape if whole else f"{', '.join(n.child for n in group)} → {shape}"
        else:
            out[offset] = "; ".join(f"{n.child} → {n.shape}" for n in group)
    return out


def _branch_comment(b: CodeBranch, taken: bool) -> str:
    ran, skipped = (b.ran, b.skipped) if taken else (b.skipped, b.ran)
    if not skipped:
        text = "ran"
    elif not ran:
        text = "not run"
    else:
        text = f"ran in {len(ran)} of {len(ran) + len(skipped)}"
    if taken and b.attrs and (not ran or not skipped):
        text += " (" + ", ".join(f"{k} = {v}" for k, v in b.attrs) + ")"
    return text
