"""What the daemon does with one note once it has been still for the quiet period, and at start-up.

The rule that makes the daemon loop-free: act only when the note's bytes hash differently from the
bytes vitnotes last settled for it (what it wrote, or what it read and left alone). Its own writes,
`touch`, a rename, a delete-and-recreate with the same text, and sync tools re-creating a file all
hash the same and cost one read. The fill function is a parameter (`fill(path) -> FillResult`),
so all of this is tested with a fake one.
"""

from __future__ import annotations

import errno
import os
import stat
import time
import traceback
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Callable, Optional

from vitnotes.watch.index import NoteIndex, content_hash
from vitnotes.watch.rules import VaultRules, opted_in

# A note rewritten this often is in a tug of war with another writer (a format-on-save plugin
# against `--force`, say): it is paused until it has been left alone for the window.
LOOP_WRITES, LOOP_WINDOW_S = 12, 60.0

Fill = Callable[[str], Any]  # returns a pipeline.FillResult (status, line(), written_bytes, exit_code)
Log = Callable[[str], None]


@dataclass
class Outcome:
    rel: str
    action: str  # filled | unchanged | refused | failed (from the fill) | same | ignored | gone | unreadable | paused
    exit_code: int = 0


def _read(path: str) -> tuple[bytes, os.stat_result]:
    """Bytes and the stat taken on the same open file (after reading, so the stat is never older).

    Opened non-blocking, and only a regular file is read: a FIFO named *.md must not hang the daemon."""
    with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)), "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", path)  # handled as "gone"
        data = fh.read()
        return data, os.fstat(fh.fileno())


class NoteProcessor:
    def __init__(self, rules: VaultRules, index: NoteIndex, fill: Fill, log: Log, debug: Optional[Log] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.rules = rules
        self.index = index
        self.fill = fill
        self.log = log
        self.debug = debug or (lambda msg: None)
        self.clock = clock
        self._writes: dict[str, deque] = defaultdict(deque)  # recent write times per note
        self._paused: set[str] = set()

    def process(self, path: str) -> Outcome:
        """Fill the note if it opted in and its content changed since vitnotes last settled it."""
        rel = self.rules.rel(path) or path
        try:
            data, st = _read(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self.index.forget(rel)
            self.debug(f"gone {rel}")
            return Outcome(rel, "gone")
        except OSError as exc:
            self.log(f"skipped {rel}: cannot read it ({exc.strerror or exc})")
            return Outcome(rel, "unreadable", 1)
        sha = content_hash(data)
        entry = self.index.get(rel)
        if entry is not None and entry.sha == sha:
            self.index.record(rel, sha, entry.opted, st)  # refreshes the stat for the next catch-up
            self.debug(f"same {rel} (no change since vitnotes last settled it)")
            return Outcome(rel, "same")
        if not opted_in(data):
            self.index.record(rel, sha, False, st)
            self.debug(f"ignored {rel} (not opted in)")
            return Outcome(rel, "ignored")
        if self._tug_of_war(rel):
            return Outcome(rel, "paused")
        return self._fill(path, rel, sha, st)

    def _tug_of_war(self, rel: str) -> bool:
        """True (and said once) while the note was written LOOP_WRITES times within LOOP_WINDOW_S."""
        times, now = self._writes[rel], self.clock()
        while times and times[0] < now - LOOP_WINDOW_S:
            times.popleft()
        if len(times) < LOOP_WRITES:
            self._paused.discard(rel)
            if not times:
                del self._writes[rel]
            return False
        if rel not in self._paused:
            self._paused.add(rel)
            self.log(f"paused {rel}: it changed again after each of {len(times)} fills in "
                     f"{LOOP_WINDOW_S:g} s (another tool rewriting it?); it resumes once left alone that long")
        return True

    def _fill(self, path: str, rel: str, sha: str, st: os.stat_result) -> Outcome:
        self.debug(f"filling {rel} …")
        try:
            result = self.fill(path)
        except Exception as exc:  # a bug in one note's fill never stops the daemon
            self.log(f"failed {rel}: internal error: {type(exc).__name__}: {exc}")
            self.debug(traceback.format_exc().rstrip())
            # Not recorded: nothing was written, so no event follows (no loop), and the note is
            # retried on its next save or at the next start (after an upgrade that fixes the bug).
            return Outcome(rel, "failed", 1)
        self.log(result.line())
        written = getattr(result, "written_bytes", None)
        if written is not None:
            self._writes[rel].append(self.clock())
            # Our own write: its events hash to this and are ignored. Its stat is recorded when
            # one of those events is processed, from a read of the same bytes.
            self.index.record(rel, content_hash(written), True)
        else:
            self.index.record(rel, sha, True, st)
        return Outcome(rel, str(result.status), int(getattr(result, "exit_code", 0)))

    def renamed(self, src: str, dest: str) -> None:
        """A note renamed inside the vault keeps its record, so the rename alone costs no fill."""
        a, b = self.rules.rel(src), self.rules.rel(dest)
        if a and b:
            self.index.rename(a, b)

    def catch_up(self) -> list[str]:
        """Notes to fill at start-up: opted-in notes whose bytes differ from the index (or are new to it).

        Unchanged notes cost a stat (a trusted size+mtime match) or one read and hash; records of
        notes that no longer exist are dropped.
        """
        due: list[str] = []
        seen: set[str] = set()
        for path in self.rules.walk_notes():
            rel = self.rules.rel(path)
            if rel is None:
                continue
            seen.add(rel)
            try:
                if self.index.stat_matches(rel, os.stat(path)):
                    continue
                data, st = _read(path)
            except OSError:
                continue
            sha = content_hash(data)
            entry = self.index.get(rel)
            if entry is not None and entry.sha == sha:
                self.index.record(rel, sha, entry.opted, st)
            elif opted_in(data):
                due.append(path)  # process() reads it again and decides; nothing recorded yet
            else:
                self.index.record(rel, sha, False, st)
        for rel in set(self.index.rels()) - seen:
            self.index.forget(rel)
        return due
