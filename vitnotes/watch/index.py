"""The daemon's memory: for each note, the hash of the bytes it last settled (`.vitnotes/watch-index.json`).

One record answers both "is this event my own write?" (the hash equals what vitnotes wrote) and
"did this note change while the daemon was down?" (start-up catch-up). A record's stat (size,
mtime) lets catch-up skip reading unchanged files; it is stored only when it was taken together
with the hashed bytes and the file is not "racily clean" (modified within the last seconds, where
a second save could keep the same mtime).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

VERSION = 1
RACY_NS = 2_000_000_000  # mtimes this close to "now" are not trusted for skipping a re-read


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Entry:
    sha: str
    opted: bool
    size: Optional[int] = None
    mtime_ns: Optional[int] = None


class NoteIndex:
    """Thread-safe map vault-relative path -> Entry, saved atomically as JSON."""

    def __init__(self, path: Optional[Path] = None, entries: Optional[dict[str, Entry]] = None):
        self.path = path
        self._entries: dict[str, Entry] = dict(entries or {})
        self._lock = threading.Lock()
        self.dirty = False

    @classmethod
    def load(cls, path: Path) -> "NoteIndex":
        """A missing or unreadable index is an empty one: the next catch-up simply re-checks every note."""
        entries: dict[str, Entry] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version") == VERSION:
                for rel, e in raw.get("notes", {}).items():
                    entries[rel] = Entry(sha=str(e["sha"]), opted=bool(e["opted"]),
                                         size=e.get("size"), mtime_ns=e.get("mtime_ns"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}
        return cls(path, entries)

    def get(self, rel: str) -> Optional[Entry]:
        with self._lock:
            return self._entries.get(rel)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def rels(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def record(self, rel: str, sha: str, opted: bool, stat: Optional[os.stat_result] = None) -> None:
        size = mtime = None
        if stat is not None and stat.st_mtime_ns < time.time_ns() - RACY_NS:
            size, mtime = stat.st_size, stat.st_mtime_ns
        entry = Entry(sha, opted, size, mtime)
        with self._lock:
            if self._entries.get(rel) != entry:
                self._entries[rel] = entry
                self.dirty = True

    def forget(self, rel: str) -> None:
        with self._lock:
            if self._entries.pop(rel, None) is not None:
                self.dirty = True

    def rename(self, src: str, dest: str) -> None:
        """A renamed note keeps its record, so a plain rename costs no fill."""
        with self._lock:
            entry = self._entries.pop(src, None)
            if entry is not None:
                self._entries[dest] = entry
                self.dirty = True

    def stat_matches(self, rel: str, stat: os.stat_result) -> bool:
        """True when the file provably has the recorded bytes (same size and a trusted mtime)."""
        entry = self.get(rel)
        return (entry is not None and entry.mtime_ns is not None
                and entry.size == stat.st_size and entry.mtime_ns == stat.st_mtime_ns)

    def save(self) -> None:
        """Write atomically (temp file + replace) so a kill at any instant leaves a readable index."""
        if self.path is None:
            return
        with self._lock:
            data = {"version": VERSION, "notes": {k: asdict(v) for k, v in sorted(self._entries.items())}}
            self.dirty = False
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError:
            self.dirty = True  # try again next time; the caller reports it
            raise
        finally:
            if tmp.exists():
                tmp.unlink()
