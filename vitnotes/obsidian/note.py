"""A note as read from disk: exact bytes (to detect concurrent edits), text, frontmatter, regions."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from vitnotes.errors import NoteError
from vitnotes.obsidian import regions as _regions
from vitnotes.obsidian import yaml_bounded

BOM = b"\xef\xbb\xbf"


@dataclass
class Note:
    path: Path
    raw: bytes  # exactly what was read: write.write_note compares against it
    mtime_ns: int
    text: str  # decoded, without the BOM, line endings as in the file
    bom: bool
    newline: str  # "\n" or "\r\n"
    final_newline: bool
    frontmatter: dict[str, Any] | None = field(default=None)

    def encode(self, text: str) -> bytes:
        """Bytes for new text in this note's encoding (the BOM restored if it had one)."""
        return (BOM if self.bom else b"") + text.encode("utf-8")

    @cached_property
    def regions(self) -> list[_regions.Region]:
        return _regions.find_regions(self.text)



def decode(raw: bytes, path: Path | str) -> tuple[str, bool]:
    bom = raw.startswith(BOM)
    try:
        text = raw[len(BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise NoteError(
            f"{path}: not UTF-8 (invalid byte at line {line})",
            "notes must be UTF-8; re-save the file as UTF-8 (Obsidian always writes UTF-8)",
        ) from None
    return text, bom


def parse_frontmatter(text: str, path: Path | str) -> dict[str, Any] | None:
    """The leading ``---`` block, parsed safely and with bounds (``yaml_bounded``); None when there is none."""
    lines = _regions.split_lines(text)
    end = _regions.frontmatter_end(lines)
    if end < 0:
        return None
    block = "\n".join(ln.content for ln in lines[1:end])
    try:
        data = yaml_bounded.load(block)
    except yaml_bounded.YAMLBoundsError as exc:
        raise NoteError(f"{path}: frontmatter refused: {exc.problem}",
                        "simplify the YAML between the --- lines (vitnotes reads a few plain keys)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 2}" if mark is not None else "the frontmatter"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise NoteError(
            f"{path}: frontmatter YAML is broken at {where}: {problem}",
            "fix the YAML between the --- lines (Obsidian's Properties view shows the problem)",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NoteError(
            f"{path}: frontmatter must be YAML 'key: value' pairs, found {type(data).__name__}",
            "fix the block between the --- lines",
        )
    return data


def read_note(path: Path | str) -> Note:
    """Read and parse a note; NoteError (naming the file) when it is missing, not UTF-8 or has broken YAML."""
    path = Path(path)
    try:
        # O_NONBLOCK: a FIFO named *.md must not hang the read; only regular files are notes.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise NoteError(f"{path}: not a regular file", "vitnotes fills only ordinary .md files")
            raw = fh.read()
    except FileNotFoundError:
        raise NoteError(f"{path}: no such note", "check the path (quote it if it has spaces)") from None
    except IsADirectoryError:
        raise NoteError(f"{path}: is a folder, not a note", "give the path of a .md file") from None
    except OSError as exc:
        raise NoteError(f"{path}: cannot read: {exc.strerror}", "check the file's permissions") from None
    text, bom = decode(raw, path)
    return Note(
        path=path,
        raw=raw,
        mtime_ns=st.st_mtime_ns,
        text=text,
        bom=bom,
        newline=_regions.newline_style(text),
        final_newline=text.endswith("\n"),
        frontmatter=parse_frontmatter(text, path),
    )
