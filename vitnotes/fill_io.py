"""How `vitnotes fill` talks to a program driving it (the Obsidian plugin) rather than to a person.

- Which notes: paths as arguments, one per line on stdin (`--stdin`: no command-line length limit,
  e.g. Windows' 32,767 characters or Linux's E2BIG), or `--vault DIR` (the watch daemon's own rules).
- `--progress json`: one JSON object per line on stderr — {"event": "start"|"progress"|"result", …}.
- `--print`: the merged note goes to stdout instead of into the file (see `cli.cmd_fill`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from vitnotes.errors import VitnotesError


def note_paths(args_notes: Iterable[str], stdin: TextIO | None, vault: str | None) -> list[str]:
    """The notes to fill, in order, each once: the arguments, then stdin's lines, then the vault's."""
    paths = list(args_notes)
    if stdin is not None:
        paths += [line.rstrip("\r\n") for line in stdin if line.strip()]
    if vault is not None:
        from vitnotes.watch.rules import opted_in_notes

        root = Path(vault).expanduser()
        if not root.is_dir():
            raise VitnotesError(f"--vault {vault}: not a folder", "give the vault's folder")
        paths += list(opted_in_notes(root))
    return list(dict.fromkeys(paths))


class JsonEvents:
    """JSON lines on a stream (stderr): what a note's fill is doing, then how it ended."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.note = ""

    def emit(self, event: str, **fields) -> None:
        self.stream.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
        self.stream.flush()

    def start(self, note: str, index: int, total: int) -> None:
        self.note = note
        self.emit("start", note=note, index=index, total=total)

    def progress(self, message: str) -> None:
        self.emit("progress", note=self.note, message=message)

    def result(self, result) -> None:  # a pipeline.FillResult
        self.emit("result", note=str(result.path), status=result.status, line=result.line(),
                  model=result.model, seconds=round(result.seconds, 3), stale=result.stale,
                  exit_code=result.exit_code)

